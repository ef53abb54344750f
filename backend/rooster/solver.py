"""The rooster solver: a PlanningProblem in, a PlanningResult out, with OR-Tools CP-SAT.

The model has one boolean per (boa, duo slot) where a duo slot is one duo of a demanded (day, shift type,
beat); a boa only gets a variable for a slot he or she can take (available that day, not a fixed day off, the
beat in the akte's gemeenten, no night when exempt, a shift type the rules allow). A slot is filled by exactly
two boa's or by none (boa's patrol in pairs); a filled duo has an experienced boa when the rules ask it and a
boa with the demand's qualification. Coverage is soft with a high weight, so a small team gets a rooster with
its open duos listed in `uncovered` instead of no answer.

Hard rules (Arbeidstijdenwet, BWBR0007671; numbers from RuleSettings), with history before `start` counting
in every rolling window and verlof/ziek hours counting as worked hours (art. 5:2):

- at most one shift per day; shift length (5:7 lid 1), night length (5:8 lid 1; long nights at most N per 14
  days);
- hours per rolling 7 days (5:7 lid 2), per rolling 4 weeks (5:7 lid 3, the average times 4) and per
  rolling 16 weeks (5:7 lid 4, the average times 16);
- daily rest between consecutive shifts (5:3 lid 1): below the reduced rest forbidden, below the full rest at
  most once per rolling 7 days;
- weekly rest (5:5 lid 1): every rolling 7 days holds the start of an uninterrupted rest of the weekly rest
  hours (the 72 h per 14 days alternative is not used: the 7-day rule is the stricter one);
- rest after a night ending after 02:00 (5:8 lid 4), after a series of 3 or more nights (5:8 lid 5), at most
  36 such nights per rolling 16 weeks (5:8 lid 2), at least 13 free Sundays per rolling 52 weeks (5:6 lid 1);
- pins, and in a repair every published assignment before `frozen_until` stays as it is, and so does every
  published day after it that is more than REPAIR_REACH days away from a day the absence breaks;
- pair rules: "nooit" never in one duo; "altijd" a fixed duo: either works only with the other, except on a
  day the other is absent (verlof, ziek, niet beschikbaar).

Soft, with Weights: coverage, contract hours, fair spread (the most nights/weekend shifts/evenings any boa
gets), preferences, continuity (the number of different beats a boa patrols), changes against `published`.
The published rooster is the solution hint, so a repair starts from it and changes as little as it must.
"""

from __future__ import annotations

import asyncio
import math
import os
import time
from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import date, timedelta

from ortools.sat.python import cp_model

from shared.rooster import (
    LATE_NIGHT_END,
    NIGHT_WINDOW,
    Assignment,
    Boa,
    PlanningProblem,
    PlanningResult,
    ShiftType,
    SolveStatus,
    Uncovered,
)

Progress = Callable[[float, float, float], None]
DAY = 24 * 60
SCALE = 60  # objective units per weight unit: minute-based terms (contract hours) stay integers
SUNDAY = 6
MAX_CANDIDATES = 16  # boa's per duo slot in a large team (the rest cannot take it in this solve)
REPAIR_REACH = 2  # days around a broken published day that a repair may change too
EVENING_END = 20 * 60  # a shift ending after 20:00 that is not a night is an evening shift

Expr = cp_model.LinearExpr | cp_model.IntVar | int


def is_night(shift: ShiftType) -> bool:
    """ATW 1:7: more than one hour of the shift falls between 00:00 and 06:00."""
    lo, hi = NIGHT_WINDOW
    start, end = shift.start_minute, shift.start_minute + shift.duration_minutes
    overlap = 0
    for base in (0, DAY):
        overlap += max(0, min(end, base + hi) - max(start, base + lo))
    return overlap > 60


def is_late_night(shift: ShiftType) -> bool:
    """ATW 5:8: a night shift ending after 02:00."""
    end = shift.start_minute + shift.duration_minutes
    if end > DAY:
        end -= DAY  # the clock time on the morning it ends
    return is_night(shift) and end > LATE_NIGHT_END


def is_evening(shift: ShiftType) -> bool:
    end = shift.start_minute + shift.duration_minutes
    return not is_night(shift) and end > EVENING_END


def _status(code: object) -> SolveStatus:
    if code == cp_model.OPTIMAL:
        return "optimaal"
    if code == cp_model.FEASIBLE:
        return "haalbaar"
    if code in (cp_model.INFEASIBLE, cp_model.MODEL_INVALID):
        return "onhaalbaar"
    return "onbekend"


class _Callback(cp_model.CpSolverSolutionCallback):
    def __init__(self, progress: Progress | None) -> None:
        super().__init__()
        self.progress = progress
        self.first_s: float | None = None
        self.solutions = 0

    def on_solution_callback(self) -> None:
        self.solutions += 1
        if self.first_s is None:
            self.first_s = self.wall_time
        if self.progress is not None:
            self.progress(self.objective_value / SCALE, self.best_objective_bound / SCALE, self.wall_time)


@dataclass
class _Slot:
    day: int  # index from start
    shift: int
    beat: str
    duo: int
    demanded: bool
    qualification: str | None
    x: dict[int, cp_model.IntVar] = field(default_factory=dict)  # boa index -> var
    fixed: set[int] = field(default_factory=set)  # boa indexes that must be in it
    filled: cp_model.IntVar | int = 0
    cands: list[int] = field(default_factory=list)  # boa indexes that may take it (before variables)


@dataclass
class Model:
    """The built model, kept for the benchmark's figures and for reading the solution."""

    model: cp_model.CpModel
    slots: list[_Slot]
    problem: PlanningProblem
    variables: int
    first_solution_s: float | None = None


def _available_days(problem: PlanningProblem, boa: Boa) -> tuple[set[date], dict[date, float]]:
    """Days the boa cannot work (any absence) and the hours counted as worked (verlof/ziek, ATW 5:2)."""
    absent: set[date] = set()
    counted: dict[date, float] = {}
    for a in problem.absences:
        if a.staff_id == boa.staff_id:
            absent.add(a.day)
            if a.kind in ("verlof", "ziek"):
                counted[a.day] = counted.get(a.day, 0.0) + a.hours
    return absent, counted


