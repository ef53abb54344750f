"""The bridge and the reference partner over real loopback sockets: delivery both ways, refusals to the
dead-letter list, and a noodknop from a tablet reaching the police side as valid CAP within a second."""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import asyncpg
import httpx
import pytest
import websockets

from backend.db.pool import create_pool
from backend.orgs import repository as orgs
from meldkamer_bridge import outbox
from meldkamer_bridge.adapters import cap, eido, status
from meldkamer_bridge.app import Bridge
from meldkamer_bridge.config import BridgeConfig, Partner
from meldkamer_bridge.outbox import Envelope
from meldkamer_bridge.simulator import Simulator
from shared.protocol import (
    Ack,
    AcknowledgeAlert,
    AlertRaised,
    Delta,
    ManDown,
    ManDownTrigger,
    NoodknopPressed,
    PositionReported,
    StatusChanged,
    UnitStatus,
    Welcome,
)
from tests.integration.harness import (
    PASSWORD,
    Server,
    bearer,
    free_port,
    login,
    make_settings,
    running,
    socket_to,
)
from tests.integration.world import OUDE_ZIJDE, World, build_world


@pytest.fixture
async def pool(database_url: str) -> AsyncIterator[asyncpg.Pool]:
    p = await create_pool(database_url, min_size=1, max_size=8)
    yield p
    await p.close()


@contextlib.asynccontextmanager
async def partner(tmp_path: Path) -> AsyncIterator[tuple[Simulator, int]]:
    sim = Simulator(tmp_path / "sim.sqlite3")
    port = free_port()
    async with sim.serving("127.0.0.1", port):
        yield sim, port
    sim.close()


async def world_with_bridge_account(database_url: str, pool: asyncpg.Pool) -> World:
    """The test world plus the bridge's service account (role service, in the meldkamer)."""
    world = await build_world(database_url)
    async with pool.acquire() as conn:
        await orgs.create_account(
            conn, org_id=world.meldkamer, username="bridge_mk", password=PASSWORD, role="service"
        )
    return world


@contextlib.asynccontextmanager
async def bridge(
    database_url: str,
    pool: asyncpg.Pool,
    port: int,
    backend: Server | None = None,
    avl_interval_s: float = 1.0,
) -> AsyncIterator[Bridge]:
    """The bridge, linked to the partner on `port` and, given a backend, watching it as `bridge_mk`."""
    config = BridgeConfig(
        database_url=database_url,
        partners=(Partner(name="gms-sim", url=f"ws://127.0.0.1:{port}/"),),
        meldkamer="gms-sim",
        police="gms-sim",
        backend_url=backend.base if backend else None,
        username="bridge_mk",
        password=PASSWORD,
        avl_interval_s=avl_interval_s,
    )
    b = Bridge(config, pool)
    task = asyncio.create_task(b.run())
    try:
        async with asyncio.timeout(10):
            await b.links_connected["gms-sim"].wait()
            if backend is not None:
                await b.backend_connected.wait()
        yield b
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task


async def next_of(sim: Simulator, type_: str, within: float = 5.0) -> Envelope:
    async with asyncio.timeout(within):
        while True:
            env = await sim.received.get()
            if env.type == type_:
                return env


