"""The tablet's new alarms against the real backend (embedded PostgreSQL, real sockets): a man-down travels
like the noodknop — raised at the operator, "ontvangen door het systeem", then "gezien" — and the silent
noodknop reaches the operator marked silent while the tablet shows nothing; check-in frames are stored."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from tests.mobile.conftest import KIVY_MISSING

pytest.importorskip("kivy", reason=KIVY_MISSING)

from mobile.outbox import SILENT  # noqa: E402
from shared.protocol import (  # noqa: E402
    AcknowledgeAlert,
    AlertKind,
    AlertRaised,
    ManDownTrigger,
    Snapshot,
)
from tests.integration.harness import login, make_settings, running, socket_to  # noqa: E402
from tests.integration.world import build_world  # noqa: E402
from tests.mobile.test_app_against_backend import until  # noqa: E402
from tests.mobile.test_app_dispatch_against_backend import on_duty  # noqa: E402


async def test_man_down_and_silent_noodknop_reach_the_operator(database_url: str, tmp_path: Path) -> None:
    world = await build_world(database_url)
    async with running(make_settings(database_url, tmp_path)) as server:
        op_session = await login(server.base, "operator_mk")
        async with (
            socket_to(server.ws + "/ws/operator", op_session["access_token"]) as op,
            on_duty(server, world, tmp_path / "tablet") as app,
        ):
            assert isinstance(await op.recv(), Snapshot)
            # the silent noodknop: hold the top bar 3 s
            before = (app.noodknop.state, app.noodknop.label, app.status.status, app.outbox_tab)
            app.silent.press(0.0)
            app.silent.release(3.2)
            raised = await op.recv_until(lambda f: isinstance(f, AlertRaised))
            assert raised.alert.kind == AlertKind.NOODKNOP and raised.alert.silent
            assert raised.alert.unit_id == world.unit_a
            async with asyncio.timeout(10):  # stored and acknowledged (no presenter property shows it: poll)
                while app.outbox.has(SILENT, failed=True):
                    await asyncio.sleep(0.05)
            assert (app.noodknop.state, app.noodknop.label, app.status.status, app.outbox_tab) == before

            # man-down: what the detector calls when the pre-alarm runs out
            assert app.noodknop.man_down(ManDownTrigger.NO_MOTION)
            raised = await op.recv_until(
                lambda f: isinstance(f, AlertRaised) and f.alert.kind == AlertKind.MAN_DOWN
            )
            assert raised.alert.unit_id == world.unit_a and not raised.alert.silent
            await until(app.noodknop, "state", lambda: app.noodknop.state == "confirmed")
            assert app.noodknop.label == (
                "MAN-DOWN-MELDING\nOntvangen door het systeem — nog niet gezien door de meldkamer"
            )
            await op.send(AcknowledgeAlert(alert_id=raised.alert.alert_id))
            await until(app.noodknop, "state", lambda: app.noodknop.state == "seen")
            assert app.noodknop.label.startswith("MAN-DOWN-MELDING\nGezien door\noperator_mk\nom ")

            # working alone: the check-in frames are stored and acknowledged like every sequenced frame
            app.checkin.start(15)
            app.checkin.check_in()
            app.checkin.stop()
            async with asyncio.timeout(10):
                while app.outbox.has("checkin", failed=True):
                    await asyncio.sleep(0.05)
            assert not [i for i in app.outbox.items() if i.state == "failed"]
