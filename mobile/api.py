"""The tablet's HTTP calls to the backend, in one place so the paths and bodies are easy to adjust.

Login, refresh, shifts, units and beats are the spine's routes; the boa's own rooster is read-only.
Registrations and photos follow the registration API (client-made UUID `id`, photos addressed by their
sha256) and always go through the outbox.
"""

from __future__ import annotations

import hashlib
import logging
import uuid
from collections.abc import Awaitable, Callable
from datetime import date, datetime
from typing import Any

import httpx
import msgspec

from mobile.i18n import server_text
from shared.feitcodes import FeitResult
from shared.http import TokenPair, error_body_decoder
from shared.kenteken import KentekenAnswer
from shared.rooster import PlannedShiftView

TIMEOUT_S = 15.0
TOKEN_PATHS = ("/api/auth/login", "/api/auth/refresh")
log = logging.getLogger(__name__)


class ApiError(Exception):
    """The server answered with an error; `status` 0 means it could not be reached."""

    def __init__(self, status: int, message: str, field: str | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.field = field

    @property
    def transient(self) -> bool:
        """Worth retrying unchanged: no network, a timeout, rate limiting or a server-side failure."""
        return self.status == 0 or self.status in (408, 425, 429) or self.status >= 500


class Session(TokenPair, kw_only=True):
    """The backend's token pair, plus when it arrived (to refresh before it expires)."""

    obtained_at: float = 0.0  # monotonic-ish wall clock when the pair arrived


def _error_of(response: httpx.Response) -> ApiError:
    """The backend's error body (``shared.http.ErrorBody``) as an ApiError that keeps its ``field``.

    A body that is not one (a proxy's HTML page, an empty 502) leaves the HTTP reason phrase and no field.
    """
    status = response.status_code
    try:
        body = error_body_decoder.decode(response.content)
    except msgspec.DecodeError:
        return ApiError(status, server_text(status, response.reason_phrase))
    return ApiError(status, server_text(status, body.detail or response.reason_phrase), body.field)


_session = msgspec.json.Decoder(Session)
_feit_result = msgspec.json.Decoder(FeitResult)
_rooster = msgspec.json.Decoder(list[PlannedShiftView])
_kenteken = msgspec.json.Decoder(KentekenAnswer)


class Api:
    def __init__(self, base_url: str, *, transport: httpx.AsyncBaseTransport | None = None) -> None:
        self.base_url = base_url.rstrip("/")
        self._http = httpx.AsyncClient(base_url=self.base_url, timeout=TIMEOUT_S, transport=transport)
        self.token: str | None = None
        # refreshes the token pair: before a call when it is about to expire (None), or after the server
        # refused this access token; set by the session's link (every call refreshes, not only the link's)
        self.fresh: Callable[[str | None], Awaitable[None]] | None = None

    @property
    def ws_url(self) -> str:
        return self.base_url.replace("http", "ws", 1) + "/ws/field"

    async def close(self) -> None:
        await self._http.aclose()

    async def _call(self, method: str, path: str, *, retry: bool = True, **kwargs: Any) -> httpx.Response:
        own_token = path.startswith(TOKEN_PATHS)  # login and refresh carry their own credentials
        if self.fresh is not None and self.token is not None and not own_token:
            await self.fresh(None)  # expiring: a new pair first (15 minutes pass quickly on a shift)
        headers = dict(kwargs.get("headers", {}))
        used = self.token
        if used is not None:
            headers["Authorization"] = f"Bearer {used}"
        try:
            response = await self._http.request(method, path, **{**kwargs, "headers": headers})
        except httpx.HTTPError as exc:  # httpx's English ("All connection attempts failed") stays in the log
            log.info("%s %s: %s", method, path, exc or type(exc).__name__)
            raise ApiError(0, server_text(0, "")) from exc
        if response.status_code == 401 and retry and self.fresh is not None and used and not own_token:
            await self.fresh(used)  # refused (expired early, clocks apart): refresh once and try again
            return await self._call(method, path, retry=False, **kwargs)
        if response.status_code >= 400:
            raise _error_of(response)
        return response

    # --- the spine ----------------------------------------------------------------------------------------

    async def login(
        self, username: str, password: str, device_id: int | None, device_secret: str | None = None
    ) -> Session:
        """Log in; bound to this tablet by its id and the enrolment secret its team lead issued."""
        r = await self._call(
            "POST",
            "/api/auth/login",
            json={
                "username": username,
                "password": password,
                "device_id": device_id,
                "device_secret": device_secret,
            },
        )
        return _session.decode(r.content)

    async def refresh(self, refresh_token: str) -> Session:
        r = await self._call("POST", "/api/auth/refresh", json={"refresh_token": refresh_token})
        return _session.decode(r.content)

    async def logout(self, refresh_token: str) -> None:
        await self._call("POST", "/api/auth/logout", json={"refresh_token": refresh_token})

    async def units(self) -> list[dict[str, Any]]:
        return list((await self._call("GET", "/api/units")).json())

    async def beats(self) -> dict[str, Any]:
        return dict((await self._call("GET", "/api/beats")).json())

    async def colleagues(self) -> list[dict[str, Any]]:
        """The boa's of the organisation, to choose a duo partner ([] when the server has no such list)."""
        try:
            r = await self._call("GET", "/api/accounts", params={"role": "boa"})
        except ApiError as exc:
            if exc.status in (403, 404, 405):
                return []
            raise
        return [{"id": a["id"], "name": a.get("display_name") or a["username"]} for a in r.json()]

    async def open_shifts(self) -> list[dict[str, Any]]:
        """The organisation's units on duty and who is on them ([] from a server without that list)."""
        try:
            r = await self._call("GET", "/api/shifts/open")
        except ApiError as exc:
            if exc.status in (404, 405):
                return []
            raise
        return list(r.json())

    async def start_shift(self, unit_id: int, account_ids: list[int], beat_ids: list[int]) -> int:
        r = await self._call(
            "POST", "/api/shifts", json={"unit_id": unit_id, "account_ids": account_ids, "beat_ids": beat_ids}
        )
        return int(r.json()["id"])

    async def end_shift(self, shift_id: int) -> None:
        await self._call("POST", f"/api/shifts/{shift_id}/end")

    async def my_rooster(self, start: date, days: int) -> list[PlannedShiftView]:
        """The boa's own published shifts (the latest version of each plan) on [start, start + days)."""
        r = await self._call("GET", "/api/me/rooster", params={"from": start.isoformat(), "days": days})
        return _rooster.decode(r.content)

    async def feitcodes(self, q: str, lon: float | None, lat: float | None, limit: int = 20) -> FeitResult:
        """The server's feitcode search: the organisation's track, the boa's domains, APV zones here first."""
        params: dict[str, Any] = {"q": q, "limit": limit}
        if lon is not None and lat is not None:
            params.update(lon=lon, lat=lat)
        return _feit_result.decode((await self._call("GET", "/api/feitcodes", params=params)).content)

    async def kenteken(self, plate: str, purpose: str) -> KentekenAnswer:
        """The RDW open data about a vehicle (`GET /api/kenteken/{plate}`); the purpose is logged."""
        r = await self._call("GET", f"/api/kenteken/{plate}", params={"purpose": purpose})
        return _kenteken.decode(r.content)

    async def observation_categories(self) -> list[str]:
        """The waarneming categories of the organisation ([] when the server has no registration API yet)."""
        try:
            r = await self._call("GET", "/api/observation-categories")
        except ApiError as exc:
            if exc.status in (404, 405):
                return []
            raise
        return [str(c) for c in r.json()]

    async def receipt(self, registration_id: str) -> dict[str, Any]:
        """What a fine's kennisgeving says (kenmerk, amount, place); 404 until the fine has arrived."""
        return dict((await self._call("GET", f"/api/registrations/{registration_id}/receipt.json")).json())

    async def receipt_pdf(self, registration_id: str) -> bytes:
        """The fine's kennisgeving as the PDF the offender may get (A5); 404 until the fine has arrived."""
        return (await self._call("GET", f"/api/registrations/{registration_id}/receipt.pdf")).content

    # --- the outbox's requests ----------------------------------------------------------------------------

    async def send(self, method: str, path: str, body: bytes, content_type: str) -> None:
        """Send one queued request. A resend of the same content is answered 200 and stores nothing; a 409
        means the id is taken by other content — a real conflict the boa must see, not a success."""
        await self._call(method, path, content=body, headers={"Content-Type": content_type})


# --- bodies of the registration API ---------------------------------------------------------------------


def new_registration_id() -> str:
    return str(uuid.uuid4())


def photo_request(data: bytes) -> tuple[str, str, str]:
    """(key, method, path) for uploading a photo addressed by its content."""
    digest = hashlib.sha256(data).hexdigest()
    return digest, "PUT", f"/api/photos/{digest}"


def photo_type(data: bytes) -> str:
    """The server takes JPEG and PNG and checks the signature against the Content-Type."""
    return "image/png" if data.startswith(b"\x89PNG\r\n\x1a\n") else "image/jpeg"


def registration_request(
    *,
    registration_id: str,
    kind: str,
    at: datetime,
    lon: float,
    lat: float,
    accuracy_m: float | None,
    fields: dict[str, Any],
    photos: list[str],
) -> tuple[str, str, bytes]:
    """(method, path, body) of a registration; `kind` is waarneming, fine or aggression.

    The server fills in the unit (from the device), the beat (from the point) and the legal regime.
    """
    body = {
        "kind": kind,
        "id": registration_id,
        "occurred_at": at.isoformat(),
        "location": {"lon": lon, "lat": lat, "accuracy_m": accuracy_m},
        "photos": photos,
        **fields,
    }
    return "POST", "/api/registrations", msgspec.json.encode(body)
