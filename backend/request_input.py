"""What route handlers read from a request beyond Litestar's own parsing: raw bodies with a size limit, query
texts PostgreSQL can store, and where a call came from for the audit log."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from litestar import Request

from backend.auth.tokens import Principal
from backend.errors import BadInput, TooLarge
from backend.privacy import audit

AnyRequest = Request[Any, Any, Any]


def origin(request: AnyRequest, principal: Principal) -> audit.Origin:
    return audit.Origin(address=request.client.host if request.client else "", device_id=principal.device_id)


def reason(request: AnyRequest) -> str | None:
    """Why the caller reads personal data (header ``X-Reason`` or query ``reason``), for the audit log."""
    given = request.headers.get("x-reason") or request.query_params.get("reason")
    return given.replace("\x00", "")[:1000] if given else None


async def body(request: AnyRequest, limit: int = 1024 * 1024) -> bytes:
    raw = await request.body()
    if len(raw) > limit:
        raise TooLarge(f"body larger than {limit} bytes", field="body")
    return raw


def texts(**values: str | None) -> None:
    """Query strings go into SQL as text: no NUL (PostgreSQL refuses it), nothing absurdly long."""
    for field, value in values.items():
        if value is not None and ("\x00" in value or len(value) > 200):
            raise BadInput("ongeldige tekst", field=field)


def now() -> datetime:
    return datetime.now(UTC)
