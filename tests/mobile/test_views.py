"""The .kv files (one per screen) load and bind to the presenters' properties: no window, a mock GL."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.mobile.conftest import KIVY_MISSING

pytest.importorskip("kivy", reason=KIVY_MISSING)

from kivy.app import App  # noqa: E402
from kivy.uix.screenmanager import ScreenManager  # noqa: E402

from mobile.api import Api  # noqa: E402
from mobile.app import SchakelApp  # noqa: E402
from mobile.gps import NoGps  # noqa: E402
from mobile.presenters.app import AppConfig, AppPresenter  # noqa: E402
from shared.protocol import UnitStatus  # noqa: E402


def texts(widget: Any) -> list[str]:
    """Every text on every screen and tab, also those not on display now."""
    found = [widget.text] if isinstance(getattr(widget, "text", None), str) else []
    children = widget.screens if isinstance(widget, ScreenManager) else widget.children
    for child in children:
        found += texts(child)
    return found


async def test_every_screen_is_built_and_shows_the_presenters_labels(tmp_path: Path) -> None:
    api = Api("http://schakel.test", transport=httpx.MockTransport(lambda _: httpx.Response(503)))
    p = AppPresenter(
        AppConfig(server="http://schakel.test", device_id=3, device_secret="koppel", data_dir=tmp_path),
        api=api,
    )
    app = SchakelApp(p, NoGps())
    App._running_app = app  # what `app` means in the .kv files, as when the app runs
    try:
        root = app.build()
        shown = texts(root)
        assert p.login.submit_label == "Inloggen" and "Inloggen" in shown
        for label in (p.login.server_label, p.title, p.tasks_tab, p.status.headline, p.map.fix_label):
            assert label in shown
        assert p.tasks.title in shown and p.outbox_view.summary in shown and p.register.photo_button in shown
        p.waiting = 2
        p.status.show(UnitStatus.BUSY)
        p.login.busy = True
        shown = texts(root)
        assert p.outbox_tab == "Verzenden  (2)" and p.outbox_tab in shown and "Bezet" in shown
        assert p.login.submit_label in shown and p.login.submit_label != "Inloggen"
    finally:
        App._running_app = None
        await p.close()
