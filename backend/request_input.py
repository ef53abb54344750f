"""What route handlers read from a request beyond Litestar's own parsing: raw bodies with a size limit, query
texts PostgreSQL can store, and where a call came from for the audit log."""

from __future__ import annotations

import re
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


MAX_JSON_DEPTH = 64  # a GeoJSON MultiPolygon in a FeatureCollection is 7 deep, a registration 4
_JSON_STRING = re.compile(rb'"(?:[^"\\]|\\.)*"')
_NOT_BRACKETS = bytes(set(range(256)) - set(b"[]{}"))


def json_too_deep(raw: bytes, limit: int = MAX_JSON_DEPTH) -> bool:
    """Whether the arrays and objects of a JSON text nest deeper than ``limit`` (brackets inside strings do
    not count); a text up to twice as deep may pass, which any decoder takes.

    msgspec has no depth limit of its own and recurses per level, so a body nested 50,000 deep must be
    refused before anything decodes it. The scan stays in C: drop the strings and all but the brackets, then
    peel the innermost pairs off, one or two levels a pass, at most ``limit`` passes (10 MB of GeoJSON:
    0.1 s).
    """
    brackets = _JSON_STRING.sub(b"", raw).translate(None, _NOT_BRACKETS)
    if brackets.count(b"[") + brackets.count(b"{") <= limit:
        return False
    for level in range(limit):
        peeled = brackets.replace(b"[]", b"").replace(b"{}", b"")
        if not peeled:
            return False
        if peeled == brackets:  # what is left never closes: not JSON; refuse it if it opens too deep
            return level + brackets.count(b"[") + brackets.count(b"{") > limit
        brackets = peeled
    return True


def _looks_like_json(request: AnyRequest, raw: bytes) -> bool:
    media = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if media.startswith(("image/", "multipart/")) or media == "application/x-www-form-urlencoded":
        return False
    return "json" in media or raw.lstrip()[:1] in (b"{", b"[")


async def bound_json_depth(request: AnyRequest) -> None:
    """App-wide before_request: a JSON body (declared, or read by hand) may nest at most MAX_JSON_DEPTH deep.

    It runs after the guards and before Litestar parses anything, reading the body once (Litestar keeps it
    for the handler, and request_max_body_size bounds it: 413).
    """
    if request.method in ("GET", "HEAD", "OPTIONS", "DELETE"):
        return
    raw = await request.body()
    if raw and _looks_like_json(request, raw) and json_too_deep(raw):
        raise BadInput(f"JSON nests deeper than {MAX_JSON_DEPTH} levels", field="body")


def texts(**values: str | None) -> None:
    """Query strings go into SQL as text: no NUL (PostgreSQL refuses it), nothing absurdly long."""
    for field, value in values.items():
        if value is not None and ("\x00" in value or len(value) > 200):
            raise BadInput("ongeldige tekst", field=field)


def times(**values: datetime | None) -> None:
    """Query times go into SQL as UTC: a time at the end of the calendar with an offset (year 1 at +14:00,
    year 9999 at -14:00) has no UTC form and is bad input naming its parameter, not a database error."""
    for field, value in values.items():
        if value is not None:
            try:
                value.astimezone(UTC)
            except (OverflowError, ValueError):
                raise BadInput("tijdstip buiten het bereik", field=field) from None


def now() -> datetime:
    return datetime.now(UTC)
