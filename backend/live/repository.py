"""The live path in SQL: the units the picture starts from, and what the batched writer stores.

Functions take a connection; the caller owns the transaction (the writer's batch is one).
"""

from __future__ import annotations

import logging
from collections.abc import Collection, Mapping, Sequence
from datetime import date, datetime, timedelta
from typing import Any

import asyncpg

from backend.db.pool import Conn
from backend.geofencing.logic import BeatEntered, BeatLeft
from backend.live.picture import UnitLive
from shared.protocol import PositionReported, UnitStatus

log = logging.getLogger(__name__)

POSITION_COLUMNS = (
    "device_id",
    "unit_id",
    "seq",
    "at",
    "lon",
    "lat",
    "accuracy_m",
    "speed_mps",
    "heading_deg",
    "late",
    "received_at",
)


# --- the live picture ---------------------------------------------------------------------------------------


async def active_units(conn: Conn) -> list[UnitLive]:
    """Every active unit with its last known position (if any)."""
    rows = await conn.fetch(
        """SELECT u.id, u.org_id, u.call_sign, u.status, u.status_since, u.assigned_beat_ids,
                  l.lon, l.lat, l.at, l.accuracy_m, l.speed_mps, l.heading_deg
           FROM units u LEFT JOIN unit_live l ON l.unit_id = u.id WHERE u.active"""
    )
    return [_unit(r) for r in rows]


async def unit_without_position(conn: Conn, unit_id: int) -> UnitLive | None:
    """One unit as the database has it now; its position is left to the picture."""
    r = await conn.fetchrow(
        """SELECT u.id, u.org_id, u.call_sign, u.status, u.status_since, u.assigned_beat_ids,
                  NULL::float8 AS lon, NULL::float8 AS lat, NULL::timestamptz AS at,
                  NULL::real AS accuracy_m, NULL::real AS speed_mps, NULL::real AS heading_deg
           FROM units u WHERE u.id = $1""",
        unit_id,
    )
    return None if r is None else _unit(r)


async def device_units(conn: Conn, device_ids: Collection[int]) -> dict[int, int | None]:
    """The unit each of these devices is on now (None: not on a shift)."""
    rows = await conn.fetch("SELECT id, unit_id FROM devices WHERE id = ANY($1)", list(device_ids))
    return {r["id"]: r["unit_id"] for r in rows}


async def insert_beat_moves(conn: Conn, moves: Sequence[BeatEntered | BeatLeft]) -> None:
    """Geofence history: which unit entered or left which beat when."""
    if moves:
        await conn.executemany(
            "INSERT INTO geofence_events (unit_id, beat_id, kind, at) VALUES ($1, $2, $3, $4)",
            [
                (m.unit_id, m.beat_id, "entered" if isinstance(m, BeatEntered) else "left", m.at)
                for m in moves
            ],
        )


def _unit(r: asyncpg.Record) -> UnitLive:
    return UnitLive(
        unit_id=r["id"],
        org_id=r["org_id"],
        call_sign=r["call_sign"],
        status=UnitStatus(r["status"]),
        status_since=r["status_since"],
        assigned=frozenset(r["assigned_beat_ids"]),
        lon=r["lon"],
        lat=r["lat"],
        at=r["at"],
        accuracy_m=r["accuracy_m"],
        speed_mps=r["speed_mps"],
        heading_deg=r["heading_deg"],
    )


# --- the writer ---------------------------------------------------------------------------------------------


def partition_name(day: date) -> str:
    return f"positions_{day:%Y%m%d}"


async def ensure_partitions(conn: Conn, today: date, days_ahead: int = 2) -> None:
    """Create the daily history partitions from yesterday to days_ahead ahead (idempotent)."""
    for offset in range(-1, days_ahead + 1):
        day = today + timedelta(days=offset)
        name = partition_name(day)
        exists = await conn.fetchval("SELECT to_regclass($1)", name)
        if exists is None:
            start, end = day.isoformat(), (day + timedelta(days=1)).isoformat()
            try:
                await conn.execute(
                    f"CREATE TABLE {name} PARTITION OF positions FOR VALUES FROM ('{start}') TO ('{end}')"
                )
            except (asyncpg.DuplicateTableError, asyncpg.CheckViolationError) as exc:
                # another instance made it, or the default partition already holds rows of that day
                log.info("partition %s not created: %s", name, exc)


async def lock_devices(conn: Conn, device_ids: Collection[int]) -> dict[int, int]:
    """Lock the devices' rows for the batch and return their durable last seq (deleted devices are absent).

    Locked in id order, so two instances flushing the same devices never deadlock.
    """
    rows = await conn.fetch(
        "SELECT id, last_seq FROM devices WHERE id = ANY($1) ORDER BY id FOR UPDATE", sorted(device_ids)
    )
    return {r["id"]: r["last_seq"] for r in rows}


async def copy_positions(conn: Conn, items: Sequence[tuple[int, int, PositionReported, datetime]]) -> None:
    """Append positions (device, unit, frame, received_at) to the partitioned history by COPY."""
    records = [
        (
            device_id,
            unit_id,
            f.seq,
            f.at,
            f.lon,
            f.lat,
            f.accuracy_m,
            f.speed_mps,
            f.heading_deg,
            f.late,
            received_at,
        )
        for device_id, unit_id, f, received_at in items
    ]
    await conn.copy_records_to_table("positions", records=records, columns=POSITION_COLUMNS)


