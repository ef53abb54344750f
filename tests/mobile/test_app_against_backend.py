"""The app's presenters against the real backend: log in, start a shift, change status, press the noodknop."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from pathlib import Path
from typing import Any

import asyncpg
import pytest

from tests.mobile.conftest import KIVY_MISSING

pytest.importorskip("kivy", reason=KIVY_MISSING)

from backend.orgs import repository as orgs  # noqa: E402
from mobile.presenters.app import AppConfig, AppPresenter  # noqa: E402
from shared.protocol import AlertKind, AlertRaised, Delta, Snapshot, UnitStatus  # noqa: E402
from tests.integration.harness import (  # noqa: E402
    PASSWORD,
    login,
    make_settings,
    running,
    socket_to,
    tablet_secret,
)
from tests.integration.world import OUDE_ZIJDE, build_world  # noqa: E402


async def until(obj: Any, prop: str, predicate: Callable[[], bool], timeout: float = 10.0) -> None:
    """Wait until the predicate holds, re-checking whenever the presenter property changes."""
    changed = asyncio.Event()
    uid = obj.fbind(prop, lambda *_: changed.set())
    try:
        async with asyncio.timeout(timeout):
            while True:
                changed.clear()
                if predicate():
                    return
                await changed.wait()
    finally:
        obj.unbind_uid(prop, uid)


async def test_boa_logs_in_starts_a_shift_sets_status_and_the_noodknop_is_acknowledged(
    database_url: str, tmp_path: Path
) -> None:
    world = await build_world(database_url)
    conn = await asyncpg.connect(database_url)
    try:
        partner = await orgs.create_account(
            conn, org_id=world.org_a, username="boa_a2", password=PASSWORD, role="boa", display_name="Boa A2"
        )
    finally:
        await conn.close()
    async with running(make_settings(database_url, tmp_path)) as server:
        operator = await login(server.base, "operator_mk")
        app = AppPresenter(
            AppConfig(
                server=server.base,
                device_id=world.tablet_a,
                device_secret=tablet_secret(world.tablet_a),
                data_dir=tmp_path / "tablet",
            )
        )
        try:
            async with socket_to(server.ws + "/ws/operator", operator["access_token"]) as op:
                assert isinstance(await op.recv(), Snapshot)
                app.login.username, app.login.password = "boa_a", PASSWORD
                assert await app.login.login(), app.login.error
                assert app.screen == "shift"
                assert [u["call_sign"] for u in app.shift.units] == ["A-01"]
                assert app.shift.beat_ids == [world.beats_a["Burgwallen-Oude Zijde"]]  # the planned beat
                assert app.shift.partners == [{"id": partner, "name": "Boa A2"}]  # own organisation, not me
                app.shift.choose_partner(partner)
                assert await app.shift.start_shift(), app.shift.error
                assert app.screen == "duty" and app.map.caption == "Burgwallen-Oude Zijde"
                await until(app, "online", lambda: app.online)
                assert app.link_text == "Verbonden met de meldkamer"

                app.location.fix(*OUDE_ZIJDE, accuracy_m=4.0)
                app.status.choose(UnitStatus.EN_ROUTE.value)
                await op.recv_until(
                    lambda f: (
                        isinstance(f, Delta)
                        and any(
                            u.unit_id == world.unit_a
                            and u.status == UnitStatus.EN_ROUTE
                            and u.lon == OUDE_ZIJDE[0]
                            for u in f.units
                        )
                    )
                )
                await until(app.status, "unsent", lambda: not app.status.unsent)

                app.noodknop.press(0.0)
                app.noodknop.release(1.6)
                raised = await op.recv_until(lambda f: isinstance(f, AlertRaised))
                assert raised.alert.kind == AlertKind.NOODKNOP and raised.alert.unit_id == world.unit_a
                assert raised.alert.lon == OUDE_ZIJDE[0]
                await until(app.noodknop, "state", lambda: app.noodknop.state == "confirmed")
                assert app.outbox.count() == 0

                # registrations through the outbox against the real registration API
                reg = app.register
                reg.choose_kind("waarneming")
                reg.category, reg.text = "afval", "Bankstel naast de container"
                assert reg.save(), reg.error
                reg.choose_kind("fine")
                reg.query = "hond"
                await until(reg, "results", lambda: reg.results and "BF" in reg.results[0]["code"] or False)
                reg.choose_feitcode(reg.results[0]["code"])
                reg.offender_name, reg.offender_birth = "J. Jansen", "01-02-1990"
                reg.id_type, reg.id_number = "rijbewijs", "5612345678"
                reg.street, reg.house_number, reg.postcode, reg.city = "Dam", "1", "1012 JS", "Amsterdam"
                photo = tmp_path / "bewijs.jpg"
                photo.write_bytes(b"\xff\xd8\xff\xe0 een foto")
                reg.add_photo(str(photo))
                assert reg.save(), reg.error
                reg.choose_kind("aggression")
                reg.toggle_type("bedreiging")
                assert reg.save(), reg.error
                drained = asyncio.Event()
                app.outbox.listeners.append(lambda: app.outbox.count() == 0 and drained.set())
                if app.outbox.count():
                    await asyncio.wait_for(drained.wait(), 15)
                # the fine's kennisgeving on the tablet: the server's short kenmerk once it has the fine
                await until(reg, "receipt_ready", lambda: reg.receipt_ready, timeout=15)
                assert reg.receipt_button.startswith("Kennisgeving ") and "tonen" in reg.receipt_button
                assert reg.receipt_rows[0]["label"] == "Kenmerk" and len(reg.receipt_rows[0]["value"]) == 12

                assert await app.shift.end_shift(), app.shift.error
                assert app.screen == "shift" and app.status.status == "off_duty"
            db = await asyncpg.connect(database_url)
            try:
                accounts = await db.fetchval(
                    "SELECT account_ids FROM shifts WHERE unit_id = $1 ORDER BY id DESC LIMIT 1", world.unit_a
                )
                kinds = [r["kind"] for r in await db.fetch("SELECT kind FROM registrations ORDER BY kind")]
                photos = await db.fetchval("SELECT count(*) FROM photos")
            finally:
                await db.close()
            assert sorted(accounts) == sorted([app.session.account_id, partner])
            assert kinds == ["aggression", "fine", "waarneming"] and photos == 1  # each once
        finally:
            await app.close()
