"""The unit-status/AVL feed: the per-partner status and priority mapping, and AVL coalescing."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from meldkamer_bridge.adapters.base import CodecError
from meldkamer_bridge.adapters.status import (
    GMS_DEFAULT,
    AvlBatch,
    AvlCoalescer,
    AvlPosition,
    UnitEntry,
    UnitRoster,
    UnitStatusReport,
    decode_feed,
    encode_feed,
    encode_status,
    load_mapping,
)
from shared.protocol import UnitStatus

T0 = datetime(2026, 11, 22, 19, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("status", "code", "label"),
    [
        (UnitStatus.EMERGENCY, "0", "noodsignaal"),
        (UnitStatus.EN_ROUTE, "4", "aanrijdend naar incident"),
        (UnitStatus.ON_SCENE, "5", "ter plaatse"),
        (UnitStatus.AVAILABLE, "8", "beschikbaar (onderweg naar post)"),
        (UnitStatus.OFF_DUTY, "11", "buiten dienst"),
    ],
)
def test_default_mapping_is_the_community_gms_table(status: UnitStatus, code: str, label: str) -> None:
    report = json.loads(encode_status(status, unit="HH-01", organisation="amsterdam", since=T0))
    assert report == {
        "type": "unit_status",
        "unit": "HH-01",
        "organisation": "amsterdam",
        "discipline": "handhaving",
        "status": status.value,
        "code": code,
        "label": label,
        "since": "2026-11-22T19:00:00Z",
    }


def test_every_semantic_status_has_a_distinct_default_code() -> None:
    codes = [GMS_DEFAULT.status_code(s) for s in UnitStatus]
    assert len(set(codes)) == len(UnitStatus)
    assert all(GMS_DEFAULT.status_of(GMS_DEFAULT.status_code(s)) is s for s in UnitStatus)


def test_a_partner_mapping_is_configured_from_json(tmp_path: Path) -> None:
    path = tmp_path / "partner.json"
    path.write_text(
        json.dumps(
            {
                "status_codes": {"available": "VRIJ", "en_route": "ONDERWEG"},
                "status_labels": {"VRIJ": "vrij"},
                "priorities_in": {"A1": 1, "A2": 2},
                "unknown_priority": 2,
            }
        )
    )
    mapping = load_mapping(path)
    report = json.loads(
        encode_status(UnitStatus.AVAILABLE, unit="HH-01", organisation="a", since=T0, mapping=mapping)
    )
    assert (report["code"], report["label"]) == ("VRIJ", "vrij")
    assert mapping.priority_in("A2") == 2 and mapping.priority_in("P9") == 2
    with pytest.raises(CodecError) as err:
        encode_status(UnitStatus.BREAK, unit="HH-01", organisation="a", since=T0, mapping=mapping)
    assert err.value.field == "status"


@pytest.mark.parametrize(
    "bad", [b'{"status_codes": {"flying": "9"}}', b'{"priorities_in": {"A": 7}}', b'{"colour": 1}', b"[]"]
)
def test_a_bad_mapping_file_is_refused(tmp_path: Path, bad: bytes) -> None:
    path = tmp_path / "partner.json"
    path.write_bytes(bad)
    with pytest.raises(CodecError):
        load_mapping(path)


def test_feed_messages_round_trip_and_garbage_is_a_codec_error() -> None:
    for message in (
        UnitRoster(units=[UnitEntry(unit="HH-01", organisation="amsterdam")]),
        AvlBatch(positions=[AvlPosition(unit="HH-01", lon=4.9, lat=52.37, at=T0, speed_mps=1.2)]),
        UnitStatusReport(unit="HH-01", organisation="a", status=UnitStatus.BUSY, code="1", since=T0),
    ):
        assert decode_feed(encode_feed(message)) == message
    with pytest.raises(CodecError):
        decode_feed(b'{"type": "avl", "positions": [{"unit": 1}]}')


def pos(unit: str, seconds: float, lon: float = 4.9) -> AvlPosition:
    return AvlPosition(unit=unit, lon=lon, lat=52.37, at=T0 + timedelta(seconds=seconds))


def test_coalescer_sends_only_the_latest_position_per_unit() -> None:
    avl = AvlCoalescer()
    for i in range(10):
        avl.offer(pos("HH-01", i, 4.9 + i / 1000))
        avl.offer(pos("HH-02", i))
    avl.offer(pos("HH-01", 3))  # late: older than what is held
    batch = avl.drain()
    assert batch is not None and [(p.unit, p.at) for p in batch.positions] == [
        ("HH-01", T0 + timedelta(seconds=9)),
        ("HH-02", T0 + timedelta(seconds=9)),
    ]
    assert avl.drain() is None
    avl.offer(pos("HH-01", 8))  # older than what already went out: never sent
    assert avl.drain() is None


@given(st.lists(st.tuples(st.sampled_from(["A", "B", "C"]), st.integers(0, 100), st.booleans()), max_size=60))
def test_coalescer_output_is_the_newest_unsent_position_per_unit(events: list[tuple[str, int, bool]]) -> None:
    avl = AvlCoalescer()
    sent: dict[str, int] = {}
    pending: dict[str, int] = {}
    for unit, second, drain in events:
        avl.offer(pos(unit, second))
        if second > sent.get(unit, -1):
            pending[unit] = max(pending.get(unit, -1), second)
        if drain:
            batch = avl.drain()
            got = {p.unit: int((p.at - T0).total_seconds()) for p in batch.positions} if batch else {}
            assert got == pending
            sent.update(pending)
            pending = {}
