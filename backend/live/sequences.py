"""Per device the sequence numbers of the live path: the highest one taken into the writer's queue and the
highest one known durable. Both outlive a connection, so a frame resent after a reconnect is taken once."""

from __future__ import annotations

import asyncio
from collections.abc import Mapping

from shared.protocol import MAX_SEQ_JUMP


class FrameRefused(Exception):
    """The writer could not store a frame (its device was told); a tracker's HTTP answer says so."""


class DeviceSequences:
    def __init__(self) -> None:
        self._received: dict[int, int] = {}  # device -> highest seq queued
        self._durable: dict[int, int] = {}  # device -> highest seq known durable
        self._waiters: dict[int, list[tuple[int, asyncio.Future[None]]]] = {}

    def connected(self, device_id: int, durable_seq: int) -> None:
        """A device connected; the database says durable_seq of it is durable."""
        self._received[device_id] = max(self._received.get(device_id, 0), durable_seq)
        self._durable[device_id] = max(self._durable.get(device_id, 0), durable_seq)

    def next_seq(self, device_id: int, durable_seq: int) -> int:
        """The seq for a frame the server numbers itself (a tracker's fix): one above the last one taken."""
        return self._received.setdefault(device_id, durable_seq) + 1

    def plausible(self, device_id: int, seq: int) -> bool:
        """False for a seq so far above the highest one taken that it would turn every later frame of the
        device into a "resend" (a client bug, not a backlog)."""
        return seq <= self._received.get(device_id, 0) + MAX_SEQ_JUMP

    def take(self, device_id: int, seq: int) -> bool:
        """True if seq is new for this device (and is now taken); False for a resend of one already taken."""
        if seq <= self._received.get(device_id, 0):
            return False
        self._received[device_id] = seq
        return True

    def durable(self, device_id: int) -> int:
        return self._durable.get(device_id, 0)

    def made_durable(self, durable: Mapping[int, int]) -> None:
        """A batch committed; wake whoever waits for one of its frames."""
        for device_id, upto in durable.items():
            self._durable[device_id] = max(self._durable.get(device_id, 0), upto)
            waiting = self._waiters.get(device_id)
            if waiting:
                for seq, future in waiting:
                    if seq <= upto and not future.done():
                        future.set_result(None)
                self._waiters[device_id] = [(s, f) for s, f in waiting if s > upto and not f.done()]

    def refused(self, device_id: int, seq: int, reason: str) -> None:
        """The writer refused this frame: whoever waits for it hears why."""
        waiting = self._waiters.get(device_id, [])
        for waited, future in waiting:
            if waited == seq and not future.done():
                future.set_exception(FrameRefused(reason))
        self._waiters[device_id] = [(s, f) for s, f in waiting if not f.done()]

    async def wait_durable(self, device_id: int, seq: int, timeout_s: float) -> None:
        """Wait until the frame with this seq of this device is durable (a tracker's HTTP reply waits)."""
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._waiters.setdefault(device_id, []).append((seq, future))
        await asyncio.wait_for(future, timeout_s)
