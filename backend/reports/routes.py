"""Reports over HTTP: the review and GIR CSV exports and the monthly overview (every export is logged)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import msgspec
from litestar import MediaType, get
from litestar.di import NamedDependency
from litestar.params import FromQuery
from litestar.response import Template

from backend import request_input as req
from backend.auth.guards import require_role, services_of
from backend.auth.tokens import Principal
from backend.errors import BadInput
from backend.privacy import audit
from backend.registrations import repository as reg_repo
from backend.registrations import validation
from backend.reports import documents
from backend.reports import repository as repo
from backend.request_input import AnyRequest

LEADS = ("teamlead", "admin")


class Overview(msgspec.Struct, frozen=True, kw_only=True):
    month: str
    rows: list[repo.OverviewRow]


async def _export(
    request: AnyRequest, principal: Principal, filters: reg_repo.Filters, what: str
) -> list[reg_repo.Registration]:
    require_role(principal, LEADS)
    async with services_of(request).pool.acquire() as conn, conn.transaction():
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
    req.texts(category=category, feitcode=feitcode, kind=kind)
    req.ids(beat_id=beat_id, boa_id=boa_id)
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
    return documents.review_csv(await _export(request, principal, filters, "csv"))


@get("/api/reports/gir.csv", tags=["review"], media_type="text/csv")
async def export_gir(
    request: AnyRequest,
    principal: NamedDependency[Principal],
    since: FromQuery[datetime | None] = None,
    until: FromQuery[datetime | None] = None,
) -> str:
    """Aggression incidents for the gemeente's GIR registration."""
    filters = reg_repo.Filters(since=since, until=until, kind="aggression", limit=100_000)
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
) -> Template:
    """The same as a page with an inline SVG bar chart."""
    rows = (await _overview(request, principal, month)).rows
    return Template(template_name=documents.OVERVIEW_TEMPLATE, context=documents.overview_context(month, rows))


ROUTES = [export_registrations, export_gir, monthly_overview, monthly_overview_html]
