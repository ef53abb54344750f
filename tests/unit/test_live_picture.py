"""The rules the operator tick runs on the live picture: stale units, partners apart, the assigned beat, and
late (buffered) positions that move a unit on the map but never raise an alert or end staleness."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from shapely import box

from backend.geofencing.logic import BeatEntered, BeatLeft, PreparedBeats
from backend.live.picture import LivePicture, PictureTick, UnitLive
from shared.geo import distance_m
from shared.protocol import AlertKind, PartnerFix, PositionReported, UnitStatus

T0 = datetime(2024, 5, 1, 12, 0, tzinfo=UTC)
STALE_S = 120.0
APART_M = 250.0
BEAT = 7  # the assigned beat: a small square around DAM
DAM = (4.8932, 52.3731)
OUTSIDE = (4.9100, 52.3731)  # about 1.1 km east, outside the beat
TABLET, TRACKER = 11, 12


def _picture(
    status: UnitStatus = UnitStatus.AVAILABLE, assigned: frozenset[int] = frozenset({BEAT})
) -> LivePicture:
    picture = LivePicture(PreparedBeats([(BEAT, box(4.888, 52.370, 4.898, 52.376))]))
    picture.put_unit(
        UnitLive(unit_id=1, org_id=3, call_sign="A-01", status=status, status_since=T0, assigned=assigned)
    )
    return picture


def _fix(seq: int, at: datetime, where: tuple[float, float] = DAM, *, late: bool = False) -> PositionReported:
    return PositionReported(seq=seq, lon=where[0], lat=where[1], at=at, late=late)


def _tick(picture: LivePicture, now: datetime) -> PictureTick:
    return picture.tick(now, stale_after_s=STALE_S, partners_apart_m=APART_M)


def _kinds(step: PictureTick) -> list[AlertKind]:
    return [a.kind for a in step.raised]


def _east_of_dam(metres: float) -> tuple[float, float]:
    """A point metres east of DAM (on its parallel), checked against the distance the rule uses."""
    lon = DAM[0] + metres / distance_m(DAM[0], DAM[1], DAM[0] + 1, DAM[1])
    assert distance_m(*DAM, lon, DAM[1]) == pytest.approx(metres, rel=1e-3)
    return lon, DAM[1]


# --- stale --------------------------------------------------------------------------------------------------


def test_a_unit_goes_stale_only_after_stale_after_s_and_raises_one_alert() -> None:
    picture = _picture()
    picture.apply_position(1, _fix(1, T0), TABLET)
    _tick(picture, T0)
    assert _kinds(_tick(picture, T0 + timedelta(seconds=STALE_S))) == []
    assert not picture.units[1].stale
    step = _tick(picture, T0 + timedelta(seconds=STALE_S + 0.1))
    assert _kinds(step) == [AlertKind.POSITION_STALE]
    alert = step.raised[0]
    assert (alert.unit_id, alert.org_id, alert.call_sign) == (1, 3, "A-01")
    assert alert.at == T0 + timedelta(seconds=120.1)
    assert (alert.lon, alert.lat) == DAM
    assert picture.units[1].stale and picture.units[1].view().stale
    assert _kinds(_tick(picture, T0 + timedelta(minutes=10))) == []  # once, not every tick


def test_a_live_position_ends_staleness_and_the_next_silence_raises_again() -> None:
    picture = _picture()
    picture.apply_position(1, _fix(1, T0), TABLET)
    assert _kinds(_tick(picture, T0 + timedelta(minutes=3))) == [AlertKind.POSITION_STALE]
    picture.apply_position(1, _fix(2, T0 + timedelta(minutes=4)), TABLET)
    assert not picture.units[1].stale
    assert _kinds(_tick(picture, T0 + timedelta(minutes=5))) == []
    assert _kinds(_tick(picture, T0 + timedelta(minutes=7))) == [AlertKind.POSITION_STALE]


def test_a_unit_off_duty_or_never_heard_is_never_stale() -> None:
    off_duty = _picture(UnitStatus.OFF_DUTY)
    off_duty.apply_position(1, _fix(1, T0), TABLET)
    assert _kinds(_tick(off_duty, T0 + timedelta(hours=1))) == []
    never_heard = _picture()
    assert _kinds(_tick(never_heard, T0 + timedelta(hours=1))) == []
    assert not never_heard.units[1].stale


def test_a_stored_position_loaded_at_start_counts_as_live_for_staleness() -> None:
    picture = LivePicture(PreparedBeats([]))
    picture.load(
        [
            UnitLive(
                unit_id=1,
                org_id=3,
                call_sign="A-01",
                status=UnitStatus.AVAILABLE,
                status_since=T0,
                lon=DAM[0],
                lat=DAM[1],
                at=T0,
            )
        ]
    )
    assert _kinds(_tick(picture, T0 + timedelta(minutes=3))) == [AlertKind.POSITION_STALE]


# --- late positions -----------------------------------------------------------------------------------------


def test_a_late_position_moves_the_unit_but_does_not_end_staleness() -> None:
    picture = _picture()
    picture.apply_position(1, _fix(1, T0), TABLET)
    assert _kinds(_tick(picture, T0 + timedelta(minutes=3))) == [AlertKind.POSITION_STALE]
    # buffered while offline, sent now: newer than what the picture has, so the map shows it
    assert picture.apply_position(1, _fix(2, T0 + timedelta(minutes=2), OUTSIDE, late=True), TABLET)
    unit = picture.units[1]
    assert (unit.lon, unit.lat, unit.at) == (*OUTSIDE, T0 + timedelta(minutes=2))
    assert unit.stale
    step = _tick(picture, T0 + timedelta(minutes=4))
    assert step.raised == [] and step.moves == []  # outside its beat, yet no geofence alert: it is history
    assert [u.unit_id for u in picture.take_dirty()] == [1]  # operators still see the move


def test_a_late_position_older_than_the_shown_one_changes_nothing() -> None:
    picture = _picture()
    picture.apply_position(1, _fix(2, T0), TABLET)
    picture.take_dirty()
    assert not picture.apply_position(1, _fix(1, T0 - timedelta(seconds=30), OUTSIDE, late=True), TABLET)
    assert (picture.units[1].lon, picture.units[1].at) == (DAM[0], T0)
    assert picture.take_dirty() == []


def test_a_late_position_is_no_partner_fix() -> None:
    picture = _picture()
    picture.apply_position(1, _fix(1, T0), TABLET)
    _tick(picture, T0)
    picture.apply_position(1, _fix(1, T0 + timedelta(seconds=1), OUTSIDE, late=True), TRACKER)
    assert _kinds(_tick(picture, T0 + timedelta(seconds=2))) == []
    assert not picture.units[1].partners_apart
    assert picture.partner_fixes(T0 + timedelta(seconds=2), STALE_S) == {
        1: [PartnerFix(device_id=TABLET, lon=DAM[0], lat=DAM[1], at=T0)]
    }


def test_late_fixes_outside_after_a_live_fix_inside_in_the_same_tick_raise_nothing() -> None:
    picture = _picture()
    picture.apply_position(1, _fix(1, T0), TABLET)  # live, inside the assigned beat
    for seq in (2, 3):  # then buffered fixes outside, newer than the live one, before the tick
        picture.apply_position(1, _fix(seq, T0 + timedelta(seconds=seq), OUTSIDE, late=True), TABLET)
    step = _tick(picture, T0 + timedelta(seconds=4))
    assert step.raised == []
    assert step.moves == [BeatEntered(unit_id=1, beat_id=BEAT, at=T0)]
    assert picture.units[1].view().outside_assigned is False
    assert (picture.units[1].lon, picture.units[1].lat) == OUTSIDE  # the map still shows the newest fix


def test_a_live_fix_outside_followed_by_late_fixes_inside_in_the_same_tick_still_raises() -> None:
    picture = _picture()
    picture.apply_position(1, _fix(1, T0), TABLET)
    _tick(picture, T0)
    picture.apply_position(1, _fix(2, T0 + timedelta(seconds=5), OUTSIDE), TABLET)  # live, outside
    picture.apply_position(1, _fix(3, T0 + timedelta(seconds=6), DAM, late=True), TABLET)
    step = _tick(picture, T0 + timedelta(seconds=7))
    assert _kinds(step) == [AlertKind.OUTSIDE_ASSIGNED_BEAT]
    alert = step.raised[0]
    assert alert.at == T0 + timedelta(seconds=5) and (alert.lon, alert.lat) == OUTSIDE  # the live fix's
    assert picture.units[1].view().outside_assigned is True


def test_a_live_fix_older_than_a_shown_late_one_is_still_geofenced() -> None:
    picture = _picture()
    picture.apply_position(1, _fix(1, T0), TABLET)
    _tick(picture, T0)
    picture.apply_position(1, _fix(1, T0 + timedelta(seconds=9), DAM, late=True), TRACKER)
    picture.apply_position(1, _fix(2, T0 + timedelta(seconds=5), OUTSIDE), TABLET)
    assert _kinds(_tick(picture, T0 + timedelta(seconds=10))) == [AlertKind.OUTSIDE_ASSIGNED_BEAT]


# --- the assigned beat --------------------------------------------------------------------------------------


def test_leaving_the_assigned_beat_raises_once_at_the_time_of_the_fix() -> None:
    picture = _picture()
    picture.apply_position(1, _fix(1, T0), TABLET)
    step = _tick(picture, T0 + timedelta(seconds=1))
    assert step.moves == [BeatEntered(unit_id=1, beat_id=BEAT, at=T0)] and step.raised == []
    picture.apply_position(1, _fix(2, T0 + timedelta(seconds=5), OUTSIDE), TABLET)
    step = _tick(picture, T0 + timedelta(seconds=6))
    assert step.moves == [BeatLeft(unit_id=1, beat_id=BEAT, at=T0 + timedelta(seconds=5))]
    assert _kinds(step) == [AlertKind.OUTSIDE_ASSIGNED_BEAT]
    alert = step.raised[0]
    assert alert.at == T0 + timedelta(seconds=5) and (alert.lon, alert.lat) == OUTSIDE
    picture.apply_position(1, _fix(3, T0 + timedelta(seconds=10), OUTSIDE), TABLET)
    assert _tick(picture, T0 + timedelta(seconds=11)).raised == []  # still outside: no second alert
    assert picture.units[1].view().outside_assigned is True


def test_a_tick_without_new_live_positions_runs_no_geofence() -> None:
    picture = _picture()
    picture.apply_position(1, _fix(1, T0, OUTSIDE), TABLET)
    assert _kinds(_tick(picture, T0)) == [AlertKind.OUTSIDE_ASSIGNED_BEAT]
    assert _tick(picture, T0 + timedelta(seconds=1)) == PictureTick(moves=[], raised=[])


# --- partners apart -----------------------------------------------------------------------------------------


def test_partners_more_than_250_m_apart_raise_once_and_clear_when_together() -> None:
    picture = _picture(assigned=frozenset())  # the unit follows its newest fix: no beat alerts in the way
    picture.apply_position(1, _fix(1, T0), TABLET)
    picture.apply_position(1, _fix(1, T0, _east_of_dam(240)), TRACKER)
    assert _kinds(_tick(picture, T0)) == []  # 240 m: still together
    picture.take_dirty()
    picture.apply_position(1, _fix(2, T0 + timedelta(seconds=1), _east_of_dam(260)), TRACKER)
    step = _tick(picture, T0 + timedelta(seconds=1))
    assert _kinds(step) == [AlertKind.PARTNERS_APART]
    assert picture.units[1].view().partners_apart
    picture.apply_position(1, _fix(3, T0 + timedelta(seconds=2), _east_of_dam(400)), TRACKER)
    assert _kinds(_tick(picture, T0 + timedelta(seconds=2))) == []  # still apart: not raised again
    picture.take_dirty()
    picture.apply_position(1, _fix(4, T0 + timedelta(seconds=3), _east_of_dam(50)), TRACKER)
    assert _kinds(_tick(picture, T0 + timedelta(seconds=3))) == []  # together again: cleared, no alert
    assert not picture.units[1].partners_apart
    assert [u.partners_apart for u in picture.take_dirty()] == [False]  # operators see it clear
    picture.apply_position(1, _fix(5, T0 + timedelta(seconds=4), _east_of_dam(300)), TRACKER)
    assert _kinds(_tick(picture, T0 + timedelta(seconds=4))) == [AlertKind.PARTNERS_APART]  # apart anew


def test_a_partner_fix_older_than_stale_after_s_does_not_count() -> None:
    picture = _picture(assigned=frozenset())
    picture.apply_position(1, _fix(1, T0, _east_of_dam(1000)), TRACKER)
    picture.apply_position(1, _fix(1, T0 + timedelta(seconds=STALE_S + 1)), TABLET)
    assert _kinds(_tick(picture, T0 + timedelta(seconds=STALE_S + 1))) == []
    assert list(picture.partner_fixes(T0 + timedelta(seconds=STALE_S + 1), STALE_S)[1]) == [
        PartnerFix(device_id=TABLET, lon=DAM[0], lat=DAM[1], at=T0 + timedelta(seconds=STALE_S + 1))
    ]


def test_alerts_of_one_tick_come_outside_then_stale_then_apart() -> None:
    picture = _picture()
    picture.put_unit(
        UnitLive(unit_id=2, org_id=3, call_sign="B-01", status=UnitStatus.AVAILABLE, status_since=T0)
    )
    picture.put_unit(
        UnitLive(unit_id=4, org_id=3, call_sign="C-01", status=UnitStatus.AVAILABLE, status_since=T0)
    )
    picture.apply_position(2, _fix(1, T0), 21)
    _tick(picture, T0)
    now = T0 + timedelta(seconds=STALE_S + 1)
    picture.apply_position(1, _fix(1, now, OUTSIDE), TABLET)
    picture.apply_position(4, _fix(1, now), 41)
    picture.apply_position(4, _fix(1, now, OUTSIDE), 42)
    step = _tick(picture, now)
    assert [(a.kind, a.unit_id) for a in step.raised] == [
        (AlertKind.OUTSIDE_ASSIGNED_BEAT, 1),
        (AlertKind.POSITION_STALE, 2),
        (AlertKind.PARTNERS_APART, 4),
    ]
