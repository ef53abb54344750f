"""The administrator's API (``/api/admin``, role admin): organisations and the gemeenten a meldkamer serves,
accounts, tablets and trackers. Every change is a security event in the audit log (``backend/auth/events``).

Scope: an administrator manages his own organisation and the organisations it created (migration 0015);
anything else does not exist for him (404). A password reset is ``POST /api/accounts/{id}/password`` and a
revocation ``POST /api/devices/{id}/revoke`` (backend/auth/routes.py), both audited there.
"""

from __future__ import annotations

import asyncio
import re
import unicodedata
from typing import Annotated

import asyncpg
import msgspec
import segno
from litestar import Router, get, patch, post
from litestar.di import NamedDependency
from litestar.params import JSONBody

from backend.admin import repository as repo
from backend.auth import events, password_policy
from backend.auth.guards import requires
from backend.auth.passwords import hash_password_off_loop
from backend.auth.tokens import Principal
from backend.db.pool import Conn
from backend.errors import BadInput, Conflict, NotFound
from backend.orgs import repository as orgs
from backend.params import PathId
from backend.request_input import AnyRequest
from backend.services import Services
from shared.ids import Id

Text = Annotated[str, msgspec.Meta(min_length=1, max_length=100, pattern=r"^[^\x00]*\S[^\x00]*$")]
Code = Annotated[str, msgspec.Meta(min_length=2, max_length=40, pattern=r"^[a-z0-9][a-z0-9\-]*$")]
Username = Annotated[str, msgspec.Meta(min_length=2, max_length=100, pattern=r"^[A-Za-z0-9._@\-]+$")]
Password = Annotated[str, msgspec.Meta(min_length=1, max_length=200)]
Role = Annotated[str, msgspec.Meta(pattern="^(boa|operator|teamlead|admin|privacy_officer)$")]
OrgKind = Annotated[str, msgspec.Meta(pattern="^(gemeente|meldkamer)$")]


