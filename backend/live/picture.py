"""The live picture: per unit its latest status, position and geofence state. Pure: no I/O, no awaits.

The rules the operator tick runs live here (`LivePicture.tick`): the geofence pass over units that moved, a
unit on duty going stale when no live position came for `stale_after_s`, and a duo's devices reporting fixes
further apart than `partners_apart_m`. Each of these conditions becomes an alert only when it lasts
(`RoutineRules`: hysteresis), a unit has at most one open alert per kind, and that alert resolves once the
condition has been clear for `clear_s`. Late (buffered) positions are history: they move the unit on the map
if they are its newest, but they never raise an alert and never end staleness. The geofence therefore runs
on a unit's newest *live* position, never on the shown one, whatever order live and late fixes arrive in.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import datetime

import msgspec
import shapely

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

ROUTINE_KINDS = (AlertKind.OUTSIDE_ASSIGNED_BEAT, AlertKind.POSITION_STALE, AlertKind.PARTNERS_APART)


@dataclass(frozen=True, slots=True)
class RoutineRules:
    """Hysteresis of the routine alerts. The defaults (all zero) raise at once and resolve at once."""

    outside_min_s: float = 0.0  # outside the assigned beat continuously this long ...
    outside_min_m: float = math.inf  # ... or further than this beyond its border
    stale_min_s: float = 0.0  # stale this much longer
    apart_min_s: float = 0.0  # apart continuously this long
    clear_s: float = 0.0  # an open alert resolves once its condition has been clear this long


@dataclass(slots=True)
class Episode:
    """One routine condition of one unit: since when it holds, whether its alert is open, since when it is
    clear. A condition that returns before `clear_s` continues the same episode (and the same alert)."""

    active_since: datetime | None = None
    cleared_at: datetime | None = None
    open: bool = False
    superseded: bool = False  # the open alert ended (clear long enough) just before the condition returned

    def start(self, at: datetime, clear_s: float) -> None:
        if self.active_since is not None:
            return
        if self.open and self.cleared_at is not None and (at - self.cleared_at).total_seconds() >= clear_s:
            self.open, self.superseded = False, True
        self.active_since, self.cleared_at = at, None

    def end(self, at: datetime) -> None:
        if self.active_since is not None:
            self.active_since, self.cleared_at = None, at


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
    episodes: dict[AlertKind, Episode] = field(default_factory=dict)
    border_m: float | None = None  # how far the live position is beyond the assigned beats (None: not known)

    def episode(self, kind: AlertKind) -> Episode:
        found = self.episodes.get(kind)
        if found is None:
            found = self.episodes[kind] = Episode()
        return found

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
    resolved: list[tuple[int, AlertKind]] = []  # (unit, kind) whose open alert is resolved (before raising)


class LivePicture:
    def __init__(self, beats: PreparedBeats, rules: RoutineRules | None = None) -> None:
        self.beats = beats
        self.rules = rules or RoutineRules()
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
        for unit in self.units.values():  # a restart is no news: an alert was raised before, if due
            outside = unit.episodes.get(AlertKind.OUTSIDE_ASSIGNED_BEAT)
            if outside is not None and outside.active_since is not None:
                outside.open = True

    def mark_open(self, unit_id: int, kind: AlertKind) -> None:
        """The database has an open alert of this kind for the unit (after a restart): raise no second."""
        unit = self.units.get(unit_id)
        if unit is not None:
            unit.episode(kind).open = True

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
        if old is not None:
            unit.episodes, unit.stale, unit.partners_apart = old.episodes, old.stale, old.partners_apart
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
            unit.fence_due, unit.border_m = True, None
            if unit.stale:
                unit.episode(AlertKind.POSITION_STALE).end(frame.at)
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
        """One operator tick's rules: geofence the moved units, find the stale and the apart ones, then raise
        the alerts whose condition lasted long enough and resolve those whose condition has been clear."""
        events = self.run_geofence()
        self.mark_stale(now, stale_after_s)
        self.find_partners_apart(now, partners_apart_m, stale_after_s)
        rules = self.rules
        raised: list[NewAlert] = []
        resolved: list[tuple[int, AlertKind]] = []
        by_kind: dict[AlertKind, list[NewAlert]] = {kind: [] for kind in ROUTINE_KINDS}
        for unit in self.units.values():
            for kind, episode in unit.episodes.items():
                if episode.superseded:
                    episode.superseded = False
                    resolved.append((unit.unit_id, kind))
                if episode.active_since is None:
                    if (
                        episode.open
                        and episode.cleared_at is not None
                        and (now - episode.cleared_at).total_seconds() >= rules.clear_s
                    ):
                        episode.open = False
                        resolved.append((unit.unit_id, kind))
                    continue
                if episode.open or not self._due(unit, kind, episode.active_since, now):
                    continue
                episode.open = True
                if kind is AlertKind.OUTSIDE_ASSIGNED_BEAT:
                    assert unit.live_at is not None
                    by_kind[kind].append(unit.alert(kind, max(unit.live_at, episode.active_since), live=True))
                else:
                    by_kind[kind].append(unit.alert(kind, now))
        for kind in ROUTINE_KINDS:
            raised += by_kind[kind]
        return PictureTick(
            moves=[e for e in events if isinstance(e, BeatEntered | BeatLeft)],
            raised=raised,
            resolved=resolved,
        )

    def _due(self, unit: UnitLive, kind: AlertKind, since: datetime, now: datetime) -> bool:
        """Has the condition lasted long enough (or, outside the beat, gone far enough) to raise?"""
        lasted = (now - since).total_seconds()
        if kind is AlertKind.OUTSIDE_ASSIGNED_BEAT:
            assert unit.live_at is not None
            lasted = max(lasted, (unit.live_at - since).total_seconds())
            return lasted >= self.rules.outside_min_s or self.beyond_border_m(unit) > self.rules.outside_min_m
        if kind is AlertKind.POSITION_STALE:
            return lasted >= self.rules.stale_min_s
        return lasted >= self.rules.apart_min_s

    def beyond_border_m(self, unit: UnitLive) -> float:
        """How far the unit's live position is from the nearest of its assigned beats, in metres."""
        if math.isinf(self.rules.outside_min_m) or unit.live_lon is None or unit.live_lat is None:
            return 0.0
        if unit.border_m is not None:  # measured once per live position
            return unit.border_m
        point = shapely.Point(unit.live_lon, unit.live_lat)
        best = math.inf
        for geometry in self.beats.geometries(unit.assigned):
            line = shapely.shortest_line(geometry, point)
            (x1, y1), (x2, y2) = line.coords
            best = min(best, distance_m(x1, y1, x2, y2))
        unit.border_m = 0.0 if math.isinf(best) else best
        return unit.border_m

    def device_fix(self, device_id: int, unit_id: int, lon: float, lat: float, at: datetime) -> None:
        """A device's live fix read from the database (it reports through another instance): kept if it is
        newer than what the picture has for that device."""
        known = self.device_fixes.get(device_id)
        if known is None or at > known[3] or known[0] != unit_id:
            self.device_fixes[device_id] = (unit_id, lon, lat, at)

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
            outside = unit.episode(AlertKind.OUTSIDE_ASSIGNED_BEAT)
            if unit.fence.outside_assigned:
                started = next((e.at for e in changes if isinstance(e, OutsideAssignedBeat)), unit.live_at)
                outside.start(started, self.rules.clear_s)
            else:
                outside.end(unit.live_at)
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
                unit.episode(AlertKind.POSITION_STALE).start(now, self.rules.clear_s)
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
                episode = unit.episode(AlertKind.PARTNERS_APART)
                if apart:
                    episode.start(now, self.rules.clear_s)
                    newly.append(unit)
                else:
                    episode.end(now)
        return newly

    def take_dirty(self) -> list[UnitLive]:
        units = [self.units[u] for u in self.dirty if u in self.units]
        self.dirty.clear()
        return units
