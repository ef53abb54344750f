"""The outbox file on its own: what survives a restart, in which order, in which state."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mobile.outbox import Outbox
from shared.protocol import PositionReported, StatusChanged, UnitStatus

AT = datetime(2026, 1, 1, 12, tzinfo=UTC)


def position(seq: int, late: bool = False) -> PositionReported:
    return PositionReported(seq=seq, lon=4.9, lat=52.37, at=AT, late=late)


def test_unacknowledged_frames_survive_a_restart_in_order_and_come_back_late(tmp_path: Path) -> None:
    box = Outbox(tmp_path / "o.sqlite")
    box.bind_device(7)
    box.add(position(1))
    box.add(StatusChanged(seq=2, status=UnitStatus.BUSY, at=AT))
    box.add(position(3))
    box.acked(1)
    box.close()
    again = Outbox(tmp_path / "o.sqlite")
    stored = again.load()
    assert [f.seq for f in stored.frames] == [2, 3] and stored.next_seq == 4 and not stored.synced
    assert isinstance(stored.frames[1], PositionReported) and stored.frames[1].late
    assert again.device_id == 7


def test_a_request_interrupted_mid_send_is_pending_again_after_a_restart(tmp_path: Path) -> None:
    box = Outbox(tmp_path / "o.sqlite")
    box.add_request(kind="registration", key="k1", method="POST", path="/api/registrations", body=b"{}")
    item, _ = box.next_request()
    assert item is not None and box.items()[0].state == "sending"
    box.close()  # killed while the request was out
    again = Outbox(tmp_path / "o.sqlite")
    assert again.items()[0].state == "pending"
    item, _ = again.next_request()
    assert item is not None and item.key == "k1"


def test_backoff_grows_and_holds_back_later_requests(tmp_path: Path) -> None:
    now = [1000.0]
    box = Outbox(tmp_path / "o.sqlite", clock=lambda: now[0])
    box.add_request(kind="photo", key="a", method="PUT", path="/api/photos/a", body=b"a")
    box.add_request(kind="registration", key="b", method="POST", path="/api/registrations", body=b"{}")
    delays = []
    for _ in range(4):
        item, _ = box.next_request()
        assert item is not None and item.key == "a"
        delays.append(box.request_retry(item.id, "0 no network"))
        assert box.next_request() == (None, pytest.approx(now[0] + delays[-1]))  # "b" waits behind "a"
        now[0] += delays[-1]
    assert delays == sorted(delays) and delays[-1] > 4 * delays[0]


def test_only_failed_items_can_be_discarded(tmp_path: Path) -> None:
    box = Outbox(tmp_path / "o.sqlite")
    box.add(position(1))
    (item,) = box.items()
    with pytest.raises(KeyError):
        box.discard(item.id)
    box.failed(1, "bad_frame: lat out of range")
    box.acked(1)  # a later ack does not make a refused frame disappear silently
    assert box.items()[0].state == "failed" and box.items()[0].reason == "bad_frame: lat out of range"
    box.discard(item.id)
    assert box.count() == 0


def test_another_device_starts_a_fresh_numbering(tmp_path: Path) -> None:
    box = Outbox(tmp_path / "o.sqlite")
    box.bind_device(1)
    box.welcomed(10, [])
    assert box.load().synced
    box.bind_device(2)
    assert not box.load().synced


@settings(max_examples=40, deadline=None)
@given(st.lists(st.tuples(st.sampled_from(["add", "ack", "reopen"]), st.integers(0, 5)), max_size=40))
def test_frames_stay_in_seq_order_and_acked_ones_never_return(
    tmp_path_factory: pytest.TempPathFactory, ops: list[tuple[str, int]]
) -> None:
    path = tmp_path_factory.mktemp("prop") / "o.sqlite"
    box = Outbox(path)
    seqs = itertools.count(1)
    acked = 0
    expected: list[int] = []
    for op, n in ops:
        if op == "add":
            seq = next(seqs)
            box.add(position(seq))
            expected.append(seq)
        elif op == "ack":
            acked = max(acked, min(acked + n, len(expected) and expected[-1]))
            box.acked(acked)
            expected = [s for s in expected if s > acked]
        else:
            box.close()
            box = Outbox(path)
        assert [f.seq for f in box.load().frames] == expected
    box.close()
