"""Delivery: the durable outbox and inbox per partner, in PostgreSQL.

The rules (docs/bridge.md), in one place for every adapter:
- every outbound message gets a message id (unique) and a per-partner sequence number without gaps;
- the partner acknowledges cumulatively ({"ack": n}: everything up to n is durable there); a message it
  refuses ({"nack": n, "reason": ...}) counts as consumed and goes to the dead-letter list with the reason;
- inbound messages are accepted strictly in order (seq == last + 1), stored once (by seq and by message id),
  and acknowledged after they are durable; resends are acknowledged again and stored nothing.

The bookkeeping (`classify`, `SendWindow`, `backoff_delay`) is pure; the SQL lives in functions that take a
connection, and the caller owns the transaction.
"""

from __future__ import annotations

import asyncio
import enum
import hashlib
import itertools
import random
import uuid
from collections.abc import Generator, Mapping, Sequence
from datetime import datetime, timedelta
from typing import TypeAlias

import asyncpg
import msgspec
from asyncpg.pool import PoolConnectionProxy

from shared.bridge_api import DeadLetter, PartnerMetrics

# --- the pure core ----------------------------------------------------------------------------------------


# a connection of its own or one from the pool (a proxy, no subclass of asyncpg.Connection)
Conn: TypeAlias = asyncpg.Connection | PoolConnectionProxy


class Verdict(str, enum.Enum):
    NEW = "new"  # the next message in order: store it
    DUPLICATE = "duplicate"  # already have it (by seq or by message id): acknowledge again, store nothing
    GAP = "gap"  # a message is missing before it: refuse, the sender resends from our ack


def classify(seq: int, last: int) -> Verdict:
    """What to do with inbound `seq` when everything up to `last` is stored."""
    if seq <= last:
        return Verdict.DUPLICATE
    if seq == last + 1:
        return Verdict.NEW
    return Verdict.GAP


def backoff_delay(
    attempt: int,
    *,
    base: float = 0.2,
    cap: float = 30.0,
    jitter: float = 0.2,
    rng: random.Random | None = None,
) -> float:
    """Seconds to wait before retry number `attempt` (1, 2, ...): exponential, capped, with some jitter so
    that many bridges do not reconnect in step after a partner outage."""
    delay = min(cap, base * 2.0 ** max(0, attempt - 1))
    spread = delay * jitter
    offset: float = (rng or random).uniform(-spread, spread)
    return max(0.0, delay + offset)


def backoff_delays(*, base: float, cap: float) -> Generator[float, None, None]:
    """The delays before reconnection attempts 1, 2, ... (for websockets' reconnecting `connect`)."""
    for attempt in itertools.count(1):
        yield backoff_delay(attempt, base=base, cap=cap)


class AckError(ValueError):
    """The peer acknowledged something that was never sent: its state and ours disagree."""


class SendWindow:
    """Which sequence numbers are in flight on one connection. Pure: no I/O, no clock.

    `acked` is what the peer has durably; `sent` is the highest seq written to this connection. A new
    connection starts from the peer's own `acked` (its hello/welcome), so whatever was in flight on the old
    one is sent again, in order.
    """

    def __init__(self, acked: int = 0, *, limit: int = 256) -> None:
        self.acked = acked
        self.sent = acked
        self.limit = limit

    def restart(self, peer_acked: int) -> None:
        """A new connection: the peer says what it has; everything after that is sent (again), in order.

        A peer may report less than it acknowledged before (it lost its state): we send again from there.
        """
        self.acked = peer_acked
        self.sent = peer_acked

    @property
    def room(self) -> int:
        return max(0, self.limit - (self.sent - self.acked))

    def next_range(self, available_upto: int) -> range:
        """The seqs to send now, given that the outbox holds messages up to `available_upto`."""
        upto = min(available_upto, self.sent + self.room)
        return range(self.sent + 1, upto + 1)

    def mark_sent(self, seq: int) -> None:
        if seq != self.sent + 1:
            raise ValueError(f"sending {seq} after {self.sent}: out of order")
        self.sent = seq

    def ack(self, upto: int) -> int:
        """Record a cumulative ack; returns how many messages it newly acknowledges."""
        if upto > self.sent:
            raise AckError(f"ack {upto} for messages never sent (sent up to {self.sent})")
        newly = max(0, upto - self.acked)
        self.acked = max(self.acked, upto)
        return newly


