"""One bad input must never stop storage for anyone: the edges refuse what the database cannot hold, and a
frame that fails in the writer anyway costs only itself."""

from __future__ import annotations

import asyncio
import logging
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import asyncpg
import httpx

from shared.protocol import (
    Ack,
    AcknowledgeAlert,
    AlertRaised,
    AssistanceRequested,
    Error,
    NoodknopPressed,
    Ping,
    Pong,
    PositionReported,
    Snapshot,
    StatusChanged,
    UnitStatus,
)
from tests.integration.harness import Server, Socket, bearer, login, make_settings, running, socket_to
from tests.integration.world import OUDE_ZIJDE, World, build_world

TRACKER = "123456"


async def _fetch(url: str, sql: str, *args: object) -> list[asyncpg.Record]:
    conn = await asyncpg.connect(url)
    try:
        rows: list[asyncpg.Record] = await conn.fetch(sql, *args)
        return rows
    finally:
        await conn.close()


async def _execute(url: str, sql: str) -> None:
    conn = await asyncpg.connect(url)
    try:
        await conn.execute(sql)
    finally:
        await conn.close()


async def _fail_rows_of(url: str, table: str, device_id: int, seq: int) -> None:
    """A real database failure for one row, as a value PostgreSQL cannot hold would give."""
    await _execute(
        url,
        f"""
        CREATE FUNCTION fail_one_row() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
            IF NEW.device_id = {device_id} AND NEW.seq = {seq} THEN
                RAISE EXCEPTION 'injected failure for one row';
            END IF;
            RETURN NEW;
        END $$;
        CREATE TRIGGER fail_one_row BEFORE INSERT ON {table} FOR EACH ROW EXECUTE FUNCTION fail_one_row();
    """,
    )


def _pos(seq: int, at: datetime, **extra: Any) -> PositionReported:
    return PositionReported(seq=seq, lon=OUDE_ZIJDE[0], lat=OUDE_ZIJDE[1], at=at, **extra)


async def _tablets(server: Server, world: World) -> tuple[str, str, str]:
    a = await login(server.base, "boa_a", world.tablet_a)
    b = await login(server.base, "boa_b", world.tablet_b)
    operator = await login(server.base, "operator_mk")
    return a["access_token"], b["access_token"], operator["access_token"]


async def _noodknop_gets_through(op: Socket, tablet: Socket, seq: int) -> None:
    """The noodknop is acknowledged and on the operator's screen within a second of the press."""
    await tablet.send(NoodknopPressed(seq=seq, at=datetime.now(UTC), lon=OUDE_ZIJDE[0], lat=OUDE_ZIJDE[1]))
    async with asyncio.timeout(1.0):
        raised = await op.recv_until(lambda f: isinstance(f, AlertRaised))
        ack = await tablet.recv_until(lambda f: isinstance(f, Ack) and f.upto >= seq)
    assert raised.alert.kind.value == "noodknop" and raised.alert.call_sign == "A-01"
    assert ack.upto == seq


# --- the writer: a failing row among good ones --------------------------------------------------------------


async def test_a_failing_row_costs_only_itself_and_another_tablets_noodknop_gets_through(
    database_url: str, tmp_path: Path
) -> None:
    world = await build_world(database_url)
    await _fail_rows_of(database_url, "field_events", world.tablet_b, 2)
    # B's frames, the failing one among them, go in one routine batch; A's noodknop has a lane of its own
    settings = make_settings(database_url, tmp_path, flush_interval_s=0.5, operator_tick_s=30.0)
    async with running(settings) as server:
        token_a, token_b, token_op = await _tablets(server, world)
        async with (
            socket_to(server.ws + "/ws/operator", token_op) as op,
            socket_to(server.ws + "/ws/field", token_a) as a,
            socket_to(server.ws + "/ws/field", token_b) as b,
        ):
            assert isinstance(await op.recv(), Snapshot)
            await a.recv()
            await b.recv()
            now = datetime.now(UTC)
            await b.send(StatusChanged(seq=1, status=UnitStatus.BUSY, at=now))
            await b.send(StatusChanged(seq=2, status=UnitStatus.BREAK, at=now))  # the database refuses it
            await b.send(_pos(3, now))
            await asyncio.sleep(0.2)  # let B's frames reach the queue first (they wait there for 30 s)
            await _noodknop_gets_through(op, a, 1)
            refused = await b.recv_until(lambda f: isinstance(f, Error))
            assert refused.code == "not_stored" and refused.seq == 2 and not refused.fatal
            assert (await b.recv_until(lambda f: isinstance(f, Ack))).upto == 3  # the rest is durable
    events = await _fetch(database_url, "SELECT seq FROM field_events WHERE device_id = $1", world.tablet_b)
    assert [r["seq"] for r in events] == [1]
    positions = await _fetch(database_url, "SELECT seq FROM positions WHERE device_id = $1", world.tablet_b)
    assert [r["seq"] for r in positions] == [3]
    status = await _fetch(database_url, "SELECT status FROM units WHERE id = $1", world.unit_b)
    assert status[0]["status"] == "busy"


