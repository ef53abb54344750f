"""The one client that speaks the field protocol: used by the tablet app, the simulator and the benchmarks.

It keeps every sequenced frame until the server acknowledges it as durable, and resends what is not
acknowledged after a reconnect, so nothing is lost and (the server de-duplicates by seq) nothing is doubled.
By default the unacknowledged frames live in memory; a `FrameStore` (the tablet's SQLite outbox) makes them
survive a restart of the app.
"""

from __future__ import annotations

import asyncio
import contextlib
import inspect
import logging
from collections import deque
from collections.abc import AsyncGenerator, AsyncIterator, Awaitable, Callable, Generator, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Protocol, cast

import msgspec
import websockets

from shared.protocol import (
    PROTOCOL_VERSION,
    Ack,
    AssistanceRequested,
    Error,
    Hello,
    MessageRead,
    NoodknopPressed,
    PositionReported,
    SequencedFrame,
    StatusChanged,
    TaskState,
    TaskUpdated,
    UnitStatus,
    Welcome,
    encoder,
    server_decoder,
)

log = logging.getLogger(__name__)


BACKOFF_MIN_S = 0.2
BACKOFF_MAX_S = 10.0


class Socket(Protocol):
    """What `serve` needs of a connection: websockets' ClientConnection, or a scripted stand-in in tests."""

    async def send(self, message: str, /) -> None: ...

    async def recv(self) -> str | bytes: ...

    def __aiter__(self) -> AsyncIterator[str | bytes]: ...

    async def close(self) -> None: ...


class FieldClientError(Exception):
    """The server refused us for good (bad token, revoked device): reconnecting will not help."""


def backoff(*, minimum: float = BACKOFF_MIN_S, maximum: float = BACKOFF_MAX_S) -> Generator[float]:
    """Delays between reconnection attempts: doubling from `minimum` up to `maximum`.

    Shorter than websockets' default (a few seconds, up to 90): a tablet in a dead zone should be back
    within seconds of the network returning, and one server serves a few hundred devices at most.
    """
    delay = minimum
    while True:
        yield delay
        delay = min(delay * 2, maximum)


def _retry_when_connecting(exc: Exception) -> Exception | None:
    """websockets asks this when opening a connection failed: None retries (after a backoff), an exception
    ends `run`. Whatever the network or a proxy does is worth retrying; anything else is a bug to see."""
    if isinstance(exc, OSError | TimeoutError | websockets.WebSocketException):
        return None
    return exc


@dataclass(frozen=True, kw_only=True)
class StoredFrames:
    """What a FrameStore holds when a client starts."""

    next_seq: int = 1
    synced: bool = False  # a welcome of this device has confirmed the numbering
    frames: list[SequencedFrame] = field(default_factory=list)  # unacknowledged, in seq order


class FrameStore(Protocol):
    """A durable backing for the unacknowledged frames; every call happens before the frame can be lost."""

    def load(self) -> StoredFrames: ...

    def add(self, frame: SequencedFrame) -> None: ...

    def acked(self, upto: int) -> None: ...

    def failed(self, seq: int, reason: str) -> None: ...

    def welcomed(self, next_seq: int, frames: Sequence[SequencedFrame]) -> None:
        """The numbering is confirmed; `frames` replace the stored ones (renumbered if they had to be)."""


