"""A noodknop never waits behind routine work: it is acknowledged and on the console within a second while
another tablet's batch is split around failing rows, poison frames arrive, logins flood in, or every
connection of the shared pool is taken — and it is stored exactly once, with nothing lost around it."""

from __future__ import annotations

import asyncio
import contextlib
import time
from datetime import UTC, datetime
from pathlib import Path

import asyncpg
import httpx
import pytest

from shared.protocol import (
    Ack,
    AlertRaised,
    Error,
    NoodknopPressed,
    PositionReported,
    Snapshot,
    StatusChanged,
    UnitStatus,
    Welcome,
)
from tests.integration.harness import PASSWORD, Server, Socket, login, make_settings, running, socket_to
from tests.integration.world import OUDE_ZIJDE, World, build_world

ACK_BOUND_S = 1.0
B_FRAMES = 60
B_FAILING = {7, 19, 31, 43, 55}  # seqs of B's frames the database refuses


async def _execute(url: str, sql: str) -> None:
    conn = await asyncpg.connect(url)
    try:
        await conn.execute(sql)
    finally:
        await conn.close()


async def _fetch(url: str, sql: str, *args: object) -> list[asyncpg.Record]:
    conn = await asyncpg.connect(url)
    try:
        rows: list[asyncpg.Record] = await conn.fetch(sql, *args)
        return rows
    finally:
        await conn.close()


async def _slow_and_failing_rows_of(url: str, device_id: int) -> None:
    """Every field event of one device costs the database 5 ms, and a few of them fail: a routine batch
    with that device in it is split again and again (dozens of transactions, seconds in all)."""
    failing = ", ".join(str(seq) for seq in sorted(B_FAILING))
    await _execute(
        url,
        f"""
        CREATE FUNCTION slow_and_failing() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
            IF NEW.device_id = {device_id} THEN
                PERFORM pg_sleep(0.005);
                IF NEW.seq IN ({failing}) THEN
                    RAISE EXCEPTION 'injected failure for one row';
                END IF;
            END IF;
            RETURN NEW;
        END $$;
        CREATE TRIGGER slow_and_failing BEFORE INSERT ON field_events
            FOR EACH ROW EXECUTE FUNCTION slow_and_failing();
        """,
    )


async def _sockets(server: Server, world: World) -> tuple[str, str, str]:
    a = await login(server.base, "boa_a", world.tablet_a)
    b = await login(server.base, "boa_b", world.tablet_b)
    operator = await login(server.base, "operator_mk")
    return a["access_token"], b["access_token"], operator["access_token"]


def _pos(seq: int) -> PositionReported:
    return PositionReported(seq=seq, lon=OUDE_ZIJDE[0], lat=OUDE_ZIJDE[1], at=datetime.now(UTC))


async def _press(op: Socket, tablet: Socket, seq: int) -> float:
    """Press the noodknop; returns the seconds until it was both acknowledged and on the console."""
    started = time.perf_counter()
    await tablet.send(NoodknopPressed(seq=seq, at=datetime.now(UTC), lon=OUDE_ZIJDE[0], lat=OUDE_ZIJDE[1]))
    async with asyncio.timeout(ACK_BOUND_S):
        raised = await op.recv_until(
            lambda f: isinstance(f, AlertRaised) and f.alert.kind.value == "noodknop"
        )
        await tablet.recv_until(lambda f: isinstance(f, Ack) and f.upto >= seq)
    assert raised.alert.call_sign == "A-01"
    return time.perf_counter() - started


POISON = [
    '{"kind":"position","seq":900,"lon":4.9,"lat":52.37,"at":"%s","speed_mps":1e300}',
    '{"kind":"assistance","seq":901,"at":"%s","text":"hulp\\u0000nu"}',
    '{"kind":"status","seq":902,"status":"available","at":"0001-01-01T00:00:00+14:00"}',
    "[" * 50_000,
    "dit is geen json",
]


