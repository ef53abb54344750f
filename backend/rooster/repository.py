"""The rooster in PostgreSQL (migration 0017): shift types, absences, pair rules, a boa's planning fields,
demand templates, plans with their demand and draft, published versions, and the planning problem built from
them.

Every function takes a connection and the caller owns the transaction. Functions that take ``org_id`` only
see that gemeente's rows; ids from another gemeente are "not found" (``None`` or ``False``), never an error
that tells they exist.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, timedelta
from typing import Any

import msgspec

from backend.db.pool import Conn
from shared import rooster as r

# The shift types a gemeente gets when it has none: vroeg 07-15, dag 09-17, laat 15-23, nacht 23-07.
DEFAULT_SHIFT_TYPES = (
    ("vroeg", "Vroege dienst", 7 * 60, 8 * 60),
    ("dag", "Dagdienst", 9 * 60, 8 * 60),
    ("laat", "Late dienst", 15 * 60, 8 * 60),
    ("nacht", "Nachtdienst", 23 * 60, 8 * 60),
)
HISTORY_DAYS = 16 * 7  # the rolling windows look back 16 weeks (ATW 5:7 lid 4, 5:8 lid 2)


class ShiftTypeRow(msgspec.Struct, frozen=True, kw_only=True):
    id: int
    code: str
    name: str
    start_minute: int
    duration_minutes: int
    active: bool


class AbsenceRow(msgspec.Struct, frozen=True, kw_only=True):
    id: int
    account_id: int
    day: date
    kind: str
    hours: float
    note: str | None


class PairRuleRow(msgspec.Struct, frozen=True, kw_only=True):
    a: int
    b: int
    kind: str


class PlanningBoa(msgspec.Struct, frozen=True, kw_only=True):
    id: int
    display_name: str
    qualifications: list[str]
    contract_hours: float | None
    experienced: bool
    night_exempt: bool
    fixed_days_off: list[int]
    preferences: list[r.Preference]


class BeatRow(msgspec.Struct, frozen=True, kw_only=True):
    id: int
    name: str


class TemplateRow(msgspec.Struct, frozen=True, kw_only=True):
    weekday: int
    shift_type_id: int
    beat_id: int
    duos: int
    qualification: str | None = None


class Template(msgspec.Struct, frozen=True, kw_only=True):
    id: int
    name: str
    rows: list[TemplateRow]


class Plan(msgspec.Struct, frozen=True, kw_only=True):
    id: int
    name: str
    start_day: date
    days: int
    latest_version: int | None


class DemandRow(msgspec.Struct, frozen=True, kw_only=True):
    day: date
    shift_type_id: int
    beat_id: int
    duos: int
    qualification: str | None
    source: str


class DraftAssignment(msgspec.Struct, frozen=True, kw_only=True):
    account_id: int
    day: date
    shift_type_id: int
    beat_id: int
    duo: int
    pinned: bool


class Version(msgspec.Struct, frozen=True, kw_only=True):
    id: int
    number: int
    published_at: Any
    published_by: str | None
    note: str | None
    assignments: int


class Change(msgspec.Struct, frozen=True, kw_only=True):
    """One cell that differs between the draft and the latest published version (None: no shift)."""

    account_id: int
    day: date
    before: DraftAssignment | None
    after: DraftAssignment | None


# ---- shift types ----


async def shift_types(conn: Conn, org_id: int, *, with_inactive: bool = False) -> list[ShiftTypeRow]:
    """The gemeente's shift types by start time; the four defaults are created first when it has none."""
    if not await conn.fetchval("SELECT EXISTS (SELECT 1 FROM rooster_shift_types WHERE org_id = $1)", org_id):
        await conn.executemany(
            """INSERT INTO rooster_shift_types (org_id, code, name, start_minute, duration_minutes)
               VALUES ($1, $2, $3, $4, $5) ON CONFLICT (org_id, code) DO NOTHING""",
            [(org_id, *row) for row in DEFAULT_SHIFT_TYPES],
        )
    rows = await conn.fetch(
        """SELECT id, code, name, start_minute, duration_minutes, active FROM rooster_shift_types
           WHERE org_id = $1 AND (active OR $2) ORDER BY start_minute, code""",
        org_id,
        with_inactive,
    )
    return [ShiftTypeRow(**dict(row)) for row in rows]


