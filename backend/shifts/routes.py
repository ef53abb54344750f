"""Shifts over HTTP: a boa starts one on his tablet, a team lead one for a unit; ending takes it off duty."""

from __future__ import annotations

import asyncpg
import msgspec
from litestar import Router, post
from litestar.di import NamedDependency
from litestar.params import JSONBody

from backend.auth.guards import requires
from backend.auth.tokens import Principal
from backend.errors import NotFound
from backend.geofencing import repository as beats
from backend.live.hub import LiveHub
from backend.orgs import repository as orgs
from backend.orgs.routes import Created, ManyIds
from backend.params import PathId
from backend.shifts import repository as shifts
from shared.ids import Id


class NewShift(msgspec.Struct, frozen=True, kw_only=True):
    unit_id: Id
    device_id: Id | None = None
    account_ids: ManyIds = []
    beat_ids: ManyIds = []


@post("/")
async def start_shift(
    data: JSONBody[NewShift],
    principal: NamedDependency[Principal],
    pool: NamedDependency[asyncpg.Pool],
    hub: NamedDependency[LiveHub],
) -> Created:
    """Start a shift: a boa on his own tablet, or a team lead for a unit."""
    async with pool.acquire() as conn, conn.transaction():
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
    await hub.refresh_unit(unit.id)
    return Created(id=shift_id)


@post("/{shift_id:int}/end", status_code=204)
async def end_shift(
    shift_id: PathId,
    principal: NamedDependency[Principal],
    pool: NamedDependency[asyncpg.Pool],
    hub: NamedDependency[LiveHub],
) -> None:
    async with pool.acquire() as conn, conn.transaction():
        org_id = await shifts.shift_org(conn, shift_id)
        if org_id is None or org_id != principal.org_id:
            raise NotFound("shift not found")
        unit_id = await shifts.end_shift(conn, shift_id)
    if unit_id is not None:
        await hub.refresh_unit(unit_id)


router = Router(
    path="/api/shifts",
    tags=["shifts"],
    guards=[requires("boa", "teamlead", "admin")],
    route_handlers=[start_shift, end_shift],
)
