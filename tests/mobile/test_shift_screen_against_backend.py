"""The shift screen against the real backend: it shows which units colleagues are on duty with, does not
preselect one of them, and picking one asks before the server (which refuses a boa) is asked."""

from __future__ import annotations

from pathlib import Path

import asyncpg
import httpx
import pytest

from tests.mobile.conftest import KIVY_MISSING

pytest.importorskip("kivy", reason=KIVY_MISSING)

from backend.orgs import repository as orgs  # noqa: E402
from mobile.presenters.app import AppConfig, AppPresenter  # noqa: E402
from tests.integration.harness import (  # noqa: E402
    PASSWORD,
    bearer,
    login,
    make_settings,
    running,
    tablet_secret,
)
from tests.integration.world import build_world  # noqa: E402


async def test_the_shift_screen_shows_who_is_on_which_unit_and_taking_one_over_asks(
    database_url: str, tmp_path: Path
) -> None:
    world = await build_world(database_url)
    conn = await asyncpg.connect(database_url)
    try:
        await orgs.create_account(
            conn,
            org_id=world.org_a,
            username="boa_a2",
            password=PASSWORD,
            role="boa",
            display_name="P. de Vries",
        )
        free_unit = await orgs.create_unit(conn, org_id=world.org_a, call_sign="A-02")
    finally:
        await conn.close()
    async with running(make_settings(database_url, tmp_path)) as server:
        colleague = await login(server.base, "boa_a2")
        async with httpx.AsyncClient(base_url=server.base, headers=bearer(colleague)) as http:
            r = await http.post("/api/shifts", json={"unit_id": world.unit_a})
            assert r.status_code == 201, r.text
            r = await http.get("/api/shifts/open")
            assert r.status_code == 200, r.text
            assert [(s["call_sign"], s["names"], s["mine"]) for s in r.json()] == [
                ("A-01", ["P. de Vries"], True)
            ]
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
            shift = app.shift
            rows = {r["unit_id"]: r for r in shift.unit_rows}
            assert rows[world.unit_a]["text"] == "A-01\nP. de Vries" and rows[world.unit_a]["taken"]
            assert rows[free_unit]["text"] == "A-02" and not rows[free_unit]["taken"]
            assert shift.unit_id == free_unit and shift.take_over == ""  # the free unit, not the colleague's
            shift.choose_unit(world.unit_a)
            assert shift.take_over.startswith("A-01 is al in dienst met P. de Vries")
            assert shift.start_label == "Toch starten als A-01"
            assert (
                not await shift.start_shift()
            )  # the server keeps a boa off a colleague's unit: said in Dutch
            assert "in dienst met een collega" in shift.error
            shift.choose_unit(free_unit)
            assert shift.take_over == "" and shift.start_label == "Start dienst"
            assert await shift.start_shift(), shift.error
        finally:
            await app.close()