async def test_messages_flow_both_ways_in_order_and_refusals_are_dead_letters(
    database_url: str, pool: asyncpg.Pool, tmp_path: Path
) -> None:
    async with partner(tmp_path) as (sim, port), bridge(database_url, pool, port) as b:
        at = datetime(2026, 11, 22, 19, 0, tzinfo=UTC)
        for i in range(50):
            await b.store.enqueue(
                "gms-sim",
                "unit_status",
                status.encode_status(
                    UnitStatus.EN_ROUTE if i % 2 else UnitStatus.ON_SCENE,
                    unit=f"HH-{i:02d}",
                    organisation="amsterdam",
                    since=at,
                ),
            )
        await b.store.enqueue("gms-sim", "cap", b"<alert>not CAP</alert>", msg_id="bad-cap")
        await b.store.enqueue(
            "gms-sim",
            "unit_status",
            status.encode_status(UnitStatus.AVAILABLE, unit="HH-99", organisation="amsterdam", since=at),
        )
        for n in range(1, 6):
            sim.send_incident(n)
        got = [await next_of(sim, "unit_status") for _ in range(51)]
        assert [e.seq for e in got] == [*range(1, 51), 52]
        assert json.loads(got[-1].body)["code"] == "8"
        async with asyncio.timeout(5):
            while True:
                async with pool.acquire() as conn:
                    (m,) = await outbox.metrics(conn, "gms-sim")
                    inbox = await outbox.unprocessed(conn, "gms-sim")
                if m.queue_depth == 0 and len(inbox) == 5:
                    break
                await asyncio.sleep(0.05)
        assert (m.delivered, m.rejected) == (51, 1)
        async with pool.acquire() as conn:
            (dead,) = await outbox.dead_letters(conn)
        assert dead.msg_id == "bad-cap" and "CAP 1.2" in dead.reason
        handovers = [eido.decode_incident(e.body.encode()) for e in inbox]
        assert [h.partner_incident_id for h in handovers] == [f"GMS-{n:06d}" for n in range(1, 6)]
        assert handovers[0].lon is not None and handovers[0].address.endswith("Amsterdam")


async def test_an_incident_sink_gets_each_incident_once(
    database_url: str, pool: asyncpg.Pool, tmp_path: Path
) -> None:
    async with pool.acquire() as conn:  # what the sink does, in the inbox's transaction (like a melding)
        await conn.execute("CREATE TABLE handed (id serial PRIMARY KEY, external_id text NOT NULL)")
    busy = {"GMS-000002"}  # the console is busy for this one until the test says otherwise

    async def sink(
        conn: asyncpg.Connection, message: outbox.InboxMessage, handover: eido.IncidentHandover
    ) -> str:
        await conn.execute("INSERT INTO handed (external_id) VALUES ($1)", handover.partner_incident_id)
        if handover.partner_incident_id in busy:
            raise RuntimeError("the console is busy")  # rolled back: handed over again next time
        return f"melding for {handover.partner_incident_id}"

    async def processed() -> int:
        async with pool.acquire() as conn:
            return int(
                await conn.fetchval("SELECT count(*) FROM bridge_inbox WHERE processed_at IS NOT NULL")
            )

    async def until_processed(n: int) -> None:
        async with asyncio.timeout(10):  # the bridge's own inbox loop or this test's call, whichever first
            while await processed() < n:
                await b.inbound.process("eido")
                await asyncio.sleep(0.05)

    async with partner(tmp_path) as (sim, port), bridge(database_url, pool, port) as b:
        for n in (1, 2, 1, 3):
            sim.send_incident(n)  # n=1 twice: the simulator queues a message id once
        async with asyncio.timeout(5):
            while True:
                async with pool.acquire() as conn:
                    if await outbox.inbound_seq(conn, "gms-sim") == 3:
                        break
                await asyncio.sleep(0.05)
        b.inbound.incident_sink = sink
        await until_processed(2)  # GMS-000001 and GMS-000003; the busy one waits in the inbox
        await asyncio.sleep(0.3)
        assert await processed() == 2
        busy.clear()
        await until_processed(3)
        async with pool.acquire() as conn:
            results = [r["result"] for r in await conn.fetch("SELECT result FROM bridge_inbox ORDER BY seq")]
            handed = [
                r["external_id"] for r in await conn.fetch("SELECT external_id FROM handed ORDER BY id")
            ]
    assert results == ["melding for GMS-000001", "melding for GMS-000002", "melding for GMS-000003"]
    assert sorted(handed) == [
        "GMS-000001",
        "GMS-000002",
        "GMS-000003",
    ]  # each once: a failed try left nothing