async def test_a_frame_past_the_edge_with_a_value_beyond_float32_costs_only_itself(
    database_url: str, tmp_path: Path
) -> None:
    """The frame that used to stop all storage (`speed 1e300`), handed to the hub as if an edge had missed
    it: refused alone, and storage goes on for everyone."""
    world = await build_world(database_url)
    settings = make_settings(database_url, tmp_path, flush_interval_s=0.5, operator_tick_s=30.0)
    async with running(settings) as server:
        token_a, token_b, token_op = await _tablets(server, world)
        async with (
            socket_to(server.ws + "/ws/operator", token_op) as op,
            socket_to(server.ws + "/ws/field", token_a) as a,
            socket_to(server.ws + "/ws/field", token_b) as b,
        ):
            await op.recv()
            await a.recv()
            await b.recv()
            hub = server.services.hub
            link = hub.links.get(world.tablet_b)
            assert hub.accept(link, _pos(1, datetime.now(UTC), speed_mps=1e300), datetime.now(UTC))
            await b.send(_pos(2, datetime.now(UTC)))
            await asyncio.sleep(0.2)
            await _noodknop_gets_through(op, a, 1)
            refused = await b.recv_until(lambda f: isinstance(f, Error))
            assert refused.code == "not_stored" and refused.seq == 1
            assert (await b.recv_until(lambda f: isinstance(f, Ack))).upto == 2
    positions = await _fetch(database_url, "SELECT seq FROM positions WHERE device_id = $1", world.tablet_b)
    assert [r["seq"] for r in positions] == [2]


async def test_a_tracker_fix_the_database_refuses_gets_a_4xx_and_the_next_one_is_stored(
    database_url: str, tmp_path: Path
) -> None:
    world = await build_world(database_url)
    await _fail_rows_of(database_url, "positions", world.tracker_a, 1)
    async with running(make_settings(database_url, tmp_path)) as server:
        at = datetime.now(UTC).replace(microsecond=0) - timedelta(seconds=30)
        async with httpx.AsyncClient(base_url=server.base) as http:
            params = {"id": TRACKER, "lat": str(OUDE_ZIJDE[1]), "lon": str(OUDE_ZIJDE[0])}
            first = await http.get("/osmand", params={**params, "timestamp": str(int(at.timestamp()))})
            again = await http.get("/osmand", params={**params, "timestamp": str(int(at.timestamp()) + 5)})
    assert first.status_code == 400, first.text
    assert "not stored" in first.json()["detail"]
    assert again.status_code == 200, again.text
    positions = await _fetch(database_url, "SELECT seq FROM positions WHERE device_id = $1", world.tracker_a)
    assert [r["seq"] for r in positions] == [2]


# --- the writer is supervised -------------------------------------------------------------------------------


class _Records(logging.Handler):
    """The writer's log lines (the app's logging setup replaces the root handlers, so caplog misses them)."""

    def __init__(self) -> None:
        super().__init__(logging.ERROR)
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(record.getMessage())


async def test_a_writer_that_dies_is_restarted_and_health_says_so(database_url: str, tmp_path: Path) -> None:
    world = await build_world(database_url)
    records = _Records()
    logging.getLogger("backend.live.writer").addHandler(records)
    try:
        async with running(make_settings(database_url, tmp_path)) as server:
            async with httpx.AsyncClient(base_url=server.base) as http:
                healthy = await http.get("/health")
                assert healthy.status_code == 200 and healthy.json()["writer"] == "running"
                # something kills the writer's task from outside
                writer_task = next(t for t in asyncio.all_tasks() if t.get_name() == "field-writer")
                writer_task.cancel()
                async with asyncio.timeout(5):
                    while server.services.hub.writer.restarts == 0:
                        await asyncio.sleep(0.01)
                after = await http.get("/health")
            assert after.status_code == 200
            assert after.json() == {"status": "ok", "writer": "restarted 1 times"}
            assert any("field writer died" in line and "restart 1" in line for line in records.lines)
            token_a, _, token_op = await _tablets(server, world)
            async with (
                socket_to(server.ws + "/ws/operator", token_op) as op,
                socket_to(server.ws + "/ws/field", token_a) as a,
            ):
                await op.recv()
                await a.recv()
                await _noodknop_gets_through(op, a, 1)
    finally:
        logging.getLogger("backend.live.writer").removeHandler(records)


