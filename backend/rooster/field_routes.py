"""The published rooster in the field: a boa's own shifts (tablet) and planned against actual (console).

`GET /api/me/rooster?from=&days=`: the caller's published shifts with partner, beat and times (a boa on his
tablet; a team lead planned himself sees his too). `GET /api/rooster/planned-now`: the planned duos running or
due within the hour in the gemeenten the caller sees (an operator: his meldkamer's gemeenten; a team lead:
his gemeente), who is late, which partner is missing, and running shifts no planned duo accounts for.
"""

from __future__ import annotations

from datetime import date
from typing import Annotated

import asyncpg
from litestar import Router, get
from litestar.di import NamedDependency
from litestar.params import Parameter, QueryParameter

from backend import request_input as req
from backend.auth.guards import requires
from backend.auth.tokens import Principal
from backend.errors import BadInput
from backend.rooster import published
from shared.rooster import PlannedShiftView, PlannedVsActual

MAX_DAYS = 62
FromDay = Annotated[date | None, QueryParameter(name="from", description="first day (default today)")]
Days = Annotated[int, Parameter(ge=1, le=MAX_DAYS, description="how many days (default 14)")]


@get("/api/me/rooster", guards=[requires("boa", "teamlead")])
async def my_rooster(
    principal: NamedDependency[Principal],
    pool: NamedDependency[asyncpg.Pool],
    from_day: FromDay = None,
    days: Days = 14,
) -> list[PlannedShiftView]:
    """The caller's own published shifts on [from, from + days), by start."""
    start = from_day or published.local_today(req.now())
    if not date(2000, 1, 1) <= start <= date(9000, 1, 1):
        raise BadInput("dag buiten het bereik", field="from")
    async with pool.acquire() as conn:
        return await published.boa_shifts(conn, principal.account_id, start, days)


@get("/api/rooster/planned-now", guards=[requires("operator", "teamlead", "admin")])
async def planned_now(
    principal: NamedDependency[Principal], pool: NamedDependency[asyncpg.Pool]
) -> PlannedVsActual:
    """Planned duos against the running shifts, now, in the gemeenten the caller sees."""
    async with pool.acquire() as conn:
        return await published.planned_vs_actual(conn, sorted(principal.visible_org_ids), req.now())


router = Router(path="/", tags=["rooster"], route_handlers=[my_rooster, planned_now])