async def create_shift_type(
    conn: Conn, org_id: int, *, code: str, name: str, start_minute: int, duration_minutes: int
) -> int | None:
    """A new shift type (None when the code is taken in this gemeente)."""
    found: int | None = await conn.fetchval(
        """INSERT INTO rooster_shift_types (org_id, code, name, start_minute, duration_minutes)
           VALUES ($1, $2, $3, $4, $5) ON CONFLICT (org_id, code) DO NOTHING RETURNING id""",
        org_id, code, name, start_minute, duration_minutes,
    )  # fmt: skip
    return found


async def update_shift_type(conn: Conn, org_id: int, type_id: int, changes: dict[str, Any]) -> bool:
    columns = [c for c in ("name", "start_minute", "duration_minutes", "active") if c in changes]
    if not columns:
        return bool(
            await conn.fetchval(
                "SELECT 1 FROM rooster_shift_types WHERE id = $1 AND org_id = $2", type_id, org_id
            )
        )
    sets = ", ".join(f"{c} = ${i + 3}" for i, c in enumerate(columns))
    status = await conn.execute(
        f"UPDATE rooster_shift_types SET {sets} WHERE id = $1 AND org_id = $2",
        type_id,
        org_id,
        *(changes[c] for c in columns),
    )
    return status.endswith(" 1")


# ---- boa's, beats, absences, pair rules ----


async def planning_boas(conn: Conn, org_id: int) -> list[PlanningBoa]:
    """The gemeente's active boa's with what the planner needs of them, by name."""
    rows = await conn.fetch(
        """SELECT id, display_name, qualifications, contract_hours::float8 AS contract_hours, experienced,
                  night_exempt, fixed_days_off, preferences
           FROM accounts WHERE org_id = $1 AND role = 'boa' AND active ORDER BY display_name, id""",
        org_id,
    )
    return [
        PlanningBoa(
            **{
                **dict(row),
                "qualifications": list(row["qualifications"]),
                "fixed_days_off": list(row["fixed_days_off"]),
                "preferences": _preferences(row["preferences"]),
            }
        )
        for row in rows
    ]


def _preferences(stored: Any) -> list[r.Preference]:
    """The jsonb column as the pool decodes it (a list), or as text from a plain connection (tests)."""
    if isinstance(stored, str):
        return msgspec.json.decode(stored, type=list[r.Preference])
    return msgspec.convert(stored or [], list[r.Preference])


async def boa_ids(conn: Conn, org_id: int, ids: Sequence[int]) -> set[int]:
    """Which of these ids are active boa's of this gemeente."""
    rows = await conn.fetch(
        "SELECT id FROM accounts WHERE id = ANY($1) AND org_id = $2 AND role = 'boa' AND active",
        list(ids),
        org_id,
    )
    return {row["id"] for row in rows}


async def update_boa(conn: Conn, account_id: int, changes: dict[str, Any]) -> None:
    columns = [c for c in ("night_exempt", "fixed_days_off", "preferences") if c in changes]
    if not columns:
        return
    sets = ", ".join(f"{c} = ${i + 2}" for i, c in enumerate(columns))
    await conn.execute(
        f"UPDATE accounts SET {sets} WHERE id = $1", account_id, *(changes[c] for c in columns)
    )


async def beats(conn: Conn, org_id: int) -> list[BeatRow]:
    rows = await conn.fetch(
        "SELECT id, name FROM beats WHERE org_id = $1 AND retired_at IS NULL ORDER BY name, id", org_id
    )
    return [BeatRow(id=row["id"], name=row["name"]) for row in rows]


