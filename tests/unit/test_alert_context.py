"""Which units the alarm banner offers to send: the pure choice of backend/alerts/context.py."""

from __future__ import annotations

from datetime import UTC, datetime

from backend.alerts.context import nearest_available
from backend.geofencing.logic import PreparedBeats
from backend.live.picture import LivePicture, UnitLive
from shared.protocol import UnitStatus

AT = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)
LON, LAT = 4.8970, 52.3745
METRE_LAT = 1 / 111_195


def picture(*units: UnitLive) -> LivePicture:
    p = LivePicture(PreparedBeats([]))
    p.load(list(units))
    return p


def unit(
    unit_id: int,
    north_m: float | None,
    *,
    org: int = 1,
    status: UnitStatus = UnitStatus.AVAILABLE,
    stale: bool = False,
) -> UnitLive:
    u = UnitLive(
        unit_id=unit_id,
        org_id=org,
        call_sign=f"A-{unit_id:02d}",
        status=status,
        status_since=AT,
        lon=None if north_m is None else LON,
        lat=None if north_m is None else LAT + north_m * METRE_LAT,
        at=AT,
    )
    u.stale = stale
    return u


def test_the_nearest_available_units_of_the_alarms_gemeente_nearest_first() -> None:
    p = picture(
        unit(1, 0, status=UnitStatus.EMERGENCY),  # the unit in trouble itself
        unit(2, 300),
        unit(3, 120),
        unit(4, 900),
        unit(5, 2500),
        unit(6, 50, status=UnitStatus.BUSY),
        unit(7, 80, org=2),  # another gemeente
        unit(8, None),  # no position
        unit(9, 60),  # has a task already
    )
    found = nearest_available(p, 1, 1, LON, LAT, busy={9})
    assert [n.unit_id for n in found] == [3, 2, 4]
    assert 115 < found[0].distance_m < 125
    assert all(n.status is UnitStatus.AVAILABLE for n in found)


def test_a_stale_position_comes_last_and_no_position_means_no_offer() -> None:
    p = picture(unit(2, 50, stale=True), unit(3, 400))
    assert [n.unit_id for n in nearest_available(p, 1, 1, LON, LAT)] == [3, 2]
    assert nearest_available(p, 1, 1, None, None) == []
    assert len(nearest_available(p, 1, None, LON, LAT, limit=1)) == 1
