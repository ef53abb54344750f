"""The published rooster as downloads and as a boa's calendar feed.

``GET /api/rooster/plans/{id}/rooster.csv`` and ``.pdf``: the latest published version of a plan, for the team
lead or an administrator of its gemeente (every export is in the audit log; another gemeente's plan is a 404,
logged as ``denied`` in that gemeente's log). ``POST /api/rooster/feeds/{account_id}`` issues a boa's feed URL
(shown once; only its sha256 is stored) and ``DELETE`` revokes it; ``GET /rooster/feed/{secret}.ics`` is what
a calendar app fetches, without a login header: the secret in the URL is the credential (an unknown or revoked
one is a 404). The published tables (migration 0017) are read with this module's own SQL.
"""

from __future__ import annotations

import asyncio
from datetime import UTC, date, datetime, timedelta

import asyncpg
import msgspec
from litestar import Response, Router, delete, get, post
from litestar.di import NamedDependency
from litestar.params import FromPath

from backend import request_input as req
from backend.auth.guards import requires
from backend.auth.tokens import Principal
from backend.db.pool import Conn
from backend.errors import Forbidden, NotFound
from backend.openapi import errors
from backend.orgs.repository import new_secret, secret_hash
from backend.params import PathId
from backend.privacy import audit
from backend.request_input import AnyRequest
from backend.rooster.export import FeedVersion, PlanExport, PlanRow, boa_calendar, plan_csv, plan_pdf

FEED_PAST_DAYS = 62  # a feed holds the shifts of plans that ended at most this long ago, and every later one
FEED_PATH = "/rooster/feed"
LEADS = requires("teamlead", "admin")


class IssuedFeed(msgspec.Struct, frozen=True, kw_only=True):
    account_id: int
    url: str  # shown once: the server keeps only its hash
    secret: str


# -- SQL -----------------------------------------------------------------------------------------------------


class _Plan(msgspec.Struct, frozen=True, kw_only=True):
    id: int
    org_id: int
    org_name: str
    name: str
    start: date
    days: int


async def _plan(conn: Conn, plan_id: int) -> _Plan | None:
    row = await conn.fetchrow(
        """SELECT p.id, p.org_id, o.name AS org_name, p.name, p.start_day, p.days
             FROM rooster_plans p JOIN organisations o ON o.id = p.org_id WHERE p.id = $1""",
        plan_id,
    )
    if row is None:
        return None
    return _Plan(
        id=row["id"],
        org_id=row["org_id"],
        org_name=row["org_name"],
        name=row["name"],
        start=row["start_day"],
        days=row["days"],
    )


async def _latest_version(conn: Conn, plan_id: int) -> tuple[int, int, datetime] | None:
    row = await conn.fetchrow(
        """SELECT id, number, published_at FROM rooster_versions WHERE plan_id = $1
            ORDER BY number DESC LIMIT 1""",
        plan_id,
    )
    return None if row is None else (row["id"], row["number"], row["published_at"])


async def _version_rows(conn: Conn, plan_id: int, version_id: int) -> list[PlanRow]:
    rows = await conn.fetch(
        """SELECT va.account_id, a.display_name, va.day, st.code, st.name AS shift_name, st.start_minute,
                  st.duration_minutes, b.code AS beat_code, b.name AS beat_name, va.duo
             FROM rooster_version_assignments va
             JOIN accounts a ON a.id = va.account_id
             JOIN rooster_shift_types st ON st.id = va.shift_type_id
             JOIN beats b ON b.id = va.beat_id
            WHERE va.version_id = $1
            ORDER BY va.day, st.start_minute, b.code, va.duo, a.display_name""",
        version_id,
    )
    return [
        PlanRow(
            plan_id=plan_id,
            staff_id=r["account_id"],
            staff_name=r["display_name"],
            day=r["day"],
            shift_code=r["code"],
            shift_name=r["shift_name"],
            start_minute=r["start_minute"],
            duration_minutes=r["duration_minutes"],
            beat_code=r["beat_code"],
            beat_name=r["beat_name"],
            duo=r["duo"],
        )
        for r in rows
    ]


async def _org_boas(conn: Conn, org_id: int) -> list[tuple[int, str]]:
    rows = await conn.fetch(
        """SELECT id, display_name FROM accounts WHERE org_id = $1 AND role = 'boa' AND active
            ORDER BY display_name""",
        org_id,
    )
    return [(r["id"], r["display_name"]) for r in rows]


async def _feed_owner(conn: Conn, secret: str) -> asyncpg.Record | None:
    return await conn.fetchrow(
        """UPDATE rooster_feed_keys k SET last_used_at = now()
             FROM accounts a JOIN organisations o ON o.id = a.org_id
            WHERE k.secret_hash = $1 AND a.id = k.account_id AND a.active
        RETURNING a.id, a.display_name, a.org_id, o.name AS org_name""",
        secret_hash(secret),
    )


