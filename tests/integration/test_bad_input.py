"""Bad input over HTTP never gives a 500: every case gets a 4xx whose JSON body names the field at fault."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.conftest import new_database
from tests.integration.harness import Server, bearer, login, make_settings, running
from tests.integration.world import World, build_world

INT32_MAX = 2**31 - 1
LONG = "x" * 10_000


@pytest.fixture(scope="module")
async def app(
    pg_server: str, template_db: str, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[tuple[Server, World, dict[str, str]]]:
    """One server for the module: no table case may change anything, as test_nothing_was_stored checks."""
    url = await new_database(pg_server, template_db)
    world = await build_world(url)
    async with running(make_settings(url, tmp_path_factory.mktemp("bad-input"))) as server:
        lead = await login(server.base, "lead_a")
        yield server, world, bearer(lead)


# (path, body, field named in the error). A body that is bytes is sent as is with a JSON content type.
CASES: list[tuple[str, Any, str]] = [
    # login
    ("/api/auth/login", b"{not json", "body"),
    ("/api/auth/login", b'{"username": "boa_a", "password": ', "body"),
    ("/api/auth/login", b"\xff\xfe\x00", "body"),
    ("/api/auth/login", [], "body"),
    ("/api/auth/login", {"password": "x"}, "username"),
    ("/api/auth/login", {"username": "boa_a"}, "password"),
    ("/api/auth/login", {"username": 12, "password": "x"}, "username"),
    ("/api/auth/login", {"username": "boa_a", "password": None}, "password"),
    ("/api/auth/login", {"username": "", "password": "x"}, "username"),
    ("/api/auth/login", {"username": LONG, "password": "x"}, "username"),
    ("/api/auth/login", {"username": "boa_a", "password": LONG}, "password"),
    ("/api/auth/login", {"username": "boa\u0000a", "password": "x"}, "username"),
    ("/api/auth/login", {"username": "boa_a", "password": "x", "device_id": "one"}, "device_id"),
    ("/api/auth/login", {"username": "boa_a", "password": "x", "device_id": 2**40}, "device_id"),
    # units
    ("/api/units", b"", "body"),
    ("/api/units", b"[1, 2", "body"),
    ("/api/units", "A-99", "body"),
    ("/api/units", {}, "call_sign"),
    ("/api/units", {"call_sign": None}, "call_sign"),
    ("/api/units", {"call_sign": 7}, "call_sign"),
    ("/api/units", {"call_sign": ""}, "call_sign"),
    ("/api/units", {"call_sign": LONG}, "call_sign"),
    ("/api/units", {"call_sign": "A-99<script>"}, "call_sign"),
    ("/api/units", {"call_sign": "A-99", "kind": "trio"}, "kind"),
    ("/api/units", {"call_sign": "A-99", "assigned_beat_ids": "1"}, "assigned_beat_ids"),
    ("/api/units", {"call_sign": "A-99", "assigned_beat_ids": ["a"]}, "assigned_beat_ids"),
    ("/api/units", {"call_sign": "A-99", "assigned_beat_ids": list(range(1, 100))}, "assigned_beat_ids"),
    ("/api/units", {"call_sign": "A-99", "assigned_beat_ids": [2**40]}, "assigned_beat_ids"),
    ("/api/units", {"call_sign": "A-99", "assigned_beat_ids": [-1, 2**63]}, "assigned_beat_ids"),
    ("/api/units", {"call_sign": "A-99", "assigned_beat_ids": [INT32_MAX]}, "beat_ids"),  # no such beat
    ("/api/units", {"call_sign": "A-99", "org_id": 1.5}, "org_id"),
    ("/api/units", {"call_sign": "A-01"}, "call_sign"),  # taken: 409
    # shifts
    ("/api/shifts", b"{'unit_id': 1}", "body"),
    ("/api/shifts", {}, "unit_id"),
    ("/api/shifts", {"unit_id": "A-01"}, "unit_id"),
    ("/api/shifts", {"unit_id": 2**40}, "unit_id"),
    ("/api/shifts", {"unit_id": INT32_MAX}, "unit_id"),  # no such unit: 404
    ("/api/shifts", {"unit_id": 1, "device_id": 2**40}, "device_id"),
    ("/api/shifts", {"unit_id": 1, "account_ids": {"a": 1}}, "account_ids"),
    ("/api/shifts", {"unit_id": 1, "beat_ids": [True]}, "beat_ids"),
    ("/api/shifts", {"unit_id": 1, "beat_ids": [INT32_MAX]}, "beat_ids"),
    # devices
    ("/api/devices", b"null", "body"),
    ("/api/devices", {}, "name"),
    ("/api/devices", {"name": ""}, "name"),
    ("/api/devices", {"name": LONG}, "name"),
    ("/api/devices", {"name": "tab\u0000let"}, "name"),
    ("/api/devices", {"name": "t", "kind": "phone"}, "kind"),
    ("/api/devices", {"name": "t", "kind": "tracker", "tracker_key": LONG}, "tracker_key"),
    ("/api/devices", {"name": "t", "kind": "tracker", "tracker_key": "k\u0000"}, "tracker_key"),
    ("/api/devices", {"name": "t", "kind": "tracker", "tracker_key": "123456"}, "tracker_key"),  # issued
    ("/api/devices", {"name": "t", "unit_id": 2**40}, "unit_id"),
    ("/api/devices", {"name": "t", "unit_id": 2**70}, "unit_id"),
    ("/api/devices", {"name": "t", "unit_id": INT32_MAX}, "unit_id"),  # no such unit: 404
]


def _id(case: tuple[str, Any, str]) -> str:
    path, body, field = case
    text = body.decode("latin-1") if isinstance(body, bytes) else json.dumps(body)
    return f"{path.rsplit('/', 1)[-1]}:{field}:{text[:30]}"


@pytest.mark.parametrize(("path", "body", "field"), CASES, ids=[_id(c) for c in CASES])
async def test_bad_body_gets_a_4xx_naming_the_field(
    app: tuple[Server, World, dict[str, str]], path: str, body: Any, field: str
) -> None:
    server, _, auth = app
    content = body if isinstance(body, bytes) else json.dumps(body).encode()
    headers = {"content-type": "application/json"}
    if path != "/api/auth/login":
        headers.update(auth)
    async with httpx.AsyncClient(base_url=server.base) as http:
        r = await http.post(path, content=content, headers=headers)
    assert 400 <= r.status_code < 500, r.text
    error = r.json()
    assert error["status_code"] == r.status_code
    assert (error["field"] or "").split("[")[0] == field, error
    assert error["detail"]


@pytest.mark.parametrize(
    "path",
    [
        "/api/beats/99999999999",
        "/api/beats/-1",
        "/api/devices/99999999999/revoke",
        "/api/shifts/99999999999/end",
    ],
)
async def test_out_of_range_ids_in_the_path_get_a_4xx(
    app: tuple[Server, World, dict[str, str]], path: str
) -> None:
    server, _, auth = app
    async with httpx.AsyncClient(base_url=server.base) as http:
        r = await http.request("GET" if path.startswith("/api/beats") else "POST", path, headers=auth)
    assert 400 <= r.status_code < 500, r.text
    assert r.json()["detail"]


@pytest.mark.parametrize("bad", [0, 2**63])
@pytest.mark.parametrize(
    ("method", "path", "name"),
    [
        ("GET", "/api/beats/{}", "beat_id"),
        ("POST", "/api/shifts/{}/end", "shift_id"),
        ("POST", "/api/devices/{}/revoke", "device_id"),
        ("GET", "/api/registrations?beat_id={}", "beat_id"),
        ("GET", "/api/registrations?boa_id={}", "boa_id"),
        ("GET", "/api/reports/registrations.csv?beat_id={}", "beat_id"),
        ("POST", "/api/beats/import?org_id={}", "org_id"),
    ],
)
async def test_ids_outside_their_range_get_a_400_naming_the_parameter(
    app: tuple[Server, World, dict[str, str]], method: str, path: str, name: str, bad: int
) -> None:
    server, _, auth = app
    async with httpx.AsyncClient(base_url=server.base) as http:
        r = await http.request(method, path.format(bad), headers=auth)
    assert r.status_code == 400, r.text
    assert r.json()["field"] == name, r.text


async def test_nothing_was_stored(app: tuple[Server, World, dict[str, str]]) -> None:
    """Runs after the table cases: the world still has exactly its own units and devices."""
    server, _, auth = app
    async with httpx.AsyncClient(base_url=server.base, headers=auth) as http:
        units = (await http.get("/api/units")).json()
        devices = (await http.get("/api/devices")).json()
    assert [u["call_sign"] for u in units] == ["A-01"]
    assert sorted(d["name"] for d in devices) == ["tablet-a", "tracker-a"]


JSON_LEAF = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**70), max_value=2**70)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=40)
)
JSON_VALUE = st.recursive(
    JSON_LEAF,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4),
    max_leaves=12,
)
UNIT_FIELDS = st.sampled_from(["call_sign", "kind", "assigned_beat_ids", "org_id", "extra"])
UNIT_BODIES = JSON_VALUE | st.dictionaries(UNIT_FIELDS, JSON_VALUE, max_size=5)


async def test_random_json_bodies_on_units_never_get_a_500(app: tuple[Server, World, dict[str, str]]) -> None:
    server, _, auth = app
    statuses: list[int] = []

    # hypothesis drives a synchronous client from a worker thread while the server runs on this event loop
    @settings(max_examples=30, deadline=None, database=None, suppress_health_check=list(HealthCheck))
    @given(body=UNIT_BODIES)
    def post_random(body: Any) -> None:
        with httpx.Client(base_url=server.base) as http:
            r = http.post(
                "/api/units",
                content=json.dumps(body).encode(),
                headers={**auth, "content-type": "application/json"},
            )
        statuses.append(r.status_code)
        assert r.status_code < 500, (body, r.text)

    await asyncio.to_thread(post_random)
    assert len(statuses) >= 30
