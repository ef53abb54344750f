"""Shifts over HTTP: a boa starts one on his tablet or a team lead one for a unit; ending takes it off duty.

Who may do what: only accounts of the caller's own organisation go on a shift; a boa may not take over a unit
or tablet that a colleague's open shift is using (a team lead may: the colleague's shift is ended), and a boa
ends only a shift he is on.
"""

from __future__ import annotations

from datetime import datetime

import asyncpg
import msgspec
from litestar import Router, get, post
from litestar.di import NamedDependency
from litestar.params import JSONBody

from backend.auth.guards import requires
from backend.auth.tokens import Principal
from backend.db.pool import Conn
from backend.errors import BadInput, Conflict, Forbidden, NotFound
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


class OpenShift(msgspec.Struct, frozen=True, kw_only=True):
    """A unit on duty and who is on it, for the tablet's shift screen."""

    shift_id: int
    unit_id: int
    call_sign: str
    started_at: datetime
    names: list[str]
    mine: bool  # the caller is on it


@get("/open")
async def list_open_shifts(
    principal: NamedDependency[Principal], pool: NamedDependency[asyncpg.Pool]
) -> list[OpenShift]:
    """The organisation's open shifts: which unit is on duty with whom."""
    async with pool.acquire() as conn:
        rows = await shifts.open_shifts_of_org(conn, principal.org_id)
    return [
        OpenShift(
            shift_id=r["id"],
            unit_id=r["unit_id"],
            call_sign=r["call_sign"],
            started_at=r["started_at"],
            names=list(r["names"]),
            mine=principal.account_id in r["account_ids"],
        )
        for r in rows
    ]


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
        accounts = list(dict.fromkeys(data.account_ids))
        if principal.role == "boa" and principal.account_id not in accounts:
            accounts.insert(0, principal.account_id)  # a boa starts a shift he is on
        foreign = await orgs.foreign_account_ids(conn, unit.org_id, accounts)
        if foreign:
            raise BadInput(f"account {foreign[0]} hoort niet bij deze organisatie", field="account_ids")
        if principal.role == "boa":
            await _check_not_taken(conn, principal, unit.id, device_id)
        shift_id = await shifts.start_shift(
            conn, unit_id=unit.id, device_id=device_id, account_ids=accounts, beat_ids=data.beat_ids
        )
    await hub.refresh_unit(unit.id)
    return Created(id=shift_id)


async def _check_not_taken(conn: Conn, principal: Principal, unit_id: int, device_id: int | None) -> None:
    """A boa may not end a colleague's open shift by starting his own on its unit or tablet (409)."""
    for open_ in await shifts.open_shifts_on(conn, unit_id, device_id):
        on_it = list(open_["account_ids"])
        if not on_it or principal.account_id in on_it:
            continue  # nobody's shift (a team lead set it up without accounts) or his own: his to take
        if open_["unit_id"] == unit_id:
            raise Conflict(
                "deze eenheid is in dienst met een collega; hij of de teamleider beëindigt die dienst",
                field="unit_id",
            )
        raise Conflict(
            "deze tablet is in dienst met een collega; hij of de teamleider beëindigt die dienst",
            field="device_id",
        )


def _is_on(principal: Principal, shift: asyncpg.Record) -> bool:
    return principal.account_id in shift["account_ids"] or (
        principal.device_id is not None and shift["device_id"] == principal.device_id
    )


@post("/{shift_id:int}/end", status_code=204)
async def end_shift(
    shift_id: PathId,
    principal: NamedDependency[Principal],
    pool: NamedDependency[asyncpg.Pool],
    hub: NamedDependency[LiveHub],
) -> None:
    async with pool.acquire() as conn, conn.transaction():
        shift = await shifts.get_shift(conn, shift_id)
        if shift is None or shift["org_id"] != principal.org_id:
            raise NotFound("shift not found")
        if principal.role == "boa" and not _is_on(principal, shift):
            raise Forbidden("een boa beëindigt alleen de dienst waarin hij zelf zit", field="shift_id")
        unit_id = await shifts.end_shift(conn, shift_id)
    if unit_id is not None:
        await hub.refresh_unit(unit_id)


router = Router(
    path="/api/shifts",
    tags=["shifts"],
    guards=[requires("boa", "teamlead", "admin")],
    route_handlers=[list_open_shifts, start_shift, end_shift],
)
