"""The one distance every part of Schakel uses: metres on the WGS84 mean sphere."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st
from pyproj import Geod

from shared.geo import EARTH_RADIUS_M, distance_m

CENTRAAL = (4.9003, 52.3791)
DAM = (4.8932, 52.3731)
WGS84 = Geod(ellps="WGS84")


def test_centraal_to_dam_is_about_820_metres_and_matches_the_wgs84_geodesic() -> None:
    d = distance_m(*CENTRAAL, *DAM)
    _, _, geodesic = WGS84.inv(*CENTRAAL, *DAM)
    assert 780 < d < 880
    assert d == pytest.approx(geodesic, rel=0.005)


def test_one_degree_of_latitude_is_about_111_km() -> None:
    assert distance_m(4.9, 52.0, 4.9, 53.0) == pytest.approx(111_195, rel=0.001)


def test_distance_is_symmetric_and_zero_for_the_same_point() -> None:
    assert distance_m(*DAM, *CENTRAAL) == pytest.approx(distance_m(*CENTRAAL, *DAM))
    assert distance_m(*DAM, *DAM) == 0


def test_the_radius_is_the_wgs84_mean_radius() -> None:
    a, f = 6_378_137.0, 1 / 298.257223563
    assert EARTH_RADIUS_M == pytest.approx((2 * a + a * (1 - f)) / 3, abs=0.1)


def test_antipodes_are_half_the_circumference_without_a_math_domain_error() -> None:
    assert distance_m(0.0, 0.0, 180.0, 0.0) == pytest.approx(3.141592653589793 * EARTH_RADIUS_M)


@given(
    lon=st.floats(3.0, 7.5),
    lat=st.floats(50.5, 53.7),
    dlon=st.floats(-0.2, 0.2),
    dlat=st.floats(-0.2, 0.2),
)
def test_within_half_a_percent_of_the_geodesic_across_the_netherlands(
    lon: float, lat: float, dlon: float, dlat: float
) -> None:
    _, _, geodesic = WGS84.inv(lon, lat, lon + dlon, lat + dlat)
    assert distance_m(lon, lat, lon + dlon, lat + dlat) == pytest.approx(geodesic, rel=0.005, abs=0.01)
