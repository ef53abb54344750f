"""Alerts in SQL: store one, the open ones an operator sees, acknowledge one; one open routine alert per unit
and kind (the partial unique index of migration 0013), escalation, the alert's timeline (alert_events), the
check-in timers and the organisations' alarm settings."""

from __future__ import annotations

from collections.abc import Collection
from datetime import datetime
from typing import Any

import asyncpg
import msgspec

from backend.db.pool import Conn
from shared.protocol import SAFETY_ALERTS, AlertKind, AlertView

_VIEW_COLUMNS = """a.id, a.kind, a.org_id, a.unit_id, u.call_sign, a.at, a.payload, a.acknowledged_at,
                   acc.display_name AS acknowledged_by, a.escalation_level, a.escalated_at, a.resolved_at"""
ROUTINE_KINDS = ("outside_assigned_beat", "position_stale", "partners_apart")
SAFETY_KINDS = tuple(sorted(k.value for k in SAFETY_ALERTS))


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
    await add_event(conn, alert_id, "raised", at)
    return alert_id


async def insert_routine(
    conn: Conn, *, org_id: int, unit_id: int, kind: str, at: datetime, payload: dict[str, Any]
) -> int | None:
    """Open a routine alert unless the unit has one of this kind open already (then None)."""
    alert_id: int | None = await conn.fetchval(
        """INSERT INTO alerts (org_id, unit_id, kind, at, payload) VALUES ($1, $2, $3, $4, $5)
           ON CONFLICT (unit_id, kind) WHERE resolved_at IS NULL
               AND kind IN ('outside_assigned_beat', 'position_stale', 'partners_apart')
           DO NOTHING RETURNING id""",
        org_id,
        unit_id,
        kind,
        at,
        payload,
    )
    if alert_id is not None:
        await add_event(conn, alert_id, "raised", at)
    return alert_id


async def resolve_routine(conn: Conn, unit_id: int, kind: str, at: datetime) -> AlertView | None:
    """Resolve the unit's open alert of this kind (its condition has been clear long enough)."""
    row = await conn.fetchrow(
        f"""WITH a AS (UPDATE alerts SET resolved_at = $3
                      WHERE unit_id = $1 AND kind = $2 AND resolved_at IS NULL RETURNING *)
           SELECT {_VIEW_COLUMNS}
           FROM a LEFT JOIN units u ON u.id = a.unit_id
           LEFT JOIN accounts acc ON acc.id = a.acknowledged_by""",
        unit_id,
        kind,
        at,
    )
    if row is None:
        return None
    await add_event(conn, row["id"], "resolved", at)
    return _view(row)


async def open_routine(conn: Conn) -> list[tuple[int, str]]:
    """(unit, kind) of every open routine alert: the picture raises no second one after a restart."""
    rows = await conn.fetch(
        "SELECT unit_id, kind FROM alerts WHERE resolved_at IS NULL AND unit_id IS NOT NULL"
        " AND kind = ANY($1::text[])",
        list(ROUTINE_KINDS),
    )
    return [(r["unit_id"], r["kind"]) for r in rows]


async def add_event(
    conn: Conn,
    alert_id: int,
    kind: str,
    at: datetime,
    *,
    level: int | None = None,
    account_id: int | None = None,
    detail: dict[str, Any] | None = None,
) -> None:
    """One step on an alert's timeline."""
    await conn.execute(
        """INSERT INTO alert_events (alert_id, at, kind, level, account_id, detail)
           VALUES ($1, $2, $3, $4, $5, $6)""",
        alert_id,
        at,
        kind,
        level,
        account_id,
        detail or {},
    )


async def unacknowledged_safety(conn: Conn) -> list[tuple[AlertView, int | None]]:
    """Open safety alerts nobody acknowledged (to escalate), oldest first, with their raising device."""
    rows = await conn.fetch(
        f"""SELECT {_VIEW_COLUMNS}
           FROM alerts a LEFT JOIN units u ON u.id = a.unit_id
           LEFT JOIN accounts acc ON acc.id = a.acknowledged_by
           WHERE a.acknowledged_at IS NULL AND a.resolved_at IS NULL AND a.kind = ANY($1::text[])
             AND a.at > now() - interval '1 day'
           ORDER BY a.at""",
        list(SAFETY_KINDS),
    )
    return [(_view(r), (r["payload"] or {}).get("device_id")) for r in rows]


