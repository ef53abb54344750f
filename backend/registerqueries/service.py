"""Register queries by a boa (vehicle plate, driving licence): with the purpose and the legal basis, carried
to the police by the meldkamer bridge and answered to the boa alone.

The backend queues the query (register_queries, pending); the bridge sends it to the police partner and puts
the answer back on the row, through any instance, which wakes the boa's waiting request wherever it is
(`LiveHub.wake_everywhere`: NOTIFY with the query id); the boa's request takes the answer, which erases it,
and the disclosure is logged in audit_log in the same transaction. Nothing of the register is kept: not the
answer, not a copy.
"""

from __future__ import annotations

import asyncio
import contextlib
import re
import time
from typing import Annotated, Any, Literal

import msgspec

from backend.auth.tokens import Principal
from backend.errors import BadInput, DomainError
from backend.privacy import audit
from backend.registerqueries import repository as repo
from backend.services import Services

ANSWER_TIMEOUT_S = 15.0
# the answer arrives through any instance (the bridge's POST) and wakes the waiting request by NOTIFY at once;
# the request also looks this often, in case that notification was lost (a listener reconnecting)
LOOK_AGAIN_S = 1.0
PLATE = re.compile(r"^[A-Z0-9]{6}$")  # Dutch plates: six characters without the dashes


class NoAnswer(DomainError):
    status_code = 504
    code = "no_answer"


class RegisterQueryRequest(msgspec.Struct, frozen=True, kw_only=True):
    kind: Literal["vehicle", "driving_licence"]
    plate: Annotated[str, msgspec.Meta(max_length=12)] | None = None
    document_number: Annotated[str, msgspec.Meta(pattern=r"^[0-9]{10}$")] | None = None
    purpose: Annotated[str, msgspec.Meta(min_length=5, max_length=300)]
    legal_basis: Annotated[str, msgspec.Meta(min_length=3, max_length=300)]


class RegisterAnswer(msgspec.Struct, frozen=True, kw_only=True):
    query_id: int
    kind: str
    subject: str
    status: str  # found | not_found | refused
    result: dict[str, Any] = {}
    source: str = ""  # who answered (the police system)


def answered_key(query_id: int) -> str:
    return f"register_query:{query_id}"


def _subject(data: RegisterQueryRequest) -> str:
    if data.kind == "vehicle":
        plate = re.sub(r"[\s-]", "", (data.plate or "").upper())
        if not PLATE.match(plate):
            raise BadInput("give the plate: six letters and digits, dashes allowed", field="plate")
        return plate
    if data.document_number is None:
        raise BadInput("give the document number of the driving licence (10 digits)", field="document_number")
    return data.document_number


async def ask(
    services: Services, principal: Principal, data: RegisterQueryRequest, origin: str
) -> RegisterAnswer:
    """Ask the police register for a boa (the route's guard admits boa's only) and log the disclosure."""
    subject = _subject(data)
    boa = principal.username or str(principal.account_id)
    request = {"kind": data.kind, "subject": subject, "purpose": data.purpose,
               "legal_basis": data.legal_basis, "boa": boa, "org_id": principal.org_id}  # fmt: skip
    async with services.pool.acquire() as conn:
        query_id = await repo.create(
            conn, principal.account_id, data.kind, subject, data.purpose, data.legal_basis, request
        )
    deadline = time.monotonic() + ANSWER_TIMEOUT_S
    key = answered_key(query_id)
    woken = services.hub.waiter(key)  # the bridge's answer, through whichever instance, wakes this request
    try:
        while time.monotonic() < deadline:
            woken.clear()
            async with services.pool.acquire() as conn, conn.transaction():
                answer = await repo.take_answer(conn, query_id)
                if answer is not None:
                    status = str(answer.get("status", ""))
                    await _log(conn, principal, data, subject, query_id, origin, status)
                    return RegisterAnswer(query_id=query_id, kind=data.kind, subject=subject, status=status,
                                          result=dict(answer.get("result") or {}),
                                          source=str(answer.get("source", "")))  # fmt: skip
            left = min(LOOK_AGAIN_S, deadline - time.monotonic())
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(woken.wait(), max(left, 0))
    finally:
        services.hub.unwait(key, woken)
    async with services.pool.acquire() as conn, conn.transaction():
        await repo.expire(conn, query_id)
        await _log(conn, principal, data, subject, query_id, origin, "no_answer")
    raise NoAnswer("the police register did not answer in time; try again later")


async def _log(
    conn: Any, principal: Principal, data: RegisterQueryRequest, subject: str, query_id: int, origin: str,
    status: str,
) -> None:  # fmt: skip
    granted = status in ("found", "not_found")
    await audit.record(
        conn, principal=principal, action="disclosure", object_type=data.kind, object_id=subject,
        result="granted" if granted else status, origin=audit.Origin(address=origin), reason=data.purpose,
        details={"legal_basis": data.legal_basis, "query_id": query_id, "status": status},
    )  # fmt: skip
