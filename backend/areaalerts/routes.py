"""Police alerts for an area, posted by the meldkamer bridge (role service)."""

from __future__ import annotations

from typing import Any

from litestar import Request, post
from litestar.di import NamedDependency
from litestar.params import JSONBody

from backend.areaalerts import service
from backend.auth.guards import services_of
from backend.auth.tokens import Principal
from shared.protocol import AreaAlertView


@post("/api/area-alerts", tags=["bridge"])
async def receive_area_alert(
    request: Request[Any, Any, Any],
    data: JSONBody[service.AreaAlertRequest],
    principal: NamedDependency[Principal],
) -> AreaAlertView:
    """A partner's alert for an area: stored, pushed to tablets of units inside it, shown to operators."""
    return await service.receive(services_of(request), principal, data)


ROUTES = [receive_area_alert]