async def test_an_oversized_partner_message_is_refused_and_the_messages_behind_it_still_arrive(
    database_url: str, pool: asyncpg.Pool, tmp_path: Path
) -> None:
    async with partner(tmp_path) as (sim, port), bridge(database_url, pool, port):
        sim.store.enqueue("schakel", "eido", "x" * (3 * 1024 * 1024), "sim:too-big")
        sim.send_incident(1)
        async with asyncio.timeout(5):
            while True:
                async with pool.acquire() as conn:
                    rows = await conn.fetch(
                        "SELECT seq, length(body) AS size, result FROM bridge_inbox ORDER BY seq"
                    )
                    (m,) = await outbox.metrics(conn, "gms-sim")
                if len(rows) == 2:
                    break
                await asyncio.sleep(0.05)
    big, incident = rows
    assert big["size"] == 0 and "larger than" in big["result"]  # stored empty, refused, never handed on
    assert incident["seq"] == 2
    assert m.failed == 0  # the link never went down over it


async def test_a_partner_message_with_a_nul_character_is_refused_and_the_link_goes_on(
    database_url: str, pool: asyncpg.Pool, tmp_path: Path
) -> None:
    """PostgreSQL cannot hold U+0000 in text: stored as it came, it would fail the whole batch and stop the
    link for ever. It is refused (nack) and kept with the NUL written out; the next message arrives."""
    async with partner(tmp_path) as (sim, port), bridge(database_url, pool, port):
        sim.store.enqueue("schakel", "eido", '{"$id": "a\x00b"}', "sim:nul")
        sim.send_incident(1)
        async with asyncio.timeout(20):
            while True:
                async with pool.acquire() as conn:
                    rows = await conn.fetch(
                        "SELECT seq, body, result, processed_at FROM bridge_inbox ORDER BY seq"
                    )
                    (m,) = await outbox.metrics(conn, "gms-sim")
                refused = sim.store.db.execute(
                    "SELECT rejected FROM outbox WHERE msg_id = 'sim:nul'"
                ).fetchone()
                if len(rows) == 2 and refused[0]:
                    break
                await asyncio.sleep(0.05)
    nul, incident = rows
    assert (
        nul["body"] == '{"$id": "a\\u0000b"}' and "NUL" in nul["result"] and nul["processed_at"] is not None
    )
    assert "NUL" in refused[0]  # the partner has it as refused, with the reason
    assert incident["seq"] == 2  # the message behind it arrived
    assert m.failed == 0  # the link never went down over it


async def test_a_partner_that_drops_the_link_right_after_welcome_is_retried_with_growing_delays(
    database_url: str, pool: asyncpg.Pool, tmp_path: Path
) -> None:
    connections: list[float] = []

    async def welcome_then_close(ws: websockets.ServerConnection) -> None:
        connections.append(time.monotonic())
        await ws.recv()  # the bridge's hello
        await ws.send(json.dumps({"welcome": {"name": "gms-sim", "acked": 0, "version": 1}}))
        await ws.close()

    port = free_port()
    async with websockets.serve(welcome_then_close, "127.0.0.1", port), bridge(database_url, pool, port):
        await asyncio.sleep(3.0)
    # 0.1 s doubling (±20 %): about five connections in 3 s; a backoff reset at each welcome made ~30
    assert 3 <= len(connections) <= 8, f"{len(connections)} connections in 3 s"


