"""A Signalen simulator: an OIDC token endpoint and the private signals API's shape, over real HTTP.

For the tests and the demo (`python -m backend.signalen.simulator --port 8092`). Built from the Signalen
source (github.com/Amsterdam/signals: the private signal serializers, the filters of
`api/filters/signal.py`, the workflow of `signals/workflow.py`, the history of `history/models/log.py`);
the signals themselves are invented. Bad behaviours: `mode` for every API call, or `fail_next(...)` for the
next calls only — `timeout` (answers after `delay_s`), `throttle` (429 with Retry-After), `error` (503),
`malformed` (a cut-off JSON body), `expired` (every token issued so far stops working: 401).
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import secrets
import time
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import urlencode

from litestar import Litestar, Request, get, patch, post
from litestar.params import FromPath
from litestar.response import Response

from backend.signalen.logic import CLOSED_STATES

MODES = ("ok", "timeout", "throttle", "error", "malformed", "expired")
PRIVATE = "/signals/v1/private/signals"
STATE_DISPLAY = {
    "m": "Gemeld",
    "i": "In afwachting van behandeling",
    "b": "In behandeling",
    "h": "On hold",
    "ingepland": "Ingepland",
    "o": "Afgehandeld",
    "a": "Geannuleerd",
    "reopened": "Heropend",
}
ALLOWED = {  # a subset of ALLOWED_STATUS_CHANGES in signals/workflow.py
    "m": {"m", "i", "b", "ingepland", "o", "a"},
    "i": {"m", "i", "ingepland", "o", "b", "a"},
    "b": {"m", "ingepland", "b", "o", "a"},
    "ingepland": {"m", "ingepland", "b", "o", "a"},
    "o": {"reopened"},
    "a": {"a", "reopened"},
    "reopened": {"m", "i", "b", "o", "a", "reopened"},
}
CATEGORIES = {  # sub_slug -> (sub, main_slug, main, SLA hours)
    "fietswrak": ("Fietswrak", "overlast-in-de-openbare-ruimte", "Overlast in de openbare ruimte", 72),
    "parkeeroverlast": (
        "Parkeeroverlast",
        "overlast-in-de-openbare-ruimte",
        "Overlast in de openbare ruimte",
        24,
    ),
    "grofvuil": ("Grofvuil", "afval", "Afval", 48),
    "straatverlichting-openbare-klok": (
        "Straatverlichting / openbare klok",
        "wegen-verkeer-straatmeubilair",
        "Wegen, verkeer, straatmeubilair",
        120,
    ),
    "geluidsoverlast-muziek": (
        "Geluidsoverlast muziek",
        "overlast-bedrijven-en-horeca",
        "Overlast bedrijven en horeca",
        4,
    ),
}
SOURCES = {"online", "Telefoon – ASC", "Schakel"}


def _iso(at: datetime) -> str:
    return at.astimezone(UTC).isoformat()


class SignalenSimulator:
    def __init__(
        self, client_id: str = "schakel", client_secret: str = "sim-secret", token_ttl_s: float = 300.0
    ):
        self.client_id = client_id
        self.client_secret = client_secret
        self.token_ttl_s = token_ttl_s
        self.tokens: dict[str, float] = {}  # access token -> expiry (monotonic)
        self.tokens_issued = 0
        self.mode = "ok"
        self.delay_s = 10.0
        self.retry_after_s = 1
        self._fail: list[str] = []
        self.signals: dict[int, dict[str, Any]] = {}
        self.histories: dict[int, list[dict[str, Any]]] = {}
        self.routing: dict[int, str] = {}  # signal id -> department code it is routed to
        self._ids = itertools.count(1001)
        self._history_pks = itertools.count(1)
        self.calls: list[tuple[str, str]] = []  # (method, path) of API calls that got an answer
        self.app = self._app()

    # --- what a test or the demo does to it -----------------------------------------------------------------

    def fail_next(self, *modes: str) -> None:
        self._fail.extend(modes)

    def add_signal(
        self,
        sub_slug: str,
        text: str,
        lon: float,
        lat: float,
        *,
        priority: str = "normal",
        address: str = "",
        department: str = "",
        created_at: datetime | None = None,
        source: str = "online",
    ) -> int:
        signal_id = next(self._ids)
        sub, main_slug, main, hours = CATEGORIES[sub_slug]
        created = created_at or datetime.now(UTC)
        self.signals[signal_id] = {
            "id": signal_id,
            "_links": {"self": {"href": f"{PRIVATE}/{signal_id}"}},
            "_display": f"Signal {signal_id}",
            "created_at": _iso(created),
            "updated_at": _iso(created),
            "text": text,
            "source": source,
            "category": {
                "sub": sub,
                "sub_slug": sub_slug,
                "main": main,
                "main_slug": main_slug,
                "departments": department,
                "created_by": None,
                "deadline": _iso(created + timedelta(hours=hours)),
                "deadline_factor_3": _iso(created + timedelta(hours=3 * hours)),
            },
            "location": {
                "id": signal_id,
                "stadsdeel": "A",
                "buurt_code": None,
                "area_type_code": None,
                "area_code": None,
                "area_name": None,
                "address": None,
                "address_text": address,
                "geometrie": {"type": "Point", "coordinates": [lon, lat]},
            },
            "status": {
                "text": None,
                "user": None,
                "state": "m",
                "state_display": "Gemeld",
                "extra_properties": None,
                "created_at": _iso(created),
            },
            "priority": {"priority": priority, "created_by": None},
            "notes": [],
            "directing_departments": [],
            "type": {"code": "SIG", "created_at": _iso(created), "created_by": None},
            "has_attachments": False,
        }
        self.histories[signal_id] = []
        self._history(signal_id, "UPDATE_STATUS", "Status gewijzigd naar: Gemeld", None, "Signalen systeem")
        if department:
            self.routing[signal_id] = department
        return signal_id

    def set_state(self, signal_id: int, state: str, text: str, who: str = "medewerker@gemeente.nl") -> None:
        """A gemeente employee moves a signal on (as Signalen's own UI would)."""
        self._set_state(signal_id, state, text, who)

    def _set_state(self, signal_id: int, state: str, text: str | None, who: str) -> None:
        signal = self.signals[signal_id]
        now = _iso(datetime.now(UTC))
        signal["status"] = {
            "text": text,
            "user": who,
            "state": state,
            "state_display": STATE_DISPLAY[state],
            "extra_properties": None,
            "created_at": now,
        }
        signal["updated_at"] = now
        self._history(signal_id, "UPDATE_STATUS", f"Status gewijzigd naar: {STATE_DISPLAY[state]}", text, who)

    def _history(self, signal_id: int, what: str, action: str, description: str | None, who: str) -> None:
        pk = next(self._history_pks)
        self.histories[signal_id].append(
            {
                "identifier": f"{what}_{pk}",
                "when": _iso(datetime.now(UTC)),
                "what": what,
                "action": action,
                "description": description,
                "who": who,
                "_signal": signal_id,
            }
        )

    def notes(self, signal_id: int) -> list[str]:
        return [n["text"] for n in self.signals[signal_id]["notes"]]

    # --- the HTTP side ---------------------------------------------------------------------------

    async def _trouble(self, request: Request[Any, Any, Any]) -> Response[Any] | None:
        mode = self._fail.pop(0) if self._fail else self.mode
        if mode == "expired":
            self.tokens.clear()
        if mode == "timeout":
            await asyncio.sleep(self.delay_s)
        if mode == "throttle":
            return Response(
                {"detail": "Request was throttled."},
                status_code=429,
                headers={"Retry-After": str(self.retry_after_s)},
            )
        if mode == "error":
            return Response(b"<h1>Server Error (500)</h1>", status_code=503, media_type="text/html")
        if mode == "malformed":
            return Response(b'{"_links": {"self": {"href": "', status_code=200, media_type="application/json")
        auth = request.headers.get("authorization", "")
        token = auth.removeprefix("Bearer ")
        if not auth.startswith("Bearer ") or self.tokens.get(token, 0.0) < time.monotonic():
            return Response({"detail": "Authenticatiegegevens zijn niet opgegeven."}, status_code=401)
        self.calls.append((request.method, request.url.path))
        return None

    def _list(self, request: Request[Any, Any, Any]) -> dict[str, Any]:
        q = request.query_params
        found = list(self.signals.values())
        slugs = q.getall("category_slug", [])
        if slugs:
            found = [s for s in found if s["category"]["sub_slug"] in slugs]
        departments = q.getall("routing_department_code", [])
        if departments:
            found = [s for s in found if self.routing.get(s["id"]) in departments]
        if "created_after" in q:
            after = datetime.fromisoformat(q["created_after"])
            found = [s for s in found if datetime.fromisoformat(s["created_at"]) >= after]
        sources = q.getall("source", [])
        if sources:
            found = [s for s in found if s["source"] in sources]
        found.sort(key=lambda s: (s["created_at"], s["id"]))
        size = int(q.get("page_size", "100"))
        page = int(q.get("page", "1"))
        chunk = found[(page - 1) * size : page * size]
        base = str(request.base_url).rstrip("/") + PRIVATE + "/"
        args = [(k, v) for k, v in q.multi_items() if k != "page"]
        more = page * size < len(found)
        return {
            "_links": {
                "self": {"href": base + "?" + urlencode([*args, ("page", str(page))])},
                "next": {"href": base + "?" + urlencode([*args, ("page", str(page + 1))]) if more else None},
                "previous": {"href": None},
            },
            "count": len(found),
            "results": chunk,
        }

    def _patch(self, signal_id: int, body: dict[str, Any]) -> Response[Any]:
        signal = self.signals[signal_id]
        status = body.get("status")
        if status is not None:
            state = status.get("state")
            if state not in STATE_DISPLAY:
                return Response(
                    {"status": {"state": [f'"{state}" is een ongeldige keuze.']}}, status_code=400
                )
            if state not in ALLOWED[signal["status"]["state"]]:
                return Response(
                    {"status": [f"Invalid state transition from {signal['status']['state']} to {state}"]},
                    status_code=400,
                )
            self._set_state(signal_id, state, status.get("text"), "schakel@api")
        for note in body.get("notes", []):
            signal["notes"].append({"text": note["text"], "created_by": "schakel@api"})
            self._history(signal_id, "CREATE_NOTE", "Notitie toegevoegd:", note["text"], "schakel@api")
        return Response(signal, status_code=200)

    def _create(self, body: dict[str, Any]) -> Response[Any]:
        source = body.get("source", "")
        if source not in SOURCES:
            return Response({"source": ["Invalid source given"]}, status_code=400)
        url = body.get("category", {}).get("category_url", "")
        sub_slug = url.rstrip("/").rsplit("/", 1)[-1]
        if sub_slug not in CATEGORIES:
            return Response({"category": ["Category not found"]}, status_code=400)
        lon, lat = body["location"]["geometrie"]["coordinates"]
        signal_id = self.add_signal(sub_slug, body.get("text", ""), lon, lat, source=source)
        return Response(self.signals[signal_id], status_code=201)

    def _app(self) -> Litestar:
        sim = self

        @post("/oidc/token", status_code=200)
        async def token(request: Request[Any, Any, Any]) -> Response[Any]:
            form = await request.form()
            if form.get("grant_type") != "client_credentials":
                return Response({"error": "unsupported_grant_type"}, status_code=400)
            if form.get("client_id") != sim.client_id or form.get("client_secret") != sim.client_secret:
                return Response({"error": "invalid_client"}, status_code=401)
            value = secrets.token_urlsafe(24)
            sim.tokens[value] = time.monotonic() + sim.token_ttl_s
            sim.tokens_issued += 1
            return Response({"access_token": value, "expires_in": sim.token_ttl_s, "token_type": "Bearer"})

        @get(PRIVATE + "/")
        async def list_signals(request: Request[Any, Any, Any]) -> Response[Any]:
            return await sim._trouble(request) or Response(sim._list(request))

        @post(PRIVATE + "/", status_code=201)
        async def create_signal(request: Request[Any, Any, Any]) -> Response[Any]:
            return await sim._trouble(request) or sim._create(await request.json())

        @get(PRIVATE + "/{signal_id:int}")
        async def one_signal(signal_id: FromPath[int], request: Request[Any, Any, Any]) -> Response[Any]:
            trouble = await sim._trouble(request)
            if trouble is not None:
                return trouble
            if signal_id not in sim.signals:
                return Response({"detail": "Niet gevonden."}, status_code=404)
            return Response(sim.signals[signal_id])

        @patch(PRIVATE + "/{signal_id:int}")
        async def change_signal(signal_id: FromPath[int], request: Request[Any, Any, Any]) -> Response[Any]:
            trouble = await sim._trouble(request)
            if trouble is not None:
                return trouble
            if signal_id not in sim.signals:
                return Response({"detail": "Niet gevonden."}, status_code=404)
            return sim._patch(signal_id, await request.json())

        @get(PRIVATE + "/{signal_id:int}/history")
        async def history(signal_id: FromPath[int], request: Request[Any, Any, Any]) -> Response[Any]:
            trouble = await sim._trouble(request)
            if trouble is not None:
                return trouble
            if signal_id not in sim.histories:
                return Response({"detail": "Niet gevonden."}, status_code=404)
            return Response(list(reversed(sim.histories[signal_id])))  # newest first, as Signalen lists it

        @post("/_sim/mode/{mode:str}", status_code=200)
        async def set_mode(mode: FromPath[str]) -> dict[str, str]:
            if mode in MODES:
                sim.mode = mode
            return {"mode": sim.mode}

        return Litestar(
            route_handlers=[token, list_signals, create_signal, one_signal, change_signal, history, set_mode],
            openapi_config=None,
        )

    def open_signals(self) -> list[int]:
        return [i for i, s in self.signals.items() if s["status"]["state"] not in CLOSED_STATES]


def demo_simulator() -> SignalenSimulator:
    """The demo's Signalen: a few handhaving signals around the Dam, and one for another department."""
    sim = SignalenSimulator()
    sim.add_signal(
        "fietswrak",
        "Fiets zonder voorwiel al weken aan het hek",
        4.8945,
        52.3731,
        address="Damrak 70, 1012LM Amsterdam",
    )
    sim.add_signal(
        "parkeeroverlast",
        "Bestelbus staat dagelijks op de stoep",
        4.8990,
        52.3725,
        priority="high",
        address="Warmoesstraat 12, 1012JD Amsterdam",
    )
    sim.add_signal("straatverlichting-openbare-klok", "Lamp brandt niet", 4.8910, 52.3740)
    sim.add_signal(
        "geluidsoverlast-muziek",
        "Harde muziek uit bovenwoning, al uren",
        4.8998,
        52.3712,
        address="Zeedijk 30, 1012AZ Amsterdam",
        created_at=datetime.now(UTC) - timedelta(hours=6),
    )
    return sim


def main() -> None:  # pragma: no cover - the demo's entry point
    import uvicorn

    parser = argparse.ArgumentParser(description="Signalen simulator (loopback)")
    parser.add_argument("--port", type=int, default=8092)
    args = parser.parse_args()
    uvicorn.run(demo_simulator().app, host="127.0.0.1", port=args.port, log_level="warning")


if __name__ == "__main__":  # pragma: no cover
    main()
