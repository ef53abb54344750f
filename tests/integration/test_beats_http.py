"""Beat import over HTTP: GeoJSON in WGS84 or RD New in, GeoJSON out, all or nothing, team leads only."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest

from tests.conftest import new_database
from tests.integration.harness import Server, bearer, login, make_settings, running
from tests.integration.world import World, build_world


@pytest.fixture(scope="module")
async def app(
    pg_server: str, template_db: str, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[tuple[Server, World, dict[str, str]]]:
    """One server for the module; each test imports its own codes."""
    url = await new_database(pg_server, template_db)
    world = await build_world(url)
    async with running(make_settings(url, tmp_path_factory.mktemp("beats"))) as server:
        lead = await login(server.base, "lead_a")
        yield server, world, bearer(lead)


def square(x: float, y: float, size: float) -> list[list[list[float]]]:
    return [[[x, y], [x + size, y], [x + size, y + size], [x, y + size], [x, y]]]


def feature(code: str, name: str, rings: Any, kind: str = "Polygon") -> dict[str, Any]:
    return {
        "type": "Feature",
        "properties": {"code": code, "name": name},
        "geometry": {"type": kind, "coordinates": rings},
    }


def collection(*features: dict[str, Any], crs: str | None = None) -> bytes:
    doc: dict[str, Any] = {"type": "FeatureCollection", "features": list(features)}
    if crs is not None:
        doc["crs"] = {"type": "name", "properties": {"name": crs}}
    return json.dumps(doc).encode()


async def _import(server: Server, auth: dict[str, str], body: bytes) -> httpx.Response:
    async with httpx.AsyncClient(base_url=server.base, headers=auth) as http:
        return await http.post(
            "/api/beats/import", content=body, headers={"content-type": "application/geo+json"}
        )


async def _listing(server: Server, auth: dict[str, str]) -> dict[str, Any]:
    async with httpx.AsyncClient(base_url=server.base, headers=auth) as http:
        r = await http.get("/api/beats")
    assert r.status_code == 200
    return r.json()  # type: ignore[no-any-return]


def _by_code(listing: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {f["properties"]["code"]: f for f in listing["features"]}


async def test_wgs84_beats_are_imported_and_listed_as_geojson(
    app: tuple[Server, World, dict[str, str]],
) -> None:
    server, world, auth = app
    body = collection(
        feature("W-1", "Dam", square(4.890, 52.372, 0.002)),
        feature("W-2", "Nieuwmarkt", square(4.898, 52.371, 0.002)),
    )
    r = await _import(server, auth, body)
    assert r.status_code == 201, r.text
    result = r.json()
    assert result["imported"] == 2 and result["repaired"] == []

    beats = _by_code(await _listing(server, auth))
    assert {"W-1", "W-2"} <= beats.keys()
    dam = beats["W-1"]
    assert dam["type"] == "Feature" and dam["id"] == result["beat_ids"][0]
    assert dam["properties"] == {"id": dam["id"], "code": "W-1", "name": "Dam", "org_id": world.org_a}
    assert dam["geometry"]["type"] == "Polygon"
    assert sorted(map(tuple, dam["geometry"]["coordinates"][0])) == sorted(
        map(tuple, square(4.890, 52.372, 0.002)[0])
    )
    async with httpx.AsyncClient(base_url=server.base, headers=auth) as http:
        one = (await http.get(f"/api/beats/{dam['id']}")).json()
    assert one == dam


async def test_rd_new_beats_with_a_crs_member_are_stored_in_wgs84(
    app: tuple[Server, World, dict[str, str]],
) -> None:
    server, _, auth = app
    # 200 m around the Dam in RD New (EPSG:28992): x 121 km, y 487 km
    body = collection(
        feature("RD-1", "Dam (RD)", square(121_300.0, 487_300.0, 200.0)), crs="urn:ogc:def:crs:EPSG::28992"
    )
    r = await _import(server, auth, body)
    assert r.status_code == 201, r.text
    ring = _by_code(await _listing(server, auth))["RD-1"]["geometry"]["coordinates"][0]
    lons, lats = [p[0] for p in ring], [p[1] for p in ring]
    assert 4.88 < min(lons) < max(lons) < 4.91
    assert 52.36 < min(lats) < max(lats) < 52.38


VALID = feature("OK-1", "Goed", square(4.90, 52.36, 0.001))
BOWTIE = [
    [[4.90, 52.30], [4.91, 52.31], [4.91, 52.30], [4.90, 52.31], [4.90, 52.30]]
]  # crosses itself; area 0


@pytest.mark.parametrize(
    ("body", "where", "field"),
    [
        (b"this is not geojson", None, "body"),
        (b'{"type": "FeatureCollection", "features": []}', None, "features"),
        (collection(VALID, feature("BAD-1", "Vlinder", BOWTIE)), "feature 1 (code 'BAD-1')", "geometry"),
        (
            collection(VALID, feature("OK-1", "Tweemaal", square(4.92, 52.36, 0.001))),
            "feature 1 (code 'OK-1')",
            "code",
        ),
        (
            collection(VALID, feature("PT-1", "Punt", [4.9, 52.3], kind="Point")),
            "feature 1 (code 'PT-1')",
            "geometry",
        ),
        (
            collection(VALID, feature("NUL-1", "Nul\u0000naam", square(4.93, 52.36, 0.001))),
            "feature 1",
            "name",
        ),
        (
            collection(
                VALID,
                {
                    **feature("P-1", "Prop", square(4.93, 52.36, 0.001)),
                    "properties": {"code": "P-1", "note": {"x": ["a\u0000"]}},
                },
            ),
            "feature 1",
            "properties",
        ),
        (collection(VALID, feature("OUT-1", "Buiten", square(200.0, 52.36, 0.001))), "feature 1", "geometry"),
        (collection(VALID, crs="EPSG:3857"), None, "crs"),
    ],
    ids=[
        "garbage",
        "no-features",
        "unrepairable-polygon",
        "duplicate-code",
        "point",
        "nul-in-name",
        "nul-in-property",
        "out-of-range",
        "unknown-crs",
    ],
)
async def test_invalid_import_gets_400_naming_feature_and_field_and_imports_nothing(
    app: tuple[Server, World, dict[str, str]], body: bytes, where: str | None, field: str
) -> None:
    server, _, auth = app
    before = await _listing(server, auth)
    r = await _import(server, auth, body)
    assert r.status_code == 400, r.text
    error = r.json()
    assert error["code"] == "bad_input" and error["field"] == field, error
    if where is not None:
        assert error["detail"].startswith(where), error
    # the valid first feature was not imported either
    assert await _listing(server, auth) == before


async def test_boa_may_not_import_beats(app: tuple[Server, World, dict[str, str]]) -> None:
    server, _, auth = app
    boa = await login(server.base, "boa_a")
    before = await _listing(server, auth)
    r = await _import(
        server, bearer(boa), collection(feature("BOA-1", "Eigen wijk", square(4.9, 52.35, 0.001)))
    )
    assert r.status_code == 403
    assert r.json()["code"] == "forbidden"
    assert await _listing(server, auth) == before