# --- rows -------------------------------------------------------------------------------------------------


class OutboxMessage(msgspec.Struct, frozen=True, kw_only=True):
    partner: str
    seq: int
    msg_id: str
    type: str
    body: str
    created_at: datetime | None = None
    attempts: int = 0


class InboxMessage(msgspec.Struct, frozen=True, kw_only=True):
    id: int
    partner: str
    seq: int
    msg_id: str
    type: str
    body: str
    received_at: datetime


def new_msg_id() -> str:
    return f"urn:uuid:{uuid.uuid4()}"


# --- outbound ---------------------------------------------------------------------------------------------


async def ensure_partner(conn: Conn, partner: str) -> None:
    await conn.execute("INSERT INTO bridge_partners (partner) VALUES ($1) ON CONFLICT DO NOTHING", partner)


_ENQUEUE = """
    WITH seq AS (
        UPDATE bridge_partners SET next_seq = next_seq + 1, updated_at = now()
        WHERE partner = $1 AND NOT EXISTS (SELECT 1 FROM bridge_outbox WHERE msg_id = $2)
        RETURNING next_seq - 1 AS seq)
    INSERT INTO bridge_outbox (partner, seq, msg_id, type, body)
    SELECT $1, seq, $2, $3, $4 FROM seq
    RETURNING seq, created_at"""


async def enqueue(
    conn: Conn, partner: str, type_: str, body: str | bytes, msg_id: str | None = None
) -> OutboxMessage | None:
    """Queue one message; returns it with its seq, or None when `msg_id` is already queued (idempotent).

    One statement: the partner row's lock serialises enqueues to one partner, so seqs have no gaps, and the
    seq taken is rolled back with the caller's transaction. (Two transactions queueing the same new `msg_id`
    at the same moment: the second fails on the unique message id, its seq rolled back with it.)
    """
    text = body.decode("utf-8") if isinstance(body, bytes) else body
    msg_id = msg_id or new_msg_id()
    row = await conn.fetchrow(_ENQUEUE, partner, msg_id, type_, text)
    if row is None:
        if await conn.fetchval("SELECT 1 FROM bridge_outbox WHERE msg_id = $1", msg_id):
            return None
        await ensure_partner(conn, partner)  # the first message for this partner
        row = await conn.fetchrow(_ENQUEUE, partner, msg_id, type_, text)
        assert row is not None  # INSERT … RETURNING always answers
    return OutboxMessage(
        partner=partner, seq=row["seq"], msg_id=msg_id, type=type_, body=text, created_at=row["created_at"]
    )


async def enqueue_many(
    conn: Conn, partner: str, messages: Sequence[tuple[str, str, str | bytes]]
) -> list[OutboxMessage]:
    """Queue (msg_id, type, body) messages in this order in three statements, whatever their number; returns
    the ones queued (a msg_id already in the outbox, or twice in `messages`, is queued once).

    The seqs are taken in one step under the partner row's lock, so they follow on without gaps; a message id
    queued by another transaction meanwhile fails the whole call on the unique message id (nothing is queued,
    the seqs roll back with the caller's transaction): call it again, and it skips that one.
    """
    if not messages:
        return []
    await ensure_partner(conn, partner)
    have = await queued(conn, [msg_id for msg_id, _, _ in messages])
    todo: dict[str, tuple[str, str]] = {}
    for msg_id, type_, body in messages:
        if msg_id not in have and msg_id not in todo:
            todo[msg_id] = (type_, body.decode("utf-8") if isinstance(body, bytes) else body)
    if not todo:
        return []
    first = int(
        await conn.fetchval(
            """UPDATE bridge_partners SET next_seq = next_seq + $2, updated_at = now()
               WHERE partner = $1 RETURNING next_seq - $2""",
            partner,
            len(todo),
        )
    )
    seqs = list(range(first, first + len(todo)))
    rows = await conn.fetch(
        """INSERT INTO bridge_outbox (partner, seq, msg_id, type, body)
           SELECT $1, m.seq, m.msg_id, m.type, m.body
           FROM unnest($2::bigint[], $3::text[], $4::text[], $5::text[]) AS m(seq, msg_id, type, body)
           ORDER BY m.seq RETURNING seq, created_at""",
        partner,
        seqs,
        list(todo),
        [type_ for type_, _ in todo.values()],
        [body for _, body in todo.values()],
    )
    created = {row["seq"]: row["created_at"] for row in rows}
    return [
        OutboxMessage(partner=partner, seq=seq, msg_id=msg_id, type=type_, body=body, created_at=created[seq])
        for seq, (msg_id, (type_, body)) in zip(seqs, todo.items(), strict=True)
    ]


