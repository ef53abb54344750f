"""NENA EIDO conveyance: WebSocket subscribe/notify (NENA-STA-024), behind the bridge's transport seam.

The frames are those of the NENA schema "EIDO Conveyance Subscribe and Notify" version 1.1
(NENA911/WebSocket-Subscribe-Notify, `schema/websocket.yaml`, shipped as `schemas/nena/websocket.yaml`); each
frame is one JSON object with one top-level key naming its kind and is validated against that kind's
`<kind>Object` schema; every EIDO in an `event` is validated against the shipped EIDO schema
(meldkamer_bridge.adapters.eido). docs/bridge.md, section 10, is the partner's description.

Roles (both on one partner name, so the bridge's outbox and inbox for that partner are the delivery state):
- `Subscriber`: Schakel connects to the partner's notifier, sends `subscribe` (requestId, requestType EIDO,
  rates, expiry) and waits for the `subscribeResponse`; every `event` it gets is stored in the inbox, each
  EIDO once (its message id is `nena:<$id>@<lastUpdateTimeStamp>`, stable over resends), and only then
  answered with an `eventResponse` (200, or 400 naming what did not validate). A `terminate` is answered
  and followed by a new subscription.
- `Notifier`: Schakel listens; the partner subscribes (its identity is its client certificate) and gets the
  outbox's EIDOs as `event`s, one transaction id per batch (a UUID derived from the message ids, so a resend
  has the same one). An `eventResponse` 200 delivers the batch; 400/404/413 refuse it for good (dead letters,
  with the status text); 481 ends the session (the partner subscribes again); 500/503 and silence (no answer
  within `response_timeout_s`) are temporary: the batch is sent again later. Delivery state belongs to the
  subscriber's identity, not to one subscription: a partner that subscribes again (after a reconnect, a
  crash of either side) gets everything it has not answered with 200, in order.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import json
import logging
import time
import uuid
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs, urlsplit, urlunsplit

import jsonschema
import websockets
import yaml

from meldkamer_bridge.adapters.base import SCHEMAS, CodecError, OnReceived, Store, Validator
from meldkamer_bridge.adapters.eido import validate_eido
from meldkamer_bridge.adapters.tls import TlsConfig, certificate_names, client_context, server_context
from meldkamer_bridge.outbox import Envelope, OutboxMessage, Verdict, backoff_delay, backoff_delays

log = logging.getLogger(__name__)

SPEC = "NENA-STA-024 WebSocket subscribe/notify, schema version 1.1 (NENA911/WebSocket-Subscribe-Notify)"
KINDS = (
    "subscribe",
    "subscribeResponse",
    "unsubscribe",
    "unsubscribeResponse",
    "event",
    "eventResponse",
    "terminate",
    "terminateResponse",
    "response",
)
EIDO_TYPES = ("eido", "eido_update")  # the outbox types that are EIDOs (the rest has no EIDO form)
ACCEPTS = 'application/emergency.eido+json; version="1"'
MAX_FRAME_BYTES = 2 * 1024 * 1024
BATCH = 50  # EIDOs at most in one event's notification array
IN_FLIGHT = 8  # events sent and not yet answered, per session


# --- the frames -------------------------------------------------------------------------------------------


@functools.cache
def _schemas() -> dict[str, Any]:
    text = (SCHEMAS / "nena" / "websocket.yaml").read_text(encoding="utf-8")
    return dict(yaml.safe_load(text)["components"]["schemas"])


@functools.cache
def _frame_validator(kind: str) -> jsonschema.Draft4Validator:
    name = "responseObject" if kind == "response" else f"{kind}Object"
    return jsonschema.Draft4Validator(_schemas()[name])


def check_frame(doc: Any) -> tuple[str, dict[str, Any]]:
    """(kind, body) of a conveyance frame; CodecError when it is not one of the schema's messages."""
    if not isinstance(doc, dict) or len(doc) != 1:
        raise CodecError("frame", "expected an object with one key (subscribe, event, eventResponse, …)")
    ((kind, body),) = doc.items()
    if kind not in KINDS:
        raise CodecError("frame", f"unknown message {kind!r}")
    if not isinstance(body, dict):
        raise CodecError(kind, "expected an object")
    error = jsonschema.exceptions.best_match(_frame_validator(kind).iter_errors(doc))
    if error is not None:
        path = ".".join(str(p) for p in error.absolute_path) or kind
        raise CodecError(path, error.message[:300])
    return kind, body