async def _feed_versions(conn: Conn, org_id: int, account_id: int, today: date) -> list[FeedVersion]:
    """The latest version of each of the gemeente's plans that has the boa in it and has not long ended."""
    plans = await conn.fetch(
        """SELECT DISTINCT ON (p.id) p.id, p.name, v.id AS version_id, v.number, v.published_at
             FROM rooster_plans p JOIN rooster_versions v ON v.plan_id = p.id
            WHERE p.org_id = $1 AND p.start_day + p.days >= $2
            ORDER BY p.id, v.number DESC""",
        org_id,
        today - timedelta(days=FEED_PAST_DAYS),
    )
    out = []
    for p in plans:
        rows = await _version_rows(conn, p["id"], p["version_id"])
        if any(r.staff_id == account_id for r in rows):
            out.append(
                FeedVersion(
                    plan_id=p["id"],
                    plan_name=p["name"],
                    version=p["number"],
                    published_at=p["published_at"],
                    rows=rows,
                )
            )
    return out


# -- the downloads -------------------------------------------------------------------------------------------


async def _export(
    pool: asyncpg.Pool, request: AnyRequest, principal: Principal, plan_id: int, what: str
) -> PlanExport:
    action = f"export_rooster_{what}"
    async with pool.acquire() as conn:
        plan = await _plan(conn, plan_id)
        if plan is None or not principal.can_see_org(plan.org_id):
            await audit.record_refused(  # its own statement: the refusal stays logged after the 404
                conn,
                principal=principal,
                action=action,
                object_type="rooster_plan",
                object_id=str(plan_id),
                owner_org_ids=[] if plan is None else [plan.org_id],
                origin=req.origin(request, principal),
                reason=req.reason(request),
            )
            raise NotFound("rooster niet gevonden", field="plan_id")
        async with conn.transaction():
            return await _export_version(conn, request, principal, plan, action)


async def _export_version(
    conn: Conn, request: AnyRequest, principal: Principal, plan: _Plan, action: str
) -> PlanExport:
    plan_id = plan.id
    version = await _latest_version(conn, plan_id)
    if version is None:
        raise NotFound("dit rooster heeft nog geen gepubliceerde versie", field="plan_id")
    version_id, number, published_at = version
    rows = await _version_rows(conn, plan_id, version_id)
    await audit.record(
        conn,
        principal=principal,
        action=action,
        object_type="rooster_plan",
        object_id=str(plan_id),
        origin=req.origin(request, principal),
        reason=req.reason(request),
        org_id=plan.org_id,
        details={"version": number, "rows": len(rows)},
    )
    boas = await _org_boas(conn, plan.org_id)
    return PlanExport(
        org_name=plan.org_name,
        plan_id=plan.id,
        plan_name=plan.name,
        start=plan.start,
        days=plan.days,
        version=number,
        published_at=published_at,
        rows=rows,
        boas=boas,
    )


def _attachment(filename: str) -> dict[str, str]:
    return {"Content-Disposition": f'attachment; filename="{filename}"'}


@get(
    "/plans/{plan_id:int}/rooster.csv",
    media_type="text/csv; charset=utf-8",
    guards=[LEADS],
    responses=errors(404),
)
async def plan_csv_download(
    request: AnyRequest,
    principal: NamedDependency[Principal],
    pool: NamedDependency[asyncpg.Pool],
    plan_id: PathId,
) -> Response[str]:
    """The latest published version for Excel: semicolons, UTF-8 with BOM, Dutch headers, local times."""
    export = await _export(pool, request, principal, plan_id, "csv")
    return Response(
        plan_csv(export),
        media_type="text/csv; charset=utf-8",
        headers=_attachment(f"rooster-{plan_id}-v{export.version}.csv"),
    )


@get("/plans/{plan_id:int}/rooster.pdf", media_type="application/pdf", guards=[LEADS], responses=errors(404))
async def plan_pdf_download(
    request: AnyRequest,
    principal: NamedDependency[Principal],
    pool: NamedDependency[asyncpg.Pool],
    plan_id: PathId,
) -> Response[bytes]:
    """The latest published version as a four-week grid per boa (A4 landscape)."""
    export = await _export(pool, request, principal, plan_id, "pdf")
    body = await asyncio.to_thread(
        plan_pdf, export
    )  # drawing 185 boa's grids: off the loop, like the area PDF
    return Response(
        body,
        media_type="application/pdf",
        headers=_attachment(f"rooster-{plan_id}-v{export.version}.pdf"),
    )


# -- the feed ------------------------------------------------------------------------------------------------