async def queued(conn: Conn, msg_ids: Sequence[str]) -> set[str]:
    """Which of these message ids are in the outbox already (queued once, whatever their state)."""
    rows = await conn.fetch("SELECT msg_id FROM bridge_outbox WHERE msg_id = ANY($1::text[])", list(msg_ids))
    return {r["msg_id"] for r in rows}


async def outbound_state(conn: Conn, partner: str) -> tuple[int, int]:
    """(acked_seq, highest queued seq) of a partner."""
    await ensure_partner(conn, partner)
    row = await conn.fetchrow(
        "SELECT acked_seq, next_seq - 1 AS last FROM bridge_partners WHERE partner = $1", partner
    )
    if row is None:  # the partner has no row yet: nothing sent, nothing acknowledged
        return 0, 0
    return int(row["acked_seq"]), int(row["last"])


async def pending(conn: Conn, partner: str, after: int, upto: int) -> list[OutboxMessage]:
    """Messages after seq `after` up to `upto`, in order, counting the attempt on each. Delivered ones are
    included: a peer that lost its state asks for them again (rows are kept until retention prunes them)."""
    rows = await conn.fetch(
        """UPDATE bridge_outbox SET attempts = attempts + 1, last_attempt_at = now()
           WHERE partner = $1 AND seq > $2 AND seq <= $3
           RETURNING partner, seq, msg_id, type, body, created_at, attempts""",
        partner,
        after,
        upto,
    )
    return sorted((OutboxMessage(**dict(r)) for r in rows), key=lambda m: m.seq)


async def acknowledge(conn: Conn, partner: str, upto: int) -> int:
    """The partner has everything up to `upto`; returns how many messages that newly delivers."""
    delivered = await conn.fetchval(
        """WITH done AS (
               UPDATE bridge_outbox SET delivered_at = now()
               WHERE partner = $1 AND seq <= $2 AND delivered_at IS NULL RETURNING 1)
           SELECT count(*) FROM done""",
        partner,
        upto,
    )
    await conn.execute(
        "UPDATE bridge_partners SET acked_seq = greatest(acked_seq, $2), delivered = delivered + $3, "
        "updated_at = now() WHERE partner = $1",
        partner,
        upto,
        delivered,
    )
    return int(delivered)


async def reject(conn: Conn, partner: str, seq: int, reason: str) -> None:
    """The partner refused message `seq` for good: it goes to the dead letters (and counts as consumed)."""
    row = await conn.fetchrow(
        "UPDATE bridge_outbox SET delivered_at = now() WHERE partner = $1 AND seq = $2 "
        "RETURNING msg_id, type, body, attempts, created_at",
        partner,
        seq,
    )
    if row is None:
        return
    await conn.execute(
        "INSERT INTO bridge_dead_letters (partner, seq, msg_id, type, body, reason, attempts, created_at) "
        "VALUES ($1, $2, $3, $4, $5, $6, $7, $8) ON CONFLICT DO NOTHING",
        partner,
        seq,
        row["msg_id"],
        row["type"],
        row["body"],
        reason[:2000],
        row["attempts"],
        row["created_at"],
    )
    await conn.execute(
        "UPDATE bridge_partners SET rejected = rejected + 1, acked_seq = greatest(acked_seq, $2) "
        "WHERE partner = $1",
        partner,
        seq,
    )


async def record_failure(conn: Conn, partner: str, error: str) -> None:
    """A delivery attempt failed (link down, timeout, refused connection)."""
    await ensure_partner(conn, partner)
    await conn.execute(
        "UPDATE bridge_partners SET failed = failed + 1, last_error = $2, last_error_at = now() "
        "WHERE partner = $1",
        partner,
        error[:2000],
    )


