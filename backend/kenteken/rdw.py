"""The RDW open data API over HTTP: one kenteken, two datasets, every failure a clear `RdwUnavailable`."""

from __future__ import annotations

from typing import Any

import httpx

from backend.kenteken import logic
from shared.kenteken import Vehicle

VEHICLES = "m9d7-ebf2"
RECALLS = "t49b-isb7"


class RdwUnavailable(Exception):
    """The RDW could not be asked or gave no usable answer; the message says why, in Dutch."""


class RdwClient:
    def __init__(self, base_url: str, timeout_s: float, app_token: str = "") -> None:
        headers = {"Accept": "application/json"}
        if app_token:  # a Socrata app token only raises the rate limit; the data is open without one
            headers["X-App-Token"] = app_token
        self._base = base_url.rstrip("/")
        self._timeout = httpx.Timeout(timeout_s)
        self._headers = headers

    async def lookup(self, kenteken: str) -> Vehicle | None:
        """The vehicle, or None when the RDW has no vehicle with this kenteken."""
        async with httpx.AsyncClient(
            base_url=self._base, timeout=self._timeout, headers=self._headers
        ) as http:
            vehicles = await self._dataset(http, VEHICLES, kenteken)
            recalls = await self._dataset(http, RECALLS, kenteken) if vehicles else []
        try:
            return logic.vehicle(vehicles, recalls)
        except logic.MalformedAnswer as exc:
            raise RdwUnavailable(f"de RDW gaf een onleesbaar antwoord ({exc})") from None

    async def _dataset(self, http: httpx.AsyncClient, dataset: str, kenteken: str) -> list[dict[str, Any]]:
        try:
            r = await http.get(f"/resource/{dataset}.json", params={"kenteken": kenteken})
        except (httpx.TimeoutException, TimeoutError):
            raise RdwUnavailable("de RDW antwoordde niet op tijd") from None
        except httpx.HTTPError as exc:
            raise RdwUnavailable(f"de RDW is niet bereikbaar ({type(exc).__name__})") from None
        if r.status_code == 429:
            raise RdwUnavailable("de RDW vraagt om het later nog eens te proberen (te veel vragen)")
        if r.status_code >= 400:
            raise RdwUnavailable(f"de RDW gaf een fout (HTTP {r.status_code})")
        try:
            return logic.rows(r.json())
        except ValueError as exc:  # JSONDecodeError and MalformedAnswer
            raise RdwUnavailable(f"de RDW gaf een onleesbaar antwoord ({exc})") from None
