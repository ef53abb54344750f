"""SQL behind the bridge's API: what the service account reads and writes of Schakel's data, always within the
organisations it may see; and a read-only look at the bridge's own delivery tables for administrators."""

from __future__ import annotations

from collections.abc import Sequence

from backend.db.pool import Conn
from shared.bridge_api import (
    DeadLetter,
    Organisation,
    PartnerMetrics,
    PendingQuery,
    QueryAnswer,
    TimelineLine,
)

# How long after closing a melding its timeline is still offered to the bridge.
RECENT = "1 day"
# The timeline kinds a meldkamer hears of (docs/bridge.md, section 5.3).
PROGRESS_KINDS = ("created", "assigned", "task_state", "closed")


async def organisations(conn: Conn, org_ids: Sequence[int]) -> list[Organisation]:
    rows = await conn.fetch(
        "SELECT id, code, name FROM organisations WHERE id = ANY($1::int[]) ORDER BY id", list(org_ids)
    )
    return [Organisation(org_id=r["id"], code=r["code"], name=r["name"]) for r in rows]


async def timeline(
    conn: Conn, org_ids: Sequence[int], source: str, after: int, limit: int
) -> list[TimelineLine]:
    """Lines of the meldingen made for `source` (open, or closed lately) after event `after`, oldest first."""
    rows = await conn.fetch(
        f"""SELECT e.id, e.incident_id, i.external_id, e.kind, e.text, e.at, u.call_sign, i.exercise,
                   array(SELECT u2.call_sign FROM tasks t JOIN units u2 ON u2.id = t.unit_id
                         WHERE t.incident_id = i.id ORDER BY t.id) AS units
            FROM incidents i JOIN incident_events e ON e.incident_id = i.id
            LEFT JOIN units u ON u.id = e.unit_id
            WHERE i.source = $1 AND i.org_id = ANY($2::int[])
              AND (i.closed_at IS NULL OR i.closed_at > now() - interval '{RECENT}')
              AND e.kind = ANY($3::text[]) AND e.id > $4
            ORDER BY e.id LIMIT $5""",
        source,
        list(org_ids),
        list(PROGRESS_KINDS),
        after,
        limit,
    )
    return [
        TimelineLine(
            event_id=r["id"],
            incident_id=r["incident_id"],
            external_id=r["external_id"],
            kind=r["kind"],
            text=r["text"],
            at=r["at"],
            call_sign=r["call_sign"],
            units=list(dict.fromkeys(r["units"])),
            exercise=r["exercise"],
        )
        for r in rows
    ]


async def pending_queries(conn: Conn, org_ids: Sequence[int], limit: int) -> list[PendingQuery]:
    """Register queries of boa's in these organisations that wait to be sent to the police, oldest first."""
    rows = await conn.fetch(
        """SELECT q.id, q.request FROM register_queries q JOIN accounts a ON a.id = q.account_id
           WHERE q.state = 'pending' AND a.org_id = ANY($1::int[]) ORDER BY q.id LIMIT $2""",
        list(org_ids),
        limit,
    )
    return [PendingQuery(query_id=r["id"], request=dict(r["request"])) for r in rows]


async def mark_sent(conn: Conn, org_ids: Sequence[int], query_ids: Sequence[int]) -> int:
    """Pending queries are with the police now; an answer that came first is left as it is."""
    status = await conn.execute(
        """UPDATE register_queries q SET state = 'sent' FROM accounts a
           WHERE a.id = q.account_id AND q.id = ANY($1::bigint[]) AND q.state = 'pending'
             AND a.org_id = ANY($2::int[])""",
        list(query_ids),
        list(org_ids),
    )
    return int(status.split()[-1])


async def put_answer(conn: Conn, org_ids: Sequence[int], query_id: int, answer: QueryAnswer) -> bool:
    """Put the answer on a query that still waits (pending or sent); False when nobody waits for it."""
    stored = {"status": answer.status, "result": answer.result, "source": answer.source}
    done = await conn.fetchval(
        """UPDATE register_queries q SET answer = $2::jsonb, state = 'answered' FROM accounts a
           WHERE q.id = $1 AND a.id = q.account_id AND a.org_id = ANY($3::int[])
             AND q.state IN ('pending', 'sent')
           RETURNING q.id""",
        query_id,
        stored,  # the pool's codec encodes jsonb
        list(org_ids),
    )
    return done is not None


# --- the bridge's own tables, read for the administrators' status page -------------------------------------


async def is_meldkamer(conn: Conn, org_id: int) -> bool:
    """Whether the organisation is a meldkamer (whose bridge the status page shows)."""
    return bool(await conn.fetchval("SELECT kind = 'meldkamer' FROM organisations WHERE id = $1", org_id))


async def partner_metrics(conn: Conn) -> list[PartnerMetrics]:
    rows = await conn.fetch(
        """SELECT p.partner, p.delivered, p.failed, p.rejected, p.acked_seq, p.next_seq, p.inbound_seq,
                  p.last_error, l.holder AS lease_holder, l.expires_at AS lease_expires_at,
                  (SELECT count(*) FROM bridge_outbox o
                    WHERE o.partner = p.partner AND o.delivered_at IS NULL) AS queue_depth,
                  (SELECT coalesce(extract(epoch FROM now() - min(o.created_at)), 0) FROM bridge_outbox o
                    WHERE o.partner = p.partner AND o.delivered_at IS NULL) AS oldest_age_s,
                  (SELECT count(*) FROM bridge_inbox i WHERE i.partner = p.partner AND i.processed_at IS NULL)
                      AS inbox_unprocessed
           FROM bridge_partners p LEFT JOIN bridge_leases l ON l.partner = p.partner ORDER BY p.partner"""
    )
    return [PartnerMetrics(**{**dict(r), "oldest_age_s": float(r["oldest_age_s"])}) for r in rows]


async def dead_letters(conn: Conn) -> list[DeadLetter]:
    rows = await conn.fetch(
        "SELECT partner, seq, msg_id, type, reason, attempts, created_at, dead_at FROM bridge_dead_letters "
        "ORDER BY dead_at, partner, seq"
    )
    return [DeadLetter(**dict(r)) for r in rows]
