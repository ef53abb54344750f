"""Two instances, one picture: two real backends on one PostgreSQL. A tablet on instance A and a console on
instance B see each other's alarms, acknowledgements, tasks and positions; a device revoked through B is cut
off on A; tick-driven alerts and escalation steps are raised once, not once per instance."""

from __future__ import annotations

import asyncio
import contextlib
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from urllib.parse import urlsplit

import asyncpg
import httpx
import pytest
import websockets

from backend.db.pool import with_database
from backend.orgs import repository as orgs
from shared.protocol import (
    Ack,
    AcknowledgeAlert,
    AlertAcknowledged,
    AlertKind,
    AlertRaised,
    ColleagueAlarm,
    Delta,
    Hello,
    NoodknopPressed,
    PositionReported,
    Snapshot,
    TaskAssigned,
    Welcome,
)
from tests.integration.cluster import ROOT, healthy, instances, serve, serve_env
from tests.integration.harness import (
    PASSWORD,
    Server,
    Socket,
    bearer,
    free_port,
    login,
    make_settings,
    running,
    socket_to,
    tablet_secret,
)
from tests.integration.processes import family, start, still_running, stop_all
from tests.integration.world import OUDE_ZIJDE, build_world


@asynccontextmanager
async def tablet(server: Server, username: str, device_id: int) -> AsyncIterator[Socket]:
    session = await login(server.base, username, device_id)
    async with socket_to(server.ws + "/ws/field", None) as ws:
        await ws.send(Hello(token=session["access_token"], protocol=2))
        assert isinstance(await ws.recv(), Welcome)
        yield ws


@asynccontextmanager
async def console(server: Server) -> AsyncIterator[Socket]:
    operator = await login(server.base, "operator_mk")
    async with socket_to(server.ws + "/ws/operator", operator["access_token"]) as op:
        assert isinstance(await op.recv(), Snapshot)
        yield op


async def fetchval(url: str, sql: str) -> int:
    conn = await asyncpg.connect(url)
    try:
        return int(await conn.fetchval(sql))
    finally:
        await conn.close()


async def attached(server: Server, device_id: int) -> None:
    async with asyncio.timeout(5):
        while server.services.hub.links.get(device_id) is None:
            await asyncio.sleep(0.01)


async def test_a_noodknop_on_a_reaches_a_console_on_b_and_the_ack_on_b_reaches_the_tablet_on_a(
    database_url: str, tmp_path: Path
) -> None:
    world = await build_world(database_url)
    # a tick and a flush interval far longer than any wait below: the noodknop cannot ride on either
    async with instances(database_url, tmp_path, operator_tick_s=30.0, flush_interval_s=30.0) as (a, b):
        async with console(b) as op, tablet(a, "boa_a", world.tablet_a) as boa:
            pressed = time.monotonic()
            at = datetime.now(UTC)
            await boa.send(NoodknopPressed(seq=1, at=at, lon=OUDE_ZIJDE[0], lat=OUDE_ZIJDE[1]))
            raised = await op.recv_until(lambda f: isinstance(f, AlertRaised), timeout=10)
            # by NOTIFY at once, not after a tick, a flush or a poll (p99 ≤ 500 ms is a benchmark's figure,
            # not a timed test: a busy CI machine cannot promise a second)
            assert time.monotonic() - pressed < 5.0
            assert raised.alert.kind is AlertKind.NOODKNOP and raised.alert.unit_id == world.unit_a
            assert raised.alert.call_sign == "A-01"
            await boa.recv_until(lambda f: isinstance(f, Ack) and f.upto == 1)

            await op.send(AcknowledgeAlert(alert_id=raised.alert.alert_id))
            seen = await boa.recv_until(lambda f: isinstance(f, AlertAcknowledged), timeout=10)
            assert seen.alert_id == raised.alert.alert_id
            # and instance A no longer escalates it
            async with asyncio.timeout(10):
                while raised.alert.alert_id in a.services.hub.escalating:
                    await asyncio.sleep(0.02)


