"""The rooster over HTTP (``/api/rooster``, team lead and administrator of the own gemeente).

Data entry (shift types, absences, pair rules, a boa's planning fields, demand templates), plans with their
demand and draft (set, move, remove, pin), solving as a background job, publishing numbered versions, the diff
of the draft against the latest version, and "herplan" (a boa calls in sick: store the absence and repair the
rooster from that day with as few changes as possible). Bodies are msgspec Structs Litestar decodes, so every
refusal is a 400 naming its field; ids of another gemeente are 404.
"""

from __future__ import annotations

import asyncio
from datetime import date, timedelta
from typing import Annotated, Literal

import asyncpg
import msgspec
from litestar import Router, delete, get, patch, post, put
from litestar.datastructures import State
from litestar.di import NamedDependency
from litestar.params import FromPath, FromQuery, JSONBody
from litestar.status_codes import HTTP_200_OK, HTTP_201_CREATED

from backend import request_input as req
from backend.auth.guards import requires
from backend.auth.tokens import Principal
from backend.db.pool import Conn
from backend.errors import BadInput, Conflict, NotFound
from backend.params import PathId
from backend.privacy import audit
from backend.request_input import AnyRequest
from backend.rooster import engine
from backend.rooster import repository as repo
from backend.rooster.jobs import Busy, Jobs, JobView
from backend.services import provide_services
from backend.team import logic as team_logic
from shared import rooster as r
from shared.ids import Id

LEADS = requires("teamlead", "admin")
Name = Annotated[str, msgspec.Meta(min_length=1, max_length=60)]
Code = Annotated[str, msgspec.Meta(pattern=r"^[a-z0-9_]{1,20}$")]
Note = Annotated[str, msgspec.Meta(max_length=500)]
Weekday = Annotated[int, msgspec.Meta(ge=0, le=6)]
Qualification = Annotated[str, msgspec.Meta(pattern=r"^[a-z0-9_\-]{1,30}$")]
Duos = Annotated[int, msgspec.Meta(ge=0, le=20)]
TimeLimit = Annotated[float, msgspec.Meta(ge=1, le=120)]  # seconds the solver may take
MAX_PLAN_DAYS = 28
MAX_ABSENCE_DAYS = 366


# ---- bodies and answers ----


