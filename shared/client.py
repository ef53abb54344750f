"""The one client that speaks the field protocol: used by the tablet app, the simulator and the benchmarks.

It keeps every sequenced frame until the server acknowledges it as durable, and resends what is not
acknowledged after a reconnect, so nothing is lost and (the server de-duplicates by seq) nothing is doubled.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import deque
from collections.abc import Callable
from datetime import datetime

import msgspec
import websockets

from shared.protocol import (
    Ack,
    AssistanceRequested,
    Error,
    Hello,
    NoodknopPressed,
    PositionReported,
    SequencedFrame,
    StatusChanged,
    UnitStatus,
    Welcome,
    encoder,
    server_decoder,
)

log = logging.getLogger(__name__)


class FieldClientError(Exception):
    """The server refused us for good (bad token, revoked device): reconnecting will not help."""


class FieldClient:
    """A device's link: `send_*` queue a frame; `run()` keeps the socket up and the queue flowing."""

    def __init__(self, url: str, token: str | Callable[[], str], *, next_seq: int = 1) -> None:
        self.url = url
        self._token = token
        self.next_seq = next_seq
        self.unacked: deque[SequencedFrame] = deque()
        self.acked = 0
        self.connected = asyncio.Event()
        self.welcome: Welcome | None = None
        self.errors: list[Error] = []
        self.refused: Error | None = None  # a fatal error mid-connection (revoked, replaced): do not reconnect
        self.on_frame: Callable[[msgspec.Struct], None] | None = None
        self._ws: websockets.ClientConnection | None = None
        self._acked_event = asyncio.Event()

    # --- queueing -----------------------------------------------------------------------------------------

    def _take_seq(self) -> int:
        seq = self.next_seq
        self.next_seq += 1
        return seq

    def _queue(self, frame: SequencedFrame) -> SequencedFrame:
        self.unacked.append(frame)
        ws = self._ws
        if ws is not None and self.connected.is_set():
            task = asyncio.ensure_future(self._send_one(ws, frame))
            task.add_done_callback(lambda t: t.exception() if not t.cancelled() else None)
        return frame

    def position(self, lon: float, lat: float, at: datetime, *, late: bool = False, **extra: float | None) -> SequencedFrame:
        return self._queue(PositionReported(seq=self._take_seq(), lon=lon, lat=lat, at=at, late=late, **extra))  # type: ignore[arg-type]

    def status(self, status: UnitStatus, at: datetime) -> SequencedFrame:
        return self._queue(StatusChanged(seq=self._take_seq(), status=status, at=at))

    def noodknop(self, at: datetime, lon: float | None = None, lat: float | None = None) -> SequencedFrame:
        return self._queue(NoodknopPressed(seq=self._take_seq(), at=at, lon=lon, lat=lat))

    def assistance(self, at: datetime, text: str = "", lon: float | None = None, lat: float | None = None) -> SequencedFrame:
        return self._queue(AssistanceRequested(seq=self._take_seq(), at=at, text=text, lon=lon, lat=lat))

    async def wait_acked(self, seq: int, timeout: float = 10.0) -> None:
        async with asyncio.timeout(timeout):
            while self.acked < seq:
                self._acked_event.clear()
                await self._acked_event.wait()

    # --- the connection -----------------------------------------------------------------------------------

    async def _send_one(self, ws: websockets.ClientConnection, frame: SequencedFrame) -> None:
        with contextlib.suppress(websockets.ConnectionClosed):
            await ws.send(encoder.encode(frame).decode())

    async def connect_once(self) -> None:
        """One connection: hello, resend what is unacknowledged, then read until it closes."""
        token = self._token() if callable(self._token) else self._token
        async with websockets.connect(self.url, max_size=2**20, open_timeout=10) as ws:
            await ws.send(encoder.encode(Hello(token=token)).decode())
            first = server_decoder.decode(await ws.recv())
            if isinstance(first, Error):
                self.errors.append(first)
                raise FieldClientError(f"{first.code}: {first.message}")
            if not isinstance(first, Welcome):
                raise FieldClientError(f"expected welcome, got {first!r}")
            self.welcome = first
            self._on_ack(first.acked)
            self.next_seq = max(self.next_seq, first.acked + 1)
            self._ws = ws
            self.connected.set()
            try:
                for frame in list(self.unacked):  # resend in order
                    await ws.send(encoder.encode(frame).decode())
                async for raw in ws:
                    self._handle(server_decoder.decode(raw))
            finally:
                self.connected.clear()
                self._ws = None

    def _handle(self, frame: msgspec.Struct) -> None:
        if isinstance(frame, Ack):
            self._on_ack(frame.upto)
        elif isinstance(frame, Error):
            self.errors.append(frame)
            if frame.fatal:
                self.refused = frame
            log.warning("server error frame: %s %s", frame.code, frame.message)
        if self.on_frame is not None:
            self.on_frame(frame)

    def _on_ack(self, upto: int) -> None:
        if upto > self.acked:
            self.acked = upto
        while self.unacked and self.unacked[0].seq <= self.acked:
            self.unacked.popleft()
        self._acked_event.set()

    async def run(self, *, backoff_max: float = 10.0) -> None:
        """Stay connected until cancelled; reconnect with backoff. Stops on a refusal (FieldClientError)."""
        backoff = 0.2
        while True:
            try:
                await self.connect_once()
                backoff = 0.2
                if self.refused is not None:
                    raise FieldClientError(f"{self.refused.code}: {self.refused.message}")
            except FieldClientError:
                raise
            except (OSError, websockets.WebSocketException, TimeoutError, msgspec.DecodeError) as exc:
                log.info("field link down (%s); retrying in %.1fs", exc, backoff)
            await asyncio.sleep(backoff)
            backoff = min(backoff * 2, backoff_max)

    async def close(self) -> None:
        if self._ws is not None:
            await self._ws.close()