async def dead_letters(conn: Conn, partner: str | None = None) -> list[DeadLetter]:
    rows = await conn.fetch(
        "SELECT partner, seq, msg_id, type, reason, attempts, created_at, dead_at FROM bridge_dead_letters "
        "WHERE $1::text IS NULL OR partner = $1 ORDER BY dead_at, partner, seq",
        partner,
    )
    return [DeadLetter(**dict(r)) for r in rows]


async def metrics(conn: Conn, partner: str | None = None) -> list[PartnerMetrics]:
    rows = await conn.fetch(
        """SELECT p.partner, p.delivered, p.failed, p.rejected, p.acked_seq, p.next_seq, p.inbound_seq,
                  p.last_error, l.holder AS lease_holder, l.expires_at AS lease_expires_at,
                  (SELECT count(*) FROM bridge_outbox o
                    WHERE o.partner = p.partner AND o.delivered_at IS NULL)
                      AS queue_depth,
                  (SELECT coalesce(extract(epoch FROM now() - min(o.created_at)), 0) FROM bridge_outbox o
                    WHERE o.partner = p.partner AND o.delivered_at IS NULL) AS oldest_age_s,
                  (SELECT count(*) FROM bridge_inbox i WHERE i.partner = p.partner AND i.processed_at IS NULL)
                      AS inbox_unprocessed
           FROM bridge_partners p LEFT JOIN bridge_leases l ON l.partner = p.partner
           WHERE $1::text IS NULL OR p.partner = $1 ORDER BY p.partner""",
        partner,
    )
    return [PartnerMetrics(**{**dict(r), "oldest_age_s": float(r["oldest_age_s"])}) for r in rows]


# --- what the status feed last sent, so a restart sends no unchanged state (migration 0016) --------------


def stable_id(kind: str, *parts: str | bytes) -> str:
    """A message id derived from what the message says, so the same state always gets the same id."""
    h = hashlib.sha256()
    for part in parts:
        h.update(part if isinstance(part, bytes) else part.encode("utf-8"))
        h.update(b"\x00")
    return f"schakel:{kind}:{h.hexdigest()[:32]}"


async def sent_statuses(conn: Conn, partner: str, units: Sequence[str]) -> dict[str, tuple[str, datetime]]:
    """unit -> (status, since) last queued for the partner."""
    rows = await conn.fetch(
        "SELECT unit, status, status_since FROM bridge_feed_sent "
        "WHERE partner = $1 AND unit = ANY($2::text[]) AND status IS NOT NULL",
        partner,
        list(units),
    )
    return {r["unit"]: (r["status"], r["status_since"]) for r in rows}


async def record_status(conn: Conn, partner: str, unit: str, status: str, since: datetime) -> None:
    await conn.execute(
        "INSERT INTO bridge_feed_sent (partner, unit, status, status_since) VALUES ($1, $2, $3, $4) "
        "ON CONFLICT (partner, unit) DO UPDATE SET status = $3, status_since = $4",
        partner,
        unit,
        status,
        since,
    )


async def sent_positions(conn: Conn, partner: str, units: Sequence[str]) -> dict[str, datetime]:
    """unit -> time of the last position queued for the partner."""
    rows = await conn.fetch(
        "SELECT unit, position_at FROM bridge_feed_sent WHERE partner = $1 AND unit = ANY($2::text[]) "
        "AND position_at IS NOT NULL",
        partner,
        list(units),
    )
    return {r["unit"]: r["position_at"] for r in rows}


async def record_positions(conn: Conn, partner: str, positions: Mapping[str, datetime]) -> None:
    await conn.execute(
        "INSERT INTO bridge_feed_sent (partner, unit, position_at) "
        "SELECT $1, u, a FROM unnest($2::text[], $3::timestamptz[]) AS t(u, a) "
        "ON CONFLICT (partner, unit) DO UPDATE SET position_at = EXCLUDED.position_at",
        partner,
        list(positions),
        list(positions.values()),
    )


async def last_of_type(conn: Conn, partner: str, type_: str) -> OutboxMessage | None:
    """The latest queued message of a type for the partner (the roster last sent)."""
    row = await conn.fetchrow(
        "SELECT partner, seq, msg_id, type, body, created_at, attempts FROM bridge_outbox "
        "WHERE partner = $1 AND type = $2 ORDER BY seq DESC LIMIT 1",
        partner,
        type_,
    )
    return None if row is None else OutboxMessage(**dict(row))


