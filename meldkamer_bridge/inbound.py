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
import httpx
import msgspec

from meldkamer_bridge import handover, outbox, registers
from meldkamer_bridge.adapters import cap, eido
from meldkamer_bridge.adapters.base import CodecError
from meldkamer_bridge.api import BackendApi, Refused, Unavailable
from meldkamer_bridge.config import BridgeConfig
from meldkamer_bridge.outbound import Outbound
from meldkamer_bridge.outbox import Conn, Envelope, InboxMessage

log = logging.getLogger(__name__)
BACKEND_CONCURRENCY = 16  # backend calls in flight at once while handing a batch over
AWAY_PAUSE_S = 5.0  # between tries while the backend is away (its feed coming back wakes the loop at once)
DECODED_KEPT = 20_000  # decoded messages kept from arrival for their hand-over (~1 KiB each)

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
        self._wake = {type_: asyncio.Event() for type_ in ROUTES}  # wakes a type's inbox loop
        # the last incident hand-over found the backend away: said once, incidents tried every AWAY_PAUSE_S
        # (police alerts and register answers keep their own 1 s pace: a boa waits for an answer)
        self._away = False
        self._busy = {type_: asyncio.Lock() for type_ in ROUTES}  # one hand-over at a time per type
        # what `validate` decoded, by (partner, msg_id), until the hand-over takes it (after a restart, or
        # past DECODED_KEPT, the body is decoded again from the inbox)
        self._decoded: dict[tuple[str, str], Any] = {}

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
            decoded = route.decode(env.body.encode("utf-8"))
        except CodecError as exc:
            return f"{exc.field}: {exc.reason}"
        except (msgspec.ValidationError, msgspec.DecodeError, ValueError) as exc:
            return str(exc)[:300]
        if len(self._decoded) < DECODED_KEPT:  # past that (a long backend outage) the hand-over reads again
            self._decoded[(env.partner, env.msg_id)] = decoded  # the hand-over need not decode it again
        return None

    async def received(self, env: Envelope) -> None:
        log.info("from %s: %s #%d %s", env.partner, env.type, env.seq, env.msg_id)
        if (wake := self._wake.get(env.type)) is not None and not (self._away and env.type == "eido"):
            wake.set()  # (the incidents' backend away: an arrival does not make that loop try at once)

    # --- the inbox loop -----------------------------------------------------------------------------------

    def wake(self) -> None:
        """Look at the inbox now (e.g. the backend is back), not after the pause."""
        for event in self._wake.values():
            event.set()

    async def run(self) -> None:
        """Hand stored messages to their handlers; the inbox keeps each until that succeeds. One loop per
        message type: a backlog of incidents never holds up a police alert or a register answer."""
        async with asyncio.TaskGroup() as loops:
            for type_ in ROUTES:
                loops.create_task(self._loop(type_))

    async def _loop(self, type_: str) -> None:
        wake = self._wake[type_]
        while True:
            wake.clear()
            try:
                if await self.process(type_) >= self.config.inbound_batch:
                    continue  # more is waiting: no pause between batches
            except Exception:  # the database is away: try again in a moment
                log.exception("handing the inbox over failed")
            with contextlib.suppress(TimeoutError):  # woken at once when the backend's feed is back
                async with asyncio.timeout(AWAY_PAUSE_S if self._away and type_ == "eido" else 1.0):
                    await wake.wait()

    async def process(self, type_: str) -> int:
        """Hand unprocessed messages of one type to its handler, oldest first; how many it handled.

        Batched (docs/bridge.md, section 5): the backend calls of a batch run concurrently, but one incident's
        (one alert's, one query's) messages strictly one after the other, in the order they arrived; then one
        transaction records the batch, each message under a savepoint of its own, so one that fails stays in
        the inbox and is tried again without holding up the others; an incident whose message failed gets
        none of its later messages handled before it. Exactly once: a message is marked processed in the
        transaction that records what it did; a crash between a backend call and that commit calls again, and
        the backend keeps one melding per (source, external id), one area alert per (source, identifier).

        A type whose backend takes a whole batch in one call (incidents) is drained: while the backend makes
        one batch, the next is read from the inbox, and so on while full batches come, until one message is
        left unhandled (then its key's later ones wait for the next try, in order) or the inbox is empty.
        """
        route = ROUTES[type_]
        batch = max(1, self.config.inbound_batch)
        async with self._busy[type_]:
            if not route.ready(self):
                return 0  # nobody to hand them to yet
            if batch > 1 and route.prepare_many is not None:
                return await self._drain(route, type_, batch)
            messages, decoded = await self._read(route, type_, max(batch, 100), batch == 1)
            if batch == 1:  # the serial way, kept as the bench's baseline: one message per transaction
                done = 0
                for m in messages:
                    prepared = await self._prepare(route, [m], decoded)
                    done += len(await self._record(route, [m], decoded, prepared))
                return done
            prepared = await self._prepare(route, messages[:batch], decoded)
            return len(await self._record(route, messages[:batch], decoded, prepared))

    async def _read(
        self, route: Route, type_: str, limit: int, again: bool, after: int = 0
    ) -> tuple[list[InboxMessage], dict[int, Any]]:
        """The oldest unprocessed messages, decoded. The body passed `decode` on arrival and the inbox keeps
        it unchanged: what was decoded then is used, or it is read without the schema check (`again`: decode
        and check it again, the serial way)."""
        async with self.pool.acquire() as conn:
            messages = await outbox.unprocessed(conn, types=[type_], limit=limit, after=after)
        read = route.decode if again else (route.read or route.decode)
        decoded = {}
        for m in messages:
            kept = None if again else self._decoded.pop((m.partner, m.msg_id), None)
            decoded[m.id] = kept if kept is not None else read(m.body.encode("utf-8"))
        return messages, decoded

    async def _drain(self, route: Route, type_: str, batch: int) -> int:
        assert route.prepare_many is not None  # only such routes are drained
        handled = 0
        messages, decoded = await self._read(route, type_, batch, False)
        while messages:
            call = asyncio.ensure_future(route.prepare_many(self, messages, decoded))
            try:  # the next batch is read while the backend makes this one
                later, later_decoded = (
                    await self._read(route, type_, batch, False, after=messages[-1].id)
                    if len(messages) >= batch
                    else ([], {})
                )
            except BaseException:
                call.cancel()
                with contextlib.suppress(BaseException):
                    await call
                raise
            prepared = await call
            if prepared is None:  # another sink, an older backend: one call per message
                prepared = await self._prepare(route, messages, decoded)
            recorded = await self._record(route, messages, decoded, prepared)
            handled += len(recorded)
            if len(recorded) < len(messages):  # something waits: the rest waits for the next try, in order
                for waiting, decodings in ((messages, decoded), (later, later_decoded)):
                    for m in waiting:  # their decoding is kept for then
                        if m.id not in recorded:
                            self._decoded[(m.partner, m.msg_id)] = decodings[m.id]
                return handled
            messages, decoded = later, later_decoded
        return handled

    async def _prepare(
        self, route: Route, messages: list[InboxMessage], decoded: dict[int, Any]
    ) -> dict[int, Any]:
        """The backend calls of a batch: concurrent across keys, in order within one key; id -> outcome (a
        message missing from the answer failed, and so did the later ones of its key)."""
        if route.prepare is None:
            return {m.id: None for m in messages}
        by_key: dict[str, list[InboxMessage]] = {}
        for m in messages:
            by_key.setdefault(route.key(decoded[m.id]), []).append(m)
        outcomes: dict[int, Any] = {}
        gate = asyncio.Semaphore(BACKEND_CONCURRENCY)
        prepare = route.prepare

        async def one_key(items: list[InboxMessage]) -> None:
            for m in items:
                try:
                    async with gate:
                        outcomes[m.id] = await prepare(self, m, decoded[m.id])
                except Exception:
                    log.exception("%s %s not handled yet", m.type, m.msg_id)
                    return  # its key's later messages wait for it

        await asyncio.gather(*(one_key(items) for items in by_key.values()))
        return outcomes

    async def _record(
        self,
        route: Route,
        messages: list[InboxMessage],
        decoded: dict[int, Any],
        prepared: dict[int, Any],
    ) -> set[int]:
        """Record a batch in one transaction; the ids recorded. First without savepoints (one round trip
        fewer per message: the common case, where every message's statements succeed); when one fails, the
        transaction rolls back and the batch is recorded again with a savepoint per message, so only the
        failing one stays."""
        try:
            async with self.pool.acquire() as conn, conn.transaction():
                return await self._record_in(conn, route, messages, decoded, prepared, savepoints=False)
        except (asyncpg.PostgresError, _HandlerFailed):
            async with self.pool.acquire() as conn, conn.transaction():
                return await self._record_in(conn, route, messages, decoded, prepared, savepoints=True)

    async def _record_in(
        self,
        conn: Conn,
        route: Route,
        messages: list[InboxMessage],
        decoded: dict[int, Any],
        prepared: dict[int, Any],
        *,
        savepoints: bool,
    ) -> set[int]:
        results: list[tuple[int, str]] = []
        failed: set[str] = set()  # keys with a message not handled: their later messages wait
        for m in messages:
            key = route.key(decoded[m.id])
            if key in failed or m.id not in prepared:
                failed.add(key)
                continue
            done = route.done(prepared[m.id])
            if done is not None:  # the backend call said it all: nothing to write but the mark
                results.append((m.id, done))
                continue
            if not savepoints:
                try:
                    results.append((m.id, await route.handle(self, conn, m, decoded[m.id], prepared[m.id])))
                except asyncpg.PostgresError:
                    raise
                except Exception as exc:  # not the database's: roll back and go again with savepoints
                    raise _HandlerFailed(m.msg_id) from exc
                continue
            try:
                async with conn.transaction():  # a savepoint: a failing message rolls back alone
                    results.append((m.id, await route.handle(self, conn, m, decoded[m.id], prepared[m.id])))
            except Exception:
                log.exception("%s %s not handled yet", m.type, m.msg_id)
                failed.add(key)
        await outbox.mark_processed_many(conn, results)
        return {i for i, _ in results}

    # --- the handlers -------------------------------------------------------------------------------------
    # prepare: the backend call (no database connection; concurrent across keys); handle: what is written in
    # the batch's transaction, with what prepare returned.

    async def prepare_incident(self, message: InboxMessage, incident: eido.IncidentHandover) -> Any:
        if self.api is None or self.incident_sink != self.create_melding:
            return None  # another sink does its work in the transaction
        body = handover.incident_request(message.partner, incident)
        try:
            return await self.api.post("/api/incidents", body)
        except Refused as exc:
            return exc

    async def prepare_incidents(
        self, messages: list[InboxMessage], decoded: dict[int, Any]
    ) -> dict[int, Any] | None:
        """A batch of handed-over incidents in one backend call (POST /api/bridge/incidents), in inbox order;
        id -> outcome as `prepare_incident` gives it. An item the backend could not take now (409, 5xx) is
        left out, and so are its incident's later messages (they wait for it, in order); when the call itself
        fails all of them stay in the inbox. None: post them one by one (another sink, an older backend)."""
        if self.api is None or self.incident_sink != self.create_melding:
            return None
        if not messages:
            return {}
        bodies = [handover.incident_request(m.partner, decoded[m.id]) for m in messages]
        try:
            outcomes = await self.api.hand_over(bodies)
        except Refused:  # the call as a whole (never expected): one by one, so only a bad one is refused
            log.exception("the backend refused a batch of %d incidents; posting them one by one", len(bodies))
            return None
        except (Unavailable, httpx.HTTPError) as exc:  # the backend is away: said once, without a traceback
            if not self._away:
                log.warning("the backend is away (%s): incidents wait in the inbox", exc)
            self._away = True
            return {}
        except Exception:
            log.exception("handing %d incidents over failed; they stay in the inbox", len(messages))
            return {}
        if self._away:
            log.warning("the backend is back: handing the waiting incidents over")
            self._away = False
        if outcomes is None:
            return None
        if len(outcomes) != len(messages):
            log.error("the backend answered %d outcomes for %d incidents", len(outcomes), len(messages))
            return {}
        prepared: dict[int, Any] = {}
        waiting: set[str] = set()  # incidents with a message not taken: their later messages wait
        for m, outcome in zip(messages, outcomes, strict=True):
            key = f"incident:{decoded[m.id].external_id}"
            if key in waiting:
                continue
            if outcome.status in (200, 201) and outcome.incident_id is not None:
                prepared[m.id] = {"incident_id": outcome.incident_id}
            elif 400 <= outcome.status < 500 and outcome.status not in (401, 408, 409, 429):
                where = f"{outcome.field}: " if outcome.field else ""
                prepared[m.id] = Refused(f"{outcome.status} {where}{outcome.reason}", outcome.status)
            else:
                log.warning("%s %s not taken yet: %s", m.type, m.msg_id, outcome.reason or outcome.status)
                waiting.add(key)
        return prepared

    async def incident(
        self, conn: Conn, message: InboxMessage, incident: eido.IncidentHandover, prepared: Any
    ) -> str:
        assert self.incident_sink is not None  # ready
        if isinstance(prepared, Refused):
            return await self._declined(conn, message, incident, prepared)
        if isinstance(prepared, dict):
            return f"melding {prepared['incident_id']}"
        return await self.incident_sink(conn, message, incident)

    async def create_melding(self, conn: Conn, message: InboxMessage, incident: eido.IncidentHandover) -> str:
        """The incident sink with a backend: the melding is made (once) through POST /api/incidents."""
        assert self.api is not None
        body = handover.incident_request(message.partner, incident)
        try:
            melding = await self.api.post("/api/incidents", body)
        except Refused as exc:
            return await self._declined(conn, message, incident, exc)
        return f"melding {melding['incident_id']}"

    async def _declined(
        self, conn: Conn, message: InboxMessage, incident: eido.IncidentHandover, exc: Refused
    ) -> str:
        declined = eido.IncidentUpdate(
            external_id=incident.external_id,
            agency=self.config.agency,
            progress=eido.Progress.DECLINED,
            at=datetime.now(UTC),
            note=f"Niet overgenomen door handhaving: {exc}"[:500],
        )
        await self.outbound.send_progress(conn, declined, msg_id=f"schakel:declined:{message.msg_id}")
        return f"refused: {exc}"

    async def prepare_area_alert(self, message: InboxMessage, alert: cap.PartnerAlert) -> str:
        """A police CAP alert to the backend (POST /api/area-alerts), which pushes it to the units inside."""
        assert self.api is not None  # ready
        body = handover.area_alert_request(message.partner, alert)
        try:
            stored = await self.api.post("/api/area-alerts", body)
        except Refused as exc:
            return f"refused: {exc}"
        return f"area alert {stored['alert_id']} to units {stored['unit_ids']}"

    async def area_alert(
        self, conn: Conn, message: InboxMessage, alert: cap.PartnerAlert, prepared: str
    ) -> str:
        return prepared

    async def prepare_register_answer(self, message: InboxMessage, answer: registers.RegisterAnswer) -> str:
        """A police register answer onto its query at the backend; the inbox keeps no copy."""
        assert self.api is not None  # ready
        query_id, body = registers.answer_for(answer, message.partner)
        try:
            taken = await self.api.answer_query(query_id, body)
        except Refused as exc:
            taken, refused = False, f" refused: {exc}"
        else:
            refused = ""
        dropped = "" if taken else " dropped: nobody waits for it"
        return f"answer for query {query_id}{refused or dropped}"

    async def register_answer(
        self, conn: Conn, message: InboxMessage, answer: registers.RegisterAnswer, prepared: str
    ) -> str:
        await outbox.blank_body(conn, message.id)
        return prepared


