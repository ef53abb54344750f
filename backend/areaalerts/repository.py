"""Partner area alerts in SQL."""

from __future__ import annotations

from collections.abc import Collection
from datetime import datetime, timedelta
from typing import Any

import asyncpg
import msgspec

from backend.db.pool import Conn
from shared.protocol import AlertArea, AreaAlertView


class NewAreaAlert(msgspec.Struct, frozen=True, kw_only=True):
    source: str
    external_id: str
    event: str
    headline: str
    description: str
    instruction: str
    severity: str
    urgency: str
    area_desc: str
    area: dict[str, Any]
    sent_at: datetime | None
    expires_at: datetime | None
    received_by: int | None


_VIEW = """id, source, event, headline, description, severity, urgency, area_desc, area, sent_at, expires_at,
            unit_ids"""


def _view(r: asyncpg.Record) -> AreaAlertView:
    return AreaAlertView(
        alert_id=r["id"],
        source=r["source"],
        event=r["event"],
        headline=r["headline"],
        description=r["description"],
        severity=r["severity"],
        urgency=r["urgency"],
        area_desc=r["area_desc"],
        area=msgspec.convert(r["area"], AlertArea),
        sent_at=r["sent_at"],
        expires_at=r["expires_at"],
        unit_ids=list(r["unit_ids"]),
    )


async def insert(conn: Conn, new: NewAreaAlert) -> AreaAlertView | None:
    """The stored alert; None when this (source, external_id) is stored already."""
    row = await conn.fetchrow(
        f"""INSERT INTO area_alerts (source, external_id, event, headline, description, instruction, severity,
                                     urgency, area_desc, area, sent_at, expires_at, received_by)
            VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10::jsonb, $11, $12, $13)
            ON CONFLICT (source, external_id) DO NOTHING RETURNING {_VIEW}""",
        new.source,
        new.external_id,
        new.event,
        new.headline,
        new.description,
        new.instruction,
        new.severity,
        new.urgency,
        new.area_desc,
        new.area,  # the pool's codec encodes jsonb
        new.sent_at,
        new.expires_at,
        new.received_by,
    )
    return _view(row) if row is not None else None


async def by_external(conn: Conn, source: str, external_id: str) -> AreaAlertView | None:
    row = await conn.fetchrow(
        f"SELECT {_VIEW} FROM area_alerts WHERE source = $1 AND external_id = $2", source, external_id
    )
    return _view(row) if row is not None else None


async def set_units(conn: Conn, alert_id: int, unit_ids: list[int]) -> AreaAlertView:
    row = await conn.fetchrow(
        f"UPDATE area_alerts SET unit_ids = $2 WHERE id = $1 RETURNING {_VIEW}", alert_id, unit_ids
    )
    assert row is not None  # the caller has just stored this alert
    return _view(row)


async def add_targets(conn: Conn, alert_id: int, unit_ids: Collection[int]) -> None:
    """The units inside the alert's area: each is owed the alert until its tablet was sent it."""
    await conn.execute(
        """INSERT INTO area_alert_targets (alert_id, unit_id) SELECT $1, unnest($2::int[])
           ON CONFLICT DO NOTHING""",
        alert_id,
        list(unit_ids),
    )


class Owed(msgspec.Struct, frozen=True, kw_only=True):
    alert_id: int
    unit_id: int
    headline: str
    description: str  # the description and the instruction, as the tablet shows them
    severity: str
    sent_at: datetime | None


async def owed(
    conn: Conn, unit_ids: Collection[int], since: datetime, alert_id: int | None = None
) -> list[Owed]:
    """What these units are owed: alerts received since `since`, not expired, not yet sent to them (only
    `alert_id` when given), oldest first."""
    rows = await conn.fetch(
        """SELECT a.id, t.unit_id, coalesce(nullif(a.headline, ''), a.event) AS headline,
                  concat_ws(E'\n', nullif(a.description, ''), nullif(a.instruction, '')) AS text,
                  a.severity, a.sent_at
           FROM area_alert_targets t JOIN area_alerts a ON a.id = t.alert_id
           WHERE t.unit_id = ANY($1::int[]) AND t.sent_at IS NULL AND a.received_at >= $2
             AND (a.expires_at IS NULL OR a.expires_at > now()) AND ($3::bigint IS NULL OR a.id = $3)
           ORDER BY a.id, t.unit_id""",
        list(unit_ids),
        since,
        alert_id,
    )
    return [
        Owed(
            alert_id=r["id"],
            unit_id=r["unit_id"],
            headline=r["headline"],
            description=r["text"],
            severity=r["severity"],
            sent_at=r["sent_at"],
        )
        for r in rows
    ]