def parse_frame(raw: str | bytes) -> tuple[str, dict[str, Any]]:
    if len(raw) > MAX_FRAME_BYTES:
        raise CodecError("frame", f"larger than {MAX_FRAME_BYTES} bytes")
    try:
        doc = json.loads(raw)
    except ValueError as exc:
        raise CodecError("frame", f"not JSON: {exc}") from None
    return check_frame(doc)


def frame(kind: str, **fields: Any) -> str:
    """One frame, checked against the schema before it leaves (a bug of ours never reaches a partner)."""
    doc = {kind: {k: v for k, v in fields.items() if v is not None}}
    check_frame(doc)
    return json.dumps(doc, ensure_ascii=False)


def eido_msg_id(doc: dict[str, Any]) -> str:
    """The inbox id of one received EIDO: the same version of the same incident is stored once."""
    return f"nena:{doc.get('$id', '')}@{doc.get('lastUpdateTimeStamp', '')}"


def transaction_id(msg_ids: list[str]) -> str:
    """A batch's transaction id: a UUID from its message ids, the same when the batch is sent again."""
    return str(uuid.uuid5(uuid.NAMESPACE_URL, "schakel:nena:" + "|".join(msg_ids)))


# --- a session's shared bits ------------------------------------------------------------------------------


class ConveyanceError(Exception):
    """The partner broke the conveyance (a bad frame, a wrong id, an error status); the session ends."""


@dataclass
class Status:
    """What an operator reads of one role: is it up, and what went wrong last (also in the log)."""

    subscription: str = ""
    last_error: str = ""
    events: int = 0  # events sent (notifier) or stored (subscriber)
    refused: int = 0  # EIDOs refused (by us as a subscriber, by the partner as a notifier)
    history: list[str] = field(default_factory=list)

    def error(self, text: str) -> None:
        self.last_error = text
        self.history = [*self.history[-19:], text]


async def _recv(ws: Any, timeout: float) -> tuple[str, dict[str, Any]]:
    raw = await asyncio.wait_for(ws.recv(), timeout)
    return parse_frame(raw)


# the options a partner's URL may carry for the conveyance (not sent on to the partner)
OPTIONS = ("listen", "minRate", "maxRate", "expires", "qualFilter")


def split_url(url: str) -> tuple[str, dict[str, str]]:
    """(the URL to connect to, the conveyance's options) from e.g.
    `nena+wss://host/path?listen=0.0.0.0:9443&minRate=60&maxRate=1&expires=3600`."""
    parts = urlsplit(url)
    query = parse_qs(parts.query)
    options = {key: query.pop(key)[0] for key in OPTIONS if key in query}
    rest = "&".join(f"{k}={v}" for k, values in query.items() for v in values)
    scheme = parts.scheme.removeprefix("nena+")
    for key in ("minRate", "maxRate", "expires"):
        if key in options and not options[key].isdigit():
            raise ValueError(f"{key} in {url!r}: a whole number of seconds")
    return urlunsplit((scheme, parts.netloc, parts.path or "/", rest, "")), options


# --- the subscriber ---------------------------------------------------------------------------------------


