"""Login, token refresh (rotating, device-bound), logout and device revocation."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from typing import Annotated, Any

import asyncpg
import msgspec
from litestar import Request, Router, get, post
from litestar.di import NamedDependency
from litestar.params import JSONBody

from backend.auth import events, password_policy, sessions, throttle
from backend.auth.guards import authenticate_token, require_org, requires
from backend.auth.passwords import hash_password_off_loop, login_slot, verify_password_off_loop
from backend.auth.tokens import Principal, hash_refresh_token, issue_access_token, new_refresh_token
from backend.db.pool import Conn
from backend.errors import BadInput, NotFound, TooManyRequests, Unauthorized
from backend.openapi import errors
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
    device_id: Id | None = None  # a tablet logs in bound to its registered device ...
    device_secret: Annotated[str, msgspec.Meta(max_length=200)] | None = None  # ... with its enrolment secret


class RefreshRequest(msgspec.Struct, frozen=True, kw_only=True):
    refresh_token: Annotated[str, msgspec.Meta(min_length=1, max_length=200)]


async def _issue(
    pool: asyncpg.Pool, settings: Settings, account_id: int, device_id: int | None, session_id: str | None
) -> TokenPair:
    """A new token pair in the session (a new session when None: a login)."""
    async with pool.acquire() as conn, conn.transaction():
        account = await orgs.get_account(conn, account_id)
        if account is None or not account.active:
            raise Unauthorized("account is disabled")
        visible = await orgs.visible_org_ids(conn, account.org_id)
        if session_id is None:
            session_id = await sessions.start(conn, account_id, device_id)
        token, token_hash = new_refresh_token()
        await conn.execute(
            """INSERT INTO refresh_tokens (token_hash, account_id, device_id, expires_at, session_id)
               VALUES ($1, $2, $3, $4, $5::uuid)""",
            token_hash,
            account_id,
            device_id,
            datetime.now(UTC) + timedelta(days=settings.refresh_token_days),
            session_id,
        )
    principal = Principal(
        account_id=account.id,
        org_id=account.org_id,
        role=account.role,
        visible_org_ids=visible,
        device_id=device_id,
        username=account.username,
        session_id=session_id,
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


@post("/auth/login", status_code=200, opt={"public": True}, responses=errors(401, 429))
async def login(
    request: Request[Any, Any, Any],
    data: JSONBody[LoginRequest],
    pool: NamedDependency[asyncpg.Pool],
    settings: NamedDependency[Settings],
) -> TokenPair:
    # a few logins at a time: a flood waits here, holding neither connections of the shared pool nor the
    # CPU the tablets' sockets need (`passwords.login_slot`)
    async with login_slot():
        return await _login(request, data, pool, settings)


async def _login(
    request: Request[Any, Any, Any], data: LoginRequest, pool: asyncpg.Pool, settings: Settings
) -> TokenPair:
    address = request.client.host if request.client else ""
    who = {"username": data.username}
    async with pool.acquire() as conn:
        row = await orgs.account_for_login(conn, data.username)
        account_id, org_id = (row["id"], row["org_id"]) if row else (None, None)
        try:
            # counted before the (slow) hash: a locked account or address costs no Argon2 at all
            attempt = await throttle.begin_attempt(conn, settings, data.username, address)
        except TooManyRequests:
            await events.record(
                conn,
                action="login",
                result="throttled",
                account_id=account_id,
                org_id=org_id,
                address=address,
                details=who,
            )
            raise
    # the hash runs in its own threads, with no connection held: a login flood neither stalls the event loop
    # (and with it every tablet's ack) nor empties the pool
    ok = await verify_password_off_loop(row["password_hash"] if row else None, data.password)
    async with pool.acquire() as conn:
        if row is None or not ok or not row["active"]:
            await throttle.failed(conn, address)
            await events.record(
                conn,
                action="login",
                result="failed",
                account_id=account_id,
                org_id=org_id,
                address=address,
                device_id=data.device_id,
                details=who,
            )
            raise Unauthorized("unknown username or wrong password")
        await throttle.succeeded(conn, data.username, attempt)
        if data.device_id is not None:
            device = await orgs.get_device(conn, data.device_id)
            refusal, field = None, "device_id"
            if device is None or device.org_id != row["org_id"]:
                refusal = "this device is not registered for your organisation"
            elif not await orgs.device_secret_matches(conn, data.device_id, data.device_secret):
                refusal, field = "this is not the enrolment secret of that tablet", "device_secret"
            elif device.revoked:
                refusal = "this device has been revoked"
            if refusal is not None:
                await events.record(
                    conn,
                    action="login",
                    result="refused",
                    account_id=account_id,
                    org_id=org_id,
                    address=address,
                    device_id=data.device_id,
                    details={**who, "why": refusal},
                )
                raise Unauthorized(refusal, field=field)
        await events.record(
            conn,
            action="login",
            account_id=account_id,
            org_id=org_id,
            address=address,
            device_id=data.device_id,
        )
    return await _issue(pool, settings, row["id"], data.device_id, None)


@post("/auth/refresh", status_code=200, opt={"public": True}, responses=errors(401))
async def refresh(
    request: Request[Any, Any, Any],
    data: JSONBody[RefreshRequest],
    pool: NamedDependency[asyncpg.Pool],
    settings: NamedDependency[Settings],
    services: NamedDependency[Services],
) -> TokenPair:
    reused: str | None = None
    async with pool.acquire() as conn:
        async with conn.transaction():
            # FOR UPDATE: two refreshes with one token are taken one after the other, the second is a reuse
            row = await conn.fetchrow(
                """SELECT id, account_id, device_id, session_id::text AS session_id,
                          revoked_at IS NOT NULL AS used
                   FROM refresh_tokens WHERE token_hash = $1 AND expires_at > now() FOR UPDATE""",
                hash_refresh_token(data.refresh_token),
            )
            if row is not None and row["used"]:
                # a rotated token came back: a thief or the owner holds a copy, so no token of the family can
                # be trusted any more — the whole session ends, its access tokens and sockets with it
                if row["session_id"] is not None and await sessions.end(
                    conn, row["session_id"], "refresh_reuse"
                ):
                    reused = row["session_id"]
            elif row is not None:
                await conn.execute("UPDATE refresh_tokens SET revoked_at = now() WHERE id = $1", row["id"])
        address = request.client.host if request.client else ""
        account_id = row["account_id"] if row else None
        device_id = row["device_id"] if row else None
        if reused is not None:
            await _ended(services, [reused], "refresh_reuse")
        if row is None or row["used"]:
            await events.record(
                conn,
                action="refresh",
                result="reuse" if row else "failed",
                account_id=account_id,
                address=address,
                device_id=device_id,
                details={"session": row["session_id"]} if row else None,
            )
            raise Unauthorized("refresh token unknown, expired or revoked", field="refresh_token")
        if row["device_id"] is not None:
            device = await orgs.get_device(conn, row["device_id"])
            if device is None or device.revoked:
                await events.record(
                    conn,
                    action="refresh",
                    result="refused",
                    account_id=account_id,
                    address=address,
                    device_id=device_id,
                )
                raise Unauthorized("this device has been revoked", field="refresh_token")
        await events.record(
            conn, action="refresh", account_id=account_id, address=address, device_id=device_id
        )
    return await _issue(pool, settings, row["account_id"], row["device_id"], row["session_id"])


async def _ended(services: Services, session_ids: list[str], reason: str) -> None:
    """Tokens of these sessions are refused from now on; their live sockets are told and closed (each close
    is bounded, so a socket that does not read cannot hold this up)."""
    tasks = services.sessions.ended(session_ids, reason)
    if tasks:
        await asyncio.gather(*tasks, return_exceptions=True)


@post("/auth/logout", status_code=204, opt={"public": True})
async def logout(
    request: Request[Any, Any, Any],
    data: JSONBody[RefreshRequest],
    pool: NamedDependency[asyncpg.Pool],
    services: NamedDependency[Services],
) -> None:
    """End the session of this refresh token (and of the bearer token, when one is sent): its refresh tokens,
    its access tokens and its live sockets."""
    ended: list[str] = []
    bearer = _bearer_session(request, services)
    async with pool.acquire() as conn, conn.transaction():
        row = await conn.fetchrow(
            """UPDATE refresh_tokens SET revoked_at = coalesce(revoked_at, now()) WHERE token_hash = $1
               RETURNING session_id::text AS session_id, account_id, device_id""",
            hash_refresh_token(data.refresh_token),
        )
        for sid in {row["session_id"] if row else None, bearer} - {None}:
            assert sid is not None
            await sessions.end(conn, sid, "logout")
            ended.append(sid)
        if row is not None:
            await events.record(
                conn,
                action="logout",
                account_id=row["account_id"],
                address=request.client.host if request.client else "",
                device_id=row["device_id"],
            )
    await _ended(services, ended, "logout")


def _bearer_session(request: Request[Any, Any, Any], services: Services) -> str | None:
    scheme, _, token = request.headers.get("authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not token:
        return None
    try:
        return authenticate_token(token.strip(), services).session_id
    except Unauthorized:
        return None


class PasswordChange(msgspec.Struct, frozen=True, kw_only=True):
    old_password: Password
    new_password: Password


class PasswordReset(msgspec.Struct, frozen=True, kw_only=True):
    new_password: Password


def _check_policy(password: str, username: str) -> None:
    why = password_policy.problem(password, username)
    if why is not None:
        raise BadInput(why, field="new_password")


@post("/auth/password", status_code=200, responses=errors(401, 429))
async def change_password(
    request: Request[Any, Any, Any],
    data: JSONBody[PasswordChange],
    principal: NamedDependency[Principal],
    pool: NamedDependency[asyncpg.Pool],
    settings: NamedDependency[Settings],
    services: NamedDependency[Services],
) -> TokenPair:
    """Change one's own password (the old one is asked: a token alone is not enough). Every session of the
    account ends, this one too; the answer is a new token pair in a new session."""
    _check_policy(data.new_password, principal.username)
    async with login_slot():
        return await _change_password(request, data, principal, pool, settings, services)


async def _change_password(
    request: Request[Any, Any, Any],
    data: PasswordChange,
    principal: Principal,
    pool: asyncpg.Pool,
    settings: Settings,
    services: Services,
) -> TokenPair:
    address = request.client.host if request.client else ""
    async with pool.acquire() as conn:
        # the old password is a guess like a login's: the same throttle counts it
        attempt = await throttle.begin_attempt(conn, settings, principal.username, address)
        row = await orgs.account_for_login(conn, principal.username)
    if row is None or row["id"] != principal.account_id:
        raise Unauthorized("account not found", field="token")
    if not await verify_password_off_loop(row["password_hash"], data.old_password):
        async with pool.acquire() as conn:
            await throttle.failed(conn, address)
            await events.record(
                conn,
                action="password_change",
                result="failed",
                actor=principal,
                account_id=principal.account_id,
                address=address,
            )
        raise Unauthorized("het huidige wachtwoord klopt niet", field="old_password")
    new_hash = await hash_password_off_loop(data.new_password)
    async with pool.acquire() as conn:
        await throttle.succeeded(conn, principal.username, attempt)
        ended = await _set_password(conn, principal.account_id, new_hash)
        await events.record(
            conn, action="password_change", actor=principal, account_id=principal.account_id, address=address
        )
    await _ended(services, ended, "password_changed")
    return await _issue(pool, settings, principal.account_id, principal.device_id, None)


@post("/accounts/{account_id:int}/password", status_code=204, tags=["accounts"], guards=[requires("admin")])
async def reset_password(
    request: Request[Any, Any, Any],
    account_id: PathId,
    data: JSONBody[PasswordReset],
    principal: NamedDependency[Principal],
    pool: NamedDependency[asyncpg.Pool],
    services: NamedDependency[Services],
) -> None:
    """An admin sets a new password for an account of his own organisation; its sessions end."""
    async with pool.acquire() as conn:
        account = await orgs.get_account(conn, account_id)
    # only the admin's own organisation: a meldkamer admin does not reset a gemeente's boa
    if account is None or account.org_id != principal.org_id:
        raise NotFound("account not found")
    _check_policy(data.new_password, account.username)
    new_hash = await hash_password_off_loop(data.new_password)
    async with pool.acquire() as conn:
        ended = await _set_password(conn, account_id, new_hash)
        await events.record(
            conn,
            action="password_reset",
            actor=principal,
            account_id=account_id,
            org_id=account.org_id,
            address=request.client.host if request.client else "",
        )
    await _ended(services, ended, "password_reset")


async def _set_password(conn: Conn, account_id: int, password_hash: str) -> list[str]:
    """Store the hash; the accounts trigger ends the account's sessions. Returns the sessions it ended."""
    async with conn.transaction():
        live = await conn.fetch(
            "SELECT id::text AS id FROM auth_sessions WHERE account_id = $1 AND revoked_at IS NULL",
            account_id,
        )
        await conn.execute("UPDATE accounts SET password_hash = $2 WHERE id = $1", account_id, password_hash)
    return [r["id"] for r in live]


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
        await events.record(
            conn,
            action="device_revoke",
            actor=principal,
            org_id=device.org_id,
            object_type="device",
            object_id=str(device_id),
        )
    await services.hub.revoke_device(device_id)  # refused and cut off here and on every other instance


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


router = Router(
    path="/api",
    tags=["auth"],
    route_handlers=[login, refresh, logout, change_password, reset_password, revoke_device, me],
)
