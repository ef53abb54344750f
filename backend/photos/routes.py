"""Photos over HTTP: upload by content hash, ask which are missing, read one (the read is logged)."""

from __future__ import annotations

import asyncio
import hashlib
from typing import Annotated

import asyncpg
import msgspec
from litestar import Response, Router, get, post, put
from litestar.di import NamedDependency
from litestar.openapi.datastructures import ResponseSpec
from litestar.params import FromPath, JSONBody

from backend import request_input as req
from backend.auth.guards import requires
from backend.auth.tokens import Principal
from backend.errors import BadInput, DomainError, NotFound, TooLarge
from backend.openapi import binary, errors, raw_body
from backend.photos import repository as repo
from backend.photos.storage import photo_path, write_durably
from backend.privacy import audit
from backend.registrations import service
from backend.request_input import AnyRequest
from backend.settings import Settings
from shared.registrations import Sha256

MAX_PHOTO_BYTES = 10 * 1024 * 1024
PHOTO_TYPES = {"image/jpeg": b"\xff\xd8\xff", "image/png": b"\x89PNG\r\n\x1a\n"}
_SHA = msgspec.json.Decoder(Sha256)


class UnsupportedType(DomainError):
    status_code = 415
    code = "unsupported_media_type"


class PhotoStatus(msgspec.Struct, frozen=True, kw_only=True):
    sha256: str
    stored: bool
    created: bool


class Hashes(msgspec.Struct, frozen=True, kw_only=True):
    hashes: Annotated[list[Sha256], msgspec.Meta(max_length=200)]


class Missing(msgspec.Struct, frozen=True, kw_only=True):
    missing: list[str]


def _check_sha(sha256: str) -> str:
    try:
        return _SHA.decode(msgspec.json.encode(sha256))
    except msgspec.ValidationError:
        raise BadInput("geen geldige sha256 (64 kleine hexadecimale tekens)", field="sha256") from None


@put(
    "/{sha256:str}",
    guards=[requires(*service.WRITERS)],
    operation_class=raw_body(
        {"image/jpeg": binary("a JPEG photo"), "image/png": binary("a PNG photo")},
        description="The photo's bytes; their sha256 is the one in the path.",
    ),
    responses={201: ResponseSpec(PhotoStatus, description="Stored now."), **errors(415)},
)
async def put_photo(
    request: AnyRequest,
    sha256: FromPath[str],
    principal: NamedDependency[Principal],
    pool: NamedDependency[asyncpg.Pool],
    settings: NamedDependency[Settings],
) -> Response[PhotoStatus]:
    """Upload a photo by the sha256 of its bytes; uploading a known hash again stores nothing new."""
    sha256 = _check_sha(sha256)
    content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if content_type not in PHOTO_TYPES:
        raise UnsupportedType("alleen JPEG of PNG", field="content-type")
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > MAX_PHOTO_BYTES:
        raise TooLarge(f"foto groter dan {MAX_PHOTO_BYTES // (1024 * 1024)} MB", field="body")
    async with pool.acquire() as conn:
        if await repo.photo_known(conn, principal.org_id, sha256):
            return Response(PhotoStatus(sha256=sha256, stored=True, created=False), status_code=200)
    data = await req.body(request, MAX_PHOTO_BYTES)
    if hashlib.sha256(data).hexdigest() != sha256:
        raise BadInput("de inhoud past niet bij de sha256 in het adres", field="sha256")
    if not data.startswith(PHOTO_TYPES[content_type]):
        raise UnsupportedType(f"de inhoud is geen {content_type}", field="body")
    await asyncio.to_thread(write_durably, photo_path(settings.uploads_dir, sha256), data)
    async with pool.acquire() as conn:
        created = await repo.insert_photo(
            conn, principal.org_id, sha256, len(data), content_type, principal.account_id
        )
    return Response(
        PhotoStatus(sha256=sha256, stored=True, created=created), status_code=201 if created else 200
    )


@post("/missing", status_code=200)
async def missing_photos(
    data: JSONBody[Hashes], principal: NamedDependency[Principal], pool: NamedDependency[asyncpg.Pool]
) -> Missing:
    """Which of these photos the server does not have yet (to resume an interrupted upload)."""
    async with pool.acquire() as conn:
        return Missing(missing=await repo.missing_photos(conn, principal.org_id, data.hashes))


@get("/{sha256:str}", media_type="application/octet-stream")
async def get_photo(
    request: AnyRequest,
    sha256: FromPath[str],
    principal: NamedDependency[Principal],
    pool: NamedDependency[asyncpg.Pool],
    settings: NamedDependency[Settings],
) -> Response[bytes]:
    sha256 = _check_sha(sha256)
    async with pool.acquire() as conn, conn.transaction():
        content_type = await repo.photo_content_type(conn, principal, sha256)
        if content_type is not None:
            await audit.record(
                conn,
                principal=principal,
                action="read",
                object_type="photo",
                object_id=sha256,
                origin=req.origin(request, principal),
                reason=req.reason(request),
            )
        else:  # in the log of every gemeente holding that photo
            await audit.record_refused(
                conn,
                principal=principal,
                action="read",
                object_type="photo",
                object_id=sha256,
                owner_org_ids=await repo.photo_owner_orgs(conn, sha256),
                origin=req.origin(request, principal),
                reason=req.reason(request),
            )
    if content_type is None:
        raise NotFound("foto niet gevonden")
    data = await asyncio.to_thread(photo_path(settings.uploads_dir, sha256).read_bytes)
    return Response(data, media_type=content_type)


router = Router(path="/api/photos", tags=["photos"], route_handlers=[put_photo, missing_photos, get_photo])
