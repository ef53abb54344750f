"""The CP-SAT rooster solver on small problems: what a team lead sees in the rooster it answers."""

from __future__ import annotations

import asyncio
import time
from collections import Counter, defaultdict
from datetime import date, timedelta

import msgspec

from backend.rooster.solver import is_late_night, is_night, solve, solve_off_loop
from shared.rooster import (
    Absence,
    Assignment,
    Boa,
    Demand,
    PairRule,
    PlanningProblem,
    PlanningResult,
    RuleSettings,
    ShiftType,
)

MONDAY = date(2026, 3, 2)
SHIFTS = [
    ShiftType(code="vroeg", name="Vroeg", start_minute=7 * 60, duration_minutes=8 * 60),
    ShiftType(code="dag", name="Dag", start_minute=9 * 60, duration_minutes=8 * 60),
    ShiftType(code="laat", name="Laat", start_minute=15 * 60, duration_minutes=8 * 60),
    ShiftType(code="nacht", name="Nacht", start_minute=23 * 60, duration_minutes=8 * 60),
]
BY_CODE = {s.code: s for s in SHIFTS}


def team(n: int, **overrides: Boa) -> list[Boa]:
    boas = [Boa(staff_id=f"b{i}", name=f"Boa {i}", experienced=True) for i in range(n)]
    return [overrides.get(b.staff_id, b) for b in boas]


def day(i: int) -> date:
    return MONDAY + timedelta(days=i)


def problem(boas: list[Boa], demand: list[Demand], **kw: object) -> PlanningProblem:
    days = kw.pop("days", None) or max(d.day for d in demand).toordinal() - MONDAY.toordinal() + 1
    kw.setdefault("time_limit_s", 2.0)
    return PlanningProblem(start=MONDAY, days=int(days), shift_types=SHIFTS, boas=boas, demand=demand, **kw)  # type: ignore[arg-type]


def every_day(days: int, code: str, beat: str = "1", duos: int = 1) -> list[Demand]:
    return [Demand(day=day(i), shift_code=code, beat_id=beat, duos=duos) for i in range(days)]


def duos_of(result: PlanningResult) -> dict[tuple[date, str, str, int], list[str]]:
    out: dict[tuple[date, str, str, int], list[str]] = defaultdict(list)
    for a in result.assignments:
        out[(a.day, a.shift_code, a.beat_id, a.duo)].append(a.staff_id)
    return out


def interval(a: Assignment) -> tuple[int, int]:
    s = BY_CODE[a.shift_code]
    start = a.day.toordinal() * 1440 + s.start_minute
    return start, start + s.duration_minutes


def assert_basic_rules(p: PlanningProblem, result: PlanningResult) -> None:
    """Plain checks of the rules the tests below lean on (the full checker lives in backend/rooster)."""
    per_day = Counter((a.staff_id, a.day) for a in result.assignments)
    assert max(per_day.values(), default=0) <= 1, "a boa twice on one day"
    for members in duos_of(result).values():
        assert len(members) == 2, f"a duo of {len(members)}"
    by_boa: dict[str, list[Assignment]] = defaultdict(list)
    for a in result.assignments:
        by_boa[a.staff_id].append(a)
    for shifts in by_boa.values():
        shifts.sort(key=interval)
        short = []
        for prev, nxt in zip(shifts, shifts[1:], strict=False):
            rest = interval(nxt)[0] - interval(prev)[1]
            need = p.rules.rest_after_late_night_hours if is_late_night(BY_CODE[prev.shift_code]) else 0
            assert rest >= max(need, p.rules.reduced_daily_rest_hours) * 60, (prev, nxt)
            if rest < p.rules.min_daily_rest_hours * 60:
                short.append(prev.day)
        for d in short:
            assert sum(1 for e in short if 0 <= (e - d).days < 7) <= 1, "two short rests in 7 days"


