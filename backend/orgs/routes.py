"""Units, devices and shifts over HTTP."""

from __future__ import annotations

from typing import Annotated

import msgspec
from litestar import Request, get, post
from litestar.di import NamedDependency
from litestar.params import FromPath, FromQuery, JSONBody

from backend.auth.guards import require_org, require_role, services_of
from backend.auth.tokens import Principal
from backend.errors import BadInput, NotFound
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


class NewShift(msgspec.Struct, frozen=True, kw_only=True):
    unit_id: Id
    device_id: Id | None = None
    account_ids: ManyIds = []
    beat_ids: ManyIds = []


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
        await _check_beats(conn, org_id, data.assigned_beat_ids)
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


@post("/api/shifts", tags=["shifts"])
async def start_shift(
    request: Request, data: JSONBody[NewShift], principal: NamedDependency[Principal]  # type: ignore[type-arg]
) -> Created:
    """Start a shift: a boa on his own tablet, or a team lead for a unit."""
    require_role(principal, ("boa", "teamlead", "admin"))
    services = services_of(request)
    async with services.pool.acquire() as conn, conn.transaction():
        unit = await orgs.get_unit(conn, data.unit_id)
        if unit is None or unit.org_id != principal.org_id:
            raise NotFound("unit not found", field="unit_id")
        device_id = data.device_id if data.device_id is not None else principal.device_id
        if device_id is not None:
            device = await orgs.get_device(conn, device_id)
            if device is None or device.org_id != principal.org_id or device.revoked:
                raise NotFound("device not found", field="device_id")
        await _check_beats(conn, unit.org_id, data.beat_ids)
        accounts = data.account_ids or ([principal.account_id] if principal.role == "boa" else [])
        shift_id = await orgs.start_shift(
            conn, unit_id=unit.id, device_id=device_id, account_ids=accounts, beat_ids=data.beat_ids
        )
    await services.hub.refresh_unit(unit.id)
    return Created(id=shift_id)


@post("/api/shifts/{shift_id:int}/end", status_code=204, tags=["shifts"])
async def end_shift(
    request: Request, shift_id: FromPath[int], principal: NamedDependency[Principal]  # type: ignore[type-arg]
) -> None:
    require_role(principal, ("boa", "teamlead", "admin"))
    services = services_of(request)
    async with services.pool.acquire() as conn, conn.transaction():
        org_id = await conn.fetchval(
            "SELECT u.org_id FROM shifts s JOIN units u ON u.id = s.unit_id WHERE s.id = $1", shift_id
        )
        if org_id is None or org_id != principal.org_id:
            raise NotFound("shift not found")
        unit_id = await orgs.end_shift(conn, shift_id)
    if unit_id is not None:
        await services.hub.refresh_unit(unit_id)


async def _check_beats(conn: object, org_id: int, beat_ids: list[int]) -> None:
    if not beat_ids:
        return
    found = await conn.fetchval(  # type: ignore[attr-defined]
        "SELECT count(*) FROM beats WHERE id = ANY($1) AND org_id = $2", beat_ids, org_id
    )
    if found != len(set(beat_ids)):
        raise BadInput("one or more beats do not exist in this organisation", field="beat_ids")


ROUTES = [list_units, create_unit, list_accounts, list_devices, register_device, start_shift, end_shift]
