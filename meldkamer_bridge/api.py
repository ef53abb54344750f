"""The bridge's one way into Schakel's data: the backend's HTTP API, as the service account.

The bridge may run on another machine than the backend: it reads and writes no backend table. What it needs
beyond the operator websocket (meldkamer_bridge.outbound) is here: meldingen for handed-over incidents, area
alerts, the organisations it serves, the timeline of handed-over meldingen, and the register queries. The
bodies are shared with the backend (shared/bridge_api.py).
"""

from __future__ import annotations

import logging
from typing import Any, TypeVar

import httpx
import msgspec

from shared.bridge_api import (
    AnswerTaken,
    IncidentBatch,
    IncidentOutcome,
    IncidentOutcomes,
    Organisation,
    PendingQuery,
    QueriesSent,
    QueryAnswer,
    TimelineLine,
)

log = logging.getLogger(__name__)

T = TypeVar("T")
TIMELINE_PAGE = 500


class Refused(Exception):
    """The backend will never take this (a 4xx that a retry does not change): consume it with the reason."""

    def __init__(self, message: str, status: int = 400) -> None:
        super().__init__(message)
        self.status = status


class Unavailable(Exception):
    """The backend is down, busy or refused our login: try again later."""


class BackendApi:
    """HTTP calls to the backend with the service account's access token (logged in on first use, and again
    after the backend says the token is no longer good)."""

    def __init__(self, base_url: str, username: str, password: str) -> None:
        self.http = httpx.AsyncClient(base_url=base_url, timeout=10)
        self.username = username
        self.password = password
        self._token: str | None = None

    async def aclose(self) -> None:
        await self.http.aclose()

    @property
    def feed_url(self) -> str:
        """The operator websocket of the same backend."""
        return str(self.http.base_url).replace("http", "ws", 1).rstrip("/") + "/ws/operator"

    async def token(self) -> str:
        if self._token is None:
            login = {"username": self.username, "password": self.password}
            r = await self.http.post("/api/auth/login", json=login)
            if r.status_code != 200:
                raise Unavailable(f"login as {self.username!r} refused: {r.status_code} {r.text[:200]}")
            self._token = str(r.json()["access_token"])
        return self._token

    def forget_token(self) -> None:
        """Log in again on the next call (the token expired, or the backend restarted with a new key)."""
        self._token = None

    async def _call(
        self, method: str, path: str, *, body: Any = None, params: dict[str, Any] | None = None
    ) -> Any:
        headers = {"Authorization": f"Bearer {await self.token()}"}
        content = None if body is None else msgspec.json.encode(body)
        if content is not None:
            headers["Content-Type"] = "application/json"
        r = await self.http.request(method, path, content=content, params=params, headers=headers)
        if r.status_code in (200, 201):
            return r.json()
        if r.status_code == 401:
            self.forget_token()
        if 400 <= r.status_code < 500 and r.status_code not in (401, 408, 409, 429):
            raise Refused(f"{r.status_code} {r.text[:300]}", r.status_code)
        raise Unavailable(f"backend answered {r.status_code}: {r.text[:200]}")

    async def _typed(self, type_: type[T], method: str, path: str, **kwargs: Any) -> T:
        return msgspec.convert(await self._call(method, path, **kwargs), type_)

    async def post(self, path: str, body: dict[str, object]) -> dict[str, Any]:
        """POST a JSON body (a melding, an area alert); raises Refused for a 4xx that will not change."""
        return dict(await self._call("POST", path, body=body))

    async def hand_over(self, bodies: list[dict[str, object]]) -> list[IncidentOutcome] | None:
        """A batch of handed-over incidents in one call (POST /api/bridge/incidents), one outcome per body in
        their order; None when the backend has no such route (an older one: post them one by one)."""
        try:
            answer = await self._call("POST", "/api/bridge/incidents", body=IncidentBatch(items=bodies))
        except Refused as exc:
            if exc.status in (404, 405):
                return None
            raise
        return msgspec.convert(answer, IncidentOutcomes).results

    async def organisations(self) -> list[Organisation]:
        return await self._typed(list[Organisation], "GET", "/api/bridge/organisations")

    async def timeline(self, source: str, after: int = 0) -> list[TimelineLine]:
        """Every line after event `after` the meldkamer may hear of, of the meldingen made for `source`,
        oldest first."""
        lines: list[TimelineLine] = []
        while True:
            params = {
                "source": source,
                "after": lines[-1].event_id if lines else after,
                "limit": TIMELINE_PAGE,
            }
            page = await self._typed(list[TimelineLine], "GET", "/api/bridge/timeline", params=params)
            lines.extend(page)
            if len(page) < TIMELINE_PAGE:
                return lines

    async def pending_queries(self) -> list[PendingQuery]:
        return await self._typed(list[PendingQuery], "GET", "/api/bridge/register-queries")

    async def queries_sent(self, query_ids: list[int]) -> None:
        await self._call("POST", "/api/bridge/register-queries/sent", body=QueriesSent(query_ids=query_ids))

    async def answer_query(self, query_id: int, answer: QueryAnswer) -> bool:
        """Put the police answer on its query; False when nobody waits for it any more."""
        path = f"/api/bridge/register-queries/{query_id}/answer"
        return (await self._typed(AnswerTaken, "POST", path, body=answer)).taken
