"""The context of an alarm for the console's banner: crew and how to reach them, where the unit is, its task
and the nearest available units. Reads only; how alerts are raised and stored lives elsewhere."""

from __future__ import annotations

from collections.abc import Collection
from datetime import datetime

from backend.auth.tokens import Principal
from backend.db.pool import Conn
from backend.dispatch.logic import task_title
from backend.dispatch.repository import units_with_active_task
from backend.errors import NotFound
from backend.geofencing.logic import containing_beats
from backend.live.picture import LivePicture, UnitLive
from shared.alert_context import AlertContext, BeatRef, CrewMember, CurrentTask, NearbyUnit
from shared.geo import distance_m
from shared.protocol import TaskState, UnitStatus
from shared.tasks import ACTIVE_TASK_STATES

NEAREST = 3
_ACTIVE = sorted(state.value for state in ACTIVE_TASK_STATES)
NOT_VISIBLE = "alarm niet gevonden (of niet van een gemeente die u bedient)"


async def alert_context(
    conn: Conn, picture: LivePicture, principal: Principal, alert_id: int, now: datetime
) -> AlertContext:
    """The context of one alert the principal may see; NotFound (404) otherwise, the same for both."""
    alert = await conn.fetchrow(
        "SELECT id, org_id, unit_id, payload, address_text, address_state FROM alerts WHERE id = $1", alert_id
    )
    if alert is None or not principal.can_see_org(alert["org_id"]):
        raise NotFound(NOT_VISIBLE, field="alert_id")
    payload = alert["payload"] or {}
    unit_id: int | None = alert["unit_id"]
    live = picture.units.get(unit_id) if unit_id is not None else None
    lon, lat, at, accuracy = _where(live, payload)
    # from the position itself, not the picture's fence: that is only brought up to date at the next tick,
    # and a banner opened right after the alarm must name the buurt all the same
    beat_ids: Collection[int] = ()
    if lon is not None and lat is not None:
        beat_ids = containing_beats(lon, lat, picture.beats)
    unit = None
    if unit_id is not None:
        unit = await conn.fetchrow("SELECT call_sign, phone, portofoon FROM units WHERE id = $1", unit_id)
    return AlertContext(
        alert_id=alert["id"],
        unit_id=unit_id,
        call_sign=unit["call_sign"] if unit else None,
        crew=await _crew(conn, unit_id) if unit_id is not None else [],
        unit_phone=unit["phone"] if unit else None,
        unit_portofoon=unit["portofoon"] if unit else None,
        beats=await _beats(conn, beat_ids, principal.visible_org_ids),
        lon=lon,
        lat=lat,
        position_at=at,
        position_age_s=None if at is None else max(0.0, (now - at).total_seconds()),
        accuracy_m=accuracy,
        address=alert["address_text"],
        address_state=alert["address_state"],
        task=await _task(conn, unit_id) if unit_id is not None else None,
        nearest=nearest_available(
            picture,
            alert["org_id"],
            unit_id,
            lon,
            lat,
            busy=await _units_with_task(conn, alert["org_id"], picture),
        ),
    )


def _where(
    live: UnitLive | None, payload: dict[str, object]
) -> tuple[float | None, float | None, datetime | None, float | None]:
    """The unit's newest position; else the position the alarm carried (without a time or accuracy)."""
    if live is not None and live.lon is not None and live.lat is not None:
        return live.lon, live.lat, live.at, live.accuracy_m
    lon, lat = payload.get("lon"), payload.get("lat")
    if isinstance(lon, int | float) and isinstance(lat, int | float):
        return float(lon), float(lat), None, None
    return None, None, None, None


async def _crew(conn: Conn, unit_id: int) -> list[CrewMember]:
    """The boa's of the unit's open shift, in the order the shift lists them."""
    rows = await conn.fetch(
        """SELECT a.display_name, a.username, a.phone, a.portofoon
           FROM shifts s CROSS JOIN LATERAL unnest(s.account_ids) WITH ORDINALITY AS m(account_id, n)
           JOIN accounts a ON a.id = m.account_id
           WHERE s.unit_id = $1 AND s.ended_at IS NULL ORDER BY m.n""",
        unit_id,
    )
    return [
        CrewMember(name=r["display_name"] or r["username"], phone=r["phone"], portofoon=r["portofoon"])
        for r in rows
    ]


async def _beats(conn: Conn, beat_ids: Collection[int], org_ids: Collection[int]) -> list[BeatRef]:
    """Names of these beats, only of organisations the caller sees."""
    if not beat_ids:
        return []
    rows = await conn.fetch(
        "SELECT id, name FROM beats WHERE id = ANY($1) AND org_id = ANY($2) ORDER BY name",
        sorted(beat_ids),
        sorted(org_ids),
    )
    return [BeatRef(beat_id=r["id"], name=r["name"]) for r in rows]


async def _task(conn: Conn, unit_id: int) -> CurrentTask | None:
    row = await conn.fetchrow(
        """SELECT t.id, t.incident_id, t.state, i.category, i.address, i.priority
           FROM tasks t JOIN incidents i ON i.id = t.incident_id
           WHERE t.unit_id = $1 AND t.state = ANY($2) ORDER BY t.assigned_at DESC LIMIT 1""",
        unit_id,
        _ACTIVE,
    )
    if row is None:
        return None
    return CurrentTask(
        task_id=row["id"],
        incident_id=row["incident_id"],
        title=task_title(row["category"], row["address"], row["priority"]),
        state=TaskState(row["state"]),
    )


async def _units_with_task(conn: Conn, org_id: int, picture: LivePicture) -> set[int]:
    ids = [u.unit_id for u in picture.units.values() if u.org_id == org_id]
    return await units_with_active_task(conn, ids)


def nearest_available(
    picture: LivePicture,
    org_id: int,
    unit_id: int | None,
    lon: float | None,
    lat: float | None,
    *,
    busy: Collection[int] = (),
    limit: int = NEAREST,
) -> list[NearbyUnit]:
    """Available units of the alarm's gemeente with a position and no task, nearest first; a stale position
    last. (A unit just sent is still "beschikbaar" until its tablet accepts, but it is no longer free.)"""
    if lon is None or lat is None:
        return []
    found = [
        NearbyUnit(
            unit_id=u.unit_id,
            call_sign=u.call_sign,
            status=u.status,
            distance_m=round(distance_m(lon, lat, u.lon, u.lat), 1),
            stale=u.stale,
        )
        for u in picture.units.values()
        if u.org_id == org_id
        and u.unit_id != unit_id
        and u.status is UnitStatus.AVAILABLE
        and u.unit_id not in busy
        and u.lon is not None
        and u.lat is not None
    ]
    found.sort(key=lambda n: (n.stale, n.distance_m))
    return found[:limit]