class Subscriber:
    """Subscribes to a partner's EIDOs and stores them in `store` (inbox of `peer`), each once, in order."""

    BASE_S = 0.1
    CAP_S = 10.0

    def __init__(
        self,
        url: str,
        store: Store,
        *,
        peer: str,
        validate: Validator | None = None,
        on_received: OnReceived | None = None,
        tls: TlsConfig | None = None,
        expires_s: int = 3600,
        min_rate_s: int | None = None,
        max_rate_s: int | None = None,
        qual_filter: str | None = None,
        response_timeout_s: float = 10.0,
    ) -> None:
        self.url = url
        self.store = store
        self.peer = peer
        self.validate = validate
        self.on_received = on_received
        self.tls = tls
        self.expires_s = expires_s
        self.min_rate_s = min_rate_s
        self.max_rate_s = max_rate_s
        self.qual_filter = qual_filter
        self.response_timeout_s = response_timeout_s
        self.connected = asyncio.Event()
        self.status = Status()
        self._subscription = ""  # renewed with its id while this process lives
        if url.startswith("wss://") and tls is None:  # a configuration error: say so at the start
            raise ValueError(f"{peer}: {url} needs mutual TLS (--tls-cert, --tls-key, --tls-ca)")

    async def run(self) -> None:
        options: dict[str, Any] = {"max_size": MAX_FRAME_BYTES, "open_timeout": 5, "ping_interval": 10}
        if self.tls is not None and self.url.startswith("wss://"):
            options["ssl"] = client_context(self.tls)
        attempt = 0
        connections = websockets.connect(
            self.url,
            reconnect_delays=lambda: backoff_delays(base=self.BASE_S, cap=self.CAP_S),
            process_exception=self._connect_failed,
            **options,
        ).__aiter__()
        try:
            async for ws in connections:
                up = time.monotonic()
                try:
                    await self._session(ws)
                except Exception as exc:  # the link, the partner or our store: again, later
                    self._down(exc)
                finally:
                    self.connected.clear()
                    with contextlib.suppress(Exception):
                        await ws.close()
                attempt = 1 if time.monotonic() - up > 30 else attempt + 1
                await asyncio.sleep(backoff_delay(attempt, base=self.BASE_S, cap=self.CAP_S))
        finally:
            await connections.aclose()  # type: ignore[attr-defined]  # an async generator

    def _connect_failed(self, exc: Exception) -> Exception | None:
        text = f"cannot connect to {self.url}: {type(exc).__name__}: {exc}"
        if text != self.status.last_error:
            log.warning("nena subscriber %s: %s", self.peer, text)
        self.status.error(text)
        return None  # retry

    def _down(self, exc: Exception) -> None:
        text = f"{type(exc).__name__}: {exc}"
        quiet = isinstance(exc, OSError | TimeoutError | websockets.WebSocketException | ConveyanceError)
        log.log(
            logging.WARNING if quiet else logging.ERROR,
            "nena subscriber %s: session ended (%s)",
            self.peer,
            text,
            exc_info=not quiet,
        )
        self.status.error(text)
        task = asyncio.get_running_loop().create_task(
            self.store.record_failure(self.peer, f"nena subscriber: {text}")
        )
        task.add_done_callback(lambda t: t.exception() if not t.cancelled() else None)

    async def _subscribe(self, ws: Any) -> int:
        request = str(uuid.uuid4())
        await ws.send(
            frame(
                "subscribe",
                requestId=request,
                requestType="EIDO",
                requestSubType="new",
                requestAccepts=ACCEPTS,
                qualFilter=self.qual_filter,
                minRate=self.min_rate_s,
                maxRate=self.max_rate_s,
                expires=self.expires_s,
                subscriptionId=self._subscription or None,
            )
        )
        deadline = time.monotonic() + self.response_timeout_s
        while True:
            try:
                kind, body = await _recv(ws, max(0.01, deadline - time.monotonic()))
            except TimeoutError:
                raise ConveyanceError(f"no subscribeResponse within {self.response_timeout_s:g} s") from None
            except CodecError as exc:
                raise ConveyanceError(f"bad frame instead of a subscribeResponse: {exc}") from None
            if kind != "subscribeResponse":
                raise ConveyanceError(f"expected a subscribeResponse, got {kind}")
            if body["requestId"] != request:
                raise ConveyanceError(
                    f"subscribeResponse for request {body['requestId']!r}, we sent {request!r}"
                )
            if body["statusCode"] == 481 and self._subscription:  # the renewal's id is unknown: a new one
                log.warning("nena subscriber %s: %s unknown (481)", self.peer, self._subscription)
                self._subscription = ""
                return await self._subscribe(ws)
            if body["statusCode"] != 200 or not body.get("subscriptionId"):
                raise ConveyanceError(
                    f"subscription refused: {body['statusCode']} {body.get('statusText', '')}"
                )
            self._subscription = str(body["subscriptionId"])
            self.status.subscription = self._subscription
            return int(body.get("expires") or self.expires_s)

    async def _session(self, ws: Any) -> None:
        # a subscription lives on its connection: a new connection (the notifier may have restarted) always
        # subscribes afresh; what it has not delivered it keeps for us, not for the old subscription
        self._subscription = ""
        expires = await self._subscribe(ws)
        self.connected.set()
        log.info("nena subscriber %s: subscribed (%s, %d s)", self.peer, self._subscription, expires)
        renew_at = time.monotonic() + max(1.0, expires * 0.8)
        while True:
            timeout = max(0.01, renew_at - time.monotonic())
            try:
                raw = await asyncio.wait_for(ws.recv(), timeout)
            except TimeoutError:  # renew before it runs out (same id: the notifier keeps it)
                expires = await self._subscribe(ws)
                renew_at = time.monotonic() + max(1.0, expires * 0.8)
                continue
            try:
                kind, body = parse_frame(raw)
            except CodecError as exc:
                await ws.close(code=1002, reason="bad frame")
                raise ConveyanceError(f"bad frame from the notifier: {exc}") from None
            if kind == "event":
                await self._event(ws, body)
            elif kind == "terminate":
                await ws.send(
                    frame(
                        "terminateResponse",
                        requestId=body["requestId"],
                        subscriptionId=body["subscriptionId"],
                        statusCode=200,
                        statusText="OK",
                    )
                )
                self._subscription = ""
                raise ConveyanceError(f"the notifier terminated subscription {body['subscriptionId']}")
            else:
                log.warning("nena subscriber %s: ignored an unexpected %s", self.peer, kind)

    async def _event(self, ws: Any, body: dict[str, Any]) -> None:
        transaction = body["transactionId"]
        if body["subscriptionId"] != self._subscription:
            await ws.send(
                frame(
                    "eventResponse",
                    transactionId=transaction,
                    statusCode=481,
                    statusText=f"no subscription {body['subscriptionId']}",
                )
            )
            return
        last = await self.store.inbound_seq(self.peer)
        envelopes: list[Envelope] = []
        rejections: dict[int, str] = {}
        for doc in body.get("notification") or []:
            seq = last + len(envelopes) + 1
            text = json.dumps(doc, ensure_ascii=False)
            msg_id = eido_msg_id(doc) if isinstance(doc, dict) else f"nena:invalid:{transaction}:{seq}"
            env = Envelope(msg_id=msg_id, seq=seq, partner=self.peer, type="eido", body=text)
            reason = self._check(env, doc)
            if reason is not None:
                rejections[seq] = reason
            envelopes.append(env)
        if envelopes:
            verdicts, _ = await self.store.receive(self.peer, envelopes, rejections)
            if Verdict.GAP in verdicts:  # cannot happen with one session per partner; never answer 200
                raise ConveyanceError("inbox out of step (another session for this partner?)")
            self.status.events += 1
            if self.on_received is not None:
                for env, verdict in zip(envelopes, verdicts, strict=True):
                    if verdict is Verdict.NEW and env.seq not in rejections:
                        await self.on_received(env)
        if rejections:
            self.status.refused += len(rejections)
            text = "; ".join(f"EIDO {seq - last}: {reason}" for seq, reason in rejections.items())
            log.warning("nena subscriber %s: refused %s", self.peer, text)
            await ws.send(
                frame("eventResponse", transactionId=transaction, statusCode=400, statusText=text[:1000])
            )
        else:
            await ws.send(frame("eventResponse", transactionId=transaction, statusCode=200, statusText="OK"))

    def _check(self, env: Envelope, doc: Any) -> str | None:
        try:
            validate_eido(doc)
        except CodecError as exc:
            return f"{exc.field}: {exc.reason}"
        return self.validate(env) if self.validate is not None else None


