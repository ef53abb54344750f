"""Batched inbound: the inbox is handed over many messages per transaction, yet each message exactly once
and one incident's messages in the order they arrived, also when one of them fails."""

from __future__ import annotations

from collections.abc import AsyncIterator

import asyncpg
import pytest

from backend.db.pool import create_pool
from meldkamer_bridge import outbox
from meldkamer_bridge.adapters import eido
from meldkamer_bridge.config import BridgeConfig, Partner
from meldkamer_bridge.inbound import Inbound
from meldkamer_bridge.outbound import Outbound
from meldkamer_bridge.outbox import Envelope, PgStore
from meldkamer_bridge.simulator import sample_incident


@pytest.fixture
async def pool(database_url: str) -> AsyncIterator[asyncpg.Pool]:
    p = await create_pool(database_url, min_size=1, max_size=4)
    yield p
    await p.close()


async def test_a_batch_keeps_each_incidents_order_and_a_failure_holds_back_only_that_incident(
    pool: asyncpg.Pool,
) -> None:
    config = BridgeConfig(
        database_url="unused",
        partners=(Partner(name="gms-sim", url="ws://127.0.0.1:9/"),),
        meldkamer="gms-sim",
        police="gms-sim",
        inbound_batch=200,
    )
    inbound = Inbound(config, pool, Outbound(config, pool, PgStore(pool)))
    # 5 incidents, each handed over 4 times (updates under new message ids), interleaved: 20 messages
    envelopes = []
    for update in range(4):
        for n in range(1, 6):
            _, body = sample_incident(n)
            seq = len(envelopes) + 1
            envelopes.append(
                Envelope(msg_id=f"m{n}-{update}", seq=seq, partner="gms-sim", type="eido", body=body)
            )
    async with pool.acquire() as conn, conn.transaction():
        await outbox.receive(conn, "gms-sim", envelopes, {})

    # what the sink does lives in the batch's transaction, like a real sink's melding: a rolled-back try
    # leaves nothing behind, so "handled" is what the database kept
    async with pool.acquire() as conn:
        await conn.execute("CREATE TABLE handled (id serial PRIMARY KEY, msg_id text NOT NULL)")
    failing = {"m2-1"}  # incident 2's second message fails while the first batch is handed over

    async def sink(conn: outbox.Conn, message: outbox.InboxMessage, incident: eido.IncidentHandover) -> str:
        await conn.execute("INSERT INTO handled (msg_id) VALUES ($1)", message.msg_id)
        if message.msg_id in failing:
            raise RuntimeError("busy")
        return f"ok {message.msg_id}"

    async def handled() -> list[str]:
        async with pool.acquire() as conn:
            return [r["msg_id"] for r in await conn.fetch("SELECT msg_id FROM handled ORDER BY id")]

    inbound.incident_sink = sink
    assert await inbound.process("eido") == 17  # incident 2 stops at its second message: 3 wait
    assert not {"m2-1", "m2-2", "m2-3"} & set(await handled())
    failing.clear()
    assert await inbound.process("eido") == 3
    assert await inbound.process("eido") == 0
    kept = await handled()
    for n in range(1, 6):  # per incident: in the order they arrived
        assert [h for h in kept if h.startswith(f"m{n}-")] == [f"m{n}-{u}" for u in range(4)]
    assert len(kept) == len(set(kept)) == 20  # each once
    async with pool.acquire() as conn:
        rows = await conn.fetch("SELECT msg_id, result FROM bridge_inbox ORDER BY id")
    assert all(r["result"] == f"ok {r['msg_id']}" for r in rows)
