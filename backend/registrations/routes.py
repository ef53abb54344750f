"""Registrations over HTTP: submit, categories, reading, the receipt, and a team lead's review.

Bodies of submissions are decoded here with our own msgspec decoders (not Litestar's), so every error names
its field in the same way and the stored content is exactly what was decoded.
"""

from __future__ import annotations

import asyncio
import uuid
from datetime import datetime
from typing import Annotated, Any

import asyncpg
import msgspec
from litestar import MediaType, Response, Router, get, post
from litestar.di import NamedDependency
from litestar.openapi.datastructures import ResponseSpec
from litestar.params import FromPath, FromQuery, JSONBody
from litestar.response import Template

from backend import request_input as req
from backend.auth.guards import requires
from backend.auth.tokens import Principal
from backend.errors import BadInput, NotFound
from backend.live.hub import LiveHub
from backend.openapi import raw_body
from backend.params import QueryId
from backend.privacy import audit
from backend.registrations import kenmerk, service, validation
from backend.registrations import receipt as receipts
from backend.registrations import repository as repo
from backend.request_input import AnyRequest
from shared.registrations import (
    KINDS,
    Aggression,
    Correction,
    Submission,
    Void,
    decode_correction,
    decode_submission,
    decode_void,
)

TEAMLEAD = requires("teamlead")  # review is the team lead's, not the admin's
LISTED_STATES = ("active", "voided")  # archived ones are never listed


class ConflictBody(msgspec.Struct, frozen=True, kw_only=True):
    status_code: int = 409
    code: str = "conflict"
    detail: str
    field: str | None
    differences: list[str]


class RegistrationView(msgspec.Struct, frozen=True, kw_only=True):
    registration: repo.Registration
    deadline: validation.DeadlineStatus | None = None


@post(
    "/registrations",
    operation_class=raw_body(
        {"application/json": Submission}, description="A waarneming, fine or aggression incident (by kind)."
    ),
    responses={
        200: ResponseSpec(repo.Registration, description="A retry: this registration was stored before."),
        409: ResponseSpec(ConflictBody, description="The id holds a registration with other content."),
    },
)
async def submit_registration(
    request: AnyRequest,
    principal: NamedDependency[Principal],
    pool: NamedDependency[asyncpg.Pool],
    hub: NamedDependency[LiveHub],
) -> Response[Any]:
    """Register a waarneming, fine or aggression incident. 201 new, 200 a retry, 409 same id other content."""
    submission = decode_submission(await req.body(request))
    async with pool.acquire() as conn, conn.transaction():
        outcome = await service.submit(conn, principal, submission, hub.picture.beats, req.now())
        if outcome.registration is not None:
            await audit.record(
                conn,
                principal=principal,
                action="create" if outcome.created else "resubmit",
                object_type="registration",
                object_id=str(submission.id),
                origin=req.origin(request, principal),
            )
    if outcome.conflict is not None:
        detail = "dit id hoort bij een andere registratie; verschillen: " + ", ".join(outcome.conflict)
        body = ConflictBody(detail=detail, field=outcome.conflict[0], differences=outcome.conflict)
        return Response(body, status_code=409)
    return Response(outcome.registration, status_code=201 if outcome.created else 200)


@get("/observation-categories")
async def observation_categories(
    principal: NamedDependency[Principal], pool: NamedDependency[asyncpg.Pool]
) -> list[str]:
    async with pool.acquire() as conn:
        return await repo.categories(conn, principal.org_id)