class _HandlerFailed(Exception):
    """A handler failed in a batch recorded without savepoints: record the batch again, with them."""


class Route(NamedTuple):
    decode: Callable[[bytes], Any]  # validates on arrival (a failure is refused with a nack)
    key: Callable[[Any], str]  # messages with one key are handled in order, one after the other
    prepare: Callable[[Inbound, InboxMessage, Any], Awaitable[Any]] | None  # the backend call, if any
    handle: Callable[[Inbound, Conn, InboxMessage, Any, Any], Awaitable[str]]  # in the batch's transaction
    done: Callable[[Any], str | None]  # the result when prepare's outcome leaves nothing to write
    ready: Callable[[Inbound], bool]  # whether there is anyone to hand it to now
    read: Callable[[bytes], Any] | None = None  # decode without the schema check done on arrival
    # the backend calls of a whole batch in one (id -> outcome, as prepare gives), or None: prepare each
    prepare_many: (
        Callable[[Inbound, list[InboxMessage], dict[int, Any]], Awaitable[dict[int, Any] | None]] | None
    ) = None


# What partners may send, and what becomes of it (docs/bridge.md, section 5).
ROUTES: dict[str, Route] = {
    "eido": Route(
        eido.decode_incident,
        lambda i: f"incident:{i.external_id}",
        Inbound.prepare_incident,
        Inbound.incident,
        lambda prepared: f"melding {prepared['incident_id']}" if isinstance(prepared, dict) else None,
        Inbound.has_sink,
        lambda body: eido.decode_incident(body, validated=True),
        Inbound.prepare_incidents,
    ),
    "cap": Route(
        cap.decode_alert,
        lambda a: f"alert:{a.identifier}",
        Inbound.prepare_area_alert,
        Inbound.area_alert,
        lambda prepared: str(prepared),
        Inbound.has_backend,
    ),
    "register_answer": Route(
        registers.decode_answer,
        lambda a: f"query:{a.query_id}",
        Inbound.prepare_register_answer,
        Inbound.register_answer,
        lambda prepared: None,  # its body is blanked in the transaction
        Inbound.has_backend,
    ),
}
