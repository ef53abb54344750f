"""An alert's NOTIFY to the other instances travels in the transaction that stores it: a noodknop stored on
instance A reaches a console on instance B even when A dies right after its commit, and a write that rolls
back announces nothing."""

from __future__ import annotations

import asyncio
import contextlib
import json
import signal
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import asyncpg
import pytest

from backend.db.pool import Conn, create_pool
from backend.live.cluster import CHANNEL, notify_alerts
from backend.live.writer import FieldWriter, FlushResult, Pending, write_batch
from shared.protocol import Ack, AlertKind, AlertRaised, Hello, NoodknopPressed, Snapshot, Welcome
from tests.integration.cluster import healthy, serve, serve_env
from tests.integration.harness import free_port, login, make_settings, running, socket_to
from tests.integration.processes import stop_all
from tests.integration.world import OUDE_ZIJDE, World, build_world


@pytest.fixture
async def pool(database_url: str) -> AsyncIterator[asyncpg.Pool]:
    p = await create_pool(database_url, min_size=1, max_size=4)
    yield p
    await p.close()


@asynccontextmanager
async def listening(url: str) -> AsyncIterator[asyncio.Queue[dict[str, Any]]]:
    """What another instance hears on the cluster channel."""
    heard: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
    conn = await asyncpg.connect(url)
    await conn.add_listener(CHANNEL, lambda _c, _p, _ch, payload: heard.put_nowait(json.loads(payload)))
    try:
        yield heard
    finally:
        await conn.close()


def noodknop(world: World, seq: int) -> Pending:
    now = datetime.now(UTC)
    frame = NoodknopPressed(seq=seq, at=now, lon=OUDE_ZIJDE[0], lat=OUDE_ZIJDE[1])
    return Pending(
        device_id=world.tablet_a, unit_id=world.unit_a, org_id=world.org_a, frame=frame, received_at=now
    )


async def test_the_writer_announces_a_noodknop_in_its_commit_without_the_instance_doing_anything_after_it(
    database_url: str, pool: asyncpg.Pool
) -> None:
    world = await build_world(database_url)
    done: asyncio.Queue[FlushResult] = asyncio.Queue()

    async def died_after_commit(result: FlushResult) -> None:  # an instance that never gets further
        done.put_nowait(result)

    async def announce(conn: Conn, result: FlushResult) -> None:  # as LiveHub._notify_alerts does
        await notify_alerts(conn, "instance-a", [a.alert_id for a in result.alerts])

    writer = FieldWriter(pool, died_after_commit, in_transaction=announce, flush_interval_s=0.05)
    async with listening(database_url) as heard:
        writer.start()
        try:
            writer.add(noodknop(world, 1), urgent=True)
            result = await asyncio.wait_for(done.get(), 5)
            event = await asyncio.wait_for(heard.get(), 5)
        finally:
            await writer.stop()
    assert [a.kind for a in result.alerts] == [AlertKind.NOODKNOP.value]
    assert event == {"k": "alert", "i": "instance-a", "id": result.alerts[0].alert_id}


async def test_a_write_that_rolls_back_announces_nothing(database_url: str, pool: asyncpg.Pool) -> None:
    world = await build_world(database_url)
    async with listening(database_url) as heard:
        async with pool.acquire() as conn:
            with contextlib.suppress(RuntimeError):
                async with conn.transaction():
                    result = await write_batch(conn, [noodknop(world, 1)])
                    assert len(result.alerts) == 1
                    await notify_alerts(conn, "instance-a", [result.alerts[0].alert_id])
                    raise RuntimeError("the batch fails after its alert was inserted")
            assert await conn.fetchval("SELECT count(*) FROM alerts") == 0
            # the same frame written again (the retry) is announced, with the id it now has
            async with conn.transaction():
                again = await write_batch(conn, [noodknop(world, 1)])
                await notify_alerts(conn, "instance-a", [again.alerts[0].alert_id])
        event = await asyncio.wait_for(heard.get(), 5)
        assert event["id"] == again.alerts[0].alert_id  # the first thing heard: nothing of the rollback
        await asyncio.sleep(0.3)
        assert heard.empty()


async def test_a_noodknop_stored_on_a_reaches_a_console_on_b_although_a_is_killed_at_once(
    database_url: str, tmp_path: Path
) -> None:
    world = await build_world(database_url)
    port = free_port()
    a = serve(port, serve_env(database_url, tmp_path), tmp_path / "serve-a.log")
    try:
        await healthy(port, a)
        async with running(make_settings(database_url, tmp_path)) as b:
            operator = await login(b.base, "operator_mk")
            session = await login(f"http://127.0.0.1:{port}", "boa_a", world.tablet_a)
            async with (
                socket_to(b.ws + "/ws/operator", operator["access_token"]) as op,
                socket_to(f"ws://127.0.0.1:{port}/ws/field", None) as boa,
            ):
                assert isinstance(await op.recv(), Snapshot)
                await boa.send(Hello(token=session["access_token"], protocol=2))
                assert isinstance(await boa.recv(), Welcome)
                pressed = time.monotonic()
                at = datetime.now(UTC)
                await boa.send(NoodknopPressed(seq=1, at=at, lon=OUDE_ZIJDE[0], lat=OUDE_ZIJDE[1]))
                await boa.recv_until(lambda f: isinstance(f, Ack) and f.upto == 1)
                a.send_signal(signal.SIGKILL)  # stored and acknowledged; A is gone before doing more
                raised = await op.recv_until(lambda f: isinstance(f, AlertRaised), timeout=5.0)
                assert time.monotonic() - pressed < 2.0
                assert raised.alert.kind is AlertKind.NOODKNOP and raised.alert.unit_id == world.unit_a
    finally:
        await asyncio.to_thread(stop_all, a)
