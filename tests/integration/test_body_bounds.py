"""Bodies nested absurdly deep and times at the ends of the calendar are bad input (400 naming the field),
never a server error: the cases a schema-driven fuzz run found."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest

from backend.live.osmand import MAX_BODY_BYTES
from backend.request_input import MAX_JSON_DEPTH, json_too_deep
from tests.conftest import new_database
from tests.integration.harness import Server, bearer, login, make_settings, running
from tests.integration.registrations_kit import aggression, waarneming
from tests.integration.world import World, build_world

DEEP = b"[" * 50_000 + b"]" * 50_000
DEEP_OBJECT = b'{"a":' * 50_000 + b"1" + b"}" * 50_000
EXTREMES = ["0001-01-01T00:00:00+14:00", "9999-12-31T23:59:59-14:00"]


@pytest.fixture(scope="module")
async def app(
    pg_server: str, template_db: str, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[tuple[Server, World, dict[str, str], dict[str, str]]]:
    url = await new_database(pg_server, template_db)
    world = await build_world(url)
    async with running(make_settings(url, tmp_path_factory.mktemp("bounds"))) as server:
        lead = await login(server.base, "lead_a")
        boa = await login(server.base, "boa_a", device_id=world.tablet_a)
        yield server, world, bearer(lead), bearer(boa)


def _json_routes(world: World) -> list[str]:
    return [
        "/api/registrations",
        "/api/shifts",
        "/api/units",
        "/api/tasks/1/cancel",
        f"/api/units/{world.unit_a}/messages",
        "/api/auth/login",
        "/api/incidents",
        "/api/beats/import",
        "/api/catalogues",
        "/api/apv-zones/import",
        "/api/trackers/osmand",
    ]


@pytest.mark.parametrize("body", [DEEP, DEEP_OBJECT, b"[" * 50_000], ids=["arrays", "objects", "unclosed"])
async def test_deeply_nested_json_is_bad_input_on_every_json_route(
    app: tuple[Server, World, dict[str, str], dict[str, str]], body: bytes
) -> None:
    server, world, lead, _ = app
    admin = bearer(await login(server.base, "admin_a"))
    async with httpx.AsyncClient(base_url=server.base, timeout=30) as http:
        for path in _json_routes(world):
            headers = {**(admin if "catalogues" in path else lead), "Content-Type": "application/json"}
            r = await http.post(path, content=body, headers=headers)
            # the public tracker route takes 64 KB: these bodies are too large for it before they are too deep
            expected = 413 if "osmand" in path and len(body) > MAX_BODY_BYTES else 400
            assert r.status_code == expected, (path, r.status_code, r.text[:300])
            if expected == 400:
                assert r.json()["field"] == "body", (path, r.text[:300])


def test_depth_scan_counts_brackets_outside_strings_only() -> None:
    assert not json_too_deep(b'{"a": "' + b"[" * 1000 + b'"}')
    assert not json_too_deep(b"[" * MAX_JSON_DEPTH + b"]" * MAX_JSON_DEPTH)
    assert json_too_deep(b"[" * (2 * MAX_JSON_DEPTH + 1) + b"]" * (2 * MAX_JSON_DEPTH + 1))
    wide = b"[" + b"[[1.0,2.0],[3.0,4.0]]," * 100_000 + b"[]]"  # a big polygon: wide, not deep
    assert not json_too_deep(wide)


@pytest.mark.parametrize("at", EXTREMES)
@pytest.mark.parametrize(
    ("make", "field"),
    [
        (lambda at: waarneming(occurred_at=at), "occurred_at"),
        (lambda at: aggression(reported_at=at), "reported_at"),
    ],
    ids=["occurred_at", "reported_at"],
)
async def test_times_at_the_ends_of_the_calendar_are_bad_input(
    app: tuple[Server, World, dict[str, str], dict[str, str]], at: str, make: Any, field: str
) -> None:
    server, _, _, boa = app
    async with httpx.AsyncClient(base_url=server.base, timeout=30) as http:
        r = await http.post("/api/registrations", json=make(at), headers=boa)
    assert r.status_code == 400, r.text
    assert r.json()["field"] == field, r.text


@pytest.mark.parametrize("at", EXTREMES)
@pytest.mark.parametrize(
    "path",
    ["/api/registrations", "/api/audit", "/api/reports/registrations.csv", "/api/reports/gir.csv"],
)
@pytest.mark.parametrize("name", ["since", "until"])
async def test_query_times_at_the_ends_of_the_calendar_are_bad_input(
    app: tuple[Server, World, dict[str, str], dict[str, str]], at: str, path: str, name: str
) -> None:
    server, _, lead, _ = app
    if path == "/api/audit":  # the audit log is the privacy officer's and the admin's
        lead = bearer(await login(server.base, "admin_a"))
    async with httpx.AsyncClient(base_url=server.base, timeout=30) as http:
        r = await http.get(path, params={name: at}, headers=lead)
    assert r.status_code in (200, 400), (r.status_code, r.text)
    if r.status_code == 400:
        assert r.json()["field"] == name, r.text
