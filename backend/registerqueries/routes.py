"""Register queries by a boa (vehicle plate, driving licence), answered by the police through the bridge."""

from __future__ import annotations

from typing import Any

from litestar import Request, post
from litestar.di import NamedDependency
from litestar.params import JSONBody

from backend.auth.guards import services_of
from backend.auth.tokens import Principal
from backend.registerqueries import service


@post("/api/register-queries", status_code=200, tags=["bridge"])
async def register_query(
    request: Request[Any, Any, Any],
    data: JSONBody[service.RegisterQueryRequest],
    principal: NamedDependency[Principal],
) -> service.RegisterAnswer:
    """Ask the police register, with the purpose and the legal basis; the disclosure is logged."""
    origin = request.client.host if request.client else ""
    return await service.ask(services_of(request), principal, data, origin)


ROUTES = [register_query]
