"""The reference partner: a real server speaking the partner link (docs/bridge.md) as a meldkamer and a police
system would. It receives unit status, AVL, CAP alerts and incident updates (validating each against its
schema, refusing what is invalid), sends EIDO incidents and CAP police alerts, persists everything in SQLite,
and shows what it received on a small web page (`/`, and `/received.json`).
"""

from __future__ import annotations

import asyncio
import contextlib
import html
import json
import logging
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from http import HTTPStatus
from pathlib import Path
from typing import Any

import websockets
from shapely.geometry import box
from websockets.asyncio.server import ServerConnection
from websockets.http11 import Request, Response

from meldkamer_bridge.adapters import cap, eido, status
from meldkamer_bridge.adapters.base import CodecError
from meldkamer_bridge.link import MAX_SOCKET_BYTES, Acceptor
from meldkamer_bridge.outbox import Envelope
from meldkamer_bridge.simulator.store import SqliteStore

log = logging.getLogger(__name__)

# Real places in the Amsterdam demo area (CBS buurten Burgwallen and around), for sample incidents.
PLACES = [
    (
        (4.8975, 52.3740),
        {"RD": "Oudekerksplein", "HNO": "23", "PC": "1012 GX", "A3": "Amsterdam"},
        "Overlast",
        "Groep jongeren hangt rond en valt voorbijgangers lastig",
    ),
    (
        (4.8931, 52.3731),
        {"RD": "Dam", "HNO": "1", "PC": "1012 JS", "A3": "Amsterdam"},
        "Afval",
        "Grote hoeveelheid grofvuil naast de container",
    ),
    (
        (4.8995, 52.3722),
        {"RD": "Nieuwmarkt", "HNO": "4", "PC": "1012 CR", "A3": "Amsterdam"},
        "Geluidsoverlast",
        "Luide muziek uit een terras na sluitingstijd",
    ),
    (
        (4.8901, 52.3762),
        {"RD": "Nieuwendijk", "HNO": "100", "PC": "1012 MR", "A3": "Amsterdam"},
        "Parkeren",
        "Bestelbus blokkeert de stoep en een uitrit",
    ),
]


def validate(env: Envelope) -> str | None:
    """What a partner checks before it accepts a message: the body against the schema of its type."""
    body = env.body.encode("utf-8")
    try:
        if env.type == "cap":
            cap.decode_alert(body)
        elif env.type in ("unit_status", "avl", "unit_roster"):
            message = status.decode_feed(body)
            if message.__struct_config__.tag != env.type:
                return f"type is {env.type} but the body is {message.__struct_config__.tag}"
        elif env.type == "eido_update":
            eido.decode_update(body)
        elif env.type == "eido":
            eido.decode_incident(body)
        elif env.type == "register_query":
            try:
                query = json.loads(body)
            except ValueError as exc:
                return f"not JSON: {exc}"
            if not isinstance(query, dict) or not str(query.get("query_id", "")).startswith("schakel:query:"):
                return "a register query needs a query_id"
            if not query.get("purpose") or not query.get("legal_basis"):
                return "a register query needs a purpose and a legal basis"
        else:
            return f"unknown message type {env.type!r}"
    except CodecError as exc:
        return f"{exc.field}: {exc.reason}"
    return None


def sample_incident(
    n: int,
    *,
    agency: str = "gms.gmk-amsterdam-amstelland.nl",
    at: datetime | None = None,
    exercise: str = "",
) -> tuple[str, str]:
    """(msg_id, EIDO JSON) of sample incident n: deterministic ids, so a restart does not queue it twice."""
    (lon, lat), civic, category, text = PLACES[n % len(PLACES)]
    external = f"urn:emergency:uid:incidentid:sim{n:06d}:{agency}"
    handover = eido.IncidentHandover(
        external_id=external,
        issued_by=agency,
        incident_type="Public Order",
        category=category,
        priority=2 if n % 3 else 1,
        partner_priority=f"P{2 if n % 3 else 1}",
        lon=lon,
        lat=lat,
        description=text,
        at=at or datetime.now(UTC),
        partner_incident_id=f"GMS-{n:06d}",
        exercise=exercise,
    )
    body = eido.encode_incident(handover, agency=agency, civic={"country": "NL", **civic})
    return f"sim:incident:{n}", body.decode("utf-8")


def sample_police_alert(n: int, *, at: datetime | None = None) -> tuple[str, str]:
    sent = at or datetime.now(UTC)
    body = cap.encode_area_alert(
        identifier=f"politie-sim-{n}",
        sender="politie@sim.example.nl",
        sent=sent,
        event="Gezocht voertuig",
        headline=f"Gezocht: grijze bestelbus 12-ABC-{n % 10}",
        description="Na een ramkraak gevlucht. Niet zelf ingrijpen; meld waarnemingen aan de meldkamer.",
        area_desc="Burgwallen (Amsterdam-Centrum)",
        polygon=box(4.888, 52.369, 4.902, 52.379),
        expires=sent + timedelta(hours=2),
    )
    return f"sim:police-alert:{n}", body.decode("utf-8")


