"""Registrations over HTTP: submit, photos, feitcode search, catalogues, APV zones, review, reports, audit.

Bodies of submissions are decoded here with our own msgspec decoders (not Litestar's), so every error names
its field in the same way and the stored content is exactly what was decoded.
"""

from __future__ import annotations

import asyncio
import hashlib
import os
import uuid
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Annotated, Any

import msgspec
from litestar import MediaType, Request, Response, get, post, put
from litestar.di import NamedDependency
from litestar.params import FromPath, FromQuery, JSONBody

from backend.auth.guards import require_role, services_of
from backend.auth.tokens import Principal
from backend.errors import BadInput, DomainError, NotFound, TooLarge
from backend.geofencing.importer import BeatImportError, parse_beats
from backend.registrations import audit, documents, service, validation
from backend.registrations import repository as repo
from backend.registrations.catalogue import load_catalogue
from shared.feitcodes import CatalogueError, FeitHit, FeitResult, search
from shared.registrations import Aggression, Sha256, decode_correction, decode_submission, decode_void

MAX_PHOTO_BYTES = 10 * 1024 * 1024
MAX_CATALOGUE_BYTES = 16 * 1024 * 1024
AnyRequest = Request[Any, Any, Any]
PHOTO_TYPES = {"image/jpeg": b"\xff\xd8\xff", "image/png": b"\x89PNG\r\n\x1a\n"}
LEADS = ("teamlead", "admin")
PRIVACY = ("admin", "privacy_officer")
_SHA = msgspec.json.Decoder(Sha256)


class UnsupportedType(DomainError):
    status_code = 415
    code = "unsupported_media_type"


class ConflictBody(msgspec.Struct, frozen=True, kw_only=True):
    status_code: int = 409
    code: str = "conflict"
    detail: str
    field: str | None
    differences: list[str]


class RegistrationView(msgspec.Struct, frozen=True, kw_only=True):
    registration: repo.Registration
    deadline: validation.DeadlineStatus | None = None


class PhotoStatus(msgspec.Struct, frozen=True, kw_only=True):
    sha256: str
    stored: bool
    created: bool


class Hashes(msgspec.Struct, frozen=True, kw_only=True):
    hashes: Annotated[list[Sha256], msgspec.Meta(max_length=200)]


class Missing(msgspec.Struct, frozen=True, kw_only=True):
    missing: list[str]


class ZoneImport(msgspec.Struct, frozen=True, kw_only=True):
    imported: int
    zone_ids: list[int]


