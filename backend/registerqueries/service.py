"""Register queries by a boa (vehicle plate, driving licence): with the purpose and the legal basis, carried
to the police by the meldkamer bridge and answered to the boa alone.

The backend queues the query (register_queries, pending); the bridge sends it to the police partner and puts
the answer back on the row; the boa's request takes the answer, which erases it, and the disclosure is logged
in audit_log in the same transaction. Nothing of the register is kept: not the answer, not a copy.
"""

from __future__ import annotations

import asyncio
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
    while time.monotonic() < deadline:
        async with services.pool.acquire() as conn, conn.transaction():
            answer = await repo.take_answer(conn, query_id)
            if answer is not None:
                status = str(answer.get("status", ""))
                await _log(conn, principal, data, subject, query_id, origin, status)
                return RegisterAnswer(query_id=query_id, kind=data.kind, subject=subject, status=status,
                                      result=dict(answer.get("result") or {}),
                                      source=str(answer.get("source", "")))  # fmt: skip
        await asyncio.sleep(0.1)
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