class NewOrganisation(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    name: Text
    kind: OrgKind = "gemeente"
    code: Code | None = None  # default: made from the name ("Gemeente Zaanstad" -> "zaanstad")


class Rename(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    name: Text


class NewLink(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    gemeente_id: Id


class NewAccount(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    username: Username
    role: Role
    password: Password  # the initial password: the password policy applies as to any other
    display_name: Text | None = None
    org_id: Id | None = None  # default: the administrator's own organisation


class AccountChange(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    role: Role | None = None
    active: bool | None = None


class NewDevice(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    name: Text
    unit_id: Id | None = None


class Created(msgspec.Struct, frozen=True, kw_only=True):
    id: int


class Issued(msgspec.Struct, frozen=True, kw_only=True):
    """A device's secret, shown this once (only its hash is kept)."""

    id: int
    kind: str
    name: str
    device_secret: str | None = None  # a tablet's koppelcode
    tracker_key: str | None = None  # a tracker's key: the OsmAnd `id` to configure in it
    qr_payload: str | None = None  # what the QR code carries
    qr_svg: str | None = None  # the QR code as an SVG data URI


def enrolment_payload(device_id: int, secret: str) -> str:
    """What a tablet's QR code carries: its device id and koppelcode (both typed in at the first login)."""
    return f"schakel:enrol?device={device_id}&code={secret}"


def qr_svg(payload: str) -> str:
    return str(segno.make(payload, error="m").svg_data_uri(scale=5, border=2))


def code_from_name(name: str) -> str:
    """A code for an organisation from its name: "Gemeente 's-Hertogenbosch" -> "s-hertogenbosch"."""
    plain = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode().lower()
    plain = re.sub(r"^(gemeente|meldkamer)\s+", "", plain.strip())
    code = re.sub(r"[^a-z0-9]+", "-", plain).strip("-")[:40].strip("-")
    if len(code) < 2:
        raise BadInput("make a code: the name has too few letters for one", field="code")
    return code


def _address(request: AnyRequest) -> str:
    return request.client.host if request.client else ""


async def _managed(conn: Conn, principal: Principal, org_id: int, field: str) -> None:
    if org_id not in await repo.managed_org_ids(conn, principal.org_id):
        raise NotFound("organisation not found", field=field)


@get("/organisations")
async def list_organisations(
    principal: NamedDependency[Principal], pool: NamedDependency[asyncpg.Pool]
) -> list[repo.Organisation]:
    async with pool.acquire() as conn:
        return await repo.list_organisations(conn, principal.org_id)


@post("/organisations")
async def create_organisation(
    request: AnyRequest,
    data: JSONBody[NewOrganisation],
    principal: NamedDependency[Principal],
    pool: NamedDependency[asyncpg.Pool],
) -> Created:
    code = data.code or code_from_name(data.name)
    async with pool.acquire() as conn, conn.transaction():
        org_id = await repo.create_org(
            conn, code=code, name=data.name.strip(), kind=data.kind, created_by=principal.org_id
        )
        await events.record(
            conn, action="organisation_create", actor=principal, org_id=principal.org_id,
            object_type="organisation", object_id=str(org_id), address=_address(request),
            details={"code": code, "name": data.name.strip(), "kind": data.kind},
        )  # fmt: skip
    return Created(id=org_id)


@patch("/organisations/{org_id:int}")
async def rename_organisation(
    request: AnyRequest,
    org_id: PathId,
    data: JSONBody[Rename],
    principal: NamedDependency[Principal],
    pool: NamedDependency[asyncpg.Pool],
) -> None:
    async with pool.acquire() as conn, conn.transaction():
        await _managed(conn, principal, org_id, "org_id")
        old = await repo.rename_org(conn, org_id, data.name.strip())
        await events.record(
            conn, action="organisation_rename", actor=principal, org_id=org_id, object_type="organisation",
            object_id=str(org_id), address=_address(request), details={"name": [old, data.name.strip()]},
        )  # fmt: skip


async def _link_ends(conn: Conn, meldkamer_id: int, gemeente_id: int) -> None:
    if await repo.get_org_kind(conn, meldkamer_id) != "meldkamer":
        raise NotFound("meldkamer not found", field="meldkamer_id")
    if await repo.get_org_kind(conn, gemeente_id) != "gemeente":
        raise NotFound("gemeente not found", field="gemeente_id")


@post("/organisations/{meldkamer_id:int}/links", status_code=204)
async def link_gemeente(
    request: AnyRequest,
    meldkamer_id: PathId,
    data: JSONBody[NewLink],
    principal: NamedDependency[Principal],
    pool: NamedDependency[asyncpg.Pool],
) -> None:
    """This meldkamer serves that gemeente from now on (sees its units and alerts). Only an administrator who
    manages the gemeente may link it: the gemeente decides who sees its boa's."""
    async with pool.acquire() as conn, conn.transaction():
        await _link_ends(conn, meldkamer_id, data.gemeente_id)
        await _managed(conn, principal, data.gemeente_id, "gemeente_id")
        if await repo.link(conn, meldkamer_id, data.gemeente_id):
            await events.record(
                conn, action="meldkamer_link", actor=principal, org_id=data.gemeente_id,
                object_type="organisation", object_id=str(data.gemeente_id), address=_address(request),
                details={"meldkamer_id": meldkamer_id, "gemeente_id": data.gemeente_id},
            )  # fmt: skip


@post("/organisations/{meldkamer_id:int}/links/{gemeente_id:int}/remove", status_code=204)
async def unlink_gemeente(
    request: AnyRequest,
    meldkamer_id: PathId,
    gemeente_id: PathId,
    principal: NamedDependency[Principal],
    pool: NamedDependency[asyncpg.Pool],
) -> None:
    """The meldkamer no longer serves the gemeente: either side's administrator may end it."""
    async with pool.acquire() as conn, conn.transaction():
        await _link_ends(conn, meldkamer_id, gemeente_id)
        managed = await repo.managed_org_ids(conn, principal.org_id)
        if meldkamer_id not in managed and gemeente_id not in managed:
            raise NotFound("link not found", field="gemeente_id")
        if await repo.unlink(conn, meldkamer_id, gemeente_id):
            for org_id in {meldkamer_id, gemeente_id}:
                await events.record(
                    conn, action="meldkamer_unlink", actor=principal, org_id=org_id,
                    object_type="organisation", object_id=str(gemeente_id), address=_address(request),
                    details={"meldkamer_id": meldkamer_id, "gemeente_id": gemeente_id},
                )  # fmt: skip


@get("/accounts")
async def list_accounts(
    principal: NamedDependency[Principal], pool: NamedDependency[asyncpg.Pool]
) -> list[repo.AdminAccount]:
    """Every account of the organisations this administrator manages, deactivated ones too."""
    async with pool.acquire() as conn:
        return await repo.list_accounts(conn, await repo.managed_org_ids(conn, principal.org_id))


@post("/accounts")
async def create_account(
    request: AnyRequest,
    data: JSONBody[NewAccount],
    principal: NamedDependency[Principal],
    pool: NamedDependency[asyncpg.Pool],
) -> Created:
    why = password_policy.problem(data.password, data.username)
    if why is not None:
        raise BadInput(why, field="password")
    org_id = data.org_id or principal.org_id
    async with pool.acquire() as conn:
        await _managed(conn, principal, org_id, "org_id")
        if await orgs.account_for_login(conn, data.username) is not None:  # before the slow hash
            raise Conflict(f"username {data.username!r} is taken", field="username")
    password_hash = await hash_password_off_loop(data.password)
    display_name = (data.display_name or data.username).strip()
    async with pool.acquire() as conn, conn.transaction():
        account_id = await repo.create_account(
            conn, org_id=org_id, username=data.username, display_name=display_name,
            password_hash=password_hash, role=data.role,
        )  # fmt: skip
        await events.record(
            conn, action="account_create", actor=principal, org_id=org_id, account_id=account_id,
            address=_address(request), details={"username": data.username, "role": data.role},
        )  # fmt: skip
    return Created(id=account_id)


@patch("/accounts/{account_id:int}")
async def change_account(
    account_id: PathId,
    data: JSONBody[AccountChange],
    principal: NamedDependency[Principal],
    pool: NamedDependency[asyncpg.Pool],
    services: NamedDependency[Services],
) -> repo.AdminAccount:
    """Change an account's role or (de)activate it; its sessions and sockets end at once (a trigger audits
    the change with this administrator as the actor, migration 0011)."""
    if data.role is None and data.active is None:
        raise BadInput("nothing to change: send role or active", field="role")
    async with pool.acquire() as conn, conn.transaction():
        account = await orgs.get_account(conn, account_id)
        if account is None or account.org_id not in await repo.managed_org_ids(conn, principal.org_id):
            raise NotFound("account not found", field="account_id")
        if account.role == "service":
            raise Conflict("the bridge's service account is set up by configuration", field="role")
        if account_id == principal.account_id:  # no administrator locks himself (and the gemeente) out
            field = "active" if data.active is not None else "role"
            raise Conflict("you cannot change your own role or deactivate yourself", field=field)
        ended = await repo.live_sessions(conn, account_id)
        await repo.change_account(
            conn, account_id, actor_id=principal.account_id, role=data.role, active=data.active
        )
        changed = [a for a in await repo.list_accounts(conn, [account.org_id]) if a.id == account_id][0]
    if changed.role != account.role or changed.active != account.active:
        tasks = services.sessions.ended(ended, "role_changed" if data.role else "account_disabled")
        if tasks:
            await asyncio.gather(*tasks, return_exceptions=True)
    return changed


@get("/devices")
async def list_devices(
    principal: NamedDependency[Principal],
    pool: NamedDependency[asyncpg.Pool],
    services: NamedDependency[Services],
) -> list[repo.AdminDevice]:
    """Tablets and trackers with their last contact; `connected`: a socket to this instance right now."""
    async with pool.acquire() as conn:
        devices = await repo.list_devices(conn, await repo.managed_org_ids(conn, principal.org_id))
    return [msgspec.structs.replace(d, connected=services.hub.links.get(d.id) is not None) for d in devices]


async def _issue(
    conn: Conn, principal: Principal, request: AnyRequest, device: orgs.Device, action: str
) -> Issued:
    if device.kind == "tracker":
        key = orgs.new_secret()
        await orgs.set_tracker_key(conn, device.id, key)
        issued = Issued(id=device.id, kind="tracker", name=device.name, tracker_key=key)
    else:
        secret = await orgs.enrol_device(conn, device.id)
        payload = enrolment_payload(device.id, secret)
        issued = Issued(
            id=device.id, kind="tablet", name=device.name, device_secret=secret, qr_payload=payload,
            qr_svg=qr_svg(payload),
        )  # fmt: skip
    await events.record(
        conn, action=action, actor=principal, org_id=device.org_id, object_type="device",
        object_id=str(device.id), address=_address(request), details={"kind": device.kind},
    )  # fmt: skip
    return issued


async def _new_device(
    kind: str, request: AnyRequest, data: NewDevice, principal: Principal, pool: asyncpg.Pool
) -> Issued:
    async with pool.acquire() as conn, conn.transaction():
        if data.unit_id is not None:
            unit = await orgs.get_unit(conn, data.unit_id)
            if unit is None or unit.org_id != principal.org_id:
                raise NotFound("unit not found", field="unit_id")
        device_id = await orgs.create_device(
            conn, org_id=principal.org_id, name=data.name.strip(), kind=kind, unit_id=data.unit_id
        )
        device = await orgs.get_device(conn, device_id)
        assert device is not None
        return await _issue(conn, principal, request, device, "device_enrol")


@post("/tablets")
async def enrol_tablet(
    request: AnyRequest,
    data: JSONBody[NewDevice],
    principal: NamedDependency[Principal],
    pool: NamedDependency[asyncpg.Pool],
) -> Issued:
    """A new tablet with its koppelcode and QR code, shown this once."""
    return await _new_device("tablet", request, data, principal, pool)


@post("/trackers")
async def issue_tracker(
    request: AnyRequest,
    data: JSONBody[NewDevice],
    principal: NamedDependency[Principal],
    pool: NamedDependency[asyncpg.Pool],
) -> Issued:
    """A new tracker with its key (the OsmAnd `id`), shown this once; it reports for `unit_id`."""
    return await _new_device("tracker", request, data, principal, pool)


@post("/devices/{device_id:int}/reissue", status_code=200)
async def reissue(
    request: AnyRequest,
    device_id: PathId,
    principal: NamedDependency[Principal],
    pool: NamedDependency[asyncpg.Pool],
) -> Issued:
    """A new koppelcode or key for a device; the previous one stops working."""
    async with pool.acquire() as conn, conn.transaction():
        device = await orgs.get_device(conn, device_id)
        if device is None or device.org_id not in await repo.managed_org_ids(conn, principal.org_id):
            raise NotFound("device not found", field="device_id")
        if device.revoked:
            raise Conflict("this device has been revoked; register a new one", field="device_id")
        return await _issue(conn, principal, request, device, "device_reenrol")


router = Router(
    path="/api/admin",
    tags=["admin"],
    guards=[requires("admin")],
    route_handlers=[
        list_organisations, create_organisation, rename_organisation, link_gemeente, unlink_gemeente,
        list_accounts, create_account, change_account, list_devices, enrol_tablet, issue_tracker, reissue,
    ],
)  # fmt: skip
