"""The independent checker: every hard rule of the rooster verified on a list of assignments, in plain Python.

It imports nothing of the solver (backend/rooster/solver.py): it reads the problem and the assignments the way
a team lead or an inspector would, so a test that runs both catches a rule the model got wrong. History before
`problem.start` counts in every rolling window; the days after the horizon count as free (the next plan, with
this one as its history, keeps the window). Times are local wall-clock (Europe/Amsterdam), the day a shift
starts on is its day (its hours count in that day's week), a week is Monday 00:00 to Sunday 24:00.
docs/rooster.md explains each rule, its article and the setting that tunes it.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

from backend.rooster.rules import days_label, names_label, period_label, rule
from shared.rooster import (
    LATE_NIGHT_END,
    NIGHT_WINDOW,
    Assignment,
    Boa,
    PlanningProblem,
    RuleSettings,
    ShiftType,
    Violation,
)

HOUR = timedelta(hours=1)
DAY = timedelta(days=1)
WEEK = timedelta(days=7)
SPLIT_REST_MIN_HOURS = 32.0  # 5:5: the 72 h per 14 days may be split into periods of at least 32 h
FOREVER = datetime.max - timedelta(days=1000)
NEVER = datetime.min + timedelta(days=1000)


@dataclass(frozen=True)
class Work:
    """One worked (or planned) shift of one boa, in local wall-clock time."""

    a: Assignment
    start: datetime
    end: datetime
    night: bool  # ATW 1:7: more than one hour of work between 00:00 and 06:00
    late: bool  # a night ending after 02:00
    planned: bool  # in the horizon (not history)

    @property
    def hours(self) -> float:
        return (self.end - self.start) / HOUR

    @property
    def day(self) -> date:
        return self.a.day


def shift_times(day: date, shift: ShiftType) -> tuple[datetime, datetime]:
    start = datetime.combine(day, time()) + timedelta(minutes=shift.start_minute)
    return start, start + timedelta(minutes=shift.duration_minutes)


def is_night(start: datetime, end: datetime) -> bool:
    """More than one hour between 00:00 and 06:00 on any day the shift touches (ATW 1:7)."""
    lo, hi = NIGHT_WINDOW
    in_window = timedelta()
    midnight = datetime.combine(start.date(), time())
    while midnight < end:
        w0, w1 = midnight + timedelta(minutes=lo), midnight + timedelta(minutes=hi)
        in_window += max(timedelta(), min(end, w1) - max(start, w0))
        midnight += DAY
    return in_window > HOUR


def is_late_night(start: datetime, end: datetime) -> bool:
    """A night shift ending after 02:00 (the stricter rest and count rules of ATW 5:8)."""
    if not is_night(start, end):
        return False
    end_midnight = datetime.combine(end.date(), time())
    if end == end_midnight:  # ends exactly at midnight: before 02:00
        return False
    return end - end_midnight > timedelta(minutes=LATE_NIGHT_END)


def _num(value: float) -> str:
    rounded = round(value, 1)
    return str(int(rounded)) if rounded == int(rounded) else f"{rounded:.1f}".replace(".", ",")


def _monday(day: date) -> date:
    return day - timedelta(days=day.weekday())


class _Checker:
    def __init__(self, problem: PlanningProblem, assignments: list[Assignment]) -> None:
        self.p = problem
        self.r: RuleSettings = problem.rules
        self.assignments = assignments
        self.types = {t.code: t for t in problem.shift_types}
        self.boas = {b.staff_id: b for b in problem.boas}
        self.first = problem.start
        self.last = problem.start + timedelta(days=problem.days - 1)
        self.horizon_end = datetime.combine(self.last + DAY, time())
        history_days = [h.day for h in problem.history if h.day < problem.start]
        self.known_first = min([*history_days, problem.start])
        self.out: list[Violation] = []
        self.works: dict[str, list[Work]] = defaultdict(list)
        kinds: dict[str, tuple[bool, bool]] = {}
        for a, planned in [
            *((h, False) for h in problem.history if h.day < problem.start),
            *((a, True) for a in assignments),
        ]:
            shift = self.types.get(a.shift_code)
            if shift is None or a.staff_id not in self.boas:
                continue
            start, end = shift_times(a.day, shift)
            if shift.code not in kinds:  # night or not depends on the shift type only, not on the day
                kinds[shift.code] = (is_night(start, end), is_late_night(start, end))
            night, late = kinds[shift.code]
            self.works[a.staff_id].append(Work(a, start, end, night, late, planned))
        for works in self.works.values():
            works.sort(key=lambda w: (w.start, w.end))
        self.absence_hours: dict[tuple[str, date], float] = {}
        self.absent: dict[tuple[str, date], str] = {}
        for ab in problem.absences:
            self.absent[(ab.staff_id, ab.day)] = ab.kind
            if ab.kind in ("verlof", "ziek"):  # ATW 5:2: leave and sickness count as worked hours
                self.absence_hours[(ab.staff_id, ab.day)] = ab.hours

    # -- output ---------------------------------------------------------------------------------------------

    def add(
        self, code: str, what: str, staff_ids: Iterable[str], days: Iterable[date], hard: bool | None = None
    ) -> None:
        r = rule(code)
        ids = list(dict.fromkeys(staff_ids))
        day_list = sorted(set(days))
        names = names_label([self.name(s) for s in ids])
        where = ", ".join(x for x in (names, days_label(day_list)) if x)
        text = f"{what}: {where}" if where else what
        self.out.append(
            Violation(
                rule=code,
                article=r.article,
                text=text,
                staff_ids=ids,
                days=day_list,
                hard=r.hard if hard is None else hard,
            )
        )

    def name(self, staff_id: str) -> str:
        boa = self.boas.get(staff_id)
        return boa.name if boa is not None else staff_id

    def in_horizon(self, day: date) -> bool:
        return self.first <= day <= self.last

    # -- the planning's own rules ---------------------------------------------------------------------------

    def check_known_and_demand(self) -> None:
        slots = {(d.day, d.shift_code, d.beat_id): d.duos for d in self.p.demand}
        for a in self.assignments:
            if a.staff_id not in self.boas:
                self.add("onbekend", f"onbekende boa {a.staff_id}", [], [a.day])
                continue
            if a.shift_code not in self.types:
                self.add("onbekend", f"onbekende dienstsoort {a.shift_code}", [a.staff_id], [a.day])
                continue
            if not self.in_horizon(a.day):
                self.add("vraag", "dienst buiten de planperiode", [a.staff_id], [a.day])
                continue
            duos = slots.get((a.day, a.shift_code, a.beat_id))
            if duos is None:
                self.add(
                    "vraag",
                    f"geen inzet gevraagd ({a.shift_code}, gebied {a.beat_id})",
                    [a.staff_id],
                    [a.day],
                )
            elif not 0 <= a.duo < duos:
                self.add(
                    "vraag",
                    f"duo {a.duo + 1} niet gevraagd ({a.shift_code}, gebied {a.beat_id}, {duos} duo's)",
                    [a.staff_id],
                    [a.day],
                )

    def check_one_per_day(self) -> None:
        per_day: dict[tuple[str, date], list[Assignment]] = defaultdict(list)
        for a in self.assignments:
            per_day[(a.staff_id, a.day)].append(a)
        for (staff, day), found in per_day.items():
            if len(found) > 1:
                self.add("een_dienst_per_dag", f"{len(found)} diensten op één dag", [staff], [day])

    @staticmethod
    def _key(a: Assignment) -> tuple[str, date, str, str, int]:
        return (a.staff_id, a.day, a.shift_code, a.beat_id, a.duo)

    def check_pins_and_frozen(self) -> None:
        have = {self._key(a) for a in self.assignments}
        for pin in self.p.pins:
            if self._key(pin) not in have:
                self.add(
                    "vastgezet", f"vastgezette dienst {pin.shift_code} ontbreekt", [pin.staff_id], [pin.day]
                )
        if self.p.frozen_until is None:
            return
        frozen = self.p.frozen_until

        def is_frozen(a: Assignment) -> bool:
            return self.first <= a.day < frozen

        published = {self._key(a) for a in self.p.published if is_frozen(a)}
        now = {self._key(a) for a in self.assignments if is_frozen(a)}
        for staff, day, code, _, _ in sorted(published - now):
            self.add("bevroren", f"gepubliceerde dienst {code} gewijzigd", [staff], [day])
        for staff, day, code, _, _ in sorted(now - published):
            self.add("bevroren", f"dienst {code} toegevoegd vóór de herplandatum", [staff], [day])

    def check_availability(self) -> None:
        kinds = {"verlof": "verlof", "ziek": "ziek", "niet_beschikbaar": "niet beschikbaar"}
        for staff, works in self.works.items():
            boa = self.boas[staff]
            for w in works:
                if not w.planned:
                    continue
                kind = self.absent.get((staff, w.day))
                if kind is not None:
                    self.add("afwezig", f"ingepland terwijl {kinds[kind]}", [staff], [w.day])
                if w.day.weekday() in boa.fixed_days_off:
                    self.add("vaste_vrije_dag", "ingepland op vaste vrije dag", [staff], [w.day])
                if boa.night_exempt and w.night:
                    self.add("nachtvrijstelling", "nachtdienst ondanks vrijstelling", [staff], [w.day])
                if boa.beat_ids is not None and w.a.beat_id not in boa.beat_ids:
                    self.add("gebied", f"gebied {w.a.beat_id} valt buiten de akte", [staff], [w.day])

    def check_duos(self) -> None:
        qualification = {(d.day, d.shift_code, d.beat_id): d.qualification for d in self.p.demand}
        slots: dict[tuple[date, str, str, int], list[Boa]] = defaultdict(list)
        slot_of: dict[tuple[str, date], tuple[date, str, str, int]] = {}
        for a in self.assignments:
            boa = self.boas.get(a.staff_id)
            if boa is None or a.shift_code not in self.types:
                continue
            slot = (a.day, a.shift_code, a.beat_id, a.duo)
            slots[slot].append(boa)
            slot_of[(a.staff_id, a.day)] = slot
        for (day, code, beat, duo), members in sorted(slots.items(), key=lambda kv: kv[0]):
            ids = [b.staff_id for b in members]
            where = f"{code}, gebied {beat}, duo {duo + 1}"
            if len(members) != 2:
                self.add("duo_paar", f"{len(members)} boa('s) in een duo ({where})", ids, [day])
            needed = qualification.get((day, code, beat))
            if needed and not any(needed in b.qualifications for b in members):
                self.add("kwalificatie", f"niemand met {needed} in het duo ({where})", ids, [day])
            if self.r.duo_needs_experienced and len(members) >= 2 and not any(b.experienced for b in members):
                self.add("duo_ervaren", f"geen ervaren boa in het duo ({where})", ids, [day])
        for pr in self.p.pair_rules:
            days_a = {d for (s, d) in slot_of if s == pr.a}
            for day in sorted(days_a):
                sa, sb = slot_of.get((pr.a, day)), slot_of.get((pr.b, day))
                if sb is None:
                    continue
                if pr.kind == "nooit" and sa == sb:
                    self.add("duo_nooit", "samen in een duo terwijl dat nooit mag", [pr.a, pr.b], [day])
                if pr.kind == "altijd" and sa != sb:
                    self.add(
                        "duo_altijd", "niet samen in een duo terwijl dat altijd moet", [pr.a, pr.b], [day]
                    )

    # -- Arbeidstijdenwet -----------------------------------------------------------------------------------

    def week_hours(self, staff: str) -> dict[date, float]:
        """Hours per week (keyed by its Monday): shifts by their start day, plus verlof/ziek hours (5:2)."""
        hours: dict[date, float] = defaultdict(float)
        for w in self.works[staff]:
            hours[_monday(w.day)] += w.hours
        for (s, day), h in self.absence_hours.items():
            if s == staff:
                hours[_monday(day)] += h
        return hours

    def horizon_mondays(self) -> list[date]:
        mondays, m = [], _monday(self.first)
        while m <= self.last:
            mondays.append(m)
            m += WEEK
        return mondays

    def planned_days(self, staff: str, first: date, last: date) -> list[date]:
        return [w.day for w in self.works[staff] if w.planned and first <= w.day <= last]

    def check_shift_and_week_hours(self, staff: str) -> None:
        r = self.r
        for w in self.works[staff]:
            if w.planned and w.hours > r.max_shift_hours + 1e-9:
                self.add(
                    "atw_5_7_lid_1",
                    f"dienst van {_num(w.hours)} uur (ten hoogste {_num(r.max_shift_hours)})",
                    [staff],
                    [w.day],
                )
        hours = self.week_hours(staff)
        mondays = self.horizon_mondays()
        for m in mondays:
            if hours.get(m, 0.0) > r.max_week_hours + 1e-9:
                week = m.isocalendar()[1]
                self.add(
                    "atw_5_7_lid_2",
                    f"{_num(hours[m])} uur in week {week} (ten hoogste {_num(r.max_week_hours)})",
                    [staff],
                    self.planned_days(staff, m, m + timedelta(days=6)),
                )
        for n, limit, code in (
            (4, r.max_avg_4_weeks_hours, "atw_5_7_lid_3"),
            (16, r.max_avg_16_weeks_hours, "atw_5_7_lid_4"),
        ):
            worst: tuple[float, date] | None = None
            # every window of n consecutive weeks that holds a week of the horizon
            first_start = mondays[0] - timedelta(weeks=n - 1)
            m = first_start
            while m <= mondays[-1]:
                total = sum(hours.get(m + timedelta(weeks=k), 0.0) for k in range(n))
                if total > n * limit + 1e-9 and (worst is None or total > worst[0]):
                    worst = (total, m)
                m += WEEK
            if worst is not None:
                total, m = worst
                end = m + timedelta(weeks=n) - DAY
                self.add(
                    code,
                    f"gemiddeld {_num(total / n)} uur per week over {n} weken (ten hoogste {_num(limit)}, "
                    f"{period_label(m, end)})",
                    [staff],
                    self.planned_days(staff, m, end),
                )

    def check_rest(self, staff: str) -> None:
        r = self.r
        works = self.works[staff]
        reduced_at: list[datetime] = []
        series: list[Work] = []
        for i, w in enumerate(works):
            nxt = works[i + 1] if i + 1 < len(works) else None
            # a series of nights on consecutive days
            if w.night and series and series[-1].night and (w.day - series[-1].day).days == 1:
                series.append(w)
            else:
                series = [w] if w.night else []
            if nxt is None:
                continue
            gap = (nxt.start - w.end) / HOUR
            relevant = w.planned or nxt.planned
            series_ends = len(series) >= r.night_series_length and not (
                nxt.night and (nxt.day - w.day).days == 1
            )
            if series_ends:
                if relevant and gap < r.rest_after_night_series_hours - 1e-9:
                    self.add(
                        "atw_5_8_lid_5",
                        f"{_num(r.rest_after_night_series_hours)} uur rust na {len(series)} nachten",
                        [staff],
                        [s.day for s in series],
                    )
                continue
            if w.late:
                if relevant and gap < r.rest_after_late_night_hours - 1e-9:
                    self.add(
                        "atw_5_8_lid_4",
                        f"{_num(max(gap, 0))} uur rust na nachtdienst tot {w.end:%H:%M} "
                        f"(ten minste {_num(r.rest_after_late_night_hours)})",
                        [staff],
                        [w.day, nxt.day],
                    )
                continue
            if gap >= r.min_daily_rest_hours - 1e-9:
                continue
            if gap < r.reduced_daily_rest_hours - 1e-9:
                if relevant:
                    what = "diensten overlappen" if gap < 0 else f"{_num(gap)} uur rust tussen diensten"
                    self.add(
                        "atw_5_3_lid_1",
                        f"{what} (ten minste {_num(r.min_daily_rest_hours)}, eens per 7 dagen "
                        f"{_num(r.reduced_daily_rest_hours)})",
                        [staff],
                        [w.day, nxt.day],
                    )
                continue
            # a reduced rest: allowed once in every period of 7 x 24 hours
            if reduced_at and w.end - reduced_at[-1] < WEEK:
                if relevant:
                    self.add(
                        "atw_5_3_lid_1",
                        f"tweede ingekorte rust binnen 7 dagen ({_num(gap)} uur, ten minste "
                        f"{_num(r.min_daily_rest_hours)})",
                        [staff],
                        [w.day, nxt.day],
                    )
                continue
            reduced_at.append(w.end)

    def check_nights(self, staff: str) -> None:
        r = self.r
        works = self.works[staff]
        long_nights = []
        for w in works:
            if not w.night:
                continue
            if w.planned and w.hours > r.night_long_max_hours + 1e-9:
                self.add(
                    "atw_5_8_lid_1",
                    f"nachtdienst van {_num(w.hours)} uur (ten hoogste {_num(r.night_long_max_hours)})",
                    [staff],
                    [w.day],
                )
            elif w.hours > r.night_max_hours + 1e-9:
                long_nights.append(w)
        self._count_in_window(
            staff,
            long_nights,
            timedelta(days=14),
            r.night_long_per_14_days,
            "atw_5_8_lid_1",
            lambda n: (
                f"{n} nachtdiensten langer dan {_num(r.night_max_hours)} uur binnen 14 dagen "
                f"(ten hoogste {r.night_long_per_14_days})"
            ),
        )
        late = [w for w in works if w.late]
        self._count_in_window(
            staff,
            late,
            timedelta(weeks=16),
            r.max_late_nights_per_16_weeks,
            "atw_5_8_lid_2",
            lambda n: (
                f"{n} nachtdiensten na 02:00 binnen 16 weken (ten hoogste {r.max_late_nights_per_16_weeks})"
            ),
        )

    def _count_in_window(
        self, staff: str, works: list[Work], span: timedelta, limit: int, code: str, what: object
    ) -> None:
        """At most `limit` of `works` starting within any `span`; one violation per overfull stretch."""
        reported_until = NEVER
        for i, w in enumerate(works):
            inside = [x for x in works[i:] if x.start < w.start + span]
            if len(inside) > limit and any(x.planned for x in inside) and inside[-1].start > reported_until:
                assert callable(what)
                self.add(code, what(len(inside)), [staff], [x.day for x in inside if x.planned])
                reported_until = w.start + span

    def free_intervals(self, staff: str) -> list[tuple[datetime, datetime]]:
        """The boa's free time, from long before the known period to long after the horizon."""
        free, cursor = [], NEVER
        for w in self.works[staff]:
            if w.start > cursor:
                free.append((cursor, w.start))
            cursor = max(cursor, w.end)
        free.append((cursor, FOREVER))
        return free

    def check_weekly_rest(self, staff: str) -> None:
        r = self.r
        free = self.free_intervals(staff)

        def pieces(a: datetime, b: datetime) -> list[float]:
            return [(min(f1, b) - max(f0, a)) / HOUR for f0, f1 in free if min(f1, b) > max(f0, a)]

        mondays = self.horizon_mondays()
        first_known, last_monday = _monday(self.known_first), mondays[-1]
        for m in mondays:
            a = datetime.combine(m, time())
            # a rest that begins within the week (it may run on into the next one): the periods of 7 × 24 h
            # follow one another, and each must hold the start of an uninterrupted weekly rest
            begun = [(f1 - max(f0, a)) / HOUR for f0, f1 in free if f1 > a and max(f0, a) < a + WEEK]
            if max(begun, default=0.0) >= r.weekly_rest_hours - 1e-9:
                continue
            # or 72 hours in the 14 days with the week before or after, in periods of at least 32 hours
            fortnight_ok = any(
                sum(p for p in pieces(f, f + 2 * WEEK) if p >= SPLIT_REST_MIN_HOURS - 1e-9)
                >= r.fortnight_rest_hours - 1e-9
                for f in (a - WEEK, a)
                if first_known <= f.date() and f.date() + WEEK <= last_monday  # both weeks known
            )
            if not fortnight_ok:
                self.add(
                    "atw_5_5_lid_1",
                    f"geen {_num(r.weekly_rest_hours)} uur aaneengesloten rust in week "
                    f"{m.isocalendar()[1]} (of {_num(r.fortnight_rest_hours)} uur in 14 dagen)",
                    [staff],
                    self.planned_days(staff, m, m + timedelta(days=6)),
                )

    def check_sundays(self, staff: str) -> None:
        r = self.r
        first_sunday = self.known_first + timedelta(days=(6 - self.known_first.weekday()) % 7)
        sundays, s = [], first_sunday
        while s <= self.last:
            sundays.append(s)
            s += WEEK
        if not sundays or not any(self.in_horizon(s) for s in sundays):
            return
        worked = set()
        for w in self.works[staff]:
            d = w.start.date()
            while datetime.combine(d, time()) < w.end:
                if d.weekday() == 6:
                    worked.add(d)
                d += DAY
        if len(sundays) >= 52:
            for i in range(len(sundays) - 51):
                window = sundays[i : i + 52]
                if not any(self.in_horizon(s) for s in window):
                    continue
                free = sum(1 for s in window if s not in worked)
                if free < r.min_free_sundays_per_52_weeks:
                    self.add(
                        "atw_5_6_lid_1",
                        f"{free} vrije zondagen in 52 weken (ten minste {r.min_free_sundays_per_52_weeks})",
                        [staff],
                        [s for s in window if s in worked and self.in_horizon(s)],
                    )
                    return
            return
        # a shorter known period: broken only when so many Sundays are worked that no 52 weeks around them can
        # still hold 13 free ones; short of that, falling behind the same share (13 of 52, rounded down) is a
        # warning, not a broken rule: the Sundays nobody planned yet may all be free
        work_limit = 52 - r.min_free_sundays_per_52_weeks
        worked_known = [s for s in sundays if s in worked]
        needed = math.floor(r.min_free_sundays_per_52_weeks * len(sundays) / 52)
        free = len(sundays) - len(worked_known)
        if len(worked_known) > work_limit or free < needed:
            self.add(
                "atw_5_6_lid_1",
                f"{free} van {len(sundays)} zondagen vrij (ten minste {needed}, naar rato van "
                f"{r.min_free_sundays_per_52_weeks} per 52 weken)",
                [staff],
                [s for s in worked_known if self.in_horizon(s)],
                hard=len(worked_known) > work_limit,
            )

    # -- soft findings --------------------------------------------------------------------------------------

    def check_contract_hours(self, staff: str) -> None:
        boa = self.boas[staff]
        target = boa.contract_hours_week * self.p.days / 7
        planned = sum(w.hours for w in self.works[staff] if w.planned)
        planned += sum(h for (s, d), h in self.absence_hours.items() if s == staff and self.in_horizon(d))
        if abs(planned - target) > max(4.0, 0.1 * target):
            self.add(
                "contracturen",
                f"{_num(planned)} van {_num(target)} contracturen ingepland "
                f"({_num(boa.contract_hours_week)} uur per week)",
                [staff],
                [],
            )

    def run(self) -> list[Violation]:
        self.check_known_and_demand()
        self.check_one_per_day()
        self.check_pins_and_frozen()
        self.check_availability()
        self.check_duos()
        for staff in self.boas:
            if self.works.get(staff):
                self.check_shift_and_week_hours(staff)
                self.check_rest(staff)
                self.check_nights(staff)
                self.check_weekly_rest(staff)
                self.check_sundays(staff)
            self.check_contract_hours(staff)
        return self.out


def check(problem: PlanningProblem, assignments: list[Assignment]) -> list[Violation]:
    """Every rule broken by `assignments` (the horizon's) given `problem` (its history, absences, pins...).

    Hard violations (``hard=True``) make a rooster unpublishable as is; soft findings are for the team lead.
    """
    return _Checker(problem, assignments).run()


def hard(violations: list[Violation]) -> list[Violation]:
    return [v for v in violations if v.hard]