# --- inbound ----------------------------------------------------------------------------------------------


class Envelope(msgspec.Struct, frozen=True, kw_only=True):
    """One message on the partner link (docs/bridge.md)."""

    msg_id: str
    seq: int
    partner: str  # the sender's name
    type: str
    body: str


async def inbound_seq(conn: Conn, partner: str) -> int:
    await ensure_partner(conn, partner)
    return int(await conn.fetchval("SELECT inbound_seq FROM bridge_partners WHERE partner = $1", partner))


async def receive(
    conn: Conn,
    partner: str,
    envelopes: Sequence[Envelope],
    rejections: Mapping[int, str] | None = None,
) -> tuple[list[Verdict], int]:
    """Store inbound messages in order; returns a verdict per message and the seq to acknowledge.

    A message in `rejections` (seq -> reason) is stored as already processed with the reason: it is consumed
    (the sender gets a nack) and never handed on. Run it in a transaction: the partner row is locked, so two
    connections of one partner cannot interleave.
    """
    rejections = rejections or {}
    await ensure_partner(conn, partner)
    last = int(
        await conn.fetchval("SELECT inbound_seq FROM bridge_partners WHERE partner = $1 FOR UPDATE", partner)
    )
    verdicts: list[Verdict] = []
    new: list[Envelope] = []  # in seq order: the ones to store
    for env in envelopes:
        verdict = classify(env.seq, last)
        if verdict is Verdict.NEW:
            new.append(env)
            last = env.seq
        verdicts.append(verdict)
    if new:  # one statement for the batch (a round trip per message was the intake's limit)
        stored = await conn.fetch(
            """INSERT INTO bridge_inbox (partner, seq, msg_id, type, body, processed_at, result)
               SELECT $1, m.seq, m.msg_id, m.type, m.body,
                      CASE WHEN m.result IS NULL THEN NULL ELSE now() END, m.result
               FROM unnest($2::bigint[], $3::text[], $4::text[], $5::text[], $6::text[])
                    WITH ORDINALITY AS m(seq, msg_id, type, body, result, n)
               ORDER BY m.n
               ON CONFLICT (partner, msg_id) DO NOTHING RETURNING seq""",
            partner,
            [env.seq for env in new],
            [env.msg_id for env in new],
            [env.type for env in new],
            [env.body for env in new],
            [_rejected(rejections.get(env.seq)) for env in new],
        )
        taken = {row["seq"] for row in stored}
        for i, env in enumerate(envelopes):
            # the same message again under a new seq (the sender lost its state): acknowledged, not stored
            if verdicts[i] is Verdict.NEW and env.seq not in taken:
                verdicts[i] = Verdict.DUPLICATE
    await conn.execute(
        "UPDATE bridge_partners SET inbound_seq = $2, updated_at = now() WHERE partner = $1", partner, last
    )
    return verdicts, last


def _rejected(reason: str | None) -> str | None:
    return None if reason is None else f"rejected: {reason}"[:2000]


async def unprocessed(
    conn: Conn,
    partner: str | None = None,
    *,
    types: Sequence[str] | None = None,
    limit: int = 100,
    after: int = 0,
) -> list[InboxMessage]:
    """Inbound messages nobody has handled yet, oldest first (after inbox id `after`): the hook where
    incidents become meldingen."""
    rows = await conn.fetch(
        "SELECT id, partner, seq, msg_id, type, body, received_at FROM bridge_inbox "
        "WHERE processed_at IS NULL AND ($1::text IS NULL OR partner = $1) "
        "AND ($2::text[] IS NULL OR type = ANY($2)) AND id > $4 "
        "ORDER BY id LIMIT $3",
        partner,
        list(types) if types is not None else None,
        limit,
        after,
    )
    return [InboxMessage(**dict(r)) for r in rows]


async def mark_processed(conn: Conn, inbox_id: int, result: str = "ok") -> bool:
    status = await conn.execute(
        "UPDATE bridge_inbox SET processed_at = now(), result = $2 WHERE id = $1 AND processed_at IS NULL",
        inbox_id,
        result[:2000],
    )
    return bool(status.endswith(" 1"))


