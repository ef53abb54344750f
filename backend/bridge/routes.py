"""The meldkamer bridge's API (role service) and what administrators see of it.

The bridge is a separate process, perhaps on another machine: it reaches Schakel's data only through these
routes, the incident and area-alert routes and the operator websocket, as its service account, and only for
the organisations that account may see (shared/bridge_api.py has the bodies).
"""

from __future__ import annotations

import msgspec
from litestar import Request, get, post
from litestar.di import NamedDependency
from litestar.params import FromPath, FromQuery, JSONBody

from backend.auth.guards import require_role, services_of
from backend.auth.tokens import Principal
from backend.bridge import repository as repo
from backend.errors import BadInput
from shared.bridge_api import (
    AnswerTaken,
    Count,
    Organisation,
    PendingQuery,
    QueriesSent,
    QueryAnswer,
    TimelineLine,
)

MAX_ID = 2**62
SERVICE = ("service",)


class BridgeStatus(msgspec.Struct, frozen=True, kw_only=True):
    partners: list[repo.PartnerMetrics]
    dead_letters: list[repo.DeadLetter]


@get("/api/bridge/status", tags=["bridge"])
async def bridge_status(
    request: Request,  # type: ignore[type-arg]
    principal: NamedDependency[Principal],
) -> BridgeStatus:
    """Queue depth, oldest message age, deliveries and failures per partner; refused messages and why."""
    require_role(principal, ("admin",))
    async with services_of(request).pool.acquire() as conn:
        partners = await repo.partner_metrics(conn)
        return BridgeStatus(partners=partners, dead_letters=await repo.dead_letters(conn))


@get("/api/bridge/organisations", tags=["bridge"])
async def organisations(
    request: Request,  # type: ignore[type-arg]
    principal: NamedDependency[Principal],
) -> list[Organisation]:
    """The organisations the service account serves: codes for the status feed, names for CAP alerts."""
    require_role(principal, SERVICE)
    async with services_of(request).pool.acquire() as conn:
        return await repo.organisations(conn, sorted(principal.visible_org_ids))


@get("/api/bridge/timeline", tags=["bridge"])
async def timeline(
    request: Request,  # type: ignore[type-arg]
    principal: NamedDependency[Principal],
    source: FromQuery[str],
    after: FromQuery[int] = 0,
    limit: FromQuery[int] = 500,
) -> list[TimelineLine]:
    """Timeline lines of the meldingen a partner handed over (open or closed within a day), after event
    `after`, oldest first: the bridge sends each as progress to the partner, once."""
    require_role(principal, SERVICE)
    if not 1 <= len(source) <= 40:
        raise BadInput("give the partner's name (1 to 40 characters)", field="source")
    if not 0 <= after <= MAX_ID:
        raise BadInput("an event id (0 or more)", field="after")
    if not 1 <= limit <= 1000:
        raise BadInput("between 1 and 1000", field="limit")
    async with services_of(request).pool.acquire() as conn:
        return await repo.timeline(conn, sorted(principal.visible_org_ids), source, after, limit)


@get("/api/bridge/register-queries", tags=["bridge"])
async def pending_queries(
    request: Request,  # type: ignore[type-arg]
    principal: NamedDependency[Principal],
) -> list[PendingQuery]:
    """Boa's register queries waiting to go to the police (offered again until marked sent)."""
    require_role(principal, SERVICE)
    async with services_of(request).pool.acquire() as conn:
        return await repo.pending_queries(conn, sorted(principal.visible_org_ids), limit=50)


@post("/api/bridge/register-queries/sent", status_code=200, tags=["bridge"])
async def queries_sent(
    request: Request,  # type: ignore[type-arg]
    data: JSONBody[QueriesSent],
    principal: NamedDependency[Principal],
) -> Count:
    """The bridge has these queries in its outbox (committed): they are no longer offered."""
    require_role(principal, SERVICE)
    async with services_of(request).pool.acquire() as conn:
        count = await repo.mark_sent(conn, sorted(principal.visible_org_ids), data.query_ids)
    return Count(count=count)


@post("/api/bridge/register-queries/{query_id:int}/answer", status_code=200, tags=["bridge"])
async def answer_query(
    request: Request,  # type: ignore[type-arg]
    query_id: FromPath[int],
    data: JSONBody[QueryAnswer],
    principal: NamedDependency[Principal],
) -> AnswerTaken:
    """The police answer to a query, held for the boa's request to take; dropped when nobody waits."""
    require_role(principal, SERVICE)
    if not 1 <= query_id <= MAX_ID:
        raise BadInput("a query id (1 or more)", field="query_id")
    async with services_of(request).pool.acquire() as conn:
        taken = await repo.put_answer(conn, sorted(principal.visible_org_ids), query_id, data)
    return AnswerTaken(query_id=query_id, taken=taken)


ROUTES = [bridge_status, organisations, timeline, pending_queries, queries_sent, answer_query]
