"""The HTTP bodies the tablet and the backend both read: the session a login gives, and every error body.

The backend encodes these and the tablet decodes them with the same Structs, so a field added here reaches
both, and the tablet keeps what the backend says (an error's ``field`` above all) instead of guessing at keys.
New fields get defaults, so an older tablet still decodes a newer server's answer.
"""

from __future__ import annotations

import msgspec


class TokenPair(msgspec.Struct, kw_only=True):
    """The answer to ``POST /api/auth/login`` and ``/api/auth/refresh``: a short access token, a rotating
    refresh token (single use) and who the session is for.

    Not frozen: a client extends it with its own bookkeeping (the tablet's ``Session`` adds when it arrived),
    and msgspec does not let a mutable Struct inherit from a frozen one.
    """

    access_token: str
    refresh_token: str
    expires_in: int  # seconds the access token is valid
    account_id: int
    org_id: int
    role: str
    display_name: str
    device_id: int | None  # the registered tablet the session is bound to; None for a desk login


class ErrorBody(msgspec.Struct, frozen=True, kw_only=True):
    """Every 4xx/5xx answer of the backend: a machine ``code``, a readable ``detail`` and, for bad input, the
    dotted path of the ``field`` it is about (``offender.birth_date``), so a client can point at it."""

    status_code: int
    code: str
    detail: str
    field: str | None = None
    extra: list[dict[str, object]] | None = None  # Litestar's validation details, when there are any


error_body_decoder = msgspec.json.Decoder(ErrorBody)
token_pair_decoder = msgspec.json.Decoder(TokenPair)
