"""Report queries in PostgreSQL: counts for the monthly overview."""

from __future__ import annotations

from datetime import datetime

import msgspec

from backend.db.pool import Conn


class OverviewRow(msgspec.Struct, frozen=True, kw_only=True):
    beat_id: int | None
    beat_name: str
    category: str
    count: int


async def overview(conn: Conn, org_id: int, since: datetime, until: datetime) -> list[OverviewRow]:
    rows = await conn.fetch(
        """SELECT b.id AS beat_id, coalesce(b.name, 'buiten de gebieden') AS beat_name, r.category,
                  count(*) AS count
           FROM registrations r
           LEFT JOIN LATERAL unnest(CASE WHEN r.beat_ids = '{}' THEN ARRAY[NULL::int] ELSE r.beat_ids END)
                AS rb(id) ON true
           LEFT JOIN beats b ON b.id = rb.id
           WHERE r.org_id = $1 AND r.state = 'active' AND r.occurred_at >= $2 AND r.occurred_at < $3
           GROUP BY b.id, b.name, r.category ORDER BY beat_name, r.category""",
        org_id,
        since,
        until,
    )
    return [OverviewRow(**dict(r)) for r in rows]
