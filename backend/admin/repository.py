"""SQL of the administrator's pages (the caller owns the transaction)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

import asyncpg
import msgspec

from backend.db.pool import Conn
from backend.errors import Conflict


class Organisation(msgspec.Struct, frozen=True, kw_only=True):
    id: int
    code: str
    name: str
    kind: str
    managed: bool  # the caller's administrator may rename it, create its accounts and link it
    serves: list[int]  # a meldkamer: the gemeenten it serves
    served_by: list[int]  # a gemeente: the meldkamers that serve it


class AdminAccount(msgspec.Struct, frozen=True, kw_only=True):
    id: int
    org_id: int
    username: str
    display_name: str
    role: str
    active: bool
    created_at: datetime
    last_login_at: datetime | None


class AdminDevice(msgspec.Struct, frozen=True, kw_only=True):
    id: int
    org_id: int
    name: str
    kind: str
    unit_id: int | None
    call_sign: str | None
    enrolled: bool  # a tablet with an enrolment secret, a tracker with a key
    revoked_at: datetime | None
    created_at: datetime
    last_contact_at: datetime | None  # last login or token refresh bound to it (a tracker: last stored fix)
    connected: bool = False  # a socket to this instance right now


async def managed_org_ids(conn: Conn, org_id: int) -> list[int]:
    """The administrator's own organisation and those it created."""
    rows = await conn.fetch(
        "SELECT id FROM organisations WHERE id = $1 OR created_by_org_id = $1 ORDER BY id", org_id
    )
    return [r["id"] for r in rows]


async def list_organisations(conn: Conn, org_id: int) -> list[Organisation]:
    """What an administrator sees: the organisations he manages, every meldkamer (to link to) and the
    gemeenten linked to one he manages."""
    managed = set(await managed_org_ids(conn, org_id))
    rows = await conn.fetch(
        """SELECT o.id, o.code, o.name, o.kind,
                  coalesce(array_agg(DISTINCT s.gemeente_id) FILTER (WHERE s.gemeente_id IS NOT NULL), '{}')
                    AS serves,
                  coalesce(array_agg(DISTINCT b.meldkamer_id) FILTER (WHERE b.meldkamer_id IS NOT NULL), '{}')
                    AS served_by
           FROM organisations o
           LEFT JOIN meldkamer_links s ON s.meldkamer_id = o.id
           LEFT JOIN meldkamer_links b ON b.gemeente_id = o.id
           WHERE o.id = ANY($1::int[]) OR o.kind = 'meldkamer'
              OR EXISTS (SELECT 1 FROM meldkamer_links l
                         WHERE l.gemeente_id = o.id AND l.meldkamer_id = ANY($1::int[]))
           GROUP BY o.id ORDER BY o.kind DESC, o.name""",
        sorted(managed),
    )
    visible = {r["id"] for r in rows}
    return [
        Organisation(
            id=r["id"],
            code=r["code"],
            name=r["name"],
            kind=r["kind"],
            managed=r["id"] in managed,
            # links to organisations the caller does not see are not his business
            serves=sorted(i for i in r["serves"] if i in visible),
            served_by=sorted(i for i in r["served_by"] if i in visible),
        )
        for r in rows
    ]


async def get_org_kind(conn: Conn, org_id: int) -> str | None:
    kind: str | None = await conn.fetchval("SELECT kind FROM organisations WHERE id = $1", org_id)
    return kind


async def create_org(conn: Conn, *, code: str, name: str, kind: str, created_by: int | None) -> int:
    try:
        org_id: int = await conn.fetchval(
            """INSERT INTO organisations (code, name, kind, created_by_org_id) VALUES ($1, $2, $3, $4)
               RETURNING id""",
            code,
            name,
            kind,
            created_by,
        )
    except asyncpg.UniqueViolationError as exc:
        raise Conflict(f"code {code!r} is already in use", field="code") from exc
    return org_id