# --- the notifier -----------------------------------------------------------------------------------------


@dataclass
class _Sent:
    seqs: list[int]
    at: float
    ids: list[str]


class NotifierSession:
    """One subscriber's connection: `subscribe` answered, then the outbox as events until it ends."""

    def __init__(
        self,
        ws: Any,
        store: Store,
        *,
        peer: str,
        status: Status,
        response_timeout_s: float,
        max_expires_s: int,
    ) -> None:
        self.ws = ws
        self.store = store
        self.peer = peer
        self.status = status
        self.response_timeout_s = response_timeout_s
        self.max_expires_s = max_expires_s
        self.subscription = ""
        self.incident: str | None = None
        self.min_rate_s = 0
        self.max_rate_s = 0
        self.expires_at = 0.0
        self._in_flight: dict[str, _Sent] = {}
        self._done: set[int] = set()
        self._acked = 0
        self._sent = 0  # the highest seq put in an event on this connection
        self._retry: list[int] = []  # seqs to send again (a 5xx answer)
        self._retry_after = 0.0
        self._last_sent = time.monotonic()
        self._wake = asyncio.Event()
        self._subscribed = asyncio.Event()

    async def run(self) -> None:
        reader = asyncio.create_task(self._read_loop())
        sender = asyncio.create_task(self._send_loop())
        try:
            done, _ = await asyncio.wait([reader, sender], return_when=asyncio.FIRST_COMPLETED)
        finally:
            for task in (reader, sender):
                task.cancel()
            await asyncio.gather(reader, sender, return_exceptions=True)
        for task in done:
            if not task.cancelled() and task.exception() is not None:
                raise task.exception()  # type: ignore[misc]

    async def _fail(self, code: int, reason: str, text: str) -> None:
        """Close the connection and end the session, saying why (log and status) before the close."""
        log.warning("nena notifier %s: %s; closing", self.peer, text)
        self.status.error(text)
        with contextlib.suppress(Exception):
            await self.ws.close(code=code, reason=reason)
        raise ConveyanceError(text)

    # reading: subscribe, unsubscribe, eventResponse, terminateResponse

    async def _read_loop(self) -> None:
        async for raw in self.ws:
            try:
                kind, body = parse_frame(raw)
            except CodecError as exc:
                await self._fail(1002, "bad frame", f"bad frame from the subscriber: {exc}")
            if kind == "subscribe":
                await self._on_subscribe(body)
            elif kind == "unsubscribe":
                ok = body["subscriptionId"] == self.subscription
                await self.ws.send(
                    frame(
                        "unsubscribeResponse",
                        requestId=body["requestId"],
                        subscriptionId=body["subscriptionId"],
                        statusCode=200 if ok else 481,
                        statusText="OK" if ok else "no such subscription",
                    )
                )
                if ok:
                    log.info("nena notifier %s: unsubscribed %s", self.peer, self.subscription)
                    self.subscription = ""
                    self._subscribed.clear()
            elif kind == "eventResponse":
                await self._on_event_response(body)
            elif kind == "terminateResponse":
                log.info("nena notifier %s: terminate answered %s", self.peer, body["statusCode"])
            else:
                request = body.get("requestId")
                if isinstance(request, str):
                    await self.ws.send(
                        frame("response", requestId=request, statusCode=501, statusText="Not implemented")
                    )
                log.warning("nena notifier %s: unexpected %s from the subscriber", self.peer, kind)

    async def _on_subscribe(self, body: dict[str, Any]) -> None:
        request = body["requestId"]

        async def answer(code: int, text: str, **extra: Any) -> None:
            await self.ws.send(
                frame("subscribeResponse", requestId=request, statusCode=code, statusText=text, **extra)
            )

        renewal = body.get("subscriptionId")
        if renewal and renewal != self.subscription:
            await answer(481, f"no subscription {renewal}")
            return
        if not renewal and body.get("requestType") != "EIDO":
            await answer(400, "requestType EIDO is required")
            return
        if body.get("qualFilter"):
            await answer(400, "qualFilter is not supported: subscribe to all new incidents or one incidentId")
            return
        if body.get("requestSubType") == "resource" or body.get("unitId"):
            await answer(400, "resource subscriptions are not supported")
            return
        accepts = body.get("requestAccepts")
        if accepts and "eido+json" not in accepts:
            await answer(406, f"only {ACCEPTS}")
            return
        expires = min(int(body.get("expires") or self.max_expires_s), self.max_expires_s)
        self.subscription = renewal or str(uuid.uuid4())
        self.incident = body.get("incidentId") or self.incident
        self.min_rate_s = max(0, int(body.get("minRate") or 0))
        self.max_rate_s = max(0, int(body.get("maxRate") or 0))
        self.expires_at = time.monotonic() + expires
        self.status.subscription = self.subscription
        await answer(
            200,
            "OK",
            subscriptionId=self.subscription,
            expires=expires,
            minRate=self.min_rate_s or None,
            maxRate=self.max_rate_s or None,
        )
        log.info("nena notifier %s: subscription %s (%d s)", self.peer, self.subscription, expires)
        if not renewal:
            self._acked, _ = await self.store.outbound_state(self.peer)
            self._sent = self._acked
            self._in_flight.clear()
            self._done.clear()
            self._retry.clear()
        self._subscribed.set()
        self._wake.set()

    async def _on_event_response(self, body: dict[str, Any]) -> None:
        sent = self._in_flight.pop(body["transactionId"], None)
        code, text = int(body["statusCode"]), str(body.get("statusText", ""))
        if sent is None:
            log.warning(
                "nena notifier %s: eventResponse %d for unknown transaction %s",
                self.peer,
                code,
                body["transactionId"],
            )
            return
        if code == 200:
            self._done.update(sent.seqs)
        elif code in (400, 404, 413):  # the subscriber will never take these: dead letters with its reason
            reason = f"eventResponse {code}: {text}"
            self.status.refused += len(sent.seqs)
            self.status.error(reason)
            log.warning("nena notifier %s: partner refused %s (%s)", self.peer, sent.ids, reason)
            for seq in sent.seqs:
                await self.store.reject(self.peer, seq, reason)
            self._done.update(sent.seqs)
        elif code == 481:
            raise ConveyanceError(f"the subscriber does not know subscription {self.subscription} (481)")
        else:  # 500, 501, 503, anything else: temporary, send again after a pause
            self.status.error(f"eventResponse {code}: {text}")
            with contextlib.suppress(Exception):
                await self.store.record_failure(self.peer, f"nena notifier: eventResponse {code}: {text}")
            log.warning("nena notifier %s: eventResponse %d %s; sending again", self.peer, code, text)
            self._retry = sorted({*self._retry, *sent.seqs})
            self._retry_after = time.monotonic() + 1.0
        await self._advance()
        self._wake.set()

    async def _advance(self) -> None:
        acked = self._acked
        while acked + 1 in self._done:
            acked += 1
            self._done.discard(acked)
        if acked > self._acked:
            self._acked = acked
            await self.store.acknowledge(self.peer, acked)

    # sending: the outbox as events

    async def _send_loop(self) -> None:
        changed = self.store.changed(self.peer)
        while True:
            changed.clear()
            self._wake.clear()
            now = time.monotonic()
            for transaction, sent in self._in_flight.items():
                if now - sent.at > self.response_timeout_s:
                    await self._fail(
                        1011,
                        "no eventResponse",
                        f"no eventResponse for {transaction} within {self.response_timeout_s:g} s",
                    )
            if self._subscribed.is_set() and self.expires_at and now >= self.expires_at:
                await self.ws.send(
                    frame("terminate", requestId=str(uuid.uuid4()), subscriptionId=self.subscription)
                )
                log.info("nena notifier %s: subscription %s expired", self.peer, self.subscription)
                self.subscription = ""
                self._subscribed.clear()
            if self._subscribed.is_set() and await self._send_some():
                continue
            waiters = [asyncio.create_task(changed.wait()), asyncio.create_task(self._wake.wait())]
            try:
                await asyncio.wait(waiters, timeout=0.5, return_when=asyncio.FIRST_COMPLETED)
            finally:
                for waiter in waiters:
                    waiter.cancel()
                await asyncio.gather(*waiters, return_exceptions=True)

    async def _send_some(self) -> bool:
        """Send one event if there is something and room and the rate allows; whether one was sent."""
        now = time.monotonic()
        if len(self._in_flight) >= IN_FLIGHT or now - self._last_sent < self.max_rate_s:
            return False
        if self._retry:  # in order: nothing newer goes out before what is to be sent again
            if now < self._retry_after:
                return False
            seqs, self._retry = self._retry[:BATCH], self._retry[BATCH:]
            pending = await self.store.pending(self.peer, min(seqs) - 1, max(seqs))
            messages = [m for m in pending if m.seq in seqs]
            return await self._send(messages)
        _, last = await self.store.outbound_state(self.peer)
        if last > self._sent:
            messages = await self.store.pending(self.peer, self._sent, min(last, self._sent + BATCH))
            if messages:
                self._sent = messages[-1].seq
                return await self._send(messages)
        if self.min_rate_s and now - self._last_sent >= self.min_rate_s:  # a heartbeat: "nothing new"
            await self._event([], str(uuid.uuid4()), [])
            return True
        return False

    async def _send(self, messages: list[OutboxMessage]) -> bool:
        eidos: list[Any] = []
        seqs: list[int] = []
        ids: list[str] = []
        for m in messages:
            if m.type not in EIDO_TYPES:  # misconfigured: this partner gets what the conveyance cannot carry
                reason = f"{m.type} is not an EIDO: the NENA conveyance carries EIDOs only"
                await self.store.reject(self.peer, m.seq, reason)
                self._done.add(m.seq)
                continue
            doc = json.loads(m.body)
            if self.incident is not None and doc.get("$id") != self.incident:
                continue  # another incident: not for this subscription (and not delivered by it)
            eidos.append(doc)
            seqs.append(m.seq)
            ids.append(m.msg_id)
        await self._advance()
        if not eidos:
            return bool(messages)
        await self._event(eidos, transaction_id(ids), seqs, ids)
        return True

    async def _event(
        self, eidos: list[Any], transaction: str, seqs: list[int], ids: list[str] | None = None
    ) -> None:
        self._in_flight[transaction] = _Sent(seqs=seqs, at=time.monotonic(), ids=ids or [])
        await self.ws.send(
            frame("event", subscriptionId=self.subscription, transactionId=transaction, notification=eidos)
        )
        self._last_sent = time.monotonic()
        self.status.events += 1


