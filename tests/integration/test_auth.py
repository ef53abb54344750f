"""Authentication: login, bad tokens on HTTP and the field socket, refresh rotation, device revocation."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
import websockets

from backend.auth.tokens import Principal, issue_access_token
from shared.protocol import Error, Welcome
from tests.conftest import new_database
from tests.integration.harness import (
    PASSWORD,
    Server,
    Socket,
    login,
    make_settings,
    running,
    socket_to,
    tablet_secret,
)
from tests.integration.world import World, build_world

# Endpoints under /api that a caller without an access token may use: logging in needs no token, and a
# tracker's device id is its credential (the OsmAnd protocol has nothing else).
PUBLIC = {"/api/auth/login", "/api/auth/refresh", "/api/auth/logout", "/api/trackers/osmand"}


@pytest.fixture(scope="module")
async def app(
    pg_server: str, template_db: str, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[tuple[Server, World]]:
    """A shared server for the tests that change nothing but refresh tokens."""
    url = await new_database(pg_server, template_db)
    world = await build_world(url)
    async with running(make_settings(url, tmp_path_factory.mktemp("auth"))) as server:
        yield server, world


async def _post(server: Server, path: str, body: object) -> httpx.Response:
    async with httpx.AsyncClient(base_url=server.base) as http:
        return await http.post(path, json=body)


async def _get_me(server: Server, token: str) -> httpx.Response:
    async with httpx.AsyncClient(base_url=server.base) as http:
        return await http.get("/api/me", headers={"Authorization": f"Bearer {token}"})


async def _expect_fatal(ws: Socket, code: str) -> Error:
    """The next frame is a fatal error with this code, and then the server closes the socket."""
    error = await ws.recv()
    assert isinstance(error, Error), error
    assert error.code == code and error.fatal, error
    with pytest.raises(websockets.ConnectionClosed):
        await ws.recv()
    return error


async def test_wrong_password_gets_401_with_the_same_message_as_an_unknown_user(
    app: tuple[Server, World],
) -> None:
    server, _ = app
    wrong = await _post(server, "/api/auth/login", {"username": "boa_a", "password": "not-the-password"})
    unknown = await _post(server, "/api/auth/login", {"username": "nobody", "password": PASSWORD})
    assert wrong.status_code == unknown.status_code == 401
    assert wrong.json() == unknown.json()
    assert "access_token" not in wrong.text


def _principal(session: dict[str, Any], world: World) -> Principal:
    return Principal(
        account_id=int(session["account_id"]),
        org_id=world.org_a,
        role="boa",
        visible_org_ids=frozenset({world.org_a}),
        device_id=world.tablet_a,
        username="boa_a",
    )


BAD_TOKENS: dict[str, Callable[[Principal, str], str]] = {
    "signed with another key": lambda p, key: issue_access_token(p, "another-key-" + "k" * 40, 15),
    "garbage": lambda p, key: "not.a.token",
    "expired": lambda p, key: issue_access_token(p, key, 15, now=datetime.now(UTC) - timedelta(hours=1)),
}


@pytest.mark.parametrize("kind", list(BAD_TOKENS))
async def test_bad_access_token_is_refused_on_http_and_on_the_field_socket(
    app: tuple[Server, World], kind: str
) -> None:
    server, world = app
    session = await login(server.base, "boa_a", world.tablet_a)
    token = BAD_TOKENS[kind](_principal(session, world), server.settings.secret_key)
    # the same principal with a good token is accepted: the token is what is wrong
    good = issue_access_token(_principal(session, world), server.settings.secret_key, 15)
    assert (await _get_me(server, good)).status_code == 200

    r = await _get_me(server, token)
    assert r.status_code == 401
    assert r.json()["code"] == "unauthorized"
    async with socket_to(server.ws + "/ws/field", token) as ws:
        error = await _expect_fatal(ws, "unauthorized")
        assert error.field == "token"


async def test_refresh_rotates_the_refresh_token(app: tuple[Server, World]) -> None:
    server, world = app
    first = await login(server.base, "boa_a", world.tablet_a)
    r = await _post(server, "/api/auth/refresh", {"refresh_token": first["refresh_token"]})
    assert r.status_code == 200
    second = r.json()
    assert second["refresh_token"] != first["refresh_token"]
    assert second["device_id"] == world.tablet_a
    assert (await _get_me(server, second["access_token"])).status_code == 200
    assert (
        await _post(server, "/api/auth/refresh", {"refresh_token": second["refresh_token"]})
    ).status_code == 200
    # the rotated token is refused (and its reuse ends the family: test_auth_sessions.py)
    again = await _post(server, "/api/auth/refresh", {"refresh_token": first["refresh_token"]})
    assert again.status_code == 401
    assert again.json()["field"] == "refresh_token"


async def test_health_answers_without_auth(app: tuple[Server, World]) -> None:
    server, _ = app
    async with httpx.AsyncClient(base_url=server.base) as http:
        r = await http.get("/health")
    assert r.status_code == 200
    assert r.json()["status"] == "ok"


def _api_endpoints(server: Server) -> list[tuple[str, str]]:
    """Every (method, concrete path) under /api that the running app serves, path parameters filled in."""
    found = []
    for route in server.app.routes:
        path = route.path
        if not path.startswith("/api/") or path in PUBLIC:
            continue
        concrete = re.sub(r"\{[^}:]+:int\}", "1", path)
        concrete = re.sub(r"\{[^}:]+:uuid\}", "00000000-0000-4000-8000-000000000001", concrete)
        concrete = re.sub(r"\{[^}]+\}", "x", concrete)
        for method in sorted(getattr(route, "methods", ())):
            if method not in ("HEAD", "OPTIONS"):
                found.append((method, concrete))
    return found


async def test_every_api_endpoint_without_a_token_gets_401(app: tuple[Server, World]) -> None:
    server, _ = app
    endpoints = _api_endpoints(server)
    assert {
        ("GET", "/api/units"),
        ("POST", "/api/units"),
        ("GET", "/api/beats"),
        ("POST", "/api/beats/import"),
        ("POST", "/api/devices/1/revoke"),
        ("GET", "/api/me"),
    } <= set(endpoints)
    async with httpx.AsyncClient(base_url=server.base) as http:
        for method, path in endpoints:
            # no token and a body that is not even JSON: still 401, the token is checked first
            r = await http.request(method, path, content=None if method == "GET" else b"{not json")
            assert r.status_code == 401, (method, path, r.status_code, r.text)
            assert r.json()["code"] == "unauthorized"
            # a token in the wrong scheme is no token
            r = await http.request(method, path, headers={"Authorization": "Basic Ym9hX2E6eA=="})
            assert r.status_code == 401, (method, path, r.status_code, r.text)


async def test_revoked_device_is_cut_off_at_once_and_for_good(database_url: str, tmp_path: Path) -> None:
    world = await build_world(database_url)
    async with running(make_settings(database_url, tmp_path)) as server:
        boa = await login(server.base, "boa_a", world.tablet_a)
        lead = await login(server.base, "lead_a")
        async with socket_to(server.ws + "/ws/field", boa["access_token"]) as ws:
            assert isinstance(await ws.recv(), Welcome)
            async with httpx.AsyncClient(base_url=server.base) as http:
                r = await http.post(
                    f"/api/devices/{world.tablet_a}/revoke",
                    headers={"Authorization": f"Bearer {lead['access_token']}"},
                )
            assert r.status_code == 204
            # the live socket got its fatal error before the revocation answered
            await _expect_fatal(ws, "revoked")

        refreshed = await _post(server, "/api/auth/refresh", {"refresh_token": boa["refresh_token"]})
        assert refreshed.status_code == 401
        relogin = await _post(
            server,
            "/api/auth/login",
            {
                "username": "boa_a",
                "password": PASSWORD,
                "device_id": world.tablet_a,
                "device_secret": tablet_secret(world.tablet_a),
            },
        )
        assert relogin.status_code == 401
        assert relogin.json()["field"] == "device_id"
        assert (await _get_me(server, boa["access_token"])).status_code == 401
        async with socket_to(server.ws + "/ws/field", boa["access_token"]) as ws:
            await _expect_fatal(ws, "unauthorized")
        # the account itself is not revoked: boa_a can still log in without that tablet
        assert (
            await _post(server, "/api/auth/login", {"username": "boa_a", "password": PASSWORD})
        ).status_code == 200
