"""`GET /api/kenteken/{kenteken}?purpose=…`: the RDW open data about a vehicle, for a boa on shift."""

from __future__ import annotations

from typing import Any

from litestar import Request, Router, get
from litestar.di import NamedDependency
from litestar.params import FromPath, FromQuery

from backend.auth.guards import requires
from backend.auth.tokens import Principal
from backend.kenteken import service
from backend.openapi import errors
from backend.services import Services
from shared.kenteken import KentekenAnswer


@get("/{kenteken:str}", responses=errors(503))
async def kenteken_check(
    request: Request[Any, Any, Any],
    kenteken: FromPath[str],
    principal: NamedDependency[Principal],
    services: NamedDependency[Services],
    purpose: FromQuery[str | None] = None,
) -> KentekenAnswer:
    """Make, model, colour, APK expiry, WAM insurance, open recalls (no owner data); the purpose is logged."""
    origin = request.client.host if request.client else ""
    return await service.check(services, principal, kenteken, purpose, origin)


router = Router(
    path="/api/kenteken", tags=["kenteken"], guards=[requires("boa")], route_handlers=[kenteken_check]
)
