"""Organisations, accounts, units and devices (SQL; the caller owns the transaction)."""

from __future__ import annotations

import hashlib
import hmac
import secrets
from collections.abc import Sequence
from datetime import datetime

import asyncpg
import msgspec

from backend.auth.passwords import hash_password
from backend.db.pool import Conn
from backend.errors import Conflict, NotFound


class Account(msgspec.Struct, frozen=True, kw_only=True):
    id: int
    org_id: int
    username: str
    display_name: str
    role: str
    domains: tuple[int, ...]
    active: bool


class Unit(msgspec.Struct, frozen=True, kw_only=True):
    id: int
    org_id: int
    call_sign: str
    kind: str
    status: str
    status_since: datetime
    assigned_beat_ids: tuple[int, ...]
    domains: tuple[int, ...]


class Device(msgspec.Struct, frozen=True, kw_only=True):
    id: int
    org_id: int
    name: str
    kind: str
    unit_id: int | None
    last_seq: int
    revoked: bool


_UNIT_COLUMNS = "id, org_id, call_sign, kind, status, status_since, assigned_beat_ids, domains"
_DEVICE_COLUMNS = "id, org_id, name, kind, unit_id, last_seq, revoked_at IS NOT NULL AS revoked"


def _unit(row: asyncpg.Record) -> Unit:
    return Unit(
        id=row["id"],
        org_id=row["org_id"],
        call_sign=row["call_sign"],
        kind=row["kind"],
        status=row["status"],
        status_since=row["status_since"],
        assigned_beat_ids=tuple(row["assigned_beat_ids"]),
        domains=tuple(row["domains"]),
    )


def _device(row: asyncpg.Record) -> Device:
    return Device(**dict(row))


async def create_org(conn: Conn, code: str, name: str, kind: str = "gemeente") -> int:
    org_id: int = await conn.fetchval(
        """INSERT INTO organisations (code, name, kind) VALUES ($1, $2, $3)
           ON CONFLICT (code) DO UPDATE SET name = EXCLUDED.name RETURNING id""",
        code,
        name,
        kind,
    )
    return org_id


async def org_id_by_code(conn: Conn, code: str) -> int:
    org_id = await conn.fetchval("SELECT id FROM organisations WHERE code = $1", code)
    if org_id is None:
        raise NotFound(f"organisation {code!r} does not exist", field="org")
    return int(org_id)


async def link_meldkamer(conn: Conn, meldkamer_id: int, gemeente_id: int) -> None:
    await conn.execute(
        "INSERT INTO meldkamer_links VALUES ($1, $2) ON CONFLICT DO NOTHING", meldkamer_id, gemeente_id
    )


async def visible_org_ids(conn: Conn, org_id: int) -> frozenset[int]:
    """A gemeente sees itself; a meldkamer sees itself and the gemeenten linked to it."""
    rows = await conn.fetch(
        "SELECT $1::int AS id UNION SELECT gemeente_id FROM meldkamer_links WHERE meldkamer_id = $1", org_id
    )
    return frozenset(r["id"] for r in rows)


async def create_account(
    conn: Conn,
    *,
    org_id: int,
    username: str,
    password: str,
    role: str,
    display_name: str | None = None,
    domains: Sequence[int] = (1,),
) -> int:
    try:
        account_id: int = await conn.fetchval(
            """INSERT INTO accounts (org_id, username, display_name, password_hash, role, domains)
               VALUES ($1, $2, $3, $4, $5, $6) RETURNING id""",
            org_id,
            username,
            display_name or username,
            hash_password(password),
            role,
            list(domains),
        )
    except asyncpg.UniqueViolationError as exc:
        raise Conflict(f"username {username!r} is taken", field="username") from exc
    return account_id


async def account_for_login(conn: Conn, username: str) -> asyncpg.Record | None:
    return await conn.fetchrow(
        "SELECT id, org_id, username, password_hash, role, active FROM accounts WHERE username = $1", username
    )


async def get_account(conn: Conn, account_id: int) -> Account | None:
    row = await conn.fetchrow(
        "SELECT id, org_id, username, display_name, role, domains, active FROM accounts WHERE id = $1",
        account_id,
    )
    if row is None:
        return None
    return Account(**{**dict(row), "domains": tuple(row["domains"])})


async def foreign_account_ids(conn: Conn, org_id: int, account_ids: Sequence[int]) -> list[int]:
    """Those of `account_ids` that are not active accounts of this organisation (unknown ones included)."""
    rows = await conn.fetch(
        "SELECT id FROM accounts WHERE id = ANY($1::int[]) AND org_id = $2 AND active",
        list(account_ids),
        org_id,
    )
    own = {r["id"] for r in rows}
    return [a for a in account_ids if a not in own]


async def list_accounts(conn: Conn, org_id: int, role: str | None = None) -> list[Account]:
    """Active accounts of one organisation (to choose a duo partner), by display name."""
    rows = await conn.fetch(
        """SELECT id, org_id, username, display_name, role, domains, active FROM accounts
           WHERE org_id = $1 AND active AND ($2::text IS NULL OR role = $2)
           ORDER BY display_name, username""",
        org_id,
        role,
    )
    return [Account(**{**dict(r), "domains": tuple(r["domains"])}) for r in rows]


