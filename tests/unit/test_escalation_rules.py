"""The escalation and check-in rules without I/O: when an alert goes up a level, who hears it (the partner and
the nearest units on duty with a current position, never a far one beyond the count), and which check-ins
are refused or missed."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import msgspec
import pytest

from backend.alerts.escalation import (
    AlarmSettings,
    CheckinTimer,
    UnitPlace,
    checkin_refusal,
    due_level,
    missed,
    recipients,
)
from shared.protocol import AlertKind, AlertView, UnitStatus

T0 = datetime(2026, 3, 14, 9, 0, tzinfo=UTC)
DAM = (4.8932, 52.3731)


def _alert(**overrides: object) -> AlertView:
    values: dict[str, object] = dict(
        alert_id=1, kind=AlertKind.NOODKNOP, org_id=1, unit_id=10, call_sign="HH-10", at=T0
    )
    values.update(overrides)
    return AlertView(**values)  # type: ignore[arg-type]


def _place(unit_id: int, east_m: float, **overrides: object) -> UnitPlace:
    values: dict[str, object] = dict(
        unit_id=unit_id,
        org_id=1,
        call_sign=f"HH-{unit_id}",
        status=UnitStatus.AVAILABLE,
        lon=DAM[0] + east_m / 68_000,
        lat=DAM[1],
        live_at=T0,
    )
    values.update(overrides)
    return UnitPlace(**values)  # type: ignore[arg-type]


def test_an_alert_escalates_after_escalate_after_s_then_every_repeat_after_s() -> None:
    settings = AlarmSettings(escalate_after_s=20, repeat_after_s=60)
    assert [due_level(T0, T0 + timedelta(seconds=s), settings) for s in (0, 19.9, 20, 79.9, 80, 140)] == [
        0,
        0,
        1,
        1,
        2,
        3,
    ]


def test_the_partner_and_the_nearest_units_hear_it_nearest_first_and_not_beyond_the_count() -> None:
    units = [
        _place(10, 0),  # the alert's own unit: told as the partner, not as a nearby unit
        _place(11, 800),
        _place(12, 200),
        _place(13, 5000),  # far
        _place(14, 100, status=UnitStatus.OFF_DUTY),
        _place(15, 50, org_id=2),  # another gemeente
        _place(16, 60, live_at=T0 - timedelta(minutes=10)),  # its position is stale
        _place(17, 70, lon=None, lat=None, live_at=None),
    ]
    told = recipients(_alert(), DAM, units, AlarmSettings(nearest_units=2), T0, 120)
    assert [(r.unit_id, r.reason) for r in told] == [(10, "partner"), (12, "nearby"), (11, "nearby")]
    assert told[1].distance_m == pytest.approx(200, rel=0.02)


def test_what_the_settings_switch_off_is_not_told() -> None:
    units = [_place(11, 100)]
    off = AlarmSettings(notify_partner=False, nearest_units=0)
    assert recipients(_alert(), DAM, units, off, T0, 120) == []
    # without a position of the alert only the partner hears it
    assert [r.reason for r in recipients(_alert(), None, units, AlarmSettings(), T0, 120)] == ["partner"]
    # a silent noodknop does not sound on the partner's tablet; nearby units still hear it
    silent = recipients(_alert(silent=True), DAM, units, AlarmSettings(), T0, 120)
    assert [r.reason for r in silent] == ["nearby"]


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"escalate_after_s": 1}, "escalate_after_s"),
        ({"repeat_after_s": 5}, "repeat_after_s"),
        ({"nearest_units": 21}, "nearest_units"),
        ({"notify_partner": "ja"}, "notify_partner"),
        ({"escalate_after": 20}, "escalate_after"),
    ],
)
def test_settings_out_of_range_are_refused_naming_the_field(body: dict[str, object], field: str) -> None:
    with pytest.raises(msgspec.ValidationError, match=field):
        msgspec.convert(body, AlarmSettings)


def test_a_check_in_due_in_the_past_or_more_than_12_h_ahead_is_refused() -> None:
    assert checkin_refusal(None, T0) is None
    assert checkin_refusal(T0 + timedelta(minutes=30), T0) is None
    assert checkin_refusal(T0 + timedelta(hours=12), T0) is None
    assert checkin_refusal(T0, T0) == "`next_due` is in the past"
    assert checkin_refusal(T0 + timedelta(hours=12, seconds=1), T0) == "`next_due` is more than 12 h ahead"


def test_a_timer_is_missed_after_its_grace_and_only_until_it_fired() -> None:
    timer = CheckinTimer(device_id=5, org_id=1, unit_id=10, next_due=T0, set_at=T0 - timedelta(hours=1))
    assert missed([timer], T0 + timedelta(seconds=30), 30) == []
    assert missed([timer], T0 + timedelta(seconds=31), 30) == [timer]
    timer.fired = True
    assert missed([timer], T0 + timedelta(hours=1), 30) == []
