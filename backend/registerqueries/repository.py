"""Register queries in SQL: pending until the bridge sends them, the answer held only until the boa has it."""

from __future__ import annotations

from typing import Any

from backend.db.pool import Conn


async def create(
    conn: Conn, account_id: int, kind: str, subject: str, purpose: str, legal_basis: str,
    request: dict[str, Any],
) -> int:  # fmt: skip
    query_id: int = await conn.fetchval(
        """INSERT INTO register_queries (account_id, kind, subject, purpose, legal_basis, request)
           VALUES ($1, $2, $3, $4, $5, $6::jsonb) RETURNING id""",
        account_id,
        kind,
        subject,
        purpose,
        legal_basis,
        request,  # the pool's codec encodes jsonb
    )
    return query_id


async def take_answer(conn: Conn, query_id: int) -> dict[str, Any] | None:
    """The answer, erased as it is taken (state disclosed); None while there is none."""
    raw = await conn.fetchval(
        """UPDATE register_queries q SET answer = NULL, state = 'disclosed'
           FROM (SELECT id, answer FROM register_queries WHERE id = $1 AND state = 'answered' FOR UPDATE) old
           WHERE q.id = old.id RETURNING old.answer""",
        query_id,
    )
    return dict(raw) if raw is not None else None


async def expire(conn: Conn, query_id: int) -> None:
    await conn.execute(
        "UPDATE register_queries SET state = 'expired', answer = NULL WHERE id = $1 AND state <> 'disclosed'",
        query_id,
    )
