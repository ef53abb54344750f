"""The rooster's planning contract: what the solver is given, what it answers, and what the checker reports.

Pure data (msgspec Structs), shared by the solver (backend/rooster/solver.py, OR-Tools CP-SAT), the
independent checker (backend/rooster/checker.py, plain Python), the rooster API and pages, the tablet (its
planned shift) and the benchmark. Times are local wall-clock (Europe/Amsterdam): a shift is a day plus a shift
type whose start is minutes after that day's midnight and which may run past midnight (a night shift).

Ids are strings (``staff_id`` is the account id as text, ``beat_id`` the beat id as text) so the same problem
can be built from the database, from the demo and from the benchmark's generator.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Literal

import msgspec

Minutes = Annotated[int, msgspec.Meta(ge=0, le=24 * 60)]
Duration = Annotated[int, msgspec.Meta(ge=30, le=16 * 60)]
Hours = Annotated[float, msgspec.Meta(ge=0, le=24 * 7 * 16)]
Weight = Annotated[int, msgspec.Meta(ge=0, le=1_000_000)]
AbsenceKind = Literal["verlof", "ziek", "niet_beschikbaar"]  # verlof and ziek count as worked hours (ATW 5:2)
PairKind = Literal["altijd", "nooit"]  # a pair that must, or may never, patrol together
SolveStatus = Literal["optimaal", "haalbaar", "onhaalbaar", "onbekend"]

NIGHT_WINDOW = (0, 6 * 60)  # ATW 1:7: a nachtdienst has more than one hour of work between 00:00 and 06:00
LATE_NIGHT_END = 2 * 60  # ATW 5:8: nights "ending after 02:00" carry the stricter rest rules


class ShiftType(msgspec.Struct, frozen=True, kw_only=True):
    code: str  # e.g. "vroeg", "dag", "laat", "nacht"; unique per gemeente
    name: str
    start_minute: Minutes  # minutes after the day's midnight
    duration_minutes: Duration  # including breaks; may run past midnight


class Preference(msgspec.Struct, frozen=True, kw_only=True):
    weekday: int | None = None  # 0 = Monday; None = any day
    shift_code: str | None = None  # None = being free that day
    want: bool = True  # True: prefers this; False: prefers not
    weight: Weight = 1


class Boa(msgspec.Struct, frozen=True, kw_only=True):
    staff_id: str
    name: str
    qualifications: list[str] = []  # e.g. geweldsmiddelen, anpr, bhv
    contract_hours_week: float = 36.0
    experienced: bool = False
    night_exempt: bool = False  # vrijstelling nachtdiensten
    fixed_days_off: list[int] = []  # weekdays (0 = Monday) never planned
    beat_ids: list[str] | None = None  # beats in the gemeenten of the boa's akte; None = every beat
    preferences: list[Preference] = []


class Absence(msgspec.Struct, frozen=True, kw_only=True):
    staff_id: str
    day: date
    kind: AbsenceKind
    hours: float = 0.0  # hours counted as worked (ATW 5:2) for verlof/ziek; 0 for niet_beschikbaar


class PairRule(msgspec.Struct, frozen=True, kw_only=True):
    a: str
    b: str
    kind: PairKind


class Demand(msgspec.Struct, frozen=True, kw_only=True):
    day: date
    shift_code: str
    beat_id: str
    duos: int = 1
    qualification: str | None = None  # at least one boa of each duo has it (e.g. anpr)


class Assignment(msgspec.Struct, frozen=True, kw_only=True):
    staff_id: str
    day: date
    shift_code: str
    beat_id: str
    duo: int = 0  # which duo of the (day, shift, beat) demand slot; the two boa's of a duo share it
    pinned: bool = False  # the team lead fixed it: the solver may not move it


class RuleSettings(msgspec.Struct, frozen=True, kw_only=True):
    """The hard rules' numbers (Arbeidstijdenwet, BWBR0007671), configurable where a CAO allows."""

    max_shift_hours: float = 12.0  # 5:7 lid 1
    max_week_hours: float = 60.0  # 5:7 lid 2
    max_avg_4_weeks_hours: float = 55.0  # 5:7 lid 3
    max_avg_16_weeks_hours: float = 48.0  # 5:7 lid 4
    min_daily_rest_hours: float = 11.0  # 5:3 lid 1
    reduced_daily_rest_hours: float = 8.0  # 5:3 lid 1, once per 7 days
    weekly_rest_hours: float = 36.0  # 5:5 lid 1 (per 7 days) ...
    fortnight_rest_hours: float = 72.0  # ... or 72 h per 14 days
    night_max_hours: float = 10.0  # 5:8 lid 1
    night_long_max_hours: float = 12.0  # 5:8 lid 1: up to 12 h ...
    night_long_per_14_days: int = 5  # ... at most 5 times per 14 days
    rest_after_late_night_hours: float = 14.0  # 5:8 lid 4
    rest_after_night_series_hours: float = 46.0  # 5:8 lid 5, after 3 or more nights
    night_series_length: int = 3
    max_late_nights_per_16_weeks: int = 36  # 5:8 lid 2
    min_free_sundays_per_52_weeks: int = 13  # 5:6 lid 1
    duo_needs_experienced: bool = True