def register_answer(query: dict[str, Any]) -> dict[str, Any]:
    """A canned but realistic answer of the police registers (RDW vehicle data, driving licence validity)."""
    subject = str(query.get("subject", ""))
    answer: dict[str, Any] = {"type": "register_answer", "query_id": query["query_id"]}
    answer["source"] = "politie-sim"
    if subject.startswith("00"):
        return {**answer, "status": "not_found"}
    if query.get("kind") == "vehicle":
        wanted = "gezocht: betrokken bij ramkraak" if subject == "12ABC1" else ""
        result = {"kenteken": subject, "merk": "VOLKSWAGEN", "handelsbenaming": "TRANSPORTER",
                  "kleur": "GRIJS", "voertuigsoort": "Bedrijfsauto", "apk_vervaldatum": "2027-03-14",
                  "wok": False, "signalering": wanted}  # fmt: skip
    else:
        result = {"documentnummer": subject, "geldig": True, "categorieen": ["AM", "B"],
                  "geldig_tot": "2031-05-02", "ongeldig_verklaard": False}  # fmt: skip
    return {**answer, "status": "found", "result": result}


class Simulator:
    """The partner server. `peers` maps the names it accepts to their tokens ("" accepts any token)."""

    def __init__(self, db: Path, *, name: str = "gms-sim", peers: dict[str, str] | None = None) -> None:
        self.store = SqliteStore(db)
        self.name = name
        self.peers = peers or {"schakel": ""}
        self.received: asyncio.Queue[Envelope] = asyncio.Queue()
        self.on_received: Callable[[Envelope], Awaitable[None]] | None = None
        self.acceptor = Acceptor(
            self.store, me=name, tokens=self.peers, validate=validate, on_received=self._received
        )

    async def _received(self, env: Envelope) -> None:
        log.info("received %s #%d from %s (%s)", env.type, env.seq, env.partner, env.msg_id)
        self.received.put_nowait(env)
        if env.type == "register_query":
            query = json.loads(env.body)
            answer = json.dumps(register_answer(query))
            self.store.enqueue(env.partner, "register_answer", answer, f"sim:answer:{query['query_id']}")
        if self.on_received is not None:
            await self.on_received(env)

    def send_incident(self, n: int, peer: str = "schakel") -> int | None:
        msg_id, body = sample_incident(n)
        return self.store.enqueue(peer, "eido", body, msg_id)

    def send_incidents(self, incidents: list[tuple[str, str]], peer: str = "schakel") -> int:
        """(msg_id, body) incidents, e.g. from `sample_incident`, queued at once (one transaction)."""
        return self.store.enqueue_many(peer, "eido", incidents)

    def incidents_queued(self, peer: str = "schakel") -> int:
        return self.store.count_outbox(peer, "sim:incident:")

    def send_police_alert(self, n: int, peer: str = "schakel") -> int | None:
        msg_id, body = sample_police_alert(n)
        return self.store.enqueue(peer, "cap", body, msg_id)

    def _page(self, connection: ServerConnection, request: Request) -> Response | None:
        if request.headers.get("Upgrade", "").lower() == "websocket":
            return None
        if request.path.startswith("/received.json"):
            response = connection.respond(
                HTTPStatus.OK, json.dumps(self.store.received(), ensure_ascii=False)
            )
            response.headers["Content-Type"] = "application/json"
            return response
        rows = "".join(
            f"<tr><td>{html.escape(str(r['received_at'])[:19])}</td><td>{html.escape(str(r['peer']))}</td>"
            f"<td>{r['seq']}</td><td>{html.escape(str(r['type']))}</td>"
            f"<td>{html.escape(str(r['rejected'] or 'ok'))}</td>"
            f"<td><details><summary>{html.escape(str(r['msg_id']))}</summary><pre>"
            f"{html.escape(str(r['body'])[:4000])}</pre></details></td></tr>"
            for r in self.store.received()
        )
        counts = ", ".join(f"{t}: {n}" for t, n in sorted(self.store.counts().items())) or "nothing yet"
        page = (
            f"<!doctype html><html lang='nl'><meta charset='utf-8'><meta http-equiv='refresh' content='3'>"
            f"<title>{html.escape(self.name)}</title><body style='font-family:sans-serif'>"
            f"<h1>Referentiepartner {html.escape(self.name)}</h1><p>Ontvangen: {html.escape(counts)}</p>"
            f"<table border='1' cellpadding='4' style='border-collapse:collapse'><tr><th>ontvangen</th>"
            f"<th>van</th><th>seq</th><th>type</th><th>status</th><th>bericht</th></tr>{rows}</table>"
        )
        response = connection.respond(HTTPStatus.OK, page)
        response.headers["Content-Type"] = "text/html; charset=utf-8"
        return response

    @contextlib.asynccontextmanager
    async def serving(self, host: str = "127.0.0.1", port: int = 8765):  # type: ignore[no-untyped-def]
        async with websockets.serve(
            self.acceptor.handle,
            host,
            port,
            process_request=self._page,
            max_size=MAX_SOCKET_BYTES,
            ping_interval=10,
            ping_timeout=10,
        ) as server:
            yield server

    def close(self) -> None:
        self.store.close()
