"""Which frames of a batch the writer stores: everything above each device's durable seq, once."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from hypothesis import given
from hypothesis import strategies as st

from backend.live.writer import Pending, latest_live, new_frames
from shared.protocol import NoodknopPressed, PositionReported, SequencedFrame, StatusChanged, UnitStatus

T0 = datetime(2024, 5, 1, 12, 0, tzinfo=UTC)


def _item(device_id: int, frame: SequencedFrame, unit_id: int | None = 5) -> Pending:
    return Pending(device_id=device_id, unit_id=unit_id, org_id=1, frame=frame, received_at=T0)


def _pos(seq: int, at: datetime = T0, *, late: bool = False) -> PositionReported:
    return PositionReported(seq=seq, lon=4.9, lat=52.37, at=at, late=late)


def _seqs(items: list[Pending]) -> list[tuple[int, int]]:
    return [(p.device_id, p.frame.seq) for p in items]


def test_frames_at_or_below_the_durable_seq_are_resends_and_dropped() -> None:
    batch = [_item(1, _pos(4)), _item(1, _pos(5)), _item(1, _pos(6))]
    new = new_frames(batch, {1: 5})
    assert _seqs(new.positions) == [(1, 6)]
    assert new.last_seq == {1: 6}


def test_a_frame_resent_within_the_batch_is_stored_once() -> None:
    batch = [_item(1, _pos(1)), _item(1, _pos(2)), _item(1, _pos(2)), _item(1, _pos(1))]
    assert _seqs(new_frames(batch, {1: 0}).positions) == [(1, 1), (1, 2)]


def test_frames_of_an_unknown_device_are_dropped_and_it_gets_no_seq() -> None:
    new = new_frames([_item(9, _pos(1)), _item(1, _pos(1))], {1: 0})
    assert _seqs(new.positions) == [(1, 1)]
    assert new.last_seq == {1: 1}


def test_a_position_off_shift_is_not_stored_but_its_seq_is_durable() -> None:
    new = new_frames([_item(1, _pos(3), unit_id=None)], {1: 2})
    assert new.positions == [] and new.events == []
    assert new.last_seq == {1: 3}  # acknowledged, so the tablet does not resend it forever


def test_other_frames_are_events_in_arrival_order_even_off_shift() -> None:
    status = StatusChanged(seq=2, status=UnitStatus.BREAK, at=T0)
    press = NoodknopPressed(seq=1, at=T0)
    new = new_frames([_item(2, press, unit_id=None), _item(1, _pos(1)), _item(1, status)], {1: 0, 2: 0})
    assert [p.frame for p in new.events] == [press, status]
    assert _seqs(new.positions) == [(1, 1)]


def test_every_locked_device_keeps_its_seq_in_the_result_and_the_input_is_not_changed() -> None:
    durable = {1: 5, 2: 8}
    new = new_frames([_item(1, _pos(6))], durable)
    assert new.last_seq == {1: 6, 2: 8}  # device 2 is acknowledged again (a resend of its own) at 8
    assert durable == {1: 5, 2: 8}


def test_unit_live_takes_the_newest_live_position_of_each_unit() -> None:
    later = _pos(3, T0 + timedelta(seconds=10))
    batch = [
        _item(1, _pos(1, T0)),
        _item(1, later),
        _item(2, _pos(1, T0 + timedelta(seconds=5)), unit_id=5),
        _item(3, _pos(1, T0 + timedelta(minutes=1), late=True), unit_id=5),
        _item(4, _pos(1), unit_id=6),
    ]
    assert latest_live(batch) == {5: later, 6: _pos(1)}


def test_unit_live_skips_a_unit_with_only_late_positions() -> None:
    assert latest_live([_item(1, _pos(1, late=True))]) == {}


frames = st.lists(st.tuples(st.integers(1, 3), st.integers(1, 12), st.booleans()), max_size=40)


@given(batch=frames, durable=st.dictionaries(st.integers(1, 3), st.integers(0, 6)))
def test_each_frame_is_stored_once_and_only_above_what_its_device_had(
    batch: list[tuple[int, int, bool]], durable: dict[int, int]
) -> None:
    items = [
        _item(d, _pos(seq) if is_pos else StatusChanged(seq=seq, status=UnitStatus.BUSY, at=T0))
        for d, seq, is_pos in batch
    ]
    new = new_frames(items, durable)
    kept = new.positions + new.events
    assert len(set(_seqs(kept))) == len(kept)
    highest = dict(durable)
    expected = []
    for item in items:
        if item.device_id in highest and item.frame.seq > highest[item.device_id]:
            highest[item.device_id] = item.frame.seq
            expected.append(item)
    assert sorted(_seqs(kept)) == sorted(_seqs(expected))
    assert new.last_seq == {
        d: max([last] + [p.frame.seq for p in items if p.device_id == d]) for d, last in durable.items()
    }