async def test_a_task_created_through_b_reaches_the_tablet_on_a(database_url: str, tmp_path: Path) -> None:
    world = await build_world(database_url)
    async with instances(database_url, tmp_path) as (a, b):
        operator = await login(b.base, "operator_mk")
        async with tablet(a, "boa_a", world.tablet_a) as boa:
            await attached(a, world.tablet_a)
            async with httpx.AsyncClient(base_url=b.base, headers=bearer(operator)) as http:
                r = await http.post(
                    "/api/incidents",
                    json={
                        "category": "Overlast jeugd",
                        "priority": 2,
                        "description": "groep bij de kerk",
                        "lon": OUDE_ZIJDE[0],
                        "lat": OUDE_ZIJDE[1],
                    },
                )
                assert r.status_code == 201, r.text
                r = await http.post(
                    f"/api/incidents/{r.json()['incident_id']}/tasks", json={"unit_id": world.unit_a}
                )
                assert r.status_code == 201, r.text
                task_id = r.json()["task_id"]
                assert r.json()["sent"] is True  # instance A said it sent it: no "niet verbonden" note
            frame = await boa.recv_until(lambda f: isinstance(f, TaskAssigned), timeout=10)
            assert frame.task_id == task_id and "Overlast jeugd" in frame.title


async def test_a_device_revoked_through_b_is_cut_off_on_a(database_url: str, tmp_path: Path) -> None:
    world = await build_world(database_url)
    async with instances(database_url, tmp_path) as (a, b):
        lead = await login(b.base, "lead_a")
        boa = await login(a.base, "boa_a", world.tablet_a)
        async with tablet(a, "boa_a", world.tablet_a) as ws:
            await attached(a, world.tablet_a)
            async with httpx.AsyncClient(base_url=b.base, headers=bearer(lead)) as http:
                r = await http.post(f"/api/devices/{world.tablet_a}/revoke")
                assert r.status_code == 204, r.text
            with pytest.raises(websockets.ConnectionClosed):
                async with asyncio.timeout(10):
                    while True:
                        await ws.recv()
        # and instance A refuses the device's token too (not only B, where it was revoked)
        async with httpx.AsyncClient(base_url=a.base, headers=bearer(boa)) as http:
            assert (await http.get("/api/me")).status_code == 401


async def test_a_console_on_b_sees_a_tablet_on_a_within_one_tick(database_url: str, tmp_path: Path) -> None:
    world = await build_world(database_url)
    async with instances(database_url, tmp_path, operator_tick_s=0.5) as (a, b):
        async with console(b) as op, tablet(a, "boa_a", world.tablet_a) as boa:
            sent = time.monotonic()
            await boa.send(PositionReported(seq=1, lon=4.8971, lat=52.3746, at=datetime.now(UTC)))
            await boa.recv_until(lambda f: isinstance(f, Ack) and f.upto == 1)
            delta = await op.recv_until(
                lambda f: (
                    isinstance(f, Delta)
                    and any(u.unit_id == world.unit_a and u.lat == 52.3746 for u in f.units)
                ),
                timeout=10.0,
            )
            took = time.monotonic() - sent
            # the flush, then at most one tick on each side (and a margin for a busy machine: a position that
            # crossed only on some slower path would still miss it)
            assert took < 0.05 + 2 * 0.5 + 1.5, took
            assert delta is not None