def test_demand_is_covered_by_duos_with_an_experienced_boa_when_staff_suffice() -> None:
    boas = [Boa(staff_id=f"b{i}", name=f"Boa {i}", experienced=i < 3) for i in range(8)]
    p = problem(boas, every_day(5, "vroeg") + every_day(5, "laat", beat="2"))

    result = solve(p)

    assert result.status in ("optimaal", "haalbaar")
    assert result.uncovered == []
    duos = duos_of(result)
    assert len(duos) == 10
    experienced = {b.staff_id for b in boas if b.experienced}
    assert all(set(members) & experienced for members in duos.values())
    assert_basic_rules(p, result)


def test_a_small_team_gets_a_rooster_with_the_open_duos_listed() -> None:
    p = problem(team(2), [Demand(day=day(0), shift_code="vroeg", beat_id="1", duos=2)])

    result = solve(p)

    assert result.status in ("optimaal", "haalbaar")  # an answer, not "onhaalbaar"
    assert len(result.assignments) == 2
    assert [(u.day, u.shift_code, u.beat_id, u.missing) for u in result.uncovered] == [
        (day(0), "vroeg", "1", 2)
    ]
    assert result.objective >= 2 * p.weights.coverage


def test_no_boa_works_twice_on_one_day() -> None:
    p = problem(team(2), [Demand(day=day(0), shift_code=c, beat_id="1") for c in ("vroeg", "laat")])

    result = solve(p)

    assert len(result.assignments) == 2
    assert sum(u.missing for u in result.uncovered) == 2


def test_a_laat_is_not_followed_by_a_vroeg_when_the_cao_wants_11_hours_rest_always() -> None:
    demand = [
        Demand(day=day(0), shift_code="laat", beat_id="1"),
        Demand(day=day(1), shift_code="vroeg", beat_id="1"),
    ]
    strict = problem(team(2), demand, rules=RuleSettings(reduced_daily_rest_hours=11.0))
    law = problem(team(2), demand)

    strict_result, law_result = solve(strict), solve(law)

    assert len(strict_result.assignments) == 2  # 23:00 -> 07:00 is 8 h: only one of the two duos
    assert sum(u.missing for u in strict_result.uncovered) == 2
    assert law_result.uncovered == []  # ATW 5:3: the rest may be 8 h once per 7 days
    assert_basic_rules(law, law_result)


def test_the_reduced_rest_happens_at_most_once_in_seven_days() -> None:
    demand: list[Demand] = []
    for i in range(0, 6, 2):
        demand += [
            Demand(day=day(i), shift_code="laat", beat_id="1"),
            Demand(day=day(i + 1), shift_code="vroeg", beat_id="1"),
        ]
    p = problem(team(2), demand)

    result = solve(p)

    assert_basic_rules(p, result)
    assert sum(u.missing for u in result.uncovered) == 4  # two of the three laat->vroeg turns stay open


def test_a_night_exempt_boa_is_never_planned_on_a_night() -> None:
    boas = team(4, b0=Boa(staff_id="b0", name="Boa 0", experienced=True, night_exempt=True))
    p = problem(boas, every_day(4, "nacht") + every_day(4, "vroeg", beat="2"))

    result = solve(p)

    assert result.uncovered == [] or all(u.shift_code != "nacht" for u in result.uncovered)
    assert not [a for a in result.assignments if a.staff_id == "b0" and a.shift_code == "nacht"]
    assert any(a.staff_id == "b0" for a in result.assignments)
    assert is_night(BY_CODE["nacht"]) and not is_night(BY_CODE["laat"])


def test_three_nights_are_followed_by_46_hours_rest() -> None:
    demand = every_day(3, "nacht") + [Demand(day=day(4), shift_code="vroeg", beat_id="1")]
    p = problem(team(2), demand)

    result = solve(p)

    # the nights end at 07:00 on day 3; a vroeg on day 4 starts 24 h later: one of the two must give
    assert sum(u.missing for u in result.uncovered) == 2
    assert_basic_rules(p, result)


