"""Register queries (vehicle plate, driving licence) between the backend and the police.

The backend queues a boa's query (pending) and offers it to the bridge (GET /api/bridge/register-queries);
the bridge queues it for the police as a `register_query` message (message id `schakel:query:<id>`, so
never twice, even when it is offered again after a crash) and then tells the backend it is sent. The partner
answers with a `register_answer` naming the query; the bridge posts the answer onto the query for the boa's
request to take and blanks its inbox copy: the register's data is kept nowhere else. An answer for a query
that is no longer waiting (the boa gave up) is dropped.
"""

from __future__ import annotations

import json
from typing import Any

import msgspec

from shared.bridge_api import PendingQuery, QueryAnswer

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


def query_msg_id(query_id: int) -> str:
    return f"{PREFIX}{query_id}"


def query_body(query: PendingQuery) -> str:
    """The `register_query` message for the police."""
    return json.dumps({"type": "register_query", "query_id": query_msg_id(query.query_id), **query.request})


def answer_for(answer: RegisterAnswer, partner: str) -> tuple[int, QueryAnswer]:
    """The query an answer belongs to and what the backend keeps of it until the boa takes it."""
    query_id = int(answer.query_id[len(PREFIX) :])
    return query_id, QueryAnswer(
        status=answer.status,  # type: ignore[arg-type]  # checked in decode_answer
        result=answer.result,
        source=answer.source or partner,
    )
