"""`/api/reports/alarm-response`: how fast safety alarms were acknowledged, per month, against BS 8484."""

from __future__ import annotations

from datetime import UTC, datetime

import asyncpg
from litestar import Router, get
from litestar.di import NamedDependency
from litestar.params import FromQuery
from litestar.response import Response

from backend.alarmreport import logic
from backend.alarmreport import repository as repo
from backend.auth.guards import requires
from backend.auth.tokens import Principal
from backend.reports.months import Month, parse_month


def _month(month: str) -> tuple[int, int]:
    parsed = parse_month(month, now=datetime.now(UTC))
    return parsed.year, parsed.month


@get("/alarm-response")
async def alarm_response(
    principal: NamedDependency[Principal], pool: NamedDependency[asyncpg.Pool], month: FromQuery[str]
) -> logic.Report:
    """The month and the rolling 12 months ending with it: shares within 10 s and 40 s, median and p90,
    per kind, and every alarm that missed 10 s. Only the caller's own organisation."""
    year, mon = _month(month)
    since, until = logic.rolling_bounds(year, mon)
    async with pool.acquire() as conn:
        alarms = await repo.safety_alarms(conn, principal.org_id, since, until)
    return logic.report(year, mon, alarms)


@get("/alarm-response.csv", media_type="text/csv; charset=utf-8")
async def alarm_response_csv(
    principal: NamedDependency[Principal], pool: NamedDependency[asyncpg.Pool], month: FromQuery[str]
) -> Response[bytes]:
    """Every safety alarm of the month with its acknowledgement time (semicolons, UTF-8 with BOM)."""
    year, mon = _month(month)
    since, until = logic.month_bounds(year, mon)
    async with pool.acquire() as conn:
        alarms = await repo.safety_alarms(conn, principal.org_id, since, until)
    filename = f"alarmopvolging-{Month(year, mon).key}.csv"
    return Response(
        logic.csv_document(alarms).encode("utf-8"),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="{filename}"'},
    )


router = Router(
    path="/api/reports",
    tags=["alarm-response"],
    guards=[requires("teamlead", "admin")],
    route_handlers=[alarm_response, alarm_response_csv],
)