class NewCategory(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    code: Annotated[str, msgspec.Meta(pattern=r"^[a-z_]{1,40}$")]
    label: Annotated[str, msgspec.Meta(min_length=1, max_length=100)]


@post("/observation-categories", status_code=201, guards=[requires("admin")])
async def add_observation_category(
    data: JSONBody[NewCategory], principal: NamedDependency[Principal], pool: NamedDependency[asyncpg.Pool]
) -> list[str]:
    """A gemeente's own waarneming category next to the default list."""
    async with pool.acquire() as conn:
        await repo.add_category(conn, principal.org_id, data.code, data.label)
        return await repo.categories(conn, principal.org_id)


@get("/registrations")
async def list_registrations(
    principal: NamedDependency[Principal],
    pool: NamedDependency[asyncpg.Pool],
    since: FromQuery[datetime | None] = None,
    until: FromQuery[datetime | None] = None,
    beat_id: QueryId = None,
    category: FromQuery[str | None] = None,
    feitcode: FromQuery[str | None] = None,
    boa_id: QueryId = None,
    kind: FromQuery[str | None] = None,
    status: FromQuery[str | None] = None,
    unit_id: QueryId = None,
    limit: FromQuery[int] = 200,
) -> list[repo.Summary]:
    """Summaries (no personal data) of what the caller may see, newest first. ``kind`` is waarneming, fine
    or aggression; ``status`` active or voided; aggression incidents say whether a team lead has seen them."""
    req.texts(category=category, feitcode=feitcode, kind=kind, status=status)
    req.times(since=since, until=until)
    if kind is not None and kind not in KINDS:
        raise BadInput(f"onbekende soort {kind!r} (waarneming, fine of aggression)", field="kind")
    if status is not None and status not in LISTED_STATES:
        raise BadInput(f"onbekende status {status!r} (active of voided)", field="status")
    if since is not None and until is not None and until <= since:
        raise BadInput("de periode eindigt voor ze begint", field="until")
    filters = repo.Filters(
        since=since,
        until=until,
        beat_id=beat_id,
        category=category,
        feitcode=feitcode,
        boa_id=boa_id,
        kind=kind,
        state=status,
        unit_id=unit_id,
        limit=max(1, min(limit, 1000)),
    )
    async with pool.acquire() as conn:
        found = await repo.list_visible(conn, principal, filters)
        seen = await repo.seen_ids(conn, [r.id for r in found if r.kind == "aggression"])
    return [repo.summary(r, r.id in seen) for r in found]


async def _read(
    pool: asyncpg.Pool, request: AnyRequest, principal: Principal, registration_id: uuid.UUID, action: str
) -> repo.Registration:
    """One registration the caller may see, with the read logged (also a refused one)."""
    async with pool.acquire() as conn, conn.transaction():
        found = await repo.get_visible(conn, principal, registration_id)
        if found is not None:
            await audit.record(
                conn,
                principal=principal,
                action=action,
                object_type="registration",
                object_id=str(registration_id),
                origin=req.origin(request, principal),
                reason=req.reason(request),
                org_id=found.org_id,
            )
        else:  # in the log of the gemeente whose registration it is, if it is anybody's
            await audit.record_refused(
                conn,
                principal=principal,
                action=action,
                object_type="registration",
                object_id=str(registration_id),
                owner_org_ids=await repo.owner_orgs(conn, registration_id),
                origin=req.origin(request, principal),
                reason=req.reason(request),
            )
    if found is None:
        raise NotFound("registratie niet gevonden")
    return found


@get("/registrations/{registration_id:uuid}")
async def get_registration(
    request: AnyRequest,
    registration_id: FromPath[uuid.UUID],
    principal: NamedDependency[Principal],
    pool: NamedDependency[asyncpg.Pool],
) -> RegistrationView:
    found = await _read(pool, request, principal, registration_id, "read")
    deadline = None
    if found.kind == "aggression":
        deadline = validation.deadline_status(msgspec.convert(found.details, Aggression), req.now())
    return RegistrationView(registration=found, deadline=deadline)


@get("/registrations/{registration_id:uuid}/versions")
async def registration_versions(
    request: AnyRequest,
    registration_id: FromPath[uuid.UUID],
    principal: NamedDependency[Principal],
    pool: NamedDependency[asyncpg.Pool],
) -> list[repo.Version]:
    await _read(pool, request, principal, registration_id, "read_versions")
    async with pool.acquire() as conn:
        return await repo.versions(conn, registration_id)


async def _receipt(
    pool: asyncpg.Pool, request: AnyRequest, principal: Principal, registration_id: uuid.UUID
) -> tuple[repo.Registration, receipts.ReceiptView]:
    found = await _read(pool, request, principal, registration_id, "print_receipt")
    if found.kind != "fine":
        raise BadInput("alleen een boete heeft een aankondiging", field="registration_id")
    async with pool.acquire() as conn:
        name = await conn.fetchval("SELECT name FROM organisations WHERE id = $1", found.org_id)
        buurten = await conn.fetchval(
            "SELECT coalesce(array_agg(name ORDER BY name), '{}') FROM beats WHERE id = ANY($1)",
            found.beat_ids,
        )
        code = await kenmerk.assign(conn, found.org_id, found.id, found.occurred_at)
        # the geocoder's nearest address, filled in after the registration was stored (docs/geocoding.md)
        looked_up = await conn.fetchval(
            "SELECT address_text FROM registrations WHERE id = $1 AND address_state = 'found'", found.id
        )
    return found, receipts.receipt_view(found, str(name), code, list(buurten), looked_up)


@get("/registrations/{registration_id:uuid}/receipt", media_type=MediaType.HTML)
async def receipt(
    request: AnyRequest,
    registration_id: FromPath[uuid.UUID],
    principal: NamedDependency[Principal],
    pool: NamedDependency[asyncpg.Pool],
) -> Template:
    """The printable aankondiging for a fine (HTML, Dutch)."""
    found, view = await _receipt(pool, request, principal, registration_id)
    return Template(template_name=receipts.TEMPLATE, context=receipts.receipt_context(view, found.state))


@get("/registrations/{registration_id:uuid}/receipt.pdf", media_type="application/pdf")
async def receipt_pdf(
    request: AnyRequest,
    registration_id: FromPath[uuid.UUID],
    principal: NamedDependency[Principal],
    pool: NamedDependency[asyncpg.Pool],
) -> Response[bytes]:
    """The aankondiging for a fine as a PDF (A5), to print or send."""
    _, view = await _receipt(pool, request, principal, registration_id)
    body = await asyncio.to_thread(receipts.receipt_pdf, view)  # drawing: off the loop the field shares
    return Response(
        body,
        media_type="application/pdf",
        headers={"Content-Disposition": f'inline; filename="aankondiging-{view.kenmerk}.pdf"'},
    )


@get("/registrations/{registration_id:uuid}/receipt.json")
async def receipt_json(
    request: AnyRequest,
    registration_id: FromPath[uuid.UUID],
    principal: NamedDependency[Principal],
    pool: NamedDependency[asyncpg.Pool],
) -> receipts.ReceiptView:
    """What the aankondiging says, for the tablet to show the offender (kenmerk, amount, place)."""
    _, view = await _receipt(pool, request, principal, registration_id)
    return view


@post("/registrations/{registration_id:uuid}/seen", tags=["review"], status_code=200, guards=[TEAMLEAD])
async def mark_seen(
    request: AnyRequest,
    registration_id: FromPath[uuid.UUID],
    principal: NamedDependency[Principal],
    pool: NamedDependency[asyncpg.Pool],
) -> repo.Seen:
    """A team lead has seen this aggression incident: it is no longer flagged as new (kept in the database,
    the first team lead and moment stay)."""
    found = await _read(pool, request, principal, registration_id, "mark_seen")
    if found.kind != "aggression":
        raise BadInput("alleen een agressie-incident wordt als gezien gemarkeerd", field="registration_id")
    async with pool.acquire() as conn:
        return await repo.mark_seen(conn, registration_id, principal.account_id)


@post(
    "/registrations/{registration_id:uuid}/correct",
    tags=["review"],
    status_code=200,
    guards=[TEAMLEAD],
    operation_class=raw_body({"application/json": Correction}, description="The full new content and why."),
)
async def correct_registration(
    request: AnyRequest,
    registration_id: FromPath[uuid.UUID],
    principal: NamedDependency[Principal],
    pool: NamedDependency[asyncpg.Pool],
    hub: NamedDependency[LiveHub],
) -> repo.Registration:
    """A team lead corrects a registration (full new content + reason); the previous version is kept."""
    correction = decode_correction(await req.body(request))
    async with pool.acquire() as conn, conn.transaction():
        current = await repo.get_visible(conn, principal, registration_id, for_update=True)
        if current is None:
            raise NotFound("registratie niet gevonden")
        await service.correct(
            conn,
            principal,
            current,
            correction.registration,
            correction.reason,
            hub.picture.beats,
            req.now(),
        )
        await audit.record(
            conn,
            principal=principal,
            action="correct",
            object_type="registration",
            object_id=str(registration_id),
            origin=req.origin(request, principal),
            reason=correction.reason,
        )
        return await repo.get_raw(conn, registration_id)  # type: ignore[return-value]


@post(
    "/registrations/{registration_id:uuid}/void",
    tags=["review"],
    status_code=200,
    guards=[TEAMLEAD],
    operation_class=raw_body({"application/json": Void}, description="Why the registration is void."),
)
async def void_registration(
    request: AnyRequest,
    registration_id: FromPath[uuid.UUID],
    principal: NamedDependency[Principal],
    pool: NamedDependency[asyncpg.Pool],
) -> repo.Registration:
    void = decode_void(await req.body(request))
    async with pool.acquire() as conn, conn.transaction():
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
            origin=req.origin(request, principal),
            reason=void.reason,
        )
        return await repo.get_raw(conn, registration_id)  # type: ignore[return-value]


router = Router(
    path="/api",
    tags=["registrations"],
    route_handlers=[
        submit_registration,
        observation_categories,
        add_observation_category,
        list_registrations,
        get_registration,
        registration_versions,
        receipt,
        receipt_pdf,
        receipt_json,
        mark_seen,
        correct_registration,
        void_registration,
    ],
)
