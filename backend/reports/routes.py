"""Reports over HTTP: the review and GIR CSV exports and the monthly overview (every export is logged)."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

import asyncpg
import msgspec
from litestar import MediaType, Router, get
from litestar.di import NamedDependency
from litestar.params import FromQuery
from litestar.response import Response, Template

from backend import request_input as req
from backend.auth.guards import requires
from backend.auth.tokens import Principal
from backend.params import QueryId
from backend.privacy import audit
from backend.registrations import repository as reg_repo
from backend.reports import area, area_export, documents
from backend.reports import repository as repo
from backend.reports.months import parse_month
from backend.request_input import AnyRequest

LEADS = ("teamlead", "admin")


class Overview(msgspec.Struct, frozen=True, kw_only=True):
    month: str
    rows: list[repo.OverviewRow]


async def _export(
    pool: asyncpg.Pool, request: AnyRequest, principal: Principal, filters: reg_repo.Filters, what: str
) -> tuple[list[reg_repo.Registration], repo.ExportNames]:
    async with pool.acquire() as conn, conn.transaction():
        found = await reg_repo.list_visible(conn, principal, filters)
        await audit.record_many(
            conn,
            principal=principal,
            action=f"export_{what}",
            object_type="registration",
            object_ids=[str(r.id) for r in found],
            origin=req.origin(request, principal),
            reason=req.reason(request),
            org_id=principal.org_id,
        )
        names = await repo.export_names(conn, principal.org_id, found)
    return found, names


@get("/registrations.csv", media_type="text/csv; charset=utf-8")
async def export_registrations(
    request: AnyRequest,
    principal: NamedDependency[Principal],
    pool: NamedDependency[asyncpg.Pool],
    since: FromQuery[datetime | None] = None,
    until: FromQuery[datetime | None] = None,
    beat_id: QueryId = None,
    category: FromQuery[str | None] = None,
    feitcode: FromQuery[str | None] = None,
    boa_id: QueryId = None,
    kind: FromQuery[str | None] = None,
) -> str:
    """CSV for review; fines carry what the CJIB delivery needs. Every exported registration is logged."""
    req.texts(category=category, feitcode=feitcode, kind=kind)
    req.times(since=since, until=until)
    filters = reg_repo.Filters(
        since=since,
        until=until,
        beat_id=beat_id,
        category=category,
        feitcode=feitcode,
        boa_id=boa_id,
        kind=kind,
        limit=100_000,
    )
    return documents.review_csv(*await _export(pool, request, principal, filters, "csv"))


@get("/gir.csv", media_type="text/csv; charset=utf-8")
async def export_gir(
    request: AnyRequest,
    principal: NamedDependency[Principal],
    pool: NamedDependency[asyncpg.Pool],
    since: FromQuery[datetime | None] = None,
    until: FromQuery[datetime | None] = None,
) -> str:
    """Aggression incidents for the gemeente's GIR registration."""
    req.times(since=since, until=until)
    filters = reg_repo.Filters(since=since, until=until, kind="aggression", limit=100_000)
    return documents.gir_csv(*await _export(pool, request, principal, filters, "gir"))


def _month(month: str) -> tuple[datetime, datetime]:
    return parse_month(month).bounds()


async def _overview(pool: asyncpg.Pool, principal: Principal, month: str) -> Overview:
    since, until = _month(month)
    async with pool.acquire() as conn:
        return Overview(month=month, rows=await repo.overview(conn, principal.org_id, since, until))


@get("/overview")
async def monthly_overview(
    principal: NamedDependency[Principal], pool: NamedDependency[asyncpg.Pool], month: FromQuery[str]
) -> Overview:
    """Counts per beat and category for one month (active registrations), for the gemeente's policy."""
    return await _overview(pool, principal, month)


@get("/overview.html", media_type=MediaType.HTML)
async def monthly_overview_html(
    principal: NamedDependency[Principal], pool: NamedDependency[asyncpg.Pool], month: FromQuery[str]
) -> Template:
    """The same as a page with an inline SVG bar chart."""
    context = documents.overview_context(month, (await _overview(pool, principal, month)).rows)
    return Template(template_name=documents.OVERVIEW_TEMPLATE, context=context)


async def _area(pool: asyncpg.Pool, principal: Principal, month: str) -> area.AreaReport:
    async with pool.acquire() as conn:
        return await repo.area_report(conn, principal.org_id, month, datetime.now(UTC))


@get("/area")
async def area_report(
    principal: NamedDependency[Principal], pool: NamedDependency[asyncpg.Pool], month: FromQuery[str]
) -> area.AreaReport:
    """Rapportage per gebied: the month per beat and in total, and a twelve-month trend (docs/reports.md)."""
    return await _area(pool, principal, month)


@get("/area.csv", media_type="text/csv; charset=utf-8")
async def area_report_csv(
    principal: NamedDependency[Principal], pool: NamedDependency[asyncpg.Pool], month: FromQuery[str]
) -> Response[str]:
    """The area report for Excel: semicolons, UTF-8 with BOM, Dutch labels and decimal commas."""
    body = area_export.area_csv(await _area(pool, principal, month))
    return Response(
        body, media_type="text/csv; charset=utf-8", headers=_attachment(f"rapportage-{month}.csv")
    )


@get("/area.pdf", media_type="application/pdf")
async def area_report_pdf(
    principal: NamedDependency[Principal], pool: NamedDependency[asyncpg.Pool], month: FromQuery[str]
) -> Response[bytes]:
    """The area report for the gemeenteraad: title page, per-beat table, trend chart, definitions."""
    report = await _area(pool, principal, month)
    body = await asyncio.to_thread(area_export.area_pdf, report)  # a few hundred ms of drawing: off the loop
    return Response(body, media_type="application/pdf", headers=_attachment(f"rapportage-{month}.pdf"))


def _attachment(filename: str) -> dict[str, str]:
    return {"Content-Disposition": f'attachment; filename="{filename}"'}


router = Router(
    path="/api/reports",
    tags=["review"],
    guards=[requires(*LEADS)],  # exports hold personal data: team leads and admins only
    route_handlers=[
        export_registrations,
        export_gir,
        monthly_overview,
        monthly_overview_html,
        area_report,
        area_report_csv,
        area_report_pdf,
    ],
)