async def alert_by_id(conn: Conn, alert_id: int) -> tuple[AlertView, int | None] | None:
    """One alert as operators see it, with its raising device (another instance told us its id)."""
    r = await conn.fetchrow(
        f"""SELECT {_VIEW_COLUMNS}
           FROM alerts a LEFT JOIN units u ON u.id = a.unit_id
           LEFT JOIN accounts acc ON acc.id = a.acknowledged_by
           WHERE a.id = $1""",
        alert_id,
    )
    return None if r is None else (_view(r), (r["payload"] or {}).get("device_id"))


async def seen_owed(conn: Conn, device_id: int, unit_id: int | None, since: datetime) -> list[AlertView]:
    """The acknowledged safety alerts a device that connects now is told "gezien" about again: the latest one
    acknowledged since `since` that it raised itself, and the latest of its unit (at most two, maybe one).
    From the alerts table, so any instance knows them, also one started after the acknowledgement."""
    rows = await conn.fetch(
        f"""(SELECT {_VIEW_COLUMNS}
             FROM alerts a LEFT JOIN units u ON u.id = a.unit_id
             LEFT JOIN accounts acc ON acc.id = a.acknowledged_by
             WHERE a.acknowledged_at > $3 AND a.kind = ANY($4::text[])
               AND a.payload->>'device_id' = $1::int::text
             ORDER BY a.acknowledged_at DESC, a.id DESC LIMIT 1)
            UNION
            (SELECT {_VIEW_COLUMNS}
             FROM alerts a LEFT JOIN units u ON u.id = a.unit_id
             LEFT JOIN accounts acc ON acc.id = a.acknowledged_by
             WHERE a.acknowledged_at > $3 AND a.kind = ANY($4::text[]) AND a.unit_id = $2
             ORDER BY a.acknowledged_at DESC, a.id DESC LIMIT 1)""",
        device_id,
        unit_id,
        since,
        list(SAFETY_KINDS),
    )
    return sorted((_view(r) for r in rows), key=lambda v: (v.acknowledged_at, v.alert_id))


async def alerts_changed_since(conn: Conn, since: datetime) -> list[int]:
    """The alerts raised, escalated, acknowledged or resolved since `since` (catching up after a gap)."""
    rows = await conn.fetch(
        """SELECT id FROM alerts
           WHERE at >= $1 OR escalated_at >= $1 OR acknowledged_at >= $1 OR resolved_at >= $1
           ORDER BY id""",
        since,
    )
    return [r["id"] for r in rows]


async def escalate(
    conn: Conn, alert_id: int, level: int, at: datetime, told: list[dict[str, Any]]
) -> AlertView | None:
    """Store escalation step `level` (unless it was acknowledged meanwhile) and who was told."""
    row = await conn.fetchrow(
        f"""WITH a AS (UPDATE alerts SET escalation_level = $2, escalated_at = $3
                      WHERE id = $1 AND acknowledged_at IS NULL AND escalation_level < $2 RETURNING *)
           SELECT {_VIEW_COLUMNS}
           FROM a LEFT JOIN units u ON u.id = a.unit_id
           LEFT JOIN accounts acc ON acc.id = a.acknowledged_by""",
        alert_id,
        level,
        at,
    )
    if row is None:
        return None
    await add_event(conn, alert_id, "escalated", at, level=level, detail={"told": told})
    return _view(row)


class TimelineStep(msgspec.Struct, frozen=True, kw_only=True):
    at: datetime
    kind: str  # raised, escalated, acknowledged, resolved, told_resolved
    level: int | None = None
    by: str | None = None  # who acknowledged
    detail: dict[str, Any] = {}


async def alert_org(conn: Conn, alert_id: int) -> int | None:
    org_id: int | None = await conn.fetchval("SELECT org_id FROM alerts WHERE id = $1", alert_id)
    return org_id


async def timeline(conn: Conn, alert_id: int) -> list[TimelineStep]:
    rows = await conn.fetch(
        """SELECT e.at, e.kind, e.level, acc.display_name AS by, e.detail
           FROM alert_events e LEFT JOIN accounts acc ON acc.id = e.account_id
           WHERE e.alert_id = $1 ORDER BY e.at, e.id""",
        alert_id,
    )
    return [
        TimelineStep(at=r["at"], kind=r["kind"], level=r["level"], by=r["by"], detail=r["detail"] or {})
        for r in rows
    ]


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
        f"""WITH old AS (SELECT id, acknowledged_at IS NULL AS fresh FROM alerts
                        WHERE id = $1 AND org_id = ANY($3) FOR UPDATE),
                a AS (UPDATE alerts SET acknowledged_at = coalesce(acknowledged_at, now()),
                           acknowledged_by = coalesce(acknowledged_by, $2)
                      WHERE id = (SELECT id FROM old) RETURNING *)
           SELECT {_VIEW_COLUMNS}, (SELECT fresh FROM old) AS fresh
           FROM a LEFT JOIN units u ON u.id = a.unit_id
           LEFT JOIN accounts acc ON acc.id = a.acknowledged_by""",
        alert_id,
        account_id,
        list(org_ids),
    )
    if row is None:
        return None
    if row["acknowledged_by"] is not None and row["fresh"]:
        await add_event(conn, alert_id, "acknowledged", row["acknowledged_at"], account_id=account_id)
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
        escalation_level=r["escalation_level"],
        escalated_at=r["escalated_at"],
        resolved_at=r["resolved_at"],
    )


