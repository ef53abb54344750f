"""Retention in PostgreSQL: the periods per regime and the pass that archives and deletes (caller owns the
transaction)."""

from __future__ import annotations

import uuid
from datetime import datetime

import asyncpg
import msgspec

from backend.db.pool import Conn
from backend.errors import BadInput


class RetentionPeriod(msgspec.Struct, frozen=True, kw_only=True):
    regime: str
    listed_for: str | None
    archive_after: str
    delete_after: str


async def retention_periods(conn: Conn) -> list[RetentionPeriod]:
    rows = await conn.fetch(
        """SELECT regime, listed_for::text, archive_after::text, delete_after::text FROM retention_periods
           ORDER BY regime"""
    )
    return [RetentionPeriod(**dict(r)) for r in rows]


async def set_retention_period(
    conn: Conn, regime: str, *, listed_for: str | None, archive_after: str, delete_after: str
) -> None:
    """Periods as PostgreSQL intervals ('5 years'); listed_for 'none' removes the listing limit."""
    try:
        await conn.execute(
            """UPDATE retention_periods
               SET listed_for = CASE WHEN $2 = 'none' THEN NULL ELSE $2::text::interval END,
                   archive_after = $3::text::interval, delete_after = $4::text::interval WHERE regime = $1""",
            regime,
            listed_for or "none",
            archive_after,
            delete_after,
        )
    except (asyncpg.DataError, asyncpg.InvalidTextRepresentationError) as exc:
        raise BadInput(f"not a period: {exc}", field="period") from None


class RetentionResult(msgspec.Struct, frozen=True, kw_only=True):
    archived: list[uuid.UUID]
    deleted: list[uuid.UUID]
    photos_deleted: list[str]  # hashes no longer referenced by any registration (files may be removed)


async def run_retention(conn: Conn, now: datetime) -> RetentionResult:
    """Archive what is past its regime's period, delete archived rows past theirs, drop orphaned photos."""
    archived = await conn.fetch(
        """UPDATE registrations r SET state = 'archived', archived_at = $1
           FROM retention_periods p
           WHERE p.regime = r.regime AND r.state <> 'archived' AND r.received_at + p.archive_after <= $1
           RETURNING r.id""",
        now,
    )
    deleted = await conn.fetch(
        """DELETE FROM registrations r USING retention_periods p
           WHERE p.regime = r.regime AND r.state = 'archived' AND r.archived_at + p.delete_after <= $1
           RETURNING r.id, r.org_id, r.photo_hashes""",
        now,
    )
    candidates = {(row["org_id"], h) for row in deleted for h in row["photo_hashes"]}
    gone: list[str] = []
    for org_id, sha in sorted(candidates):
        removed = await conn.fetchval(
            """DELETE FROM photos p WHERE p.org_id = $1 AND p.sha256 = $2
                 AND NOT EXISTS (SELECT 1 FROM registrations r
                                 WHERE r.org_id = $1 AND $2 = ANY(r.photo_hashes))
               RETURNING sha256""",
            org_id,
            sha,
        )
        if removed:
            gone.append(removed)
    # A photo is archived with the last registration using it, and back in use when a new one refers to it.
    await conn.execute(
        """UPDATE photos p SET state = 'stored' WHERE p.state = 'archived'
             AND EXISTS (SELECT 1 FROM registrations r
                         WHERE r.org_id = p.org_id AND p.sha256 = ANY(r.photo_hashes)
                         AND r.state <> 'archived')"""
    )
    await conn.execute(
        """UPDATE photos p SET state = 'archived' WHERE p.state = 'stored'
             AND EXISTS (SELECT 1 FROM registrations r
                         WHERE r.org_id = p.org_id AND p.sha256 = ANY(r.photo_hashes))
             AND NOT EXISTS (SELECT 1 FROM registrations r
                             WHERE r.org_id = p.org_id AND p.sha256 = ANY(r.photo_hashes)
                             AND r.state <> 'archived')"""
    )
    return RetentionResult(
        archived=[r["id"] for r in archived], deleted=[r["id"] for r in deleted], photos_deleted=gone
    )