async def mark_processed_many(conn: Conn, results: Sequence[tuple[int, str]]) -> int:
    """Mark a batch of inbound messages processed with their results, in one statement; how many it marked."""
    if not results:
        return 0
    marked = await conn.fetchval(
        """WITH done AS (
               UPDATE bridge_inbox i SET processed_at = now(), result = r.result
               FROM unnest($1::bigint[], $2::text[]) AS r(id, result)
               WHERE i.id = r.id AND i.processed_at IS NULL RETURNING 1)
           SELECT count(*) FROM done""",
        [i for i, _ in results],
        [r[:2000] for _, r in results],
    )
    return int(marked)


async def blank_body(conn: Conn, inbox_id: int) -> None:
    """Keep no copy of an inbound message's body (a register answer is held by the backend only)."""
    await conn.execute("UPDATE bridge_inbox SET body = '' WHERE id = $1", inbox_id)


# --- the bridge's side of the link ------------------------------------------------------------------------


class PgStore:
    """The link's Store on PostgreSQL: each call is one short transaction on a pooled connection."""

    def __init__(self, pool: asyncpg.Pool) -> None:
        self.pool = pool
        self._changed: dict[str, asyncio.Event] = {}

    def changed(self, partner: str) -> asyncio.Event:
        return self._changed.setdefault(partner, asyncio.Event())

    async def enqueue(
        self, partner: str, type_: str, body: str | bytes, msg_id: str | None = None
    ) -> OutboxMessage | None:
        async with self.pool.acquire() as conn, conn.transaction():
            message = await enqueue(conn, partner, type_, body, msg_id)
        self.changed(partner).set()
        return message

    async def outbound_state(self, peer: str) -> tuple[int, int]:
        async with self.pool.acquire() as conn:
            return await outbound_state(conn, peer)

    async def pending(self, peer: str, after: int, upto: int) -> list[OutboxMessage]:
        async with self.pool.acquire() as conn:
            return await pending(conn, peer, after, upto)

    async def acknowledge(self, peer: str, upto: int) -> int:
        async with self.pool.acquire() as conn, conn.transaction():
            return await acknowledge(conn, peer, upto)

    async def reject(self, peer: str, seq: int, reason: str) -> None:
        async with self.pool.acquire() as conn, conn.transaction():
            await reject(conn, peer, seq, reason)

    async def inbound_seq(self, peer: str) -> int:
        async with self.pool.acquire() as conn:
            return await inbound_seq(conn, peer)

    async def receive(
        self, peer: str, envelopes: Sequence[Envelope], rejections: dict[int, str]
    ) -> tuple[list[Verdict], int]:
        async with self.pool.acquire() as conn, conn.transaction():
            return await receive(conn, peer, envelopes, rejections)

    async def record_failure(self, peer: str, error: str) -> None:
        async with self.pool.acquire() as conn:
            await record_failure(conn, peer, error)


class Pruned(msgspec.Struct, frozen=True, kw_only=True):
    outbox: int  # delivered (acknowledged) messages removed
    inbox: int  # processed inbound messages removed


async def prune(conn: Conn, older_than: timedelta) -> Pruned:
    """The retention job: drop outbound messages the partner acknowledged and inbound ones Schakel processed,
    older than ``older_than``. Unacknowledged and unprocessed rows and dead letters stay whatever their age;
    the sequence numbers live in bridge_partners, so order and de-duplication do not depend on old rows."""
    outbox = await conn.fetchval(
        """WITH gone AS (
               DELETE FROM bridge_outbox o USING bridge_partners p
               WHERE o.partner = p.partner AND o.seq <= p.acked_seq AND o.delivered_at IS NOT NULL
                 AND o.delivered_at < now() - $1::interval
               RETURNING 1)
           SELECT count(*) FROM gone""",
        older_than,
    )
    inbox = await conn.fetchval(
        """WITH gone AS (
               DELETE FROM bridge_inbox WHERE processed_at IS NOT NULL AND processed_at < now() - $1::interval
               RETURNING 1)
           SELECT count(*) FROM gone""",
        older_than,
    )
    return Pruned(outbox=int(outbox), inbox=int(inbox))
