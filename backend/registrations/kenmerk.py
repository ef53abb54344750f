"""The kenmerk a citizen can quote: short, stable, unique within the gemeente.

``26-K7M3-Q9XA``: the two-digit year of the fine and eight Crockford base-32 characters (no I, L, O or U, so
nothing reads as another letter or a digit) derived from the registration's UUID with SHA-256. The derivation
is pure and repeatable; the first kenmerk is stored (``registration_kenmerken``) when the fine is stored, or
the first time its receipt is asked for, and read back from then on, so it never changes. Two fines of a
gemeente that would derive the same one (40 bits: about one in a trillion per pair) take the next attempt.
"""

from __future__ import annotations

import hashlib
import uuid
from datetime import datetime

from backend.db.pool import Conn
from backend.registrations.validation import LOCAL

ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"  # Crockford base 32
ATTEMPTS = 16


def derive(registration_id: uuid.UUID, occurred_at: datetime, attempt: int = 0) -> str:
    """The kenmerk for this registration (pure); `attempt` > 0 only after a collision within a gemeente."""
    digest = hashlib.sha256(registration_id.bytes + attempt.to_bytes(2, "big")).digest()
    number = int.from_bytes(digest[:5], "big")  # 40 bits: eight base-32 characters
    chars = "".join(ALPHABET[(number >> shift) & 31] for shift in range(35, -1, -5))
    return f"{occurred_at.astimezone(LOCAL):%y}-{chars[:4]}-{chars[4:]}"


async def assign(conn: Conn, org_id: int, registration_id: uuid.UUID, occurred_at: datetime) -> str:
    """The registration's kenmerk: the stored one, else the first free derivation (stored now)."""
    for attempt in range(ATTEMPTS):
        stored = await conn.fetchval(
            """INSERT INTO registration_kenmerken (registration_id, org_id, kenmerk) VALUES ($1, $2, $3)
               ON CONFLICT DO NOTHING RETURNING kenmerk""",
            registration_id,
            org_id,
            derive(registration_id, occurred_at, attempt),
        )
        if stored is not None:
            return str(stored)
        existing = await get(conn, registration_id)
        if existing is not None:
            return existing
    raise RuntimeError(f"no free kenmerk for {registration_id} after {ATTEMPTS} attempts")


async def get(conn: Conn, registration_id: uuid.UUID) -> str | None:
    value = await conn.fetchval(
        "SELECT kenmerk FROM registration_kenmerken WHERE registration_id = $1", registration_id
    )
    return None if value is None else str(value)
