"""Which units a police area alert concerns: polygons by containment (edge included), circles in metres."""

from __future__ import annotations

from datetime import UTC, datetime

from shapely.geometry import box

from backend.areaalerts.area import Circle, units_in_area
from meldkamer_bridge.adapters.cap import PartnerAlert, decode_alert, encode_alert, encode_area_alert
from shared.geo import distance_m
from tests.unit.test_cap_codec import noodknop

T_SENT = datetime(2026, 11, 22, 19, 0, tzinfo=UTC)


def area_of(alert: PartnerAlert, positions: dict[object, tuple[float, float]]) -> set[object]:
    circles = [Circle(c.lon, c.lat, c.radius_km) for c in alert.circles]
    return units_in_area(alert.polygons, circles, positions)


def test_units_in_the_area_of_a_police_alert() -> None:
    alert = decode_alert(encode_area_alert(
        identifier="p-1", sender="politie@example.nl", sent=T_SENT, event="Vermiste persoon",
        headline="Vermist: jongen (8)", description="Blauwe jas", area_desc="Burgwallen",
        polygon=box(4.888, 52.369, 4.902, 52.379)))  # fmt: skip
    positions: dict[object, tuple[float, float]] = {
        1: (4.8970, 52.3745),  # inside
        2: (4.9600, 52.3300),  # far
        3: (4.902, 52.375),  # on the edge
    }
    assert area_of(alert, positions) == {1, 3}
    assert area_of(alert, {}) == set()
    # a circle: 100 m around the Oude Kerk, measured in metres on the earth
    circle = decode_alert(encode_alert(noodknop(lon=4.8980, lat=52.3744, radius_km=0.1)))
    near = (4.8980 + 0.0012, 52.3744)  # ~82 m east at this latitude
    far = (4.8980 + 0.0018, 52.3744)  # ~123 m east
    assert 75 < distance_m(4.8980, 52.3744, *near) < 90
    assert area_of(circle, {"near": near, "far": far}) == {"near"}
    # an alert without an area concerns nobody
    assert area_of(decode_alert(encode_alert(noodknop(lon=None, lat=None))), positions) == set()
