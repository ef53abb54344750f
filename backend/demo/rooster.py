"""The demo's published rooster: the twelve demo duos planned by the CP-SAT solver for the current 4 weeks.

At demo start (idempotent: nothing happens when a plan already covers today) the demo gets the four shift
types (vroeg, dag, laat, nacht), a plan of 28 days from this week's Monday with a realistic demand on the
duos' own beats (vroeg and laat on weekdays, a dag duo with ANPR, a Friday and Saturday night duo), and the
solver's answer as the draft and as published version 1. The demo's duos are kept together with "altijd"
pair rules (the two boa's of a unit), so the rooster reads as the twelve duos' weeks.
"""

from __future__ import annotations

import json
from datetime import date, datetime, timedelta

import msgspec

from backend.db.pool import Conn
from backend.registrations.validation import LOCAL
from backend.rooster.solver import solve_off_loop
from shared.rooster import (
    Absence,
    Boa,
    Demand,
    PairRule,
    PlanningProblem,
    PlanningResult,
    Preference,
    ShiftType,
)

DAYS = 28
TIME_LIMIT_S = 3.0
PLAN_NAME = "Rooster {start:%d-%m} t/m {end:%d-%m}"
SHIFT_TYPES = [
    ShiftType(code="vroeg", name="Vroege dienst", start_minute=7 * 60, duration_minutes=8 * 60),
    ShiftType(code="dag", name="Dagdienst", start_minute=9 * 60, duration_minutes=8 * 60),
    ShiftType(code="laat", name="Late dienst", start_minute=15 * 60, duration_minutes=8 * 60),
    ShiftType(code="nacht", name="Nachtdienst", start_minute=23 * 60, duration_minutes=8 * 60),
]


class RoosterSeed(msgspec.Struct, frozen=True, kw_only=True):
    plan_id: int | None = None
    assignments: int = 0
    uncovered: int = 0  # boa-shifts of demand left open
    status: str = ""
    wall_s: float = 0.0

    def describe(self) -> str:
        if self.plan_id is None:
            return "  rooster: already there"
        return (
            f"  rooster: {self.assignments} diensten for the current 4 weeks, published "
            f"({self.status}, {self.wall_s:.1f} s; {self.uncovered} boa-diensten onbezet)"
        )


def demo_demand(start: date, beats: list[str]) -> list[Demand]:
    """What the demo's gemeente asks of its twelve duos: about seven duos a day on the duos' beats."""
    demand: list[Demand] = []
    for di in range(DAYS):
        day = start + timedelta(days=di)
        wd = day.weekday()
        early = beats[:3] if wd < 6 else beats[:2]
        demand += [Demand(day=day, shift_code="vroeg", beat_id=b) for b in early]
        demand += [Demand(day=day, shift_code="laat", beat_id=b) for b in beats[3:6]]
        if wd < 5:
            demand.append(
                Demand(day=day, shift_code="dag", beat_id=beats[6 % len(beats)], qualification="anpr")
            )
        if wd in (4, 5):
            demand.append(Demand(day=day, shift_code="nacht", beat_id=beats[7 % len(beats)]))
    return demand


async def _problem(conn: Conn, org_id: int, start: date) -> tuple[PlanningProblem, dict[str, int]]:
    boas = await conn.fetch(
        """SELECT id, username, display_name, qualifications, contract_hours, experienced, night_exempt,
                  fixed_days_off, preferences
             FROM accounts WHERE org_id = $1 AND role = 'boa' AND username ~ '^boa[0-9]+$'
            ORDER BY username""",
        org_id,
    )
    units = await conn.fetch(
        "SELECT assigned_beat_ids FROM units WHERE org_id = $1 AND call_sign LIKE 'HH-%' ORDER BY call_sign",
        org_id,
    )
    beats: list[str] = []
    for u in units:
        for b in u["assigned_beat_ids"]:
            if str(b) not in beats:
                beats.append(str(b))
    team = [
        Boa(
            staff_id=str(r["id"]),
            name=r["display_name"] or r["username"],
            qualifications=list(r["qualifications"]),
            contract_hours_week=float(r["contract_hours"] or 36),
            experienced=r["experienced"],
            night_exempt=r["night_exempt"],
            fixed_days_off=list(r["fixed_days_off"]),
            preferences=msgspec.convert(
                json.loads(r["preferences"]) if isinstance(r["preferences"], str) else r["preferences"],
                list[Preference],
            ),
        )
        for r in boas
    ]
    # the two boa's of a demo unit (boa01 + boa02, ...) patrol together
    pairs = [
        PairRule(a=team[i].staff_id, b=team[i + 1].staff_id, kind="altijd")
        for i in range(0, len(team) - 1, 2)
    ]
    absences = await conn.fetch(
        "SELECT account_id, day, kind, hours FROM rooster_absences WHERE account_id = ANY($1::int[]) "
        "AND day >= $2 AND day < $3",
        [r["id"] for r in boas],
        start,
        start + timedelta(days=DAYS),
    )
    problem = PlanningProblem(
        start=start,
        days=DAYS,
        shift_types=SHIFT_TYPES,
        boas=team,
        demand=demo_demand(start, beats) if beats else [],
        absences=[
            Absence(staff_id=str(a["account_id"]), day=a["day"], kind=a["kind"], hours=float(a["hours"]))
            for a in absences
        ],
        pair_rules=pairs,
        time_limit_s=TIME_LIMIT_S,
    )
    return problem, {r["username"]: r["id"] for r in boas}


