"""Standard trackers over real HTTP: the OsmAnd protocol as Traccar Client speaks it, stored in positions."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import pytest

from shared.protocol import Delta, Snapshot
from tests.conftest import new_database
from tests.integration.harness import Server, login, make_settings, running, socket_to
from tests.integration.world import NIEUWE_ZIJDE, World, build_world

TRACKER = "123456"  # the tracker_key of the world's tracker, linked to unit A
_DAY_AHEAD = int(datetime.now(UTC).timestamp()) + 86_400


@pytest.fixture(scope="module")
async def app(
    pg_server: str, template_db: str, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[tuple[Server, World, str]]:
    """One server for the module; every test uses its own fix times, so rows never collide."""
    url = await new_database(pg_server, template_db)
    world = await build_world(url)
    async with running(make_settings(url, tmp_path_factory.mktemp("osmand"))) as server:
        yield server, world, url


async def _rows(url: str, sql: str, *args: object) -> list[asyncpg.Record]:
    conn = await asyncpg.connect(url)
    try:
        rows: list[asyncpg.Record] = await conn.fetch(sql, *args)
        return rows
    finally:
        await conn.close()


async def _stored_at(url: str, device_id: int, at: datetime) -> list[asyncpg.Record]:
    return await _rows(
        url,
        "SELECT unit_id, lon, lat, at, speed_mps, heading_deg FROM positions "
        "WHERE device_id = $1 AND at = $2",
        device_id,
        at,
    )


def _recent(seconds_ago: int, millis: int = 0) -> datetime:
    """A fix time a little in the past (so it is live, not late), whole seconds plus `millis`."""
    base = datetime.now(UTC).replace(microsecond=0) - timedelta(seconds=seconds_ago)
    return base + timedelta(milliseconds=millis)


def _query_get(at: datetime) -> dict[str, Any]:
    """Traccar Client 8: everything in the query string, epoch seconds, speed in knots."""
    params = {
        "id": TRACKER,
        "lat": "52.3745",
        "lon": "4.8970",
        "timestamp": str(int(at.timestamp())),
        "speed": "10",
        "bearing": "90",
        "accuracy": "8",
    }
    return {"method": "GET", "url": "/osmand", "params": params}


def _form_post(at: datetime) -> dict[str, Any]:
    """A form body, epoch milliseconds, speed in knots."""
    body = {
        "id": TRACKER,
        "lat": "52.3765",
        "lon": "4.8925",
        "timestamp": str(round(at.timestamp() * 1000)),
        "speed": "10",
    }
    return {"method": "POST", "url": "/osmand", "data": body}


def _json_post(at: datetime) -> dict[str, Any]:
    """Traccar Client 9 JSON: ISO timestamp, speed in m/s."""
    body = {
        "device_id": TRACKER,
        "location": {
            "timestamp": at.isoformat().replace("+00:00", "Z"),
            "coords": {
                "latitude": 52.3745,
                "longitude": 4.8970,
                "accuracy": 4.7,
                "speed": 1.38,
                "heading": 271.5,
            },
            "battery": {"level": 0.62, "is_charging": False},
            "is_moving": True,
        },
    }
    return {"method": "POST", "url": "/api/trackers/osmand", "json": body}


@pytest.mark.parametrize(
    ("build", "at", "lonlat", "speed_mps"),
    [
        (_query_get, _recent(300), (4.8970, 52.3745), 5.144),
        (_form_post, _recent(290, millis=250), (4.8925, 52.3765), 5.144),
        (_json_post, _recent(280, millis=123), (4.8970, 52.3745), 1.38),
    ],
    ids=["query-get-epoch-seconds", "form-post-epoch-millis", "json-post-iso"],
)
async def test_tracker_position_is_stored_in_si_units(
    app: tuple[Server, World, str], build: Any, at: datetime, lonlat: tuple[float, float], speed_mps: float
) -> None:
    server, world, url = app
    async with httpx.AsyncClient(base_url=server.base) as http:
        r = await http.request(**build(at))
    assert r.status_code == 200, r.text
    # the answer comes once the position is durable: it is in the table now
    rows = await _stored_at(url, world.tracker_a, at)
    assert len(rows) == 1
    row = rows[0]
    assert row["unit_id"] == world.unit_a
    assert (row["lon"], row["lat"]) == lonlat
    assert row["at"] == at
    assert row["speed_mps"] == pytest.approx(speed_mps, abs=1e-3)


@pytest.mark.parametrize(
    ("request_", "field"),
    [
        ({"params": {"id": "999999", "lat": "52.37", "lon": "4.89", "timestamp": "1700000000"}}, "id"),
        ({"params": {"id": "12345\u0000", "lat": "52.37", "lon": "4.89", "timestamp": "1700000000"}}, "id"),
        ({"params": {"lat": "52.37", "lon": "4.89", "timestamp": "1700000000"}}, "id"),
        ({"params": {"id": TRACKER, "lat": "abc", "lon": "4.89", "timestamp": "1700000000"}}, "lat"),
        ({"params": {"id": TRACKER, "lat": "95", "lon": "4.89", "timestamp": "1700000000"}}, "lat"),
        ({"params": {"id": TRACKER, "lon": "4.89", "timestamp": "1700000000"}}, "lat"),
        ({"params": {"id": TRACKER, "lat": "52.37", "lon": "4.89", "timestamp": "yesterday"}}, "timestamp"),
        (
            {"json": {"device_id": TRACKER, "location": {"coords": {"latitude": 91, "longitude": 4.9}}}},
            "location.coords.latitude",
        ),
        ({"content": b"{not json", "headers": {"content-type": "application/json"}}, "body"),
        # what the database could not hold, or a time far from the server's clock
        ({"params": {"id": TRACKER, "lat": "52.37", "lon": "4.89", "speed": "1e300"}}, "speed"),
        ({"params": {"id": TRACKER, "lat": "52.37", "lon": "4.89", "accuracy": "1e39"}}, "accuracy"),
        (
            {
                "json": {
                    "device_id": TRACKER,
                    "location": {"coords": {"latitude": 52.37, "longitude": 4.89, "accuracy": 1e39}},
                }
            },
            "location.coords.accuracy",
        ),
        (
            {"params": {"id": TRACKER, "lat": "52.37", "lon": "4.89", "timestamp": str(_DAY_AHEAD)}},
            "timestamp",
        ),
        ({"params": {"id": TRACKER, "lat": "52.37", "lon": "4.89", "timestamp": "1700000000"}}, "timestamp"),
        (
            {
                "json": {
                    "device_id": TRACKER,
                    "location": {
                        "timestamp": "9999-12-31T23:59:59-14:00",
                        "coords": {"latitude": 52.37, "longitude": 4.89},
                    },
                }
            },
            "location.timestamp",
        ),
        (
            {
                "json": {
                    "device_id": TRACKER,
                    "location": {
                        "timestamp": "0001-01-01T00:00:00+14:00",
                        "coords": {"latitude": 52.37, "longitude": 4.89},
                    },
                }
            },
            "location.timestamp",
        ),
    ],
    ids=[
        "unknown-id",
        "nul-in-id",
        "no-id",
        "lat-not-a-number",
        "lat-out-of-range",
        "lat-missing",
        "bad-timestamp",
        "json-lat-out-of-range",
        "json-garbage",
        "speed-beyond-float32",
        "accuracy-beyond-float32",
        "json-accuracy-beyond-float32",
        "a-day-ahead",
        "months-old",
        "json-year-9999",
        "json-year-1",
    ],
)
async def test_bad_tracker_request_gets_400_naming_the_field_and_stores_nothing(
    app: tuple[Server, World, str], request_: dict[str, Any], field: str
) -> None:
    server, _, url = app
    before = await _rows(url, "SELECT count(*) AS n FROM positions")
    async with httpx.AsyncClient(base_url=server.base) as http:
        r = await http.post("/osmand", **request_)
    assert r.status_code == 400, r.text
    assert r.json()["field"] == field, r.json()
    after = await _rows(url, "SELECT count(*) AS n FROM positions")
    assert after[0]["n"] == before[0]["n"]


async def test_the_same_fix_sent_twice_is_stored_once(app: tuple[Server, World, str]) -> None:
    server, world, url = app
    at = _recent(200)
    async with httpx.AsyncClient(base_url=server.base) as http:
        for _ in range(2):
            r = await http.request(**_query_get(at))
            assert r.status_code == 200, r.text
    assert len(await _stored_at(url, world.tracker_a, at)) == 1


async def test_tracker_position_reaches_the_operator(app: tuple[Server, World, str]) -> None:
    server, world, _ = app
    operator = await login(server.base, "operator_mk")
    at = datetime.now(UTC).replace(microsecond=0)
    async with socket_to(server.ws + "/ws/operator", operator["access_token"]) as op:
        assert isinstance(await op.recv(), Snapshot)
        async with httpx.AsyncClient(base_url=server.base) as http:
            r = await http.get(
                "/osmand",
                params={
                    "id": TRACKER,
                    "lat": str(NIEUWE_ZIJDE[1]),
                    "lon": str(NIEUWE_ZIJDE[0]),
                    "timestamp": str(int(at.timestamp())),
                },
            )
        assert r.status_code == 200, r.text
        delta = await op.recv_until(
            lambda f: isinstance(f, Delta) and any(u.unit_id == world.unit_a and u.at == at for u in f.units)
        )
    unit = next(u for u in delta.units if u.unit_id == world.unit_a)
    assert (unit.lon, unit.lat) == NIEUWE_ZIJDE
    assert unit.beat_ids == (world.beats_a["Burgwallen-Nieuwe Zijde"],)


async def test_a_buffered_old_fix_raises_no_alert(database_url: str, tmp_path: Path) -> None:
    """Traccar Client sends what it buffered offline later; an old fix is history, not a unit gone stale."""
    world = await build_world(database_url)
    async with running(make_settings(database_url, tmp_path)) as server:
        at = _recent(1800)
        async with httpx.AsyncClient(base_url=server.base) as http:
            r = await http.request(**_query_get(at))
        assert r.status_code == 200, r.text
        await server.services.hub.tick(datetime.now(UTC))  # a tick after the fix, not left to timing
        rows = await _rows(database_url, "SELECT late FROM positions WHERE device_id = $1", world.tracker_a)
        assert [r["late"] for r in rows] == [True]
        assert await _rows(database_url, "SELECT kind FROM alerts") == []