async def rename_org(conn: Conn, org_id: int, name: str) -> str:
    """Give it a new name; returns the old one."""
    old: str = await conn.fetchval("SELECT name FROM organisations WHERE id = $1 FOR UPDATE", org_id)
    await conn.execute("UPDATE organisations SET name = $2 WHERE id = $1", org_id, name)
    return old


async def link(conn: Conn, meldkamer_id: int, gemeente_id: int) -> bool:
    done = await conn.fetchval(
        "INSERT INTO meldkamer_links VALUES ($1, $2) ON CONFLICT DO NOTHING RETURNING true",
        meldkamer_id,
        gemeente_id,
    )
    return bool(done)


async def unlink(conn: Conn, meldkamer_id: int, gemeente_id: int) -> bool:
    done = await conn.fetchval(
        "DELETE FROM meldkamer_links WHERE meldkamer_id = $1 AND gemeente_id = $2 RETURNING true",
        meldkamer_id,
        gemeente_id,
    )
    return bool(done)


async def list_accounts(conn: Conn, org_ids: Sequence[int]) -> list[AdminAccount]:
    rows = await conn.fetch(
        """SELECT a.id, a.org_id, a.username, a.display_name, a.role, a.active, a.created_at,
                  (SELECT max(s.created_at) FROM auth_sessions s WHERE s.account_id = a.id) AS last_login_at
           FROM accounts a WHERE a.org_id = ANY($1::int[])
           ORDER BY a.active DESC, lower(a.display_name), a.username""",
        list(org_ids),
    )
    return [AdminAccount(**dict(r)) for r in rows]


async def change_account(
    conn: Conn, account_id: int, *, actor_id: int, role: str | None, active: bool | None
) -> None:
    """Role and active flag; the accounts triggers audit the change (with this actor) and end its sessions."""
    await conn.execute("SELECT set_config('schakel.actor_id', $1, true)", str(actor_id))
    await conn.execute(
        "UPDATE accounts SET role = coalesce($2, role), active = coalesce($3, active) WHERE id = $1",
        account_id,
        role,
        active,
    )


async def live_sessions(conn: Conn, account_id: int) -> list[str]:
    rows = await conn.fetch(
        "SELECT id::text AS id FROM auth_sessions WHERE account_id = $1 AND revoked_at IS NULL", account_id
    )
    return [r["id"] for r in rows]


async def list_devices(conn: Conn, org_ids: Sequence[int]) -> list[AdminDevice]:
    rows = await conn.fetch(
        """SELECT d.id, d.org_id, d.name, d.kind, d.unit_id, u.call_sign,
                  (d.secret_hash IS NOT NULL OR d.tracker_key_hash IS NOT NULL) AS enrolled,
                  d.revoked_at, d.created_at,
                  CASE WHEN d.kind = 'tablet'
                       THEN (SELECT max(t.created_at) FROM refresh_tokens t WHERE t.device_id = d.id)
                       ELSE (SELECT l.updated_at FROM unit_live l WHERE l.unit_id = d.unit_id)
                  END AS last_contact_at
           FROM devices d LEFT JOIN units u ON u.id = d.unit_id
           WHERE d.org_id = ANY($1::int[])
           ORDER BY d.revoked_at IS NOT NULL, d.kind, d.name, d.id""",
        list(org_ids),
    )
    return [AdminDevice(**dict(r)) for r in rows]


async def create_account(
    conn: Conn, *, org_id: int, username: str, display_name: str, password_hash: str, role: str
) -> int:
    """An account with an already hashed password (the route hashes off the event loop)."""
    try:
        account_id: int = await conn.fetchval(
            """INSERT INTO accounts (org_id, username, display_name, password_hash, role)
               VALUES ($1, $2, $3, $4, $5) RETURNING id""",
            org_id,
            username,
            display_name,
            password_hash,
            role,
        )
    except asyncpg.UniqueViolationError as exc:
        raise Conflict(f"username {username!r} is taken", field="username") from exc
    return account_id
