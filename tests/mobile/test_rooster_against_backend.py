"""The tablet's rooster against the real backend: Mijn diensten, and a planned shift started as planned.

The boa logs in, sees his next 14 days (today highlighted, partner and beat), the shift screen has his planned
partner and beat preselected ("volgens rooster"), he starts it, and the meldkamer's planned-now has the duo as
started. Without the server, a restarted tablet still shows the saved list, marked with when it was fetched.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import asyncpg
import httpx
import pytest

from tests.mobile.conftest import KIVY_MISSING

pytest.importorskip("kivy", reason=KIVY_MISSING)

from mobile.presenters.app import AppConfig, AppPresenter  # noqa: E402
from mobile.presenters.rooster import LOCAL  # noqa: E402
from tests.integration.harness import (  # noqa: E402
    PASSWORD,
    bearer,
    login,
    make_settings,
    running,
    tablet_secret,
)
from tests.integration.rooster_published_kit import NZ, OZ, boa, local_start, publish, shift_type  # noqa: E402
from tests.integration.world import build_world  # noqa: E402


async def test_boa_sees_his_shifts_and_starts_the_planned_one_with_its_partner_and_beat(
    database_url: str, tmp_path: Path
) -> None:
    world = await build_world(database_url)
    now = datetime.now(UTC)
    conn = await asyncpg.connect(database_url)
    try:
        me = await conn.fetchval("SELECT id FROM accounts WHERE username = 'boa_a'")
        partner = await boa(conn, world.org_a, "boa_jansen", "M. Jansen")
        other = await boa(conn, world.org_a, "boa_vries", "S. de Vries")
        day, minute = local_start(now, -5)  # the planned shift began five minutes ago ...
        if day != now.astimezone(LOCAL).date():
            day, minute = now.astimezone(LOCAL).date(), 0  # ... or at midnight, just after it
        laat = await shift_type(conn, world.org_a, "laat", minute, 8 * 60, "Laatdienst")
        later = day + timedelta(days=3)
        await publish(
            conn,
            world.org_a,
            [
                (me, day, laat, world.beats_a[NZ], 0),  # not the unit's own beat (Oude Zijde)
                (partner, day, laat, world.beats_a[NZ], 0),
                (me, later, laat, world.beats_a[OZ], 0),
                (other, later, laat, world.beats_a[OZ], 0),
            ],
        )
    finally:
        await conn.close()
    config = AppConfig(
        device_id=world.tablet_a, device_secret=tablet_secret(world.tablet_a), data_dir=tmp_path / "tablet"
    )
    async with running(make_settings(database_url, tmp_path)) as server:
        app = AppPresenter(AppConfig(**{**config.__dict__, "server": server.base}))
        try:
            app.login.username, app.login.password = "boa_a", PASSWORD
            assert await app.login.login(), app.login.error
            rows = app.rooster.rows
            today = [r for r in rows if r["today"]]
            assert len(rows) == 14 and today == [rows[0]] and not today[0]["free"]
            assert "Laatdienst" in today[0]["text"] and "vandaag" in today[0]["text"]
            assert today[0]["detail"] == f"{NZ}  ·  met M. Jansen"
            assert rows[3]["detail"] == f"{OZ}  ·  met S. de Vries" and rows[1]["detail"] == "vrij"
            assert app.rooster.status.startswith("Bijgewerkt")
            # the shift screen: partner and beat as planned, and it says so
            assert app.shift.partner_id == partner
            assert app.shift.beat_ids == [world.beats_a[NZ]]
            assert app.shift.beat_rows[0]["text"] == f"{NZ}  (volgens rooster)"
            assert app.shift.rooster_note.startswith("Volgens rooster: Laatdienst")
            assert "met M. Jansen" in app.shift.rooster_note
            # changeable: a tap on Oude Zijde adds it, and back; then start as planned
            app.shift.toggle_beat(world.beats_a[OZ])
            app.shift.toggle_beat(world.beats_a[OZ])
            assert await app.shift.start_shift(), app.shift.error
            assert app.screen == "duty"
            app.tab = "rooster"  # Mijn diensten is a tab on duty as well
            operator = await login(server.base, "operator_mk")
            async with httpx.AsyncClient(base_url=server.base, headers=bearer(operator)) as http:
                planned = (await http.get("/api/rooster/planned-now")).json()
            duo = next(d for d in planned["duos"] if d["beat_name"] == NZ)
            assert duo["state"] == "gestart" and duo["call_sign"] == "A-01" and duo["other_beat"] is False
            assert [m["name"] for m in duo["members"]] == [app.session.display_name, "M. Jansen"]
            assert await app.shift.end_shift(), app.shift.error
            saved_rows = list(app.rooster.rows)
        finally:
            await app.close()
    # the server is gone: a restarted tablet shows the saved rooster, offline, with when it was fetched
    offline = AppPresenter(AppConfig(**{**config.__dict__, "server": server.base}))
    try:
        assert offline.rooster.rows == saved_rows
        assert not await offline.rooster.load()
        assert offline.rooster.offline and offline.rooster.rows == saved_rows
        assert offline.rooster.status.startswith("Geen verbinding — rooster van ")
        # logging out forgets it: the next boa on this tablet does not see these shifts
        await offline.logout()
        assert offline.rooster.rows[0]["detail"] == "vrij" and offline.rooster.shifts == []
        assert offline.saved_state() is not None and offline.saved_state().rooster == []  # type: ignore[union-attr]
    finally:
        await offline.close()