async def test_noodknop_from_a_tablet_reaches_the_police_as_valid_cap_within_a_second(
    database_url: str, pool: asyncpg.Pool, tmp_path: Path
) -> None:
    world = await world_with_bridge_account(database_url, pool)
    async with (
        running(make_settings(database_url, tmp_path)) as server,
        partner(tmp_path) as (sim, port),
        bridge(database_url, pool, port, backend=server, avl_interval_s=0.2),
    ):
        roster = await next_of(sim, "unit_roster")
        assert {u["unit"] for u in json.loads(roster.body)["units"]} == {"A-01"}
        session = await login(server.base, "boa_a", world.tablet_a)
        async with socket_to(server.ws + "/ws/field", session["access_token"]) as ws:
            assert isinstance(await ws.recv(), Welcome)
            pressed = time.perf_counter()
            await ws.send(NoodknopPressed(seq=1, at=datetime.now(UTC), lon=OUDE_ZIJDE[0], lat=OUDE_ZIJDE[1]))
            env = await next_of(sim, "cap", within=1.0)
            delay = time.perf_counter() - pressed
        alert = cap.decode_alert(env.body.encode())  # validates against the OASIS schema
        assert (
            alert.severity == "Extreme" and alert.urgency == "Immediate" and alert.category == ("Security",)
        )
        assert (
            alert.parameters["unit_call_sign"] == "A-01" and alert.parameters["organisation"] == "Gemeente A"
        )
        (circle,) = alert.circles
        assert (circle.lon, circle.lat) == pytest.approx(OUDE_ZIJDE)
        assert delay < 1.0, f"noodknop took {delay:.3f}s to reach the police side"
        print(f"noodknop -> CAP at the partner: {delay * 1000:.0f} ms")
        # the page of the partner shows it
        async with httpx.AsyncClient() as http:
            page = await http.get(f"http://127.0.0.1:{port}/")
        assert page.status_code == 200 and "cap" in page.text and "NOODKNOP" in page.text


async def test_a_man_down_from_a_tablet_reaches_the_police_as_valid_cap_like_the_noodknop(
    database_url: str, pool: asyncpg.Pool, tmp_path: Path
) -> None:
    world = await world_with_bridge_account(database_url, pool)
    async with (
        running(make_settings(database_url, tmp_path)) as server,
        partner(tmp_path) as (sim, port),
        bridge(database_url, pool, port, backend=server, avl_interval_s=0.2),
    ):
        await next_of(sim, "unit_roster")
        session = await login(server.base, "boa_a", world.tablet_a)
        async with socket_to(server.ws + "/ws/field", session["access_token"]) as ws:
            assert isinstance(await ws.recv(), Welcome)
            pressed = time.perf_counter()
            await ws.send(
                ManDown(
                    seq=1,
                    at=datetime.now(UTC),
                    trigger=ManDownTrigger.NO_MOTION,
                    lon=OUDE_ZIJDE[0],
                    lat=OUDE_ZIJDE[1],
                )
            )
            env = await next_of(sim, "cap", within=1.0)
            delay = time.perf_counter() - pressed
        alert = cap.decode_alert(env.body.encode())  # validates against the OASIS schema
        assert alert.event == "Man-down handhaving" and alert.severity == "Extreme"
        assert alert.urgency == "Immediate" and alert.parameters["alert_kind"] == "man_down"
        assert "geen beweging" in alert.description
        assert delay < 1.0, f"man-down took {delay:.3f}s to reach the police side"


async def test_a_noodknop_without_a_position_goes_to_the_police_with_the_units_last_fix_and_its_age(
    database_url: str, pool: asyncpg.Pool, tmp_path: Path
) -> None:
    world = await world_with_bridge_account(database_url, pool)
    async with (
        running(make_settings(database_url, tmp_path)) as server,
        partner(tmp_path) as (sim, port),
        bridge(database_url, pool, port, backend=server, avl_interval_s=0.2),
    ):
        await next_of(sim, "unit_roster")
        session = await login(server.base, "boa_a", world.tablet_a)
        async with socket_to(server.ws + "/ws/field", session["access_token"]) as ws:
            assert isinstance(await ws.recv(), Welcome)
            fixed_at = datetime.now(UTC) - timedelta(seconds=90)
            await ws.send(
                PositionReported(seq=1, lon=OUDE_ZIJDE[0], lat=OUDE_ZIJDE[1], at=fixed_at, accuracy_m=120.0)
            )
            await next_of(sim, "avl")  # the bridge has seen the unit's position
            await ws.send(NoodknopPressed(seq=2, at=datetime.now(UTC)))  # the tablet had no fix of its own
            env = await next_of(sim, "cap", within=2.0)
    alert = cap.decode_alert(env.body.encode())
    (circle,) = alert.circles
    assert (circle.lon, circle.lat) == pytest.approx(OUDE_ZIJDE)
    assert circle.radius_km == pytest.approx(0.12)  # the fix's accuracy, not a point
    assert "Laatst bekende positie" in alert.description and "1 min 3" in alert.description
    assert "vóór de melding" in alert.description


