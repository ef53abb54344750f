"""The partner link: one websocket, messages both ways, each side with a durable outbox and inbox.

Frames are JSON text (docs/bridge.md):
    {"hello": {"name": ..., "token": ..., "acked": n, "version": 1}}    client -> server, first frame
    {"welcome": {"name": ..., "acked": n, "version": 1}}                server -> client
    {"msg_id": ..., "seq": n, "partner": ..., "type": ..., "body": ...}  a message (either way)
    {"ack": n}                       everything up to n is durable at the receiver
    {"nack": n, "reason": ...}       n is consumed but refused (it goes to the sender's dead-letter list)
    {"error": ..., "expected": n}    protocol error; the sender closes, reconnects and resends from its ack
`acked` in hello/welcome is what the speaker has stored of the other side's messages: each side resends
everything after it, in order. Both sides run the same `Session`; only who connects differs: the bridge's
`PartnerLink` (a Transport, meldkamer_bridge.adapters.base) connects, the partner's `Acceptor` answers.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import AsyncIterator, Callable
from typing import Any

import msgspec
import websockets

from meldkamer_bridge.adapters.base import OnReceived, Store, Validator
from meldkamer_bridge.adapters.tls import TlsConfig, client_context
from meldkamer_bridge.outbox import AckError, Envelope, SendWindow, Verdict, backoff_delay, backoff_delays

log = logging.getLogger(__name__)

LINK_VERSION = 1
MAX_FRAME_BYTES = 2 * 1024 * 1024  # the largest message the link takes; a larger one is refused (nack)
# what the socket reads at most: a frame over MAX_FRAME_BYTES but under this is read so its seq can be
# refused and the link moves on; only beyond this does the socket itself close (1009)
MAX_SOCKET_BYTES = 8 * MAX_FRAME_BYTES
STABLE_S = 30.0  # a link that stayed up this long starts its backoff afresh when it drops
RECEIVE_BATCH = 500


class Hello(msgspec.Struct, frozen=True, kw_only=True):
    name: str
    acked: int = 0
    token: str = ""
    version: int = LINK_VERSION


class Welcome(msgspec.Struct, frozen=True, kw_only=True):
    name: str
    acked: int = 0
    version: int = LINK_VERSION


class Frame(msgspec.Struct, frozen=True, kw_only=True, omit_defaults=True):
    """Every frame of the link in one shape: which fields are set says what it is."""

    hello: Hello | None = None
    welcome: Welcome | None = None
    ack: int | None = None
    nack: int | None = None
    reason: str | None = None
    error: str | None = None
    expected: int | None = None
    msg_id: str | None = None
    seq: int | None = None
    partner: str | None = None
    type: str | None = None
    body: str | None = None

    def envelope(self) -> Envelope | None:
        if self.msg_id is None or self.seq is None or self.type is None or self.body is None:
            return None
        return Envelope(
            msg_id=self.msg_id, seq=self.seq, partner=self.partner or "", type=self.type, body=self.body
        )


_decoder = msgspec.json.Decoder(Frame)


class _Header(msgspec.Struct, frozen=True, kw_only=True):
    """The head of an oversized message: enough to refuse it by its seq without keeping its body."""

    msg_id: str | None = None
    seq: int | None = None
    partner: str | None = None
    type: str | None = None


_header_decoder = msgspec.json.Decoder(_Header)
_encoder = msgspec.json.Encoder()


def encode_frame(frame: Frame | Envelope) -> str:
    return _encoder.encode(frame).decode()


def _no_nul(text: str) -> str:
    return text.replace("\x00", "\\u0000")


class LinkError(Exception):
    """The peer broke the protocol or refused us; the connection is closed."""


class Session:
    """One connection's worth of the protocol, after the handshake. Same code on both sides."""

    def __init__(
        self,
        ws: websockets.ClientConnection | websockets.ServerConnection,
        store: Store,
        *,
        me: str,
        peer: str,
        peer_acked: int,
        validate: Validator | None = None,
        on_received: OnReceived | None = None,
        window: int = 256,
    ) -> None:
        self.ws = ws
        self.store = store
        self.me = me
        self.peer = peer
        self.window = SendWindow(peer_acked, limit=window)
        self.validate = validate
        self.on_received = on_received
        self._room = asyncio.Event()
        self._inbound: asyncio.Queue[Envelope] = asyncio.Queue()
        self._too_large: set[int] = set()  # seqs of messages read only by their head, to be refused

    async def run(self) -> None:
        """Until the connection closes, the peer breaks the protocol, or the store fails (which is raised)."""
        tasks = [
            asyncio.create_task(self._read_loop()),
            asyncio.create_task(self._send_loop()),
            asyncio.create_task(self._store_loop()),
        ]
        try:
            done, _ = await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
            with contextlib.suppress(Exception):
                await self.ws.close()
        for task in done:
            if not task.cancelled() and task.exception() is not None:
                raise task.exception()  # type: ignore[misc]

    async def _read_loop(self) -> None:
        async for raw in self.ws:
            await self._handle(raw)

    async def _handle(self, raw: str | bytes) -> None:
        if len(raw) > MAX_FRAME_BYTES:
            await self._oversized(raw)
            return
        try:
            frame = _decoder.decode(raw)
        except msgspec.DecodeError as exc:
            await self._fail("bad_frame", str(exc))
            return
        envelope = frame.envelope()
        if envelope is not None:
            self._inbound.put_nowait(envelope)
        elif frame.nack is not None:
            await self._acked(frame.nack, rejected=frame.reason or "refused without a reason")
        elif frame.ack is not None:
            await self._acked(frame.ack)
        elif frame.error is not None:
            raise LinkError(f"peer reports {frame.error} (expected {frame.expected})")
        else:
            await self._fail("bad_frame", "not a message, ack, nack or error")

    async def _oversized(self, raw: str | bytes) -> None:
        """A message too large to take is stored empty and refused by its seq, so the partner dead-letters it
        and the messages behind it (a noodknop among them) are not held up by it."""
        try:
            head = _header_decoder.decode(raw)
        except msgspec.DecodeError as exc:
            await self._fail("bad_frame", f"larger than {MAX_FRAME_BYTES} bytes and unreadable: {exc}")
            return
        if head.msg_id is None or head.seq is None or head.type is None:
            await self._fail("too_large", f"a frame larger than {MAX_FRAME_BYTES} bytes")
            return
        log.warning("%s sent message %d of %d bytes: refused as too large", self.peer, head.seq, len(raw))
        self._too_large.add(head.seq)
        env = Envelope(msg_id=head.msg_id, seq=head.seq, partner=head.partner or "", type=head.type, body="")
        self._inbound.put_nowait(env)

    async def _acked(self, upto: int, rejected: str | None = None) -> None:
        try:
            self.window.ack(upto)
        except AckError as exc:
            await self._fail("bad_ack", str(exc))
            return
        if rejected is not None:
            log.warning("%s refused message %d: %s", self.peer, upto, rejected)
            await self.store.reject(self.peer, upto, rejected)
        await self.store.acknowledge(self.peer, upto)
        self._room.set()

    async def _fail(self, code: str, reason: str) -> None:
        with contextlib.suppress(websockets.ConnectionClosed):
            await self.ws.send(encode_frame(Frame(error=code, reason=reason[:500])))
        await self.ws.close(code=1002, reason=code)
        raise LinkError(f"{code}: {reason}")

    async def _send_loop(self) -> None:
        changed = self.store.changed(self.peer)  # one event per peer: another link's wakeup is not ours
        while True:
            changed.clear()
            self._room.clear()
            _, last = await self.store.outbound_state(self.peer)
            todo = self.window.next_range(last)
            if todo:
                for message in await self.store.pending(self.peer, todo.start - 1, todo.stop - 1):
                    await self.ws.send(
                        encode_frame(
                            Envelope(
                                msg_id=message.msg_id,
                                seq=message.seq,
                                partner=self.me,
                                type=message.type,
                                body=message.body,
                            )
                        )
                    )
                    self.window.mark_sent(message.seq)
                continue
            # nothing to send, or the window is full: wait for an enqueue or an ack (poll as a safety net for
            # enqueues by another process)
            waiters = [asyncio.create_task(changed.wait()), asyncio.create_task(self._room.wait())]
            try:
                await asyncio.wait(waiters, timeout=0.5, return_when=asyncio.FIRST_COMPLETED)
            finally:
                for waiter in waiters:
                    waiter.cancel()
                await asyncio.gather(*waiters, return_exceptions=True)

    async def _store_loop(self) -> None:
        """Store what arrived (batched: all that is queued), then acknowledge once."""
        while True:
            batch = [await self._inbound.get()]
            while not self._inbound.empty() and len(batch) < RECEIVE_BATCH:
                batch.append(self._inbound.get_nowait())
            rejections = {}
            for i, env in enumerate(batch):
                if env.seq in self._too_large:
                    self._too_large.discard(env.seq)
                    rejections[env.seq] = f"larger than {MAX_FRAME_BYTES} bytes"
                elif "\x00" in env.body or "\x00" in env.msg_id or "\x00" in env.type:
                    # no store holds a NUL in text (PostgreSQL refuses it, and would refuse the whole batch
                    # for ever): refused, and kept with the NUL written out so the partner can be shown it
                    rejections[env.seq] = "contains a NUL character (U+0000)"
                    batch[i] = msgspec.structs.replace(
                        env, msg_id=_no_nul(env.msg_id), type=_no_nul(env.type), body=_no_nul(env.body)
                    )
            if self.validate is not None:
                for env in batch:
                    if env.seq in rejections:
                        continue
                    reason = self.validate(env)
                    if reason is not None:
                        rejections[env.seq] = reason
            verdicts, last = await self.store.receive(self.peer, batch, rejections)
            if Verdict.GAP in verdicts:
                await self._fail("gap", f"expected seq {last + 1}")
            if self.on_received is not None:
                for env, verdict in zip(batch, verdicts, strict=True):
                    if verdict is Verdict.NEW and env.seq not in rejections:
                        await self.on_received(env)
            for env, verdict in zip(batch, verdicts, strict=True):
                if verdict is Verdict.NEW and env.seq in rejections:
                    await self.ws.send(encode_frame(Frame(nack=env.seq, reason=rejections[env.seq])))
            await self.ws.send(encode_frame(Frame(ack=last)))


