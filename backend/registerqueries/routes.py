"""Register queries by a boa (vehicle plate, driving licence), answered by the police through the bridge."""

from __future__ import annotations

from typing import Any

from litestar import Request, Router, post
from litestar.di import NamedDependency
from litestar.params import JSONBody

from backend.auth.guards import requires
from backend.auth.tokens import Principal
from backend.registerqueries import service
from backend.services import Services


@post("/", status_code=200)
async def register_query(
    request: Request[Any, Any, Any],
    data: JSONBody[service.RegisterQueryRequest],
    principal: NamedDependency[Principal],
    services: NamedDependency[Services],
) -> service.RegisterAnswer:
    """Ask the police register, with the purpose and the legal basis; the disclosure is logged."""
    origin = request.client.host if request.client else ""
    return await service.ask(services, principal, data, origin)


router = Router(
    path="/api/register-queries", tags=["bridge"], guards=[requires("boa")], route_handlers=[register_query]
)
