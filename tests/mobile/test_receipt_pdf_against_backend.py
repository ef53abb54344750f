"""The tablet opens the fine's kennisgeving as a PDF itself: fetched from the real backend, kept as the only
one on the tablet, and handed to the system's viewer (here the desktop's ``xdg-open``, a stand-in program on
PATH that records what it was asked to open)."""

from __future__ import annotations

import asyncio
import io
import os
from pathlib import Path

import asyncpg
import pytest
from pypdf import PdfReader

from tests.mobile.conftest import KIVY_MISSING

pytest.importorskip("kivy", reason=KIVY_MISSING)

from mobile.presenters.app import AppConfig, AppPresenter  # noqa: E402
from tests.integration.harness import PASSWORD, make_settings, running, tablet_secret  # noqa: E402
from tests.integration.world import OUDE_ZIJDE, build_world  # noqa: E402
from tests.mobile.test_app_against_backend import until  # noqa: E402


def viewer_on_path(bin_dir: Path, record: Path, path: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """An ``xdg-open`` that writes down the file it is given, first on PATH (the system's viewer)."""
    bin_dir.mkdir()
    script = bin_dir / "xdg-open"
    script.write_text(f'#!/bin/sh\nprintf "%s" "$1" > "{record}.tmp" && mv "{record}.tmp" "{record}"\n')
    script.chmod(0o755)
    monkeypatch.setenv("PATH", f"{bin_dir}{os.pathsep}{path}")


async def appears(path: Path, timeout: float = 10.0) -> str:
    async with asyncio.timeout(timeout):
        while not path.exists():
            await asyncio.sleep(0.05)
    return path.read_text()


async def test_the_boa_opens_the_kennisgeving_pdf_in_the_system_viewer(
    database_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    world = await build_world(database_url)
    conn = await asyncpg.connect(database_url)
    try:  # the bestuurlijke boete track: its shipped tables have amounts, so the PDF carries a euro sign
        await conn.execute(
            "UPDATE organisations SET fine_track = 'bestuurlijke_boete' WHERE id = $1", world.org_a
        )
    finally:
        await conn.close()
    record = tmp_path / "opened.txt"
    system_path = os.environ["PATH"]
    async with running(make_settings(database_url, tmp_path)) as server:
        app = AppPresenter(
            AppConfig(
                server=server.base,
                device_id=world.tablet_a,
                device_secret=tablet_secret(world.tablet_a),
                data_dir=tmp_path / "tablet",
            )
        )
        try:
            app.login.username, app.login.password = "boa_a", PASSWORD
            assert await app.login.login(), app.login.error
            assert await app.shift.start_shift(), app.shift.error
            app.location.fix(*OUDE_ZIJDE, accuracy_m=4.0)
            reg = app.register

            async def fine(name: str) -> None:
                reg.choose_kind("fine")
                reg.query = "hond"
                await until(reg, "results", lambda: bool(reg.results) and "BF" in reg.results[0]["code"])
                reg.choose_feitcode(reg.results[0]["code"])
                reg.offender_name, reg.offender_birth = name, "01-02-1990"
                reg.id_type, reg.id_number = "rijbewijs", "5612345678"
                reg.street, reg.house_number, reg.postcode, reg.city = "Dam", "1", "1012 JS", "Amsterdam"
                assert reg.save(), reg.error
                await until(reg, "receipt_ready", lambda: reg.receipt_ready, timeout=20)

            await fine("Noël Çelik")
            reg.show_receipt()
            # no viewer on this machine: the boa reads why, nothing hangs
            monkeypatch.setenv("PATH", str(tmp_path / "empty"))
            assert await reg.open_receipt_pdf() is None
            assert reg.receipt_pdf_state == "PDF niet te openen: geen programma gevonden om PDF's te openen"
            assert not reg.receipt_pdf_busy

            viewer_on_path(tmp_path / "bin", record, system_path, monkeypatch)
            reg.start_open_receipt_pdf()  # what the "Als PDF openen" button does
            opened = Path(await appears(record))
            kenmerk = reg.receipt_rows[0]["value"]
            assert (
                opened.name == f"kennisgeving-{kenmerk}.pdf" and opened.parent == tmp_path / "tablet/receipts"
            )
            await until(reg, "receipt_pdf_state", lambda: reg.receipt_pdf_state.startswith("Geopend"))
            assert reg.receipt_pdf_state == f"Geopend in de PDF-viewer ({opened.name})"
            text = "\n".join(p.extract_text() for p in PdfReader(io.BytesIO(opened.read_bytes())).pages)
            assert kenmerk in text and "Noël Çelik" in text and "€" in text

            # the next fine's PDF replaces it: one kennisgeving with personal data on the tablet at a time
            await fine("Jan Jansen")
            record.unlink()
            second = await reg.open_receipt_pdf()
            assert second is not None and Path(await appears(record)) == second
            assert sorted(p.name for p in second.parent.iterdir()) == [second.name]
        finally:
            await app.close()
