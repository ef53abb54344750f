from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import shapely
from shapely.geometry import shape

from backend.geofencing.importer import BeatImportError, parse_beats

DEMO = Path(__file__).parents[2] / "backend/demo/data/amsterdam_cbs_buurten_2014_wgs84.geojson"

SQUARE = [[[4.89, 52.37], [4.90, 52.37], [4.90, 52.38], [4.89, 52.38], [4.89, 52.37]]]
# RD New square of 200 m around the Dam (x = 121400, y = 487400).
RD_SQUARE = [[[121300, 487300], [121500, 487300], [121500, 487500], [121300, 487500], [121300, 487300]]]
BOW_TIE = [[[4.89, 52.37], [4.90, 52.38], [4.90, 52.37], [4.89, 52.38], [4.89, 52.37]]]
# A square whose last edge crosses the first near a corner: a tiny loop, repairable without changing the area.
CORNER_TWIST = [[[0, 0], [10, 0], [10, 10], [0, 10], [0.1, -0.1], [0, 0]]]
# A square with a zero-width spike: make_valid gives a polygon plus a line.
SPIKE = [[[0, 0], [10, 0], [10, 10], [5, 10], [5, 15], [5, 10], [0, 10], [0, 0]]]


def polygon(coordinates: Any = SQUARE) -> dict[str, Any]:
    return {"type": "Polygon", "coordinates": coordinates}


def feature(properties: dict[str, Any] | None = None, geometry: Any = None, **extra: Any) -> dict[str, Any]:
    return {"type": "Feature", "properties": properties or {}, "geometry": geometry or polygon(), **extra}


def collection(*features: dict[str, Any], **extra: Any) -> bytes:
    return json.dumps({"type": "FeatureCollection", "features": list(features), **extra}).encode()


def rd_crs() -> dict[str, Any]:
    return {"type": "name", "properties": {"name": "urn:ogc:def:crs:EPSG::28992"}}


def test_all_97_demo_buurten_import_with_their_codes_and_names() -> None:
    beats = parse_beats(DEMO.read_bytes())
    assert len(beats) == 97
    assert len({b.code for b in beats}) == 97
    assert all(b.code.startswith("BU0363") and b.name for b in beats)
    assert not any(b.repaired for b in beats)
    first = beats[0]
    assert (first.code, first.name) == ("BU03630445", "Schinkelbuurt")
    assert first.properties["personenautos_per_huishouden"] == 0.4
    assert first.geometry["type"] == "MultiPolygon"
    minx, miny, maxx, maxy = shapely.total_bounds([shape(b.geometry) for b in beats])
    assert 4.7 < minx < maxx < 5.1 and 52.2 < miny < maxy < 52.5


def test_single_feature_and_bare_polygon_are_accepted() -> None:
    [one] = parse_beats(json.dumps(feature({"code": "A1", "naam": "Centrum"})).encode())
    assert (one.code, one.name) == ("A1", "Centrum")
    [bare] = parse_beats(json.dumps(polygon()))
    assert (bare.code, bare.name, bare.properties) == ("feature-0", "feature-0", {})
    assert shape(bare.geometry).equals(shape(polygon()))


@pytest.mark.parametrize(
    ("properties", "code", "name"),
    [
        ({"buurtcode": "BU1", "buurtnaam": "Buurt"}, "BU1", "Buurt"),
        ({"wijknummer": 12, "wijknaam": "Reeshof  "}, "12", "Reeshof"),
        ({"id": 7, "code": "H-07", "name": "Oost"}, "H-07", "Oost"),
        ({"naam": "Zonder code"}, "feature-0", "Zonder code"),
    ],
)
def test_code_and_name_come_from_common_properties(properties: dict[str, Any], code: str, name: str) -> None:
    [beat] = parse_beats(collection(feature(properties)))
    assert (beat.code, beat.name) == (code, name)


def test_named_properties_win_over_common_ones() -> None:
    raw = collection(feature({"code": "x", "gebied": "G1", "omschrijving": "Haven"}))
    [beat] = parse_beats(raw, code_property="gebied", name_property="omschrijving")
    assert (beat.code, beat.name) == ("G1", "Haven")


def test_missing_named_property_is_an_error_naming_feature_and_field() -> None:
    raw = collection(feature({"gebied": "G1"}), feature({"code": "G2"}))
    with pytest.raises(BeatImportError) as caught:
        parse_beats(raw, code_property="gebied")
    assert (caught.value.feature_index, caught.value.field) == (1, "gebied")
    assert "feature 1" in str(caught.value) and "'gebied'" in str(caught.value)


def _assert_near_dam(geometry: dict[str, Any]) -> None:
    centre = shape(geometry).centroid
    assert centre.x == pytest.approx(4.893, abs=0.002)
    assert centre.y == pytest.approx(52.373, abs=0.002)


def test_rd_new_declared_in_crs_member_is_converted_to_lon_lat() -> None:
    [beat] = parse_beats(collection(feature({"code": "dam"}, polygon(RD_SQUARE)), crs=rd_crs()))
    _assert_near_dam(beat.geometry)
    minx, miny, maxx, maxy = shape(beat.geometry).bounds
    assert (maxx - minx) == pytest.approx(200 / 67_900, rel=0.05)  # 200 m in degrees of lon at 52.37° N
    assert (maxy - miny) == pytest.approx(200 / 111_250, rel=0.05)


