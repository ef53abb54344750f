"""Shifts over HTTP: a boa starts one on his tablet or a team lead for a unit; ending one takes the unit off duty."""

from __future__ import annotations

import msgspec
from litestar import Request, post
from litestar.di import NamedDependency
from litestar.params import FromPath, JSONBody

from backend.auth.guards import require_role, services_of
from backend.auth.tokens import Principal
from backend.errors import NotFound
from backend.geofencing import repository as beats
from backend.orgs import repository as orgs
from backend.orgs.routes import Created, Id, ManyIds
from backend.shifts import repository as shifts


class NewShift(msgspec.Struct, frozen=True, kw_only=True):
    unit_id: Id
    device_id: Id | None = None
    account_ids: ManyIds = []
    beat_ids: ManyIds = []


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
        await beats.check_org_beats(conn, unit.org_id, data.beat_ids)
        accounts = data.account_ids or ([principal.account_id] if principal.role == "boa" else [])
        shift_id = await shifts.start_shift(
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
        org_id = await shifts.shift_org(conn, shift_id)
        if org_id is None or org_id != principal.org_id:
            raise NotFound("shift not found")
        unit_id = await shifts.end_shift(conn, shift_id)
    if unit_id is not None:
        await services.hub.refresh_unit(unit_id)


ROUTES = [start_shift, end_shift]
