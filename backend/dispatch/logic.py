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
    priority: int = 2  # 1 (spoed) may take a unit from a lower-priority task


class CurrentTask(msgspec.Struct, frozen=True, kw_only=True):
    """A unit's most urgent active task (repository.current_tasks): what a busy proposal shows."""

    task_id: int
    incident_id: int
    priority: int
    category: str
    description: str = ""
    address: str = ""
    state: TaskState = TaskState.ASSIGNED


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
    current_task: CurrentTask | None = None
    on_this_incident: bool = False  # already has an active task for this melding: never proposed again


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
    task: str | None = None  # the unit's current task as the operator reads it; None: "geen taak"
    walk_min: int | None = None  # estimate (see travel_minutes), None without a position
    bike_min: int | None = None
    busy: bool = False  # not available or on a task: ranked after every free unit, never the first choice
    task_id: int | None = None
    task_incident_id: int | None = None
    task_priority: int | None = None
    task_state: TaskState | None = None
    may_take: bool = False  # a P1 may take this unit from its lower-priority task


NEVER_PROPOSED = frozenset({UnitStatus.OFF_DUTY, UnitStatus.EMERGENCY})
"""Off duty is not there; a unit in an emergency needs help itself."""

TASK_TEXT_MAX = 90


def propose_units(site: IncidentSite, units: Iterable[Candidate], limit: int = 5) -> list[Proposal]:
    """Free units first, best first: with the required domain, then by distance plus penalties; then the busy
    ones (not available, or on a task), ranked the same way after them, those a P1 may take first.

    Up to ``limit`` of each. Units without a position come last in their group (the operator may still know
    where they are). Off duty and emergency units, and units already on this melding, are never listed.
    """
    free: list[Proposal] = []
    busy: list[Proposal] = []
    for unit in units:
        if unit.status in NEVER_PROPOSED or unit.on_this_incident:
            continue
        proposal = _proposal(site, unit)
        (busy if proposal.busy else free).append(proposal)

    def rank(p: Proposal) -> tuple[bool, bool, bool, float, str]:
        return (not p.has_domain, not p.may_take, p.score_m is None, p.score_m or 0.0, p.call_sign)

    free.sort(key=rank)
    busy.sort(key=rank)
    return free[:limit] + busy[:limit]


def _proposal(site: IncidentSite, unit: Candidate) -> Proposal:
    in_beat = site.beat_id is not None and site.beat_id in unit.beat_ids
    has_domain = site.required_domain in unit.domains
    current = unit.current_task
    busy = unit.status != UnitStatus.AVAILABLE or unit.busy_with_task or current is not None
    may_take = busy and current is not None and takes_over(site.priority, current.priority)
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
    if may_take and current is not None:
        reasons.append(f"P1 gaat voor: mag van de P{current.priority}-taak worden gehaald")
    elif current is not None:
        reasons.append("bezet: pas vrij na de huidige taak")
    elif busy:
        reasons.append("niet beschikbaar gemeld")  # aanrijdend, ter plaatse, bezet or pauze of its own
    return Proposal(
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
        task=None if current is None else task_text(current),
        walk_min=None if distance is None else travel_minutes(distance, WALK_KMH),
        bike_min=None if distance is None else travel_minutes(distance, BIKE_KMH),
        busy=busy,
        task_id=None if current is None else current.task_id,
        task_incident_id=None if current is None else current.incident_id,
        task_priority=None if current is None else current.priority,
        task_state=None if current is None else current.state,
        may_take=may_take,
    )


def takes_over(priority: int, task_priority: int) -> bool:
    """Whether assigning a unit to a melding of `priority` takes it from its task on a melding of
    `task_priority`: only a P1 does, and only from a lower-priority (P2, P3) task. The proposals offer it
    ("Overnemen voor P1") and the assignment releases that task in the same transaction. Any other busy unit
    keeps its task ("Toch koppelen": pas vrij na de huidige taak)."""
    return priority == 1 and task_priority > 1


def melding_text(incident_id: int, priority: int, category: str) -> str:
    """A melding as another melding's timeline names it: "P1-melding #12 (Vechtpartij)"."""
    return f"P{priority}-melding #{incident_id} ({category})"


def takeover_reason(priority: int, category: str) -> str:
    """Why a released task ended, as the tablet shows it (next to the P1 it names the way its list does, by
    category; melding numbers mean nothing to a boa): "overgenomen voor P1: Vechtpartij"."""
    return f"overgenomen voor P{priority}: {category}"


def taken_over_text(call_sign: str, incident_id: int, priority: int, category: str) -> str:
    """The released task's line on its own melding: "HH-03 overgenomen voor P1-melding #12 (Vechtpartij)"."""
    return f"{call_sign} overgenomen voor {melding_text(incident_id, priority, category)}"


def taken_from_text(call_sign: str, incident_id: int, priority: int, category: str) -> str:
    """The P1's timeline note: where the unit came from."""
    return f"{call_sign} overgenomen van {melding_text(incident_id, priority, category)}"


def task_text(task: CurrentTask) -> str:
    """The current task as a proposal row shows it: "P3 Afval — Damstraat 1: zakken naast de container",
    the description cut at a word."""
    text = task_title(task.category, task.address, task.priority)
    description = " ".join(task.description.split())
    if description:
        if len(description) > TASK_TEXT_MAX:
            description = description[:TASK_TEXT_MAX].rsplit(" ", 1)[0] + "…"
        text += f": {description}"
    return text


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
