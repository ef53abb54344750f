"""Units, accounts and devices over HTTP."""

from __future__ import annotations

from typing import Annotated

import asyncpg
import msgspec
from litestar import Router, get, post
from litestar.di import NamedDependency
from litestar.params import FromQuery, JSONBody

from backend.auth import events
from backend.auth.guards import require_org, requires
from backend.auth.tokens import Principal
from backend.db.pool import Conn
from backend.errors import BadInput, Conflict, NotFound
from backend.geofencing import repository as beats
from backend.live.hub import LiveHub
from backend.orgs import repository as orgs
from backend.params import PathId
from shared.ids import Id

CallSign = Annotated[str, msgspec.Meta(min_length=1, max_length=32, pattern=r"^[A-Za-z0-9 .\-]+$")]
# PostgreSQL text cannot hold NUL: say so per field rather than fail in the database (ids: shared.ids)
Name = Annotated[str, msgspec.Meta(min_length=1, max_length=100, pattern=r"^[^\x00]+$")]
ManyIds = Annotated[list[Id], msgspec.Meta(max_length=50)]
TrackerKey = Annotated[str, msgspec.Meta(min_length=1, max_length=64, pattern=r"^[^\x00]+$")]

LEADS = requires("admin", "teamlead")  # who sets up units and devices


class NewUnit(msgspec.Struct, frozen=True, kw_only=True):
    call_sign: CallSign
    kind: Annotated[str, msgspec.Meta(pattern="^(duo|single)$")] = "duo"
    assigned_beat_ids: ManyIds = []
    org_id: Id | None = None  # admins of a meldkamer may create for a linked gemeente


class NewDevice(msgspec.Struct, frozen=True, kw_only=True):
    name: Name
    kind: Annotated[str, msgspec.Meta(pattern="^(tablet|tracker)$")] = "tablet"
    tracker_key: TrackerKey | None = None  # refused: the server issues tracker keys (in the answer)
    unit_id: Id | None = None


class Created(msgspec.Struct, frozen=True, kw_only=True):
    id: int


class IssuedDevice(msgspec.Struct, frozen=True, kw_only=True):
    """A device and its secret, shown this once (only a hash is kept): a tablet's enrolment secret, which it
    presents with its id at login (what a QR code for the tablet would carry), or a tracker's key."""

    id: int
    kind: str
    device_secret: str | None = None  # a tablet's
    tracker_key: str | None = None  # a tracker's: the OsmAnd `id` to configure in it


@get("/units")
async def list_units(
    principal: NamedDependency[Principal], pool: NamedDependency[asyncpg.Pool]
) -> list[orgs.Unit]:
    async with pool.acquire() as conn:
        return await orgs.list_units(conn, sorted(principal.visible_org_ids))


@post("/units", guards=[LEADS])
async def create_unit(
    data: JSONBody[NewUnit],
    principal: NamedDependency[Principal],
    pool: NamedDependency[asyncpg.Pool],
    hub: NamedDependency[LiveHub],
) -> Created:
    org_id = data.org_id or principal.org_id
    require_org(principal, org_id, "organisation")
    async with pool.acquire() as conn:
        await beats.check_org_beats(conn, org_id, data.assigned_beat_ids)
        unit_id = await orgs.create_unit(
            conn,
            org_id=org_id,
            call_sign=data.call_sign,
            kind=data.kind,
            assigned_beat_ids=data.assigned_beat_ids,
        )
    await hub.refresh_unit(unit_id)
    return Created(id=unit_id)


class Colleague(msgspec.Struct, frozen=True, kw_only=True):
    id: int
    username: str
    display_name: str
    role: str


