"""A local stand-in for the PDOK Locatieserver v3.1, for the demo and the tests, on a real loopback socket.

It answers `/suggest`, `/lookup`, `/free` and `/reverse` in the shape PDOK documents (Solr-style
``response.numFound/start/maxScore/numFoundExact/docs``, ``highlighting`` for suggest, `fl` choosing the
fields, `afstand` in metres for reverse, 400 for a parameter the API does not know) from the small bundled
sample in `data/amsterdam_sample.json` (see data/NOTICE.md). `mode` lets a test make it misbehave: "slow"
(answers after `delay_s`, or at once when the test calls `release()`, in the mode set by then), "error"
(HTTP 500), "malformed" (a body that is not JSON).

    async with serving() as sim:   # sim.url is the base URL for SCHAKEL_GEOCODER_URL
        sim.mode = "error"
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import re
import socket
from collections.abc import AsyncIterator, Awaitable, Callable, MutableMapping
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl

import uvicorn

from shared.geo import distance_m

SAMPLE = Path(__file__).with_name("data") / "amsterdam_sample.json"
PREFIX = "/search/v3_1"
DEFAULT_FL = {
    "suggest": ["id", "type", "weergavenaam", "score"],
    "reverse": ["id", "type", "weergavenaam", "score", "afstand"],
}
PARAMS = {
    "suggest": {"q", "rows", "start", "fl", "fq", "sort", "bq", "df", "qf", "wt", "lat", "lon"},
    "free": {"q", "rows", "start", "fl", "fq", "sort", "bq", "df", "qf", "wt", "lat", "lon", "type"},
    "lookup": {"id", "fl", "wt"},
    "reverse": {"lat", "lon", "X", "Y", "rows", "start", "fl", "fq", "type", "distance", "wt"},
}
REVERSE_MAX_M = 500.0  # nothing nearer: an empty answer (the sample covers the old centre only)

Scope = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[MutableMapping[str, Any]]]
Send = Callable[[MutableMapping[str, Any]], Awaitable[None]]


def load_sample() -> list[dict[str, Any]]:
    docs: list[dict[str, Any]] = json.loads(SAMPLE.read_text())["docs"]
    return docs


class LocatieserverSimulator:
    def __init__(self, docs: list[dict[str, Any]] | None = None) -> None:
        self.docs = load_sample() if docs is None else docs
        self.by_id = {d["id"]: d for d in self.docs}
        self.mode = "ok"  # ok | slow | error | malformed
        self.delay_s = 5.0
        self.released = asyncio.Event()  # set: "slow" requests waiting now go on at once (a test's cue)
        self.requests: list[str] = []  # endpoint of every request, for tests

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            return
        path: str = scope["path"]
        endpoint = path.removeprefix(PREFIX).strip("/")
        self.requests.append(endpoint)
        query = dict(parse_qsl(scope.get("query_string", b"").decode(), keep_blank_values=True))
        if self.mode == "slow":
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self.released.wait(), self.delay_s)
        if self.mode == "error":
            await _reply(send, 500, b'{"message": "Internal Server Error"}')
            return
        if self.mode == "malformed":
            await _reply(send, 200, b"<html><body>502 Bad Gateway</body></html>", "text/html")
            return
        if endpoint not in PARAMS or not path.startswith(PREFIX):
            await _reply(send, 404, b'{"message": "not found"}')
            return
        unknown = sorted(set(query) - PARAMS[endpoint])
        if unknown:
            await _reply(
                send, 400, json.dumps({"message": f"unknown query parameter(s): {unknown}"}).encode()
            )
            return
        try:
            body = self.answer(endpoint, query)
        except ValueError as exc:
            await _reply(send, 400, json.dumps({"message": str(exc)}).encode())
            return
        await _reply(send, 200, json.dumps(body, ensure_ascii=False).encode())

    def answer(self, endpoint: str, query: dict[str, str]) -> dict[str, Any]:
        rows = int(query.get("rows", "10"))
        start = int(query.get("start", "0"))
        highlighting: dict[str, Any] | None = None
        if endpoint == "lookup":
            if not query.get("id"):
                raise ValueError("id is required")
            found = [(1.0, d) for d in [self.by_id.get(query["id"])] if d is not None]
        elif endpoint == "reverse":
            if "lat" not in query or "lon" not in query:
                raise ValueError("lat and lon are required")
            lat, lon = float(query["lat"]), float(query["lon"])
            near = sorted(
                (distance_m(lon, lat, *_point(d)), d) for d in self.docs if _type_ok(d, query.get("type"))
            )
            found = [(1.0 / (1.0 + m), {**d, "afstand": round(m, 1)}) for m, d in near if m <= REVERSE_MAX_M]
        else:
            text = query.get("q", "")
            if not text.strip() and endpoint == "suggest":
                raise ValueError("q is required")
            found = self._search(text, query.get("fq"))
            if endpoint == "suggest":
                highlighting = {d["id"]: {"suggest": [_highlight(d["weergavenaam"], text)]} for _, d in found}
        page = found[start : start + rows]
        fields = _fields(query.get("fl"), endpoint)
        docs = []
        for score, doc in page:
            picked = _pick(doc, fields)
            if fields is None or "score" in fields:
                picked["score"] = round(score, 4)
            docs.append(picked)
        body: dict[str, Any] = {
            "response": {
                "numFound": len(found),
                "start": start,
                "maxScore": round(found[0][0], 4) if found else 0.0,
                "numFoundExact": True,
                "docs": docs,
            }
        }
        if highlighting is not None:
            body["highlighting"] = {d["id"]: highlighting[d["id"]] for d in docs}
            body["spellcheck"] = {"suggestions": [], "collations": []}
        return body

    def _search(self, text: str, fq: str | None) -> list[tuple[float, dict[str, Any]]]:
        tokens = [t for t in re.split(r"[\s,]+", text.lower()) if t]
        wanted = fq.split(":", 1)[1] if fq and fq.startswith("type:") else None
        scored = []
        for d in self.docs:
            if wanted and d["type"] != wanted:
                continue
            words = re.split(r"[\s,]+", d["weergavenaam"].lower())
            if all(any(w.startswith(t) for w in words) for t in tokens):
                # exact house numbers and shorter names first, as Solr's boosts roughly do
                exact = sum(1 for t in tokens if t in words)
                scored.append((10.0 + exact * 2.0 - len(words) * 0.1 - d["huisnummer"] * 0.0001, d))
        scored.sort(key=lambda sd: -sd[0])
        return scored


def _type_ok(doc: dict[str, Any], wanted: str | None) -> bool:
    return wanted in (None, "", doc["type"])


def _point(doc: dict[str, Any]) -> tuple[float, float]:
    lon, lat = doc["centroide_ll"].removeprefix("POINT(").removesuffix(")").split()
    return float(lon), float(lat)


def _fields(fl: str | None, endpoint: str) -> list[str] | None:
    if fl:
        return [f for f in re.split(r"[\s,]+", fl) if f]
    return DEFAULT_FL.get(endpoint)  # None: every field (lookup, free)


def _pick(doc: dict[str, Any], fields: list[str] | None) -> dict[str, Any]:
    if fields is None or "*" in fields:
        return dict(doc)
    return {f: doc[f] for f in fields if f in doc}


def _highlight(name: str, text: str) -> str:
    out = name
    for token in sorted({t for t in re.split(r"[\s,]+", text) if t}, key=len, reverse=True):
        out = re.sub(rf"(?<![\w>])({re.escape(token)})", r"<b>\1</b>", out, count=1, flags=re.IGNORECASE)
    return out


async def _reply(send: Send, status: int, body: bytes, content_type: str = "application/json") -> None:
    headers = [(b"content-type", content_type.encode()), (b"content-length", str(len(body)).encode())]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})


class Running:
    def __init__(self, app: LocatieserverSimulator, host: str, port: int) -> None:
        self.app = app
        self.url = f"http://{host}:{port}{PREFIX}"

    @property
    def mode(self) -> str:
        return self.app.mode

    @mode.setter
    def mode(self, value: str) -> None:
        self.app.mode = value

    def release(self) -> None:
        """Let the "slow" requests that wait now be answered at once (in the mode set by then)."""
        self.app.released.set()


def free_port(host: str = "127.0.0.1") -> int:
    with socket.socket() as s:
        s.bind((host, 0))
        port: int = s.getsockname()[1]
        return port


@asynccontextmanager
async def serving(host: str = "127.0.0.1", port: int = 0) -> AsyncIterator[Running]:
    """The simulator on a loopback port (0: any free one) until the block ends."""
    app = LocatieserverSimulator()
    port = port or free_port(host)
    server = uvicorn.Server(
        uvicorn.Config(
            app, host=host, port=port, log_level="warning", lifespan="off", timeout_graceful_shutdown=1
        )
    )
    task = asyncio.create_task(server.serve())
    try:
        async with asyncio.timeout(10):
            while not server.started:
                if task.done():
                    await task
                    raise RuntimeError("the geocoder simulator did not start")
                await asyncio.sleep(0.02)
        yield Running(app, host, port)
    finally:
        server.should_exit = True
        await task
