"""Authentication of requests and sockets, and who may call a route (guards)."""

from __future__ import annotations

from collections.abc import Callable, Iterable

from litestar.connection import ASGIConnection
from litestar.enums import ScopeType
from litestar.handlers.base import BaseRouteHandler

from backend.auth.tokens import Principal, TokenInvalid, decode_access_token
from backend.errors import Forbidden, NotFound, Unauthorized
from backend.services import Services


def services_of(connection: ASGIConnection) -> Services:  # type: ignore[type-arg]
    services: Services = connection.app.state.services
    return services


def authenticate_token(token: str, services: Services) -> Principal:
    try:
        principal = decode_access_token(token, services.settings.secret_key)
    except TokenInvalid as exc:
        raise Unauthorized(str(exc), field="token") from exc
    if principal.device_id is not None and principal.device_id in services.revoked_devices:
        raise Unauthorized("this device has been revoked", field="token")
    if services.sessions.is_revoked(principal.session_id):
        raise Unauthorized("this session has ended (logged out or revoked); log in again", field="token")
    return principal


def _principal_from_header(connection: ASGIConnection) -> Principal:  # type: ignore[type-arg]
    header = connection.headers.get("authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token:
        raise Unauthorized("missing bearer token", field="Authorization")
    return authenticate_token(token.strip(), services_of(connection))


def authenticate_api(connection: ASGIConnection, handler: BaseRouteHandler) -> None:  # type: ignore[type-arg]
    """App-wide guard: every /api route needs a valid token unless marked public.

    Guards run before Litestar parses parameters and bodies, so a caller without a token gets 401, never a
    400 that tells him about the route's parameters.
    """
    if connection.scope["type"] != ScopeType.HTTP or handler.opt.get("public"):
        return
    if connection.url.path.startswith("/api/"):
        connection.state.principal = _principal_from_header(connection)


Guard = Callable[[ASGIConnection, BaseRouteHandler], None]  # type: ignore[type-arg]


def requires(*roles: str) -> Guard:
    """A guard for a route or router: only these roles may call it (403 otherwise, before the body is read).

    It runs after :func:`authenticate_api`, which has put the caller on ``connection.state``.
    """

    def guard(connection: ASGIConnection, _: BaseRouteHandler) -> None:  # type: ignore[type-arg]
        _check_role(_principal_of(connection), roles)

    guard.__name__ = f"requires_{'_'.join(roles)}"
    return guard


def _principal_of(connection: ASGIConnection) -> Principal:  # type: ignore[type-arg]
    principal: Principal | None = getattr(connection.state, "principal", None)
    return principal if principal is not None else _principal_from_header(connection)


async def provide_principal(request: ASGIConnection) -> Principal:  # type: ignore[type-arg]
    return _principal_of(request)


def _check_role(principal: Principal, roles: Iterable[str]) -> None:
    allowed = tuple(roles)
    if principal.role not in allowed:
        raise Forbidden(f"role {principal.role!r} may not do this (needs one of: {', '.join(allowed)})")


def require_org(principal: Principal, org_id: int, what: str = "object") -> None:
    """Another organisation's data does not exist for this caller: 404, not 403, so nothing leaks."""
    if not principal.can_see_org(org_id):
        raise NotFound(f"{what} not found")
