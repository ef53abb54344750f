"""Dispatch without I/O: which units to propose for a melding, and how task states move.

Distances are straight-line (haversine) metres. Distance along the road network would be better, but no
routing graph is available offline; a routing engine (e.g. OSRM or Valhalla on OSM data) can replace
``distance_m`` here later without changing callers.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

import msgspec

from shared.geo import distance_m
from shared.protocol import TaskState, UnitStatus
from shared.tasks import IMPLIED_UNIT_STATUS

OUTSIDE_BEAT_PENALTY_M = 400.0
"""A unit outside the incident's beat ranks as if it were this much farther away: it knows its own beat,
but a unit just across the border still beats one on the far side of the beat."""

STALE_PENALTY_M = 1000.0
"""A stale position is uncertain: the unit may have walked on since."""

# The "≈ N min lopend / ≈ M min fietsend" estimate of a proposal. An estimate, and the console says so: the
# straight line times a detour factor (streets are not straight; 1.3 is a common factor for old city centres)
# at a steady pace, without waiting at crossings or finding the entrance.
DETOUR_FACTOR = 1.3
WALK_KMH = 5.0  # a brisk walk in uniform with kit
BIKE_KMH = 15.0  # a service bike in city traffic


class IncidentSite(msgspec.Struct, frozen=True, kw_only=True):
    lon: float
    lat: float
    beat_id: int | None = None
    required_domain: int = 1


class Candidate(msgspec.Struct, frozen=True, kw_only=True):
    unit_id: int
    call_sign: str
    status: UnitStatus
    status_since: datetime | None = None
    lon: float | None
    lat: float | None
    beat_ids: tuple[int, ...] = ()
    domains: tuple[int, ...] = (1,)
    stale: bool = False
    busy_with_task: bool = False


class Proposal(msgspec.Struct, frozen=True, kw_only=True):
    unit_id: int
    call_sign: str
    distance_m: float | None  # straight line; None when the unit has no position
    in_beat: bool
    has_domain: bool
    stale: bool
    score_m: float | None  # distance plus penalties: what the ranking uses
    reasons: list[str]  # Dutch, for the operator
    status: UnitStatus = UnitStatus.AVAILABLE
    status_since: datetime | None = None
    task: str | None = None  # the unit's current task (proposed units have none: "geen taak")
    walk_min: int | None = None  # estimate (see travel_minutes), None without a position
    bike_min: int | None = None


def propose_units(site: IncidentSite, units: Iterable[Candidate], limit: int = 5) -> list[Proposal]:
    """Available units, best first: with the required domain, then by distance plus penalties.

    A unit that is not available, or already has an active task, is never proposed. Units without a
    position come last (the operator may still know where they are).
    """
    proposals = []
    for unit in units:
        if unit.status != UnitStatus.AVAILABLE or unit.busy_with_task:
            continue
        in_beat = site.beat_id is not None and site.beat_id in unit.beat_ids
        has_domain = site.required_domain in unit.domains
        reasons = []
        if unit.lon is None or unit.lat is None:
            distance = score = None
            reasons.append("geen positie")
        else:
            distance = distance_m(unit.lon, unit.lat, site.lon, site.lat)
            score = distance
            reasons.append(f"{_km(distance)} hemelsbreed")
            if not in_beat and site.beat_id is not None:
                score += OUTSIDE_BEAT_PENALTY_M
            if unit.stale:
                score += STALE_PENALTY_M
                reasons.append("positie verouderd")
        if in_beat:
            reasons.append("in het gebied")
        if not has_domain:
            reasons.append(f"geen domein {site.required_domain}")
        proposals.append(
            Proposal(
                unit_id=unit.unit_id,
                call_sign=unit.call_sign,
                distance_m=distance,
                in_beat=in_beat,
                has_domain=has_domain,
                stale=unit.stale,
                score_m=score,
                reasons=reasons,
                status=unit.status,
                status_since=unit.status_since,
                walk_min=None if distance is None else travel_minutes(distance, WALK_KMH),
                bike_min=None if distance is None else travel_minutes(distance, BIKE_KMH),
            )
        )
    proposals.sort(key=lambda p: (not p.has_domain, p.score_m is None, p.score_m or 0.0, p.call_sign))
    return proposals[:limit]


def travel_minutes(straight_m: float, kmh: float) -> int:
    """Estimated minutes to cover a straight-line distance at a speed, with the detour factor; at least 1."""
    minutes = straight_m * DETOUR_FACTOR / (kmh * 1000.0 / 60.0)
    return max(1, round(minutes))


def _km(metres: float) -> str:
    return f"{metres:.0f} m" if metres < 1000 else f"{metres / 1000:.1f} km".replace(".", ",")


def task_title(category: str, address: str, priority: int) -> str:
    where = f" — {address}" if address else ""
    return f"P{priority} {category}{where}"


def unit_status_for(state: TaskState, at: datetime) -> tuple[UnitStatus, datetime] | None:
    status = IMPLIED_UNIT_STATUS.get(state)
    return None if status is None else (status, at)