@contextlib.asynccontextmanager
async def reconnecting(
    url: str,
    *,
    base: float,
    cap: float,
    on_failure: Callable[[Exception], None] | None = None,
    **options: Any,
) -> AsyncIterator[AsyncIterator[websockets.ClientConnection]]:
    """websockets' reconnecting `connect()` iterator with our backoff (`base` doubling to `cap`, with jitter)
    and every failure to connect retried: a partner or the backend may be away for long, never for good.

    The iterator is closed on the way out, so a cancelled task leaves no connection behind. Errors after a
    connection is open are the caller's to catch inside the loop (websockets' rule); the caller then waits
    before the next attempt.
    """

    def retry(exc: Exception) -> Exception | None:
        if on_failure is not None:
            on_failure(exc)
        return None  # None: retry

    connections = websockets.connect(
        url,
        reconnect_delays=lambda: backoff_delays(base=base, cap=cap),
        process_exception=retry,
        **options,
    ).__aiter__()
    try:
        yield connections
    finally:
        await connections.aclose()  # type: ignore[attr-defined]  # an async generator


class PartnerLink:
    """The bridge's side of one partner over a websocket (a Transport): connect, hello, then a Session until
    the connection drops; again and again until cancelled, with backoff (0.1 s doubling to 10 s)."""

    BASE_S = 0.1
    CAP_S = 10.0

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
        self.url = url
        self.tls = tls  # wss:// with mutual TLS when set (our certificate, the partner's CA)
        self.store = store
        self.me = me
        self.peer = peer
        self.token = token
        self.validate = validate
        self.on_received = on_received
        self._connected = asyncio.Event()
        self._recording: set[asyncio.Task[None]] = set()

    @property
    def name(self) -> str:
        return self.peer

    @property
    def connected(self) -> asyncio.Event:
        return self._connected

    async def run(self) -> None:
        """Stay connected to the partner until cancelled."""
        attempt = 0
        options: dict[str, Any] = {
            "max_size": MAX_SOCKET_BYTES,
            "open_timeout": 5,
            "ping_interval": 10,
            "ping_timeout": 10,
        }
        if self.tls is not None and self.url.startswith("wss://"):
            options["ssl"] = client_context(self.tls)
        async with reconnecting(
            self.url, base=self.BASE_S, cap=self.CAP_S, on_failure=self._connect_failed, **options
        ) as connections:
            async for ws in connections:
                up_since: float | None = None
                try:
                    peer_acked = await self._handshake(ws)
                    up_since = time.monotonic()
                    self._connected.set()
                    log.info("link to %s up (it has our messages up to %d)", self.peer, peer_acked)
                    await Session(
                        ws,
                        self.store,
                        me=self.me,
                        peer=self.peer,
                        peer_acked=peer_acked,
                        validate=self.validate,
                        on_received=self.on_received,
                    ).run()
                except Exception as exc:  # link down, protocol error, or our store failing: again, later
                    self._log_down(exc, f"down; retry {attempt + 1}")
                    with contextlib.suppress(Exception):
                        await self.store.record_failure(self.peer, f"{type(exc).__name__}: {exc}")
                finally:
                    self._connected.clear()
                # however it ended: a link that falls over right after its welcome keeps backing off (no
                # reconnect storm); only one that stayed up a while starts again from the shortest delay
                if up_since is not None and time.monotonic() - up_since >= STABLE_S:
                    attempt = 0
                attempt += 1
                await asyncio.sleep(backoff_delay(max(attempt, 1), base=self.BASE_S, cap=self.CAP_S))

    async def _handshake(self, ws: websockets.ClientConnection) -> int:
        """Our hello, the partner's welcome; returns what the partner has of ours."""
        hello = Hello(name=self.me, token=self.token, acked=await self.store.inbound_seq(self.peer))
        await ws.send(encode_frame(Frame(hello=hello)))
        answer = _decoder.decode(await asyncio.wait_for(ws.recv(), 10))
        if answer.welcome is None:
            raise LinkError(f"partner refused the hello: {answer.error} {answer.reason}")
        if answer.welcome.name != self.peer:
            raise LinkError(f"connected to {answer.welcome.name!r}, expected {self.peer!r}")
        return answer.welcome.acked

    def _log_down(self, exc: Exception, what: str) -> None:
        quiet = isinstance(exc, OSError | TimeoutError | websockets.WebSocketException | LinkError)
        level = logging.INFO if quiet else logging.ERROR
        log.log(level, "link to %s %s (%s)", self.peer, what, exc, exc_info=not quiet)

    def _connect_failed(self, exc: Exception) -> None:
        """websockets could not connect (it retries by itself): count the failed attempt for the metrics."""
        self._log_down(exc, "cannot connect; retrying")
        task = asyncio.get_running_loop().create_task(self._record(exc))
        self._recording.add(task)
        task.add_done_callback(self._recording.discard)

    async def _record(self, exc: Exception) -> None:
        with contextlib.suppress(Exception):
            await self.store.record_failure(self.peer, f"{type(exc).__name__}: {exc}")