async def absences(conn: Conn, org_id: int, first: date, last: date) -> list[AbsenceRow]:
    rows = await conn.fetch(
        """SELECT a.id, a.account_id, a.day, a.kind, a.hours::float8 AS hours, a.note
           FROM rooster_absences a JOIN accounts ac ON ac.id = a.account_id
           WHERE ac.org_id = $1 AND a.day BETWEEN $2 AND $3 ORDER BY a.day, a.account_id""",
        org_id,
        first,
        last,
    )
    return [AbsenceRow(**dict(row)) for row in rows]


async def set_absences(
    conn: Conn, account_id: int, first: date, last: date, *, kind: str, hours: float, note: str | None
) -> int:
    """Absent every day from `first` to `last` (replacing what was stored those days); the number of days."""
    days = [first + timedelta(days=i) for i in range((last - first).days + 1)]
    await conn.executemany(
        """INSERT INTO rooster_absences (account_id, day, kind, hours, note) VALUES ($1, $2, $3, $4, $5)
           ON CONFLICT (account_id, day) DO UPDATE
           SET kind = excluded.kind, hours = excluded.hours, note = excluded.note""",
        [(account_id, day, kind, hours, note) for day in days],
    )
    return len(days)


async def delete_absence(conn: Conn, org_id: int, absence_id: int) -> bool:
    status = await conn.execute(
        """DELETE FROM rooster_absences a USING accounts ac
           WHERE a.id = $1 AND ac.id = a.account_id AND ac.org_id = $2""",
        absence_id,
        org_id,
    )
    return status.endswith(" 1")


async def pair_rules(conn: Conn, org_id: int) -> list[PairRuleRow]:
    rows = await conn.fetch(
        "SELECT a, b, kind FROM rooster_pair_rules WHERE org_id = $1 ORDER BY a, b", org_id
    )
    return [PairRuleRow(**dict(row)) for row in rows]


async def set_pair_rule(conn: Conn, org_id: int, a: int, b: int, kind: str) -> None:
    low, high = sorted((a, b))
    await conn.execute(
        """INSERT INTO rooster_pair_rules (org_id, a, b, kind) VALUES ($1, $2, $3, $4)
           ON CONFLICT (a, b) DO UPDATE SET kind = excluded.kind""",
        org_id,
        low,
        high,
        kind,
    )


async def delete_pair_rule(conn: Conn, org_id: int, a: int, b: int) -> bool:
    low, high = sorted((a, b))
    status = await conn.execute(
        "DELETE FROM rooster_pair_rules WHERE org_id = $1 AND a = $2 AND b = $3", org_id, low, high
    )
    return status.endswith(" 1")


# ---- demand templates ----


async def templates(conn: Conn, org_id: int) -> list[Template]:
    heads = await conn.fetch(
        "SELECT id, name FROM rooster_demand_templates WHERE org_id = $1 ORDER BY name", org_id
    )
    rows = await conn.fetch(
        """SELECT t.template_id, t.weekday, t.shift_type_id, t.beat_id, t.duos, t.qualification
           FROM rooster_demand_template_rows t JOIN rooster_demand_templates d ON d.id = t.template_id
           WHERE d.org_id = $1 ORDER BY t.weekday, t.shift_type_id, t.beat_id""",
        org_id,
    )
    by_template: dict[int, list[TemplateRow]] = {}
    for row in rows:
        values = dict(row)
        by_template.setdefault(values.pop("template_id"), []).append(TemplateRow(**values))
    return [Template(id=h["id"], name=h["name"], rows=by_template.get(h["id"], [])) for h in heads]


async def template(conn: Conn, org_id: int, template_id: int) -> Template | None:
    return next((t for t in await templates(conn, org_id) if t.id == template_id), None)


async def create_template(conn: Conn, org_id: int, name: str) -> int | None:
    found: int | None = await conn.fetchval(
        """INSERT INTO rooster_demand_templates (org_id, name) VALUES ($1, $2)
           ON CONFLICT (org_id, name) DO NOTHING RETURNING id""",
        org_id,
        name,
    )
    return found


