"""Partners -> Schakel: one table from message type to decoder and handler.

The link stores what a partner sends in the bridge's inbox once it validates (`validate`: the type's
decoder accepts the body); the inbox loop then hands each stored message to its type's handler, inside the
transaction that marks it processed, so each is handled once: a handler returns what it did (kept as the
inbox row's result) or raises to roll back and be called again later. A type whose handler is not ready (no
backend configured, no incident sink) waits in the inbox.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import Any, NamedTuple

import asyncpg
import msgspec

from meldkamer_bridge import handover, outbox, registers
from meldkamer_bridge.adapters import cap, eido
from meldkamer_bridge.adapters.base import CodecError
from meldkamer_bridge.api import BackendApi, Refused
from meldkamer_bridge.config import BridgeConfig
from meldkamer_bridge.outbound import Outbound
from meldkamer_bridge.outbox import Conn, Envelope, InboxMessage

log = logging.getLogger(__name__)

# Where handed-over incidents go (with a backend: "make a melding"). It runs in the transaction that marks
# the inbox message processed (so each incident becomes a melding exactly once), returns what it did (the
# inbox row's result), or raises to roll back and leave the message for a later try.
IncidentSink = Callable[[Conn, InboxMessage, eido.IncidentHandover], Awaitable[str]]


class Inbound:
    def __init__(self, config: BridgeConfig, pool: asyncpg.Pool, outbound: Outbound) -> None:
        self.config = config
        self.pool = pool
        self.outbound = outbound
        self.api: BackendApi | None = None  # set by the wiring when a backend is configured
        self.incident_sink: IncidentSink | None = None
        self.changed = asyncio.Event()  # wakes the inbox loop
        self._busy = {type_: asyncio.Lock() for type_ in ROUTES}  # one hand-over at a time per type

    def has_backend(self) -> bool:
        return self.api is not None

    def has_sink(self) -> bool:
        return self.incident_sink is not None

    def use_backend(self, api: BackendApi) -> None:
        self.api = api
        if self.incident_sink is None:
            self.incident_sink = self.create_melding

    # --- the link's hooks ---------------------------------------------------------------------------------

    def validate(self, env: Envelope) -> str | None:
        """What the bridge accepts from partners: the types in ROUTES whose body its decoder takes."""
        route = ROUTES.get(env.type)
        if route is None:
            return f"the bridge does not take {env.type!r} messages"
        try:
            route.decode(env.body.encode("utf-8"))
        except CodecError as exc:
            return f"{exc.field}: {exc.reason}"
        except (msgspec.ValidationError, msgspec.DecodeError, ValueError) as exc:
            return str(exc)[:300]
        return None

    async def received(self, env: Envelope) -> None:
        log.info("from %s: %s #%d %s", env.partner, env.type, env.seq, env.msg_id)
        self.changed.set()

    # --- the inbox loop -----------------------------------------------------------------------------------

    async def run(self) -> None:
        """Hand stored messages to their handlers; the inbox keeps each until that succeeds."""
        while True:
            self.changed.clear()
            for type_ in ROUTES:
                try:
                    await self.process(type_)
                except Exception:  # the database is away: try again in a moment
                    log.exception("handing the inbox over failed")
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(1.0):
                    await self.changed.wait()

    async def process(self, type_: str) -> int:
        """Hand the unprocessed messages of one type to its handler, oldest first; how many were handled."""
        route = ROUTES[type_]
        async with self._busy[type_]:
            if not route.ready(self):
                return 0  # nobody to hand them to yet
            async with self.pool.acquire() as conn:
                messages = await outbox.unprocessed(conn, types=[type_])
            done = 0
            for message in messages:
                decoded = route.decode(message.body.encode("utf-8"))  # valid: checked on arrival
                try:
                    async with self.pool.acquire() as conn, conn.transaction():
                        result = await route.handle(self, conn, message, decoded)
                        done += await outbox.mark_processed(conn, message.id, result)
                except Exception:
                    log.exception("%s %s not handled yet", type_, message.msg_id)
            return done

    # --- the handlers -------------------------------------------------------------------------------------

    async def incident(self, conn: Conn, message: InboxMessage, incident: eido.IncidentHandover) -> str:
        assert self.incident_sink is not None  # ready
        return await self.incident_sink(conn, message, incident)

    async def create_melding(self, conn: Conn, message: InboxMessage, incident: eido.IncidentHandover) -> str:
        """The incident sink with a backend: the melding is made (once) through POST /api/incidents."""
        assert self.api is not None
        body = handover.incident_request(message.partner, incident)
        try:
            melding = await self.api.post("/api/incidents", body)
        except Refused as exc:
            declined = eido.IncidentUpdate(
                external_id=incident.external_id,
                agency=self.config.agency,
                progress=eido.Progress.DECLINED,
                at=datetime.now(UTC),
                note=f"Niet overgenomen door handhaving: {exc}"[:500],
            )
            await self.outbound.send_progress(conn, declined, msg_id=f"schakel:declined:{message.msg_id}")
            return f"refused: {exc}"
        return f"melding {melding['incident_id']}"

    async def area_alert(self, conn: Conn, message: InboxMessage, alert: cap.PartnerAlert) -> str:
        """A police CAP alert to the backend (POST /api/area-alerts), which pushes it to the units inside."""
        assert self.api is not None  # ready
        body = handover.area_alert_request(message.partner, alert)
        try:
            stored = await self.api.post("/api/area-alerts", body)
        except Refused as exc:
            return f"refused: {exc}"
        return f"area alert {stored['alert_id']} to units {stored['unit_ids']}"

    async def register_answer(
        self, conn: Conn, message: InboxMessage, answer: registers.RegisterAnswer
    ) -> str:
        """A police register answer onto its query at the backend; the inbox keeps no copy."""
        assert self.api is not None  # ready
        query_id, body = registers.answer_for(answer, message.partner)
        try:
            taken = await self.api.answer_query(query_id, body)
        except Refused as exc:
            taken, refused = False, f" refused: {exc}"
        else:
            refused = ""
        await outbox.blank_body(conn, message.id)
        dropped = "" if taken else " dropped: nobody waits for it"
        return f"answer for query {query_id}{refused or dropped}"


class Route(NamedTuple):
    decode: Callable[[bytes], Any]  # validates on arrival (a failure is refused with a nack)
    handle: Callable[[Inbound, Conn, InboxMessage, Any], Awaitable[str]]
    ready: Callable[[Inbound], bool]  # whether there is anyone to hand it to now


# What partners may send, and what becomes of it (docs/bridge.md, section 5).
ROUTES: dict[str, Route] = {
    "eido": Route(eido.decode_incident, Inbound.incident, Inbound.has_sink),
    "cap": Route(cap.decode_alert, Inbound.area_alert, Inbound.has_backend),
    "register_answer": Route(registers.decode_answer, Inbound.register_answer, Inbound.has_backend),
}