async def create_unit(
    conn: Conn,
    *,
    org_id: int,
    call_sign: str,
    kind: str = "duo",
    assigned_beat_ids: Sequence[int] = (),
) -> int:
    try:
        unit_id: int = await conn.fetchval(
            """INSERT INTO units (org_id, call_sign, kind, assigned_beat_ids) VALUES ($1, $2, $3, $4)
               RETURNING id""",
            org_id,
            call_sign,
            kind,
            list(assigned_beat_ids),
        )
    except asyncpg.UniqueViolationError as exc:
        raise Conflict(f"call sign {call_sign!r} is taken in this organisation", field="call_sign") from exc
    return unit_id


async def list_units(conn: Conn, org_ids: Sequence[int]) -> list[Unit]:
    rows = await conn.fetch(
        f"SELECT {_UNIT_COLUMNS} FROM units WHERE org_id = ANY($1) AND active ORDER BY call_sign",
        list(org_ids),
    )
    return [_unit(r) for r in rows]


async def get_unit(conn: Conn, unit_id: int) -> Unit | None:
    row = await conn.fetchrow(f"SELECT {_UNIT_COLUMNS} FROM units WHERE id = $1", unit_id)
    return None if row is None else _unit(row)


async def set_unit_status(conn: Conn, unit_id: int, status: str, at: datetime) -> None:
    await conn.execute(
        "UPDATE units SET status = $2, status_since = $3 WHERE id = $1 AND status IS DISTINCT FROM $2",
        unit_id,
        status,
        at,
    )


async def create_device(
    conn: Conn,
    *,
    org_id: int,
    name: str,
    kind: str = "tablet",
    tracker_key: str | None = None,
    unit_id: int | None = None,
) -> int:
    """A device; a tracker with its key (only the key's hash is stored; routes issue it with `new_secret`)."""
    try:
        device_id: int = await conn.fetchval(
            """INSERT INTO devices (org_id, name, kind, tracker_key_hash, unit_id) VALUES ($1, $2, $3, $4, $5)
               RETURNING id""",
            org_id,
            name,
            kind,
            None if tracker_key is None else secret_hash(tracker_key),
            unit_id,
        )
    except asyncpg.UniqueViolationError as exc:  # within the organisation: nothing about other gemeenten
        raise Conflict("this tracker key is already registered", field="tracker_key") from exc
    return device_id


async def get_device(conn: Conn, device_id: int) -> Device | None:
    row = await conn.fetchrow(f"SELECT {_DEVICE_COLUMNS} FROM devices WHERE id = $1", device_id)
    return None if row is None else _device(row)


async def device_by_tracker_key(conn: Conn, key: str) -> Device | None:
    """The tracker with this key, found by the key's hash (None when there is none, or, for two legacy keys
    equal across organisations, when it is not one)."""
    rows = await conn.fetch(
        f"SELECT {_DEVICE_COLUMNS} FROM devices WHERE tracker_key_hash = $1 AND kind = 'tracker' LIMIT 2",
        secret_hash(key),
    )
    return _device(rows[0]) if len(rows) == 1 else None


async def set_tracker_key(conn: Conn, device_id: int, key: str) -> None:
    """Give a tracker a new key; the previous one no longer reports."""
    await conn.execute("UPDATE devices SET tracker_key_hash = $2 WHERE id = $1", device_id, secret_hash(key))


async def list_devices(conn: Conn, org_ids: Sequence[int]) -> list[Device]:
    rows = await conn.fetch(
        f"SELECT {_DEVICE_COLUMNS} FROM devices WHERE org_id = ANY($1) ORDER BY id", list(org_ids)
    )
    return [_device(r) for r in rows]


def secret_hash(secret: str) -> bytes:
    """The stored form of a device secret: its sha256 (a server-issued secret has 256 bits of entropy)."""
    return hashlib.sha256(secret.encode()).digest()


def new_secret() -> str:
    """A fresh device secret: 32 random bytes, URL-safe (fits a QR code and a typed-in field)."""
    return secrets.token_urlsafe(32)


async def set_device_secret(conn: Conn, device_id: int, secret: str) -> None:
    """Enrol a tablet with this secret; the previous one no longer logs in."""
    await conn.execute("UPDATE devices SET secret_hash = $2 WHERE id = $1", device_id, secret_hash(secret))


async def enrol_device(conn: Conn, device_id: int) -> str:
    """Issue a new enrolment secret for a tablet and return it (shown once; only its hash is kept)."""
    secret = new_secret()
    await set_device_secret(conn, device_id, secret)
    return secret


async def device_secret_matches(conn: Conn, device_id: int, secret: str | None) -> bool:
    """Whether `secret` is the enrolment secret of this tablet (False when it has none or none is given)."""
    stored: bytes | None = await conn.fetchval("SELECT secret_hash FROM devices WHERE id = $1", device_id)
    if stored is None or not secret:
        return False
    return hmac.compare_digest(stored, secret_hash(secret))


async def revoke_device(conn: Conn, device_id: int) -> None:
    await conn.execute("UPDATE devices SET revoked_at = coalesce(revoked_at, now()) WHERE id = $1", device_id)
    await conn.execute(
        "UPDATE refresh_tokens SET revoked_at = now() WHERE device_id = $1 AND revoked_at IS NULL", device_id
    )


async def revoked_device_ids(conn: Conn) -> set[int]:
    return {r["id"] for r in await conn.fetch("SELECT id FROM devices WHERE revoked_at IS NOT NULL")}
