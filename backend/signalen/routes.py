"""Signalen in Schakel's API: boa's observations for another department, the category mapping and the
worker's status (`/api/signalen`)."""

from __future__ import annotations

import msgspec
from litestar import Router, get, post, put
from litestar.di import NamedDependency
from litestar.openapi.datastructures import ResponseSpec
from litestar.params import JSONBody
from litestar.response import Response

from backend.auth.guards import requires
from backend.auth.tokens import Principal
from backend.errors import BadInput
from backend.services import Services
from backend.signalen import repository as repo
from shared.signalen import CategoryMapping, HistoryLine, Observation, ObservationView, SyncStatus


def _view(row: object) -> ObservationView:
    r = dict(row)  # type: ignore[call-overload]
    history = [msgspec.convert(h, HistoryLine, strict=False) for h in r.pop("history")]
    return ObservationView(
        event_id=r["event_id"],
        category=r["category_slug"],
        text=r["text"],
        lon=r["lon"],
        lat=r["lat"],
        created_at=r["created_at"],
        signal_id=r["signal_id"],
        state=r["state"],
        state_text=r["state_text"],
        last_error=r["last_error"],
        history=history,
    )


@post(
    "/observations",
    guards=[requires("boa")],
    status_code=201,
    responses={200: ResponseSpec(ObservationView, description="A resend: stored before.")},
)
async def file_observation(
    data: JSONBody[Observation], principal: NamedDependency[Principal], services: NamedDependency[Services]
) -> Response[ObservationView]:
    """Queue an observation for Signalen (201); the same event id again answers the stored one (200)."""
    async with services.pool.acquire() as conn, conn.transaction():
        added = await repo.add_observation(
            conn,
            data.event_id,
            principal.org_id,
            principal.account_id,
            data.category,
            data.text.strip(),
            data.lon,
            data.lat,
        )
        row = await repo.observation(conn, data.event_id)
    if row is None or row["account_id"] != principal.account_id:
        raise BadInput("dit event-id is al gebruikt", field="event_id")
    return Response(_view(row), status_code=201 if added else 200)


@get("/observations", guards=[requires("boa", "teamlead", "admin")])
async def list_observations(
    principal: NamedDependency[Principal], services: NamedDependency[Services]
) -> list[ObservationView]:
    """A boa's own observations with their Signalen status; a team lead or admin sees the gemeente's."""
    mine = principal.account_id if principal.role == "boa" else None
    async with services.pool.acquire() as conn:
        return [_view(r) for r in await repo.observations(conn, principal.org_id, mine)]


@get("/categories", guards=[requires("teamlead", "admin")])
async def categories(
    principal: NamedDependency[Principal], services: NamedDependency[Services]
) -> list[CategoryMapping]:
    async with services.pool.acquire() as conn:
        found = await repo.mappings(conn, principal.org_id)
    return [CategoryMapping(category_slug=s, domain=m.domain, priority=m.priority) for s, m in found.items()]


@put("/categories", guards=[requires("admin")])
async def set_categories(
    data: JSONBody[list[CategoryMapping]],
    principal: NamedDependency[Principal],
    services: NamedDependency[Services],
) -> list[CategoryMapping]:
    """Replace the gemeente's mapping: which Signalen categories are handhaving, their domain and priority."""
    slugs = [m.category_slug for m in data]
    if len(set(slugs)) != len(slugs):
        raise BadInput("elke categorie één keer", field="category_slug")
    async with services.pool.acquire() as conn, conn.transaction():
        await repo.set_mappings(
            conn, principal.org_id, [(m.category_slug, m.domain, m.priority) for m in data]
        )
    return sorted(data, key=lambda m: m.category_slug)


@get("/status", guards=[requires("teamlead", "admin")])
async def sync_status(
    principal: NamedDependency[Principal], services: NamedDependency[Services]
) -> SyncStatus:
    """Where the link with Signalen stands: last poll, last trouble, what waits."""
    async with services.pool.acquire() as conn:
        r = await repo.status(conn, principal.org_id)
        code = await conn.fetchval("SELECT code FROM organisations WHERE id = $1", principal.org_id)
    s = services.settings
    assert r is not None  # one row, always
    return SyncStatus(
        configured=bool(s.signalen_url) and s.signalen_org == code,
        created_after=r["created_after"],
        polled_at=r["polled_at"],
        last_error=r["last_error"] or "",
        last_error_at=r["last_error_at"],
        meldingen=r["meldingen"],
        updates_waiting=r["updates_waiting"],
        updates_refused=r["updates_refused"],
        observations_waiting=r["observations_waiting"],
    )


router = Router(
    path="/api/signalen",
    tags=["signalen"],
    route_handlers=[file_observation, list_observations, categories, set_categories, sync_status],
)
