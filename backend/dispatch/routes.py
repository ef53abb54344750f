"""Meldingen, proposals, tasks, messages to units and track replay over HTTP."""

from __future__ import annotations

from typing import Annotated, Any, Literal

import msgspec
from litestar import Request, Router, get, post
from litestar.di import NamedDependency
from litestar.params import FromPath, FromQuery, JSONBody

from backend.auth.guards import requires
from backend.auth.tokens import Principal
from backend.dispatch import service
from backend.dispatch.logic import Proposal
from backend.dispatch.service import IncidentDetail, TaskCreated, Track
from backend.errors import BadInput
from backend.services import Services
from shared.protocol import IncidentView, Latitude, Longitude, MessageView

Category = Annotated[str, msgspec.Meta(min_length=1, max_length=80)]
Priority = Annotated[int, msgspec.Meta(ge=1, le=3)]
Domain = Annotated[int, msgspec.Meta(ge=1, le=6)]
Reason = Annotated[str, msgspec.Meta(max_length=300)]
AnyRequest = Request[Any, Any, Any]
# Who may dispatch. The track replay is not behind it: a refused read of personal data is logged, so the
# service checks (and audits) that one itself.
DISPATCHERS = requires(*service.DISPATCH_ROLES)


class NewIncident(msgspec.Struct, frozen=True, kw_only=True):
    category: Category
    priority: Priority
    description: Annotated[str, msgspec.Meta(max_length=2000)] = ""
    lon: Longitude | None = None
    lat: Latitude | None = None
    address: Annotated[str, msgspec.Meta(max_length=300)] = ""
    required_domain: Domain = 1
    org_id: int | None = None
    source: Annotated[str, msgspec.Meta(min_length=1, max_length=40)] | None = None
    external_id: Annotated[str, msgspec.Meta(min_length=1, max_length=200)] | None = None
    exercise: Literal["", "exercise", "test"] = ""  # a drill or a test melding (CAP status words)
    # from the console's address lookup (GET /api/geocoding/lookup): kept with the melding
    bag_id: Annotated[str, msgspec.Meta(min_length=1, max_length=40)] | None = None
    buurtcode: Annotated[str, msgspec.Meta(min_length=1, max_length=20)] | None = None


class NewTask(msgspec.Struct, frozen=True, kw_only=True):
    unit_id: int


class ReasonBody(msgspec.Struct, frozen=True, kw_only=True):
    reason: Reason = ""


class NewMessage(msgspec.Struct, frozen=True, kw_only=True):
    text: Annotated[str, msgspec.Meta(min_length=1, max_length=500)]


@post("/incidents", guards=[DISPATCHERS])
async def create_incident(
    data: JSONBody[NewIncident],
    principal: NamedDependency[Principal],
    services: NamedDependency[Services],
) -> IncidentView:
    """Create a melding at lon/lat, or at the buurt named in `address`."""
    body = service.IncidentRequest(**msgspec.structs.asdict(data))
    return await service.create_incident(services, principal, body)


@get("/incidents", guards=[DISPATCHERS])
async def list_incidents(
    principal: NamedDependency[Principal], services: NamedDependency[Services]
) -> list[IncidentView]:
    return await service.open_incidents(services, principal)


@get("/incidents/{incident_id:int}", guards=[DISPATCHERS])
async def get_incident(
    incident_id: FromPath[int],
    principal: NamedDependency[Principal],
    services: NamedDependency[Services],
) -> IncidentDetail:
    return await service.incident_detail(services, principal, incident_id)


@get("/incidents/{incident_id:int}/proposals", guards=[DISPATCHERS])
async def get_proposals(
    incident_id: FromPath[int],
    principal: NamedDependency[Principal],
    services: NamedDependency[Services],
    limit: FromQuery[int] = 5,
) -> list[Proposal]:
    """Free units best first (straight-line distance; in the beat and with the domain preferred), then the
    busy ones with their current task (a P1 may take a unit from a lower-priority task); `limit` of each."""
    if not 1 <= limit <= 50:
        raise BadInput("limit moet 1..50 zijn", field="limit")
    return await service.proposals(services, principal, incident_id, limit)


@post("/incidents/{incident_id:int}/tasks", guards=[DISPATCHERS])
async def assign_unit(
    incident_id: FromPath[int],
    data: JSONBody[NewTask],
    principal: NamedDependency[Principal],
    services: NamedDependency[Services],
) -> TaskCreated:
    return await service.assign(services, principal, incident_id, data.unit_id)


@post("/incidents/{incident_id:int}/close", status_code=200, guards=[DISPATCHERS])
async def close_incident(
    incident_id: FromPath[int],
    data: JSONBody[ReasonBody],
    principal: NamedDependency[Principal],
    services: NamedDependency[Services],
) -> IncidentView:
    return await service.close_incident(services, principal, incident_id, data.reason)


@post("/tasks/{task_id:int}/cancel", status_code=200, guards=[DISPATCHERS])
async def cancel_task(
    task_id: FromPath[int],
    data: JSONBody[ReasonBody],
    principal: NamedDependency[Principal],
    services: NamedDependency[Services],
) -> IncidentView:
    return await service.cancel_task(services, principal, task_id, data.reason)


@post("/units/{unit_id:int}/messages", guards=[DISPATCHERS])
async def send_message(
    unit_id: FromPath[int],
    data: JSONBody[NewMessage],
    principal: NamedDependency[Principal],
    services: NamedDependency[Services],
) -> MessageView:
    return await service.send_message(services, principal, unit_id, data.text)


@get("/units/{unit_id:int}/messages", guards=[DISPATCHERS])
async def list_messages(
    unit_id: FromPath[int],
    principal: NamedDependency[Principal],
    services: NamedDependency[Services],
) -> list[MessageView]:
    return await service.messages(services, principal, unit_id)


@get("/units/{unit_id:int}/track")
async def unit_track(
    request: AnyRequest,
    unit_id: FromPath[int],
    principal: NamedDependency[Principal],
    services: NamedDependency[Services],
    hours: FromQuery[float] = 4.0,
    reason: FromQuery[str] = "",
) -> Track:
    """The unit's positions of the last hours; a read of personal data, logged in the audit log."""
    if not 0 < hours <= 24 or len(reason) > 300:
        raise BadInput(
            "uren: meer dan 0 en hoogstens 24; reden: hoogstens 300 tekens",
            field="hours" if len(reason) <= 300 else "reason",
        )
    origin = request.client.host if request.client else ""
    return await service.track(services, principal, unit_id, hours, reason, origin)


router = Router(
    path="/api",
    tags=["dispatch"],
    route_handlers=[
        create_incident,
        list_incidents,
        get_incident,
        get_proposals,
        assign_unit,
        close_incident,
        cancel_task,
        send_message,
        list_messages,
        unit_track,
    ],
)
