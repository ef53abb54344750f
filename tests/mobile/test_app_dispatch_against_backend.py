"""The app's presenters against the real backend's dispatch: a task from the operator's HTTP API reaches the
tasks screen, its steps reach the operator's timeline and unit list; messages are delivered; the noodknop
shows that the meldkamer has seen it."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import httpx
import msgspec
import pytest

from tests.mobile.conftest import KIVY_MISSING

pytest.importorskip("kivy", reason=KIVY_MISSING)

from mobile.presenters.app import AppConfig, AppPresenter  # noqa: E402
from shared.protocol import (  # noqa: E402
    AcknowledgeAlert,
    AlertKind,
    AlertRaised,
    Delta,
    Snapshot,
    TaskAssigned,
    UnitStatus,
)
from tests.integration.harness import (  # noqa: E402
    PASSWORD,
    Server,
    Socket,
    bearer,
    login,
    make_settings,
    running,
    socket_to,
    tablet_secret,
)
from tests.integration.world import OUDE_ZIJDE, World, build_world  # noqa: E402
from tests.mobile.test_app_against_backend import until  # noqa: E402


@asynccontextmanager
async def on_duty(server: Server, world: World, data_dir: Path) -> AsyncIterator[AppPresenter]:
    """The app logged in as boa_a on tablet A, on shift, online, with a GPS fix at the Oude Zijde."""
    app = AppPresenter(
        AppConfig(
            server=server.base,
            device_id=world.tablet_a,
            device_secret=tablet_secret(world.tablet_a),
            data_dir=data_dir,
        )
    )
    try:
        app.login.username, app.login.password = "boa_a", PASSWORD
        assert await app.login.login(), app.login.error
        assert await app.shift.start_shift(), app.shift.error
        await until(app, "online", lambda: app.online)
        app.location.fix(*OUDE_ZIJDE, accuracy_m=4.0)
        yield app
    finally:
        await app.close()


class Watch:
    """What the operator socket has shown so far: timeline lines and each unit's statuses in order."""

    def __init__(self, op: Socket) -> None:
        self.op = op
        self.timeline: list[str] = []
        self.statuses: dict[int, list[UnitStatus]] = {}
        self.delivered: set[int] = set()

    def _take(self, frame: Any) -> None:
        if isinstance(frame, Delta):
            self.timeline += [e.text for e in frame.timeline]
            for u in frame.units:
                seen = self.statuses.setdefault(u.unit_id, [])
                if not seen or seen[-1] != u.status:
                    seen.append(u.status)
            self.delivered |= {m.message_id for m in frame.messages if m.delivered_at is not None}

    async def until(self, predicate: Callable[[], bool], timeout: float = 10.0) -> None:
        if predicate():
            return

        def check(frame: Any) -> bool:
            self._take(frame)
            return predicate()

        await self.op.recv_until(check, timeout)


async def outbox_empty(app: AppPresenter) -> None:
    """The server has every frame the app queued (acknowledged as durable)."""
    drained = asyncio.Event()

    def check() -> None:
        if app.outbox.count() == 0:
            drained.set()

    app.outbox.listeners.append(check)
    try:
        check()
        await asyncio.wait_for(drained.wait(), 10)
    finally:
        app.outbox.listeners.remove(check)