@get("/accounts", guards=[requires("boa", "teamlead", "admin")])
async def list_accounts(
    principal: NamedDependency[Principal],
    pool: NamedDependency[asyncpg.Pool],
    role: FromQuery[Annotated[str, msgspec.Meta(pattern="^[a-z]{1,20}$")] | None] = None,
) -> list[Colleague]:
    """The active accounts of the caller's own organisation (a boa picks his duo partner from them)."""
    async with pool.acquire() as conn:
        accounts = await orgs.list_accounts(conn, principal.org_id, role)
    return [
        Colleague(id=a.id, username=a.username, display_name=a.display_name, role=a.role) for a in accounts
    ]


@get("/devices", guards=[LEADS])
async def list_devices(
    principal: NamedDependency[Principal], pool: NamedDependency[asyncpg.Pool]
) -> list[orgs.Device]:
    async with pool.acquire() as conn:
        return await orgs.list_devices(conn, sorted(principal.visible_org_ids))


@post("/devices", guards=[LEADS])
async def register_device(
    data: JSONBody[NewDevice], principal: NamedDependency[Principal], pool: NamedDependency[asyncpg.Pool]
) -> IssuedDevice:
    """Register a tablet or a tracker, answered with its enrolment secret or tracker key (shown this once)."""
    if data.tracker_key is not None:
        raise BadInput(
            "tracker keys are issued by the server (in the answer); send none", field="tracker_key"
        )
    key = orgs.new_secret() if data.kind == "tracker" else None
    async with pool.acquire() as conn, conn.transaction():
        if data.unit_id is not None:
            unit = await orgs.get_unit(conn, data.unit_id)
            if unit is None or unit.org_id != principal.org_id:
                raise NotFound("unit not found", field="unit_id")
        device_id = await orgs.create_device(
            conn,
            org_id=principal.org_id,
            name=data.name,
            kind=data.kind,
            tracker_key=key,
            unit_id=data.unit_id,
        )
        secret = await orgs.enrol_device(conn, device_id) if data.kind == "tablet" else None
        await _audit_enrolment(conn, principal, device_id, data.kind, again=False)
    return IssuedDevice(id=device_id, kind=data.kind, device_secret=secret, tracker_key=key)


async def _audit_enrolment(
    conn: Conn, principal: Principal, device_id: int, kind: str, *, again: bool
) -> None:
    """A security event: who issued a tablet's enrolment secret or a tracker's key (never the secret)."""
    await events.record(
        conn,
        action=("device_reenrol" if again else "device_enrol")
        if kind == "tablet"
        else ("tracker_key_reissue" if again else "tracker_key_issue"),
        actor=principal,
        org_id=principal.org_id,
        device_id=device_id,
        object_type="device",
        object_id=str(device_id),
        details={"kind": kind, "reissued": again},
    )


@post("/devices/{device_id:int}/enrolment", status_code=200, guards=[LEADS])
async def enrol_device(
    device_id: PathId, principal: NamedDependency[Principal], pool: NamedDependency[asyncpg.Pool]
) -> IssuedDevice:
    """(Re-)enrol a device: a tablet gets a new secret, a tracker a new key, shown this once; the previous one
    no longer works (a tablet's sessions already open stay until it is revoked)."""
    async with pool.acquire() as conn, conn.transaction():
        device = await orgs.get_device(conn, device_id)
        if device is None:
            raise NotFound("device not found")
        require_org(principal, device.org_id, "device")
        if device.revoked:
            raise Conflict("this device has been revoked; register a new one", field="device_id")
        if device.kind == "tracker":
            key = orgs.new_secret()
            await orgs.set_tracker_key(conn, device_id, key)
            await _audit_enrolment(conn, principal, device_id, device.kind, again=True)
            return IssuedDevice(id=device_id, kind=device.kind, tracker_key=key)
        secret = await orgs.enrol_device(conn, device_id)
        await _audit_enrolment(conn, principal, device_id, device.kind, again=True)
    return IssuedDevice(id=device_id, kind=device.kind, device_secret=secret)


router = Router(
    path="/api",
    tags=["organisation"],
    route_handlers=[list_units, create_unit, list_accounts, list_devices, register_device, enrol_device],
)
