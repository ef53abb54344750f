"""Shifts (SQL; caller owns the transaction): who is on duty in which unit, with which tablet and beats."""

from __future__ import annotations

from collections.abc import Sequence

import asyncpg

from backend.db.pool import Conn


async def start_shift(
    conn: Conn,
    *,
    unit_id: int,
    device_id: int | None,
    account_ids: Sequence[int],
    beat_ids: Sequence[int],
) -> int:
    """Open a shift: ends any open shift of the unit or device, links the device to the unit."""
    await conn.execute(
        "UPDATE shifts SET ended_at = now() WHERE ended_at IS NULL AND (unit_id = $1 OR device_id = $2)",
        unit_id,
        device_id,
    )
    shift_id: int = await conn.fetchval(
        """INSERT INTO shifts (unit_id, device_id, account_ids, beat_ids) VALUES ($1, $2, $3, $4)
           RETURNING id""",
        unit_id,
        device_id,
        list(account_ids),
        list(beat_ids),
    )
    if device_id is not None:
        await conn.execute(
            "UPDATE devices SET unit_id = NULL WHERE unit_id = $1 AND kind = 'tablet'", unit_id
        )
        await conn.execute("UPDATE devices SET unit_id = $2 WHERE id = $1", device_id, unit_id)
    await conn.execute(
        "UPDATE units SET assigned_beat_ids = $2, status = 'available', status_since = now() WHERE id = $1",
        unit_id,
        list(beat_ids),
    )
    return shift_id


async def end_shift(conn: Conn, shift_id: int) -> int | None:
    """Close a shift; the unit goes off duty and its tablet stops tracking. Returns the unit id."""
    row = await conn.fetchrow(
        "UPDATE shifts SET ended_at = now() WHERE id = $1 AND ended_at IS NULL RETURNING unit_id, device_id",
        shift_id,
    )
    if row is None:
        return None
    await conn.execute(
        "UPDATE units SET status = 'off_duty', status_since = now() WHERE id = $1", row["unit_id"]
    )
    if row["device_id"] is not None:
        await conn.execute("UPDATE devices SET unit_id = NULL WHERE id = $1", row["device_id"])
    return int(row["unit_id"])


async def open_shifts_on(conn: Conn, unit_id: int, device_id: int | None) -> list[asyncpg.Record]:
    """The open shifts on this unit or on this device (the ones starting a shift there would end)."""
    return await conn.fetch(
        "SELECT id, unit_id, device_id, account_ids FROM shifts "
        "WHERE ended_at IS NULL AND (unit_id = $1 OR device_id = $2) ORDER BY id",
        unit_id,
        device_id,
    )


async def get_shift(conn: Conn, shift_id: int) -> asyncpg.Record | None:
    """A shift with its unit's organisation, or None when there is no such shift."""
    return await conn.fetchrow(
        "SELECT s.id, s.unit_id, s.device_id, s.account_ids, s.ended_at, u.org_id "
        "FROM shifts s JOIN units u ON u.id = s.unit_id WHERE s.id = $1",
        shift_id,
    )


async def open_shift(conn: Conn, unit_id: int) -> asyncpg.Record | None:
    return await conn.fetchrow(
        "SELECT id, unit_id, device_id, account_ids, beat_ids, started_at FROM shifts "
        "WHERE unit_id = $1 AND ended_at IS NULL",
        unit_id,
    )


async def open_shifts_of_org(conn: Conn, org_id: int) -> list[asyncpg.Record]:
    """Every open shift of the organisation's units with the names of who is on it (the tablet's shift
    screen shows them, so a boa does not pick a unit a colleague is using)."""
    return await conn.fetch(
        """SELECT s.id, s.unit_id, u.call_sign, s.started_at, s.account_ids,
                  coalesce(array(SELECT coalesce(nullif(a.display_name, ''), a.username)
                                 FROM unnest(s.account_ids) WITH ORDINALITY AS m(id, n)
                                 JOIN accounts a ON a.id = m.id ORDER BY m.n), '{}') AS names
           FROM shifts s JOIN units u ON u.id = s.unit_id
           WHERE s.ended_at IS NULL AND u.org_id = $1
           ORDER BY u.call_sign""",
        org_id,
    )
