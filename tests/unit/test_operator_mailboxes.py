"""An operator's mailbox merges what changed and hands it over as at most one delta, open safety alerts first;
every operator sees only the organisations it may see."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

from backend.live.mailboxes import Mailboxes
from shared.protocol import (
    AlertKind,
    AlertRaised,
    AlertView,
    AreaAlertView,
    Delta,
    MessageView,
    UnitStatus,
    UnitView,
    server_decoder,
)

T0 = datetime(2024, 5, 1, 12, 0, tzinfo=UTC)


async def _ignore(_: bytes) -> None:
    return None


def _unit(unit_id: int, org_id: int, lon: float) -> UnitView:
    return UnitView(
        unit_id=unit_id,
        org_id=org_id,
        call_sign=f"U-{unit_id}",
        status=UnitStatus.AVAILABLE,
        status_since=T0,
        lon=lon,
        lat=52.37,
        at=T0,
    )


def _alert(alert_id: int, kind: AlertKind, org_id: int = 1) -> AlertView:
    return AlertView(alert_id=alert_id, kind=kind, org_id=org_id, unit_id=1, call_sign="U-1", at=T0)


def test_the_latest_of_each_unit_goes_out_in_one_delta_and_the_mailbox_empties() -> None:
    boxes = Mailboxes()
    box = boxes.add(frozenset({1}), _ignore)
    boxes.push_units([_unit(1, 1, 4.90), _unit(2, 1, 4.91)])
    boxes.push_units([_unit(1, 1, 4.95)])
    assert box.wake.is_set()
    [delta] = box.take_frames(T0)
    assert isinstance(delta, Delta) and delta.server_time == T0
    assert {u.unit_id: u.lon for u in delta.units} == {1: 4.95, 2: 4.91}
    assert box.take_frames(T0) == [] and not box.has_news()


def test_an_operator_sees_only_its_organisations() -> None:
    boxes = Mailboxes()
    north = boxes.add(frozenset({1}), _ignore)
    both = boxes.add(frozenset({1, 2}), _ignore)
    boxes.push_units([_unit(1, 1, 4.9), _unit(2, 2, 4.9)])
    boxes.push_alert(_alert(5, AlertKind.POSITION_STALE, org_id=2))
    message = MessageView(message_id=3, unit_id=2, text="Bel even", sender="MK", sent_at=T0)
    boxes.push_dispatch(2, message=message)
    [delta] = north.take_frames(T0)
    assert isinstance(delta, Delta)
    assert [u.unit_id for u in delta.units] == [1] and delta.alerts == [] and delta.messages == []
    [delta] = both.take_frames(T0)
    assert isinstance(delta, Delta)
    assert [u.unit_id for u in delta.units] == [1, 2] and [a.alert_id for a in delta.alerts] == [5]
    assert [m.message_id for m in delta.messages] == [3]


def test_an_open_safety_alert_wakes_at_once_and_goes_before_the_delta() -> None:
    boxes = Mailboxes()
    box = boxes.add(frozenset({1}), _ignore)
    boxes.push_alert(_alert(7, AlertKind.PARTNERS_APART))
    assert not box.wake.is_set()  # rides with the next tick
    boxes.push_alert(_alert(8, AlertKind.NOODKNOP))
    assert box.wake.is_set()
    raised, delta = box.take_frames(T0)
    assert raised == AlertRaised(alert=_alert(8, AlertKind.NOODKNOP))
    assert isinstance(delta, Delta) and [a.alert_id for a in delta.alerts] == [7]


def test_a_mailbox_without_news_is_not_woken_by_the_tick() -> None:
    boxes = Mailboxes()
    box = boxes.add(frozenset({1}), _ignore)
    boxes.push_units([_unit(2, 2, 4.9)])
    assert not box.wake.is_set()


async def test_nothing_is_sent_before_activate_then_one_merged_delta() -> None:
    sent: list[object] = []
    got = asyncio.Event()

    async def send(data: bytes) -> None:
        sent.append(server_decoder.decode(data))
        got.set()

    boxes = Mailboxes()
    box = boxes.add(frozenset({1}), send)
    boxes.push_units([_unit(1, 1, 4.90)])
    boxes.push_units([_unit(1, 1, 4.92)])
    await asyncio.sleep(0)
    assert sent == []  # the snapshot goes first; changes wait in the mailbox
    boxes.activate(box)
    try:
        await asyncio.wait_for(got.wait(), 1.0)
        [delta] = sent
        assert isinstance(delta, Delta) and [u.lon for u in delta.units] == [4.92]
    finally:
        boxes.remove(box)


def test_an_escalation_the_organisation_keeps_from_team_leads_reaches_only_the_other_consoles() -> None:
    boxes = Mailboxes()
    operator = boxes.add(frozenset({1}), _ignore, "operator")
    lead = boxes.add(frozenset({1}), _ignore, "teamlead")
    view = AlertView(
        alert_id=9, kind=AlertKind.MAN_DOWN, org_id=1, unit_id=1, call_sign="U-1", at=T0, escalation_level=1
    )
    boxes.push_alert(view, skip_roles=frozenset({"teamlead"}))
    assert operator.urgent == [view] and lead.urgent == []
    boxes.push_alert(view)  # with notify_teamlead
    assert lead.urgent == [view]


def test_an_area_alert_goes_out_once_per_delta_with_the_most_units_reached() -> None:
    boxes = Mailboxes()
    box = boxes.add(frozenset({1}), _ignore)
    for reached in ([3], [3, 4], []):  # the last one is a read of the row that finished late
        boxes.push_area_alert(frozenset({1}), AreaAlertView(alert_id=7, source="politie", unit_ids=reached))
    boxes.push_area_alert(frozenset({2}), AreaAlertView(alert_id=8, source="politie"))  # not this operator's
    [delta] = box.take_frames(T0)
    assert isinstance(delta, Delta)
    assert [(a.alert_id, a.unit_ids) for a in delta.area_alerts] == [(7, [3, 4])]