class Acceptor:
    """The server side: answers hellos, one live session per peer (a new connection replaces the old)."""

    def __init__(
        self,
        store: Store,
        *,
        me: str,
        tokens: dict[str, str],
        validate: Validator | None = None,
        on_received: OnReceived | None = None,
    ) -> None:
        self.store = store
        self.me = me
        self.tokens = tokens  # peer name -> token it must present ("" accepts any)
        self.validate = validate
        self.on_received = on_received
        self._live: dict[str, tuple[websockets.ServerConnection, asyncio.Event]] = {}

    async def handle(self, ws: websockets.ServerConnection) -> None:
        try:
            first = _decoder.decode(await asyncio.wait_for(ws.recv(), 10))
        except (TimeoutError, websockets.ConnectionClosed, msgspec.DecodeError):
            await ws.close(code=1002, reason="hello expected")
            return
        hello = first.hello
        expected = self.tokens.get(hello.name) if hello is not None else None
        if (
            hello is None
            or expected is None
            or (expected and hello.token != expected)
            or hello.version != LINK_VERSION
        ):
            with contextlib.suppress(websockets.ConnectionClosed):
                await ws.send(
                    encode_frame(Frame(error="unauthorized", reason="unknown partner, token or version"))
                )
            await ws.close(code=1008, reason="unauthorized")
            return
        old = self._live.pop(hello.name, None)
        if old is not None:  # one session per peer: the old one ends before the new one starts
            await old[0].close()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(old[1].wait(), 10)
        ended = asyncio.Event()
        self._live[hello.name] = (ws, ended)
        try:
            welcome = Welcome(name=self.me, acked=await self.store.inbound_seq(hello.name))
            await ws.send(encode_frame(Frame(welcome=welcome)))
            await Session(
                ws,
                self.store,
                me=self.me,
                peer=hello.name,
                peer_acked=hello.acked,
                validate=self.validate,
                on_received=self.on_received,
            ).run()
        except (LinkError, websockets.ConnectionClosed) as exc:
            log.info("session with %s ended: %s", hello.name, exc)
        except Exception:
            log.exception("session with %s failed", hello.name)
        finally:
            ended.set()
            if hello.name in self._live and self._live[hello.name][0] is ws:
                del self._live[hello.name]