class Weights(msgspec.Struct, frozen=True, kw_only=True):
    """The soft rules' weights; coverage is soft with a high weight so a small team still gets a rooster."""

    coverage: Weight = 10_000  # per missing boa in a demanded duo
    contract_hours: Weight = 20  # per hour away from contract hours
    fair_nights: Weight = 30
    fair_weekends: Weight = 30
    fair_evenings: Weight = 10
    preferences: Weight = 5
    continuity: Weight = 3  # same beat / same partner on consecutive shifts
    changes: Weight = 200  # per assignment changed against the published rooster


class PlanningProblem(msgspec.Struct, frozen=True, kw_only=True):
    start: date  # first day of the horizon
    days: int
    shift_types: list[ShiftType]
    boas: list[Boa]
    demand: list[Demand]
    absences: list[Absence] = []
    pair_rules: list[PairRule] = []
    pins: list[Assignment] = []  # must appear as is
    published: list[Assignment] = []  # the published rooster: changes against it cost `changes`
    frozen_until: date | None = None  # repair: published assignments before this day stay as they are
    history: list[Assignment] = []  # worked shifts before `start`, for the rolling windows
    rules: RuleSettings = RuleSettings()
    weights: Weights = Weights()
    time_limit_s: float = 10.0


class Violation(msgspec.Struct, frozen=True, kw_only=True):
    rule: str  # stable code, e.g. "atw_5_8_lid_5"
    article: str  # e.g. "ATW 5:8 lid 5"
    text: str  # Dutch, e.g. "46 uur rust na 3 nachten: Jansen, 12–14 mrt"
    staff_ids: list[str] = []
    days: list[date] = []
    hard: bool = True


class Uncovered(msgspec.Struct, frozen=True, kw_only=True):
    day: date
    shift_code: str
    beat_id: str
    missing: int  # boa's missing (a duo is 2)


class PlanningResult(msgspec.Struct, frozen=True, kw_only=True):
    status: SolveStatus
    assignments: list[Assignment]
    objective: float
    bound: float
    wall_s: float
    uncovered: list[Uncovered] = []
    changed: int = 0  # assignments that differ from `published`

    @property
    def gap(self) -> float:
        return 0.0 if self.objective == 0 else abs(self.objective - self.bound) / abs(self.objective)


# --- the published rooster in the field: a boa's own shifts (tablet), planned against actual (console) ---
# Read from the latest published version of each plan. Ids here are the database's integers (the tablet
# preselects its partner and beat with them); times are aware datetimes (UTC on the wire).

DuoState = Literal["gestart", "partner_ontbreekt", "te_laat", "gepland"]
LATE_AFTER_MINUTES = 10  # a planned duo without a running shift this long after its start is late


class PlannedShiftView(msgspec.Struct, frozen=True, kw_only=True):
    """One published shift of one boa: when, where and with whom."""

    day: date
    shift_code: str
    shift_name: str
    starts_at: datetime
    ends_at: datetime
    beat_id: int
    beat_name: str
    partner_id: int | None = None  # None: planned alone (or the partner's half is not published)
    partner_name: str | None = None
    org_id: int = 0
    plan_id: int = 0
    version: int = 0  # the published version number it comes from


class DuoMember(msgspec.Struct, frozen=True, kw_only=True):
    account_id: int
    name: str
    on_shift: bool = False  # on a running shift (with the duo, or elsewhere)


class PlannedDuo(msgspec.Struct, frozen=True, kw_only=True):
    """A planned duo now or soon, with what is actually running.

    ``gestart``: a shift runs with the planned boa's; ``partner_ontbreekt``: a shift runs with only part of
    them (``missing`` names who is not on it); ``te_laat``: no shift and the start is ``LATE_AFTER_MINUTES``
    past; ``gepland``: not started and not late yet."""

    org_id: int
    gemeente: str
    day: date
    shift_code: str
    shift_name: str
    starts_at: datetime
    ends_at: datetime
    beat_id: int
    beat_name: str
    members: list[DuoMember]
    state: DuoState
    late_minutes: int = 0  # how long past the start without a shift (te_laat)
    unit_id: int | None = None  # the running shift's unit
    call_sign: str | None = None
    started_at: datetime | None = None
    missing: list[str] = []  # planned boa's not on the duo's running shift
    others: list[str] = []  # on the running shift without being planned in this duo
    other_beat: bool = False  # the running shift does not have the planned beat


class UnplannedShift(msgspec.Struct, frozen=True, kw_only=True):
    shift_id: int
    org_id: int
    unit_id: int
    call_sign: str
    crew: list[str] = []
    started_at: datetime | None = None


class PlannedVsActual(msgspec.Struct, frozen=True, kw_only=True):
    at: datetime
    late_after_minutes: int = LATE_AFTER_MINUTES
    duos: list[PlannedDuo] = []  # late first, then partner missing, planned, started; by start
    unplanned: list[UnplannedShift] = []  # running shifts in a gemeente with a rooster, in no planned duo
