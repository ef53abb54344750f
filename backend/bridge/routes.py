"""The meldkamer bridge's API (role service) and what administrators see of it.

The bridge is a separate process, perhaps on another machine: it reaches Schakel's data only through these
routes, the incident and area-alert routes and the operator websocket, as its service account, and only for
the organisations that account may see (shared/bridge_api.py has the bodies).
"""

from __future__ import annotations

from typing import Annotated

import asyncpg
import msgspec
from litestar import Router, get, post
from litestar.di import NamedDependency
from litestar.params import JSONBody, Parameter

from backend.auth.guards import requires
from backend.auth.tokens import Principal
from backend.bridge import repository as repo
from backend.dispatch.routes import NewIncident
from backend.dispatch.service import IncidentRequest, create_incidents
from backend.errors import BadInput, DomainError, Forbidden
from backend.live.hub import LiveHub
from backend.params import PathBigId
from backend.registerqueries.service import answered_key
from backend.services import Services
from shared.bridge_api import (
    AnswerTaken,
    Count,
    DeadLetter,
    IncidentBatch,
    IncidentOutcomes,
    Organisation,
    PartnerMetrics,
    PendingQuery,
    QueriesSent,
    QueryAnswer,
    TimelineLine,
)
from shared.ids import INT8_MAX

SERVICE = requires("service")
Source = Annotated[str, Parameter(min_length=1, max_length=40, description="the partner's name")]
EventId = Annotated[int, Parameter(ge=0, le=INT8_MAX, description="an event id (0 or more)")]
Limit = Annotated[int, Parameter(ge=1, le=1000)]


class BridgeStatus(msgspec.Struct, frozen=True, kw_only=True):
    partners: list[PartnerMetrics]
    dead_letters: list[DeadLetter]


@get("/status", guards=[requires("admin")])
async def bridge_status(
    principal: NamedDependency[Principal], pool: NamedDependency[asyncpg.Pool]
) -> BridgeStatus:
    """Queue depth, oldest message age, deliveries and failures per partner; refused messages and why.

    The bridge's tables name partners, not organisations: the bridge serves the meldkamer (its service account
    and its partners, the GMS and the police, are the meldkamer's), so only administrators of a meldkamer
    organisation see them; a gemeente's administrators get 403."""
    async with pool.acquire() as conn:
        if not await repo.is_meldkamer(conn, principal.org_id):
            raise Forbidden("the bridge serves the meldkamer: only its administrators see its status")
        partners = await repo.partner_metrics(conn)
        return BridgeStatus(partners=partners, dead_letters=await repo.dead_letters(conn))


@get("/organisations", guards=[SERVICE])
async def organisations(
    principal: NamedDependency[Principal], pool: NamedDependency[asyncpg.Pool]
) -> list[Organisation]:
    """The organisations the service account serves: codes for the status feed, names for CAP alerts."""
    async with pool.acquire() as conn:
        return await repo.organisations(conn, sorted(principal.visible_org_ids))


@get("/timeline", guards=[SERVICE])
async def timeline(
    principal: NamedDependency[Principal],
    pool: NamedDependency[asyncpg.Pool],
    source: Source,
    after: EventId = 0,
    limit: Limit = 500,
) -> list[TimelineLine]:
    """Timeline lines of the meldingen a partner handed over (open or closed within a day), after event
    `after`, oldest first: the bridge sends each as progress to the partner, once."""
    async with pool.acquire() as conn:
        return await repo.timeline(conn, sorted(principal.visible_org_ids), source, after, limit)


@post("/incidents", status_code=200, guards=[SERVICE])
async def hand_over_incidents(
    data: JSONBody[IncidentBatch],
    principal: NamedDependency[Principal],
    services: NamedDependency[Services],
) -> IncidentOutcomes:
    """A batch of incidents a partner handed over, each a POST /api/incidents body with `source` and
    `external_id`: made in order in one transaction, each refused alone (its 4xx, field and reason) without
    holding up the others; an item made before (a retry) answers 200 with the melding made then."""
    items: list[IncidentRequest | DomainError] = []
    for n, item in enumerate(data.items):
        try:
            body = msgspec.convert(item, NewIncident)
        except msgspec.ValidationError as exc:
            items.append(BadInput(str(exc)[:300], field=_field(str(exc), n)))
            continue
        items.append(IncidentRequest(**msgspec.structs.asdict(body)))
    return IncidentOutcomes(results=await create_incidents(services, principal, items))


def _field(message: str, n: int) -> str:
    """The field a msgspec message names (`... - at `$.lon``, `missing required field `category``)."""
    if "missing required field `" in message:
        return message.split("missing required field `", 1)[1].split("`", 1)[0]
    if "`$." in message:
        return message.rsplit("`$.", 1)[1].split("`", 1)[0].split("[", 1)[0].split(".", 1)[0]
    return f"items[{n}]"


@get("/register-queries", guards=[SERVICE])
async def pending_queries(
    principal: NamedDependency[Principal], pool: NamedDependency[asyncpg.Pool]
) -> list[PendingQuery]:
    """Boa's register queries waiting to go to the police (offered again until marked sent)."""
    async with pool.acquire() as conn:
        return await repo.pending_queries(conn, sorted(principal.visible_org_ids), limit=50)


@post("/register-queries/sent", status_code=200, guards=[SERVICE])
async def queries_sent(
    data: JSONBody[QueriesSent], principal: NamedDependency[Principal], pool: NamedDependency[asyncpg.Pool]
) -> Count:
    """The bridge has these queries in its outbox (committed): they are no longer offered."""
    async with pool.acquire() as conn:
        count = await repo.mark_sent(conn, sorted(principal.visible_org_ids), data.query_ids)
    return Count(count=count)


@post("/register-queries/{query_id:int}/answer", status_code=200, guards=[SERVICE])
async def answer_query(
    query_id: PathBigId,
    data: JSONBody[QueryAnswer],
    principal: NamedDependency[Principal],
    pool: NamedDependency[asyncpg.Pool],
    hub: NamedDependency[LiveHub],
) -> AnswerTaken:
    """The police answer to a query, held for the boa's request to take; dropped when nobody waits. The
    request waits on whichever instance the boa reached: it is woken there at once."""
    async with pool.acquire() as conn:
        taken = await repo.put_answer(conn, sorted(principal.visible_org_ids), query_id, data)
    if taken:
        await hub.wake_everywhere(answered_key(query_id))
    return AnswerTaken(query_id=query_id, taken=taken)


router = Router(
    path="/api/bridge",
    tags=["bridge"],
    route_handlers=[
        bridge_status,
        organisations,
        timeline,
        hand_over_incidents,
        pending_queries,
        queries_sent,
        answer_query,
    ],
)
