"""Distances on the earth, the one definition every part of Schakel uses.

The backend (dispatch, duo partners apart), the bridge (which units a police alert's circle concerns) and the
tablet (report a fix after so many metres) must agree on what "500 m" means, so there is one function here.
"""

from __future__ import annotations

import math

EARTH_RADIUS_M = 6_371_008.8
"""Mean earth radius R1 = (2a + b) / 3 of WGS84 (IUGG). On this sphere haversine stays within ~0.5 % of the
WGS84 geodesic, more than enough for patrol distances; a geodesic library would add a dependency for nothing.
"""


def distance_m(lon1: float, lat1: float, lon2: float, lat2: float) -> float:
    """Great-circle (haversine) distance in metres between two WGS84 points, lon before lat, never degrees."""
    phi1, phi2 = math.radians(lat1), math.radians(lat2)
    dphi = phi2 - phi1
    dlambda = math.radians(lon2 - lon1)
    h = math.sin(dphi / 2) ** 2 + math.cos(phi1) * math.cos(phi2) * math.sin(dlambda / 2) ** 2
    return 2 * EARTH_RADIUS_M * math.asin(min(1.0, math.sqrt(h)))  # rounding can push h just past 1