async def test_two_instances_raise_one_stale_alert_and_one_escalation_step(
    database_url: str, tmp_path: Path
) -> None:
    world = await build_world(database_url)
    conn = await asyncpg.connect(database_url)
    try:  # escalation as soon as the rules allow: the lowest escalate_after_s
        await conn.execute(
            "INSERT INTO alarm_settings (org_id, escalate_after_s) VALUES ($1, 5)", world.org_a
        )
    finally:
        await conn.close()
    async with instances(database_url, tmp_path, stale_after_s=1.0, stale_min_s=0.5) as (a, b):
        leaders = [s.services.hub.cluster.leader for s in (a, b)]
        async with tablet(a, "boa_a", world.tablet_a) as boa, tablet(b, "boa_b", world.tablet_b) as other:
            old = datetime.now(UTC) - timedelta(seconds=1)
            await boa.send(PositionReported(seq=1, lon=OUDE_ZIJDE[0], lat=OUDE_ZIJDE[1], at=old))
            await other.send(PositionReported(seq=1, lon=OUDE_ZIJDE[0], lat=OUDE_ZIJDE[1], at=old))
            await boa.send(NoodknopPressed(seq=2, at=datetime.now(UTC), lon=OUDE_ZIJDE[0], lat=OUDE_ZIJDE[1]))
            await boa.recv_until(lambda f: isinstance(f, Ack) and f.upto == 2)
            await asyncio.sleep(7.0)  # both units long stale; the noodknop past its first escalation
        stale = await fetchval(database_url, "SELECT count(*) FROM alerts WHERE kind = 'position_stale'")
        steps = await fetchval(database_url, "SELECT count(*) FROM alert_events WHERE kind = 'escalated'")
    assert sorted(leaders) == [False, True]  # exactly one instance raises
    assert stale == 2  # one per unit, not one per unit per instance
    assert steps == 1


def _two_free_ports() -> int:
    """A port whose next one is free too (`serve --instances 2` takes port and port + 1)."""
    for _ in range(50):
        port = free_port()
        with socket.socket() as s:
            try:
                s.bind(("127.0.0.1", port + 1))
            except OSError:
                continue
        return port
    raise RuntimeError("no two consecutive free ports")


async def test_serve_instances_runs_two_processes_on_one_embedded_database_and_stops_them_all(
    tmp_path: Path,
) -> None:
    env = {k: v for k, v in os.environ.items() if k not in ("SCHAKEL_DATABASE_URL", "SCHAKEL_SECRET_KEY")}
    env["SCHAKEL_DATA_DIR"] = str(tmp_path / "data")
    pgdata = tmp_path / "data" / "pg"
    port = _two_free_ports()
    with (tmp_path / "serve.log").open("wb") as log:
        process = start(
            [sys.executable, "-m", "backend.cli", "serve", "--instances", "2", "--port", str(port)],
            env=env,
            stdout=log,
        )
    try:
        async with httpx.AsyncClient() as http, asyncio.timeout(120):
            for p in (port, port + 1):
                while True:
                    assert process.poll() is None, (tmp_path / "serve.log").read_text()
                    try:
                        if (await http.get(f"http://127.0.0.1:{p}/health")).status_code == 200:
                            break
                    except httpx.TransportError:
                        pass
                    await asyncio.sleep(0.2)
        instances_ = family(process)  # the two instances (the postmaster lives in a session of its own)
        process.send_signal(signal.SIGTERM)
        code = await asyncio.to_thread(process.wait, 60)
        left = await asyncio.to_thread(still_running, instances_, 10)
        deadline = time.monotonic() + 20  # and it stopped the embedded PostgreSQL it started
        while (pgdata / "postmaster.pid").exists() and time.monotonic() < deadline:
            await asyncio.sleep(0.1)
        pg_left = (pgdata / "postmaster.pid").exists()
    finally:
        # also on a failure or a timeout above: the instances and the embedded PostgreSQL must not outlive
        # the test (killing only this process left them running)
        await asyncio.to_thread(stop_all, process, pgdata=pgdata)
    assert code in (0, 128 + signal.SIGTERM), (tmp_path / "serve.log").read_text()
    assert len(instances_) >= 2 and not left, (instances_, left)
    assert not pg_left


@pytest.mark.skipif(
    shutil.which("haproxy") is None, reason="haproxy is not installed (apt-get install haproxy)"
)
def test_the_documented_haproxy_config_is_valid() -> None:
    checked = subprocess.run(
        ["haproxy", "-c", "-f", str(ROOT / "deploy" / "haproxy.cfg")], capture_output=True, text=True
    )
    assert checked.returncode == 0, checked.stdout + checked.stderr