async def replace_template_rows(conn: Conn, template_id: int, rows: Sequence[TemplateRow]) -> None:
    await conn.execute("DELETE FROM rooster_demand_template_rows WHERE template_id = $1", template_id)
    await conn.executemany(
        """INSERT INTO rooster_demand_template_rows (template_id, weekday, shift_type_id, beat_id, duos,
                                                     qualification) VALUES ($1, $2, $3, $4, $5, $6)""",
        [(template_id, x.weekday, x.shift_type_id, x.beat_id, x.duos, x.qualification) for x in rows],
    )


# ---- plans, demand, draft ----

_PLAN = """p.id, p.name, p.start_day, p.days,
           (SELECT max(number) FROM rooster_versions v WHERE v.plan_id = p.id) AS latest_version"""


async def plans(conn: Conn, org_id: int) -> list[Plan]:
    rows = await conn.fetch(
        f"SELECT {_PLAN} FROM rooster_plans p WHERE p.org_id = $1 ORDER BY p.start_day DESC, p.id DESC",
        org_id,
    )
    return [Plan(**dict(row)) for row in rows]


async def plan(conn: Conn, org_id: int, plan_id: int) -> Plan | None:
    row = await conn.fetchrow(
        f"SELECT {_PLAN} FROM rooster_plans p WHERE p.id = $1 AND p.org_id = $2", plan_id, org_id
    )
    return None if row is None else Plan(**dict(row))


async def create_plan(conn: Conn, org_id: int, *, name: str, start_day: date, days: int, by: int) -> int:
    found: int = await conn.fetchval(
        """INSERT INTO rooster_plans (org_id, name, start_day, days, created_by) VALUES ($1, $2, $3, $4, $5)
           RETURNING id""",
        org_id, name, start_day, days, by,
    )  # fmt: skip
    return found


async def lock_plan(conn: Conn, plan_id: int) -> None:
    """Serialise writers of one plan's draft (publishing, a solve's result, a drag) for this transaction."""
    await conn.execute("SELECT 1 FROM rooster_plans WHERE id = $1 FOR UPDATE", plan_id)


async def demand(conn: Conn, plan_id: int) -> list[DemandRow]:
    rows = await conn.fetch(
        """SELECT day, shift_type_id, beat_id, duos, qualification, source FROM rooster_demand
           WHERE plan_id = $1 ORDER BY day, shift_type_id, beat_id""",
        plan_id,
    )
    return [DemandRow(**dict(row)) for row in rows]


async def demand_from_template(conn: Conn, the_plan: Plan, tpl: Template) -> int:
    """Replace the plan's template demand by `tpl` laid over its days (extra demand stays); rows written."""
    await conn.execute("DELETE FROM rooster_demand WHERE plan_id = $1 AND source = 'sjabloon'", the_plan.id)
    by_weekday: dict[int, list[TemplateRow]] = {}
    for row in tpl.rows:
        by_weekday.setdefault(row.weekday, []).append(row)
    values = []
    for i in range(the_plan.days):
        day = the_plan.start_day + timedelta(days=i)
        for row in by_weekday.get(day.weekday(), []):
            values.append((the_plan.id, day, row.shift_type_id, row.beat_id, row.duos, row.qualification))
    await conn.executemany(
        """INSERT INTO rooster_demand (plan_id, day, shift_type_id, beat_id, duos, qualification, source)
           VALUES ($1, $2, $3, $4, $5, $6, 'sjabloon') ON CONFLICT DO NOTHING""",
        values,
    )
    return len(values)


async def set_extra_demand(
    conn: Conn,
    plan_id: int,
    *,
    day: date,
    shift_type_id: int,
    beat_id: int,
    duos: int,
    qualification: str | None,
) -> None:
    """One-off demand for a day, shift and beat (replacing what was there; 0 duos: none that day)."""
    await conn.execute(
        """INSERT INTO rooster_demand (plan_id, day, shift_type_id, beat_id, duos, qualification, source)
           VALUES ($1, $2, $3, $4, $5, $6, 'extra') ON CONFLICT (plan_id, day, shift_type_id, beat_id)
           DO UPDATE SET duos = excluded.duos, qualification = excluded.qualification, source = 'extra'""",
        plan_id, day, shift_type_id, beat_id, duos, qualification,
    )  # fmt: skip