async def test_status_and_positions_of_a_tablet_reach_the_meldkamer_as_gms_codes_and_coalesced_avl(
    database_url: str, pool: asyncpg.Pool, tmp_path: Path
) -> None:
    world = await world_with_bridge_account(database_url, pool)
    async with (
        running(make_settings(database_url, tmp_path)) as server,
        partner(tmp_path) as (sim, port),
        bridge(database_url, pool, port, backend=server, avl_interval_s=0.3),
    ):
        first = json.loads((await next_of(sim, "unit_status")).body)
        assert (first["unit"], first["organisation"]) == ("A-01", "gemeente-a")
        session = await login(server.base, "boa_a", world.tablet_a)
        async with socket_to(server.ws + "/ws/field", session["access_token"]) as ws:
            assert isinstance(await ws.recv(), Welcome)
            now = datetime.now(UTC)
            for seq in range(1, 11):  # ten positions in quick succession
                await ws.send(
                    PositionReported(
                        seq=seq,
                        lon=OUDE_ZIJDE[0] + seq * 1e-5,
                        lat=OUDE_ZIJDE[1],
                        at=now + timedelta(milliseconds=seq),
                    )
                )
            await ws.send(StatusChanged(seq=11, status=UnitStatus.EN_ROUTE, at=now + timedelta(seconds=1)))
            report = json.loads((await next_of(sim, "unit_status")).body)
            assert (report["status"], report["code"], report["label"]) == (
                "en_route",
                "4",
                "aanrijdend naar incident",
            )
            batches = []
            async with asyncio.timeout(5):
                while not batches or batches[-1]["positions"][0]["lon"] != pytest.approx(
                    OUDE_ZIJDE[0] + 1e-4
                ):
                    batches.append(json.loads((await next_of(sim, "avl")).body))
        # coalesced: far fewer AVL messages than positions, and the last one carries the latest position
        assert len(batches) < 10
        assert all(
            len(batch["positions"]) == 1 and batch["positions"][0]["unit"] == "A-01" for batch in batches
        )
        # a unit created now is registered with the meldkamer before its first status
        lead = await login(server.base, "lead_a")
        async with httpx.AsyncClient(base_url=server.base) as http:
            r = await http.post("/api/units", json={"call_sign": "A-02"}, headers=bearer(lead))
            assert r.status_code in (200, 201), r.text
        roster = json.loads((await next_of(sim, "unit_roster")).body)
        assert [u["unit"] for u in roster["units"]] == ["A-01", "A-02"]
        new_status = json.loads((await next_of(sim, "unit_status")).body)
        assert (new_status["unit"], new_status["status"], new_status["code"]) == ("A-02", "off_duty", "11")