@pytest.mark.usefixtures("real_argon2")
async def test_a_noodknop_overtakes_a_batch_split_around_failing_rows_poison_and_a_login_flood(
    database_url: str, tmp_path: Path
) -> None:
    world = await build_world(database_url)
    await _slow_and_failing_rows_of(database_url, world.tablet_b)
    settings = make_settings(database_url, tmp_path, flush_interval_s=0.3, operator_tick_s=30.0)
    async with running(settings) as server:
        token_a, token_b, token_op = await _sockets(server, world)
        writer = server.services.hub.writer
        async with (
            socket_to(server.ws + "/ws/operator", token_op) as op,
            socket_to(server.ws + "/ws/field", token_a) as a,
            socket_to(server.ws + "/ws/field", token_b) as b,
            httpx.AsyncClient(base_url=server.base, timeout=60) as http,
        ):
            assert isinstance(await op.recv(), Snapshot)
            assert isinstance(await a.recv(), Welcome)
            assert isinstance(await b.recv(), Welcome)
            # one routine batch: B's frames (some fail, all are slow) and then A's position
            for seq in range(1, B_FRAMES + 1):
                status = UnitStatus.BUSY if seq % 2 else UnitStatus.AVAILABLE
                await b.send(StatusChanged(seq=seq, status=status, at=datetime.now(UTC)))
            await a.send(_pos(1))
            async with asyncio.timeout(10):
                while writer.refused == 0:  # the batch is being split
                    await asyncio.sleep(0.005)

            names = ["lead_a", "lead_b", "admin_a", "operator_mk"]
            flood = [
                asyncio.create_task(
                    http.post(
                        "/api/auth/login",
                        json={"username": names[i % len(names)], "password": PASSWORD if i % 3 else "fout"},
                    )
                )
                for i in range(16)
            ]
            now = datetime.now(UTC).isoformat()
            for raw in POISON:
                await b.send(raw % now if "%s" in raw else raw)
            # A's position was in the batch being split: it is handed over and stored with the noodknop
            took = await _press(op, a, 2)
            assert took < ACK_BOUND_S
            assert writer.refused < len(B_FAILING), "the split was still going on"

            await asyncio.sleep(0.3)
            took = await _press(op, a, 3)  # and again, under the flood
            assert took < ACK_BOUND_S

            statuses = [r.status_code for r in await asyncio.gather(*flood)]
            assert set(statuses) <= {200, 401, 429} and 200 in statuses

            errors: list[Error] = []
            async with asyncio.timeout(20):  # B: every good frame durable, each failing one refused
                while True:
                    frame = await b.recv(timeout=20)
                    if isinstance(frame, Error):
                        errors.append(frame)
                    if isinstance(frame, Ack) and frame.upto >= B_FRAMES:
                        break
            async with asyncio.timeout(5):
                while len([e for e in errors if e.code == "not_stored"]) < len(B_FAILING):
                    frame = await b.recv(timeout=5)
                    if isinstance(frame, Error):
                        errors.append(frame)
        assert {e.seq for e in errors if e.code == "not_stored"} == B_FAILING
        assert len([e for e in errors if e.code != "not_stored"]) == len(POISON)  # answered at the edge

    rows = await _fetch(
        database_url,
        "SELECT device_id, seq, kind FROM field_events ORDER BY device_id, seq",
    )
    a_events = [(r["seq"], r["kind"]) for r in rows if r["device_id"] == world.tablet_a]
    b_seqs = [r["seq"] for r in rows if r["device_id"] == world.tablet_b]
    assert a_events == [(2, "noodknop"), (3, "noodknop")]  # each once
    assert b_seqs == [s for s in range(1, B_FRAMES + 1) if s not in B_FAILING]
    a_positions = await _fetch(database_url, "SELECT seq FROM positions WHERE device_id = $1", world.tablet_a)
    assert [r["seq"] for r in a_positions] == [1]
    alerts = await _fetch(database_url, "SELECT count(*) AS n FROM alerts WHERE kind = 'noodknop'")
    assert alerts[0]["n"] == 2
    last = await _fetch(database_url, "SELECT last_seq FROM devices WHERE id = $1", world.tablet_a)
    assert last[0]["last_seq"] == 3


async def test_a_noodknop_gets_through_while_every_connection_of_the_shared_pool_is_taken(
    database_url: str, tmp_path: Path
) -> None:
    """What the chaos bench showed: logins (or pages, exports) holding every connection of the shared pool
    stopped the writer for seconds. The writer and the alarms have connections of their own."""
    world = await build_world(database_url)
    async with running(make_settings(database_url, tmp_path)) as server:
        token_a, _, token_op = await _sockets(server, world)
        pool = server.services.pool
        async with (
            socket_to(server.ws + "/ws/operator", token_op) as op,
            socket_to(server.ws + "/ws/field", token_a) as a,
            contextlib.AsyncExitStack() as held,
        ):
            assert isinstance(await op.recv(), Snapshot)
            assert isinstance(await a.recv(), Welcome)
            await a.send(_pos(1))
            await a.recv_until(lambda f: isinstance(f, Ack) and f.upto >= 1)
            for _ in range(pool.get_max_size()):
                await held.enter_async_context(pool.acquire())
            assert pool.get_idle_size() == 0
            await a.send(_pos(2))
            assert await _press(op, a, 3) < ACK_BOUND_S
            await a.send(_pos(4))  # routine frames too: the writer never waits for the shared pool
            assert (await a.recv_until(lambda f: isinstance(f, Ack) and f.upto >= 4, timeout=2)).upto == 4
    events = await _fetch(database_url, "SELECT seq FROM field_events WHERE device_id = $1", world.tablet_a)
    assert [r["seq"] for r in events] == [3]
    positions = await _fetch(
        database_url, "SELECT seq FROM positions WHERE device_id = $1 ORDER BY seq", world.tablet_a
    )
    assert [r["seq"] for r in positions] == [1, 2, 4]
