"""Signalen's tables in SQL (migration 0026): the category mapping, the poll cursor, write-backs and filed
observations. Functions take a connection; the caller owns the transaction."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime

import asyncpg

from backend.db.pool import Conn
from backend.signalen.logic import SOURCE, Mapping

# meldingen closed longer ago than this no longer get their timeline written back (as for the bridge)
RECENT = "1 day"
WRITTEN_BACK = ("task_state", "closed")


async def org_id(conn: Conn, code: str) -> int | None:
    found: int | None = await conn.fetchval("SELECT id FROM organisations WHERE code = $1", code)
    return found


async def mappings(conn: Conn, org: int) -> dict[str, Mapping]:
    rows = await conn.fetch(
        "SELECT category_slug, domain, priority FROM signalen_categories WHERE org_id = $1 ORDER BY 1", org
    )
    return {r["category_slug"]: Mapping(domain=r["domain"], priority=r["priority"]) for r in rows}


async def set_mappings(conn: Conn, org: int, items: Sequence[tuple[str, int, int | None]]) -> None:
    await conn.execute("DELETE FROM signalen_categories WHERE org_id = $1", org)
    await conn.executemany(
        "INSERT INTO signalen_categories (org_id, category_slug, domain, priority) VALUES ($1, $2, $3, $4)",
        [(org, slug, domain, priority) for slug, domain, priority in items],
    )


async def cursor(conn: Conn, org: int) -> datetime:
    await conn.execute("INSERT INTO signalen_sync (org_id) VALUES ($1) ON CONFLICT DO NOTHING", org)
    at: datetime = await conn.fetchval("SELECT created_after FROM signalen_sync WHERE org_id = $1", org)
    return at


async def polled(conn: Conn, org: int, created_after: datetime) -> None:
    await conn.execute(
        """UPDATE signalen_sync SET created_after = greatest(created_after, $2), polled_at = now(),
                  last_error = '' WHERE org_id = $1""",
        org,
        created_after,
    )


async def trouble(conn: Conn, org: int, message: str) -> None:
    await conn.execute(
        """INSERT INTO signalen_sync (org_id, last_error, last_error_at) VALUES ($1, $2, now())
           ON CONFLICT (org_id) DO UPDATE SET last_error = $2, last_error_at = now()""",
        org,
        message,
    )


async def set_deadline(conn: Conn, incident_id: int, deadline: datetime | None) -> None:
    await conn.execute("UPDATE incidents SET deadline = $2 WHERE id = $1", incident_id, deadline)


# --- write-backs --------------------------------------------------------------------------------


async def new_timeline_lines(conn: Conn, org: int, limit: int = 500) -> list[asyncpg.Record]:
    """Timeline lines of meldingen made from signals that have no write-back row yet, oldest first."""
    return await conn.fetch(
        f"""SELECT e.id, e.kind, e.text, i.external_id FROM incidents i
            JOIN incident_events e ON e.incident_id = i.id
            WHERE i.source = '{SOURCE}' AND i.org_id = $1 AND e.kind = ANY($2::text[])
              AND (i.closed_at IS NULL OR i.closed_at > now() - interval '{RECENT}')
              AND NOT EXISTS (SELECT 1 FROM signalen_updates s WHERE s.event_id = e.id)
            ORDER BY e.id LIMIT $3""",
        org,
        list(WRITTEN_BACK),
        limit,
    )


async def queue_update(
    conn: Conn, event_id: int, org: int, signal_id: int, state: str | None, text: str, skip: bool
) -> None:
    """One row per timeline line (once: the event id is the key); `skip` a line Signalen need not hear."""
    await conn.execute(
        """INSERT INTO signalen_updates (event_id, org_id, signal_id, state, text, sent_at, last_error)
           VALUES ($1, $2, $3, $4, $5, CASE WHEN $6 THEN now() END, CASE WHEN $6 THEN 'not sent' ELSE '' END)
           ON CONFLICT (event_id) DO NOTHING""",
        event_id,
        org,
        signal_id,
        state,
        text,
        skip,
    )


async def due_updates(conn: Conn, org: int, limit: int = 100) -> list[asyncpg.Record]:
    return await conn.fetch(
        """SELECT event_id, signal_id, state, text, attempts FROM signalen_updates
           WHERE org_id = $1 AND sent_at IS NULL AND next_at <= now() ORDER BY event_id LIMIT $2""",
        org,
        limit,
    )


async def update_sent(conn: Conn, event_id: int, note: str = "") -> None:
    await conn.execute(
        """UPDATE signalen_updates SET sent_at = now(), attempts = attempts + 1, last_error = $2
           WHERE event_id = $1""",
        event_id,
        note,
    )


async def update_failed(conn: Conn, event_id: int, message: str, delay_s: float | None) -> None:
    """Tried again after `delay_s`; None: never again by itself (refused for good, the reason kept)."""
    await conn.execute(
        """UPDATE signalen_updates SET attempts = attempts + 1, last_error = $2,
                  next_at = CASE WHEN $3::float8 IS NULL THEN 'infinity'::timestamptz
                                 ELSE now() + make_interval(secs => $3::float8) END
           WHERE event_id = $1""",
        event_id,
        message,
        delay_s,
    )


# --- observations --------------------------------------------------------------------------------


async def add_observation(
    conn: Conn,
    event_id: uuid.UUID,
    org: int,
    account_id: int,
    category: str,
    text: str,
    lon: float,
    lat: float,
) -> bool:
    """Stored once per event id; False when it was there already (a resend from the tablet)."""
    status = await conn.execute(
        """INSERT INTO signalen_observations (event_id, org_id, account_id, category_slug, text, lon, lat)
           VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT (event_id) DO NOTHING""",
        event_id,
        org,
        account_id,
        category,
        text,
        lon,
        lat,
    )
    return bool(status != "INSERT 0 0")


_OBSERVATION = """
    SELECT o.event_id, o.org_id, o.account_id, o.category_slug, o.text, o.lon, o.lat, o.created_at,
           o.signal_id, o.state, o.state_text, o.attempts, o.last_error,
           coalesce((SELECT json_agg(json_build_object('identifier', h.identifier, 'at', h.at,
                                                       'action', h.action, 'description', h.description)
                                     ORDER BY h.at, h.identifier)
                     FROM signalen_observation_history h WHERE h.event_id = o.event_id), '[]') AS history
    FROM signalen_observations o"""


async def observation(conn: Conn, event_id: uuid.UUID) -> asyncpg.Record | None:
    return await conn.fetchrow(f"{_OBSERVATION} WHERE o.event_id = $1", event_id)


async def observations(
    conn: Conn, org: int, account_id: int | None, limit: int = 200
) -> list[asyncpg.Record]:
    return await conn.fetch(
        f"{_OBSERVATION} WHERE o.org_id = $1 AND ($2::int IS NULL OR o.account_id = $2)"
        " ORDER BY o.created_at DESC LIMIT $3",
        org,
        account_id,
        limit,
    )


async def observations_to_file(conn: Conn, org: int, limit: int = 50) -> list[asyncpg.Record]:
    return await conn.fetch(
        """SELECT event_id, category_slug, text, lon, lat, created_at, attempts FROM signalen_observations
           WHERE org_id = $1 AND signal_id IS NULL AND next_at <= now() ORDER BY created_at LIMIT $2""",
        org,
        limit,
    )


async def observations_to_follow(conn: Conn, org: int, limit: int = 100) -> list[asyncpg.Record]:
    return await conn.fetch(
        """SELECT event_id, signal_id FROM signalen_observations
           WHERE org_id = $1 AND signal_id IS NOT NULL AND state NOT IN ('o', 'a')
           ORDER BY created_at LIMIT $2""",
        org,
        limit,
    )


async def observation_filed(conn: Conn, event_id: uuid.UUID, signal_id: int) -> None:
    await conn.execute(
        """UPDATE signalen_observations SET signal_id = $2, state = 'm', attempts = attempts + 1,
                  last_error = '' WHERE event_id = $1 AND signal_id IS NULL""",
        event_id,
        signal_id,
    )


async def observation_failed(conn: Conn, event_id: uuid.UUID, message: str, delay_s: float | None) -> None:
    await conn.execute(
        """UPDATE signalen_observations SET attempts = attempts + 1, last_error = $2,
                  next_at = CASE WHEN $3::float8 IS NULL THEN 'infinity'::timestamptz
                                 ELSE now() + make_interval(secs => $3::float8) END
           WHERE event_id = $1""",
        event_id,
        message,
        delay_s,
    )


async def observation_state(
    conn: Conn, event_id: uuid.UUID, state: str, text: str, history: Sequence[tuple[str, datetime, str, str]]
) -> None:
    await conn.execute(
        "UPDATE signalen_observations SET state = $2, state_text = $3, last_error = '' WHERE event_id = $1",
        event_id,
        state,
        text,
    )
    await conn.executemany(
        """INSERT INTO signalen_observation_history (event_id, identifier, at, action, description)
           VALUES ($1, $2, $3, $4, $5) ON CONFLICT DO NOTHING""",
        [(event_id, identifier, at, action, description) for identifier, at, action, description in history],
    )


async def status(conn: Conn, org: int) -> asyncpg.Record | None:
    return await conn.fetchrow(
        """SELECT s.created_after, s.polled_at, s.last_error, s.last_error_at,
                  (SELECT count(*) FROM signalen_updates u
                     WHERE u.org_id = $1 AND u.sent_at IS NULL) AS updates_waiting,
                  (SELECT count(*) FROM signalen_updates u WHERE u.org_id = $1 AND u.sent_at IS NULL
                     AND u.next_at = 'infinity') AS updates_refused,
                  (SELECT count(*) FROM signalen_observations o WHERE o.org_id = $1 AND o.signal_id IS NULL)
                     AS observations_waiting,
                  (SELECT count(*) FROM incidents i WHERE i.org_id = $1 AND i.source = 'signalen')
                     AS meldingen
           FROM (SELECT $1::int AS org_id) k LEFT JOIN signalen_sync s ON s.org_id = k.org_id""",
        org,
    )