async def test_a_real_task_reaches_the_tablet_and_its_steps_the_operator(
    database_url: str, tmp_path: Path
) -> None:
    world = await build_world(database_url)
    async with running(make_settings(database_url, tmp_path)) as server:
        op_session = await login(server.base, "operator_mk")
        async with (
            httpx.AsyncClient(base_url=server.base, headers=bearer(op_session)) as http,
            socket_to(server.ws + "/ws/operator", op_session["access_token"]) as op,
            on_duty(server, world, tmp_path / "tablet") as app,
        ):
            assert isinstance(await op.recv(), Snapshot)
            watch = Watch(op)
            alarms: list[int] = []
            app.tasks.bind(on_alarm=lambda _, priority: alarms.append(priority))  # the sound hook
            received: list[Any] = []
            assert app.link is not None
            to_app = app.link.on_frame
            assert to_app is not None
            assigned_twice = asyncio.Event()

            def spy(frame: msgspec.Struct) -> None:
                received.append(frame)
                if sum(isinstance(f, TaskAssigned) for f in received) == 2:
                    assigned_twice.set()
                to_app(frame)

            app.link.on_frame = spy

            # the operator creates a melding and assigns the tablet's unit over HTTP
            r = await http.post(
                "/api/incidents",
                json={
                    "category": "Overlast jeugd",
                    "priority": 1,
                    "description": "groep bij de kerk",
                    "lon": OUDE_ZIJDE[0],
                    "lat": OUDE_ZIJDE[1],
                    "address": "Oudekerksplein 1",
                },
            )
            assert r.status_code == 201, r.text
            incident_id = r.json()["incident_id"]
            r = await http.post(f"/api/incidents/{incident_id}/tasks", json={"unit_id": world.unit_a})
            assert r.status_code == 201 and r.json()["sent"] is True, r.text
            task_id = r.json()["task_id"]
            await until(app.tasks, "rows", lambda: bool(app.tasks.rows))
            row = app.tasks.rows[0]
            assert row["task_id"] == task_id and row["urgent"] and row["where"] == "Oudekerksplein 1"
            assert row["title"] == "Overlast jeugd" and row["action"] == "Accepteren"
            assert row["description"] == "groep bij de kerk"
            assert alarms == [1] and "Nieuwe taak" in app.tasks.banner and app.tasks.open_count == 1

            # the link drops before the boa accepts: the server sends the task again; it shows once
            await app.link.client.close()
            await asyncio.wait_for(assigned_twice.wait(), 10)
            assert len(app.tasks.rows) == 1 and alarms == [1]

            app.tasks.advance(task_id)  # accept
            await watch.until(lambda: "A-01: geaccepteerd" in watch.timeline)
            for step, status, line in [
                (UnitStatus.EN_ROUTE, UnitStatus.EN_ROUTE, "A-01: aanrijdend"),
                (UnitStatus.ON_SCENE, UnitStatus.ON_SCENE, "A-01: ter plaatse"),
                (UnitStatus.AVAILABLE, UnitStatus.AVAILABLE, "A-01: afgerond"),
            ]:
                app.tasks.advance(task_id)
                assert app.status.status == step.value
                await watch.until(
                    lambda line=line, status=status: (
                        line in watch.timeline and watch.statuses.get(world.unit_a, [])[-1:] == [status]
                    )
                )
            await outbox_empty(app)
            assert watch.timeline == [
                "melding aangemaakt: P1 Overlast jeugd",
                "A-01: opdracht verstrekt",
                "A-01: geaccepteerd",
                "A-01: aanrijdend",
                "A-01: ter plaatse",
                "A-01: afgerond",
                "alle eenheden gereed — de melding blijft open tot de meldkamer haar afsluit",
            ]
            after_accept = watch.statuses[world.unit_a]
            assert after_accept[-3:] == [UnitStatus.EN_ROUTE, UnitStatus.ON_SCENE, UnitStatus.AVAILABLE]
            assert app.tasks.rows[0]["closed"] and app.tasks.rows[0]["state"] == "Afgerond"
            assert app.tasks.open_count == 0

            # a text message: a notice, a row in the messages list, and "afgeleverd" for the operator
            text = "Bel even met de meldkamer"
            r = await http.post(f"/api/units/{world.unit_a}/messages", json={"text": text})
            assert r.status_code == 201, r.text
            message_id = r.json()["message_id"]
            await until(app.tasks, "message_rows", lambda: bool(app.tasks.message_rows))
            assert app.tasks.message_rows[0]["text"] == "Bel even met de meldkamer"
            assert "operator_mk" in app.tasks.message_rows[0]["meta"]
            assert app.tasks.banner == "Bericht van operator_mk: Bel even met de meldkamer"
            await watch.until(lambda: message_id in watch.delivered)
            listed = (await http.get(f"/api/units/{world.unit_a}/messages")).json()
            assert listed[0]["delivered_at"] is not None
            app.tasks.clear_banner()
            assert app.tasks.banner == ""

            # a second task, withdrawn by the operator: the row says so, with the reason
            r = await http.post(
                "/api/incidents",
                json={"category": "Afval", "priority": 3, "lon": OUDE_ZIJDE[0], "lat": OUDE_ZIJDE[1]},
            )
            other = r.json()["incident_id"]
            r = await http.post(f"/api/incidents/{other}/tasks", json={"unit_id": world.unit_a})
            second = r.json()["task_id"]
            await until(app.tasks, "open_count", lambda: app.tasks.open_count == 1)
            r = await http.post(f"/api/tasks/{second}/cancel", json={"reason": "dubbele melding"})
            assert r.status_code == 200, r.text
            await until(app.tasks, "open_count", lambda: app.tasks.open_count == 0)
            cancelled = next(r for r in app.tasks.rows if r["task_id"] == second)
            assert cancelled["closed"] and cancelled["state"] == "Ingetrokken  —  reden: dubbele melding"
            assert "dubbele melding" in app.tasks.banner and "Afval" in app.tasks.banner
            app.tasks.dismiss(second)
            assert [r["task_id"] for r in app.tasks.rows] == [task_id]