async def seed_rooster(conn: Conn, org_id: int, now: datetime | None = None) -> RoosterSeed:
    """Plan, store and publish the demo rooster for the 4 weeks from this week's Monday (once)."""
    today = (now or datetime.now(LOCAL)).astimezone(LOCAL).date()
    start = today - timedelta(days=today.weekday())
    exists = await conn.fetchval(
        "SELECT 1 FROM rooster_plans WHERE org_id = $1 AND start_day <= $2 AND start_day + days > $2",
        org_id,
        today,
    )
    if exists:
        return RoosterSeed()
    for s in SHIFT_TYPES:
        await conn.execute(
            """INSERT INTO rooster_shift_types (org_id, code, name, start_minute, duration_minutes)
               VALUES ($1, $2, $3, $4, $5) ON CONFLICT (org_id, code) DO NOTHING""",
            org_id,
            s.code,
            s.name,
            s.start_minute,
            s.duration_minutes,
        )
    type_ids = {
        r["code"]: r["id"]
        for r in await conn.fetch("SELECT id, code FROM rooster_shift_types WHERE org_id = $1", org_id)
    }
    problem, _ = await _problem(conn, org_id, start)
    result: PlanningResult = await solve_off_loop(problem)
    lead = await conn.fetchval(
        "SELECT id FROM accounts WHERE org_id = $1 AND role = 'teamlead' ORDER BY id LIMIT 1", org_id
    )
    end = start + timedelta(days=DAYS - 1)
    plan_id: int = await conn.fetchval(
        "INSERT INTO rooster_plans (org_id, name, start_day, days, created_by) VALUES ($1, $2, $3, $4, $5) "
        "RETURNING id",
        org_id,
        PLAN_NAME.format(start=start, end=end),
        start,
        DAYS,
        lead,
    )
    await conn.executemany(
        "INSERT INTO rooster_demand (plan_id, day, shift_type_id, beat_id, duos, qualification) "
        "VALUES ($1, $2, $3, $4, $5, $6)",
        [
            (plan_id, d.day, type_ids[d.shift_code], int(d.beat_id), d.duos, d.qualification)
            for d in problem.demand
        ],
    )
    rows = [
        (int(a.staff_id), a.day, type_ids[a.shift_code], int(a.beat_id), a.duo) for a in result.assignments
    ]
    await conn.executemany(
        "INSERT INTO rooster_assignments (plan_id, account_id, day, shift_type_id, beat_id, duo) "
        "VALUES ($1, $2, $3, $4, $5, $6)",
        [(plan_id, *r) for r in rows],
    )
    version_id: int = await conn.fetchval(
        "INSERT INTO rooster_versions (plan_id, number, published_by, note) VALUES ($1, 1, $2, $3) "
        "RETURNING id",
        plan_id,
        lead,
        "Demo: door de planner gemaakt bij de start van de demo",
    )
    await conn.executemany(
        "INSERT INTO rooster_version_assignments (version_id, account_id, day, shift_type_id, beat_id, duo) "
        "VALUES ($1, $2, $3, $4, $5, $6)",
        [(version_id, *r) for r in rows],
    )
    return RoosterSeed(
        plan_id=plan_id,
        assignments=len(rows),
        uncovered=sum(u.missing for u in result.uncovered),
        status=result.status,
        wall_s=result.wall_s,
    )