async def upsert_unit_live(conn: Conn, latest: Mapping[int, PositionReported]) -> None:
    """Per unit its newest live position; an older one never overwrites a newer one."""
    if not latest:
        return
    # one set-based statement, not one per unit: a batch touches every connected unit
    frames = list(latest.values())
    await conn.execute(
        """INSERT INTO unit_live (unit_id, at, lon, lat, accuracy_m, speed_mps, heading_deg, updated_at)
           SELECT *, now() FROM unnest($1::integer[], $2::timestamptz[], $3::float8[], $4::float8[],
                                       $5::real[], $6::real[], $7::real[])
           ON CONFLICT (unit_id) DO UPDATE SET at = EXCLUDED.at, lon = EXCLUDED.lon, lat = EXCLUDED.lat,
             accuracy_m = EXCLUDED.accuracy_m, speed_mps = EXCLUDED.speed_mps,
             heading_deg = EXCLUDED.heading_deg, updated_at = now()
           WHERE unit_live.at <= EXCLUDED.at""",
        list(latest),
        [f.at for f in frames],
        [f.lon for f in frames],
        [f.lat for f in frames],
        [f.accuracy_m for f in frames],
        [f.speed_mps for f in frames],
        [f.heading_deg for f in frames],
    )


async def insert_field_event(
    conn: Conn,
    *,
    device_id: int,
    unit_id: int | None,
    seq: int,
    kind: str,
    at: datetime,
    payload: dict[str, Any],
    late: bool,
    received_at: datetime,
) -> int | None:
    """Store one non-position frame; None when (device, seq) is already stored."""
    event_id: int | None = await conn.fetchval(
        """INSERT INTO field_events (device_id, unit_id, seq, kind, at, payload, late, received_at)
           VALUES ($1, $2, $3, $4, $5, $6, $7, $8) ON CONFLICT (device_id, seq) DO NOTHING RETURNING id""",
        device_id,
        unit_id,
        seq,
        kind,
        at,
        payload,
        late,
        received_at,
    )
    return event_id


async def set_unit_status(conn: Conn, unit_id: int, status: str, at: datetime) -> None:
    # a late status older than the current one is history, not the unit's status now
    await conn.execute(
        """UPDATE units SET status = $2, status_since = $3
           WHERE id = $1 AND status_since <= $3 AND status IS DISTINCT FROM $2""",
        unit_id,
        status,
        at,
    )


async def advance_last_seq(conn: Conn, last_seq: Mapping[int, int]) -> None:
    """Record per device the highest durable seq (never moving it back)."""
    if last_seq:
        await conn.execute(
            """UPDATE devices d SET last_seq = v.seq FROM unnest($1::integer[], $2::bigint[]) AS v(id, seq)
               WHERE d.id = v.id AND d.last_seq < v.seq""",
            list(last_seq),
            list(last_seq.values()),
        )


async def live_changed_since(
    conn: Conn, since: datetime
) -> tuple[list[tuple[int, PositionReported]], list[tuple[int, str, datetime]], datetime]:
    """What other instances stored since `since`: the `unit_live` rows written since then (one row per
    unit, so a tick reads at most one position per unit however many arrived), the units whose status
    changed, and the database's clock now (the next call's `since`)."""
    now: datetime = await conn.fetchval("SELECT clock_timestamp()")
    rows = await conn.fetch(
        """SELECT unit_id, at, lon, lat, accuracy_m, speed_mps, heading_deg FROM unit_live
           WHERE updated_at >= $1""",
        since,
    )
    positions = [
        (
            r["unit_id"],
            PositionReported(
                seq=1,
                lon=r["lon"],
                lat=r["lat"],
                at=r["at"],
                accuracy_m=r["accuracy_m"],
                speed_mps=r["speed_mps"],
                heading_deg=r["heading_deg"],
            ),
        )
        for r in rows
    ]
    statuses = await conn.fetch(
        """SELECT id, status, status_since FROM units
           WHERE status_since >= $1::timestamptz - interval '1 minute'""",
        since,
    )
    return positions, [(r["id"], r["status"], r["status_since"]) for r in statuses], now


async def partner_fixes_elsewhere(
    conn: Conn,
    unit_ids: Collection[int],
    here: Collection[int],
    since: datetime,
    known: Mapping[int, datetime],
) -> list[tuple[int, int, float, float, datetime]]:
    """The newest live fix since `since` of every device of these units that is not connected here (its
    tablet is on another instance, or it is a tracker reporting through another): (device, unit, lon, lat,
    at). One statement per tick. A device whose fix at `known[device]` the caller has is read only from that
    moment on (its own clock goes forward, however far it is off), so a tick reads a few rows per unit, not
    the whole window."""
    async with conn.transaction():
        # a generic (cached) plan cannot see how narrow each device's window is: ten times slower from the
        # sixth run on (measured, 1,000 duo units, 2.4 M positions: 60-105 ms a call, 450-850 ms generic)
        await conn.execute("SET LOCAL plan_cache_mode = force_custom_plan")
        rows = await conn.fetch(
            """SELECT d.id, d.unit_id, p.lon, p.lat, p.at
           FROM unnest($1::int[]) AS u(unit_id)
           JOIN devices d ON d.unit_id = u.unit_id AND d.revoked_at IS NULL
           LEFT JOIN unnest($4::int[], $5::timestamptz[]) AS k(device_id, at) ON k.device_id = d.id
           CROSS JOIN LATERAL (
               SELECT lon, lat, at FROM positions
               WHERE unit_id = d.unit_id AND device_id = d.id AND NOT late AND at >= greatest($3, k.at)
               ORDER BY at DESC LIMIT 1) p
           WHERE NOT EXISTS (SELECT 1 FROM unnest($2::int[]) AS h(id) WHERE h.id = d.id)
             AND (k.at IS NULL OR p.at > k.at)""",
            list(unit_ids),
            list(here),
            since,
            list(known),
            list(known.values()),
        )
    return [(r["id"], r["unit_id"], r["lon"], r["lat"], r["at"]) for r in rows]
