"""The outbox and inbox on the real (embedded) PostgreSQL."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path

import asyncpg
import httpx
import pytest

from backend.db.pool import create_pool
from backend.orgs import repository as orgs
from meldkamer_bridge import outbox
from meldkamer_bridge.outbox import Envelope, Verdict
from tests.integration.harness import PASSWORD, bearer, login, make_settings, running
from tests.integration.world import build_world


@pytest.fixture
async def pool(database_url: str) -> AsyncIterator[asyncpg.Pool]:
    p = await create_pool(database_url, min_size=1, max_size=8)
    yield p
    await p.close()


def env(seq: int, msg_id: str | None = None) -> Envelope:
    return Envelope(msg_id=msg_id or f"m-{seq}", seq=seq, partner="gms", type="eido", body=f"body {seq}")


async def test_enqueue_numbers_per_partner_without_gaps_even_concurrently(pool: asyncpg.Pool) -> None:
    async def one(partner: str, i: int) -> None:
        async with pool.acquire() as conn, conn.transaction():
            await outbox.enqueue(conn, partner, "cap", f"<alert>{i}</alert>")

    await asyncio.gather(*(one(p, i) for i in range(40) for p in ("politie", "gms")))
    async with pool.acquire() as conn:
        for partner in ("politie", "gms"):
            seqs = [
                r["seq"]
                for r in await conn.fetch(
                    "SELECT seq FROM bridge_outbox WHERE partner = $1 ORDER BY seq", partner
                )
            ]
            assert seqs == list(range(1, 41))
            assert await outbox.outbound_state(conn, partner) == (0, 40)


async def test_a_message_id_is_queued_once(pool: asyncpg.Pool) -> None:
    async with pool.acquire() as conn:
        first = await outbox.enqueue(conn, "politie", "cap", "<a/>", msg_id="schakel:alert:7")
        again = await outbox.enqueue(conn, "politie", "cap", "<a/>", msg_id="schakel:alert:7")
        later = await outbox.enqueue(conn, "politie", "cap", "<b/>")
    assert first is not None and first.seq == 1 and again is None
    assert later is not None and later.seq == 2  # no gap left by the refused duplicate


async def test_cumulative_ack_delivers_and_metrics_follow(pool: asyncpg.Pool) -> None:
    async with pool.acquire() as conn:
        for i in range(5):
            await outbox.enqueue(conn, "gms", "unit_status", f'{{"n": {i}}}')
        sent = await outbox.pending(conn, "gms", 0, 3)
        assert [m.seq for m in sent] == [1, 2, 3] and all(m.attempts == 1 for m in sent)
        await outbox.record_failure(conn, "gms", "ConnectionClosed: link down")
        assert [m.attempts for m in await outbox.pending(conn, "gms", 0, 3)] == [2, 2, 2]
        assert await outbox.acknowledge(conn, "gms", 3) == 3
        assert await outbox.acknowledge(conn, "gms", 2) == 0  # an older ack changes nothing
        (m,) = await outbox.metrics(conn, "gms")
        assert (m.queue_depth, m.delivered, m.failed, m.acked_seq, m.next_seq) == (2, 3, 1, 3, 6)
        assert m.oldest_age_s >= 0 and m.last_error == "ConnectionClosed: link down"
        await outbox.acknowledge(conn, "gms", 5)
        (m,) = await outbox.metrics(conn, "gms")
        assert (m.queue_depth, m.oldest_age_s, m.delivered) == (0, 0.0, 5)


async def test_a_refused_message_goes_to_the_dead_letters_with_the_reason(pool: asyncpg.Pool) -> None:
    async with pool.acquire() as conn:
        for i in range(3):
            await outbox.enqueue(conn, "politie", "cap", f"<alert>{i}</alert>")
        await outbox.pending(conn, "politie", 0, 3)
        await outbox.reject(conn, "politie", 2, "sent: not a valid value")
        await outbox.acknowledge(conn, "politie", 3)
        (dead,) = await outbox.dead_letters(conn)
        assert (dead.seq, dead.type, dead.reason, dead.attempts) == (2, "cap", "sent: not a valid value", 1)
        (m,) = await outbox.metrics(conn, "politie")
        assert (m.queue_depth, m.rejected, m.delivered) == (0, 1, 2)


async def test_inbox_stores_in_order_once_and_refuses_gaps(pool: asyncpg.Pool) -> None:
    async with pool.acquire() as conn, conn.transaction():
        verdicts, last = await outbox.receive(conn, "gms", [env(1), env(2), env(2), env(1)])
    assert verdicts == [Verdict.NEW, Verdict.NEW, Verdict.DUPLICATE, Verdict.DUPLICATE] and last == 2
    async with pool.acquire() as conn, conn.transaction():
        verdicts, last = await outbox.receive(conn, "gms", [env(4), env(3)])
    assert verdicts == [Verdict.GAP, Verdict.NEW] and last == 3
    async with pool.acquire() as conn, conn.transaction():
        # the same message under a new seq (the sender lost its outbox and queued it again): stored once
        verdicts, last = await outbox.receive(conn, "gms", [env(4, msg_id="m-3")])
    assert verdicts == [Verdict.DUPLICATE] and last == 4
    async with pool.acquire() as conn:
        inbox = await outbox.unprocessed(conn, "gms")
        assert [(m.seq, m.msg_id) for m in inbox] == [(1, "m-1"), (2, "m-2"), (3, "m-3")]
        assert await outbox.mark_processed(conn, inbox[0].id, "melding 12")
        assert not await outbox.mark_processed(conn, inbox[0].id, "again")
        assert [m.seq for m in await outbox.unprocessed(conn, "gms", types=["eido"])] == [2, 3]
        assert await outbox.inbound_seq(conn, "gms") == 4


async def test_a_batch_is_stored_in_one_statement_in_order_and_a_message_id_twice_in_it_once(
    pool: asyncpg.Pool,
) -> None:
    batch = [env(1, "a"), env(2, "a"), env(3), env(5), env(4)]
    async with pool.acquire() as conn, conn.transaction():
        verdicts, last = await outbox.receive(conn, "gms", batch, {3: "not an EIDO"})
    assert verdicts == [Verdict.NEW, Verdict.DUPLICATE, Verdict.NEW, Verdict.GAP, Verdict.NEW] and last == 4
    async with pool.acquire() as conn:
        rows = await conn.fetch("SELECT seq, msg_id, result FROM bridge_inbox ORDER BY id")
    assert [(r["seq"], r["msg_id"], r["result"]) for r in rows] == [
        (1, "a", None),
        (3, "m-3", "rejected: not an EIDO"),
        (4, "m-4", None),
    ]


async def test_enqueue_many_follows_on_without_gaps_and_queues_each_message_id_once(
    pool: asyncpg.Pool,
) -> None:
    async with pool.acquire() as conn, conn.transaction():
        await outbox.enqueue(conn, "gms", "eido_update", "{}", msg_id="x")
        queued = await outbox.enqueue_many(
            conn,
            "gms",
            [
                ("y", "eido_update", "1"),
                ("x", "eido_update", "2"),
                ("z", "eido_update", b"3"),
                ("y", "eido_update", "4"),
            ],
        )
        after = await outbox.enqueue(conn, "gms", "eido_update", "{}", msg_id="w")
    assert [(m.msg_id, m.seq, m.body) for m in queued] == [("y", 2, "1"), ("z", 3, "3")]
    assert after is not None and after.seq == 4

    async def many(n: int) -> None:
        async with pool.acquire() as conn, conn.transaction():
            await outbox.enqueue_many(conn, "politie", [(f"b{n}-{i}", "cap", "<a/>") for i in range(25)])

    async def one(n: int) -> None:
        async with pool.acquire() as conn, conn.transaction():
            await outbox.enqueue(conn, "politie", "cap", "<a/>", msg_id=f"s{n}")

    await asyncio.gather(*(many(n) for n in range(8)), *(one(n) for n in range(8)))
    async with pool.acquire() as conn:
        seqs = [
            r["seq"]
            for r in await conn.fetch("SELECT seq FROM bridge_outbox WHERE partner = 'politie' ORDER BY seq")
        ]
        batches = await conn.fetch(
            """SELECT min(seq) AS lo, max(seq) AS hi FROM bridge_outbox WHERE msg_id LIKE 'b%'
               GROUP BY split_part(msg_id, '-', 1)"""
        )
    assert seqs == list(range(1, 8 * 25 + 8 + 1))
    assert all(b["hi"] - b["lo"] == 24 for b in batches)  # each batch's messages follow on, in its order


async def test_a_rejected_inbound_message_is_consumed_but_never_handed_on(pool: asyncpg.Pool) -> None:
    async with pool.acquire() as conn, conn.transaction():
        verdicts, last = await outbox.receive(conn, "gms", [env(1), env(2)], {1: "not an EIDO"})
    assert verdicts == [Verdict.NEW, Verdict.NEW] and last == 2
    async with pool.acquire() as conn:
        assert [m.seq for m in await outbox.unprocessed(conn, "gms")] == [2]
        assert await conn.fetchval("SELECT result FROM bridge_inbox WHERE seq = 1") == "rejected: not an EIDO"


async def test_retention_prunes_only_old_acknowledged_and_processed_messages(pool: asyncpg.Pool) -> None:
    async with pool.acquire() as conn:
        for i in range(4):
            await outbox.enqueue(conn, "gms", "unit_status", f'{{"n": {i}}}')
        await outbox.pending(conn, "gms", 0, 4)
        await outbox.acknowledge(conn, "gms", 3)  # seq 4 is still unacknowledged
        await conn.execute(
            "UPDATE bridge_outbox SET delivered_at = now() - interval '40 days' WHERE seq <= 2"
        )
        async with conn.transaction():
            await outbox.receive(conn, "gms", [env(1), env(2), env(3)])
        first, second, _ = await outbox.unprocessed(conn, "gms")
        await outbox.mark_processed(conn, first.id)
        await outbox.mark_processed(conn, second.id)
        await conn.execute("UPDATE bridge_inbox SET processed_at = now() - interval '40 days' WHERE seq = 1")
        await conn.execute("UPDATE bridge_inbox SET received_at = now() - interval '40 days' WHERE seq = 3")

        pruned = await outbox.prune(conn, timedelta(days=30))

        assert (pruned.outbox, pruned.inbox) == (2, 1)
        kept = [r["seq"] for r in await conn.fetch("SELECT seq FROM bridge_outbox ORDER BY seq")]
        assert kept == [3, 4]  # recent, and not yet acknowledged
        inbox = [r["seq"] for r in await conn.fetch("SELECT seq FROM bridge_inbox ORDER BY seq")]
        assert inbox == [2, 3]  # processed recently; old but never processed
        # order and de-duplication do not need the pruned rows
        async with conn.transaction():
            verdicts, last = await outbox.receive(conn, "gms", [env(1), env(4)])
        assert verdicts == [Verdict.DUPLICATE, Verdict.NEW] and last == 4
        (m,) = await outbox.metrics(conn, "gms")
        assert (m.queue_depth, m.next_seq) == (1, 5)


async def test_a_thousand_enqueues_in_one_transaction_are_numbered_in_order(pool: asyncpg.Pool) -> None:
    """A burst in one transaction: every message queued, numbered 1..1,000 in the order given. (How fast is
    the bench's figure, `python -m meldkamer_bridge.bench`, not a timed test on a shared machine.)"""
    async with pool.acquire() as conn, conn.transaction():
        queued = [await outbox.enqueue(conn, "gms", "avl", f'{{"i": {i}}}') for i in range(1000)]
    assert [m.seq for m in queued if m is not None] == list(range(1, 1001))
    assert [m.body for m in queued if m is not None][-1] == '{"i": 999}'
    async with pool.acquire() as conn:
        (m,) = await outbox.metrics(conn, "gms")
    assert (m.queue_depth, m.next_seq) == (1000, 1001)


async def test_administrators_see_metrics_and_dead_letters_over_http(
    database_url: str, pool: asyncpg.Pool, tmp_path: Path
) -> None:
    world = await build_world(database_url)
    async with pool.acquire() as conn:
        for i in range(3):
            await outbox.enqueue(conn, "politie", "cap", f"<alert>{i}</alert>")
        await outbox.pending(conn, "politie", 0, 3)
        await outbox.reject(conn, "politie", 1, "alert: root element is wrong")
        await outbox.acknowledge(conn, "politie", 2)
        await orgs.create_account(
            conn, org_id=world.meldkamer, username="admin_mk", password=PASSWORD, role="admin"
        )
    async with running(make_settings(database_url, tmp_path)) as server:
        admin = await login(server.base, "admin_mk")
        lead = await login(server.base, "lead_a")
        gemeente_admin = await login(server.base, "admin_a")
        async with httpx.AsyncClient(base_url=server.base) as http:
            r = await http.get("/api/bridge/status", headers=bearer(admin))
            forbidden = await http.get("/api/bridge/status", headers=bearer(lead))
            not_theirs = await http.get("/api/bridge/status", headers=bearer(gemeente_admin))
    assert r.status_code == 200, r.text
    body = r.json()
    (partner,) = body["partners"]
    assert (partner["partner"], partner["queue_depth"], partner["delivered"], partner["rejected"]) == (
        "politie",
        1,
        1,
        1,
    )
    assert body["dead_letters"][0]["reason"] == "alert: root element is wrong"
    assert forbidden.status_code == 403
    # the bridge's partners and dead letters are the meldkamer's, not a gemeente's
    assert not_theirs.status_code == 403 and "politie" not in not_theirs.text
