"""Retention over HTTP: the periods (read: admin and privacy officer; set: admin), a dry run that shows what
a pass would archive and delete, a pass run now, and the passes run so far (from the audit log).

A pass is the same one the nightly job and ``schakel retention run`` make (``retention.run``): it covers every
organisation, as the nightly one does, but what a preview lists and a run answers is only the caller's.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Any

import asyncpg
import msgspec
from litestar import Router, get, post, put
from litestar.di import NamedDependency
from litestar.params import FromPath, JSONBody

from backend import request_input as req
from backend.auth.guards import requires
from backend.auth.tokens import Principal
from backend.db.pool import Conn
from backend.errors import BadInput, Conflict, NotFound
from backend.privacy import audit, retention
from backend.privacy import repository as repo
from backend.request_input import AnyRequest
from backend.settings import Settings

Period = Annotated[str, msgspec.Meta(min_length=1, max_length=40, pattern=r"^[0-9a-z ]+$")]
REGIMES = ("avg", "wpg8", "wpg9")


class PeriodChange(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    archive_after: Period
    delete_after: Period
    listed_for: Period | None = None  # None or "none": no listing limit


class PassRequest(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    now: Annotated[datetime, msgspec.Meta(tz=True)] | None = (
        None  # evaluate at another moment (a preview of a later night); default now
    )


class Affected(msgspec.Struct, frozen=True, kw_only=True):
    id: uuid.UUID
    kind: str
    regime: str
    received_at: datetime


class PassResult(msgspec.Struct, frozen=True, kw_only=True):
    dry_run: bool
    at: datetime
    archived: list[Affected]  # the caller's organisation's registrations
    deleted: list[Affected]
    photos_deleted: int
    total_archived: int  # every organisation's, as the pass counts them
    total_deleted: int


class PastRun(msgspec.Struct, frozen=True, kw_only=True):
    id: int
    at: datetime
    actor_id: int | None
    actor_name: str | None  # None: the nightly job or `schakel retention run`
    origin: str
    archived: int
    deleted: int
    photos_deleted: int


async def _interval(conn: Conn, value: str, field: str) -> str:
    """A positive PostgreSQL interval ('5 years', '18 months'), or a 400 naming the field."""
    try:
        positive = await conn.fetchval("SELECT $1::text::interval > interval '0'", value)
    except (asyncpg.DataError, asyncpg.InvalidTextRepresentationError):
        raise BadInput(f"not a period (e.g. '5 years', '18 months'): {value!r}", field=field) from None
    if not positive:
        raise BadInput("a period must be longer than zero", field=field)
    return value


@get("/periods", guards=[requires("admin", "privacy_officer")])
async def periods(pool: NamedDependency[asyncpg.Pool]) -> list[repo.RetentionPeriod]:
    async with pool.acquire() as conn:
        return await repo.retention_periods(conn)


@put("/periods/{regime:str}", guards=[requires("admin")])
async def set_period(
    request: AnyRequest,
    regime: FromPath[str],
    data: JSONBody[PeriodChange],
    principal: NamedDependency[Principal],
    pool: NamedDependency[asyncpg.Pool],
) -> list[repo.RetentionPeriod]:
    if regime not in REGIMES:
        raise NotFound(f"no regime {regime[:20]!r}: one of {', '.join(REGIMES)}", field="regime")
    async with pool.acquire() as conn, conn.transaction():
        archive_after = await _interval(conn, data.archive_after, "archive_after")
        delete_after = await _interval(conn, data.delete_after, "delete_after")
        listed_for = None if data.listed_for in (None, "none") else data.listed_for
        if listed_for is not None:
            await _interval(conn, listed_for, "listed_for")
        before = {p.regime: p for p in await repo.retention_periods(conn)}[regime]
        await repo.set_retention_period(
            conn, regime, listed_for=listed_for, archive_after=archive_after, delete_after=delete_after
        )
        after = await repo.retention_periods(conn)
        await audit.record(
            conn, principal=principal, action="retention_config", object_type="retention", object_id=regime,
            origin=req.origin(request, principal),
            details={"before": msgspec.to_builtins(before),
                     "after": msgspec.to_builtins({p.regime: p for p in after}[regime])},
        )  # fmt: skip
    return after


async def _own(conn: Conn, ids: list[uuid.UUID], org_id: int) -> list[Affected]:
    rows = await conn.fetch(
        """SELECT id, kind, regime, received_at FROM registrations
           WHERE id = ANY($1::uuid[]) AND org_id = $2 ORDER BY received_at""",
        ids,
        org_id,
    )
    return [Affected(**dict(r)) for r in rows]


@post("/preview", status_code=200, guards=[requires("admin", "privacy_officer")])
async def preview(
    data: JSONBody[PassRequest], principal: NamedDependency[Principal], pool: NamedDependency[asyncpg.Pool]
) -> PassResult:
    """What a pass at `now` would archive and delete; nothing changes (the pass runs and is rolled back)."""
    now = data.now or req.now()
    req.times(now=now)
    async with pool.acquire() as conn:
        tx = conn.transaction()
        await tx.start()
        try:
            # the rows a pass deletes are gone inside it: read the caller's candidates first
            archived_now = await conn.fetch(
                "SELECT id FROM registrations WHERE org_id = $1 AND state = 'archived'", principal.org_id
            )
            result = await repo.run_retention(conn, now)
            archived = await _own(conn, result.archived, principal.org_id)
        finally:
            await tx.rollback()
        gone = set(result.deleted)
        deleted = await _own(conn, [r["id"] for r in archived_now if r["id"] in gone], principal.org_id)
    return PassResult(
        dry_run=True, at=now, archived=archived, deleted=deleted, photos_deleted=len(result.photos_deleted),
        total_archived=len(result.archived), total_deleted=len(result.deleted),
    )  # fmt: skip


@post("/run", status_code=200, guards=[requires("admin", "privacy_officer")])
async def run_now(
    request: AnyRequest,
    principal: NamedDependency[Principal],
    pool: NamedDependency[asyncpg.Pool],
    settings: NamedDependency[Settings],
) -> PassResult:
    """Run the retention pass now (what the nightly job would do at this moment)."""
    now = req.now()
    async with pool.acquire() as conn:
        if not await conn.fetchval("SELECT pg_try_advisory_lock($1)", retention.LOCK_KEY):
            raise Conflict("a retention pass is running; try again in a minute", field="run")
        try:
            before = await conn.fetch(
                """SELECT id, kind, regime, received_at FROM registrations
                   WHERE org_id = $1 AND state = 'archived'""",
                principal.org_id,
            )
            result = await retention.run(
                conn, settings.uploads_dir, now, principal=principal, origin=req.origin(request, principal)
            )
            archived = await _own(conn, result.archived, principal.org_id)
        finally:
            await conn.execute("SELECT pg_advisory_unlock($1)", retention.LOCK_KEY)
    gone = set(result.deleted)
    deleted = [Affected(**dict(r)) for r in before if r["id"] in gone]
    return PassResult(
        dry_run=False, at=now, archived=archived, deleted=deleted, photos_deleted=len(result.photos_deleted),
        total_archived=len(result.archived), total_deleted=len(result.deleted),
    )  # fmt: skip


@get("/runs", guards=[requires("admin", "privacy_officer")])
async def past_runs(
    principal: NamedDependency[Principal], pool: NamedDependency[asyncpg.Pool]
) -> list[PastRun]:
    """The last 50 passes (nightly, by command or from this page), newest first."""
    async with pool.acquire() as conn:
        rows = await conn.fetch(
            """SELECT l.id, l.at, l.actor_id, a.username AS actor_name, l.origin, l.details
               FROM audit_log l LEFT JOIN accounts a ON a.id = l.actor_id
               WHERE l.action = 'retention' AND (l.org_id IS NULL OR l.org_id = $1)
               ORDER BY l.id DESC LIMIT 50""",
            principal.org_id,
        )
    runs = []
    for r in rows:
        details: Any = r["details"]
        if isinstance(details, str):
            details = msgspec.json.decode(details)
        runs.append(
            PastRun(
                id=r["id"],
                at=r["at"],
                actor_id=r["actor_id"],
                actor_name=r["actor_name"],
                origin=r["origin"],
                archived=int(details.get("archived", 0)),
                deleted=int(details.get("deleted", 0)),
                photos_deleted=int(details.get("photos_deleted", 0)),
            )  # fmt: skip
        )
    return runs


router = Router(
    path="/api/retention", tags=["privacy"], route_handlers=[periods, set_period, preview, run_now, past_runs]
)
