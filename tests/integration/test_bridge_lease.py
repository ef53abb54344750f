"""One active bridge per partner: two real bridge processes on one database, one holds the partner lease and
links, the other waits; kill -9 the active one and the waiting one takes over within the lease time, and
nothing is lost or doubled on either side."""

from __future__ import annotations

import asyncio
import sqlite3
import time
from collections.abc import AsyncIterator
from pathlib import Path

import asyncpg
import pytest

from backend.db.pool import create_pool
from meldkamer_bridge import outbox
from meldkamer_bridge.lease import Lease
from tests.integration.harness import free_port
from tests.integration.test_bridge_faults import Proc, processes

LEASE_S = 2.0


@pytest.fixture
async def pool(database_url: str) -> AsyncIterator[asyncpg.Pool]:
    p = await create_pool(database_url, min_size=1, max_size=4)
    yield p
    await p.close()


async def holder(pool: asyncpg.Pool) -> str | None:
    async with pool.acquire() as conn:
        (m,) = await outbox.metrics(conn, "gms-sim") or [None]
    return None if m is None else m.lease_holder


async def queue(pool: asyncpg.Pool, first: int, last: int) -> None:
    async with pool.acquire() as conn, conn.transaction():
        for n in range(first, last + 1):
            await outbox.enqueue(conn, "gms-sim", "unit_status", "{}", msg_id=f"status-{n}")


async def acked(pool: asyncpg.Pool, upto: int, within: float) -> None:
    async with asyncio.timeout(within):
        while True:
            async with pool.acquire() as conn:
                if (await outbox.outbound_state(conn, "gms-sim"))[0] >= upto:
                    return
            await asyncio.sleep(0.05)


async def test_a_second_bridge_waits_and_takes_over_within_the_lease_time_when_the_first_is_killed(
    database_url: str, pool: asyncpg.Pool, tmp_path: Path
) -> None:
    port = free_port()
    sim_db = tmp_path / "sim.sqlite3"
    sim = Proc(
        ["-m", "meldkamer_bridge.simulator", "--port", str(port), "--db", str(sim_db), "--incidents", "20"],
        tmp_path / "sim.log",
    )

    def bridge(name: str) -> Proc:
        args = ["-m", "meldkamer_bridge", "--database-url", database_url, "--lease-s", str(LEASE_S)]
        return Proc([*args, "--partners", f"gms-sim=ws://127.0.0.1:{port}/"], tmp_path / f"{name}.log")

    first, second = bridge("first"), bridge("second")
    with processes(sim, first):
        async with pool.acquire() as conn:
            await outbox.ensure_partner(conn, "gms-sim")
        async with asyncio.timeout(20):
            while (held := await holder(pool)) is None:
                await asyncio.sleep(0.05)
        assert first.proc is not None and f":{first.proc.pid}:" in held
        await queue(pool, 1, 30)
        await acked(pool, 30, within=15)
        with processes(second):
            await asyncio.sleep(3 * LEASE_S)  # the second one waits: the lease stays with the first
            assert await holder(pool) == held
            await queue(pool, 31, 60)
            await acked(pool, 60, within=10)
            first.kill()
            killed_at = time.monotonic()
            async with asyncio.timeout(4 * LEASE_S):
                while (now := await holder(pool)) == held:
                    await asyncio.sleep(0.05)
            took_over_s = time.monotonic() - killed_at
            assert second.proc is not None and now is not None and f":{second.proc.pid}:" in now
            await queue(pool, 61, 90)
            await acked(pool, 90, within=15)
            async with asyncio.timeout(10):
                while True:
                    async with pool.acquire() as conn:
                        if await outbox.inbound_seq(conn, "gms-sim") == 20:
                            break
                    await asyncio.sleep(0.05)
    print(f"took over {took_over_s:.2f} s after the kill (lease {LEASE_S} s)")
    # within the lease time (plus the waiting bridge's poll, a quarter of it)
    assert took_over_s <= LEASE_S * 1.25 + 0.5
    # the logs say who holds it and who waits
    assert "waits and takes over" in (tmp_path / "second.log").read_text()
    assert "taken by" in (tmp_path / "second.log").read_text()
    # nothing lost or doubled on either side
    db = sqlite3.connect(sim_db)
    got = [r[0] for r in db.execute("SELECT msg_id FROM inbox WHERE peer = 'schakel' ORDER BY rowid")]
    db.close()
    assert got == [f"status-{n}" for n in range(1, 91)]
    async with pool.acquire() as conn:
        inbox = await conn.fetch("SELECT seq FROM bridge_inbox WHERE partner = 'gms-sim' ORDER BY id")
    assert [r["seq"] for r in inbox] == list(range(1, 21))


async def test_the_lease_is_all_or_nothing_and_a_clean_stop_hands_it_over_at_once(pool: asyncpg.Pool) -> None:
    a = Lease(pool, ["gms-sim", "politie"], ttl_s=30, holder="a")
    b = Lease(pool, ["politie", "zzz"], ttl_s=30, holder="b")
    assert await a.try_take()
    assert not await b._attempt()  # politie is a's: b takes neither
    async with pool.acquire() as conn:
        rows = await conn.fetch("SELECT partner, holder FROM bridge_leases ORDER BY partner")
    assert [tuple(r) for r in rows] == [("gms-sim", "a"), ("politie", "a")]
    await a.release()
    assert await b._attempt()
