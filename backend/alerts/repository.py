"""Alerts in SQL: store one, the open ones an operator sees, acknowledge one."""

from __future__ import annotations

from collections.abc import Collection
from datetime import datetime
from typing import Any

import asyncpg

from backend.db.pool import Conn
from shared.protocol import AlertKind, AlertView

_VIEW_COLUMNS = """a.id, a.kind, a.org_id, a.unit_id, u.call_sign, a.at, a.payload, a.acknowledged_at,
                   acc.display_name AS acknowledged_by"""


async def insert_alert(
    conn: Conn,
    *,
    org_id: int,
    unit_id: int | None,
    kind: str,
    at: datetime,
    payload: dict[str, Any],
    source_event_id: int | None = None,
) -> int:
    """Store one alert; returns its id. The caller owns the transaction."""
    alert_id: int = await conn.fetchval(
        """INSERT INTO alerts (org_id, unit_id, kind, at, payload, source_event_id)
           VALUES ($1, $2, $3, $4, $5, $6) RETURNING id""",
        org_id,
        unit_id,
        kind,
        at,
        payload,
        source_event_id,
    )
    return alert_id


async def open_alerts(conn: Conn, org_ids: Collection[int]) -> list[AlertView]:
    """Unresolved alerts of these organisations, newest first; acknowledged ones for an hour after."""
    rows = await conn.fetch(
        f"""SELECT {_VIEW_COLUMNS}
           FROM alerts a LEFT JOIN units u ON u.id = a.unit_id
           LEFT JOIN accounts acc ON acc.id = a.acknowledged_by
           WHERE a.org_id = ANY($1) AND a.resolved_at IS NULL
             AND (a.acknowledged_at IS NULL OR a.acknowledged_at > now() - interval '1 hour')
           ORDER BY a.at DESC LIMIT 500""",
        list(org_ids),
    )
    return [_view(r) for r in rows]


async def acknowledge(
    conn: Conn, alert_id: int, account_id: int, org_ids: Collection[int]
) -> tuple[AlertView, int | None] | None:
    """Mark the alert seen by this account (the first acknowledgement stays); returns it and the device that
    raised it, or None when these organisations have no such alert."""
    row = await conn.fetchrow(
        f"""WITH a AS (UPDATE alerts SET acknowledged_at = coalesce(acknowledged_at, now()),
                           acknowledged_by = coalesce(acknowledged_by, $2)
                      WHERE id = $1 AND org_id = ANY($3) RETURNING *)
           SELECT {_VIEW_COLUMNS}
           FROM a LEFT JOIN units u ON u.id = a.unit_id
           LEFT JOIN accounts acc ON acc.id = a.acknowledged_by""",
        alert_id,
        account_id,
        list(org_ids),
    )
    if row is None:
        return None
    device_id: int | None = (row["payload"] or {}).get("device_id")
    return _view(row), device_id


def _view(r: asyncpg.Record) -> AlertView:
    payload = r["payload"] or {}
    return AlertView(
        alert_id=r["id"],
        kind=AlertKind(r["kind"]),
        org_id=r["org_id"],
        unit_id=r["unit_id"],
        call_sign=r["call_sign"],
        at=r["at"],
        lon=payload.get("lon"),
        lat=payload.get("lat"),
        text=payload.get("text") or "",
        acknowledged_at=r["acknowledged_at"],
        acknowledged_by=r["acknowledged_by"],
        silent=bool(payload.get("silent")),
    )
