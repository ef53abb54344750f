"""Login, token refresh (rotating, device-bound), logout and device revocation."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Annotated, Any

import asyncpg
import msgspec
from litestar import Request, Router, get, post
from litestar.di import NamedDependency
from litestar.params import JSONBody

from backend.auth import throttle
from backend.auth.guards import require_org, requires
from backend.auth.passwords import verify_password_off_loop
from backend.auth.tokens import Principal, hash_refresh_token, issue_access_token, new_refresh_token
from backend.errors import NotFound, Unauthorized
from backend.orgs import repository as orgs
from backend.params import PathId
from backend.services import Services
from backend.settings import Settings
from shared.http import TokenPair
from shared.ids import Id

# PostgreSQL text holds no NUL and its ids are int4: reject such values here, naming the field
Username = Annotated[str, msgspec.Meta(min_length=1, max_length=100, pattern=r"^[^\x00]+$")]
Password = Annotated[str, msgspec.Meta(min_length=1, max_length=200)]

LEADS = requires("admin", "teamlead")


class LoginRequest(msgspec.Struct, frozen=True, kw_only=True):
    username: Username
    password: Password
    device_id: Id | None = None  # a tablet logs in bound to its registered device


class RefreshRequest(msgspec.Struct, frozen=True, kw_only=True):
    refresh_token: Annotated[str, msgspec.Meta(min_length=1, max_length=200)]


async def _issue(pool: asyncpg.Pool, settings: Settings, account_id: int, device_id: int | None) -> TokenPair:
    async with pool.acquire() as conn:
        account = await orgs.get_account(conn, account_id)
        if account is None or not account.active:
            raise Unauthorized("account is disabled")
        visible = await orgs.visible_org_ids(conn, account.org_id)
        token, token_hash = new_refresh_token()
        await conn.execute(
            "INSERT INTO refresh_tokens (token_hash, account_id, device_id, expires_at) VALUES ($1, $2, $3, $4)",
            token_hash,
            account_id,
            device_id,
            datetime.now(UTC) + timedelta(days=settings.refresh_token_days),
        )
    principal = Principal(
        account_id=account.id,
        org_id=account.org_id,
        role=account.role,
        visible_org_ids=visible,
        device_id=device_id,
        username=account.username,
    )
    return TokenPair(
        access_token=issue_access_token(principal, settings.secret_key, settings.access_token_minutes),
        refresh_token=token,
        expires_in=settings.access_token_minutes * 60,
        account_id=account.id,
        org_id=account.org_id,
        role=account.role,
        display_name=account.display_name,
        device_id=device_id,
    )


@post("/auth/login", status_code=200, opt={"public": True})
async def login(
    request: Request[Any, Any, Any],
    data: JSONBody[LoginRequest],
    pool: NamedDependency[asyncpg.Pool],
    settings: NamedDependency[Settings],
) -> TokenPair:
    address = request.client.host if request.client else ""
    async with pool.acquire() as conn:
        # counted before the (slow) hash: a locked account or address costs no Argon2 at all
        attempt = await throttle.begin_attempt(conn, settings, data.username, address)
        row = await orgs.account_for_login(conn, data.username)
    # the hash runs in its own threads, with no connection held: a login flood neither stalls the event loop
    # (and with it every tablet's ack) nor empties the pool
    ok = await verify_password_off_loop(row["password_hash"] if row else None, data.password)
    if row is None or not ok or not row["active"]:
        raise Unauthorized("unknown username or wrong password")
    async with pool.acquire() as conn:
        await throttle.succeeded(conn, data.username, attempt)
        if data.device_id is not None:
            device = await orgs.get_device(conn, data.device_id)
            if device is None or device.org_id != row["org_id"]:
                raise Unauthorized("this device is not registered for your organisation", field="device_id")
            if device.revoked:
                raise Unauthorized("this device has been revoked", field="device_id")
    return await _issue(pool, settings, row["id"], data.device_id)


@post("/auth/refresh", status_code=200, opt={"public": True})
async def refresh(
    data: JSONBody[RefreshRequest], pool: NamedDependency[asyncpg.Pool], settings: NamedDependency[Settings]
) -> TokenPair:
    async with pool.acquire() as conn:
        row = await conn.fetchrow(
            """UPDATE refresh_tokens SET revoked_at = now()
               WHERE token_hash = $1 AND revoked_at IS NULL AND expires_at > now()
               RETURNING account_id, device_id""",
            hash_refresh_token(data.refresh_token),
        )
        if row is None:
            raise Unauthorized("refresh token unknown, expired or revoked", field="refresh_token")
        if row["device_id"] is not None:
            device = await orgs.get_device(conn, row["device_id"])
            if device is None or device.revoked:
                raise Unauthorized("this device has been revoked", field="refresh_token")
    return await _issue(pool, settings, row["account_id"], row["device_id"])


@post("/auth/logout", status_code=204, opt={"public": True})
async def logout(data: JSONBody[RefreshRequest], pool: NamedDependency[asyncpg.Pool]) -> None:
    async with pool.acquire() as conn:
        await conn.execute(
            "UPDATE refresh_tokens SET revoked_at = now() WHERE token_hash = $1 AND revoked_at IS NULL",
            hash_refresh_token(data.refresh_token),
        )


@post("/devices/{device_id:int}/revoke", status_code=204, tags=["devices"], guards=[LEADS])
async def revoke_device(
    device_id: PathId,
    principal: NamedDependency[Principal],
    pool: NamedDependency[asyncpg.Pool],
    services: NamedDependency[Services],
) -> None:
    """A lost tablet is cut off at once: tokens revoked, its socket closed."""
    async with pool.acquire() as conn:
        device = await orgs.get_device(conn, device_id)
        if device is None:
            raise NotFound("device not found")
        require_org(principal, device.org_id, "device")
        await orgs.revoke_device(conn, device_id)
    services.revoked_devices.add(device_id)
    closing = services.hub.kick_device(device_id)
    if closing is not None:
        await closing


class Me(msgspec.Struct, frozen=True, kw_only=True):
    account_id: int
    username: str
    role: str
    org_id: int
    visible_org_ids: list[int]
    device_id: int | None


@get("/me")
async def me(principal: NamedDependency[Principal]) -> Me:
    return Me(
        account_id=principal.account_id,
        username=principal.username,
        role=principal.role,
        org_id=principal.org_id,
        visible_org_ids=sorted(principal.visible_org_ids),
        device_id=principal.device_id,
    )


router = Router(path="/api", tags=["auth"], route_handlers=[login, refresh, logout, revoke_device, me])