class Notifier:
    """The notifier's server: one subscriber identity (`peer`), one live session (a new one replaces it)."""

    def __init__(
        self,
        listen: str,
        store: Store,
        *,
        peer: str,
        tls: TlsConfig | None = None,
        response_timeout_s: float = 10.0,
        max_expires_s: int = 3600,
    ) -> None:
        host, _, port = listen.rpartition(":")
        self.host = host.strip("[]") or "127.0.0.1"
        self.port = int(port)
        if tls is None and self.host not in ("127.0.0.1", "::1", "localhost"):
            raise ValueError(f"{peer}: a notifier on {listen} needs mutual TLS (only loopback goes without)")
        self.store = store
        self.peer = peer
        self.tls = tls
        self.response_timeout_s = response_timeout_s
        self.max_expires_s = max_expires_s
        self.connected = asyncio.Event()
        self.status = Status()
        self._live: tuple[Any, asyncio.Event] | None = None
        self.listening = asyncio.Event()  # set once bound (`port` is then the real one, also for port 0)

    def _identity_ok(self, ws: Any) -> bool:
        if self.tls is None:
            return True  # loopback only (see __init__)
        ssl_object = ws.transport.get_extra_info("ssl_object")
        names = certificate_names(ssl_object.getpeercert() if ssl_object is not None else None)
        wanted = self.tls.peer_name or self.peer
        if wanted in names:
            return True
        text = f"refused a subscriber whose certificate names {sorted(names)}, expected {wanted!r}"
        log.warning("nena notifier %s: %s", self.peer, text)
        self.status.error(text)
        return False

    async def handle(self, ws: Any) -> None:
        if not self._identity_ok(ws):
            await ws.close(code=1008, reason="unauthorized")
            return
        if self._live is not None:  # one session per partner: the old one ends before the new one starts
            old, ended = self._live
            await old.close()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(ended.wait(), 10)
        ended = asyncio.Event()
        self._live = (ws, ended)
        self.connected.set()
        try:
            await NotifierSession(
                ws,
                self.store,
                peer=self.peer,
                status=self.status,
                response_timeout_s=self.response_timeout_s,
                max_expires_s=self.max_expires_s,
            ).run()
        except (ConveyanceError, websockets.ConnectionClosed) as exc:
            log.info("nena notifier %s: session ended: %s", self.peer, exc)
            self.status.error(f"session ended: {exc}")
            if isinstance(exc, ConveyanceError):  # the partner's fault: in the admins' status as well
                with contextlib.suppress(Exception):
                    await self.store.record_failure(self.peer, f"nena notifier: {exc}")
        except Exception as exc:
            log.exception("nena notifier %s: session failed", self.peer)
            self.status.error(f"session failed: {exc}")
            with contextlib.suppress(Exception):
                await self.store.record_failure(self.peer, f"{type(exc).__name__}: {exc}")
        finally:
            ended.set()
            if self._live is not None and self._live[0] is ws:
                self._live = None
                self.connected.clear()

    async def run(self) -> None:
        context = server_context(self.tls) if self.tls is not None else None
        async with websockets.serve(
            self.handle, self.host, self.port, ssl=context, max_size=MAX_FRAME_BYTES, ping_interval=10
        ) as server:
            self.port = int(next(iter(server.sockets)).getsockname()[1])
            self.listening.set()
            log.info("nena notifier %s listening on %s:%d", self.peer, self.host, self.port)
            await asyncio.Future()  # until cancelled


