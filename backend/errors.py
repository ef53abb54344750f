"""Domain exceptions and their one mapping to HTTP responses."""

from __future__ import annotations

import logging
import re
from typing import Any

import asyncpg
from litestar import Request, Response
from litestar.exceptions import HTTPException, SerializationException, ValidationException

from shared.http import ErrorBody
from shared.registrations import FieldError

log = logging.getLogger(__name__)


class DomainError(Exception):
    status_code = 400
    code = "bad_request"

    def __init__(self, message: str, *, field: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.field = field


class BadInput(DomainError):
    status_code = 400
    code = "bad_input"


class Unauthorized(DomainError):
    status_code = 401
    code = "unauthorized"


class Forbidden(DomainError):
    status_code = 403
    code = "forbidden"


class NotFound(DomainError):
    status_code = 404
    code = "not_found"


class Conflict(DomainError):
    status_code = 409
    code = "conflict"


class TooLarge(DomainError):
    status_code = 413
    code = "too_large"


class TooManyRequests(DomainError):
    """429: the caller must wait `retry_after_s` seconds (sent as Retry-After)."""

    status_code = 429
    code = "too_many_requests"

    def __init__(self, message: str, *, retry_after_s: int, field: str | None = None) -> None:
        super().__init__(message, field=field)
        self.retry_after_s = retry_after_s


def domain_error_handler(_: Request[Any, Any, Any], exc: DomainError) -> Response[ErrorBody]:
    body = ErrorBody(status_code=exc.status_code, code=exc.code, detail=exc.message, field=exc.field)
    headers = {"Retry-After": str(exc.retry_after_s)} if isinstance(exc, TooManyRequests) else None
    return Response(body, status_code=exc.status_code, headers=headers)


def field_error_handler(_: Request[Any, Any, Any], exc: FieldError) -> Response[ErrorBody]:
    """A registration the shared decoder or the backend's checks refused: bad input naming its field."""
    body = ErrorBody(status_code=400, code=BadInput.code, detail=exc.message, field=exc.field)
    return Response(body, status_code=400)


def validation_error_handler(_: Request[Any, Any, Any], exc: ValidationException) -> Response[ErrorBody]:
    extra = exc.extra if isinstance(exc.extra, list) else None
    field = None
    if extra and isinstance(extra[0], dict):
        field = str(extra[0].get("key") or "") or None
        if (
            field == "data"
        ):  # Litestar's name for the whole body: name the field the message names, or the body
            field = _field_in(str(extra[0].get("message") or "")) or "body"
    detail = exc.detail
    if extra and isinstance(extra[0], dict) and extra[0].get("message"):
        detail = f"{detail}: {extra[0]['message']}"
    return Response(
        ErrorBody(status_code=400, code="bad_input", detail=detail, field=field, extra=extra), status_code=400
    )


_AT_FIELD = re.compile(r"at `\$\.([A-Za-z0-9_.\[\]]+)`")
_MISSING_FIELD = re.compile(r"missing required field `([^`]+)`")


def _field_in(message: str) -> str | None:
    """The body field a msgspec message names: "... - at `$.lat`" or "missing required field `category`"."""
    match = _AT_FIELD.search(message) or _MISSING_FIELD.search(message)
    return match.group(1) if match else None


def http_error_handler(_: Request[Any, Any, Any], exc: HTTPException) -> Response[ErrorBody]:
    if isinstance(exc.__cause__, SerializationException):  # Litestar's wrapper around a malformed JSON body
        return Response(
            ErrorBody(status_code=400, code="bad_input", detail=exc.detail, field="body"), status_code=400
        )
    return Response(
        ErrorBody(status_code=exc.status_code, code="http_error", detail=exc.detail),
        status_code=exc.status_code,
    )


def data_error_handler(request: Request[Any, Any, Any], exc: asyncpg.DataError) -> Response[ErrorBody]:
    """A value PostgreSQL cannot take (an id beyond its int4 range, a NUL character): bad input, not a crash.

    The edges should reject such values with a field-level message; this is the net under the ones they miss.
    """
    log.warning("data error on %s %s: %s", request.method, request.url.path, exc)
    return Response(
        ErrorBody(status_code=400, code="bad_input", detail="a value is out of range or cannot be stored"),
        status_code=400,
    )


def internal_error_handler(request: Request[Any, Any, Any], exc: Exception) -> Response[ErrorBody]:
    log.exception("unhandled error on %s %s", request.method, request.url.path, exc_info=exc)
    return Response(
        ErrorBody(status_code=500, code="internal_error", detail="internal error; it has been logged"),
        status_code=500,
    )


EXCEPTION_HANDLERS = {
    DomainError: domain_error_handler,
    FieldError: field_error_handler,
    ValidationException: validation_error_handler,
    HTTPException: http_error_handler,
    asyncpg.DataError: data_error_handler,
    Exception: internal_error_handler,
}