def test_rd_new_given_as_source_crs_is_converted() -> None:
    [beat] = parse_beats(collection(feature({}, polygon(RD_SQUARE))), source_crs="EPSG:28992")
    _assert_near_dam(beat.geometry)


def test_rd_new_coordinates_without_crs_are_recognised() -> None:
    [beat] = parse_beats(collection(feature({}, polygon(RD_SQUARE))))
    _assert_near_dam(beat.geometry)


@pytest.mark.parametrize("name", ["EPSG:4326", "urn:ogc:def:crs:OGC:1.3:CRS84", "urn:ogc:def:crs:EPSG::4289"])
def test_declared_wgs84_crs_is_taken_as_is(name: str) -> None:
    raw = collection(feature(), crs={"type": "name", "properties": {"name": name}})
    [beat] = parse_beats(raw)
    assert shape(beat.geometry).equals(shape(polygon()))


def test_other_declared_crs_is_rejected() -> None:
    raw = collection(feature(), crs={"type": "name", "properties": {"name": "EPSG:3857"}})
    with pytest.raises(BeatImportError, match="EPSG:3857") as caught:
        parse_beats(raw)
    assert caught.value.field == "crs"


def test_lon_lat_coordinates_declared_as_rd_new_are_rejected() -> None:
    with pytest.raises(BeatImportError, match="feature 0 .*RD New"):
        parse_beats(collection(feature({"code": "A"}), crs=rd_crs()))


def test_bow_tie_is_rejected_with_a_message_naming_the_feature() -> None:
    raw = collection(feature({"code": "A00a"}), feature({"code": "A00b"}, polygon(BOW_TIE)))
    with pytest.raises(BeatImportError) as caught:
        parse_beats(raw)
    error = caught.value
    assert str(error) == "feature 1 (code 'A00b'): polygon is self-intersecting and cannot be repaired safely"
    assert (error.feature_index, error.feature_code, error.field) == (1, "A00b", "geometry")


def test_small_self_intersection_is_repaired_keeping_the_area() -> None:
    [beat] = parse_beats(collection(feature({"code": "T"}, polygon(CORNER_TWIST))))
    repaired = shape(beat.geometry)
    assert beat.repaired
    assert repaired.is_valid
    assert repaired.area == pytest.approx(shapely.Polygon(CORNER_TWIST[0]).area, rel=0.01)


def test_repair_keeps_only_the_polygonal_parts() -> None:
    [beat] = parse_beats(collection(feature({"code": "S"}, polygon(SPIKE))))
    assert beat.repaired
    assert beat.geometry["type"] == "Polygon"
    assert shape(beat.geometry).area == pytest.approx(100)


def test_valid_polygon_is_not_marked_repaired_and_z_is_dropped() -> None:
    with_z = [[[x, y, 3.0] for x, y in SQUARE[0]]]
    [beat] = parse_beats(collection(feature({"code": "Z"}, polygon(with_z))))
    assert not beat.repaired
    assert beat.geometry == {"type": "Polygon", "coordinates": SQUARE}


def test_duplicate_codes_are_rejected() -> None:
    raw = collection(feature({"code": "A"}), feature({"code": "B"}), feature({"code": "A"}))
    with pytest.raises(BeatImportError, match=r"feature 2 \(code 'A'\): code 'A' is also used by feature 0"):
        parse_beats(raw)


BAD_INPUTS: dict[str, bytes] = {
    "empty": b"",
    "garbage bytes": b"\xff\xfe\x00\x01garbage",
    "truncated": b'{"type": "FeatureCollection", "features": [',
    "deeply nested": b"[" * 100_000,
    "not an object": b"[1, 2, 3]",
    "null": b"null",
    "no type": b'{"features": []}',
    "point": json.dumps({"type": "Point", "coordinates": [4.9, 52.37]}).encode(),
    "empty collection": collection(),
    "features not a list": b'{"type": "FeatureCollection", "features": {}}',
    "feature not an object": collection("nope"),  # type: ignore[arg-type]
    "missing geometry": collection({"type": "Feature", "properties": {}, "geometry": None}),
    "line geometry": collection(feature({}, {"type": "LineString", "coordinates": [[4.9, 52.3], [5, 52]]})),
    "no coordinates": collection(feature({}, {"type": "Polygon", "coordinates": []})),
    "string coordinates": collection(feature({}, polygon([[["a", "b"], ["c", "d"], ["e", "f"]]]))),
    "boolean coordinates": collection(feature({}, polygon([[[True, False]] * 4]))),
    "too few points": collection(feature({}, polygon([[[4.9, 52.3], [4.91, 52.3], [4.9, 52.3]]]))),
    "out of range": collection(feature({}, polygon([[[0, 0], [500, 0], [500, 95], [0, 0]]]))),
    "properties not an object": collection(feature(geometry=polygon()) | {"properties": [1]}),
    "crs without name": collection(feature(), crs={"type": "name"}),
    "zero area": collection(feature({}, polygon([[[4.9, 52.3], [4.91, 52.3], [4.92, 52.3], [4.9, 52.3]]]))),
}


@pytest.mark.parametrize("raw", BAD_INPUTS.values(), ids=BAD_INPUTS.keys())
def test_bad_input_gives_a_beat_import_error(raw: bytes) -> None:
    with pytest.raises(BeatImportError) as caught:
        parse_beats(raw)
    assert str(caught.value)
