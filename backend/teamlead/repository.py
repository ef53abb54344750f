"""What is going on today in one gemeente, in SQL (the caller owns the transaction)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from backend.db.pool import Conn


async def on_duty(conn: Conn, org_id: int) -> list[dict[str, Any]]:
    """Open shifts: the unit, its status, beats (the shift's, else the unit's defaults) and crew."""
    rows = await conn.fetch(
        """SELECT s.id AS shift_id, s.started_at, u.id AS unit_id, u.call_sign, u.status, u.phone,
                  u.portofoon,
                  ARRAY(SELECT b.name FROM beats b
                        WHERE b.id = ANY(CASE WHEN s.beat_ids = '{}' THEN u.assigned_beat_ids
                                              ELSE s.beat_ids END)
                        ORDER BY b.name) AS beats,
                  ARRAY(SELECT a.display_name FROM accounts a WHERE a.id = ANY(s.account_ids)
                        ORDER BY a.display_name) AS crew
           FROM shifts s JOIN units u ON u.id = s.unit_id
           WHERE s.ended_at IS NULL AND u.org_id = $1 ORDER BY u.call_sign""",
        org_id,
    )
    return [{**dict(r), "beats": list(r["beats"]), "crew": list(r["crew"])} for r in rows]


async def open_incidents(conn: Conn, org_id: int) -> list[dict[str, Any]]:
    rows = await conn.fetch(
        """SELECT i.id, i.category, i.priority, i.description, i.address, i.created_at, b.name AS beat,
                  i.exercise,
                  ARRAY(SELECT u.call_sign FROM tasks t JOIN units u ON u.id = t.unit_id
                        WHERE t.incident_id = i.id
                          AND t.state IN ('assigned', 'accepted', 'en_route', 'on_scene')
                        ORDER BY u.call_sign) AS units
           FROM incidents i LEFT JOIN beats b ON b.id = i.beat_id
           WHERE i.org_id = $1 AND i.state = 'open' ORDER BY i.priority, i.created_at""",
        org_id,
    )
    return [{**dict(r), "units": list(r["units"])} for r in rows]


async def registrations_between(
    conn: Conn, org_id: int, start: datetime, end: datetime
) -> list[dict[str, Any]]:
    """The day's registrations without personal data: what, where, by whom (newest first)."""
    rows = await conn.fetch(
        """SELECT r.id, r.kind, r.state, r.category, r.feitcode, r.occurred_at, a.display_name AS author,
                  u.call_sign AS unit,
                  ARRAY(SELECT b.name FROM beats b WHERE b.id = ANY(r.beat_ids) ORDER BY b.name) AS beats,
                  (r.kind = 'aggression' AND NOT EXISTS
                      (SELECT 1 FROM registration_seen s WHERE s.registration_id = r.id)) AS new
           FROM registrations r JOIN accounts a ON a.id = r.author_id LEFT JOIN units u ON u.id = r.unit_id
           WHERE r.org_id = $1 AND r.state <> 'archived' AND r.occurred_at >= $2 AND r.occurred_at < $3
           ORDER BY r.occurred_at DESC LIMIT 500""",
        org_id,
        start,
        end,
    )
    return [{**dict(r), "beats": list(r["beats"])} for r in rows]


async def alerts_between(conn: Conn, org_id: int, start: datetime, end: datetime) -> list[dict[str, Any]]:
    rows = await conn.fetch(
        """SELECT al.id, al.kind, al.at, al.acknowledged_at, al.resolved_at, u.call_sign AS unit
           FROM alerts al LEFT JOIN units u ON u.id = al.unit_id
           WHERE al.org_id = $1 AND al.at >= $2 AND al.at < $3 ORDER BY al.at DESC LIMIT 500""",
        org_id,
        start,
        end,
    )
    return [dict(r) for r in rows]


async def recent_aggression(conn: Conn, org_id: int, since: datetime) -> list[dict[str, Any]]:
    rows = await conn.fetch(
        """SELECT r.id, r.occurred_at, r.details->>'report' AS report,
                  coalesce((r.details->>'vpt_code_used')::boolean, false) AS vpt_code_used,
                  r.details->>'severity' AS severity, a.display_name AS author, u.call_sign AS unit,
                  NOT EXISTS (SELECT 1 FROM registration_seen s WHERE s.registration_id = r.id) AS new
           FROM registrations r JOIN accounts a ON a.id = r.author_id LEFT JOIN units u ON u.id = r.unit_id
           WHERE r.org_id = $1 AND r.kind = 'aggression' AND r.state = 'active' AND r.occurred_at >= $2
           ORDER BY r.occurred_at""",
        org_id,
        since,
    )
    return [dict(r) for r in rows]
