"""Register queries (vehicle plate, driving licence) between the backend and the police.

The backend queues a boa's query in `register_queries` (pending); the bridge sends it to the police as a
`register_query` message (message id `schakel:query:<id>`, so never twice) and marks it sent in the same
transaction. The partner answers with a `register_answer` naming the query; the bridge puts the answer on the
query row for the boa's request to take and blanks the inbox copy: the register's data is kept nowhere else.
An answer for a query that is no longer waiting (the boa gave up) is dropped.
"""

from __future__ import annotations

import json
from typing import Any

import asyncpg
import msgspec

from meldkamer_bridge import outbox

PREFIX = "schakel:query:"


class RegisterAnswer(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=False):
    type: str = "register_answer"
    query_id: str  # schakel:query:<id>
    status: str  # found | not_found | refused
    result: dict[str, Any] = {}
    source: str = ""


def decode_answer(body: bytes) -> RegisterAnswer:
    answer = msgspec.json.decode(body, type=RegisterAnswer)
    if not answer.query_id.startswith(PREFIX) or not answer.query_id[len(PREFIX) :].isdigit():
        raise ValueError(f"query_id must be {PREFIX}<number>")
    if answer.status not in ("found", "not_found", "refused"):
        raise ValueError("status must be found, not_found or refused")
    return answer


async def send_pending(conn: asyncpg.Connection, partner: str) -> int:
    """Queue pending queries for the police partner (call in a transaction); how many."""
    rows = await conn.fetch(
        """SELECT id, request FROM register_queries WHERE state = 'pending' ORDER BY id
           FOR UPDATE SKIP LOCKED LIMIT 50"""
    )
    for r in rows:
        body = {"type": "register_query", "query_id": f"{PREFIX}{r['id']}", **r["request"]}
        await outbox.enqueue(conn, partner, "register_query", json.dumps(body), f"{PREFIX}{r['id']}")
        await conn.execute("UPDATE register_queries SET state = 'sent' WHERE id = $1", r["id"])
    return len(rows)


async def take_in(conn: asyncpg.Connection, message: outbox.InboxMessage) -> str:
    """Put an answer on its query (if still waiting) and blank the inbox copy; returns the inbox result."""
    answer = decode_answer(message.body.encode("utf-8"))
    query_id = int(answer.query_id[len(PREFIX) :])
    stored = {"status": answer.status, "result": answer.result, "source": answer.source or message.partner}
    done = await conn.fetchval(
        """UPDATE register_queries SET answer = $2::jsonb, state = 'answered'
           WHERE id = $1 AND state = 'sent' RETURNING id""",
        query_id,
        stored,  # the pool's codec encodes jsonb
    )
    await conn.execute("UPDATE bridge_inbox SET body = '' WHERE id = $1", message.id)
    return f"answer for query {query_id}" + ("" if done else " dropped: nobody waits for it")
