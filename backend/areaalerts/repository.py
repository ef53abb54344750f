"""Partner area alerts in SQL."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import asyncpg
import msgspec

from backend.db.pool import Conn
from shared.protocol import AreaAlertView


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


_VIEW = """id, source, event, headline, description, severity, area_desc, sent_at, expires_at, unit_ids"""


def _view(r: asyncpg.Record) -> AreaAlertView:
    return AreaAlertView(
        alert_id=r["id"],
        source=r["source"],
        event=r["event"],
        headline=r["headline"],
        description=r["description"],
        severity=r["severity"],
        area_desc=r["area_desc"],
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
