"""The team over HTTP: a gemeente's boa's and units with what the rooster and the alarm banner need to know.

``GET /api/team`` lists them; ``PATCH /api/team/members/{id}`` and ``PATCH /api/team/units/{id}`` change what
a team lead keeps up to date (domains, qualifications, contract hours, experienced, phone, portofoon; a
unit's phone, portofoon and default beats). Absent fields stay as they are; ``null`` or ``""`` clears a
number. Bodies are decoded with msgspec here, so every refusal names its field.
"""

from __future__ import annotations

from typing import Annotated, Any

import asyncpg
import msgspec
from litestar import Router, get, patch
from litestar.di import NamedDependency

from backend import request_input as req
from backend.auth.guards import requires
from backend.auth.tokens import Principal
from backend.errors import NotFound
from backend.geofencing import repository as beats
from backend.live.hub import LiveHub
from backend.openapi import raw_body
from backend.params import PathId
from backend.request_input import AnyRequest
from backend.team import logic
from backend.team import repository as repo
from shared.ids import Id
from shared.registrations import decode

LEADS = requires("teamlead", "admin")
Text = Annotated[str, msgspec.Meta(max_length=60)]


class Team(msgspec.Struct, frozen=True, kw_only=True):
    members: list[repo.Member]
    units: list[repo.UnitContact]
    known_qualifications: list[str]


class MemberChange(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    domains: Annotated[list[int], msgspec.Meta(max_length=6)] | msgspec.UnsetType = msgspec.UNSET
    qualifications: Annotated[list[Text], msgspec.Meta(max_length=20)] | msgspec.UnsetType = msgspec.UNSET
    contract_hours: float | None | msgspec.UnsetType = msgspec.UNSET
    experienced: bool | msgspec.UnsetType = msgspec.UNSET
    phone: Text | None | msgspec.UnsetType = msgspec.UNSET
    portofoon: Text | None | msgspec.UnsetType = msgspec.UNSET


class UnitChange(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    phone: Text | None | msgspec.UnsetType = msgspec.UNSET
    portofoon: Text | None | msgspec.UnsetType = msgspec.UNSET
    assigned_beat_ids: Annotated[list[Id], msgspec.Meta(max_length=50)] | msgspec.UnsetType = msgspec.UNSET


_member_change = msgspec.json.Decoder(MemberChange)
_unit_change = msgspec.json.Decoder(UnitChange)


@get("/")
async def team(principal: NamedDependency[Principal], pool: NamedDependency[asyncpg.Pool]) -> Team:
    """The caller's gemeente: its boa's (inactive ones last) and its units, with their contact details."""
    async with pool.acquire() as conn:
        return Team(
            members=await repo.members(conn, principal.org_id),
            units=await repo.units(conn, principal.org_id),
            known_qualifications=list(logic.KNOWN_QUALIFICATIONS),
        )


def member_changes(change: MemberChange) -> dict[str, Any]:
    found: dict[str, Any] = {}
    if change.domains is not msgspec.UNSET:
        found["domains"] = logic.domains(change.domains)
    if change.qualifications is not msgspec.UNSET:
        found["qualifications"] = logic.qualifications(change.qualifications)
    if change.contract_hours is not msgspec.UNSET:
        found["contract_hours"] = logic.contract_hours(change.contract_hours)
    if change.experienced is not msgspec.UNSET:
        found["experienced"] = change.experienced
    if change.phone is not msgspec.UNSET:
        found["phone"] = logic.phone(change.phone, "phone")
    if change.portofoon is not msgspec.UNSET:
        found["portofoon"] = logic.portofoon(change.portofoon)
    return found


@patch(
    "/members/{account_id:int}",
    operation_class=raw_body({"application/json": MemberChange}, description="Only the fields to change."),
)
async def change_member(
    request: AnyRequest,
    account_id: PathId,
    principal: NamedDependency[Principal],
    pool: NamedDependency[asyncpg.Pool],
) -> repo.Member:
    """Change a boa's domains, qualifications, contract hours (0-60), experienced, phone or portofoon."""
    changes = member_changes(decode(_member_change, await req.body(request, limit=16 * 1024)))
    async with pool.acquire() as conn, conn.transaction():
        if await repo.member(conn, principal.org_id, account_id) is None:
            raise NotFound("boa niet gevonden in deze gemeente", field="account_id")
        await repo.update_member(conn, account_id, changes)
        found = await repo.member(conn, principal.org_id, account_id)
    assert found is not None
    return found


@patch(
    "/units/{unit_id:int}",
    operation_class=raw_body({"application/json": UnitChange}, description="Only the fields to change."),
)
async def change_unit(
    request: AnyRequest,
    unit_id: PathId,
    principal: NamedDependency[Principal],
    pool: NamedDependency[asyncpg.Pool],
    hub: NamedDependency[LiveHub],
) -> repo.UnitContact:
    """Change a unit's phone, portofoon or default beats (beats in use of this gemeente only)."""
    change = decode(_unit_change, await req.body(request, limit=16 * 1024))
    changes: dict[str, Any] = {}
    if change.phone is not msgspec.UNSET:
        changes["phone"] = logic.phone(change.phone, "phone")
    if change.portofoon is not msgspec.UNSET:
        changes["portofoon"] = logic.portofoon(change.portofoon)
    async with pool.acquire() as conn, conn.transaction():
        if await repo.unit(conn, principal.org_id, unit_id) is None:
            raise NotFound("eenheid niet gevonden in deze gemeente", field="unit_id")
        if change.assigned_beat_ids is not msgspec.UNSET:
            await beats.check_org_beats(conn, principal.org_id, change.assigned_beat_ids)
            changes["assigned_beat_ids"] = sorted(set(change.assigned_beat_ids))
        await repo.update_unit(conn, unit_id, changes)
        found = await repo.unit(conn, principal.org_id, unit_id)
    if "assigned_beat_ids" in changes:
        await hub.refresh_unit(unit_id)
    assert found is not None
    return found


router = Router(
    path="/api/team", tags=["team"], guards=[LEADS], route_handlers=[team, change_member, change_unit]
)