async def _feed_account(
    conn: Conn, request: AnyRequest, principal: Principal, account_id: int, action: str
) -> int:
    """The account whose feed is issued or revoked: a boa's own, or one of the team lead's gemeente."""
    org_id = await conn.fetchval("SELECT org_id FROM accounts WHERE id = $1", account_id)
    if principal.role == "boa":
        if account_id != principal.account_id:
            raise Forbidden("a boa manages only his own calendar feed", field="account_id")
        return int(org_id)
    if org_id is None or not principal.can_see_org(org_id):
        await audit.record_refused(
            conn,
            principal=principal,
            action=action,
            object_type="account",
            object_id=str(account_id),
            owner_org_ids=[] if org_id is None else [org_id],
            origin=req.origin(request, principal),
            reason=req.reason(request),
        )
        raise NotFound("account niet gevonden", field="account_id")
    return int(org_id)


@post(
    "/feeds/{account_id:int}",
    status_code=201,
    guards=[requires("teamlead", "admin", "boa")],
    responses=errors(403, 404),
)
async def issue_feed(
    request: AnyRequest,
    principal: NamedDependency[Principal],
    pool: NamedDependency[asyncpg.Pool],
    account_id: PathId,
) -> IssuedFeed:
    """A new secret feed URL for the boa's calendar app (shown once; issuing again stops the old URL)."""
    secret = new_secret()
    async with pool.acquire() as conn:
        org_id = await _feed_account(conn, request, principal, account_id, "rooster_feed_issue")
    async with pool.acquire() as conn, conn.transaction():
        await conn.execute(
            """INSERT INTO rooster_feed_keys (account_id, secret_hash, issued_by) VALUES ($1, $2, $3)
               ON CONFLICT (account_id) DO UPDATE
                  SET secret_hash = EXCLUDED.secret_hash, issued_by = EXCLUDED.issued_by, issued_at = now(),
                      last_used_at = NULL""",
            account_id,
            secret_hash(secret),
            principal.account_id,
        )
        await audit.record(
            conn,
            principal=principal,
            action="rooster_feed_issue",
            object_type="account",
            object_id=str(account_id),
            origin=req.origin(request, principal),
            reason=req.reason(request),
            org_id=org_id,
        )
    base = str(request.base_url).rstrip("/")
    return IssuedFeed(account_id=account_id, url=f"{base}{FEED_PATH}/{secret}.ics", secret=secret)


@delete(
    "/feeds/{account_id:int}",
    status_code=204,
    guards=[requires("teamlead", "admin", "boa")],
    responses=errors(403, 404),
)
async def revoke_feed(
    request: AnyRequest,
    principal: NamedDependency[Principal],
    pool: NamedDependency[asyncpg.Pool],
    account_id: PathId,
) -> None:
    """The feed URL stops working at once."""
    async with pool.acquire() as conn:
        org_id = await _feed_account(conn, request, principal, account_id, "rooster_feed_revoke")
    async with pool.acquire() as conn, conn.transaction():
        deleted = await conn.fetchval(
            "DELETE FROM rooster_feed_keys WHERE account_id = $1 RETURNING account_id", account_id
        )
        if deleted is None:
            raise NotFound("this account has no calendar feed", field="account_id")
        await audit.record(
            conn,
            principal=principal,
            action="rooster_feed_revoke",
            object_type="account",
            object_id=str(account_id),
            origin=req.origin(request, principal),
            reason=req.reason(request),
            org_id=org_id,
        )


@get(f"{FEED_PATH}/{{name:str}}", opt={"public": True}, media_type="text/calendar", responses=errors(404))
async def feed(
    request: AnyRequest, pool: NamedDependency[asyncpg.Pool], name: FromPath[str]
) -> Response[bytes]:
    """A boa's shifts as iCalendar (``<secret>.ics``): what a calendar app subscribes to, without a login."""
    secret = name.removesuffix(".ics")
    if not name.endswith(".ics") or not 20 <= len(secret) <= 100:
        raise NotFound("agenda-adres niet gevonden", field="secret")
    async with pool.acquire() as conn, conn.transaction():
        owner = await _feed_owner(conn, secret)
        if owner is None:
            raise NotFound("agenda-adres niet gevonden", field="secret")
        versions = await _feed_versions(conn, owner["org_id"], owner["id"], datetime.now(UTC).date())
        await audit.record(
            conn,
            principal=None,
            action="read_rooster_feed",
            object_type="account",
            object_id=str(owner["id"]),
            origin=audit.Origin(address=request.client.host if request.client else ""),
            org_id=owner["org_id"],
            details={"plans": [v.plan_id for v in versions]},
        )
    body = boa_calendar(owner["id"], owner["display_name"], owner["org_name"], versions)
    return Response(
        body,
        media_type="text/calendar; charset=utf-8",
        headers={"Content-Disposition": 'inline; filename="rooster.ics"', "Cache-Control": "no-store"},
    )


router = Router(
    path="/api/rooster",
    route_handlers=[plan_csv_download, plan_pdf_download, issue_feed, revoke_feed],
    tags=["rooster"],
)
feed_router = Router(path="/", route_handlers=[feed], tags=["rooster"])
