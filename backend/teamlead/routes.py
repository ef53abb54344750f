"""The team lead's "Vandaag": one answer with who is on duty, open meldingen, the day's registrations and
alarms, and the aggression incidents whose aangifte deadline is near or passed (with the VPT reminder)."""

from __future__ import annotations

import uuid
from collections import Counter
from datetime import datetime

import asyncpg
import msgspec
from litestar import Router, get
from litestar.di import NamedDependency

from backend import request_input as req
from backend.auth.guards import requires
from backend.auth.tokens import Principal
from backend.registrations.validation import aangifte_deadline
from backend.teamlead import logic
from backend.teamlead import repository as repo


class OnDuty(msgspec.Struct, frozen=True, kw_only=True):
    shift_id: int
    unit_id: int
    call_sign: str
    status: str
    started_at: datetime
    beats: list[str]
    crew: list[str]
    phone: str | None
    portofoon: str | None


class OpenIncident(msgspec.Struct, frozen=True, kw_only=True):
    id: int
    category: str
    priority: int
    description: str
    address: str
    created_at: datetime
    beat: str | None
    units: list[str]
    exercise: str = ""  # "exercise" / "test": a drill melding (shown as OEFENING / TEST)


class DayRegistration(msgspec.Struct, frozen=True, kw_only=True):
    id: uuid.UUID
    kind: str
    state: str
    category: str
    feitcode: str | None
    occurred_at: datetime
    author: str
    unit: str | None
    beats: list[str]
    new: bool  # an aggression incident no team lead has seen yet


class DayAlert(msgspec.Struct, frozen=True, kw_only=True):
    id: int
    kind: str
    at: datetime
    unit: str | None
    acknowledged_at: datetime | None
    resolved_at: datetime | None


class Aangifte(msgspec.Struct, frozen=True, kw_only=True):
    registration_id: uuid.UUID
    occurred_at: datetime
    deadline: datetime
    urgency: logic.Urgency  # overdue, near, open or no_vpt
    report: str
    severity: str | None
    author: str
    unit: str | None
    new: bool
    reminder: str


class Today(msgspec.Struct, frozen=True, kw_only=True):
    day_start: datetime
    day_end: datetime
    on_duty: list[OnDuty]
    open_incidents: list[OpenIncident]
    registrations: list[DayRegistration]
    registration_counts: dict[str, int]  # per kind
    alerts: list[DayAlert]
    alert_counts: dict[str, int]  # per kind
    aangiftes: list[Aangifte]


@get("/today", guards=[requires("teamlead", "admin")])
async def today(principal: NamedDependency[Principal], pool: NamedDependency[asyncpg.Pool]) -> Today:
    """The caller's gemeente today (Europe/Amsterdam day)."""
    now = req.now()
    start, end = logic.day_window(now)
    async with pool.acquire() as conn:
        duty = await repo.on_duty(conn, principal.org_id)
        incidents = await repo.open_incidents(conn, principal.org_id)
        registrations = await repo.registrations_between(conn, principal.org_id, start, end)
        alerts = await repo.alerts_between(conn, principal.org_id, start, end)
        aggression = await repo.recent_aggression(conn, principal.org_id, now - logic.LOOK_BACK)
    aangiftes = []
    for row in aggression:
        urgency = logic.aangifte_urgency(
            row["occurred_at"], row["report"] or "geen", row["vpt_code_used"], now
        )
        if urgency is None:
            continue
        aangiftes.append(
            Aangifte(
                registration_id=row["id"],
                occurred_at=row["occurred_at"],
                deadline=aangifte_deadline(row["occurred_at"]),
                urgency=urgency,
                report=row["report"] or "geen",
                severity=row["severity"],
                author=row["author"],
                unit=row["unit"],
                new=row["new"],
                reminder=logic.reminder(urgency),
            )
        )
    order = {"overdue": 0, "near": 1, "no_vpt": 2, "open": 3}
    aangiftes.sort(key=lambda a: (order[a.urgency], a.deadline))
    return Today(
        day_start=start,
        day_end=end,
        on_duty=[OnDuty(**r) for r in duty],
        open_incidents=[OpenIncident(**r) for r in incidents],
        registrations=[DayRegistration(**r) for r in registrations],
        registration_counts=dict(Counter(r["kind"] for r in registrations if r["state"] == "active")),
        alerts=[DayAlert(**r) for r in alerts],
        alert_counts=dict(Counter(r["kind"] for r in alerts)),
        aangiftes=aangiftes,
    )


router = Router(path="/api/teamlead", tags=["teamlead"], route_handlers=[today])
