"""Hand a document the tablet fetched (the fine's kennisgeving as PDF) to the system's viewer.

On Android an ACTION_VIEW intent through the chooser ("Openen met…": a PDF viewer, print or share); on a
desktop the default application (``xdg-open``, ``open``, ``os.startfile``). The viewer runs on its own: the
app does not wait for it. What cannot be opened raises :class:`DocumentError` with a Dutch reason.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import threading
from pathlib import Path

ANDROID = "ANDROID_ARGUMENT" in os.environ  # set by python-for-android (what kivy.utils.platform checks)


class DocumentError(Exception):
    """The document could not be handed to a viewer; the message is for the boa."""


def open_document(path: Path, mime: str) -> None:
    """Show the file in the system's viewer (returns at once)."""
    if not path.is_file():
        raise DocumentError("het bestand is er niet meer")
    if ANDROID:  # pragma: no cover - needs a device
        _android(path, mime)
    elif sys.platform == "darwin":  # pragma: no cover - not on the test machines
        _spawn(["open", str(path)])
    elif sys.platform.startswith("win"):  # pragma: no cover - not on the test machines
        os.startfile(path)  # type: ignore[attr-defined]  # noqa: S606
    else:
        _spawn(["xdg-open", str(path)])


def _spawn(command: list[str]) -> None:
    if shutil.which(command[0]) is None:
        raise DocumentError("geen programma gevonden om PDF's te openen")
    try:
        viewer = subprocess.Popen(  # noqa: S603 - a fixed program and our own file's path
            command, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
            start_new_session=True,
        )  # fmt: skip
    except OSError as exc:
        raise DocumentError(f"de PDF-viewer start niet ({exc.strerror or exc})") from exc
    # reaped on a thread of its own: the app does not wait for the viewer, and leaves no zombie behind
    threading.Thread(target=viewer.wait, name="pdf-viewer", daemon=True).start()


def _android(path: Path, mime: str) -> None:  # pragma: no cover - needs a device
    """ACTION_VIEW through the chooser. The file is copied to the app's external cache first, where a viewer
    app may read it; the VM policy is relaxed so a file:// uri may leave the app (no FileProvider in the
    python-for-android manifest)."""
    from jnius import autoclass  # type: ignore[import-not-found]  # python-for-android ships pyjnius

    activity = autoclass("org.kivy.android.PythonActivity").mActivity
    intent_cls = autoclass("android.content.Intent")
    strict = autoclass("android.os.StrictMode")
    strict.setVmPolicy(autoclass("android.os.StrictMode$VmPolicy$Builder")().build())
    cache = Path(str(activity.getExternalCacheDir().getAbsolutePath()))
    shared = cache / path.name
    shutil.copyfile(path, shared)
    uri = autoclass("android.net.Uri").fromFile(autoclass("java.io.File")(str(shared)))
    intent = intent_cls(intent_cls.ACTION_VIEW)
    intent.setDataAndType(uri, mime)
    intent.addFlags(intent_cls.FLAG_GRANT_READ_URI_PERMISSION | intent_cls.FLAG_ACTIVITY_NEW_TASK)
    title = autoclass("java.lang.String")("Kennisgeving openen")
    try:
        activity.startActivity(intent_cls.createChooser(intent, title))
    except Exception as exc:  # ActivityNotFoundException: no app can show a PDF
        raise DocumentError("geen app gevonden om PDF's te openen") from exc
