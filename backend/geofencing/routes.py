"""Beats over HTTP: import GeoJSON, list and get as GeoJSON."""

from __future__ import annotations

from typing import Annotated, Any

import asyncpg
import msgspec
from litestar import Request, Router, get, patch, post
from litestar.di import NamedDependency
from litestar.params import FromQuery

from backend import request_input as req
from backend.auth.guards import require_org, requires
from backend.auth.tokens import Principal
from backend.errors import BadInput, NotFound, TooLarge
from backend.geofencing import repository
from backend.geofencing.importer import BeatImportError, parse_beats
from backend.live.hub import LiveHub
from backend.openapi import GEOJSON_BODY, raw_body
from backend.params import PathId, QueryId
from shared.registrations import decode

MAX_IMPORT_BYTES = 20 * 1024 * 1024


class ImportResult(msgspec.Struct, frozen=True, kw_only=True):
    imported: int
    repaired: list[str]
    beat_ids: list[int]


@post(
    "/import",
    guards=[requires("admin", "teamlead")],
    operation_class=raw_body(GEOJSON_BODY, description="The beats, inserted or updated by code."),
)
async def import_beats(
    request: Request,  # type: ignore[type-arg]
    principal: NamedDependency[Principal],
    pool: NamedDependency[asyncpg.Pool],
    hub: NamedDependency[LiveHub],
    code_property: FromQuery[str | None] = None,
    name_property: FromQuery[str | None] = None,
    crs: FromQuery[str | None] = None,
    org_id: QueryId = None,
) -> ImportResult:
    """Import (insert or update by code) the beats of a GeoJSON FeatureCollection, WGS84 or RD New."""
    target = org_id or principal.org_id
    require_org(principal, target, "organisation")
    raw = await request.body()
    if len(raw) > MAX_IMPORT_BYTES:
        raise TooLarge(f"GeoJSON larger than {MAX_IMPORT_BYTES} bytes", field="body")
    try:
        features = parse_beats(raw, code_property=code_property, name_property=name_property, source_crs=crs)
    except BeatImportError as exc:
        raise BadInput(str(exc), field=exc.field or "body") from exc
    async with pool.acquire() as conn, conn.transaction():
        ids = await repository.upsert_beats(conn, target, features)
    await hub.reload_beats()
    return ImportResult(imported=len(ids), repaired=[f.code for f in features if f.repaired], beat_ids=ids)


@get("/")
async def list_beats(
    principal: NamedDependency[Principal],
    pool: NamedDependency[asyncpg.Pool],
    retired: FromQuery[bool] = False,
) -> dict[str, Any]:
    """The beats in use the caller may see, as a GeoJSON FeatureCollection; ``retired=true`` adds the
    retired ones (their properties carry ``retired_at``)."""
    async with pool.acquire() as conn:
        rows = await repository.list_beats(conn, sorted(principal.visible_org_ids), retired=retired)
    return repository.beats_feature_collection(rows)


class BeatChange(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """What a team lead changes of a beat: its name, and whether it is retired (false brings it back)."""

    name: (
        Annotated[str, msgspec.Meta(min_length=1, max_length=100, pattern=r"^[^\x00]*\S[^\x00]*$")] | None
    ) = None
    retired: bool | None = None


_beat_change = msgspec.json.Decoder(BeatChange)


@patch(
    "/{beat_id:int}",
    guards=[requires("admin", "teamlead")],
    operation_class=raw_body({"application/json": BeatChange}, description="The new name and/or retired."),
)
async def change_beat(
    request: Request,  # type: ignore[type-arg]
    beat_id: PathId,
    principal: NamedDependency[Principal],
    pool: NamedDependency[asyncpg.Pool],
    hub: NamedDependency[LiveHub],
) -> dict[str, Any]:
    """Rename or retire a beat. A retired beat keeps its id and shape for history (registrations, reports)
    but is no longer assigned to units or shifts and no longer part of the geofence."""
    data = decode(_beat_change, await req.body(request, limit=16 * 1024))
    if data.name is None and data.retired is None:
        raise BadInput("niets te wijzigen: geef name of retired", field="name")
    async with pool.acquire() as conn, conn.transaction():
        row = await repository.get_beat(conn, beat_id)
        if row is None or row.org_id != principal.org_id:
            raise NotFound("beat not found", field="beat_id")
        units = await repository.update_beat(
            conn, beat_id, name=data.name and data.name.strip(), retired=data.retired
        )
        changed = await repository.get_beat(conn, beat_id)
    await hub.reload_beats()
    for unit_id in units:
        await hub.refresh_unit(unit_id)
    assert changed is not None
    return repository.beats_feature_collection([changed])["features"][0]  # type: ignore[no-any-return]


@get("/{beat_id:int}")
async def get_beat(
    beat_id: PathId, principal: NamedDependency[Principal], pool: NamedDependency[asyncpg.Pool]
) -> dict[str, Any]:
    async with pool.acquire() as conn:
        row = await repository.get_beat(conn, beat_id)
    if row is None:
        raise NotFound("beat not found")
    require_org(principal, row.org_id, "beat")
    return repository.beats_feature_collection([row])["features"][0]  # type: ignore[no-any-return]


router = Router(
    path="/api/beats",
    tags=["beats"],
    route_handlers=[import_beats, list_beats, get_beat, change_beat],
)