def test_pins_are_kept() -> None:
    pin = Assignment(staff_id="b3", day=day(1), shift_code="laat", beat_id="9", duo=0, pinned=True)
    p = problem(team(4), every_day(3, "vroeg"), pins=[pin])

    result = solve(p)

    kept = [a for a in result.assignments if a.staff_id == "b3" and a.day == day(1)]
    assert kept == [pin]
    assert len(duos_of(result)[(day(1), "laat", "9", 0)]) == 2  # a pinned boa still patrols in a duo


def test_a_pin_against_the_rules_makes_the_problem_infeasible() -> None:
    boas = team(3, b0=Boa(staff_id="b0", name="Boa 0", experienced=True, night_exempt=True))
    pin = Assignment(staff_id="b0", day=day(0), shift_code="nacht", beat_id="1", pinned=True)
    result = solve(problem(boas, every_day(1, "nacht"), pins=[pin]))

    assert result.status == "onhaalbaar"
    assert result.assignments == []


def test_a_never_pair_is_never_in_one_duo_and_an_always_pair_always_is() -> None:
    rules = [PairRule(a="b0", b="b1", kind="nooit"), PairRule(a="b2", b="b3", kind="altijd")]
    p = problem(team(5), every_day(6, "vroeg") + every_day(6, "laat", beat="2"), pair_rules=rules)

    result = solve(p)

    for members in duos_of(result).values():
        assert set(members) != {"b0", "b1"}
    for members in duos_of(result).values():
        if {"b2", "b3"} & set(members):
            assert set(members) == {"b2", "b3"}  # a fixed duo: never with someone else
    assert_basic_rules(p, result)


def test_an_always_pair_works_with_others_only_while_the_partner_is_absent() -> None:
    rules = [PairRule(a="b0", b="b1", kind="altijd")]
    absences = [Absence(staff_id="b1", day=day(0), kind="verlof", hours=7.2)]
    p = problem(team(3), every_day(2, "vroeg"), pair_rules=rules, absences=absences)

    result = solve(p)

    duos = duos_of(result)
    assert set(duos[(day(0), "vroeg", "1", 0)]) == {"b0", "b2"}
    assert set(duos[(day(1), "vroeg", "1", 0)]) == {"b0", "b1"}


def test_qualified_demand_gets_a_qualified_boa_and_absent_boas_stay_free() -> None:
    boas = [
        Boa(staff_id="b0", name="A", experienced=True, qualifications=["anpr"]),
        Boa(staff_id="b1", name="B", experienced=True),
        Boa(staff_id="b2", name="C", experienced=True),
        Boa(staff_id="b3", name="D", experienced=False, qualifications=["anpr"]),
    ]
    demand = [Demand(day=day(i), shift_code="dag", beat_id="1", qualification="anpr") for i in range(3)]
    absences = [Absence(staff_id="b0", day=day(1), kind="ziek", hours=7.2)]
    p = problem(boas, demand, absences=absences)

    result = solve(p)

    assert result.uncovered == []
    for members in duos_of(result).values():
        assert {"b0", "b3"} & set(members)
    assert not [a for a in result.assignments if a.staff_id == "b0" and a.day == day(1)]


def test_history_before_the_start_counts_for_the_rest() -> None:
    history = [Assignment(staff_id=s, day=day(-1), shift_code="laat", beat_id="1") for s in ("b0", "b1")]
    strict = RuleSettings(reduced_daily_rest_hours=11.0)
    p = problem(team(3), every_day(1, "vroeg"), history=history, rules=strict)

    result = solve(p)

    assert sum(u.missing for u in result.uncovered) == 2  # b0 and b1 worked until 23:00: only b2 is rested


def _plan(boas: int, days: int) -> PlanningProblem:
    demand = every_day(days, "vroeg") + every_day(days, "laat") + every_day(days, "dag", beat="2")
    return problem(team(boas), demand, days=days, time_limit_s=3.0)


