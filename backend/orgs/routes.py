"""Units, accounts and devices over HTTP."""

from __future__ import annotations

from typing import Annotated

import msgspec
from litestar import Request, get, post
from litestar.di import NamedDependency
from litestar.params import FromQuery, JSONBody

from backend.auth.guards import require_org, require_role, services_of
from backend.auth.tokens import Principal
from backend.errors import BadInput, NotFound
from backend.geofencing import repository as beats
from backend.orgs import repository as orgs

CallSign = Annotated[str, msgspec.Meta(min_length=1, max_length=32, pattern=r"^[A-Za-z0-9 .\-]+$")]
# PostgreSQL text cannot hold NUL and its ids are int4: say so per field rather than fail in the database
Name = Annotated[str, msgspec.Meta(min_length=1, max_length=100, pattern=r"^[^\x00]+$")]
Id = Annotated[int, msgspec.Meta(ge=1, le=2**31 - 1)]
ManyIds = Annotated[list[Id], msgspec.Meta(max_length=50)]
TrackerKey = Annotated[str, msgspec.Meta(min_length=1, max_length=64, pattern=r"^[^\x00]+$")]


class NewUnit(msgspec.Struct, frozen=True, kw_only=True):
    call_sign: CallSign
    kind: Annotated[str, msgspec.Meta(pattern="^(duo|single)$")] = "duo"
    assigned_beat_ids: ManyIds = []
    org_id: Id | None = None  # admins of a meldkamer may create for a linked gemeente


class NewDevice(msgspec.Struct, frozen=True, kw_only=True):
    name: Name
    kind: Annotated[str, msgspec.Meta(pattern="^(tablet|tracker)$")] = "tablet"
    tracker_key: TrackerKey | None = None
    unit_id: Id | None = None


class Created(msgspec.Struct, frozen=True, kw_only=True):
    id: int


@get("/api/units", tags=["units"])
async def list_units(request: Request, principal: NamedDependency[Principal]) -> list[orgs.Unit]:  # type: ignore[type-arg]
    async with services_of(request).pool.acquire() as conn:
        return await orgs.list_units(conn, sorted(principal.visible_org_ids))


@post("/api/units", tags=["units"])
async def create_unit(
    request: Request, data: JSONBody[NewUnit], principal: NamedDependency[Principal]  # type: ignore[type-arg]
) -> Created:
    require_role(principal, ("admin", "teamlead"))
    org_id = data.org_id or principal.org_id
    require_org(principal, org_id, "organisation")
    services = services_of(request)
    async with services.pool.acquire() as conn:
        await beats.check_org_beats(conn, org_id, data.assigned_beat_ids)
        unit_id = await orgs.create_unit(
            conn, org_id=org_id, call_sign=data.call_sign, kind=data.kind, assigned_beat_ids=data.assigned_beat_ids
        )
    await services.hub.refresh_unit(unit_id)
    return Created(id=unit_id)


class Colleague(msgspec.Struct, frozen=True, kw_only=True):
    id: int
    username: str
    display_name: str
    role: str


@get("/api/accounts", tags=["accounts"])
async def list_accounts(
    request: Request, principal: NamedDependency[Principal],  # type: ignore[type-arg]
    role: FromQuery[Annotated[str, msgspec.Meta(pattern="^[a-z]{1,20}$")] | None] = None,
) -> list[Colleague]:
    """The active accounts of the caller's own organisation (a boa picks his duo partner from them)."""
    require_role(principal, ("boa", "teamlead", "admin"))
    async with services_of(request).pool.acquire() as conn:
        accounts = await orgs.list_accounts(conn, principal.org_id, role)
    return [Colleague(id=a.id, username=a.username, display_name=a.display_name, role=a.role)
            for a in accounts]


@get("/api/devices", tags=["devices"])
async def list_devices(request: Request, principal: NamedDependency[Principal]) -> list[orgs.Device]:  # type: ignore[type-arg]
    require_role(principal, ("admin", "teamlead"))
    async with services_of(request).pool.acquire() as conn:
        return await orgs.list_devices(conn, sorted(principal.visible_org_ids))


@post("/api/devices", tags=["devices"])
async def register_device(
    request: Request, data: JSONBody[NewDevice], principal: NamedDependency[Principal]  # type: ignore[type-arg]
) -> Created:
    require_role(principal, ("admin", "teamlead"))
    if data.kind == "tracker" and data.tracker_key is None:
        raise BadInput("a tracker needs the id it reports with (OsmAnd `id`)", field="tracker_key")
    async with services_of(request).pool.acquire() as conn:
        if data.unit_id is not None:
            unit = await orgs.get_unit(conn, data.unit_id)
            if unit is None or unit.org_id != principal.org_id:
                raise NotFound("unit not found", field="unit_id")
        device_id = await orgs.create_device(
            conn, org_id=principal.org_id, name=data.name, kind=data.kind, tracker_key=data.tracker_key,
            unit_id=data.unit_id,
        )
    return Created(id=device_id)


ROUTES = [list_units, create_unit, list_accounts, list_devices, register_device]
