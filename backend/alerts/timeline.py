"""An alert's timeline (`GET /api/alerts/{alert_id}/timeline`) and an organisation's alarm settings
(`GET/PUT /api/organisations/{org_id}/alarm-settings`).

The timeline lists every step stored in alert_events: raised, escalated (level n, with who was told),
acknowledged (by whom), the colleagues told it is over, resolved.
"""

from __future__ import annotations

import asyncpg
import msgspec
from litestar import Router, get, put
from litestar.di import NamedDependency
from litestar.params import JSONBody

from backend.alerts import repository as alerts_repo
from backend.alerts.escalation import DEFAULT_SETTINGS, AlarmSettings
from backend.auth.guards import require_org, requires
from backend.auth.tokens import Principal
from backend.errors import NotFound
from backend.live.hub import LiveHub
from backend.params import PathBigId, PathId


class AlertTimeline(msgspec.Struct, frozen=True, kw_only=True):
    alert_id: int
    steps: list[alerts_repo.TimelineStep]


@get("/alerts/{alert_id:int}/timeline", guards=[requires("operator", "teamlead", "admin")])
async def alert_timeline(
    alert_id: PathBigId, principal: NamedDependency[Principal], pool: NamedDependency[asyncpg.Pool]
) -> AlertTimeline:
    """Every step of one alert, oldest first."""
    async with pool.acquire() as conn:
        org_id = await alerts_repo.alert_org(conn, alert_id)
        if org_id is None:
            raise NotFound("alert not found", field="alert_id")
        require_org(principal, org_id, "alert")
        steps = await alerts_repo.timeline(conn, alert_id)
    return AlertTimeline(alert_id=alert_id, steps=steps)


LEADS = requires("teamlead", "admin")


@get("/organisations/{org_id:int}/alarm-settings", guards=[LEADS])
async def get_alarm_settings(
    org_id: PathId, principal: NamedDependency[Principal], pool: NamedDependency[asyncpg.Pool]
) -> AlarmSettings:
    """How this organisation escalates its safety alerts (the defaults until a team lead sets them)."""
    require_org(principal, org_id, "organisation")
    async with pool.acquire() as conn:
        values = await alerts_repo.alarm_settings(conn, org_id)
    return DEFAULT_SETTINGS if values is None else AlarmSettings(**values)


@put("/organisations/{org_id:int}/alarm-settings", guards=[LEADS])
async def put_alarm_settings(
    org_id: PathId,
    data: JSONBody[AlarmSettings],
    principal: NamedDependency[Principal],
    pool: NamedDependency[asyncpg.Pool],
    hub: NamedDependency[LiveHub],
) -> AlarmSettings:
    """Set how this organisation escalates; the next operator tick uses it."""
    require_org(principal, org_id, "organisation")
    async with pool.acquire() as conn:
        exists = await conn.fetchval("SELECT 1 FROM organisations WHERE id = $1", org_id)
        if exists is None:
            raise NotFound("organisation not found", field="org_id")
        await alerts_repo.put_alarm_settings(conn, org_id, msgspec.to_builtins(data), principal.account_id)
    hub.set_alarm_settings(org_id, data)
    return data


router = Router(
    path="/api",
    tags=["alerts"],
    route_handlers=[alert_timeline, get_alarm_settings, put_alarm_settings],
)