def test_repair_after_five_days_sickness_changes_only_what_it_must() -> None:
    base = _plan(12, 14)
    published = solve(base)
    assert published.uncovered == []
    sick_from = 3
    sick_days = {day(i) for i in range(sick_from, sick_from + 5)}
    counts = Counter(a.staff_id for a in published.assignments if a.day in sick_days)
    sick = counts.most_common(1)[0][0]
    lost = counts[sick]
    repair = msgspec.structs.replace(
        base,
        published=published.assignments,
        frozen_until=day(sick_from),
        absences=[Absence(staff_id=sick, day=d, kind="ziek", hours=7.2) for d in sorted(sick_days)],
    )

    result = solve(repair)

    assert not [a for a in result.assignments if a.staff_id == sick and a.day in sick_days]
    before = {a for a in published.assignments if a.day < day(sick_from)}
    assert {a for a in result.assignments if a.day < day(sick_from)} == before  # the past stays
    far = day(sick_from + 5 + 2)  # two days past the sickness: the rest rules reach no further
    assert {a for a in result.assignments if a.day >= far} == {
        a for a in published.assignments if a.day >= far
    }
    assert result.uncovered == []
    assert lost <= result.changed <= 3 * lost  # the sick shifts and their replacements, not a new rooster
    assert_basic_rules(repair, result)


def test_progress_reports_objective_and_bound() -> None:
    seen: list[tuple[float, float, float]] = []
    result = solve(_plan(6, 5), progress=lambda o, b, e: seen.append((o, b, e)))

    assert seen
    assert seen[-1][0] == result.objective
    assert all(e >= 0 for _, _, e in seen)
    assert result.bound <= result.objective


def test_solving_off_the_loop_keeps_the_event_loop_serving() -> None:
    async def main() -> tuple[PlanningResult, int]:
        ticks = 0

        async def ticker() -> None:
            nonlocal ticks
            while True:
                await asyncio.sleep(0.05)
                ticks += 1

        task = asyncio.create_task(ticker())
        t0 = time.perf_counter()
        result = await solve_off_loop(_plan(8, 7))
        elapsed = time.perf_counter() - t0
        task.cancel()
        return result, ticks if elapsed > 0.5 else 10

    result, ticks = asyncio.run(main())

    assert result.status in ("optimaal", "haalbaar")
    assert ticks >= 5


def test_an_empty_team_or_no_demand_still_answers() -> None:
    nobody = solve(problem([], every_day(2, "vroeg")))
    idle = solve(problem(team(2), [], days=3))

    assert nobody.status in ("optimaal", "haalbaar") and sum(u.missing for u in nobody.uncovered) == 4
    assert idle.status in ("optimaal", "haalbaar") and idle.assignments == [] and idle.uncovered == []


def test_every_seven_days_hold_a_weekly_rest_of_36_hours() -> None:
    p = problem(team(2), every_day(9, "dag"))

    result = solve(p)

    worked = sorted({a.day for a in result.assignments})
    assert 0 < len(worked) < 9  # nine dag shifts in a row would leave no weekly rest (ATW 5:5)
    shifts = [interval(a) for a in sorted(result.assignments, key=interval) if a.staff_id == "b0"]
    for w0 in range(0, 9 - 6):
        lo, hi = day(w0).toordinal() * 1440, day(w0 + 7).toordinal() * 1440
        rests = [
            t
            for t in [e for _, e in shifts] + [lo]
            if lo <= t < hi and all(not (s < t + 36 * 60 and e > t) for s, e in shifts)
        ]
        assert rests, f"no 36 h rest starts in the 7 days from day {w0}"


def test_twelve_hour_shifts_stop_at_60_hours_a_week() -> None:
    long_day = ShiftType(code="lang", name="Lang", start_minute=7 * 60, duration_minutes=12 * 60)
    demand = [Demand(day=day(i), shift_code="lang", beat_id="1") for i in range(7)]
    p = PlanningProblem(
        start=MONDAY, days=7, shift_types=[long_day], boas=team(2), demand=demand, time_limit_s=2.0
    )

    result = solve(p)

    assert len({a.day for a in result.assignments}) <= 5  # 5 × 12 h = 60 h (ATW 5:7 lid 2)
    assert sum(u.missing for u in result.uncovered) >= 4