class AccessRequest(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    name: Annotated[str, msgspec.Meta(min_length=1, max_length=200, pattern=r"^[^\x00]+$")]
    birth_date: date
    reason: Annotated[str, msgspec.Meta(min_length=3, max_length=1000, pattern=r"^[^\x00]+$")]


class AccessAnswer(msgspec.Struct, frozen=True, kw_only=True):
    registrations: list[repo.Registration]
    disclosures: list[audit.Entry]


class Overview(msgspec.Struct, frozen=True, kw_only=True):
    month: str
    rows: list[repo.OverviewRow]


def _origin(request: AnyRequest, principal: Principal) -> audit.Origin:
    return audit.Origin(address=request.client.host if request.client else "", device_id=principal.device_id)


def _reason(request: AnyRequest) -> str | None:
    reason = request.headers.get("x-reason") or request.query_params.get("reason")
    return reason.replace("\x00", "")[:1000] if reason else None


async def _body(request: AnyRequest, limit: int = 1024 * 1024) -> bytes:
    raw = await request.body()
    if len(raw) > limit:
        raise TooLarge(f"body larger than {limit} bytes", field="body")
    return raw


def _texts(**values: str | None) -> None:
    """Query strings go into SQL as text: no NUL (PostgreSQL refuses it), nothing absurdly long."""
    for field, value in values.items():
        if value is not None and ("\x00" in value or len(value) > 200):
            raise BadInput("ongeldige tekst", field=field)


def _ids(**values: int | None) -> None:
    for field, value in values.items():
        if value is not None and not 0 < value < 2**31:
            raise BadInput("onbekend id", field=field)


def _now() -> datetime:
    return datetime.now(UTC)


# --- submitting --------------------------------------------------------------------------------------------


@post("/api/registrations", tags=["registrations"])
async def submit_registration(request: AnyRequest, principal: NamedDependency[Principal]) -> Response[Any]:
    """Register a waarneming, fine or aggression incident. 201 new, 200 a retry, 409 same id other content."""
    submission = decode_submission(await _body(request))
    services = services_of(request)
    async with services.pool.acquire() as conn, conn.transaction():
        outcome = await service.submit(conn, principal, submission, services.hub.picture.beats, _now())
        if outcome.registration is not None:
            await audit.record(
                conn,
                principal=principal,
                action="create" if outcome.created else "resubmit",
                object_type="registration",
                object_id=str(submission.id),
                origin=_origin(request, principal),
            )
    if outcome.conflict is not None:
        detail = "dit id hoort bij een andere registratie; verschillen: " + ", ".join(outcome.conflict)
        body = ConflictBody(detail=detail, field=outcome.conflict[0], differences=outcome.conflict)
        return Response(body, status_code=409)
    return Response(outcome.registration, status_code=201 if outcome.created else 200)


@get("/api/observation-categories", tags=["registrations"])
async def observation_categories(request: AnyRequest, principal: NamedDependency[Principal]) -> list[str]:
    async with services_of(request).pool.acquire() as conn:
        return await repo.categories(conn, principal.org_id)


class NewCategory(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    code: Annotated[str, msgspec.Meta(pattern=r"^[a-z_]{1,40}$")]
    label: Annotated[str, msgspec.Meta(min_length=1, max_length=100)]


@post("/api/observation-categories", tags=["registrations"], status_code=201)
async def add_observation_category(
    request: AnyRequest, data: JSONBody[NewCategory], principal: NamedDependency[Principal]
) -> list[str]:
    """A gemeente's own waarneming category next to the default list."""
    require_role(principal, ("admin",))
    async with services_of(request).pool.acquire() as conn:
        await repo.add_category(conn, principal.org_id, data.code, data.label)
        return await repo.categories(conn, principal.org_id)


# --- photos ------------------------------------------------------------------------------------------------


def photo_path(uploads: Path, sha256: str) -> Path:
    return uploads / sha256[:2] / sha256


def _write_durably(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    if path.exists() and path.stat().st_size == len(data):
        return
    tmp = path.with_suffix(f".{os.getpid()}.{uuid.uuid4().hex}.tmp")
    with tmp.open("wb") as handle:
        handle.write(data)
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(tmp, path)
    directory = os.open(path.parent, os.O_RDONLY)  # the rename itself must survive a crash too
    try:
        os.fsync(directory)
    finally:
        os.close(directory)


def _check_sha(sha256: str) -> str:
    try:
        return _SHA.decode(msgspec.json.encode(sha256))
    except msgspec.ValidationError:
        raise BadInput("geen geldige sha256 (64 kleine hexadecimale tekens)", field="sha256") from None


@put("/api/photos/{sha256:str}", tags=["photos"])
async def put_photo(
    request: AnyRequest, sha256: FromPath[str], principal: NamedDependency[Principal]
) -> Response[PhotoStatus]:
    """Upload a photo by the sha256 of its bytes; uploading a known hash again stores nothing new."""
    require_role(principal, service.WRITERS)
    sha256 = _check_sha(sha256)
    content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if content_type not in PHOTO_TYPES:
        raise UnsupportedType("alleen JPEG of PNG", field="content-type")
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > MAX_PHOTO_BYTES:
        raise TooLarge(f"foto groter dan {MAX_PHOTO_BYTES // (1024 * 1024)} MB", field="body")
    services = services_of(request)
    async with services.pool.acquire() as conn:
        if await repo.photo_known(conn, principal.org_id, sha256):
            return Response(PhotoStatus(sha256=sha256, stored=True, created=False), status_code=200)
    data = await _body(request, MAX_PHOTO_BYTES)
    if hashlib.sha256(data).hexdigest() != sha256:
        raise BadInput("de inhoud past niet bij de sha256 in het adres", field="sha256")
    if not data.startswith(PHOTO_TYPES[content_type]):
        raise UnsupportedType(f"de inhoud is geen {content_type}", field="body")
    await asyncio.to_thread(_write_durably, photo_path(services.settings.uploads_dir, sha256), data)
    async with services.pool.acquire() as conn:
        created = await repo.insert_photo(
            conn, principal.org_id, sha256, len(data), content_type, principal.account_id
        )
    return Response(
        PhotoStatus(sha256=sha256, stored=True, created=created), status_code=201 if created else 200
    )


@post("/api/photos/missing", tags=["photos"], status_code=200)
async def missing_photos(
    request: AnyRequest, data: JSONBody[Hashes], principal: NamedDependency[Principal]
) -> Missing:
    """Which of these photos the server does not have yet (to resume an interrupted upload)."""
    async with services_of(request).pool.acquire() as conn:
        return Missing(missing=await repo.missing_photos(conn, principal.org_id, data.hashes))


@get("/api/photos/{sha256:str}", tags=["photos"], media_type="application/octet-stream")
async def get_photo(
    request: AnyRequest, sha256: FromPath[str], principal: NamedDependency[Principal]
) -> Response[bytes]:
    sha256 = _check_sha(sha256)
    services = services_of(request)
    async with services.pool.acquire() as conn, conn.transaction():
        content_type = await repo.photo_content_type(conn, principal, sha256)
        await audit.record(
            conn,
            principal=principal,
            action="read",
            object_type="photo",
            object_id=sha256,
            result="ok" if content_type else "not_found",
            origin=_origin(request, principal),
            reason=_reason(request),
        )
    if content_type is None:
        raise NotFound("foto niet gevonden")
    data = await asyncio.to_thread(photo_path(services.settings.uploads_dir, sha256).read_bytes)
    return Response(data, media_type=content_type)


# --- feitcodes, catalogues, APV zones ----------------------------------------------------------------------


@get("/api/feitcodes", tags=["feitcodes"])
async def feitcodes(
    request: AnyRequest,
    principal: NamedDependency[Principal],
    q: FromQuery[str] = "",
    lon: FromQuery[float | None] = None,
    lat: FromQuery[float | None] = None,
    limit: FromQuery[int] = 20,
) -> FeitResult:
    """The feitcode picker: the gemeente's track and the boa's domain, APV zones at (lon, lat) first."""
    _texts(q=q)
    point = None if lon is None or lat is None else (lon, lat)
    if (lon is None) != (lat is None) or (point and not (-180 <= point[0] <= 180 and -90 <= point[1] <= 90)):
        raise BadInput("geef lon en lat samen, in WGS84", field="lon")
    async with services_of(request).pool.acquire() as conn:
        version_id, catalogue = await repo.active_catalogue(conn, principal.org_id, _now().date())
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


@get("/api/catalogues", tags=["feitcodes"])
async def list_catalogues(
    request: AnyRequest, principal: NamedDependency[Principal]
) -> list[repo.CatalogueVersion]:
    async with services_of(request).pool.acquire() as conn:
        return await repo.list_catalogues(conn, principal.org_id)


@post("/api/catalogues", tags=["feitcodes"], status_code=201)
async def upload_catalogue(
    request: AnyRequest, principal: NamedDependency[Principal]
) -> repo.CatalogueVersion:
    """Replace the gemeente's feitcode catalogue by a newer file; earlier registrations keep their version."""
    require_role(principal, ("admin",))
    raw = await _body(request, MAX_CATALOGUE_BYTES)
    if b"\\u0000" in raw:  # PostgreSQL jsonb cannot hold NUL
        raise BadInput("het bestand bevat een NUL-teken", field="file")
    try:
        catalogue = load_catalogue(raw)
    except CatalogueError as exc:
        field = exc.field if exc.index is None else f"entries.{exc.index}.{exc.field}"
        raise BadInput(str(exc), field=field) from None
    async with services_of(request).pool.acquire() as conn, conn.transaction():
        new_id = await repo.store_catalogue(conn, principal.org_id, catalogue, principal.account_id)
        await audit.record(
            conn,
            principal=principal,
            action="catalogue_upload",
            object_type="catalogue",
            object_id=str(new_id),
            origin=_origin(request, principal),
            details={"version": catalogue.version},
        )
        versions = await repo.list_catalogues(conn, principal.org_id)
    return next(v for v in versions if v.id == new_id)


@post("/api/apv-zones/import", tags=["feitcodes"])
async def import_zones(
    request: AnyRequest,
    principal: NamedDependency[Principal],
    tags_property: FromQuery[str] = "tags",
    code_property: FromQuery[str | None] = None,
    name_property: FromQuery[str | None] = None,
    crs: FromQuery[str | None] = None,
) -> ZoneImport:
    """APV zones (alcoholverbod, hondenlosloopgebied, …) from GeoJSON; each feature lists its feitcode tags."""
    require_role(principal, LEADS)
    try:
        features = parse_beats(
            await _body(request, 20 * 1024 * 1024),
            code_property=code_property,
            name_property=name_property,
            source_crs=crs,
        )
    except BeatImportError as exc:
        raise BadInput(str(exc), field=exc.field or "body") from None
    tags = [_zone_tags(index, f.properties.get(tags_property)) for index, f in enumerate(features)]
    _texts(**{f"features.{i}.code": f.code for i, f in enumerate(features)})
    _texts(**{f"features.{i}.name": f.name for i, f in enumerate(features)})
    async with services_of(request).pool.acquire() as conn, conn.transaction():
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


# --- reading and review ------------------------------------------------------------------------------------


@get("/api/registrations", tags=["registrations"])
async def list_registrations(
    request: AnyRequest,
    principal: NamedDependency[Principal],
    since: FromQuery[datetime | None] = None,
    until: FromQuery[datetime | None] = None,
    beat_id: FromQuery[int | None] = None,
    category: FromQuery[str | None] = None,
    feitcode: FromQuery[str | None] = None,
    boa_id: FromQuery[int | None] = None,
    kind: FromQuery[str | None] = None,
    status: FromQuery[str | None] = None,
    limit: FromQuery[int] = 200,
) -> list[repo.Summary]:
    """Summaries (no personal data) of what the caller may see, newest first."""
    _texts(category=category, feitcode=feitcode, kind=kind, status=status)
    _ids(beat_id=beat_id, boa_id=boa_id)
    filters = repo.Filters(
        since=since,
        until=until,
        beat_id=beat_id,
        category=category,
        feitcode=feitcode,
        boa_id=boa_id,
        kind=kind,
        state=status,
        limit=max(1, min(limit, 1000)),
    )
    async with services_of(request).pool.acquire() as conn:
        return [repo.summary(r) for r in await repo.list_visible(conn, principal, filters)]


async def _read(
    request: AnyRequest, principal: Principal, registration_id: uuid.UUID, action: str
) -> repo.Registration:
    """One registration the caller may see, with the read logged (also a refused one)."""
    async with services_of(request).pool.acquire() as conn, conn.transaction():
        found = await repo.get_visible(conn, principal, registration_id)
        await audit.record(
            conn,
            principal=principal,
            action=action,
            object_type="registration",
            object_id=str(registration_id),
            result="ok" if found else "not_found",
            origin=_origin(request, principal),
            reason=_reason(request),
            org_id=found.org_id if found else principal.org_id,
        )
    if found is None:
        raise NotFound("registratie niet gevonden")
    return found


@get("/api/registrations/{registration_id:uuid}", tags=["registrations"])
async def get_registration(
    request: AnyRequest, registration_id: FromPath[uuid.UUID], principal: NamedDependency[Principal]
) -> RegistrationView:
    found = await _read(request, principal, registration_id, "read")
    deadline = None
    if found.kind == "aggression":
        deadline = validation.deadline_status(msgspec.convert(found.details, Aggression), _now())
    return RegistrationView(registration=found, deadline=deadline)


@get("/api/registrations/{registration_id:uuid}/versions", tags=["registrations"])
async def registration_versions(
    request: AnyRequest, registration_id: FromPath[uuid.UUID], principal: NamedDependency[Principal]
) -> list[repo.Version]:
    await _read(request, principal, registration_id, "read_versions")
    async with services_of(request).pool.acquire() as conn:
        return await repo.versions(conn, registration_id)


@get("/api/registrations/{registration_id:uuid}/receipt", tags=["registrations"], media_type=MediaType.HTML)
async def receipt(
    request: AnyRequest, registration_id: FromPath[uuid.UUID], principal: NamedDependency[Principal]
) -> str:
    """The printable aankondiging for a fine (HTML, Dutch)."""
    found = await _read(request, principal, registration_id, "print_receipt")
    if found.kind != "fine":
        raise BadInput("alleen een boete heeft een aankondiging", field="registration_id")
    async with services_of(request).pool.acquire() as conn:
        name = await conn.fetchval("SELECT name FROM organisations WHERE id = $1", found.org_id)
    return documents.receipt_html(found, str(name))


@post("/api/registrations/{registration_id:uuid}/correct", tags=["review"], status_code=200)
async def correct_registration(
    request: AnyRequest, registration_id: FromPath[uuid.UUID], principal: NamedDependency[Principal]
) -> repo.Registration:
    """A team lead corrects a registration (full new content + reason); the previous version is kept."""
    require_role(principal, ("teamlead",))
    correction = decode_correction(await _body(request))
    services = services_of(request)
    async with services.pool.acquire() as conn, conn.transaction():
        current = await repo.get_visible(conn, principal, registration_id, for_update=True)
        if current is None:
            raise NotFound("registratie niet gevonden")
        await service.correct(
            conn,
            principal,
            current,
            correction.registration,
            correction.reason,
            services.hub.picture.beats,
            _now(),
        )
        await audit.record(
            conn,
            principal=principal,
            action="correct",
            object_type="registration",
            object_id=str(registration_id),
            origin=_origin(request, principal),
            reason=correction.reason,
        )
        return await repo.get_raw(conn, registration_id)  # type: ignore[return-value]


@post("/api/registrations/{registration_id:uuid}/void", tags=["review"], status_code=200)
async def void_registration(
    request: AnyRequest, registration_id: FromPath[uuid.UUID], principal: NamedDependency[Principal]
) -> repo.Registration:
    require_role(principal, ("teamlead",))
    void = decode_void(await _body(request))
    async with services_of(request).pool.acquire() as conn, conn.transaction():
        current = await repo.get_visible(conn, principal, registration_id, for_update=True)
        if current is None:
            raise NotFound("registratie niet gevonden")
        if current.state != "active":
            raise BadInput("registratie is al vervallen", field="state")
        await repo.replace(conn, current, account_id=principal.account_id, action="void", reason=void.reason)
        await audit.record(
            conn,
            principal=principal,
            action="void",
            object_type="registration",
            object_id=str(registration_id),
            origin=_origin(request, principal),
            reason=void.reason,
        )
        return await repo.get_raw(conn, registration_id)  # type: ignore[return-value]


# --- reports and exports -----------------------------------------------------------------------------------


async def _export(
    request: AnyRequest, principal: Principal, filters: repo.Filters, what: str
) -> list[repo.Registration]:
    require_role(principal, LEADS)
    async with services_of(request).pool.acquire() as conn, conn.transaction():
        found = await repo.list_visible(conn, principal, filters)
        await audit.record_many(
            conn,
            principal=principal,
            action=f"export_{what}",
            object_type="registration",
            object_ids=[str(r.id) for r in found],
            origin=_origin(request, principal),
            reason=_reason(request),
            org_id=principal.org_id,
        )
    return found


@get("/api/reports/registrations.csv", tags=["review"], media_type="text/csv")
async def export_registrations(
    request: AnyRequest,
    principal: NamedDependency[Principal],
    since: FromQuery[datetime | None] = None,
    until: FromQuery[datetime | None] = None,
    beat_id: FromQuery[int | None] = None,
    category: FromQuery[str | None] = None,
    feitcode: FromQuery[str | None] = None,
    boa_id: FromQuery[int | None] = None,
    kind: FromQuery[str | None] = None,
) -> str:
    """CSV for review; fines carry what the CJIB delivery needs. Every exported registration is logged."""
    _texts(category=category, feitcode=feitcode, kind=kind)
    _ids(beat_id=beat_id, boa_id=boa_id)
    filters = repo.Filters(
        since=since,
        until=until,
        beat_id=beat_id,
        category=category,
        feitcode=feitcode,
        boa_id=boa_id,
        kind=kind,
        limit=100_000,
    )
    return documents.review_csv(await _export(request, principal, filters, "csv"))


@get("/api/reports/gir.csv", tags=["review"], media_type="text/csv")
async def export_gir(
    request: AnyRequest,
    principal: NamedDependency[Principal],
    since: FromQuery[datetime | None] = None,
    until: FromQuery[datetime | None] = None,
) -> str:
    """Aggression incidents for the gemeente's GIR registration."""
    filters = repo.Filters(since=since, until=until, kind="aggression", limit=100_000)
    return documents.gir_csv(await _export(request, principal, filters, "gir"))


def _month(month: str) -> tuple[datetime, datetime]:
    try:
        start = datetime.strptime(month, "%Y-%m").replace(tzinfo=validation.LOCAL)
    except ValueError:
        raise BadInput("maand als JJJJ-MM", field="month") from None
    if not 2000 <= start.year <= 2200:
        raise BadInput("maand buiten 2000–2200", field="month")
    end = (start + timedelta(days=32)).replace(day=1)
    return start.astimezone(UTC), end.astimezone(UTC)


async def _overview(request: AnyRequest, principal: Principal, month: str) -> Overview:
    require_role(principal, LEADS)
    since, until = _month(month)
    async with services_of(request).pool.acquire() as conn:
        return Overview(month=month, rows=await repo.overview(conn, principal.org_id, since, until))


@get("/api/reports/overview", tags=["review"])
async def monthly_overview(
    request: AnyRequest, principal: NamedDependency[Principal], month: FromQuery[str]
) -> Overview:
    """Counts per beat and category for one month (active registrations), for the gemeente's policy."""
    return await _overview(request, principal, month)


@get("/api/reports/overview.html", tags=["review"], media_type=MediaType.HTML)
async def monthly_overview_html(
    request: AnyRequest, principal: NamedDependency[Principal], month: FromQuery[str]
) -> str:
    """The same as a page with an inline SVG bar chart."""
    return documents.overview_html(month, (await _overview(request, principal, month)).rows)


# --- privacy: the audit log and access requests ------------------------------------------------------------


@get("/api/audit", tags=["privacy"])
async def search_audit(
    request: AnyRequest,
    principal: NamedDependency[Principal],
    actor_id: FromQuery[int | None] = None,
    action: FromQuery[str | None] = None,
    object_type: FromQuery[str | None] = None,
    object_id: FromQuery[str | None] = None,
    since: FromQuery[datetime | None] = None,
    until: FromQuery[datetime | None] = None,
    limit: FromQuery[int] = 200,
) -> list[audit.Entry]:
    require_role(principal, PRIVACY)
    _texts(action=action, object_type=object_type, object_id=object_id)
    _ids(actor_id=actor_id)
    async with services_of(request).pool.acquire() as conn:
        return await audit.search(
            conn,
            org_ids=[principal.org_id],
            actor_id=actor_id,
            action=action,
            object_type=object_type,
            object_id=object_id,
            since=since,
            until=until,
            limit=max(1, min(limit, 5000)),
        )


@post("/api/inzage", tags=["privacy"], status_code=200)
async def access_request(
    request: AnyRequest, data: JSONBody[AccessRequest], principal: NamedDependency[Principal]
) -> AccessAnswer:
    """Answer an inzageverzoek: the person's registrations and their disclosures of the past 4 years."""
    require_role(principal, PRIVACY)
    async with services_of(request).pool.acquire() as conn, conn.transaction():
        found = await repo.of_person(conn, principal.org_id, data.name, data.birth_date)
        since = _now() - timedelta(days=4 * 366)
        disclosures = await audit.disclosures_of(conn, [str(r.id) for r in found], since)
        await audit.record(
            conn,
            principal=principal,
            action="inzage",
            object_type="person",
            object_id=None,
            origin=_origin(request, principal),
            reason=data.reason,
            details={"registrations": [str(r.id) for r in found]},
        )
    return AccessAnswer(registrations=found, disclosures=disclosures)


ROUTES = [
    submit_registration,
    observation_categories,
    add_observation_category,
    put_photo,
    missing_photos,
    get_photo,
    feitcodes,
    list_catalogues,
    upload_catalogue,
    import_zones,
    list_registrations,
    get_registration,
    registration_versions,
    receipt,
    correct_registration,
    void_registration,
    export_registrations,
    export_gir,
    monthly_overview,
    monthly_overview_html,
    search_audit,
    access_request,
]