# --- check-in timers --------------------------------------------------------------------------------------


async def set_checkin(
    conn: Conn,
    *,
    device_id: int,
    org_id: int,
    unit_id: int | None,
    next_due: datetime | None,
    at: datetime,
) -> None:
    """(Re)start the device's check-in timer, or stop it (next_due None); an older one does nothing."""
    if next_due is None:
        await conn.execute("DELETE FROM checkin_timers WHERE device_id = $1 AND set_at <= $2", device_id, at)
        return
    await conn.execute(
        """INSERT INTO checkin_timers (device_id, org_id, unit_id, next_due, set_at)
           VALUES ($1, $2, $3, $4, $5)
           ON CONFLICT (device_id) DO UPDATE SET org_id = EXCLUDED.org_id, unit_id = EXCLUDED.unit_id,
               next_due = EXCLUDED.next_due, set_at = EXCLUDED.set_at, missed_alert = NULL
           WHERE checkin_timers.set_at <= EXCLUDED.set_at""",
        device_id,
        org_id,
        unit_id,
        next_due,
        at,
    )


async def checkin_timers(conn: Conn) -> list[asyncpg.Record]:
    rows: list[asyncpg.Record] = await conn.fetch(
        "SELECT device_id, org_id, unit_id, next_due, set_at, missed_alert IS NOT NULL AS fired"
        " FROM checkin_timers"
    )
    return rows


async def claim_missed_checkin(conn: Conn, device_id: int, next_due: datetime) -> bool:
    """Lock the run-out timer for raising its one alert; False when a newer check-in came or it fired."""
    found = await conn.fetchval(
        """SELECT 1 FROM checkin_timers WHERE device_id = $1 AND next_due = $2 AND missed_alert IS NULL
           FOR UPDATE""",
        device_id,
        next_due,
    )
    return found is not None


async def mark_checkin_missed(conn: Conn, device_id: int, alert_id: int) -> None:
    await conn.execute(
        "UPDATE checkin_timers SET missed_alert = $2 WHERE device_id = $1", device_id, alert_id
    )


# --- alarm settings ---------------------------------------------------------------------------------------


_SETTINGS_COLUMNS = "escalate_after_s, repeat_after_s, notify_partner, nearest_units, notify_teamlead"


async def all_alarm_settings(conn: Conn) -> dict[int, dict[str, Any]]:
    rows = await conn.fetch(f"SELECT org_id, {_SETTINGS_COLUMNS} FROM alarm_settings")
    return {r["org_id"]: {k: r[k] for k in _SETTINGS_COLUMNS.split(", ")} for r in rows}


async def alarm_settings(conn: Conn, org_id: int) -> dict[str, Any] | None:
    row = await conn.fetchrow(f"SELECT {_SETTINGS_COLUMNS} FROM alarm_settings WHERE org_id = $1", org_id)
    return None if row is None else dict(row)


async def put_alarm_settings(conn: Conn, org_id: int, values: dict[str, Any], account_id: int) -> None:
    await conn.execute(
        f"""INSERT INTO alarm_settings (org_id, {_SETTINGS_COLUMNS}, updated_by)
           VALUES ($1, $2, $3, $4, $5, $6, $7)
           ON CONFLICT (org_id) DO UPDATE SET escalate_after_s = EXCLUDED.escalate_after_s,
               repeat_after_s = EXCLUDED.repeat_after_s, notify_partner = EXCLUDED.notify_partner,
               nearest_units = EXCLUDED.nearest_units, notify_teamlead = EXCLUDED.notify_teamlead,
               updated_at = now(), updated_by = EXCLUDED.updated_by""",
        org_id,
        values["escalate_after_s"],
        values["repeat_after_s"],
        values["notify_partner"],
        values["nearest_units"],
        values["notify_teamlead"],
        account_id,
    )
