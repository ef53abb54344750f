"""Parsing beat polygons from GeoJSON, without I/O.

Municipal sources come in WGS84 or in RD New (EPSG:28992), sometimes with a ``crs`` member and sometimes
without; everything leaves this module as WGS84 lon/lat. Every problem becomes a ``BeatImportError`` that
names the feature, so an administrator can fix the file rather than read a traceback.
"""

from __future__ import annotations

import json
import re
from typing import Any, NoReturn

import msgspec
import numpy as np
import shapely
from pyproj import Transformer
from shapely import MultiPolygon, Polygon

CODE_KEYS = ("buurtcode", "wijkcode", "code", "id", "wijknummer")
NAME_KEYS = ("buurtnaam", "wijknaam", "name", "naam")
MAX_AREA_CHANGE = 0.01
"""A repair may change the area by less than this fraction; more means the polygon's shape was guessed."""

# EPSG:28992 area of use, with a margin; RD coordinates are never inside the lon/lat range (y > 289 km).
RD_BOUNDS = (-7_000.0, 289_000.0, 300_000.0, 629_000.0)
WGS84_NAMES = ("4326", "crs84", "4289")
RD_NAMES = ("28992",)

_RD_TO_WGS84 = Transformer.from_crs(28992, 4326, always_xy=True)