async def mark_sent(conn: Conn, alert_id: int, unit_id: int) -> bool:
    """The unit's tablet was sent the alert: no longer owed, and the alert says it reached the unit. True when
    the alert's `unit_ids` changed (its operators are to see it)."""
    changed = await conn.fetchval(
        """WITH t AS (UPDATE area_alert_targets SET sent_at = now()
                      WHERE alert_id = $1 AND unit_id = $2 AND sent_at IS NULL RETURNING alert_id)
           UPDATE area_alerts SET unit_ids = (SELECT array_agg(u ORDER BY u)
                                              FROM unnest(array_append(unit_ids, $2)) AS u)
           WHERE id IN (SELECT alert_id FROM t) AND NOT ($2 = ANY(unit_ids)) RETURNING id""",
        alert_id,
        unit_id,
    )
    return changed is not None


async def audience(conn: Conn, alert_id: int) -> frozenset[int]:
    """The organisations whose operators see the alert: those the receiving account sees (its own and, for a
    meldkamer, the gemeenten linked to it: what the POST pushed it to), and the organisations of its target
    units."""
    rows = await conn.fetch(
        """WITH o AS (SELECT ac.org_id FROM area_alerts a JOIN accounts ac ON ac.id = a.received_by
                      WHERE a.id = $1)
           SELECT org_id FROM o
           UNION SELECT gemeente_id FROM meldkamer_links WHERE meldkamer_id IN (SELECT org_id FROM o)
           UNION SELECT u.org_id FROM area_alert_targets t JOIN units u ON u.id = t.unit_id
                 WHERE t.alert_id = $1""",
        alert_id,
    )
    return frozenset(r["org_id"] for r in rows)


async def unsent(conn: Conn, alert_id: int) -> int:
    found: int = await conn.fetchval(
        "SELECT count(*) FROM area_alert_targets WHERE alert_id = $1 AND sent_at IS NULL", alert_id
    )
    return found


IN_FORCE_LIMIT = 200  # a console shows at most this many police alerts (newest first)
UNDATED_FOR = timedelta(hours=24)  # an alert that names no expiry is shown this long after it came in


async def in_force(conn: Conn, org_ids: Collection[int]) -> list[AreaAlertView]:
    """The alerts still in force that operators of these organisations see (the inverse of `audience`: the
    receiving account's organisation or a meldkamer linked to one of them, or a target unit of theirs), newest
    first. An alert without `expires` counts as in force for `UNDATED_FOR` after it was received."""
    rows = await conn.fetch(
        f"""WITH seen AS (SELECT unnest($1::int[]) AS org_id
                          UNION SELECT meldkamer_id FROM meldkamer_links WHERE gemeente_id = ANY($1::int[]))
            SELECT {_VIEW} FROM area_alerts a
            WHERE (a.expires_at > now() OR (a.expires_at IS NULL AND a.received_at > now() - $2::interval))
              AND (a.received_by IN (SELECT ac.id FROM accounts ac JOIN seen USING (org_id))
                   OR EXISTS (SELECT 1 FROM area_alert_targets t JOIN units u ON u.id = t.unit_id
                              WHERE t.alert_id = a.id AND u.org_id = ANY($1::int[])))
            ORDER BY a.id DESC LIMIT $3""",
        list(org_ids),
        UNDATED_FOR,
        IN_FORCE_LIMIT,
    )
    return [_view(r) for r in rows]


async def get(conn: Conn, alert_id: int) -> AreaAlertView | None:
    row = await conn.fetchrow(f"SELECT {_VIEW} FROM area_alerts WHERE id = $1", alert_id)
    return _view(row) if row is not None else None
