"""Which units a partner's area alert concerns: pure geometry on (lon, lat), tested with plain values."""

from __future__ import annotations

from collections.abc import Hashable, Mapping, Sequence
from typing import TypeVar

import msgspec
import numpy as np
import shapely
from shapely.geometry import Polygon

from shared.geo import distance_m

K = TypeVar("K", bound=Hashable)


class Circle(msgspec.Struct, frozen=True):
    lon: float
    lat: float
    radius_km: float


def units_in_area(
    polygons: Sequence[Polygon], circles: Sequence[Circle], positions: Mapping[K, tuple[float, float]]
) -> set[K]:
    """The keys (e.g. unit ids) whose (lon, lat) lies in any polygon (edge included) or circle (great-circle
    distance in metres). An alert without polygons or circles concerns nobody: it has no area to place
    units in."""
    if not positions or not (polygons or circles):
        return set()
    keys = list(positions)
    lons = np.array([positions[k][0] for k in keys])
    lats = np.array([positions[k][1] for k in keys])
    inside = np.zeros(len(keys), dtype=bool)
    for polygon in polygons:
        on_edge = shapely.intersects_xy(polygon.boundary, lons, lats)
        inside |= shapely.contains_xy(polygon, lons, lats) | on_edge
    for circle in circles:
        for i in range(len(keys)):
            if not inside[i]:
                inside[i] = distance_m(circle.lon, circle.lat, lons[i], lats[i]) <= circle.radius_km * 1000
    return {k for k, hit in zip(keys, inside, strict=True) if hit}