_DRAFT = "account_id, day, shift_type_id, beat_id, duo, pinned"


async def draft(conn: Conn, plan_id: int) -> list[DraftAssignment]:
    rows = await conn.fetch(
        f"SELECT {_DRAFT} FROM rooster_assignments WHERE plan_id = $1 ORDER BY day, account_id", plan_id
    )
    return [DraftAssignment(**dict(row)) for row in rows]


async def draft_cell(conn: Conn, plan_id: int, account_id: int, day: date) -> DraftAssignment | None:
    row = await conn.fetchrow(
        f"SELECT {_DRAFT} FROM rooster_assignments WHERE plan_id = $1 AND account_id = $2 AND day = $3",
        plan_id,
        account_id,
        day,
    )
    return None if row is None else DraftAssignment(**dict(row))


async def set_assignment(conn: Conn, plan_id: int, a: DraftAssignment) -> None:
    await conn.execute(
        """INSERT INTO rooster_assignments (plan_id, account_id, day, shift_type_id, beat_id, duo, pinned)
           VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT (plan_id, account_id, day) DO UPDATE
           SET shift_type_id = excluded.shift_type_id, beat_id = excluded.beat_id, duo = excluded.duo,
               pinned = excluded.pinned""",
        plan_id, a.account_id, a.day, a.shift_type_id, a.beat_id, a.duo, a.pinned,
    )  # fmt: skip


async def remove_assignment(conn: Conn, plan_id: int, account_id: int, day: date) -> bool:
    status = await conn.execute(
        "DELETE FROM rooster_assignments WHERE plan_id = $1 AND account_id = $2 AND day = $3",
        plan_id,
        account_id,
        day,
    )
    return status.endswith(" 1")


async def replace_draft(conn: Conn, plan_id: int, assignments: Sequence[DraftAssignment]) -> None:
    await conn.execute("DELETE FROM rooster_assignments WHERE plan_id = $1", plan_id)
    await conn.executemany(
        """INSERT INTO rooster_assignments (plan_id, account_id, day, shift_type_id, beat_id, duo, pinned)
           VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT DO NOTHING""",
        [(plan_id, a.account_id, a.day, a.shift_type_id, a.beat_id, a.duo, a.pinned) for a in assignments],
    )


async def remove_days(conn: Conn, plan_id: int, account_id: int, first: date, last: date) -> int:
    """Take a boa out of the draft from `first` to `last` (pins too: he cannot work them)."""
    status = await conn.execute(
        "DELETE FROM rooster_assignments WHERE plan_id = $1 AND account_id = $2 AND day BETWEEN $3 AND $4",
        plan_id,
        account_id,
        first,
        last,
    )
    return int(status.rsplit(" ", 1)[1])


# ---- versions and the diff ----


async def publish(conn: Conn, plan_id: int, *, by: int, note: str | None) -> int:
    """Copy the draft into the next numbered version; its number."""
    await lock_plan(conn, plan_id)
    number: int = await conn.fetchval(
        "SELECT coalesce(max(number), 0) + 1 FROM rooster_versions WHERE plan_id = $1", plan_id
    )
    version_id = await conn.fetchval(
        """INSERT INTO rooster_versions (plan_id, number, published_by, note) VALUES ($1, $2, $3, $4)
           RETURNING id""",
        plan_id, number, by, note,
    )  # fmt: skip
    await conn.execute(
        """INSERT INTO rooster_version_assignments (version_id, account_id, day, shift_type_id, beat_id, duo)
           SELECT $1, account_id, day, shift_type_id, beat_id, duo FROM rooster_assignments
           WHERE plan_id = $2""",
        version_id,
        plan_id,
    )
    return number