def _key(a: Assignment) -> tuple[str, date, str, str, int]:
    return (a.staff_id, a.day, a.shift_code, a.beat_id, a.duo)


def build(problem: PlanningProblem) -> Model:  # noqa: C901 - one model, read top to bottom
    rules, weights = problem.rules, problem.weights
    m = cp_model.CpModel()
    shifts = problem.shift_types
    code_index = {s.code: i for i, s in enumerate(shifts)}
    nights = [is_night(s) for s in shifts]
    late = [is_late_night(s) for s in shifts]
    evening = [is_evening(s) for s in shifts]
    dur = [s.duration_minutes for s in shifts]
    long_night = [nights[i] and dur[i] > rules.night_max_hours * 60 for i in range(len(shifts))]
    allowed_shift = [
        dur[i] <= rules.max_shift_hours * 60 and (not nights[i] or dur[i] <= rules.night_long_max_hours * 60)
        for i in range(len(shifts))
    ]
    days = problem.days
    start = problem.start
    boas = problem.boas
    boa_index = {b.staff_id: i for i, b in enumerate(boas)}

    def day_index(d: date) -> int:
        return (d - start).days

    absent: list[set[int]] = []
    counted_min: list[dict[int, int]] = []
    for b in boas:
        off_days, counted = _available_days(problem, b)
        absent.append({day_index(d) for d in off_days})
        counted_min.append({day_index(d): round(h * 60) for d, h in counted.items()})

    # --- fixed assignments: pins and, in a repair, the published days before frozen_until
    fixed: list[Assignment] = list(problem.pins)
    pinned_staff_days = {(a.staff_id, a.day) for a in problem.pins}
    published_in = [a for a in problem.published if 0 <= day_index(a.day) < days]
    frozen: set[int] = set()  # day indexes whose published rooster stays
    if problem.frozen_until is not None:
        frozen_days = max(0, min(days, day_index(problem.frozen_until)))
        frozen = set(range(frozen_days))
        # a repair opens the days a published assignment no longer holds (its boa absent or gone), with
        # REPAIR_REACH days around them for the rest rules; the other published days stay as they are
        broken = {
            day_index(a.day)
            for a in published_in
            if day_index(a.day) >= frozen_days
            and (a.staff_id not in boa_index or day_index(a.day) in absent[boa_index[a.staff_id]])
        }
        if broken:
            near = {d for b in broken for d in range(b - REPAIR_REACH, b + REPAIR_REACH + 1)}
            frozen |= {d for d in range(frozen_days, days) if d not in near}
    broken_frozen_slots: set[tuple[int, str, str, int]] = set()
    if frozen:
        by_slot: dict[tuple[int, str, str, int], list[Assignment]] = defaultdict(list)
        for a in published_in:
            if day_index(a.day) in frozen:
                by_slot[(day_index(a.day), a.shift_code, a.beat_id, a.duo)].append(a)
        for slot_key, members in by_slot.items():
            ok = all(
                a.staff_id in boa_index and slot_key[0] not in absent[boa_index[a.staff_id]] for a in members
            )
            if ok:
                fixed.extend(a for a in members if (a.staff_id, a.day) not in pinned_staff_days)
            else:
                broken_frozen_slots.add(slot_key)
    fixed_by_boa_day: dict[tuple[int, int], Assignment] = {}
    for a in fixed:
        if a.staff_id in boa_index and 0 <= day_index(a.day) < days:
            fixed_by_boa_day[(boa_index[a.staff_id], day_index(a.day))] = a

    # --- duo slots
    slots: dict[tuple[int, int, str, int], _Slot] = {}
    for dm in problem.demand:
        di = day_index(dm.day)
        if not 0 <= di < days or dm.shift_code not in code_index:
            continue
        for k in range(dm.duos):
            key = (di, code_index[dm.shift_code], dm.beat_id, k)
            slots[key] = _Slot(di, key[1], dm.beat_id, k, True, dm.qualification)
    for a in fixed:
        di = day_index(a.day)
        if 0 <= di < days and a.shift_code in code_index:
            key = (di, code_index[a.shift_code], a.beat_id, a.duo)
            if key not in slots:
                slots[key] = _Slot(di, key[1], a.beat_id, a.duo, False, None)
            if a.staff_id in boa_index:
                slots[key].fixed.add(boa_index[a.staff_id])

    beat_sets = [set(b.beat_ids) if b.beat_ids is not None else None for b in boas]

    def can_take(bi: int, slot: _Slot) -> bool:
        b = boas[bi]
        if slot.day in absent[bi] or (start + timedelta(days=slot.day)).weekday() in b.fixed_days_off:
            return False
        if not allowed_shift[slot.shift] or (nights[slot.shift] and b.night_exempt):
            return False
        beats = beat_sets[bi]
        return beats is None or slot.beat in beats

    variables = 0
    infeasible = False
    # who can take what: per (day, shift type) the boa's free to work it, per beat those whose akte holds it
    by_beat: dict[str, set[int]] = {}

    def boas_for_beat(beat: str) -> set[int]:
        if beat not in by_beat:
            by_beat[beat] = {bi for bi, bs in enumerate(beat_sets) if bs is None or beat in bs}
        return by_beat[beat]

    free_for: dict[tuple[int, int], list[int]] = {}

    def boas_free(di: int, s: int) -> list[int]:
        if (di, s) not in free_for:
            wd = (start + timedelta(days=di)).weekday()
            free_for[(di, s)] = [
                bi
                for bi, b in enumerate(boas)
                if allowed_shift[s]
                and di not in absent[bi]
                and wd not in b.fixed_days_off
                and not (nights[s] and b.night_exempt)
            ]
        return free_for[(di, s)]

    for slot in slots.values():
        frozen_day = slot.day in frozen
        slot_key = (slot.day, shifts[slot.shift].code, slot.beat, slot.duo)
        for bi in slot.fixed:
            if not can_take(bi, slot):
                infeasible = True  # a pin the rules refuse: reported as onhaalbaar
        if frozen_day and slot_key not in broken_frozen_slots:
            candidates = sorted(slot.fixed)  # a frozen day keeps its published rooster
        else:
            beat_ok = boas_for_beat(slot.beat)
            candidates = [
                bi
                for bi in boas_free(slot.day, slot.shift)
                if bi in beat_ok and (bi, slot.day) not in fixed_by_boa_day
            ]
            candidates += sorted(slot.fixed)
        slot.cands = candidates

    slot_list = list(slots.values())
    # --- the history before the start (constants in every rolling window)
    hist_days = 0
    history_work: dict[tuple[int, int], int] = {}  # (boa, day index < 0) -> shift index
    for h in problem.history:
        di = day_index(h.day)
        if di < 0 and h.staff_id in boa_index and h.shift_code in code_index:
            history_work[(boa_index[h.staff_id], di)] = code_index[h.shift_code]
            hist_days = max(hist_days, -di)
    hist_counted: dict[tuple[int, int], int] = {}
    for bi in range(len(boas)):
        for di, minutes in counted_min[bi].items():
            if di < 0:
                hist_counted[(bi, di)] = minutes
                hist_days = max(hist_days, -di)
    hist_days = min(hist_days, 16 * 7 * 4)
    first = -hist_days

    # the hint: the published rooster (what still stands of it) completed by a greedy pass over the open duos
    published_keys = {_key(a) for a in published_in}
    preplaced: set[tuple[int, int]] = set()
    for si, slot in enumerate(slot_list):
        code = shifts[slot.shift].code
        for bi in slot.cands:
            hk = (boas[bi].staff_id, start + timedelta(days=slot.day), code, slot.beat, slot.duo)
            if bi in slot.fixed or hk in published_keys:
                preplaced.add((bi, si))
    chosen = _greedy(
        problem,
        slot_list,
        absent_days=absent,
        counted=counted_min,
        history=history_work,
        preplaced=preplaced,
        first=first,
    )
    # a large team: each duo slot keeps at most MAX_CANDIDATES boa's (the hint's, then a seeded spread)
    if len(boas) > MAX_CANDIDATES:
        for si, slot in enumerate(slot_list):
            if len(slot.cands) <= MAX_CANDIDATES:
                continue
            keep = [bi for bi in slot.cands if (bi, si) in chosen or bi in slot.fixed]
            spread = sorted(
                (bi for bi in slot.cands if bi not in keep),
                key=lambda bi: (bi * 7919 + si * 104729) % 1_000_003,
            )
            slot.cands = keep + spread[: max(0, MAX_CANDIDATES - len(keep))]

    for slot in slot_list:
        for bi in slot.cands:
            slot.x[bi] = m.new_bool_var("")
            variables += 1
            if bi in slot.fixed:
                m.add(slot.x[bi] == 1)
        if len(slot.x) >= 2:
            slot.filled = m.new_bool_var("")
            m.add(sum(slot.x.values()) == 2 * slot.filled)
        else:
            for v in slot.x.values():
                m.add(v == 0)
            if slot.fixed:
                infeasible = True
    if infeasible:
        m.add_bool_or([])  # no solution: the solver answers onhaalbaar

    # symmetry between the duos of one demand slot: duo k+1 only filled when duo k is, while both have the
    # same candidates (no pins, nothing published, no candidate cut)
    named = {(a.day, a.shift_code, a.beat_id) for a in (*fixed, *published_in)}
    for slot in slot_list:
        if slot.duo == 0 or not slot.demanded:
            continue
        if (start + timedelta(days=slot.day), shifts[slot.shift].code, slot.beat) in named:
            continue
        prev = slots.get((slot.day, slot.shift, slot.beat, slot.duo - 1))
        if prev is not None and not isinstance(slot.filled, int) and prev.x.keys() == slot.x.keys():
            m.add(prev.filled >= slot.filled)

    # --- duo rules
    experienced = {i for i, b in enumerate(boas) if b.experienced}
    quals = [set(b.qualifications) for b in boas]
    for slot in slot_list:
        if isinstance(slot.filled, int):
            continue
        if rules.duo_needs_experienced:
            m.add(sum(v for bi, v in slot.x.items() if bi in experienced) >= slot.filled)
        if slot.qualification:
            m.add(sum(v for bi, v in slot.x.items() if slot.qualification in quals[bi]) >= slot.filled)

    per_boa_day: dict[tuple[int, int], list[tuple[_Slot, cp_model.IntVar]]] = defaultdict(list)
    for slot in slot_list:
        for bi, v in slot.x.items():
            per_boa_day[(bi, slot.day)].append((slot, v))

    for rule in problem.pair_rules:
        if rule.a not in boa_index or rule.b not in boa_index:
            continue
        ia, ib = boa_index[rule.a], boa_index[rule.b]
        for slot in slot_list:
            xa, xb = slot.x.get(ia), slot.x.get(ib)
            if rule.kind == "nooit":
                if xa is not None and xb is not None:
                    m.add(xa + xb <= 1)
            elif xa is not None and xb is not None:
                m.add(xa == xb)
            else:  # one of them cannot take this duo: the other only works it when the partner is absent
                for xv, partner in ((xa, ib), (xb, ia)):
                    if xv is not None and slot.day not in absent[partner]:
                        m.add(xv == 0)

    # --- work per boa, day and shift type: variables in the horizon, constants from the history
    n_shifts = len(shifts)
    work: list[dict[tuple[int, int], Expr]] = []  # per boa: (day, shift) -> 0/1 expression
    for bi in range(len(boas)):
        wb: dict[tuple[int, int], Expr] = {}
        for di in range(first, 0):
            s = history_work.get((bi, di))
            if s is not None:
                wb[(di, s)] = 1
        for di in range(days):
            items = per_boa_day.get((bi, di), [])
            if items:
                m.add_at_most_one([v for _, v in items])  # at most one shift a day
            by_shift: dict[int, list[cp_model.IntVar]] = defaultdict(list)
            for slot, v in items:
                by_shift[slot.shift].append(v)
            for s, vs in by_shift.items():
                if len(vs) == 1:
                    wb[(di, s)] = vs[0]
                else:
                    w = m.new_bool_var("")
                    m.add(w == sum(vs))
                    wb[(di, s)] = w
        work.append(wb)

    def wexpr(bi: int, di: int, s: int) -> Expr:
        return work[bi].get((di, s), 0)

    def is_var(e: Expr) -> bool:
        return not isinstance(e, int)

    def add_le(terms: list[tuple[int, Expr]], rhs: int) -> None:
        """sum(coef * expr) <= rhs, skipped when it cannot be violated (or only history is in it)."""
        const = sum(c * e for c, e in terms if isinstance(e, int))
        var_terms = [(c, e) for c, e in terms if not isinstance(e, int) and c != 0]
        if not var_terms:
            return
        if const + sum(max(c, 0) for c, _ in var_terms) <= rhs:
            return
        if rhs - const == 1 and all(c == 1 and isinstance(e, cp_model.IntVar) for c, e in var_terms):
            m.add_at_most_one([e for _, e in var_terms if isinstance(e, cp_model.IntVar)])  # the fast form
            return
        m.add(
            cp_model.LinearExpr.weighted_sum([e for _, e in var_terms], [c for c, _ in var_terms])
            <= rhs - const
        )

    def shift_interval(di: int, s: int) -> tuple[int, int]:
        st = di * DAY + shifts[s].start_minute
        return st, st + dur[s]

    # which shift pairs on nearby days leave too little rest: (day offset, next shift, below the reduced rest)
    rest_pattern: list[list[tuple[int, int, bool]]] = []
    for s1 in range(n_shifts):
        pattern: list[tuple[int, int, bool]] = []
        end1 = shifts[s1].start_minute + dur[s1]
        hard_need = rules.reduced_daily_rest_hours * 60
        if late[s1]:
            hard_need = max(hard_need, rules.rest_after_late_night_hours * 60)
        need = max(rules.min_daily_rest_hours * 60, hard_need)
        for off in (1, 2):
            for s2 in range(n_shifts):
                rest = off * DAY + shifts[s2].start_minute - end1
                if rest < need:
                    pattern.append((off, s2, rest < hard_need))
        rest_pattern.append(pattern)
    forbid: dict[tuple[int, int, int], list[Expr]] = defaultdict(list)
    # which shifts (day offset, shift type) overlap a weekly rest starting at a shift's end time on day 0
    rest_need = round(rules.weekly_rest_hours * 60)
    ends = sorted({(shifts[s].start_minute + dur[s]) % DAY for s in range(n_shifts)})
    rest_blocking: dict[int, list[tuple[int, int]]] = {}
    for end_min in ends:
        rest_blocking[end_min] = [
            (off, s2)
            for off in range(-1, 2 + math.ceil(rest_need / DAY))
            for s2 in range(n_shifts)
            if off * DAY + shifts[s2].start_minute < end_min + rest_need
            and off * DAY + shifts[s2].start_minute + dur[s2] > end_min
        ]
    # a rest whose blocking shifts include another end time's (same day) adds nothing: drop it
    rest_dominated: set[int] = set()
    for a_end in ends:
        for b_end in ends:
            pa, pb = set(rest_blocking[a_end]), set(rest_blocking[b_end])
            if a_end != b_end and b_end not in rest_dominated and (pb < pa or (pb == pa and b_end < a_end)):
                rest_dominated.add(a_end)
                break

    for bi in range(len(boas)):
        wb = work[bi]
        if not any(is_var(e) for e in wb.values()):
            continue
        day_min: dict[int, list[tuple[int, Expr]]] = defaultdict(list)
        for (di, s), e in wb.items():
            day_min[di].append((dur[s], e))
        for di, minutes in counted_min[bi].items():
            if first <= di < days:
                day_min[di].append((minutes, 1))

        def window(span: int, limit: int, terms: dict[int, list[tuple[int, Expr]]]) -> None:
            """sum over every rolling `span` days (clipped to the days we know) <= limit."""
            per_day = {di: terms.get(di, []) for di in range(first, days)}
            top = [
                sum(c * e if isinstance(e, int) else max(c, 0) for c, e in per_day[di])
                for di in range(first, days)
            ]
            prefix = [0]
            for t in top:
                prefix.append(prefix[-1] + t)
            # terms are non-negative, so a window clipped at the edges is implied by a full one that holds it
            if days - first <= span:
                ranges = [(first, days)]
            else:
                ranges = [(lo, lo + span) for lo in range(first, days - span + 1) if lo + span > 0]
            for lo, hi in ranges:
                if prefix[hi - first] - prefix[lo - first] <= limit:
                    continue
                add_le([t for di in range(lo, hi) for t in per_day[di]], limit)

        window(7, round(rules.max_week_hours * 60), day_min)
        window(28, round(rules.max_avg_4_weeks_hours * 4 * 60), day_min)
        window(112, round(rules.max_avg_16_weeks_hours * 16 * 60), day_min)
        late_terms: dict[int, list[tuple[int, Expr]]] = defaultdict(list)
        long_terms: dict[int, list[tuple[int, Expr]]] = defaultdict(list)
        night_terms: dict[int, list[tuple[int, Expr]]] = defaultdict(list)
        for (di, s), e in wb.items():
            if late[s]:
                late_terms[di].append((1, e))
            if long_night[s]:
                long_terms[di].append((1, e))
            if nights[s]:
                night_terms[di].append((1, e))
        window(112, rules.max_late_nights_per_16_weeks, late_terms)
        if any(long_night):
            window(14, rules.night_long_per_14_days, long_terms)

        # daily rest (5:3 lid 1) and rest after a late night (5:8 lid 4), between shifts on nearby days
        short: list[tuple[int, Expr]] = []  # (day of the first shift, indicator)
        for (di, s1), e1 in list(wb.items()):
            for off, s2, hard in rest_pattern[s1]:
                dj = di + off
                if dj >= days:
                    continue
                e2 = wexpr(bi, dj, s2)
                if (isinstance(e2, int) and e2 == 0) or (not is_var(e1) and not is_var(e2)):
                    continue
                if hard:
                    forbid[(di, s1, dj)].append(e2)
                elif isinstance(e1, int):
                    short.append((di, e2))
                elif isinstance(e2, int):
                    short.append((di, e1))
                else:
                    z = m.new_bool_var("")
                    m.add(z >= e1 + e2 - 1)
                    short.append((di, z))
        for (di, s1, _dj), e2s in forbid.items():
            add_le([(1, wexpr(bi, di, s1)), *((1, e) for e in e2s)], 1)  # one shift a day: one row per day
        forbid.clear()
        if short:
            by_day: dict[int, list[Expr]] = defaultdict(list)
            for di, zs in short:
                by_day[di].append(zs)
            for w0 in range(first - 6, days):
                terms = [(1, z) for di in range(w0, w0 + 7) for z in by_day.get(di, [])]
                add_le(terms, 1)

        # rest after a series of nights (5:8 lid 5)
        series = rules.night_series_length

        for di in range(max(first, -3), days):
            for t in range(n_shifts):
                if not nights[t]:
                    continue
                et = wexpr(bi, di, t)
                if isinstance(et, int) and et == 0:
                    continue
                _, end_t = shift_interval(di, t)
                before: list[tuple[int, Expr]] = []
                for back in range(1, series):
                    before.extend(night_terms.get(di - back, []))
                if not before:
                    continue
                for dj in range(di + 1, min(days, di + 4)):
                    later = []
                    for s2 in range(n_shifts):
                        st2, _ = shift_interval(dj, s2)
                        if st2 - end_t >= rules.rest_after_night_series_hours * 60:
                            continue
                        if dj == di + 1 and nights[s2]:
                            continue  # the series goes on
                        later.append((1, wexpr(bi, dj, s2)))
                    if later:
                        nxt = [(-1, e) for _, e in night_terms.get(di + 1, [])] if di + 1 < days else []
                        add_le([(1, et), *before, *nxt, *later], series)

        # weekly rest (5:5 lid 1): every rolling 7 days hold the start of a rest of weekly_rest_hours
        rest_starts: dict[int, list[Expr]] = defaultdict(list)  # day -> rest-start indicators
        rest_cands: list[tuple[int, dict[tuple[int, int], Expr]]] = []
        for di in range(first, days):
            for end_min in ends:
                t0 = di * DAY + end_min
                if t0 + rest_need > days * DAY:
                    rest_starts[di].append(1)  # the rest runs past the horizon: free as far as we know
                    continue
                blockers: dict[tuple[int, int], Expr] = {}
                for off, s2 in rest_blocking[end_min]:
                    e2 = wb.get((di + off, s2), 0)
                    if not (isinstance(e2, int) and e2 == 0):
                        blockers[(di + off, s2)] = e2
                if any(isinstance(e, int) for e in blockers.values()):
                    continue  # history already works in it
                if end_min in rest_dominated:
                    continue  # another end time's rest is blocked by fewer shifts on the same day
                rest_cands.append((di, blockers))
        by_day_cands: dict[int, list[dict[tuple[int, int], Expr]]] = defaultdict(list)
        for di, blockers in rest_cands:
            by_day_cands[di].append(blockers)
        for di, cands in by_day_cands.items():
            if any(not c for c in cands):
                rest_starts[di].append(1)
                continue
            for c in cands:
                r = m.new_bool_var("")
                per_day_block: dict[int, list[Expr]] = defaultdict(list)
                for (dj, _), e in c.items():
                    per_day_block[dj].append(e)
                for es in per_day_block.values():
                    add_le([(1, r), *((1, e) for e in es)], 1)  # at most one shift a day: one row per day
                rest_starts[di].append(r)
        for w0 in range(max(first, -6), days - 6):
            if w0 + 7 <= 0:
                continue
            window_rs = [r for di in range(w0, w0 + 7) for r in rest_starts.get(di, [])]
            if any(isinstance(r, int) for r in window_rs):
                continue
            if window_rs:
                m.add(sum(window_rs) >= 1)
            else:
                m.add_bool_or([])

        # free Sundays (5:6 lid 1): at most 52 - 13 worked Sundays in any 52 weeks we know of
        sundays = [di for di in range(first, days) if (start + timedelta(days=di)).weekday() == SUNDAY]
        limit = 52 - rules.min_free_sundays_per_52_weeks
        if len(sundays) > limit:
            for i in range(len(sundays) - limit):
                span = [d for d in sundays[i:] if d - sundays[i] < 364]
                if len(span) <= limit:
                    continue
                terms = []
                for d in span:
                    on = [wexpr(bi, d, s) for s in range(n_shifts)]
                    on += [
                        wexpr(bi, d - 1, s) for s in range(n_shifts) if shifts[s].start_minute + dur[s] > DAY
                    ]
                    on = [e for e in on if not (isinstance(e, int) and e == 0)]
                    if not on:
                        continue
                    if any(isinstance(e, int) for e in on):
                        terms.append((1, 1))
                        continue
                    ws = m.new_bool_var("")
                    for e in on:
                        m.add(ws >= e)
                    terms.append((1, ws))
                add_le(terms, limit)

    # --- objective
    obj: list[Expr] = []
    for slot in slot_list:
        if slot.demanded:
            obj.append(weights.coverage * SCALE * 2 * (1 - slot.filled))

    target = [round(b.contract_hours_week * 60 * days / 7) for b in boas]
    nights_of: list[Expr] = []
    weekends_of: list[Expr] = []
    evenings_of: list[Expr] = []
    for bi, b in enumerate(boas):
        wb = {k: e for k, e in work[bi].items() if k[0] >= 0 and is_var(e)}
        worked = sum(dur[s] * e for (di, s), e in wb.items())
        absence = sum(v for di, v in counted_min[bi].items() if 0 <= di < days)
        if weights.contract_hours and (wb or absence):
            dev = m.new_int_var(0, 16 * 7 * DAY, f"dev{bi}")
            m.add(dev >= worked + absence - target[bi])
            m.add(dev >= target[bi] - worked - absence)
            obj.append(weights.contract_hours * dev)
        nights_of.append(sum(e for (di, s), e in wb.items() if nights[s]))
        weekends_of.append(sum(e for (di, s), e in wb.items() if (start + timedelta(days=di)).weekday() >= 5))
        evenings_of.append(sum(e for (di, s), e in wb.items() if evening[s]))
        for p in b.preferences:
            for di in range(days):
                if p.weekday is not None and (start + timedelta(days=di)).weekday() != p.weekday:
                    continue
                if p.shift_code is None:
                    today = [e for (d2, _), e in wb.items() if d2 == di]
                    if not today:
                        continue
                    worked_today = cp_model.LinearExpr.sum(today)
                    obj.append(
                        weights.preferences
                        * SCALE
                        * p.weight
                        * (worked_today if p.want else 1 - worked_today)
                    )
                elif p.shift_code in code_index:
                    e = wb.get((di, code_index[p.shift_code]), 0)
                    if isinstance(e, int):
                        continue
                    obj.append(weights.preferences * SCALE * p.weight * (1 - e if p.want else e))
    for weight, counts in (
        (weights.fair_nights, nights_of),
        (weights.fair_weekends, weekends_of),
        (weights.fair_evenings, evenings_of),
    ):
        live = [c for c in counts if not isinstance(c, int)]
        if weight and live:
            top = m.new_int_var(0, days, "top")
            for count in live:
                m.add(top >= count)
            obj.append(weight * SCALE * top)
    if weights.continuity:
        beats_of: list[dict[str, list[cp_model.IntVar]]] = [defaultdict(list) for _ in boas]
        for (bi, _), items in per_boa_day.items():
            for slot, v in items:
                beats_of[bi][slot.beat].append(v)
        for bi in range(len(boas)):
            if len(beats_of[bi]) <= 1:
                continue
            for vs in beats_of[bi].values():
                used = m.new_bool_var("")
                for v in vs:
                    m.add(used >= v)
                obj.append(weights.continuity * SCALE * used)

    # changes against the published rooster (and the hint to start from it)
    published_at: dict[tuple[int, int], Assignment] = {}
    for a in published_in:
        if a.staff_id in boa_index:
            published_at[(boa_index[a.staff_id], day_index(a.day))] = a
    hint_vars: list[int] = []
    hint_values: list[int] = []
    for si, slot in enumerate(slot_list):
        for bi, v in slot.x.items():
            hint_vars.append(v.index)
            hint_values.append(1 if (bi, si) in chosen else 0)
        if not isinstance(slot.filled, int):
            hint_vars.append(slot.filled.index)
            hint_values.append(1 if sum(1 for bi in slot.x if (bi, si) in chosen) == 2 else 0)
    _set_hint(m, hint_vars, hint_values)
    if published_in:
        if weights.changes:
            same: dict[tuple[int, int], list[cp_model.IntVar]] = defaultdict(list)
            for slot in slot_list:
                code = shifts[slot.shift].code
                for bi, v in slot.x.items():
                    pub = published_at.get((bi, slot.day))
                    if pub is None:
                        obj.append(weights.changes * SCALE * v)  # new work on a day the boa was free
                    elif pub.shift_code == code and pub.beat_id == slot.beat:
                        same[(bi, slot.day)].append(v)
            for bd in published_at:
                obj.append(weights.changes * SCALE * (1 - cp_model.LinearExpr.sum(same.get(bd, []))))
    m.minimize(sum(obj))
    return Model(m, slot_list, problem, variables)