class BeatImportError(Exception):
    """A beat file that cannot be imported; ``str()`` is a message for the person who uploaded it."""

    def __init__(
        self,
        message: str,
        feature_index: int | None = None,
        feature_code: str | None = None,
        field: str | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.feature_index = feature_index
        self.feature_code = feature_code
        self.field = field


class BeatFeature(msgspec.Struct, frozen=True, kw_only=True):
    code: str
    name: str
    geometry: dict[str, Any]
    """GeoJSON Polygon or MultiPolygon, WGS84 lon/lat."""
    properties: dict[str, Any]
    repaired: bool = False


def _fail(
    message: str, index: int | None = None, code: str | None = None, field: str | None = None
) -> NoReturn:
    if index is None:
        raise BeatImportError(message, None, code, field)
    where = f"feature {index}" + (f" (code {code!r})" if code is not None else "")
    raise BeatImportError(f"{where}: {message}", index, code, field)


def _crs_kind(name: str) -> str:
    """'wgs84' or 'rd' for a CRS name such as 'EPSG:28992' or 'urn:ogc:def:crs:OGC:1.3:CRS84'."""
    lowered = name.strip().lower()
    tail = re.split(r"[:/]", lowered)[-1]
    if tail in RD_NAMES:
        return "rd"
    if tail in WGS84_NAMES:
        return "wgs84"
    _fail(
        f"unsupported coordinate reference system {name!r}; use WGS84 (EPSG:4326) or RD New (EPSG:28992)",
        field="crs",
    )


def _declared_crs(doc: dict[str, Any]) -> str | None:
    crs = doc.get("crs")
    if crs is None:
        return None
    name = crs.get("properties", {}).get("name") if isinstance(crs, dict) else None
    if not isinstance(name, str):
        _fail("the 'crs' member has no name; expected e.g. 'urn:ogc:def:crs:EPSG::28992'", field="crs")
    return _crs_kind(name)


def _raw_features(doc: Any) -> list[dict[str, Any]]:
    if not isinstance(doc, dict) or not isinstance(doc.get("type"), str):
        _fail("not GeoJSON: expected an object with a 'type' member")
    kind = doc["type"]
    if kind == "FeatureCollection":
        features = doc.get("features")
        if not isinstance(features, list):
            _fail("the FeatureCollection has no 'features' list", field="features")
        if not features:
            _fail("the FeatureCollection contains no features", field="features")
        return list(features)
    if kind == "Feature":
        return [doc]
    if kind in ("Polygon", "MultiPolygon"):
        return [{"type": "Feature", "geometry": doc, "properties": {}}]
    _fail(f"expected a FeatureCollection, Feature, Polygon or MultiPolygon, got {kind!r}", field="type")


def _pick(
    properties: dict[str, Any], named: str | None, keys: tuple[str, ...], index: int, code: str | None
) -> str | None:
    if named is not None:
        value = properties.get(named)
        if value is None or str(value).strip() == "":
            _fail(f"property {named!r} is missing or empty", index, code, named)
        return str(value).strip()
    for key in keys:
        value = properties.get(key)
        if value is not None and str(value).strip():
            return str(value).strip()
    return None


def _has_nul(value: Any) -> bool:
    if isinstance(value, str):
        return "\x00" in value
    if isinstance(value, dict):
        return any(_has_nul(k) or _has_nul(v) for k, v in value.items())
    if isinstance(value, list):
        return any(_has_nul(v) for v in value)
    return False


def _ring(raw: Any, index: int, code: str) -> np.ndarray:
    """A ring as an (n, 2) float array, closed, with Z dropped; raises on anything else."""
    if not isinstance(raw, list) or not all(
        isinstance(p, list)
        and len(p) >= 2
        and all(isinstance(c, int | float) and not isinstance(c, bool) for c in p[:2])
        for p in raw
    ):
        _fail(
            "coordinates are malformed: a ring must be a list of [x, y] number pairs", index, code, "geometry"
        )
    ring = np.array([p[:2] for p in raw], dtype=float).reshape(-1, 2)
    if not np.isfinite(ring).all():
        _fail("coordinates contain NaN or infinity", index, code, "geometry")
    if len(ring) and not np.array_equal(ring[0], ring[-1]):
        ring = np.vstack([ring, ring[:1]])
    if len(ring) < 4:
        _fail("a polygon ring needs at least three distinct positions", index, code, "geometry")
    return ring


def _polygons(geometry: Any, index: int, code: str) -> tuple[bool, list[list[np.ndarray]]]:
    """Whether it is a MultiPolygon, and its polygons of rings (shell first) in source coordinates."""
    if not isinstance(geometry, dict):
        _fail("feature has no geometry", index, code, "geometry")
    kind = geometry.get("type")
    coords = geometry.get("coordinates")
    if kind not in ("Polygon", "MultiPolygon"):
        _fail(f"geometry type {kind!r} is not a Polygon or MultiPolygon", index, code, "geometry")
    if not isinstance(coords, list) or not coords:
        _fail(f"the {kind} has no coordinates", index, code, "geometry")
    raw_polygons = [coords] if kind == "Polygon" else coords
    polygons: list[list[np.ndarray]] = []
    for raw_polygon in raw_polygons:
        if not isinstance(raw_polygon, list) or not raw_polygon:
            _fail("coordinates are malformed: a polygon must be a list of rings", index, code, "geometry")
        polygons.append([_ring(r, index, code) for r in raw_polygon])
    return kind == "MultiPolygon", polygons


def _in_bounds(polygons: list[list[np.ndarray]], bounds: tuple[float, float, float, float]) -> bool:
    xmin, ymin, xmax, ymax = bounds
    return all(
        bool(
            (ring[:, 0] >= xmin).all()
            and (ring[:, 0] <= xmax).all()
            and (ring[:, 1] >= ymin).all()
            and (ring[:, 1] <= ymax).all()
        )
        for rings in polygons
        for ring in rings
    )


LONLAT_BOUNDS = (-180.0, -90.0, 180.0, 90.0)


def _to_wgs84(polygons: list[list[np.ndarray]]) -> list[list[np.ndarray]]:
    out = []
    for rings in polygons:
        converted = []
        for ring in rings:
            lon, lat = _RD_TO_WGS84.transform(ring[:, 0], ring[:, 1])
            converted.append(np.column_stack([lon, lat]))
        out.append(converted)
    return out


def _repaired(shape: Polygon | MultiPolygon, index: int, code: str) -> Polygon | MultiPolygon:
    """``make_valid`` when it keeps the shape; otherwise the feature is rejected."""
    fixed = shapely.make_valid(shape)
    parts = [g for g in shapely.get_parts(fixed) if isinstance(g, Polygon | MultiPolygon) and not g.is_empty]
    polygonal = shapely.union_all(parts) if parts else None
    if isinstance(polygonal, Polygon | MultiPolygon) and not polygonal.is_empty and shape.area > 0:
        if abs(polygonal.area - shape.area) / shape.area < MAX_AREA_CHANGE and polygonal.is_valid:
            return polygonal
    reason = shapely.is_valid_reason(shape)
    what = "self-intersecting" if "self-intersection" in reason.lower() else f"invalid ({reason})"
    _fail(f"polygon is {what} and cannot be repaired safely", index, code, "geometry")


def _geojson(shape: Polygon | MultiPolygon) -> dict[str, Any]:
    result: dict[str, Any] = json.loads(shapely.to_geojson(shape))
    return result


def parse_beats(
    raw: bytes | str,
    *,
    code_property: str | None = None,
    name_property: str | None = None,
    source_crs: str | None = None,
) -> list[BeatFeature]:
    """Beats from a FeatureCollection, a single Feature, or a bare (Multi)Polygon.

    Feature indexes in errors count from 0, as in the file's ``features`` array. The CRS is ``source_crs``
    if given, else the file's ``crs`` member, else WGS84 — or RD New when every coordinate is outside the
    lon/lat range but inside the RD New area.
    """
    try:
        doc = msgspec.json.decode(raw)
    except (msgspec.DecodeError, RecursionError) as exc:
        raise BeatImportError(f"not valid JSON: {exc}") from None
    if source_crs is not None:
        crs: str | None = _crs_kind(source_crs)
    else:
        crs = _declared_crs(doc) if isinstance(doc, dict) else None
    raw_features = _raw_features(doc)

    parsed: list[tuple[int, str, str, dict[str, Any], bool, list[list[np.ndarray]]]] = []
    seen: dict[str, int] = {}
    for index, feature in enumerate(raw_features):
        if not isinstance(feature, dict) or feature.get("type") != "Feature":
            _fail("not a GeoJSON Feature", index, field="type")
        properties = feature.get("properties") or {}
        if not isinstance(properties, dict):
            _fail("'properties' must be an object", index, field="properties")
        code = _pick(properties, code_property, CODE_KEYS, index, None)
        if code is None and isinstance(feature.get("id"), str | int) and str(feature["id"]).strip():
            code = str(feature["id"]).strip()
        code = code or f"feature-{index}"
        name = _pick(properties, name_property, NAME_KEYS, index, code) or code
        # PostgreSQL text and jsonb cannot hold NUL: name the feature here rather than fail in the database
        for label, value in (("code", code), ("name", name)):
            if "\x00" in value:
                _fail(f"the {label} contains a NUL character", index, code, label)
        if _has_nul(properties):
            _fail("a property contains a NUL character", index, code, "properties")
        if code in seen:
            _fail(f"code {code!r} is also used by feature {seen[code]}", index, code, "code")
        seen[code] = index
        parsed.append((index, code, name, properties, *_polygons(feature.get("geometry"), index, code)))

    if crs is None:
        all_polygons = [rings for *_, polygons in parsed for rings in polygons]
        in_rd = not _in_bounds(all_polygons, LONLAT_BOUNDS) and _in_bounds(all_polygons, RD_BOUNDS)
        crs = "rd" if in_rd else "wgs84"

    beats: list[BeatFeature] = []
    for index, code, name, properties, multi, polygons in parsed:
        if crs == "rd":
            if not _in_bounds(polygons, RD_BOUNDS):
                _fail("coordinates are outside the RD New (EPSG:28992) area", index, code, "geometry")
            polygons = _to_wgs84(polygons)
        if not _in_bounds(polygons, LONLAT_BOUNDS):
            _fail("coordinates are out of range for WGS84 longitude/latitude", index, code, "geometry")
        shapes = [Polygon(rings[0], rings[1:]) for rings in polygons]
        shape: Polygon | MultiPolygon = MultiPolygon(shapes) if multi else shapes[0]
        repaired = not shape.is_valid
        if repaired:
            shape = _repaired(shape, index, code)
        if shape.is_empty or shape.area <= 0:
            _fail("polygon has no area", index, code, "geometry")
        beats.append(
            BeatFeature(
                code=code, name=name, geometry=_geojson(shape), properties=properties, repaired=repaired
            )
        )
    return beats
