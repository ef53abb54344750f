"""Photos in PostgreSQL: which hashes an organisation holds and who may read them (the caller owns the
transaction)."""

from __future__ import annotations

from collections.abc import Sequence

from backend.auth.tokens import Principal
from backend.db.pool import Conn
from backend.registrations.repository import visibility


async def photo_known(conn: Conn, org_id: int, sha256: str) -> bool:
    return bool(
        await conn.fetchval("SELECT true FROM photos WHERE org_id = $1 AND sha256 = $2", org_id, sha256)
    )


async def insert_photo(
    conn: Conn, org_id: int, sha256: str, size: int, content_type: str, account_id: int
) -> bool:
    inserted = await conn.fetchval(
        """INSERT INTO photos (org_id, sha256, size_bytes, content_type, uploaded_by)
           VALUES ($1, $2, $3, $4, $5)
           ON CONFLICT (org_id, sha256) DO NOTHING RETURNING true""",
        org_id,
        sha256,
        size,
        content_type,
        account_id,
    )
    return bool(inserted)


async def missing_photos(conn: Conn, org_id: int, hashes: Sequence[str]) -> list[str]:
    rows = await conn.fetch(
        """SELECT h FROM unnest($2::text[]) AS h
           WHERE NOT EXISTS (SELECT 1 FROM photos p WHERE p.org_id = $1 AND p.sha256 = h) ORDER BY h""",
        org_id,
        list(hashes),
    )
    return [r["h"] for r in rows]


async def photo_content_type(conn: Conn, principal: Principal, sha256: str) -> str | None:
    """The photo's type if the caller may see it: it belongs to a registration he can read, or he sent it."""
    condition, params = visibility(principal, 4)
    return await conn.fetchval(  # type: ignore[no-any-return]
        f"""SELECT p.content_type FROM photos p WHERE p.org_id = $1 AND p.sha256 = $2
              AND ((p.uploaded_by = $3 AND p.state = 'stored')
                   OR EXISTS (SELECT 1 FROM registrations r WHERE p.sha256 = ANY(r.photo_hashes)
                              AND {condition}))""",
        principal.org_id,
        sha256,
        principal.account_id,
        *params,
    )


async def photo_owner_orgs(conn: Conn, sha256: str) -> list[int]:
    """The organisations holding a photo, whoever asks: for the audit log of a refused read only."""
    rows = await conn.fetch("SELECT org_id FROM photos WHERE sha256 = $1 ORDER BY org_id", sha256)
    return [r["org_id"] for r in rows]


async def photo_in_use_anywhere(conn: Conn, sha256: str) -> bool:
    return bool(await conn.fetchval("SELECT true FROM photos WHERE sha256 = $1 LIMIT 1", sha256))
