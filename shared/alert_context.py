"""What the console's alarm banner shows beyond the AlertView: where the unit is, who is in it, how to reach
them, what it was doing and who is closest to help (`GET /api/alerts/{alert_id}/context`).

The banner never waits for this: it renders from the AlertView at once and fills these in when they arrive.
"""

from __future__ import annotations

from datetime import datetime

import msgspec

from shared.protocol import TaskState, UnitStatus


class CrewMember(msgspec.Struct, frozen=True, kw_only=True):
    """A boa on the unit's open shift."""

    name: str
    phone: str | None = None
    portofoon: str | None = None


class BeatRef(msgspec.Struct, frozen=True, kw_only=True):
    beat_id: int
    name: str


class CurrentTask(msgspec.Struct, frozen=True, kw_only=True):
    task_id: int
    incident_id: int
    title: str  # as the tablet shows it: "P1 Overlast jeugd — Damstraat 1"
    state: TaskState


class NearbyUnit(msgspec.Struct, frozen=True, kw_only=True):
    """An available unit of the same gemeente that could be sent, nearest first."""

    unit_id: int
    call_sign: str
    status: UnitStatus
    distance_m: float  # straight line (shared.geo.distance_m) from the alarm's position
    stale: bool = False


class AlertContext(msgspec.Struct, frozen=True, kw_only=True):
    alert_id: int
    unit_id: int | None
    call_sign: str | None
    crew: list[CrewMember] = []
    unit_phone: str | None = None
    unit_portofoon: str | None = None
    beats: list[BeatRef] = []  # the buurten the unit is in now (or the alarm was raised in)
    # where: the unit's newest position, else the one the alarm carried
    lon: float | None = None
    lat: float | None = None
    position_at: datetime | None = None
    position_age_s: float | None = None
    accuracy_m: float | None = None
    # the nearest address to where the alarm was raised (the geocoder, in the background); address_state None:
    # not looked up yet; "found"; "none" (no address near); "unreachable"/"off" (only the buurt is known)
    address: str | None = None
    address_state: str | None = None
    task: CurrentTask | None = None
    nearest: list[NearbyUnit] = []
