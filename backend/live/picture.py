"""The live picture: per unit its latest status, position and geofence state. Pure: no I/O, no awaits.

The rules the operator tick runs live here (`LivePicture.tick`): the geofence pass over units that moved, a
unit on duty going stale when no live position came for `stale_after_s`, and a duo's devices reporting fixes
further apart than `partners_apart_m`. Late (buffered) positions are history: they move the unit on the map
if they are its newest, but they never raise an alert and never end staleness. The geofence therefore runs
on a unit's newest *live* position, never on the shown one, whatever order live and late fixes arrive in.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

import msgspec

from backend.alerts.logic import NewAlert
from backend.geofencing.logic import (
    AnyFenceEvent,
    BeatEntered,
    BeatLeft,
    OutsideAssignedBeat,
    PreparedBeats,
    UnitFence,
    containing_beats_many,
    evaluate,
)
from shared.geo import distance_m
from shared.protocol import AlertKind, PartnerFix, PositionReported, UnitStatus, UnitView


@dataclass(slots=True)
class UnitLive:
    unit_id: int
    org_id: int
    call_sign: str
    status: UnitStatus
    status_since: datetime
    assigned: frozenset[int] = frozenset()
    lon: float | None = None
    lat: float | None = None
    at: datetime | None = None
    accuracy_m: float | None = None
    speed_mps: float | None = None
    heading_deg: float | None = None
    fence: UnitFence = field(
        default_factory=lambda: UnitFence(beats=frozenset(), outside_assigned=None, at=None)
    )
    stale: bool = False
    partners_apart: bool = False  # the duo's devices report positions far apart
    fence_due: bool = False  # a live position arrived that the geofence has not yet seen
    live_at: datetime | None = None  # time of the last live (not buffered) position: staleness counts from it
    live_lon: float | None = None  # where that live position was: the geofence looks only at it
    live_lat: float | None = None

    def __post_init__(self) -> None:
        if self.live_at is None:  # a position loaded from the database (unit_live) was a live one
            self.live_at, self.live_lon, self.live_lat = self.at, self.lon, self.lat

    def view(self) -> UnitView:
        return UnitView(
            unit_id=self.unit_id,
            org_id=self.org_id,
            call_sign=self.call_sign,
            status=self.status,
            status_since=self.status_since,
            lon=self.lon,
            lat=self.lat,
            at=self.at,
            accuracy_m=self.accuracy_m,
            speed_mps=self.speed_mps,
            heading_deg=self.heading_deg,
            beat_ids=tuple(sorted(self.fence.beats)),
            assigned_beat_ids=tuple(sorted(self.assigned)),
            outside_assigned=self.fence.outside_assigned,
            stale=self.stale,
            partners_apart=self.partners_apart,
        )

    def alert(self, kind: AlertKind, at: datetime, *, live: bool = False) -> NewAlert:
        """An alert at the shown position, or (live) at the newest live one."""
        lon, lat = (self.live_lon, self.live_lat) if live else (self.lon, self.lat)
        return NewAlert(
            org_id=self.org_id,
            unit_id=self.unit_id,
            call_sign=self.call_sign,
            kind=kind,
            at=at,
            lon=lon,
            lat=lat,
        )


class PictureTick(msgspec.Struct, frozen=True, kw_only=True):
    """What one tick found: beats entered and left (history) and the alerts it raises, in that order:
    outside the assigned beat, position stale, partners apart."""

    moves: list[BeatEntered | BeatLeft]
    raised: list[NewAlert]


class LivePicture:
    def __init__(self, beats: PreparedBeats) -> None:
        self.beats = beats
        self.units: dict[int, UnitLive] = {}
        self.dirty: set[int] = set()
        self.device_fixes: dict[
            int, tuple[int, float, float, datetime]
        ] = {}  # device -> (unit, lon, lat, at)

    def load(self, units: list[UnitLive]) -> None:
        """Start from the units as stored; their geofence state is computed, but a restart is no news."""
        for unit in units:
            self.put_unit(unit)
            self.units[unit.unit_id].fence_due = unit.lon is not None
        self.run_geofence()

    def call_sign(self, unit_id: int | None) -> str | None:
        unit = None if unit_id is None else self.units.get(unit_id)
        return None if unit is None else unit.call_sign

    def put_unit(self, unit: UnitLive) -> None:
        old = self.units.get(unit.unit_id)
        if old is not None and unit.lon is None:
            unit.lon, unit.lat, unit.at, unit.live_at = old.lon, old.lat, old.at, old.live_at
            unit.live_lon, unit.live_lat = old.live_lon, old.live_lat
            unit.accuracy_m, unit.speed_mps, unit.heading_deg = old.accuracy_m, old.speed_mps, old.heading_deg
            unit.fence = old.fence
        if old is not None and unit.assigned != old.assigned:
            unit.fence_due = unit.lon is not None
        self.units[unit.unit_id] = unit
        self.dirty.add(unit.unit_id)

    def apply_position(self, unit_id: int, frame: PositionReported, device_id: int | None = None) -> bool:
        """Take a position into the picture; a late one only if it is still the newest. True if it changed."""
        if device_id is not None and not frame.late:
            known = self.device_fixes.get(device_id)
            if known is None or frame.at > known[3]:
                self.device_fixes[device_id] = (unit_id, frame.lon, frame.lat, frame.at)
        unit = self.units.get(unit_id)
        if unit is None:
            return False
        # a buffered position is history: never geofenced, and it does not end staleness
        if not frame.late and (unit.live_at is None or frame.at > unit.live_at):
            unit.live_lon, unit.live_lat, unit.live_at = frame.lon, frame.lat, frame.at
            unit.fence_due = True
            unit.stale = False
            self.dirty.add(unit_id)
        if unit.at is not None and frame.at <= unit.at:
            return False
        unit.lon, unit.lat, unit.at = frame.lon, frame.lat, frame.at
        unit.accuracy_m, unit.speed_mps, unit.heading_deg = (
            frame.accuracy_m,
            frame.speed_mps,
            frame.heading_deg,
        )
        self.dirty.add(unit_id)
        return True

    def apply_status(self, unit_id: int, status: UnitStatus, at: datetime) -> bool:
        unit = self.units.get(unit_id)
        if unit is None or at < unit.status_since or unit.status == status:
            return False
        unit.status, unit.status_since = status, at
        self.dirty.add(unit_id)
        return True

    def tick(self, now: datetime, *, stale_after_s: float, partners_apart_m: float) -> PictureTick:
        """One operator tick's rules: geofence the moved units, then find the stale and the apart ones."""
        events = self.run_geofence()
        stale = self.mark_stale(now, stale_after_s)
        apart = self.find_partners_apart(now, partners_apart_m, stale_after_s)
        raised = [
            self.units[e.unit_id].alert(AlertKind.OUTSIDE_ASSIGNED_BEAT, e.at, live=True)
            for e in events
            if isinstance(e, OutsideAssignedBeat)
        ]
        raised += [u.alert(AlertKind.POSITION_STALE, now) for u in stale]
        raised += [u.alert(AlertKind.PARTNERS_APART, now) for u in apart]
        return PictureTick(moves=[e for e in events if isinstance(e, BeatEntered | BeatLeft)], raised=raised)

    def partner_fixes(self, now: datetime, max_age_s: float) -> dict[int, list[PartnerFix]]:
        """Per unit the current live fix of each of its devices (what the duo partner's tablet is told)."""
        by_unit: dict[int, list[PartnerFix]] = {}
        for device_id, (unit_id, lon, lat, at) in self.device_fixes.items():
            if (now - at).total_seconds() <= max_age_s:
                fix = PartnerFix(device_id=device_id, lon=lon, lat=lat, at=at)
                by_unit.setdefault(unit_id, []).append(fix)
        return by_unit

    def run_geofence(self) -> list[AnyFenceEvent]:
        """Evaluate, in one vectorised pass, every unit with a new live position (at that live position)."""
        due = [
            u
            for u in self.units.values()
            if u.fence_due and u.live_lon is not None and u.live_lat is not None
        ]
        if not due:
            return []
        found = containing_beats_many(
            [u.live_lon for u in due if u.live_lon is not None],
            [u.live_lat for u in due if u.live_lat is not None],
            self.beats,
        )
        events: list[AnyFenceEvent] = []
        for unit, now_beats in zip(due, found, strict=True):
            unit.fence_due = False
            assert unit.live_at is not None
            unit.fence, changes = evaluate(unit.unit_id, unit.fence, now_beats, unit.assigned, unit.live_at)
            events.extend(changes)
            if changes:
                self.dirty.add(unit.unit_id)
        return events

    def mark_stale(self, now: datetime, stale_after_s: float) -> list[UnitLive]:
        """Units on duty whose last position is too old; each is reported once until it moves again."""
        newly = []
        for unit in self.units.values():
            if unit.stale or unit.live_at is None or unit.status == UnitStatus.OFF_DUTY:
                continue
            if (now - unit.live_at).total_seconds() > stale_after_s:
                unit.stale = True
                self.dirty.add(unit.unit_id)
                newly.append(unit)
        return newly

    def find_partners_apart(self, now: datetime, threshold_m: float, max_age_s: float) -> list[UnitLive]:
        """Units whose devices (each boa's tablet or tracker) report live fixes more than threshold_m apart.

        Each unit is reported once when it becomes apart; its `partners_apart` state says whether it still is.
        """
        fixes: dict[int, list[tuple[float, float]]] = {}
        for unit_id, lon, lat, at in self.device_fixes.values():
            if (now - at).total_seconds() <= max_age_s:
                fixes.setdefault(unit_id, []).append((lon, lat))
        newly = []
        for unit in self.units.values():
            points = fixes.get(unit.unit_id, [])
            apart = any(
                distance_m(a[0], a[1], b[0], b[1]) > threshold_m
                for i, a in enumerate(points)
                for b in points[i + 1 :]
            )
            if apart != unit.partners_apart:
                unit.partners_apart = apart
                self.dirty.add(unit.unit_id)
                if apart:
                    newly.append(unit)
        return newly

    def take_dirty(self) -> list[UnitLive]:
        units = [self.units[u] for u in self.dirty if u in self.units]
        self.dirty.clear()
        return units