async def versions(conn: Conn, plan_id: int) -> list[Version]:
    rows = await conn.fetch(
        """SELECT v.id, v.number, v.published_at, ac.display_name AS published_by, v.note,
                  (SELECT count(*) FROM rooster_version_assignments x WHERE x.version_id = v.id)
                  AS assignments
           FROM rooster_versions v LEFT JOIN accounts ac ON ac.id = v.published_by
           WHERE v.plan_id = $1 ORDER BY v.number DESC""",
        plan_id,
    )
    return [Version(**dict(row)) for row in rows]


async def published(conn: Conn, plan_id: int) -> list[DraftAssignment]:
    """The latest published version of the plan (empty when it was never published)."""
    rows = await conn.fetch(
        """SELECT x.account_id, x.day, x.shift_type_id, x.beat_id, x.duo, false AS pinned
           FROM rooster_version_assignments x
           WHERE x.version_id = (SELECT id FROM rooster_versions WHERE plan_id = $1
                                 ORDER BY number DESC LIMIT 1)
           ORDER BY x.day, x.account_id""",
        plan_id,
    )
    return [DraftAssignment(**dict(row)) for row in rows]


def diff(before: Sequence[DraftAssignment], after: Sequence[DraftAssignment]) -> list[Change]:
    """The cells (boa, day) whose shift, beat or duo differ between two roosters (pins do not count)."""
    old = {(a.account_id, a.day): a for a in before}
    new = {(a.account_id, a.day): a for a in after}
    changes = []
    for key in sorted(old.keys() | new.keys(), key=lambda k: (k[1], k[0])):
        x, y = old.get(key), new.get(key)
        if x is not None and y is not None and (x.shift_type_id, x.beat_id, x.duo) == (
            y.shift_type_id, y.beat_id, y.duo
        ):  # fmt: skip
            continue
        changes.append(Change(account_id=key[0], day=key[1], before=x, after=y))
    return changes


async def history(conn: Conn, org_id: int, start: date) -> list[DraftAssignment]:
    """Published shifts of the 16 weeks before `start` (for each boa and day, the latest published one)."""
    rows = await conn.fetch(
        """SELECT DISTINCT ON (x.account_id, x.day) x.account_id, x.day, x.shift_type_id, x.beat_id, x.duo,
                  false AS pinned
           FROM rooster_version_assignments x JOIN rooster_versions v ON v.id = x.version_id
           JOIN rooster_plans p ON p.id = v.plan_id
           WHERE p.org_id = $1 AND x.day >= $2 AND x.day < $3
           ORDER BY x.account_id, x.day, v.published_at DESC, v.number DESC""",
        org_id,
        start - timedelta(days=HISTORY_DAYS),
        start,
    )
    return [DraftAssignment(**dict(row)) for row in rows]


# ---- the planning problem ----


class Codes:
    """Shift type ids <-> codes of one gemeente (the problem speaks codes, the tables ids)."""

    def __init__(self, types: Sequence[ShiftTypeRow]) -> None:
        self.by_id = {t.id: t for t in types}
        self.by_code = {t.code: t for t in types}

    def assignment(self, a: DraftAssignment) -> r.Assignment:
        return r.Assignment(
            staff_id=str(a.account_id),
            day=a.day,
            shift_code=self.by_id[a.shift_type_id].code,
            beat_id=str(a.beat_id),
            duo=a.duo,
            pinned=a.pinned,
        )

    def draft(self, a: r.Assignment) -> DraftAssignment:
        return DraftAssignment(
            account_id=int(a.staff_id),
            day=a.day,
            shift_type_id=self.by_code[a.shift_code].id,
            beat_id=int(a.beat_id),
            duo=a.duo,
            pinned=a.pinned,
        )