def _greedy(  # noqa: C901 - one pass, read top to bottom
    problem: PlanningProblem,
    slots: list[_Slot],
    *,
    absent_days: list[set[int]],
    counted: list[dict[int, int]],
    history: dict[tuple[int, int], int],
    preplaced: set[tuple[int, int]],
    first: int,
) -> set[tuple[int, int]]:
    """A quick, conservative rooster to start the search from: (boa, slot index) pairs.

    Day by day, each open duo gets the two eligible boa's furthest behind their contract hours whose day is
    free under stricter rules than the law's (11 h rest always, 14 h after a late night, night series shorter
    than the series rule, two fixed consecutive days off a week so the weekly rest always holds). What it
    cannot fill stays open; the CP-SAT search improves on it.
    """
    rules = problem.rules
    shifts = problem.shift_types
    boas = problem.boas
    n = len(boas)
    dur = [s.duration_minutes for s in shifts]
    nights = [is_night(s) for s in shifts]
    late = [is_late_night(s) for s in shifts]
    start_wd = problem.start.weekday()
    target_day = [b.contract_hours_week * 60 / 7 for b in boas]
    schedule: list[dict[int, int]] = [dict() for _ in range(n)]  # boa -> day -> shift
    for (bi, di), s in history.items():
        schedule[bi][di] = s
    minutes = [0.0] * n
    horizon = problem.days
    # minutes per boa per known day (history, absences counted as worked, and what the pass plans)
    day_minutes = [[0] * (horizon - first) for _ in range(n)]
    for (bi, di), s in history.items():
        if di >= first:
            day_minutes[bi][di - first] += dur[s]
    for bi in range(n):
        for di, v in counted[bi].items():
            if first <= di < horizon:
                day_minutes[bi][di - first] += v
    experienced = [b.experienced for b in boas]
    quals = [set(b.qualifications) for b in boas]
    never = {frozenset((r.a, r.b)) for r in problem.pair_rules if r.kind == "nooit"}
    always: dict[int, int] = {}
    index = {b.staff_id: i for i, b in enumerate(boas)}
    for r in problem.pair_rules:
        if r.kind == "altijd" and r.a in index and r.b in index:
            always[index[r.a]] = index[r.b]
            always[index[r.b]] = index[r.a]
    gap: list[set[int]] = []
    for bi, b in enumerate(boas):
        lead = min(bi, always.get(bi, bi))  # a fixed duo shares its days off
        off = sorted(set(b.fixed_days_off) | set(boas[always[bi]].fixed_days_off if bi in always else []))
        g = off[0] if off else (lead * 3) % 7
        gap.append({g, (g + 1) % 7} | set(off))
    chosen: set[tuple[int, int]] = set()
    members: list[list[int]] = [[] for _ in slots]
    blocked: set[tuple[int, int]] = set()  # (boa, day) an altijd partner keeps free
    for bi, si in preplaced:
        chosen.add((bi, si))
        members[si].append(bi)
        schedule[bi][slots[si].day] = slots[si].shift
        day_minutes[bi][slots[si].day - first] += dur[slots[si].shift]
        minutes[bi] += dur[slots[si].shift]

    def worked(bi: int, lo: int, hi: int) -> int:
        lo, hi = max(lo, first), min(hi, horizon)
        return sum(day_minutes[bi][lo - first : hi - first]) if hi > lo else 0

    def ok(bi: int, di: int, s: int) -> bool:
        if di in schedule[bi] or (bi, di) in blocked or (start_wd + di) % 7 in gap[bi]:
            return False
        if nights[s] and dur[s] > rules.night_max_hours * 60:
            return False
        st = di * DAY + shifts[s].start_minute
        for back in (1, 2):
            p = schedule[bi].get(di - back)
            if p is None:
                continue
            end = (di - back) * DAY + shifts[p].start_minute + dur[p]
            need = rules.min_daily_rest_hours * 60
            if late[p]:
                need = max(need, rules.rest_after_late_night_hours * 60)
            run = 0
            while nights[schedule[bi].get(di - back - run, 0)] and (di - back - run) in schedule[bi]:
                run += 1
            if run >= rules.night_series_length and not (back == 1 and nights[s]):
                need = max(need, rules.rest_after_night_series_hours * 60)
            if st - end < need:
                return False
        if nights[s]:
            run = 0
            while (di - 1 - run) in schedule[bi] and nights[schedule[bi][di - 1 - run]]:
                run += 1
            if run + 1 >= rules.night_series_length:
                return False
            lates = sum(1 for d, x in schedule[bi].items() if di - 112 < d < di and late[x])
            if late[s] and lates + 1 > rules.max_late_nights_per_16_weeks:
                return False
        if worked(bi, di - 6, di + 1) + dur[s] > rules.max_week_hours * 60:
            return False
        if worked(bi, di - 27, di + 1) + dur[s] > rules.max_avg_4_weeks_hours * 4 * 60:
            return False
        if worked(bi, di - 111, di + 1) + dur[s] > rules.max_avg_16_weeks_hours * 16 * 60:
            return False
        return minutes[bi] + dur[s] <= target_day[bi] * (di + 1) + dur[s]

    # a boa with published (or pinned) work in the plan does not follow the fixed days off: check the rules
    # around the day both ways instead (a repair)
    anchored = {bi for bi, _ in preplaced}
    rest_need = round(rules.weekly_rest_hours * 60)
    ends = sorted({(x.start_minute + x.duration_minutes) % DAY for x in shifts})

    def ok_anchored(bi: int, di: int, s: int) -> bool:
        if di in schedule[bi] or (bi, di) in blocked or (nights[s] and dur[s] > rules.night_max_hours * 60):
            return False
        sched = dict(schedule[bi])
        sched[di] = s

        def interval(d: int) -> tuple[int, int]:
            st = d * DAY + shifts[sched[d]].start_minute
            return st, st + dur[sched[d]]

        for d1 in range(di - 2, di + 1):
            for d2 in range(max(d1 + 1, di), d1 + 3):
                if d1 not in sched or d2 not in sched or di not in (d1, d2):
                    continue
                need = rules.min_daily_rest_hours * 60
                if late[sched[d1]]:
                    need = max(need, rules.rest_after_late_night_hours * 60)
                if interval(d2)[0] - interval(d1)[1] < need:
                    return False
        if nights[s]:
            before = after = 0
            while (di - 1 - before) in sched and nights[sched[di - 1 - before]]:
                before += 1
            while (di + 1 + after) in sched and nights[sched[di + 1 + after]]:
                after += 1
            if before + 1 + after >= rules.night_series_length:
                return False
            lates = sum(1 for x in sched.values() if late[x])
            if late[s] and lates > rules.max_late_nights_per_16_weeks:
                return False
        else:
            for back in (1, 2):  # within 46 h after a series of nights
                run = 0
                while (di - back - run) in sched and nights[sched[di - back - run]]:
                    run += 1
                if run >= rules.night_series_length:
                    return False
        for span, limit in (
            (7, rules.max_week_hours * 60),
            (28, rules.max_avg_4_weeks_hours * 4 * 60),
            (112, rules.max_avg_16_weeks_hours * 16 * 60),
        ):
            if horizon - first <= span:
                ranges = [(first, horizon)]
            else:
                ranges = [
                    (lo, lo + span) for lo in range(max(first, di - span + 1), min(di, horizon - span) + 1)
                ]
            if any(worked(bi, lo, hi) + dur[s] > limit for lo, hi in ranges):
                return False

        def free_from(t0: int) -> bool:
            if t0 + rest_need > horizon * DAY:
                return True
            d0 = t0 // DAY
            for dj in range(d0 - 1, d0 + 2 + math.ceil(rest_need / DAY)):
                if dj in sched:
                    st2, en2 = interval(dj)
                    if st2 < t0 + rest_need and en2 > t0:
                        return False
            return True

        reach = 7 + math.ceil(rest_need / DAY) + 1  # a rest that starts before the window's end runs into di
        for w0 in range(max(first, di - reach, -6), min(di, horizon - 7) + 1):
            if w0 + 7 <= 0:
                continue
            if not any(free_from(d * DAY + e) for d in range(w0, w0 + 7) for e in ends):
                return False
        return minutes[bi] + dur[s] <= target_day[bi] * horizon + 2 * dur[s]

    def duo_ok(group: list[int], slot: _Slot) -> bool:
        if rules.duo_needs_experienced and not any(experienced[g] for g in group):
            return False
        if slot.qualification and not any(slot.qualification in quals[g] for g in group):
            return False
        if len(group) == 2 and frozenset((boas[group[0]].staff_id, boas[group[1]].staff_id)) in never:
            return False
        for g in group:
            other = always.get(g)
            if other is not None and other not in group and slot.day not in absent_days[other]:
                return False
        return True

    order = sorted(
        range(len(slots)),
        key=lambda si: (slots[si].day, not nights[slots[si].shift], slots[si].qualification is None, si),
    )
    for si in order:
        slot = slots[si]
        if not slot.demanded and not members[si]:
            continue
        if len(members[si]) >= 2 or len(slot.cands) < 2:
            continue
        di, s = slot.day, slot.shift
        cands = [
            bi
            for bi in slot.cands
            if bi not in members[si] and (ok_anchored(bi, di, s) if bi in anchored else ok(bi, di, s))
        ]
        cands.sort(key=lambda bi: minutes[bi] - target_day[bi] * di)
        have = list(members[si])

        pick: list[int] | None = None
        if len(have) == 1:
            mates = [c for c in cands if duo_ok([have[0], c], slot)]
            pick = mates[:1] or None
        elif not have:
            for i, one in enumerate(cands):
                partner = always.get(one)
                options = [partner] if partner is not None and partner in cands else cands[i + 1 :]
                for mate in options:
                    if duo_ok([one, mate], slot):
                        pick = [one, mate]
                        break
                if pick:
                    break
        if not pick:
            continue
        for bi in pick:
            chosen.add((bi, si))
            members[si].append(bi)
            schedule[bi][di] = s
            minutes[bi] += dur[s]
            day_minutes[bi][di - first] += dur[s]
            other = always.get(bi)
            if other is not None and other not in members[si]:
                blocked.add((other, di))
    fixed = {(bi, si) for si, slot in enumerate(slots) for bi in slot.fixed}
    for si, group in enumerate(members):
        if len(group) == 1 and (group[0], si) not in fixed:
            chosen.discard((group[0], si))  # a duo of one (its partner fell ill) is no duo
    return chosen


