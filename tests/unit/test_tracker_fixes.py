"""Tracker fixes become numbered positions: a repeat is dropped, an older or old fix is late."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from backend.live.osmand import TrackerReport
from backend.live.trackers import TrackerFixes

NOW = datetime(2024, 5, 1, 12, 0, tzinfo=UTC)


def _report(at: datetime) -> TrackerReport:
    return TrackerReport(
        device_key="123456",
        lon=4.9,
        lat=52.37,
        at=at,
        speed_mps=1.2,
        heading_deg=90.0,
        altitude_m=None,
        accuracy_m=8.0,
        battery_pct=None,
        charging=None,
        valid=True,
        extras={},
    )


def test_a_fix_becomes_a_live_position_with_the_given_seq() -> None:
    frame = TrackerFixes().position(7, 42, _report(NOW - timedelta(seconds=5)), NOW)
    assert frame is not None
    assert (frame.seq, frame.lon, frame.lat, frame.late) == (42, 4.9, 52.37, False)
    assert frame.at == NOW - timedelta(seconds=5)
    assert (frame.accuracy_m, frame.speed_mps, frame.heading_deg) == (8.0, 1.2, 90.0)


def test_the_same_fix_sent_twice_is_taken_once() -> None:
    fixes = TrackerFixes()
    assert fixes.position(7, 1, _report(NOW), NOW) is not None
    assert fixes.position(7, 2, _report(NOW), NOW + timedelta(seconds=3)) is None
    assert fixes.position(8, 1, _report(NOW), NOW) is not None  # another tracker


def test_a_fix_older_than_the_newest_is_late_and_does_not_move_the_newest_back() -> None:
    fixes = TrackerFixes()
    fixes.position(7, 1, _report(NOW), NOW)
    older = fixes.position(7, 2, _report(NOW - timedelta(seconds=30)), NOW)
    assert older is not None and older.late
    again = fixes.position(7, 3, _report(NOW - timedelta(seconds=10)), NOW)
    assert again is not None and again.late  # still older than the newest (NOW), not than the last one
    newer = fixes.position(7, 4, _report(NOW + timedelta(seconds=5)), NOW + timedelta(seconds=5))
    assert newer is not None and not newer.late


def test_a_fix_more_than_five_minutes_old_is_late() -> None:
    fixes = TrackerFixes()
    assert not fixes.position(7, 1, _report(NOW - timedelta(seconds=300)), NOW).late  # type: ignore[union-attr]
    assert fixes.position(8, 1, _report(NOW - timedelta(seconds=301)), NOW).late  # type: ignore[union-attr]
