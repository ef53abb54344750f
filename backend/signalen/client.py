"""Signalen over HTTP with an OIDC client-credentials token; every failure a `SignalenError` saying why.

The token comes from the configured OIDC token endpoint (`grant_type=client_credentials`, RFC 6749 section
4.4, client id and secret in the form body) and is renewed before it expires (at 80 % of `expires_in`, or at
once after a 401: a token the server no longer takes is fetched again, and the call retried once).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any, TypeVar

import httpx
import msgspec

from backend.signalen import logic

PRIVATE = "/signals/v1/private/signals/"
T = TypeVar("T")


class SignalenError(Exception):
    """A call that did not get through; `final` when trying again cannot help (a refused change)."""

    def __init__(self, message: str, *, final: bool = False, retry_after: float | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.final = final
        self.retry_after = retry_after


class Token(msgspec.Struct, frozen=True):
    access_token: str
    expires_in: float = 300.0
    token_type: str = "Bearer"


def _retry_after(r: httpx.Response) -> float | None:
    value = r.headers.get("Retry-After", "")
    try:
        return max(0.0, float(value))
    except ValueError:
        return None


class SignalenClient:
    def __init__(
        self, base_url: str, token_url: str, client_id: str, client_secret: str, timeout_s: float
    ) -> None:
        self._base = base_url.rstrip("/")
        self._token_url = token_url
        self._id = client_id
        self._secret = client_secret
        self._http = httpx.AsyncClient(timeout=httpx.Timeout(timeout_s))
        self._token: str | None = None
        self._renew_at = 0.0
        self.tokens_fetched = 0

    async def close(self) -> None:
        await self._http.aclose()

    def url(self, path: str) -> str:
        return path if path.startswith("http") else self._base + path

    async def _fetch_token(self) -> str:
        form = {"grant_type": "client_credentials", "client_id": self._id, "client_secret": self._secret}
        try:
            r = await self._http.post(self._token_url, data=form)
        except httpx.TimeoutException:
            raise SignalenError("token endpoint did not answer in time") from None
        except httpx.HTTPError as exc:
            raise SignalenError(f"token endpoint unreachable ({type(exc).__name__})") from None
        if r.status_code in (400, 401):
            raise SignalenError(f"token refused (HTTP {r.status_code}): check the client id and secret")
        if r.status_code == 429:
            raise SignalenError("token endpoint throttles (HTTP 429)", retry_after=_retry_after(r))
        if r.status_code >= 300:
            raise SignalenError(f"token endpoint failed (HTTP {r.status_code})")
        try:
            token = msgspec.json.decode(r.content, type=Token)
        except (msgspec.DecodeError, msgspec.ValidationError) as exc:
            raise SignalenError(f"token endpoint answered no token ({exc})") from None
        self._token = token.access_token
        self._renew_at = time.monotonic() + 0.8 * token.expires_in
        self.tokens_fetched += 1
        return token.access_token

    async def _bearer(self) -> str:
        if self._token is None or time.monotonic() >= self._renew_at:
            return await self._fetch_token()
        return self._token

    async def call(self, method: str, path: str, *, params: Any = None, json: Any = None) -> bytes:
        """The body of a 2xx answer; a 401 gets a fresh token and one more try."""
        for attempt in (1, 2):
            token = await self._bearer()
            try:
                r = await self._http.request(
                    method,
                    self.url(path),
                    params=params,
                    json=json,
                    headers={"Authorization": f"Bearer {token}"},
                )
            except httpx.TimeoutException:
                raise SignalenError(f"Signalen did not answer in time ({method} {path})") from None
            except httpx.HTTPError as exc:
                raise SignalenError(f"Signalen unreachable ({type(exc).__name__})") from None
            if r.status_code == 401 and attempt == 1:
                self._token = None  # expired or revoked before its time: fetch a new one
                continue
            if r.status_code == 429:
                raise SignalenError("Signalen throttles (HTTP 429)", retry_after=_retry_after(r))
            if r.status_code >= 500 or r.status_code in (401, 408):
                raise SignalenError(f"Signalen failed (HTTP {r.status_code}, {method} {path})")
            if r.status_code >= 400:
                raise SignalenError(
                    f"Signalen refused {method} {path} (HTTP {r.status_code}): {r.text[:300]}", final=True
                )
            return r.content
        raise AssertionError("unreachable")

    # --- the calls ----------------------------------------------------------------------------------------

    async def signals(self, params: list[tuple[str, str]], max_pages: int = 20) -> list[logic.Signal]:
        found: list[logic.Signal] = []
        raw = await self.call("GET", PRIVATE, params=params)
        for _ in range(max_pages):
            page, next_url = self._decoded(logic.decode_page, raw)
            found.extend(page)
            if not next_url:
                break
            raw = await self.call("GET", next_url)
        return found

    async def signal(self, signal_id: int) -> logic.Signal:
        return self._decoded(logic.decode_signal, await self.call("GET", f"{PRIVATE}{signal_id}"))

    async def history(self, signal_id: int) -> list[logic.HistoryEntry]:
        return self._decoded(logic.decode_history, await self.call("GET", f"{PRIVATE}{signal_id}/history"))

    async def patch(self, signal_id: int, body: dict[str, Any]) -> None:
        await self.call("PATCH", f"{PRIVATE}{signal_id}", json=body)

    async def create(self, body: dict[str, Any]) -> int:
        return self._decoded(logic.decode_created_id, await self.call("POST", PRIVATE, json=body))

    @staticmethod
    def _decoded(decode: Callable[[bytes], T], raw: bytes) -> T:
        try:
            return decode(raw)
        except logic.Malformed as exc:
            raise SignalenError(f"Signalen answered a malformed body ({str(exc)[:200]})") from None
