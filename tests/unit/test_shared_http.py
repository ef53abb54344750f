"""The HTTP bodies backend and tablet share: the token pair and the error body, field included."""

from __future__ import annotations

import msgspec
import pytest
from litestar.exceptions import ValidationException

from backend.errors import BadInput, domain_error_handler, field_error_handler, validation_error_handler
from shared.http import ErrorBody, TokenPair, error_body_decoder, token_pair_decoder
from shared.registrations import FieldError


def _body(response: object) -> bytes:
    return msgspec.json.encode(response.content)  # type: ignore[attr-defined]


@pytest.mark.parametrize(("response", "status", "field"), [
    (domain_error_handler(None, BadInput("geef lon en lat samen", field="lon")), 400, "lon"),  # type: ignore[arg-type]
    (field_error_handler(None, FieldError("offender.name", "te lang")), 400, "offender.name"),  # type: ignore[arg-type]
    (validation_error_handler(None, ValidationException(  # type: ignore[arg-type]
        detail="Validation failed", extra=[{"key": "device_id", "message": "Expected `int`"}],
    )), 400, "device_id"),
])  # fmt: skip
def test_what_the_backend_answers_decodes_with_its_field(response: object, status: int, field: str) -> None:
    body = error_body_decoder.decode(_body(response))
    assert (body.status_code, body.code, body.field) == (status, "bad_input", field)
    assert body.detail


def test_a_conflict_with_its_differences_is_still_an_error_body() -> None:
    raw = b'{"status_code":409,"code":"conflict","detail":"id bezet","field":"id","differences":["text"]}'
    assert error_body_decoder.decode(raw) == ErrorBody(
        status_code=409, code="conflict", detail="id bezet", field="id"
    )


def test_an_error_body_without_code_is_not_one() -> None:
    with pytest.raises(msgspec.ValidationError, match="code"):
        error_body_decoder.decode(b'{"status_code": 401, "detail": "nee"}')


def test_the_token_pair_round_trips_and_a_desk_login_has_no_device() -> None:
    pair = TokenPair(
        access_token="a", refresh_token="r", expires_in=900, account_id=7, org_id=1, role="boa",
        display_name="Boa 07", device_id=None,
    )  # fmt: skip
    assert token_pair_decoder.decode(msgspec.json.encode(pair)) == pair
    with pytest.raises(msgspec.ValidationError, match="refresh_token"):
        token_pair_decoder.decode(b'{"access_token": "a"}')