async def leader_of(servers: list[Server]) -> tuple[Server, list[Server]]:
    """(the instance that raises tick alerts, the others), once one has taken the lease."""
    async with asyncio.timeout(5):
        while True:
            leaders = [s for s in servers if s.services.hub.cluster.leader]
            if leaders:
                return leaders[0], [s for s in servers if s is not leaders[0]]
            await asyncio.sleep(0.02)


async def test_an_escalation_by_the_leader_reaches_the_partner_tablet_on_the_other_instance(
    database_url: str, tmp_path: Path
) -> None:
    world = await build_world(database_url)
    conn = await asyncpg.connect(database_url)
    try:
        partner = await orgs.create_device(conn, org_id=world.org_a, name="tablet-a2", unit_id=world.unit_a)
        await orgs.set_device_secret(conn, partner, tablet_secret(partner))
        await orgs.create_account(conn, org_id=world.org_a, username="boa_a2", password=PASSWORD, role="boa")
        await conn.execute(
            "INSERT INTO alarm_settings (org_id, escalate_after_s) VALUES ($1, 5)", world.org_a
        )
    finally:
        await conn.close()
    async with instances(database_url, tmp_path) as servers:
        _, (other,) = await leader_of(servers)
        async with (
            console(other) as op,
            tablet(other, "boa_a", world.tablet_a) as own,
            tablet(other, "boa_a2", partner) as mate,
        ):
            await own.send(NoodknopPressed(seq=1, at=datetime.now(UTC), lon=OUDE_ZIJDE[0], lat=OUDE_ZIJDE[1]))
            raised = await op.recv_until(lambda f: isinstance(f, AlertRaised))
            told = await mate.recv_until(lambda f: isinstance(f, ColleagueAlarm), timeout=10.0)
            assert told.alert_id == raised.alert.alert_id and told.escalation_level == 1
            await op.send(AcknowledgeAlert(alert_id=raised.alert.alert_id))
            over = await mate.recv_until(lambda f: isinstance(f, ColleagueAlarm), timeout=10)
            assert over.resolved


async def test_when_the_leader_stops_another_instance_raises_the_tick_alerts(
    database_url: str, tmp_path: Path
) -> None:
    world = await build_world(database_url)
    settings = make_settings(database_url, tmp_path, stale_after_s=1.0, stale_min_s=0.5)
    async with running(settings) as first:
        await leader_of([first])
        async with running(settings) as second:
            await asyncio.sleep(0.5)
            assert not second.services.hub.cluster.leader
            # the leader's database session ends (as when its process is killed): PostgreSQL frees the lock
            await first.services.hub.cluster.stop()
            async with asyncio.timeout(10):
                while not second.services.hub.cluster.leader:
                    await asyncio.sleep(0.05)
            async with tablet(second, "boa_a", world.tablet_a) as boa:
                old = datetime.now(UTC) - timedelta(seconds=1)
                await boa.send(PositionReported(seq=1, lon=OUDE_ZIJDE[0], lat=OUDE_ZIJDE[1], at=old))
                await boa.recv_until(lambda f: isinstance(f, Ack) and f.upto == 1)
                async with asyncio.timeout(5):
                    while not await fetchval(
                        database_url, "SELECT count(*) FROM alerts WHERE kind = 'position_stale'"
                    ):
                        await asyncio.sleep(0.1)


