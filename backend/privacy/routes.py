"""Privacy over HTTP: searching the audit log and answering an access request (inzageverzoek)."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Annotated

import asyncpg
import msgspec
from litestar import Router, get, post
from litestar.di import NamedDependency
from litestar.params import FromQuery, JSONBody

from backend import request_input as req
from backend.auth.guards import requires
from backend.auth.tokens import Principal
from backend.params import QueryId
from backend.privacy import audit
from backend.registrations import repository as reg_repo
from backend.request_input import AnyRequest

PRIVACY = ("admin", "privacy_officer")


class AccessRequest(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    name: Annotated[str, msgspec.Meta(min_length=1, max_length=200, pattern=r"^[^\x00]+$")]
    birth_date: date
    reason: Annotated[str, msgspec.Meta(min_length=3, max_length=1000, pattern=r"^[^\x00]+$")]


class AccessAnswer(msgspec.Struct, frozen=True, kw_only=True):
    registrations: list[reg_repo.Registration]
    disclosures: list[audit.Entry]


@get("/audit")
async def search_audit(
    principal: NamedDependency[Principal],
    pool: NamedDependency[asyncpg.Pool],
    actor_id: QueryId = None,
    action: FromQuery[str | None] = None,
    object_type: FromQuery[str | None] = None,
    object_id: FromQuery[str | None] = None,
    since: FromQuery[datetime | None] = None,
    until: FromQuery[datetime | None] = None,
    limit: FromQuery[int] = 200,
    result: FromQuery[str | None] = None,
) -> list[audit.Entry]:
    """The organisation's audit log, newest first; `result` e.g. ``denied`` for refused reads."""
    req.texts(action=action, object_type=object_type, object_id=object_id, result=result)
    req.times(since=since, until=until)
    async with pool.acquire() as conn:
        return await audit.search(
            conn,
            org_ids=[principal.org_id],
            actor_id=actor_id,
            action=action,
            object_type=object_type,
            object_id=object_id,
            since=since,
            until=until,
            limit=max(1, min(limit, 5000)),
            result=result,
        )


@post("/inzage", status_code=200)
async def access_request(
    request: AnyRequest,
    data: JSONBody[AccessRequest],
    principal: NamedDependency[Principal],
    pool: NamedDependency[asyncpg.Pool],
) -> AccessAnswer:
    """Answer an inzageverzoek: the person's registrations and their disclosures of the past 4 years."""
    async with pool.acquire() as conn, conn.transaction():
        found = await reg_repo.of_person(conn, principal.org_id, data.name, data.birth_date)
        since = req.now() - timedelta(days=4 * 366)
        disclosures = await audit.disclosures_of(conn, [str(r.id) for r in found], since)
        await audit.record(
            conn,
            principal=principal,
            action="inzage",
            object_type="person",
            object_id=None,
            origin=req.origin(request, principal),
            reason=data.reason,
            details={"registrations": [str(r.id) for r in found]},
        )
    return AccessAnswer(registrations=found, disclosures=disclosures)


router = Router(
    path="/api",
    tags=["privacy"],
    guards=[requires(*PRIVACY)],  # the audit log and a person's file: administrators and the privacy officer
    route_handlers=[search_audit, access_request],
)