class NewShiftType(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    code: Code
    name: Name
    start_minute: Annotated[int, msgspec.Meta(ge=0, le=1439)]
    duration_minutes: Annotated[int, msgspec.Meta(ge=30, le=960)]


class ShiftTypeChange(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    name: Name | msgspec.UnsetType = msgspec.UNSET
    start_minute: Annotated[int, msgspec.Meta(ge=0, le=1439)] | msgspec.UnsetType = msgspec.UNSET
    duration_minutes: Annotated[int, msgspec.Meta(ge=30, le=960)] | msgspec.UnsetType = msgspec.UNSET
    active: bool | msgspec.UnsetType = msgspec.UNSET


class NewAbsence(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    account_id: Id
    from_day: date
    to_day: date | None = None  # default: the one day
    kind: r.AbsenceKind
    hours: Annotated[float, msgspec.Meta(ge=0, le=24)] | None = None  # default: verlof/ziek 7.2, else 0
    note: Note | None = None


class Counted(msgspec.Struct, frozen=True, kw_only=True):
    count: int


class PairRuleBody(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    a: Id
    b: Id
    kind: r.PairKind


class PairRef(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    a: Id
    b: Id


class BoaChange(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    night_exempt: bool | msgspec.UnsetType = msgspec.UNSET
    fixed_days_off: Annotated[list[Weekday], msgspec.Meta(max_length=7)] | msgspec.UnsetType = msgspec.UNSET
    preferences: Annotated[list[r.Preference], msgspec.Meta(max_length=30)] | msgspec.UnsetType = (
        msgspec.UNSET
    )


class NewTemplate(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    name: Annotated[str, msgspec.Meta(min_length=1, max_length=80)]
    rows: Annotated[list[repo.TemplateRow], msgspec.Meta(max_length=2000)] = []


class TemplateRows(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    rows: Annotated[list[repo.TemplateRow], msgspec.Meta(max_length=2000)]


class NewPlan(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    name: Annotated[str, msgspec.Meta(min_length=1, max_length=80)]
    start_day: date
    days: Literal[7, 28] = 28
    template_id: Id | None = None


class FromTemplate(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    template_id: Id


class ExtraDemand(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    day: date
    shift_type_id: Id
    beat_id: Id
    duos: Duos
    qualification: Qualification | None = None


class Cell(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    account_id: Id
    day: date


class SetCell(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    account_id: Id
    day: date
    shift_type_id: Id
    beat_id: Id
    duo: Annotated[int, msgspec.Meta(ge=0, le=19)] = 0
    pinned: bool = False


class Move(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    account_id: Id
    day: date
    to_account_id: Id
    to_day: date


class Pin(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    account_id: Id
    day: date
    pinned: bool


class SolveRequest(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    time_limit_s: TimeLimit = 10.0


class PublishRequest(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    note: Note | None = None


class Published(msgspec.Struct, frozen=True, kw_only=True):
    number: int
    assignments: int


class Herplan(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    account_id: Id
    from_day: date
    days: Annotated[int, msgspec.Meta(ge=1, le=28)] = 1
    kind: r.AbsenceKind = "ziek"
    time_limit_s: TimeLimit = 10.0


class Started(msgspec.Struct, frozen=True, kw_only=True):
    job_id: str
    job: JobView


class PlanView(msgspec.Struct, frozen=True, kw_only=True):
    """Everything the planning page shows of one plan."""

    plan: repo.Plan
    shift_types: list[repo.ShiftTypeRow]
    beats: list[repo.BeatRow]
    boas: list[repo.PlanningBoa]
    demand: list[repo.DemandRow]
    draft: list[repo.DraftAssignment]
    uncovered: list[repo.Short]
    absences: list[repo.AbsenceRow]
    versions: list[repo.Version]
    changes: list[repo.Change]  # the draft against the latest published version
    job: JobView | None
    solver_available: bool
    checker_available: bool


class Violations(msgspec.Struct, frozen=True, kw_only=True):
    available: bool  # False: the checker is not installed here
    violations: list[r.Violation]


class Plans(msgspec.Struct, frozen=True, kw_only=True):
    plans: list[repo.Plan]
    templates: list[repo.Template]
    shift_types: list[repo.ShiftTypeRow]
    beats: list[repo.BeatRow]


# ---- helpers ----


def jobs_of(state: State) -> Jobs:
    jobs: Jobs | None = state.get("rooster_jobs")
    if jobs is None:
        services = provide_services(state)
        jobs = Jobs(services.pool, services.settings.rooster_job_dead_s)
        state["rooster_jobs"] = jobs
    return jobs


async def _plan(conn: Conn, principal: Principal, plan_id: int) -> repo.Plan:
    found = await repo.plan(conn, principal.org_id, plan_id)
    if found is None:
        raise NotFound("rooster niet gevonden in deze gemeente", field="plan_id")
    return found


FIRST_DAY, LAST_DAY = date(2000, 1, 1), date(2099, 12, 31)  # what a rooster may plan (no date overflows)


def _plannable(day: date, field: str) -> None:
    if not FIRST_DAY <= day <= LAST_DAY:
        raise BadInput("kies een dag tussen 2000 en 2099", field=field)


def _in_plan(the_plan: repo.Plan, day: date, field: str) -> None:
    last = the_plan.start_day + timedelta(days=the_plan.days - 1)
    if not the_plan.start_day <= day <= last:
        raise BadInput(
            f"dag {day.isoformat()} valt buiten dit rooster ({the_plan.start_day.isoformat()} t/m "
            f"{last.isoformat()})",
            field=field,
        )


async def _boa(conn: Conn, principal: Principal, account_id: int, field: str = "account_id") -> None:
    if account_id not in await repo.boa_ids(conn, principal.org_id, [account_id]):
        raise NotFound("boa niet gevonden in deze gemeente", field=field)


async def _shift_and_beat(conn: Conn, principal: Principal, shift_type_id: int, beat_id: int) -> None:
    if shift_type_id not in {t.id for t in await repo.shift_types(conn, principal.org_id)}:
        raise BadInput("onbekende of uitgeschakelde dienstsoort in deze gemeente", field="shift_type_id")
    if beat_id not in {b.id for b in await repo.beats(conn, principal.org_id)}:
        raise BadInput("onbekend of buiten gebruik gesteld gebied in deze gemeente", field="beat_id")


async def _template_rows(conn: Conn, principal: Principal, rows: list[repo.TemplateRow]) -> None:
    types = {t.id for t in await repo.shift_types(conn, principal.org_id)}
    beat_ids = {b.id for b in await repo.beats(conn, principal.org_id)}
    seen = set()
    for i, row in enumerate(rows):
        if row.shift_type_id not in types:
            raise BadInput("onbekende dienstsoort in deze gemeente", field=f"rows[{i}].shift_type_id")
        if row.beat_id not in beat_ids:
            raise BadInput("onbekend gebied in deze gemeente", field=f"rows[{i}].beat_id")
        if not 1 <= row.duos <= 20 or not 0 <= row.weekday <= 6:
            raise BadInput("weekdag 0-6 en 1 tot 20 duo's", field=f"rows[{i}].duos")
        if row.qualification is not None and not team_logic.qualifications([row.qualification]):
            raise BadInput("kwalificatie ontbreekt", field=f"rows[{i}].qualification")
        key = (row.weekday, row.shift_type_id, row.beat_id)
        if key in seen:
            raise BadInput("dezelfde dag, dienst en gebied staan er twee keer in", field=f"rows[{i}]")
        seen.add(key)


async def _view(conn: Conn, principal: Principal, plan_id: int, jobs: Jobs) -> PlanView:
    the_plan = await _plan(conn, principal, plan_id)
    last = the_plan.start_day + timedelta(days=the_plan.days - 1)
    demand = await repo.demand(conn, plan_id)
    the_draft = await repo.draft(conn, plan_id)
    published = await repo.published(conn, plan_id)
    job = await jobs.latest(conn, plan_id)
    return PlanView(
        plan=the_plan,
        shift_types=await repo.shift_types(conn, principal.org_id, with_inactive=True),
        beats=await repo.beats(conn, principal.org_id),
        boas=await repo.planning_boas(conn, principal.org_id),
        demand=demand,
        draft=the_draft,
        uncovered=repo.uncovered(demand, the_draft),
        absences=await repo.absences(conn, principal.org_id, the_plan.start_day, last),
        versions=await repo.versions(conn, plan_id),
        changes=repo.diff(published, the_draft) if the_plan.latest_version is not None else [],
        job=job,
        solver_available=True,
        checker_available=True,
    )


def _default_hours(kind: str, hours: float | None, contract_hours: float | None) -> float:
    """Verlof and ziek count as worked hours (ATW 5:2): a day of the contract week unless given."""
    if kind == "niet_beschikbaar":
        return 0.0
    if hours is not None:
        return hours
    return round((36.0 if contract_hours is None else contract_hours) / 5, 1)


# ---- shift types ----


@get("/shift-types")
async def list_shift_types(
    principal: NamedDependency[Principal], pool: NamedDependency[asyncpg.Pool]
) -> list[repo.ShiftTypeRow]:
    """The gemeente's shift types, switched-off ones too (vroeg, dag, laat, nacht made when it has none)."""
    async with pool.acquire() as conn, conn.transaction():
        return await repo.shift_types(conn, principal.org_id, with_inactive=True)


@post("/shift-types", status_code=HTTP_201_CREATED)
async def create_shift_type(
    data: JSONBody[NewShiftType], principal: NamedDependency[Principal], pool: NamedDependency[asyncpg.Pool]
) -> repo.ShiftTypeRow:
    """A new shift type (code: lower-case letters, digits, _; start in minutes after midnight)."""
    async with pool.acquire() as conn, conn.transaction():
        await repo.shift_types(conn, principal.org_id)
        new_id = await repo.create_shift_type(
            conn, principal.org_id, code=data.code, name=data.name.strip(), start_minute=data.start_minute,
            duration_minutes=data.duration_minutes,
        )  # fmt: skip
        if new_id is None:
            raise Conflict(f"dienstsoort {data.code!r} bestaat al in deze gemeente", field="code")
        types = await repo.shift_types(conn, principal.org_id, with_inactive=True)
    return next(t for t in types if t.id == new_id)


@patch("/shift-types/{type_id:int}")
async def change_shift_type(
    type_id: PathId,
    data: JSONBody[ShiftTypeChange],
    principal: NamedDependency[Principal],
    pool: NamedDependency[asyncpg.Pool],
) -> repo.ShiftTypeRow:
    """Rename, move or switch off a shift type (a switched-off one is not planned any more)."""
    changes = {k: v for k, v in msgspec.structs.asdict(data).items() if v is not msgspec.UNSET}
    if "name" in changes:
        changes["name"] = changes["name"].strip()
    async with pool.acquire() as conn, conn.transaction():
        if not await repo.update_shift_type(conn, principal.org_id, type_id, changes):
            raise NotFound("dienstsoort niet gevonden in deze gemeente", field="type_id")
        types = await repo.shift_types(conn, principal.org_id, with_inactive=True)
    return next(t for t in types if t.id == type_id)


# ---- boa's, absences, pair rules ----


@get("/boas")
async def list_boas(
    principal: NamedDependency[Principal], pool: NamedDependency[asyncpg.Pool]
) -> list[repo.PlanningBoa]:
    """The active boa's with their planning fields (qualifications and hours are edited on the Team page)."""
    async with pool.acquire() as conn:
        return await repo.planning_boas(conn, principal.org_id)


@patch("/boas/{account_id:int}")
async def change_boa(
    account_id: PathId,
    data: JSONBody[BoaChange],
    principal: NamedDependency[Principal],
    pool: NamedDependency[asyncpg.Pool],
) -> repo.PlanningBoa:
    """Night-shift exemption, fixed days off (0 = Monday) and preferences of one boa."""
    changes: dict[str, object] = {}
    if data.night_exempt is not msgspec.UNSET:
        changes["night_exempt"] = data.night_exempt
    if data.fixed_days_off is not msgspec.UNSET:
        changes["fixed_days_off"] = sorted(set(data.fixed_days_off))
    if data.preferences is not msgspec.UNSET:
        changes["preferences"] = msgspec.to_builtins(data.preferences)
    async with pool.acquire() as conn, conn.transaction():
        await _boa(conn, principal, account_id)
        if data.preferences is not msgspec.UNSET:
            codes = {t.code for t in await repo.shift_types(conn, principal.org_id)}
            for i, p in enumerate(data.preferences):
                if p.shift_code is not None and p.shift_code not in codes:
                    raise BadInput("onbekende dienstsoort", field=f"preferences[{i}].shift_code")
                if p.weekday is not None and not 0 <= p.weekday <= 6:
                    raise BadInput("weekdag 0 (maandag) tot 6 (zondag)", field=f"preferences[{i}].weekday")
        await repo.update_boa(conn, account_id, changes)
        boas = await repo.planning_boas(conn, principal.org_id)
    return next(b for b in boas if b.id == account_id)


@get("/absences")
async def list_absences(
    principal: NamedDependency[Principal],
    pool: NamedDependency[asyncpg.Pool],
    from_day: FromQuery[date],
    to_day: FromQuery[date],
) -> list[repo.AbsenceRow]:
    """Verlof, ziek and niet beschikbaar of the gemeente's boa's between two days (at most a year)."""
    _plannable(from_day, "from_day")
    _plannable(to_day, "to_day")
    if to_day < from_day or (to_day - from_day).days > MAX_ABSENCE_DAYS:
        raise BadInput("tot-dag moet na de van-dag liggen, hoogstens een jaar verder", field="to_day")
    async with pool.acquire() as conn:
        return await repo.absences(conn, principal.org_id, from_day, to_day)


@post("/absences", status_code=HTTP_201_CREATED)
async def add_absence(
    request: AnyRequest,
    data: JSONBody[NewAbsence],
    principal: NamedDependency[Principal],
    pool: NamedDependency[asyncpg.Pool],
) -> Counted:
    """A boa is absent from one day to another (replacing what was stored those days)."""
    last = data.to_day or data.from_day
    _plannable(data.from_day, "from_day")
    _plannable(last, "to_day")
    if last < data.from_day or (last - data.from_day).days >= MAX_ABSENCE_DAYS:
        raise BadInput("tot-dag moet na de van-dag liggen, hoogstens een jaar verder", field="to_day")
    async with pool.acquire() as conn, conn.transaction():
        count = await _store_absence(conn, request, principal, data.account_id, data.from_day, last,
                                     kind=data.kind, hours=data.hours, note=data.note)  # fmt: skip
    return Counted(count=count)


async def _store_absence(
    conn: Conn, request: AnyRequest, principal: Principal, account_id: int, first: date, last: date, *,
    kind: str, hours: float | None, note: str | None,
) -> int:  # fmt: skip
    await _boa(conn, principal, account_id)
    boa = next(b for b in await repo.planning_boas(conn, principal.org_id) if b.id == account_id)
    count = await repo.set_absences(
        conn,
        account_id,
        first,
        last,
        kind=kind,
        hours=_default_hours(kind, hours, boa.contract_hours),
        note=note,
    )
    await audit.record(
        conn, principal=principal, action="rooster_absence", object_type="account", object_id=str(account_id),
        origin=req.origin(request, principal),
        details={"kind": kind, "from": first.isoformat(), "to": last.isoformat()},
    )  # fmt: skip
    return count


@delete("/absences/{absence_id:int}", status_code=HTTP_200_OK)
async def remove_absence(
    absence_id: PathId, principal: NamedDependency[Principal], pool: NamedDependency[asyncpg.Pool]
) -> Counted:
    async with pool.acquire() as conn, conn.transaction():
        if not await repo.delete_absence(conn, principal.org_id, absence_id):
            raise NotFound("afwezigheid niet gevonden in deze gemeente", field="absence_id")
    return Counted(count=1)


@get("/pair-rules")
async def list_pair_rules(
    principal: NamedDependency[Principal], pool: NamedDependency[asyncpg.Pool]
) -> list[repo.PairRuleRow]:
    async with pool.acquire() as conn:
        return await repo.pair_rules(conn, principal.org_id)


@put("/pair-rules")
async def set_pair_rule(
    data: JSONBody[PairRuleBody], principal: NamedDependency[Principal], pool: NamedDependency[asyncpg.Pool]
) -> list[repo.PairRuleRow]:
    """Two boa's must always (altijd) or may never (nooit) patrol together."""
    if data.a == data.b:
        raise BadInput("een duo-regel gaat over twee verschillende boa's", field="b")
    async with pool.acquire() as conn, conn.transaction():
        await _boa(conn, principal, data.a, "a")
        await _boa(conn, principal, data.b, "b")
        await repo.set_pair_rule(conn, principal.org_id, data.a, data.b, data.kind)
        return await repo.pair_rules(conn, principal.org_id)


@post("/pair-rules/remove", status_code=HTTP_200_OK)
async def remove_pair_rule(
    data: JSONBody[PairRef], principal: NamedDependency[Principal], pool: NamedDependency[asyncpg.Pool]
) -> list[repo.PairRuleRow]:
    async with pool.acquire() as conn, conn.transaction():
        if not await repo.delete_pair_rule(conn, principal.org_id, data.a, data.b):
            raise NotFound("geen duo-regel voor deze twee boa's", field="b")
        return await repo.pair_rules(conn, principal.org_id)


# ---- demand templates ----


@get("/templates")
async def list_templates(
    principal: NamedDependency[Principal], pool: NamedDependency[asyncpg.Pool]
) -> list[repo.Template]:
    async with pool.acquire() as conn:
        return await repo.templates(conn, principal.org_id)


@post("/templates", status_code=HTTP_201_CREATED)
async def create_template(
    data: JSONBody[NewTemplate], principal: NamedDependency[Principal], pool: NamedDependency[asyncpg.Pool]
) -> repo.Template:
    """A demand template (weekdag, vrijdagnacht, evenement, zomer): duos per weekday, shift type and beat."""
    async with pool.acquire() as conn, conn.transaction():
        await _template_rows(conn, principal, data.rows)
        new_id = await repo.create_template(conn, principal.org_id, data.name.strip())
        if new_id is None:
            raise Conflict("er is al een sjabloon met deze naam", field="name")
        await repo.replace_template_rows(conn, new_id, data.rows)
        found = await repo.template(conn, principal.org_id, new_id)
    assert found is not None
    return found


@put("/templates/{template_id:int}/rows")
async def replace_template_rows(
    template_id: PathId,
    data: JSONBody[TemplateRows],
    principal: NamedDependency[Principal],
    pool: NamedDependency[asyncpg.Pool],
) -> repo.Template:
    async with pool.acquire() as conn, conn.transaction():
        if await repo.template(conn, principal.org_id, template_id) is None:
            raise NotFound("sjabloon niet gevonden in deze gemeente", field="template_id")
        await _template_rows(conn, principal, data.rows)
        await repo.replace_template_rows(conn, template_id, data.rows)
        found = await repo.template(conn, principal.org_id, template_id)
    assert found is not None
    return found


# ---- plans ----


@get("/plans")
async def list_plans(principal: NamedDependency[Principal], pool: NamedDependency[asyncpg.Pool]) -> Plans:
    """The gemeente's plans (newest first) with what the page needs to make one."""
    async with pool.acquire() as conn, conn.transaction():
        return Plans(
            plans=await repo.plans(conn, principal.org_id),
            templates=await repo.templates(conn, principal.org_id),
            shift_types=await repo.shift_types(conn, principal.org_id, with_inactive=True),
            beats=await repo.beats(conn, principal.org_id),
        )


@post("/plans", status_code=HTTP_201_CREATED)
async def create_plan(
    request: AnyRequest,
    data: JSONBody[NewPlan],
    principal: NamedDependency[Principal],
    pool: NamedDependency[asyncpg.Pool],
    state: State,
) -> PlanView:
    """A plan of a week or four weeks from `start_day`; with a template its demand is filled from it."""
    _plannable(data.start_day, "start_day")
    async with pool.acquire() as conn, conn.transaction():
        tpl = None
        if data.template_id is not None:
            tpl = await repo.template(conn, principal.org_id, data.template_id)
            if tpl is None:
                raise NotFound("sjabloon niet gevonden in deze gemeente", field="template_id")
        await repo.shift_types(conn, principal.org_id)
        plan_id = await repo.create_plan(
            conn, principal.org_id, name=data.name.strip(), start_day=data.start_day, days=data.days,
            by=principal.account_id,
        )  # fmt: skip
        if tpl is not None:
            await repo.demand_from_template(conn, await _plan(conn, principal, plan_id), tpl)
        await audit.record(
            conn, principal=principal, action="rooster_plan_create", object_type="rooster_plan",
            object_id=str(plan_id), origin=req.origin(request, principal),
            details={"start": data.start_day.isoformat(), "days": data.days},
        )  # fmt: skip
        return await _view(conn, principal, plan_id, jobs_of(state))


@get("/plans/{plan_id:int}")
async def get_plan(
    plan_id: PathId, principal: NamedDependency[Principal], pool: NamedDependency[asyncpg.Pool], state: State
) -> PlanView:
    """The plan with its demand, draft, what is short, absences, versions and the diff since publishing."""
    async with pool.acquire() as conn, conn.transaction():
        return await _view(conn, principal, plan_id, jobs_of(state))


@post("/plans/{plan_id:int}/demand/template", status_code=HTTP_200_OK)
async def demand_from_template(
    plan_id: PathId,
    data: JSONBody[FromTemplate],
    principal: NamedDependency[Principal],
    pool: NamedDependency[asyncpg.Pool],
    state: State,
) -> PlanView:
    """Lay a template over the plan's days (replacing earlier template demand; extra demand stays)."""
    async with pool.acquire() as conn, conn.transaction():
        the_plan = await _plan(conn, principal, plan_id)
        tpl = await repo.template(conn, principal.org_id, data.template_id)
        if tpl is None:
            raise NotFound("sjabloon niet gevonden in deze gemeente", field="template_id")
        await repo.demand_from_template(conn, the_plan, tpl)
        return await _view(conn, principal, plan_id, jobs_of(state))


@put("/plans/{plan_id:int}/demand")
async def set_extra_demand(
    plan_id: PathId,
    data: JSONBody[ExtraDemand],
    principal: NamedDependency[Principal],
    pool: NamedDependency[asyncpg.Pool],
    state: State,
) -> PlanView:
    """One-off extra demand (an evenement): duos for one day, shift and beat (0: none)."""
    async with pool.acquire() as conn, conn.transaction():
        the_plan = await _plan(conn, principal, plan_id)
        _in_plan(the_plan, data.day, "day")
        await _shift_and_beat(conn, principal, data.shift_type_id, data.beat_id)
        await repo.set_extra_demand(
            conn, plan_id, day=data.day, shift_type_id=data.shift_type_id, beat_id=data.beat_id,
            duos=data.duos, qualification=data.qualification,
        )  # fmt: skip
        return await _view(conn, principal, plan_id, jobs_of(state))


# ---- the draft ----


@put("/plans/{plan_id:int}/assignments")
async def set_assignment(
    plan_id: PathId,
    data: JSONBody[SetCell],
    principal: NamedDependency[Principal],
    pool: NamedDependency[asyncpg.Pool],
) -> list[repo.DraftAssignment]:
    """Put a boa on a shift and beat that day (replacing his shift of that day); the draft."""
    async with pool.acquire() as conn, conn.transaction():
        the_plan = await _plan(conn, principal, plan_id)
        _in_plan(the_plan, data.day, "day")
        await _boa(conn, principal, data.account_id)
        await _shift_and_beat(conn, principal, data.shift_type_id, data.beat_id)
        await repo.lock_plan(conn, plan_id)
        await repo.set_assignment(conn, plan_id, repo.DraftAssignment(**msgspec.structs.asdict(data)))
        return await repo.draft(conn, plan_id)


@post("/plans/{plan_id:int}/assignments/move", status_code=HTTP_200_OK)
async def move_assignment(
    plan_id: PathId,
    data: JSONBody[Move],
    principal: NamedDependency[Principal],
    pool: NamedDependency[asyncpg.Pool],
) -> list[repo.DraftAssignment]:
    """Drag a shift to another day or boa; what was in the target cell goes to the source (a swap)."""
    async with pool.acquire() as conn, conn.transaction():
        the_plan = await _plan(conn, principal, plan_id)
        _in_plan(the_plan, data.day, "day")
        _in_plan(the_plan, data.to_day, "to_day")
        await _boa(conn, principal, data.to_account_id, "to_account_id")
        await repo.lock_plan(conn, plan_id)
        source = await repo.draft_cell(conn, plan_id, data.account_id, data.day)
        if source is None:
            raise NotFound("deze boa heeft die dag geen dienst in dit rooster", field="day")
        if (data.account_id, data.day) == (data.to_account_id, data.to_day):
            return await repo.draft(conn, plan_id)
        target = await repo.draft_cell(conn, plan_id, data.to_account_id, data.to_day)
        await repo.remove_assignment(conn, plan_id, data.account_id, data.day)
        if target is not None:
            await repo.remove_assignment(conn, plan_id, data.to_account_id, data.to_day)
            await repo.set_assignment(
                conn, plan_id, msgspec.structs.replace(target, account_id=data.account_id, day=data.day)
            )
        await repo.set_assignment(
            conn, plan_id, msgspec.structs.replace(source, account_id=data.to_account_id, day=data.to_day)
        )
        return await repo.draft(conn, plan_id)


@post("/plans/{plan_id:int}/assignments/remove", status_code=HTTP_200_OK)
async def remove_assignment(
    plan_id: PathId,
    data: JSONBody[Cell],
    principal: NamedDependency[Principal],
    pool: NamedDependency[asyncpg.Pool],
) -> list[repo.DraftAssignment]:
    async with pool.acquire() as conn, conn.transaction():
        await _plan(conn, principal, plan_id)
        await repo.lock_plan(conn, plan_id)
        if not await repo.remove_assignment(conn, plan_id, data.account_id, data.day):
            raise NotFound("deze boa heeft die dag geen dienst in dit rooster", field="day")
        return await repo.draft(conn, plan_id)


@post("/plans/{plan_id:int}/assignments/pin", status_code=HTTP_200_OK)
async def pin_assignment(
    plan_id: PathId,
    data: JSONBody[Pin],
    principal: NamedDependency[Principal],
    pool: NamedDependency[asyncpg.Pool],
) -> list[repo.DraftAssignment]:
    """Pin a shift (the solver may not move it) or unpin it."""
    async with pool.acquire() as conn, conn.transaction():
        await _plan(conn, principal, plan_id)
        await repo.lock_plan(conn, plan_id)
        cell = await repo.draft_cell(conn, plan_id, data.account_id, data.day)
        if cell is None:
            raise NotFound("deze boa heeft die dag geen dienst in dit rooster", field="day")
        await repo.set_assignment(conn, plan_id, msgspec.structs.replace(cell, pinned=data.pinned))
        return await repo.draft(conn, plan_id)


# ---- solving, checking, publishing, repair ----


async def _start(
    pool: asyncpg.Pool, jobs: Jobs, principal: Principal, plan_id: int, kind: str, problem: r.PlanningProblem
) -> Started:
    pins = {(p.staff_id, p.day) for p in problem.pins}

    async def store(result: r.PlanningResult) -> None:
        """The result becomes the draft: pins stay pinned; in a repair, the frozen days the solver did not
        answer for keep their published shifts."""
        found = [
            msgspec.structs.replace(a, pinned=a.pinned or (a.staff_id, a.day) in pins)
            for a in result.assignments
        ]
        frozen = problem.frozen_until
        if frozen is not None and not any(a.day < frozen for a in found):
            found += [a for a in problem.published if a.day < frozen]
        async with pool.acquire() as conn, conn.transaction():
            await repo.lock_plan(conn, plan_id)
            codes = repo.Codes(await repo.shift_types(conn, principal.org_id, with_inactive=True))
            await repo.replace_draft(conn, plan_id, [codes.draft(a) for a in found])

    try:
        job = await jobs.start(
            plan_id=plan_id, org_id=principal.org_id, kind=kind, problem=problem,
            solve=lambda p, progress: engine.solve(p, progress), store=store,
        )  # fmt: skip
    except Busy as exc:
        raise Conflict(
            f"dit rooster wordt al gepland (taak {exc.job_id}); wacht tot die klaar is", field="plan_id"
        ) from None
    return Started(job_id=job.id, job=job)


@post("/plans/{plan_id:int}/solve", status_code=HTTP_200_OK)
async def solve(
    request: AnyRequest,
    plan_id: PathId,
    data: JSONBody[SolveRequest],
    principal: NamedDependency[Principal],
    pool: NamedDependency[asyncpg.Pool],
    state: State,
) -> Started:
    """Plan the rooster in the background (pins stay, few changes against the published version): a job id;
    read its progress with ``GET /api/rooster/jobs/{job_id}``. One job per plan at a time (409)."""
    async with pool.acquire() as conn, conn.transaction():
        await _plan(conn, principal, plan_id)
        problem = await repo.build_problem(conn, plan_id, time_limit_s=data.time_limit_s)
        started = await _start(pool, jobs_of(state), principal, plan_id, "plan", problem)
        await audit.record(
            conn, principal=principal, action="rooster_solve", object_type="rooster_plan",
            object_id=str(plan_id), origin=req.origin(request, principal),
            details={"time_limit_s": data.time_limit_s},
        )  # fmt: skip
    return started


@get("/jobs/{job_id:str}")
async def get_job(
    job_id: FromPath[str],
    principal: NamedDependency[Principal],
    pool: NamedDependency[asyncpg.Pool],
    state: State,
) -> JobView:
    """A solve job: bezig (objective, bound, seconds so far), klaar (the result's summary) or mislukt (also
    when the instance that ran it died). Through any instance: the job's state is in the database."""
    async with pool.acquire() as conn:
        job = await jobs_of(state).get(conn, job_id[:64], principal.org_id)
    if job is None:
        raise NotFound("planningstaak niet gevonden", field="job_id")
    return job


@get("/plans/{plan_id:int}/violations")
async def violations(
    plan_id: PathId, principal: NamedDependency[Principal], pool: NamedDependency[asyncpg.Pool]
) -> Violations:
    """Every rule the draft breaks, with its article, the boa's and the days (by the independent checker)."""
    async with pool.acquire() as conn, conn.transaction():
        await _plan(conn, principal, plan_id)
        problem = await repo.build_problem(conn, plan_id)
        codes = repo.Codes(await repo.shift_types(conn, principal.org_id, with_inactive=True))
        assignments = [codes.assignment(a) for a in await repo.draft(conn, plan_id)]
    found = await asyncio.to_thread(engine.check, problem, assignments)
    return Violations(available=True, violations=found)


@post("/plans/{plan_id:int}/publish", status_code=HTTP_201_CREATED)
async def publish(
    request: AnyRequest,
    plan_id: PathId,
    data: JSONBody[PublishRequest],
    principal: NamedDependency[Principal],
    pool: NamedDependency[asyncpg.Pool],
) -> Published:
    """Copy the draft into the next numbered version: the boa's tablets and feeds read the latest one."""
    async with pool.acquire() as conn, conn.transaction():
        await _plan(conn, principal, plan_id)
        note = data.note.strip() if data.note and data.note.strip() else None
        number = await repo.publish(conn, plan_id, by=principal.account_id, note=note)
        count = len(await repo.draft(conn, plan_id))
        await audit.record(
            conn, principal=principal, action="rooster_publish", object_type="rooster_plan",
            object_id=str(plan_id), origin=req.origin(request, principal),
            details={"version": number, "assignments": count},
        )  # fmt: skip
    return Published(number=number, assignments=count)


@get("/plans/{plan_id:int}/versions")
async def list_versions(
    plan_id: PathId, principal: NamedDependency[Principal], pool: NamedDependency[asyncpg.Pool]
) -> list[repo.Version]:
    async with pool.acquire() as conn:
        await _plan(conn, principal, plan_id)
        return await repo.versions(conn, plan_id)


@get("/plans/{plan_id:int}/diff")
async def plan_diff(
    plan_id: PathId, principal: NamedDependency[Principal], pool: NamedDependency[asyncpg.Pool]
) -> list[repo.Change]:
    """The cells where the draft differs from the latest published version (empty when never published)."""
    async with pool.acquire() as conn:
        the_plan = await _plan(conn, principal, plan_id)
        if the_plan.latest_version is None:
            return []
        return repo.diff(await repo.published(conn, plan_id), await repo.draft(conn, plan_id))


@post("/plans/{plan_id:int}/herplan", status_code=HTTP_200_OK)
async def herplan(
    request: AnyRequest,
    plan_id: PathId,
    data: JSONBody[Herplan],
    principal: NamedDependency[Principal],
    pool: NamedDependency[asyncpg.Pool],
    state: State,
) -> Started:
    """A boa calls in sick from a day: store the absence, take him off those days, and repair the rooster from
    that day on (the days before stay as published; changes against the published version cost)."""
    _plannable(data.from_day, "from_day")
    last = data.from_day + timedelta(days=data.days - 1)
    async with pool.acquire() as conn, conn.transaction():
        the_plan = await _plan(conn, principal, plan_id)
        _in_plan(the_plan, data.from_day, "from_day")
        if the_plan.latest_version is None:
            raise Conflict("publiceer het rooster eerst; herplannen gaat uit van de gepubliceerde versie",
                           field="plan_id")  # fmt: skip
        await _store_absence(conn, request, principal, data.account_id, data.from_day, last,
                             kind=data.kind, hours=None, note="herplan")  # fmt: skip
        await repo.lock_plan(conn, plan_id)
        await repo.remove_days(conn, plan_id, data.account_id, data.from_day, last)
        problem = await repo.build_problem(
            conn, plan_id, time_limit_s=data.time_limit_s, frozen_until=data.from_day
        )
        started = await _start(pool, jobs_of(state), principal, plan_id, "herplan", problem)
    return started


router = Router(
    path="/api/rooster",
    tags=["rooster"],
    guards=[LEADS],
    route_handlers=[
        list_shift_types, create_shift_type, change_shift_type, list_boas, change_boa, list_absences,
        add_absence, remove_absence, list_pair_rules, set_pair_rule, remove_pair_rule, list_templates,
        create_template, replace_template_rows, list_plans, create_plan, get_plan, demand_from_template,
        set_extra_demand, set_assignment, move_assignment, remove_assignment, pin_assignment, solve, get_job,
        violations, publish, list_versions, plan_diff, herplan,
    ],
)  # fmt: skip
