"""Feitcodes over HTTP: the picker's search, the catalogue versions and their upload, APV zone import."""

from __future__ import annotations

from datetime import date
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
from backend.feitcodes.tariffs import MAX_TARIFF_BYTES, TariffError, apply_tariffs, parse_date, parse_tariffs
from backend.geofencing.importer import BeatImportError, parse_beats
from backend.openapi import GEOJSON_BODY, raw_body
from backend.privacy import audit
from backend.registrations.validation import LOCAL
from backend.request_input import AnyRequest
from shared.feitcodes import Catalogue, CatalogueError, FeitEntry, FeitHit, FeitResult, search

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


class TariffImport(msgspec.Struct, frozen=True, kw_only=True):
    version: repo.CatalogueVersion
    based_on: int  # the version whose entries were copied
    changed: int  # entries whose amount the file set


class CatalogueEntry(msgspec.Struct, frozen=True, kw_only=True):
    code: str
    description: str
    track: str
    amount_scheme: str
    amounts_eur: dict[str, int]


class CatalogueEntries(msgspec.Struct, frozen=True, kw_only=True):
    version: repo.CatalogueVersion
    track: str
    entries: list[CatalogueEntry]


@post(
    "/catalogues/tariffs",
    status_code=201,
    guards=[requires(*LEADS)],
    operation_class=raw_body(
        {"text/csv": str},
        description="Tariffs: header `feitcode;bedrag` (optional `ingangsdatum`, `categorie`), one per line.",
    ),
)
async def import_tariffs(
    request: AnyRequest,
    principal: NamedDependency[Principal],
    pool: NamedDependency[asyncpg.Pool],
    valid_from: FromQuery[str | None] = None,
) -> TariffImport:
    """The gemeente's tariff list: a new catalogue version, the one in force with these amounts set, valid
    from the given date (query or the file's `ingangsdatum`, default today)."""
    raw = await req.body(request, MAX_TARIFF_BYTES)
    today = req.now().astimezone(LOCAL).date()
    try:
        asked = parse_date(valid_from, "valid_from", today) if valid_from is not None else None
        tariffs = parse_tariffs(raw, today)
        if asked and tariffs.valid_from and asked != tariffs.valid_from:
            raise TariffError("valid_from", "de ingangsdatum in het bestand wijkt af van de gekozen datum")
        start = asked or tariffs.valid_from or today
        async with pool.acquire() as conn, conn.transaction():
            base_id, base = await repo.active_catalogue(conn, principal.org_id, start)
            track = await repo.org_track(conn, principal.org_id)
            catalogue, changed = apply_tariffs(base, tariffs, track, start)
            new_id = await repo.store_catalogue(conn, principal.org_id, catalogue, principal.account_id)
            await audit.record(
                conn,
                principal=principal,
                action="tariff_import",
                object_type="catalogue",
                object_id=str(new_id),
                origin=req.origin(request, principal),
                details={
                    "version": catalogue.version,
                    "valid_from": start.isoformat(),
                    "based_on": base_id,
                    "lines": len(tariffs.lines),
                    "changed": changed,
                },
            )
            versions = await repo.list_catalogues(conn, principal.org_id)
    except TariffError as exc:
        raise BadInput(exc.reason, field=exc.field) from None
    return TariffImport(
        version=next(v for v in versions if v.id == new_id), based_on=base_id, changed=changed
    )


@get("/catalogues/entries", guards=[requires(*LEADS)])
async def catalogue_entries(
    principal: NamedDependency[Principal],
    pool: NamedDependency[asyncpg.Pool],
    q: FromQuery[str] = "",
    on: FromQuery[date | None] = None,
    limit: FromQuery[int] = 20,
) -> CatalogueEntries:
    """Beheer's look-up: the gemeente's feitcodes (every domain) with full text and amounts, in the version
    in force on ``on`` (default today)."""
    req.texts(q=q)
    day = on or req.now().astimezone(LOCAL).date()
    async with pool.acquire() as conn:
        version_id, catalogue = await repo.active_catalogue(conn, principal.org_id, day)
        track = await repo.org_track(conn, principal.org_id)
        versions = await repo.list_catalogues(conn, principal.org_id)
    hits = search(catalogue, q[:100], track=track, domains=range(7), limit=max(1, min(limit, 100)))
    by_code: dict[tuple[str, str], FeitEntry] = {(e.track, e.code): e for e in catalogue.entries}
    shown = [by_code.get((track, e.code), e) for e in hits]  # the gemeente's own track before Mulder
    return CatalogueEntries(
        version=next(v for v in versions if v.id == version_id),
        track=track,
        entries=[
            CatalogueEntry(
                code=e.code,
                description=e.description,
                track=e.track,
                amount_scheme=e.amount_scheme,
                amounts_eur=dict(e.amounts_eur),
            )
            for e in shown
        ],
    )


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
    route_handlers=[
        feitcodes,
        list_catalogues,
        upload_catalogue,
        import_tariffs,
        catalogue_entries,
        import_zones,
    ],
)