async def test_a_noodknop_raised_while_the_bridge_was_down_is_sent_once_when_it_returns(
    database_url: str, pool: asyncpg.Pool, tmp_path: Path
) -> None:
    world = await world_with_bridge_account(database_url, pool)
    async with running(make_settings(database_url, tmp_path)) as server, partner(tmp_path) as (sim, port):
        session = await login(server.base, "boa_a", world.tablet_a)
        async with socket_to(server.ws + "/ws/field", session["access_token"]) as ws:
            assert isinstance(await ws.recv(), Welcome)
            await ws.send(NoodknopPressed(seq=1, at=datetime.now(UTC)))  # no position known
            await ws.recv_until(lambda f: isinstance(f, Ack) and f.upto == 1)
        for _ in range(2):  # the bridge starts, and starts again: the same open alert is in both snapshots
            async with bridge(database_url, pool, port, backend=server):
                async with asyncio.timeout(5):
                    while True:
                        async with pool.acquire() as conn:
                            if (await outbox.metrics(conn, "gms-sim"))[0].queue_depth == 0:
                                break
                        await asyncio.sleep(0.05)
        received = [e for e in sim.store.received() if e["type"] == "cap"]
    assert len(received) == 1
    alert = cap.decode_alert(str(received[0]["body"]).encode())
    assert alert.identifier.startswith("schakel:alert:") and alert.circles == ()
    assert "Positie onbekend" in alert.description


async def test_a_noodknop_acknowledged_while_the_bridge_was_down_still_reaches_the_police_then_its_update(
    database_url: str, pool: asyncpg.Pool, tmp_path: Path
) -> None:
    world = await world_with_bridge_account(database_url, pool)
    async with running(make_settings(database_url, tmp_path)) as server, partner(tmp_path) as (sim, port):
        session = await login(server.base, "boa_a", world.tablet_a)
        operator = await login(server.base, "operator_mk")
        async with (
            socket_to(server.ws + "/ws/operator", operator["access_token"]) as op,
            socket_to(server.ws + "/ws/field", session["access_token"]) as ws,
        ):
            await op.recv()
            assert isinstance(await ws.recv(), Welcome)
            await ws.send(NoodknopPressed(seq=1, at=datetime.now(UTC), lon=OUDE_ZIJDE[0], lat=OUDE_ZIJDE[1]))
            raised = await op.recv_until(lambda f: isinstance(f, AlertRaised), timeout=10)
            await op.send(AcknowledgeAlert(alert_id=raised.alert.alert_id))  # no bridge is running
            await op.recv_until(
                lambda f: isinstance(f, Delta) and any(a.acknowledged_at for a in f.alerts), timeout=10
            )
        async with bridge(database_url, pool, port, backend=server):
            first = await next_of(sim, "cap")
            second = await next_of(sim, "cap")
    alert, update = cap.decode_alert(first.body.encode()), cap.decode_alert(second.body.encode())
    assert alert.msg_type == "Alert" and alert.identifier == f"schakel:alert:{raised.alert.alert_id}"
    assert update.msg_type == "Update" and alert.identifier in update.references
    assert "Gezien door de meldkamer" in update.description


async def test_progress_on_a_handed_over_incident_reaches_the_meldkamer_as_a_valid_eido(
    database_url: str, pool: asyncpg.Pool, tmp_path: Path
) -> None:
    async with partner(tmp_path) as (sim, port), bridge(database_url, pool, port) as b:
        sim.send_incident(1)
        async with asyncio.timeout(5):
            while True:
                async with pool.acquire() as conn:
                    inbox = await outbox.unprocessed(conn, types=["eido"])
                if inbox:
                    break
                await asyncio.sleep(0.05)
        handover = eido.decode_incident(inbox[0].body.encode())
        for progress, units in ((eido.Progress.ACCEPTED, ()), (eido.Progress.EN_ROUTE, ("HH-03",))):
            async with pool.acquire() as conn, conn.transaction():
                await b.outbound.send_progress(
                    conn,
                    eido.IncidentUpdate(
                        external_id=handover.external_id,
                        agency="handhaving.amsterdam.nl",
                        progress=progress,
                        at=datetime.now(UTC),
                        melding_id=12,
                        units=units,
                    ),
                )
        got = [eido.decode_update((await next_of(sim, "eido_update")).body.encode()) for _ in range(2)]
    assert [u.progress for u in got] == [eido.Progress.ACCEPTED, eido.Progress.EN_ROUTE]
    assert all(u.external_id == handover.external_id and u.melding_id == 12 for u in got)
    assert got[1].units == ("HH-03",)
