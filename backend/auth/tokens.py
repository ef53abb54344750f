"""Short-lived access tokens (JWT, HS256) and opaque refresh tokens (stored hashed)."""

from __future__ import annotations

import hashlib
import secrets
from datetime import UTC, datetime, timedelta

import jwt
import msgspec

ROLES = ("boa", "operator", "teamlead", "admin", "privacy_officer", "service")


class Principal(msgspec.Struct, frozen=True, kw_only=True):
    """Who is calling, and which organisations' data they may see."""

    account_id: int
    org_id: int
    role: str
    visible_org_ids: frozenset[int]
    device_id: int | None = None
    username: str = ""
    session_id: str | None = None  # the login session (auth_sessions); ending it ends this token
    expires_at: datetime | None = None  # when the access token this principal came from expires

    def can_see_org(self, org_id: int) -> bool:
        return org_id in self.visible_org_ids


class TokenInvalid(Exception):
    pass


def issue_access_token(principal: Principal, secret: str, minutes: int, now: datetime | None = None) -> str:
    now = now or datetime.now(UTC)
    claims = {
        "sub": str(principal.account_id),
        "org": principal.org_id,
        "role": principal.role,
        "orgs": sorted(principal.visible_org_ids),
        "dev": principal.device_id,
        "usr": principal.username,
        "sid": principal.session_id,
        "iat": int(now.timestamp()),
        "exp": int((now + timedelta(minutes=minutes)).timestamp()),
    }
    return jwt.encode(claims, secret, algorithm="HS256")


def decode_access_token(token: str, secret: str) -> Principal:
    try:
        claims = jwt.decode(token, secret, algorithms=["HS256"], options={"require": ["exp", "sub"]})
        return Principal(
            account_id=int(claims["sub"]),
            org_id=int(claims["org"]),
            role=str(claims["role"]),
            visible_org_ids=frozenset(int(o) for o in claims["orgs"]),
            device_id=None if claims.get("dev") is None else int(claims["dev"]),
            username=str(claims.get("usr", "")),
            session_id=None if claims.get("sid") is None else str(claims["sid"]),
            expires_at=datetime.fromtimestamp(int(claims["exp"]), UTC),
        )
    except jwt.ExpiredSignatureError as exc:
        raise TokenInvalid("access token expired") from exc
    except (jwt.PyJWTError, KeyError, TypeError, ValueError) as exc:
        raise TokenInvalid("access token invalid") from exc


def new_refresh_token() -> tuple[str, bytes]:
    """A refresh token for the client and the hash the server keeps."""
    token = secrets.token_urlsafe(32)
    return token, hash_refresh_token(token)


def hash_refresh_token(token: str) -> bytes:
    return hashlib.sha256(token.encode()).digest()