async def test_the_noodknop_shows_that_the_meldkamer_has_seen_it(database_url: str, tmp_path: Path) -> None:
    world = await build_world(database_url)
    async with running(make_settings(database_url, tmp_path)) as server:
        op_session = await login(server.base, "operator_mk")
        async with (
            socket_to(server.ws + "/ws/operator", op_session["access_token"]) as op,
            on_duty(server, world, tmp_path / "tablet") as app,
        ):
            assert isinstance(await op.recv(), Snapshot)
            app.noodknop.press(0.0)
            app.noodknop.release(1.6)
            raised = await op.recv_until(lambda f: isinstance(f, AlertRaised))
            assert raised.alert.kind == AlertKind.NOODKNOP and raised.alert.unit_id == world.unit_a
            await until(app.noodknop, "state", lambda: app.noodknop.state == "confirmed")
            # stored, not yet seen by a person (issue 10: the old text had no verb and read as "seen")
            assert (
                app.noodknop.label
                == "NOODMELDING\nOntvangen door het systeem — nog niet gezien door de meldkamer"
            )

            await op.send(AcknowledgeAlert(alert_id=raised.alert.alert_id))
            await until(app.noodknop, "state", lambda: app.noodknop.state == "seen")
            assert app.noodknop.label.startswith("NOODMELDING\nGezien door\noperator_mk\nom ")
            app.noodknop.reset()
            assert app.noodknop.state == "idle" and app.noodknop.seen_by == ""


async def test_a_declined_task_reaches_the_operator_with_its_reason(
    database_url: str, tmp_path: Path
) -> None:
    world = await build_world(database_url)
    async with running(make_settings(database_url, tmp_path)) as server:
        op_session = await login(server.base, "operator_mk")
        async with (
            httpx.AsyncClient(base_url=server.base, headers=bearer(op_session)) as http,
            socket_to(server.ws + "/ws/operator", op_session["access_token"]) as op,
            on_duty(server, world, tmp_path / "tablet") as app,
        ):
            assert isinstance(await op.recv(), Snapshot)
            watch = Watch(op)
            r = await http.post(
                "/api/incidents",
                json={"category": "Afval", "priority": 3, "lon": OUDE_ZIJDE[0], "lat": OUDE_ZIJDE[1]},
            )
            incident_id = r.json()["incident_id"]
            r = await http.post(f"/api/incidents/{incident_id}/tasks", json={"unit_id": world.unit_a})
            task_id = r.json()["task_id"]
            await until(app.tasks, "rows", lambda: bool(app.tasks.rows))
            app.tasks.start_decline(task_id)
            assert app.tasks.decline("Bezig met een andere taak")
            await watch.until(lambda: "A-01: geweigerd — Bezig met een andere taak" in watch.timeline)
            await outbox_empty(app)
            r = await http.get(f"/api/incidents/{incident_id}")
            assert r.status_code == 200, r.text
            incident = r.json()["incident"]
            task = next(t for t in incident["tasks"] if t["task_id"] == task_id)
            assert task["state"] == "declined"
            assert incident["state"] == "open"  # declined: the melding waits for another unit
            assert app.tasks.rows[0]["state"] == "Geweigerd  —  reden: Bezig met een andere taak"
