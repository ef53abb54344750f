"""Alerts over HTTP: the context the console's alarm banner fills in after it has shown the alarm."""

from __future__ import annotations

from datetime import UTC, datetime

from litestar import Router, get
from litestar.di import NamedDependency

from backend.alerts.context import alert_context
from backend.auth.guards import requires
from backend.auth.tokens import Principal
from backend.params import PathBigId
from backend.services import Services
from shared.alert_context import AlertContext


@get("/{alert_id:int}/context", guards=[requires("operator", "teamlead", "admin")])
async def get_alert_context(
    alert_id: PathBigId,
    principal: NamedDependency[Principal],
    services: NamedDependency[Services],
) -> AlertContext:
    """Crew (names, phone, portofoon), the unit's numbers, buurten, position age and accuracy, current task
    and the nearest available units of one alarm; 404 for an alarm of a gemeente the caller does not see."""
    async with services.pool.acquire() as conn:
        return await alert_context(conn, services.hub.picture, principal, alert_id, datetime.now(UTC))


router = Router(path="/api/alerts", tags=["alerts"], route_handlers=[get_alert_context])
