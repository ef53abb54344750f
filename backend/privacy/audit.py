"""The append-only audit log (BIO2: action, object, result, origin, actor, timestamp; plus the reason).

Every read of personal data and every export or disclosure is written here, in the same transaction as
the read where there is one. A refused read is written too: as `denied` in the log of the organisation whose
data was probed (its privacy officer sees who tried), and as `not_found` in the caller's own log when the data
is another organisation's or nobody's (`record_refused`). The table refuses UPDATE, DELETE and TRUNCATE (a
trigger), so entries can only be added. Functions take a connection; the caller owns the transaction.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

import asyncpg
import msgspec

from backend.auth.tokens import Principal
from backend.db.pool import Conn


class Entry(msgspec.Struct, frozen=True, kw_only=True):
    id: int
    at: datetime
    org_id: int | None
    actor_id: int | None
    action: str
    object_type: str
    object_id: str | None
    result: str
    origin: str
    reason: str | None
    details: dict[str, Any]
    actor_name: str | None = None  # the actor's username, in searches (an account that was deleted: None)


class Origin(msgspec.Struct, frozen=True, kw_only=True):
    """Where a request came from: the client address and the device, as far as we know them."""

    address: str = ""
    device_id: int | None = None

    def __str__(self) -> str:
        return f"{self.address}" + (f" device {self.device_id}" if self.device_id is not None else "")


async def record(
    conn: Conn, *, principal: Principal | None, action: str, object_type: str,
    object_id: str | None, result: str = "ok", origin: Origin | None = None, reason: str | None = None,
    org_id: int | None = None, details: dict[str, Any] | None = None, at: datetime | None = None,
) -> None:  # fmt: skip
    await conn.execute(
        """INSERT INTO audit_log (at, org_id, actor_id, action, object_type, object_id, result, origin,
                                  reason, details)
           VALUES (coalesce($1, now()), $2, $3, $4, $5, $6, $7, $8, $9, $10::text::jsonb)""",
        at,
        org_id if org_id is not None else (principal.org_id if principal else None),
        principal.account_id if principal else None,
        action,
        object_type,
        object_id,
        result,
        str(origin or ""),
        reason,
        msgspec.json.encode(details or {}).decode(),
    )


async def record_refused(
    conn: Conn, *, principal: Principal, action: str, object_type: str, object_id: str,
    owner_org_ids: Sequence[int], origin: Origin | None, reason: str | None,
    details: dict[str, Any] | None = None,
) -> None:  # fmt: skip
    """A read of personal data that was refused: `denied` in the log of each organisation owning the data,
    `not_found` (what the caller was told) in the caller's own log unless it is one of them."""
    for org_id in dict.fromkeys(owner_org_ids):
        await record(
            conn, principal=principal, action=action, object_type=object_type, object_id=object_id,
            result="denied", origin=origin, reason=reason, org_id=org_id, details=details,
        )  # fmt: skip
    if principal.org_id not in owner_org_ids:
        await record(
            conn, principal=principal, action=action, object_type=object_type, object_id=object_id,
            result="not_found", origin=origin, reason=reason, org_id=principal.org_id, details=details,
        )  # fmt: skip


async def record_many(
    conn: Conn, *, principal: Principal, action: str, object_type: str, object_ids: Sequence[str],
    origin: Origin | None, reason: str | None, org_id: int,
) -> None:  # fmt: skip
    if not object_ids:
        return
    await conn.execute(
        """INSERT INTO audit_log (org_id, actor_id, action, object_type, object_id, result, origin, reason)
           SELECT $1, $2, $3, $4, o, 'ok', $6, $7 FROM unnest($5::text[]) AS o""",
        org_id,
        principal.account_id,
        action,
        object_type,
        list(object_ids),
        str(origin or ""),
        reason,
    )


async def search(
    conn: Conn, *, org_ids: Sequence[int], actor_id: int | None = None, action: str | None = None,
    object_type: str | None = None, object_id: str | None = None, since: datetime | None = None,
    until: datetime | None = None, limit: int = 200, result: str | None = None,
) -> list[Entry]:  # fmt: skip
    rows = await conn.fetch(
        """SELECT l.id, l.at, l.org_id, l.actor_id, l.action, l.object_type, l.object_id, l.result, l.origin,
                  l.reason, l.details, a.username AS actor_name
           FROM audit_log l LEFT JOIN accounts a ON a.id = l.actor_id
           WHERE l.org_id = ANY($1::int[])
             AND ($2::bigint IS NULL OR l.actor_id = $2) AND ($3::text IS NULL OR l.action = $3)
             AND ($4::text IS NULL OR l.object_type = $4) AND ($5::text IS NULL OR l.object_id = $5)
             AND ($6::timestamptz IS NULL OR l.at >= $6) AND ($7::timestamptz IS NULL OR l.at < $7)
             AND ($9::text IS NULL OR l.result = $9)
           ORDER BY l.id DESC LIMIT $8""",
        list(org_ids),
        actor_id,
        action,
        object_type,
        object_id,
        since,
        until,
        limit,
        result,
    )
    return [_entry(r) for r in rows]


async def disclosures_of(conn: Conn, object_ids: Sequence[str], since: datetime) -> list[Entry]:
    """Reads and exports of these registrations since ``since`` (an access request covers 4 years)."""
    rows = await conn.fetch(
        """SELECT l.id, l.at, l.org_id, l.actor_id, l.action, l.object_type, l.object_id, l.result, l.origin,
                  l.reason, l.details, a.username AS actor_name
           FROM audit_log l LEFT JOIN accounts a ON a.id = l.actor_id
           WHERE l.object_type = 'registration' AND l.object_id = ANY($1::text[]) AND l.at >= $2
           ORDER BY l.id""",
        list(object_ids),
        since,
    )
    return [_entry(r) for r in rows]


def _entry(r: asyncpg.Record) -> Entry:
    details = r["details"]
    if isinstance(details, str):
        details = msgspec.json.decode(details)
    return Entry(**{**dict(r), "details": details})