def _set_hint(model: cp_model.CpModel, variables: list[int], values: list[int]) -> None:
    """Replace the solution hint in bulk (per-variable add_hint is slow on 100 000 variables)."""
    model.proto.clear_solution_hint()
    hint = model.proto.solution_hint
    hint.vars.extend(variables)
    hint.values.extend(values)


def _read(built: Model, best: _Values | None, status: SolveStatus, wall: float) -> PlanningResult:
    problem = built.problem
    shifts = problem.shift_types
    boas = problem.boas
    pins = {_key(a) for a in problem.pins}
    assignments: list[Assignment] = []
    missing: dict[tuple[date, str, str], int] = defaultdict(int)
    solved = best is not None and status in ("optimaal", "haalbaar")

    def value(v: cp_model.IntVar) -> int:
        return best.values[v.index] if best is not None else 0

    for slot in built.slots:
        day = problem.start + timedelta(days=slot.day)
        code = shifts[slot.shift].code
        filled = solved and not isinstance(slot.filled, int) and value(slot.filled) == 1
        if slot.demanded and not filled:
            missing[(day, code, slot.beat)] += 2
        if not filled:
            continue
        for bi, v in slot.x.items():
            if value(v):
                key = (boas[bi].staff_id, day, code, slot.beat, slot.duo)
                assignments.append(
                    Assignment(
                        staff_id=key[0],
                        day=day,
                        shift_code=code,
                        beat_id=slot.beat,
                        duo=slot.duo,
                        pinned=key in pins,
                    )
                )
    assignments.sort(key=lambda a: (a.day, a.shift_code, a.beat_id, a.duo, a.staff_id))
    uncovered = [
        Uncovered(day=d, shift_code=c, beat_id=b, missing=n) for (d, c, b), n in sorted(missing.items())
    ]
    objective = best.objective / SCALE if best is not None and solved else 0.0
    bound = best.bound / SCALE if best is not None and solved else 0.0
    return PlanningResult(
        status=status,
        assignments=assignments,
        objective=objective,
        bound=bound,
        wall_s=wall,
        uncovered=uncovered,
        changed=count_changes(problem, assignments) if solved else 0,
    )


