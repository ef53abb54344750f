"""Police alerts for an area, posted by the meldkamer bridge (role service)."""

from __future__ import annotations

from litestar import Router, post
from litestar.di import NamedDependency
from litestar.params import JSONBody

from backend.areaalerts import service
from backend.auth.guards import requires
from backend.auth.tokens import Principal
from backend.services import Services
from shared.protocol import AreaAlertView


@post("/")
async def receive_area_alert(
    data: JSONBody[service.AreaAlertRequest],
    principal: NamedDependency[Principal],
    services: NamedDependency[Services],
) -> AreaAlertView:
    """A partner's alert for an area: stored, pushed to tablets of units inside it, shown to operators."""
    return await service.receive(services, principal, data)


router = Router(
    path="/api/area-alerts",
    tags=["bridge"],
    guards=[requires("service")],  # the meldkamer bridge's account
    route_handlers=[receive_area_alert],
)
