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

    handled: list[str] = []
    failing = {"m2-1"}  # incident 2's second message fails once

    async def sink(conn: outbox.Conn, message: outbox.InboxMessage, incident: eido.IncidentHandover) -> str:
        await conn.execute("SELECT 1")  # it writes in the batch's transaction
        if message.msg_id in failing:
            failing.discard(message.msg_id)
            raise RuntimeError("busy")
        handled.append(message.msg_id)
        return f"ok {message.msg_id}"

    inbound.incident_sink = sink
    assert await inbound.process("eido") == 17  # incident 2 stops at its second message: 3 wait
    assert "m2-1" not in handled and "m2-2" not in handled and "m2-3" not in handled
    assert await inbound.process("eido") == 3
    assert await inbound.process("eido") == 0
    for n in range(1, 6):  # per incident: in the order they arrived
        assert [h for h in handled if h.startswith(f"m{n}-")] == [f"m{n}-{u}" for u in range(4)]
    assert len(handled) == len(set(handled)) == 20  # each once
    async with pool.acquire() as conn:
        rows = await conn.fetch("SELECT msg_id, result FROM bridge_inbox ORDER BY id")
    assert all(r["result"] == f"ok {r['msg_id']}" for r in rows)