def count_changes(problem: PlanningProblem, assignments: Iterable[Assignment]) -> int:
    """Boa-days whose shift or beat differs from the published rooster (in the horizon)."""
    end = problem.start + timedelta(days=problem.days)

    def table(items: Iterable[Assignment]) -> dict[tuple[str, date], tuple[str, str]]:
        return {(a.staff_id, a.day): (a.shift_code, a.beat_id) for a in items if problem.start <= a.day < end}

    if not problem.published:
        return 0
    old, new = table(problem.published), table(assignments)
    return sum(1 for k in old.keys() | new.keys() if old.get(k) != new.get(k))


def solve(problem: PlanningProblem, *, progress: Progress | None = None) -> PlanningResult:
    """Solve the problem within its time limit; `progress(objective, bound, elapsed_s)` on each solution.

    Two steps: the greedy hint (the published rooster completed greedily) is checked and completed by CP-SAT
    with every hinted variable fixed (a fraction of a second), which gives a first feasible rooster at once;
    the search then starts from that complete solution and improves it until optimal or the time limit.
    """
    t0 = time.perf_counter()
    built = build(problem)
    model = built.model
    workers = os.cpu_count() or 1

    def remaining() -> float:
        return problem.time_limit_s - (time.perf_counter() - t0)

    best: _Values | None = None
    first = cp_model.CpSolver()
    first.parameters.fix_variables_to_their_hinted_value = True
    first.parameters.num_workers = 1
    # a rooster at all matters more than the limit: the fixed check (it stops as soon as it has completed the
    # start) may take up to 10 s past it on a busy machine
    first.parameters.max_time_in_seconds = max(10.0, min(remaining() * 0.6, 30.0))
    code = first.solve(model)
    if code in (cp_model.OPTIMAL, cp_model.FEASIBLE):
        values = list(first.response_proto.solution)
        best = _Values(values, first.objective_value, 0.0, "haalbaar")  # the fixed model's bound says nothing
        built.first_solution_s = time.perf_counter() - t0
        if progress is not None:
            progress(first.objective_value / SCALE, 0.0, built.first_solution_s)
        _set_hint(model, list(range(len(values))), values)
    elapsed_before = time.perf_counter() - t0

    if remaining() > 0.05:
        solver = cp_model.CpSolver()
        solver.parameters.max_time_in_seconds = max(0.05, remaining())
        solver.parameters.num_workers = workers
        callback = _Callback(None if progress is None else lambda o, b, e: progress(o, b, elapsed_before + e))
        code = solver.solve(model, callback)
        status = _status(code)
        if status in ("optimaal", "haalbaar"):
            if best is None or solver.objective_value <= best.objective:
                values = list(solver.response_proto.solution)
                best = _Values(values, solver.objective_value, solver.best_objective_bound, status)
            else:
                best.bound = solver.best_objective_bound
            if built.first_solution_s is None and callback.first_s is not None:
                built.first_solution_s = elapsed_before + callback.first_s
        elif status == "onhaalbaar" and best is None:
            return _read(built, None, "onhaalbaar", time.perf_counter() - t0)
        elif best is not None:
            pass
    if best is None:
        return _read(built, None, "onbekend", time.perf_counter() - t0)
    return _read(built, best, best.status, time.perf_counter() - t0)


@dataclass
class _Values:
    values: list[int]
    objective: float
    bound: float
    status: SolveStatus


async def solve_off_loop(problem: PlanningProblem, progress: Progress | None = None) -> PlanningResult:
    """`solve` in a worker thread (CP-SAT releases the GIL), so the event loop keeps serving meanwhile."""
    return await asyncio.to_thread(solve, problem, progress=progress)
