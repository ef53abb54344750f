"""The safety alarms of one organisation in a period, with who acknowledged them."""

from __future__ import annotations

from datetime import datetime

from backend.alarmreport.logic import Alarm
from backend.db.pool import Conn
from shared.protocol import SAFETY_ALERTS


async def safety_alarms(conn: Conn, org_id: int, since: datetime, until: datetime) -> list[Alarm]:
    """Safety alarms raised in [since, until) by this organisation's units, oldest first."""
    rows = await conn.fetch(
        """SELECT a.id, a.kind, u.call_sign, a.at, a.acknowledged_at, acc.display_name AS acknowledged_by
           FROM alerts a LEFT JOIN units u ON u.id = a.unit_id
           LEFT JOIN accounts acc ON acc.id = a.acknowledged_by
           WHERE a.org_id = $1 AND a.kind = ANY($2) AND a.at >= $3 AND a.at < $4
           ORDER BY a.at, a.id""",
        org_id,
        sorted(k.value for k in SAFETY_ALERTS),
        since,
        until,
    )
    return [
        Alarm(
            alert_id=r["id"],
            kind=r["kind"],
            call_sign=r["call_sign"],
            at=r["at"],
            acknowledged_at=r["acknowledged_at"],
            acknowledged_by=r["acknowledged_by"],
        )
        for r in rows
    ]
