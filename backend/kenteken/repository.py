"""The kenteken cache in SQL: the RDW's last answer per kenteken (vehicle facts, never an owner)."""

from __future__ import annotations

from datetime import datetime

import msgspec

from backend.db.pool import Conn
from shared.kenteken import Vehicle


async def cached(conn: Conn, kenteken: str) -> tuple[bool, Vehicle | None, datetime] | None:
    row = await conn.fetchrow(
        "SELECT found, vehicle, fetched_at FROM kenteken_cache WHERE kenteken = $1", kenteken
    )
    if row is None:
        return None
    vehicle = msgspec.convert(dict(row["vehicle"]), Vehicle) if row["found"] else None
    return bool(row["found"]), vehicle, row["fetched_at"]


async def store(conn: Conn, kenteken: str, vehicle: Vehicle | None) -> datetime:
    fetched_at: datetime = await conn.fetchval(
        """INSERT INTO kenteken_cache (kenteken, found, vehicle) VALUES ($1, $2, $3::jsonb)
           ON CONFLICT (kenteken) DO UPDATE SET found = excluded.found, vehicle = excluded.vehicle,
                                                fetched_at = now()
           RETURNING fetched_at""",
        kenteken,
        vehicle is not None,
        msgspec.to_builtins(vehicle) if vehicle is not None else {},
    )
    return fetched_at


async def on_shift(conn: Conn, account_id: int) -> bool:
    found = await conn.fetchval(
        "SELECT 1 FROM shifts WHERE $1 = ANY(account_ids) AND ended_at IS NULL LIMIT 1", account_id
    )
    return found is not None