async def test_a_tablet_whose_instance_is_killed_mid_stream_resumes_elsewhere_storing_each_position_once(
    database_url: str, tmp_path: Path
) -> None:
    world = await build_world(database_url)
    env = serve_env(database_url, tmp_path)
    ports = [free_port(), free_port()]
    a, b = (serve(p, env, tmp_path / f"serve-{i}.log") for i, p in enumerate(ports))
    total, kill_at = 200, 120
    try:
        for port, process in zip(ports, (a, b), strict=True):
            await healthy(port, process)
        session = await login(f"http://127.0.0.1:{ports[0]}", "boa_a", world.tablet_a)
        start = datetime.now(UTC)

        def position(seq: int) -> PositionReported:
            at = start + timedelta(milliseconds=10 * seq)
            return PositionReported(seq=seq, lon=4.8970 + seq * 1e-6, lat=52.3745, at=at)

        async with socket_to(f"ws://127.0.0.1:{ports[0]}/ws/field", session["access_token"]) as ws:
            assert isinstance(await ws.recv(), Welcome)
            for seq in range(1, kill_at + 1):
                await ws.send(position(seq))
                await asyncio.sleep(0.002)
            a.send_signal(signal.SIGKILL)  # mid-stream: some positions are durable, some not yet acked
            killed = time.monotonic()
            with contextlib.suppress(websockets.ConnectionClosed, TimeoutError):
                for seq in range(kill_at + 1, total + 1):
                    await ws.send(position(seq))
        # the tablet reconnects (through the proxy: to the instance that is left) with the same token
        async with socket_to(f"ws://127.0.0.1:{ports[1]}/ws/field", session["access_token"]) as ws:
            welcome = await ws.recv()
            assert isinstance(welcome, Welcome) and welcome.acked <= kill_at
            gap = time.monotonic() - killed
            for seq in range(welcome.acked + 1, total + 1):  # what the tablet's outbox still holds
                await ws.send(position(seq))
            await ws.recv_until(lambda f: isinstance(f, Ack) and f.upto == total, timeout=10.0)
        assert gap < 10.0
        conn = await asyncpg.connect(database_url)
        try:
            stored, distinct = await conn.fetchrow(
                "SELECT count(*), count(DISTINCT seq) FROM positions WHERE device_id = $1", world.tablet_a
            )
        finally:
            await conn.close()
        assert (stored, distinct) == (total, total)  # none lost, none doubled
    finally:
        for process in (a, b):
            await asyncio.to_thread(stop_all, process)


async def test_an_instance_whose_listener_was_away_catches_up_from_the_tables(
    database_url: str, tmp_path: Path
) -> None:
    world = await build_world(database_url)
    name = urlsplit(database_url).path.lstrip("/")
    admin = await asyncpg.connect(with_database(database_url, "postgres"))
    try:
        async with instances(database_url, tmp_path) as (a, b):
            async with console(a) as op, tablet(b, "boa_a", world.tablet_a) as boa:
                await boa.send(
                    NoodknopPressed(seq=1, at=datetime.now(UTC), lon=OUDE_ZIJDE[0], lat=OUDE_ZIJDE[1])
                )
                raised = await op.recv_until(lambda f: isinstance(f, AlertRaised), timeout=10)
                # B's listener goes away and cannot come back for a while
                bus = b.services.hub.cluster
                assert bus._conn is not None
                await admin.execute(f"ALTER DATABASE {name} ALLOW_CONNECTIONS false")
                await admin.execute("SELECT pg_terminate_backend($1)", bus._conn.get_server_pid())
                async with asyncio.timeout(10):
                    while bus.connected.is_set():
                        await asyncio.sleep(0.02)
                await op.send(AcknowledgeAlert(alert_id=raised.alert.alert_id))  # its NOTIFY: missed by B
                await asyncio.sleep(0.5)
                await admin.execute(f"ALTER DATABASE {name} ALLOW_CONNECTIONS true")
                seen = await boa.recv_until(lambda f: isinstance(f, AlertAcknowledged), timeout=10.0)
                assert seen.alert_id == raised.alert.alert_id
                assert raised.alert.alert_id not in b.services.hub.escalating
    finally:
        with contextlib.suppress(Exception):
            await admin.execute(f"ALTER DATABASE {name} ALLOW_CONNECTIONS true")
        await admin.close()