# --- the edge: what the database cannot hold is refused, naming the field ----------------------------------


def _frame(kind: str, seq: int, at: str, **fields: Any) -> str:
    import json

    return json.dumps({"kind": kind, "seq": seq, "at": at, **fields})


async def test_frames_the_database_cannot_hold_get_an_error_naming_the_field_and_storage_goes_on(
    database_url: str, tmp_path: Path
) -> None:
    world = await build_world(database_url)
    async with running(make_settings(database_url, tmp_path)) as server:
        token_a, _, _ = await _tablets(server, world)
        now = datetime.now(UTC)
        iso = now.isoformat()
        cases = [
            (_frame("assistance", 1, iso, text="help\u0000"), "$.text"),
            (_frame("task_update", 1, iso, task_id=1, state="accepted", note="\u0000"), "$.note"),
            (_frame("status", 1, "0001-01-01T00:00:00+14:00", status="busy"), "$.at"),
            (_frame("position", 1, "9999-12-31T23:59:59-14:00", lon=4.9, lat=52.37), "$.at"),
            (_frame("position", 1, (now + timedelta(days=1)).isoformat(), lon=4.9, lat=52.37), "$.at"),
            (_frame("noodknop", 1, (now - timedelta(days=400)).isoformat()), "$.at"),
            (_frame("position", 2**62, iso, lon=4.9, lat=52.37), "$.seq"),
        ]
        async with socket_to(server.ws + "/ws/field", token_a) as a:
            await a.recv()
            for raw, field in cases:
                await a.send(raw)
                error = await a.recv()
                assert isinstance(error, Error) and not error.fatal, raw
                assert error.code == "bad_frame" and error.field == field, (raw, error)
                assert error.seq is not None
            # a day ahead would have frozen the unit on the console; the good frames still go in
            await a.send(_pos(1, datetime.now(UTC)))
            await a.send(AssistanceRequested(seq=2, at=datetime.now(UTC), text="Agressieve persoon"))
            assert (await a.recv_until(lambda f: isinstance(f, Ack) and f.upto == 2)).upto == 2
            # the jump was refused, so the device's sequence space is intact
            await a.send(_pos(3, datetime.now(UTC)))
            assert (await a.recv_until(lambda f: isinstance(f, Ack))).upto == 3
    assert [r["seq"] for r in await _fetch(database_url, "SELECT seq FROM positions ORDER BY seq")] == [1, 3]


async def test_a_bad_alert_id_or_an_oversized_frame_keeps_the_console_socket_open(
    database_url: str, tmp_path: Path
) -> None:
    await build_world(database_url)
    async with running(make_settings(database_url, tmp_path)) as server:
        operator = await login(server.base, "operator_mk")
        async with socket_to(server.ws + "/ws/operator", operator["access_token"]) as op:
            assert isinstance(await op.recv(), Snapshot)
            await op.send(AcknowledgeAlert(alert_id=2**63))
            error = await op.recv()
            assert isinstance(error, Error) and error.code == "bad_frame" and error.field == "$.alert_id"
            await op.send('{"kind": "ping", "nonce": 1, "padding": "%s"}' % ("x" * 70_000))
            error = await op.recv()
            assert isinstance(error, Error) and error.code == "too_large" and not error.fatal
            await op.send(Ping(nonce=7))
            assert await op.recv() == Pong(nonce=7)


# --- staff are tracked only on shift ------------------------------------------------------------------------


async def test_a_tracker_of_a_unit_whose_shift_ended_is_answered_but_not_stored(
    database_url: str, tmp_path: Path
) -> None:
    world = await build_world(database_url)
    async with running(make_settings(database_url, tmp_path)) as server:
        lead = await login(server.base, "lead_a")
        shift = await _fetch(
            database_url, "SELECT id FROM shifts WHERE unit_id = $1 AND ended_at IS NULL", world.unit_a
        )
        async with httpx.AsyncClient(base_url=server.base) as http:
            params = {"id": TRACKER, "lat": str(OUDE_ZIJDE[1]), "lon": str(OUDE_ZIJDE[0])}
            on_shift = await http.get("/osmand", params=params)
            ended = await http.post(f"/api/shifts/{shift[0]['id']}/end", headers=bearer(lead))
            assert ended.status_code == 204, ended.text
            off_shift = await http.get("/osmand", params={**params, "lat": str(OUDE_ZIJDE[1] + 0.001)})
    assert on_shift.status_code == 200 and off_shift.status_code == 200
    rows = await _fetch(database_url, "SELECT lat FROM positions WHERE device_id = $1", world.tracker_a)
    assert [r["lat"] for r in rows] == [OUDE_ZIJDE[1]]
