"""The hub's tick without anything to store: operators get the moved units of their organisations, and each
protocol-2 tablet hears where its partner is, once per change."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

from backend.live.hub import LiveHub
from backend.live.links import FieldLink
from backend.live.picture import UnitLive
from backend.settings import Settings
from shared.protocol import Delta, PartnerFix, PartnerPositions, PositionReported, UnitStatus, server_decoder

T0 = datetime.now(UTC).replace(microsecond=0)


async def _nothing(code: str = "revoked") -> None:
    return None


class Inbox:
    def __init__(self) -> None:
        self.frames: list[object] = []
        self.got = asyncio.Event()

    async def send(self, data: bytes) -> None:
        self.frames.append(server_decoder.decode(data))
        self.got.set()


def _hub() -> LiveHub:
    hub = LiveHub(pool=None, settings=Settings(database_url="postgresql://unused"))
    for unit_id, org_id in ((1, 1), (2, 2)):
        hub.picture.put_unit(
            UnitLive(
                unit_id=unit_id,
                org_id=org_id,
                call_sign=f"U-{unit_id}",
                status=UnitStatus.AVAILABLE,
                status_since=T0,
            )
        )
    return hub


async def test_a_tick_sends_operators_their_moved_units_and_tablets_their_partner() -> None:
    hub = _hub()
    operator, tablet, old_tablet = Inbox(), Inbox(), Inbox()
    box = hub.add_operator(frozenset({1}), operator.send)
    hub.activate(box)
    mine = FieldLink(device_id=11, org_id=1, unit_id=1, send=tablet.send, close=_nothing, protocol=2)
    partner = FieldLink(device_id=12, org_id=1, unit_id=1, send=old_tablet.send, close=_nothing, protocol=1)
    for link in (mine, partner):
        hub.attach(link, 0)
    try:
        hub.accept(mine, PositionReported(seq=1, lon=4.90, lat=52.37, at=T0), T0)
        hub.accept(partner, PositionReported(seq=1, lon=4.902, lat=52.37, at=T0 + timedelta(seconds=1)), T0)
        await hub.tick(T0 + timedelta(seconds=2))
        await asyncio.wait_for(operator.got.wait(), 1.0)
        await asyncio.wait_for(tablet.got.wait(), 1.0)
        [delta] = operator.frames
        assert isinstance(delta, Delta) and [u.unit_id for u in delta.units] == [1]  # not org 2's unit
        assert delta.units[0].lon == 4.902  # the newest fix of the unit
        assert tablet.frames == [
            PartnerPositions(
                fixes=[PartnerFix(device_id=12, lon=4.902, lat=52.37, at=T0 + timedelta(seconds=1))]
            )
        ]
        assert old_tablet.frames == []  # protocol 1 does not know the frame
        told = mine.partners_task
        await hub.tick(T0 + timedelta(seconds=3))
        # nothing changed: no new partner frame, and the operator's mailbox is not woken
        assert mine.partners_task is told and not box.wake.is_set() and not box.has_news()
    finally:
        hub.remove_operator(box)
        for link in (mine, partner):
            hub.detach(link)
