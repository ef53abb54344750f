"""The connected devices (tablets on the field socket, trackers over HTTP) and what goes out to each.

A link's acknowledgements go out from its own task, coalesced to the latest: a slow tablet never holds up the
writer, and acks for it pile up as one pending value instead of a queue.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field

from shared.protocol import Ack, PartnerFix, PartnerPositions, encoder

SendBytes = Callable[[bytes], Awaitable[None]]


@dataclass(slots=True, eq=False)
class FieldLink:
    """One connected device."""

    device_id: int
    org_id: int
    unit_id: int | None
    send: SendBytes
    close: Callable[..., Awaitable[None]]  # close(code="revoked" | "replaced")
    protocol: int = 1  # the version the device said hello with: only frame kinds of that version go to it
    partners_sent: tuple[PartnerFix, ...] = ()  # the partner fixes this device was last told
    partners_task: asyncio.Task[None] | None = None
    ack_upto: int = 0
    ack_sent: int = 0
    ack_wake: asyncio.Event = field(default_factory=asyncio.Event)
    ack_task: asyncio.Task[None] | None = None

    def post_ack(self, upto: int) -> None:
        if upto > self.ack_upto:
            self.ack_upto = upto
            self.ack_wake.set()

    async def send_acks(self) -> None:
        while True:
            await self.ack_wake.wait()
            self.ack_wake.clear()
            upto = self.ack_upto
            if upto > self.ack_sent:
                try:
                    await self.send(encoder.encode(Ack(upto=upto)))
                except Exception:  # the socket is gone; its handler detaches the link
                    return
                self.ack_sent = upto


class FieldLinks:
    """The links by device; a device has at most one (a new connection replaces the old one)."""

    def __init__(self) -> None:
        self._by_device: dict[int, FieldLink] = {}
        self._telling: set[asyncio.Task[None]] = set()

    def get(self, device_id: int) -> FieldLink | None:
        return self._by_device.get(device_id)

    def device_ids(self) -> list[int]:
        return list(self._by_device)

    def attach(self, link: FieldLink) -> FieldLink | None:
        """Register a device's link and start its ack sender; returns the link it replaces (to be closed)."""
        old = self._by_device.get(link.device_id)
        self._by_device[link.device_id] = link
        link.ack_task = asyncio.create_task(link.send_acks(), name=f"acks-{link.device_id}")
        return old

    def detach(self, link: FieldLink) -> None:
        if link.ack_task is not None:
            link.ack_task.cancel()
        if self._by_device.get(link.device_id) is link:
            del self._by_device[link.device_id]

    def for_unit(self, unit_id: int) -> FieldLink | None:
        """The connected tablet of a unit (the most recently attached one if there are several)."""
        found = None
        for link in self._by_device.values():
            if link.unit_id == unit_id:
                found = link
        return found

    def of(self, unit_id: int | None, device_id: int | None, min_protocol: int) -> list[FieldLink]:
        """The links of a unit's devices and of one device, that speak at least min_protocol."""
        return [
            link
            for link in self._by_device.values()
            if ((unit_id is not None and link.unit_id == unit_id) or link.device_id == device_id)
            and link.protocol >= min_protocol
        ]

    def post_acks(self, durable: Mapping[int, int]) -> None:
        """Acknowledge what became durable; each link's own task sends it."""
        for device_id, upto in durable.items():
            link = self._by_device.get(device_id)
            if link is not None:
                link.post_ack(upto)

    def tell(self, device_id: int, data: bytes) -> None:
        """Send one frame to a device if it is connected, from a task of its own: the caller (the writer)
        never waits for a slow tablet."""
        link = self._by_device.get(device_id)
        if link is None:
            return
        task = asyncio.create_task(send_quietly(link.send, data))
        self._telling.add(task)
        task.add_done_callback(self._telling.discard)

    def tell_partners(self, by_unit: Mapping[int, list[PartnerFix]]) -> None:
        """Tell each protocol-2 tablet where the other devices of its unit are: only on change, and never
        while the previous news is still on its way (the tablet gets the latest next tick)."""
        for link in self._by_device.values():
            if link.protocol < 2 or link.unit_id is None:
                continue
            if link.partners_task is not None and not link.partners_task.done():
                continue
            others = tuple(f for f in by_unit.get(link.unit_id, ()) if f.device_id != link.device_id)
            if others == link.partners_sent:
                continue
            link.partners_sent = others
            link.partners_task = asyncio.create_task(
                send_quietly(link.send, encoder.encode(PartnerPositions(fixes=list(others))))
            )


async def send_quietly(send: SendBytes, data: bytes) -> None:
    with contextlib.suppress(Exception):  # the socket is gone; its handler detaches the link
        await send(data)
