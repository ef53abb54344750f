"""Feitcodes over HTTP: the picker's search, the catalogue versions and their upload, APV zone import."""

from __future__ import annotations

from typing import Any

import asyncpg
import msgspec
from litestar import Router, get, post
from litestar.di import NamedDependency
from litestar.params import FromQuery

from backend import request_input as req
from backend.auth.guards import requires
from backend.auth.tokens import Principal
from backend.errors import BadInput
from backend.feitcodes import repository as repo
from backend.feitcodes.catalogue import load_catalogue
from backend.geofencing.importer import BeatImportError, parse_beats
from backend.openapi import GEOJSON_BODY, raw_body
from backend.privacy import audit
from backend.request_input import AnyRequest
from shared.feitcodes import Catalogue, CatalogueError, FeitHit, FeitResult, search

MAX_CATALOGUE_BYTES = 16 * 1024 * 1024
LEADS = ("teamlead", "admin")


class ZoneImport(msgspec.Struct, frozen=True, kw_only=True):
    imported: int
    zone_ids: list[int]


@get("/feitcodes")
async def feitcodes(
    principal: NamedDependency[Principal],
    pool: NamedDependency[asyncpg.Pool],
    q: FromQuery[str] = "",
    lon: FromQuery[float | None] = None,
    lat: FromQuery[float | None] = None,
    limit: FromQuery[int] = 20,
) -> FeitResult:
    """The feitcode picker: the gemeente's track and the boa's domain, APV zones at (lon, lat) first."""
    req.texts(q=q)
    point = None if lon is None or lat is None else (lon, lat)
    if (lon is None) != (lat is None) or (point and not (-180 <= point[0] <= 180 and -90 <= point[1] <= 90)):
        raise BadInput("geef lon en lat samen, in WGS84", field="lon")
    async with pool.acquire() as conn:
        version_id, catalogue = await repo.active_catalogue(conn, principal.org_id, req.now().date())
        track = await repo.org_track(conn, principal.org_id)
        domains = await repo.account_domains(conn, principal.account_id)
        tags = await repo.zone_tags_at(conn, principal.org_id, *point) if point else frozenset()
    size = max(1, min(limit, 200))
    hits = search(catalogue, q[:100], track=track, domains=domains, zone_tags=tags, limit=size)
    return FeitResult(
        catalogue_version_id=version_id,
        catalogue_version=catalogue.version,
        track=track,
        domains=sorted(domains),
        zone_tags=sorted(tags),
        hits=[
            FeitHit(
                code=e.code,
                description=e.description,
                track=e.track,
                category=e.category,
                amounts_eur=dict(e.amounts_eur),
                amount_scheme=e.amount_scheme,
                tags=e.tags,
                applies_here=bool(tags.intersection(e.tags)),
            )
            for e in hits
        ],
    )


@get("/catalogues")
async def list_catalogues(
    principal: NamedDependency[Principal], pool: NamedDependency[asyncpg.Pool]
) -> list[repo.CatalogueVersion]:
    async with pool.acquire() as conn:
        return await repo.list_catalogues(conn, principal.org_id)


@post(
    "/catalogues",
    status_code=201,
    guards=[requires("admin")],
    operation_class=raw_body({"application/json": Catalogue}, description="A feitcode catalogue file."),
)
async def upload_catalogue(
    request: AnyRequest, principal: NamedDependency[Principal], pool: NamedDependency[asyncpg.Pool]
) -> repo.CatalogueVersion:
    """Replace the gemeente's feitcode catalogue by a newer file; earlier registrations keep their version."""
    raw = await req.body(request, MAX_CATALOGUE_BYTES)
    if b"\\u0000" in raw:  # PostgreSQL jsonb cannot hold NUL
        raise BadInput("het bestand bevat een NUL-teken", field="file")
    try:
        catalogue = load_catalogue(raw)
    except CatalogueError as exc:
        field = exc.field if exc.index is None else f"entries.{exc.index}.{exc.field}"
        raise BadInput(str(exc), field=field) from None
    async with pool.acquire() as conn, conn.transaction():
        new_id = await repo.store_catalogue(conn, principal.org_id, catalogue, principal.account_id)
        await audit.record(
            conn,
            principal=principal,
            action="catalogue_upload",
            object_type="catalogue",
            object_id=str(new_id),
            origin=req.origin(request, principal),
            details={"version": catalogue.version},
        )
        versions = await repo.list_catalogues(conn, principal.org_id)
    return next(v for v in versions if v.id == new_id)


@post(
    "/apv-zones/import",
    guards=[requires(*LEADS)],
    operation_class=raw_body(
        GEOJSON_BODY, description="The zones; each feature's tags_property lists its tags."
    ),
)
async def import_zones(
    request: AnyRequest,
    principal: NamedDependency[Principal],
    pool: NamedDependency[asyncpg.Pool],
    tags_property: FromQuery[str] = "tags",
    code_property: FromQuery[str | None] = None,
    name_property: FromQuery[str | None] = None,
    crs: FromQuery[str | None] = None,
) -> ZoneImport:
    """APV zones (alcoholverbod, hondenlosloopgebied, …) from GeoJSON; each feature lists its tags."""
    try:
        features = parse_beats(
            await req.body(request, 20 * 1024 * 1024),
            code_property=code_property,
            name_property=name_property,
            source_crs=crs,
        )
    except BeatImportError as exc:
        raise BadInput(str(exc), field=exc.field or "body") from None
    tags = [_zone_tags(index, f.properties.get(tags_property)) for index, f in enumerate(features)]
    req.texts(**{f"features.{i}.code": f.code for i, f in enumerate(features)})
    req.texts(**{f"features.{i}.name": f.name for i, f in enumerate(features)})
    async with pool.acquire() as conn, conn.transaction():
        ids = await repo.upsert_zones(conn, principal.org_id, features, tags)
    return ZoneImport(imported=len(ids), zone_ids=ids)


def _zone_tags(index: int, raw: Any) -> tuple[str, ...]:
    values = raw.split(",") if isinstance(raw, str) else raw
    if not isinstance(values, list) or not values:
        raise BadInput(f"feature {index}: geen tags (bijv. 'alcohol,hond')", field="tags")
    tags = tuple(sorted({str(v).strip() for v in values}))
    if not all(tag.replace("_", "a").isalpha() and tag.islower() and len(tag) <= 40 for tag in tags):
        raise BadInput(f"feature {index}: tags zijn kleine letters en _", field="tags")
    return tags


router = Router(
    path="/api",
    tags=["feitcodes"],
    route_handlers=[feitcodes, list_catalogues, upload_catalogue, import_zones],
)
