"""Domain exceptions and their one mapping to HTTP responses."""

from __future__ import annotations

import logging
import re

import msgspec
from litestar import Request, Response
from litestar.exceptions import HTTPException, ValidationException

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


class ErrorBody(msgspec.Struct, frozen=True, kw_only=True):
    status_code: int
    code: str
    detail: str
    field: str | None = None
    extra: list[dict[str, object]] | None = None


def domain_error_handler(_: Request, exc: DomainError) -> Response[ErrorBody]:
    body = ErrorBody(status_code=exc.status_code, code=exc.code, detail=exc.message, field=exc.field)
    return Response(body, status_code=exc.status_code)


def validation_error_handler(_: Request, exc: ValidationException) -> Response[ErrorBody]:
    extra = exc.extra if isinstance(exc.extra, list) else None
    field = None
    if extra and isinstance(extra[0], dict):
        field = _field_in(str(extra[0].get("message") or "")) or str(extra[0].get("key") or "") or None
    detail = exc.detail
    if extra and isinstance(extra[0], dict) and extra[0].get("message"):
        detail = f"{detail}: {extra[0]['message']}"
    return Response(
        ErrorBody(status_code=400, code="bad_input", detail=detail, field=field, extra=extra), status_code=400
    )


def _field_in(message: str) -> str | None:
    """The body field a msgspec message names: "... - at `$.lat`" or "missing required field `category`"."""
    match = re.search(r"at `\$\.([A-Za-z0-9_.\[\]]+)`", message) or re.search(r"required field `([^`]+)`", message)
    return match.group(1) if match else None


def http_error_handler(_: Request, exc: HTTPException) -> Response[ErrorBody]:
    return Response(
        ErrorBody(status_code=exc.status_code, code="http_error", detail=exc.detail), status_code=exc.status_code
    )


def internal_error_handler(request: Request, exc: Exception) -> Response[ErrorBody]:
    log.exception("unhandled error on %s %s", request.method, request.url.path, exc_info=exc)
    return Response(
        ErrorBody(status_code=500, code="internal_error", detail="internal error; it has been logged"),
        status_code=500,
    )


EXCEPTION_HANDLERS = {
    DomainError: domain_error_handler,
    ValidationException: validation_error_handler,
    HTTPException: http_error_handler,
    Exception: internal_error_handler,
}