# --- the bridge's transport -------------------------------------------------------------------------------


class NenaConveyance:
    """A partner on the NENA conveyance (a Transport, meldkamer_bridge.adapters.base): Schakel subscribes
    to the partner's EIDOs at the URL (`nena+wss://…`, `nena+ws://` on loopback) and, with
    `?listen=host:port`, also notifies the partner of its own EIDOs (the outbox for this partner) there."""

    def __init__(
        self,
        url: str,
        store: Store,
        *,
        me: str,
        peer: str,
        token: str = "",
        validate: Validator | None = None,
        on_received: OnReceived | None = None,
        tls: TlsConfig | None = None,
    ) -> None:
        del me, token  # the conveyance names no sender; identity is the TLS certificate
        connect, options = split_url(url)
        listen = options.get("listen", "")
        self.peer = peer

        def seconds(key: str) -> int | None:
            return int(options[key]) if key in options else None

        self.subscriber = Subscriber(
            connect,
            store,
            peer=peer,
            validate=validate,
            on_received=on_received,
            tls=tls,
            expires_s=seconds("expires") or 3600,
            min_rate_s=seconds("minRate"),
            max_rate_s=seconds("maxRate"),
            qual_filter=options.get("qualFilter"),
        )
        self.notifier: Notifier | None = Notifier(listen, store, peer=peer, tls=tls) if listen else None
        self._connected = self.subscriber.connected

    @property
    def name(self) -> str:
        return self.peer

    @property
    def connected(self) -> asyncio.Event:
        return self._connected

    async def run(self) -> None:
        async with asyncio.TaskGroup() as tasks:
            tasks.create_task(self.subscriber.run())
            if self.notifier is not None:
                tasks.create_task(self.notifier.run())
