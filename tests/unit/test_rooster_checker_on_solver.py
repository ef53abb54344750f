"""The independent checker on the solver's output: no hard rule broken."""

from __future__ import annotations

from datetime import date, timedelta

from backend.rooster import solver
from backend.rooster.checker import check, hard
from backend.rooster.rules import line
from shared.rooster import Absence, Boa, Demand, PairRule, PlanningProblem, ShiftType

START = date(2026, 3, 2)
SHIFTS = [
    ShiftType(code="vroeg", name="Vroeg", start_minute=7 * 60, duration_minutes=8 * 60),
    ShiftType(code="laat", name="Laat", start_minute=15 * 60, duration_minutes=8 * 60),
    ShiftType(code="nacht", name="Nacht", start_minute=23 * 60, duration_minutes=8 * 60),
]


def small_team() -> PlanningProblem:
    boas = [
        Boa(
            staff_id=str(i),
            name=f"Boa {i}",
            experienced=i % 2 == 0,
            qualifications=["anpr"] if i % 3 == 0 else [],
            night_exempt=i == 5,
            fixed_days_off=[6] if i == 7 else [],
            contract_hours_week=32.0,
        )
        for i in range(1, 13)
    ]
    demand = [
        Demand(
            day=START + timedelta(days=d),
            shift_code=code,
            beat_id=beat,
            qualification="anpr" if (code, beat) == ("laat", "1") else None,
        )
        for d in range(14)
        for code in ("vroeg", "laat")
        for beat in ("1", "2")
    ] + [Demand(day=START + timedelta(days=d), shift_code="nacht", beat_id="1") for d in (4, 5, 11, 12)]
    return PlanningProblem(
        start=START,
        days=14,
        shift_types=SHIFTS,
        boas=boas,
        demand=demand,
        absences=[
            Absence(staff_id="3", day=START + timedelta(days=d), kind="ziek", hours=8) for d in range(3)
        ],
        pair_rules=[PairRule(a="1", b="2", kind="nooit")],
        time_limit_s=10.0,
    )


def test_the_solvers_rooster_breaks_no_hard_rule() -> None:
    problem = small_team()
    result = solver.solve(problem)
    assert result.status in ("optimaal", "haalbaar")
    broken = hard(check(problem, result.assignments))
    assert broken == [], "\n".join(line(v) for v in broken)
