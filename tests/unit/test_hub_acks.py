"""Acknowledgements never wait for a slow tablet: the writer hands them to each link's own sender."""

from __future__ import annotations

import asyncio

from backend.live.hub import LiveHub
from backend.live.links import FieldLink
from backend.live.writer import FlushResult
from backend.settings import Settings
from shared.protocol import Ack, server_decoder


async def _nothing(code: str = "revoked") -> None:
    return None


async def test_a_stuck_tablet_does_not_hold_up_the_acks_of_others() -> None:
    hub = LiveHub(pool=None, settings=Settings(database_url="postgresql://unused"))  # type: ignore[arg-type]
    stuck = asyncio.Event()  # never set: this tablet's socket does not drain
    received: list[object] = []
    got = asyncio.Event()

    async def stuck_send(_: bytes) -> None:
        await stuck.wait()

    async def good_send(data: bytes) -> None:
        received.append(server_decoder.decode(data))
        got.set()

    slow = FieldLink(device_id=1, org_id=1, unit_id=None, send=stuck_send, close=_nothing)
    fast = FieldLink(device_id=2, org_id=1, unit_id=None, send=good_send, close=_nothing)
    hub.attach(slow, 0)
    hub.attach(fast, 0)
    try:
        result = FlushResult(durable={1: 5, 2: 7}, alerts=[], statuses=[], positions=12)
        await asyncio.wait_for(hub._on_durable(result), 1.0)  # returns at once despite the stuck socket
        await asyncio.wait_for(got.wait(), 1.0)
        assert received == [Ack(upto=7)]
        # later acks for the stuck tablet coalesce into one pending value instead of piling up
        for upto in (6, 7, 8):
            await hub._on_durable(FlushResult(durable={1: upto}, alerts=[], statuses=[], positions=1))
        assert slow.ack_upto == 8 and slow.ack_sent == 0
    finally:
        hub.detach(slow)
        hub.detach(fast)