class FieldClient:
    """A device's link: `send_*` queue a frame; `run()` keeps the socket up and the queue flowing.

    `token` is asked before every hello; a coroutine function may refresh it first (the tablet's does).
    """

    def __init__(
        self,
        url: str,
        token: str | Callable[[], str | Awaitable[str]],
        *,
        next_seq: int = 1,
        store: FrameStore | None = None,
    ) -> None:
        self.url = url
        self._token = token
        self.next_seq = next_seq
        self.unacked: deque[SequencedFrame] = deque()
        self.store = store
        # Until a welcome confirms our numbering, nothing was sent with it: frames queued before the first
        # welcome are renumbered above the device's durable seq instead of being taken for already durable.
        self.synced = False
        if store is not None:
            stored = store.load()
            self.next_seq = max(next_seq, stored.next_seq)
            self.unacked.extend(stored.frames)
            self.synced = stored.synced
        self.acked = 0
        self.connected = asyncio.Event()
        self.welcome: Welcome | None = None
        self.errors: list[Error] = []
        self.refused: Error | None = None  # fatal mid-connection (revoked, replaced): do not reconnect
        self.on_frame: Callable[[msgspec.Struct], None] | None = None
        self.on_connected: Callable[[bool], None] | None = None  # True after welcome and resend, False after
        self._ws: Socket | None = None
        self._acked_event = asyncio.Event()

    # --- queueing -----------------------------------------------------------------------------------------

    def _take_seq(self) -> int:
        seq = self.next_seq
        self.next_seq += 1
        return seq

    def _queue(self, frame: SequencedFrame) -> SequencedFrame:
        if self.store is not None:
            self.store.add(frame)  # durable before it can be sent
        self.unacked.append(frame)
        ws = self._ws
        if ws is not None and self.connected.is_set():
            task = asyncio.ensure_future(self._send_one(ws, frame))
            task.add_done_callback(lambda t: t.exception() if not t.cancelled() else None)
        return frame

    def position(
        self, lon: float, lat: float, at: datetime, *, late: bool = False, **extra: float | None
    ) -> SequencedFrame:
        frame = PositionReported(seq=self._take_seq(), lon=lon, lat=lat, at=at, late=late, **extra)
        return self._queue(frame)

    def status(self, status: UnitStatus, at: datetime) -> SequencedFrame:
        return self._queue(StatusChanged(seq=self._take_seq(), status=status, at=at))

    def noodknop(self, at: datetime, lon: float | None = None, lat: float | None = None) -> SequencedFrame:
        return self._queue(NoodknopPressed(seq=self._take_seq(), at=at, lon=lon, lat=lat))

    def assistance(
        self, at: datetime, text: str = "", lon: float | None = None, lat: float | None = None
    ) -> SequencedFrame:
        return self._queue(AssistanceRequested(seq=self._take_seq(), at=at, text=text, lon=lon, lat=lat))

    def task_update(self, task_id: int, state: TaskState, at: datetime, note: str = "") -> SequencedFrame:
        return self._queue(TaskUpdated(seq=self._take_seq(), task_id=task_id, state=state, at=at, note=note))

    def message_read(self, message_id: int, at: datetime) -> SequencedFrame:
        return self._queue(MessageRead(seq=self._take_seq(), message_id=message_id, at=at))

    def requeue(self, frame: SequencedFrame) -> SequencedFrame:
        """Send a frame again under a new seq (retrying one the server refused)."""
        return self._queue(msgspec.structs.replace(frame, seq=self._take_seq()))

    async def wait_acked(self, seq: int, timeout: float = 10.0) -> None:
        async with asyncio.timeout(timeout):
            while self.acked < seq:
                self._acked_event.clear()
                await self._acked_event.wait()

    # --- the connection -----------------------------------------------------------------------------------

    async def _send_one(self, ws: Socket, frame: SequencedFrame) -> None:
        with contextlib.suppress(websockets.ConnectionClosed):
            await ws.send(encoder.encode(frame).decode())

    async def _hello_token(self) -> str:
        token = self._token() if callable(self._token) else self._token
        return await token if inspect.isawaitable(token) else token

    async def serve(self, ws: Socket) -> None:
        """One connection: hello, resend what is unacknowledged, then read until it closes."""
        hello = Hello(token=await self._hello_token(), protocol=PROTOCOL_VERSION)
        await ws.send(encoder.encode(hello).decode())
        first = server_decoder.decode(await ws.recv())
        if isinstance(first, Error):
            self.errors.append(first)
            raise FieldClientError(f"{first.code}: {first.message}")
        if not isinstance(first, Welcome):
            raise FieldClientError(f"expected welcome, got {first!r}")
        self.welcome = first
        if not self.synced:
            self._rebase(first.acked)
        self._on_ack(first.acked)
        self.next_seq = max(self.next_seq, first.acked + 1)
        try:
            # Resend in order; frames queued meanwhile are sent by this loop too, so no newer frame can
            # overtake an older one (the server takes a lower seq after a higher one for a resend).
            sent = first.acked
            while pending := [f for f in self.unacked if f.seq > sent]:
                for frame in pending:
                    await ws.send(encoder.encode(frame).decode())
                    sent = frame.seq
            self._ws = ws
            self.connected.set()
            if self.on_connected is not None:
                self.on_connected(True)
            async for raw in ws:
                self._handle(server_decoder.decode(raw))
        finally:
            was_up = self.connected.is_set()
            self.connected.clear()
            self._ws = None
            if was_up and self.on_connected is not None:
                self.on_connected(False)

    async def run(self, *, backoff_max: float = BACKOFF_MAX_S) -> None:
        """Stay connected until cancelled. Stops on a refusal (FieldClientError).

        websockets' reconnecting iterator opens the connections and waits out the backoff when opening one
        fails. A connection that opened but ended before a welcome (the server is up but does not let us in
        yet, or sent garbage) waits out the same backoff before the next one, so a server in that state is not
        hammered; a welcome starts the backoff over.
        """
        connections = websockets.connect(
            self.url,
            max_size=2**20,
            open_timeout=10,
            process_exception=_retry_when_connecting,
            reconnect_delays=lambda: backoff(maximum=backoff_max),
        )
        after_failed_session = backoff(maximum=backoff_max)
        # aclosing: leaving the loop (a refusal, cancellation) closes the open connection now, not at GC
        async with contextlib.aclosing(cast(AsyncGenerator[Socket, None], aiter(connections))) as sockets:
            async for ws in sockets:
                welcome = self.welcome
                try:
                    await self.serve(ws)
                except (websockets.ConnectionClosed, OSError, TimeoutError, msgspec.DecodeError) as exc:
                    log.info("field link down (%s); reconnecting", exc)
                if self.refused is not None:  # revoked or replaced while connected: do not come back
                    raise FieldClientError(f"{self.refused.code}: {self.refused.message}")
                if self.welcome is not welcome:
                    after_failed_session = backoff(maximum=backoff_max)
                else:
                    await asyncio.sleep(next(after_failed_session))

    def _rebase(self, acked: int) -> None:
        if self.unacked and self.unacked[0].seq <= acked:
            frames = [msgspec.structs.replace(f, seq=acked + i) for i, f in enumerate(self.unacked, start=1)]
            self.unacked = deque(frames)
            self.next_seq = acked + len(frames) + 1
        self.next_seq = max(self.next_seq, acked + 1)
        self.synced = True
        if self.store is not None:
            self.store.welcomed(self.next_seq, list(self.unacked))

    def _handle(self, frame: msgspec.Struct) -> None:
        if isinstance(frame, Ack):
            self._on_ack(frame.upto)
        elif isinstance(frame, Error):
            self.errors.append(frame)
            if frame.fatal:
                self.refused = frame
            log.warning("server error frame: %s %s", frame.code, frame.message)
            if frame.seq is not None and any(f.seq == frame.seq for f in self.unacked):
                # refused for good (the server will never store it): keep it visible, do not resend it
                self.unacked = deque(f for f in self.unacked if f.seq != frame.seq)
                if self.store is not None:
                    self.store.failed(frame.seq, f"{frame.code}: {frame.message}")
        if self.on_frame is not None:
            self.on_frame(frame)

    def _on_ack(self, upto: int) -> None:
        if upto > self.acked:
            self.acked = upto
        while self.unacked and self.unacked[0].seq <= self.acked:
            self.unacked.popleft()
        if self.store is not None:
            self.store.acked(self.acked)
        self._acked_event.set()

    async def close(self) -> None:
        if self._ws is not None:
            await self._ws.close()