async def build_problem(
    conn: Conn,
    plan_id: int,
    *,
    time_limit_s: float = 10.0,
    frozen_until: date | None = None,
    rules: r.RuleSettings | None = None,
    weights: r.Weights | None = None,
) -> r.PlanningProblem:
    """The plan as the solver and the checker take it: its gemeente's shift types, active boa's, demand,
    absences and pair rules; the draft's pins; the latest published version; 16 weeks of published history."""
    row = await conn.fetchrow("SELECT org_id, start_day, days FROM rooster_plans WHERE id = $1", plan_id)
    if row is None:
        raise LookupError(f"plan {plan_id} does not exist")
    org_id, start, days = row["org_id"], row["start_day"], row["days"]
    last = start + timedelta(days=days - 1)
    all_types = await shift_types(conn, org_id, with_inactive=True)
    codes = Codes(all_types)
    boas = await planning_boas(conn, org_id)
    staff = {b.id for b in boas}
    type_of = codes.by_id
    problem_demand = [
        r.Demand(
            day=d.day,
            shift_code=type_of[d.shift_type_id].code,
            beat_id=str(d.beat_id),
            duos=d.duos,
            qualification=d.qualification,
        )
        for d in await demand(conn, plan_id)
        if d.duos > 0
    ]
    the_draft = await draft(conn, plan_id)
    return r.PlanningProblem(
        start=start,
        days=days,
        shift_types=[
            r.ShiftType(
                code=t.code, name=t.name, start_minute=t.start_minute, duration_minutes=t.duration_minutes
            )
            for t in all_types
            if t.active or any(a.shift_type_id == t.id for a in the_draft)
        ],
        boas=[
            r.Boa(
                staff_id=str(b.id),
                name=b.display_name,
                qualifications=b.qualifications,
                contract_hours_week=36.0 if b.contract_hours is None else b.contract_hours,
                experienced=b.experienced,
                night_exempt=b.night_exempt,
                fixed_days_off=b.fixed_days_off,
                preferences=b.preferences,
            )
            for b in boas
        ],
        demand=problem_demand,
        absences=[
            r.Absence(staff_id=str(a.account_id), day=a.day, kind=a.kind, hours=a.hours)  # type: ignore[arg-type]
            for a in await absences(conn, org_id, start - timedelta(days=HISTORY_DAYS), last)
            if a.account_id in staff
        ],
        pair_rules=[
            r.PairRule(a=str(p.a), b=str(p.b), kind=p.kind)  # type: ignore[arg-type]
            for p in await pair_rules(conn, org_id)
            if p.a in staff and p.b in staff
        ],
        pins=[codes.assignment(a) for a in the_draft if a.pinned and a.account_id in staff],
        published=[codes.assignment(a) for a in await published(conn, plan_id) if a.account_id in staff],
        frozen_until=frozen_until,
        history=[codes.assignment(a) for a in await history(conn, org_id, start) if a.account_id in staff],
        rules=rules or r.RuleSettings(),
        weights=weights or r.Weights(),
        time_limit_s=time_limit_s,
    )


class Short(msgspec.Struct, frozen=True, kw_only=True):
    """A demand slot the draft leaves short: the boa's missing (a duo is 2) and the duos not complete."""

    day: date
    shift_type_id: int
    beat_id: int
    missing: int
    duos_open: int


def uncovered(demand_rows: Sequence[DemandRow], assignments: Sequence[DraftAssignment]) -> list[Short]:
    """Demand the draft leaves short: per (day, shift, beat) the boa's missing from its duos (a duo is 2)."""
    staffed: dict[tuple[date, int, int], int] = {}
    for a in assignments:
        key = (a.day, a.shift_type_id, a.beat_id)
        staffed[key] = staffed.get(key, 0) + 1
    found = []
    for d in demand_rows:
        missing = 2 * d.duos - staffed.get((d.day, d.shift_type_id, d.beat_id), 0)
        if missing > 0:
            found.append(
                Short(
                    day=d.day,
                    shift_type_id=d.shift_type_id,
                    beat_id=d.beat_id,
                    missing=missing,
                    duos_open=(missing + 1) // 2,
                )
            )
    return found
