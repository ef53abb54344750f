"""Changing one's password (the old one is asked) and an admin's reset, both under the password policy."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.integration.harness import PASSWORD, Server, bearer, login, make_settings, running
from tests.integration.world import World, build_world

NEW = "paard-batterij-nietje"


@pytest.fixture
async def app(database_url: str, tmp_path: Path) -> Any:
    world = await build_world(database_url)
    async with running(make_settings(database_url, tmp_path)) as server:
        yield server, world


async def _post(
    server: Server, path: str, body: object, session: dict[str, Any] | None = None
) -> httpx.Response:
    async with httpx.AsyncClient(base_url=server.base) as http:
        return await http.post(path, json=body, headers=bearer(session) if session else {})


async def _me(server: Server, session: dict[str, Any]) -> int:
    async with httpx.AsyncClient(base_url=server.base) as http:
        return (await http.get("/api/me", headers=bearer(session))).status_code


@pytest.mark.parametrize(
    ("new", "field", "status"),
    [
        ("kort", "new_password", 400),
        ("boa_a", "new_password", 400),
        ("wachtwoord1234", "new_password", 400),
    ],
)
async def test_a_new_password_must_meet_the_policy(
    app: tuple[Server, World], new: str, field: str, status: int
) -> None:
    server, _ = app
    boa = await login(server.base, "boa_a")
    r = await _post(server, "/api/auth/password", {"old_password": PASSWORD, "new_password": new}, boa)
    assert r.status_code == status, r.text
    assert r.json()["field"] == field
    assert await _me(server, boa) == 200  # nothing changed


async def test_changing_the_password_needs_the_old_one_and_ends_every_session(
    app: tuple[Server, World],
) -> None:
    server, _ = app
    boa = await login(server.base, "boa_a")
    elsewhere = await login(server.base, "boa_a")
    wrong = await _post(
        server, "/api/auth/password", {"old_password": "not-the-password", "new_password": NEW}, boa
    )
    assert wrong.status_code == 401
    assert wrong.json()["field"] == "old_password"

    r = await _post(server, "/api/auth/password", {"old_password": PASSWORD, "new_password": NEW}, boa)
    assert r.status_code == 200, r.text
    assert r.headers["cache-control"] == "no-store"
    fresh = r.json()
    assert await _me(server, fresh) == 200
    assert await _me(server, boa) == 401
    assert await _me(server, elsewhere) == 401
    assert (
        await _post(server, "/api/auth/refresh", {"refresh_token": elsewhere["refresh_token"]})
    ).status_code == 401
    assert (
        await _post(server, "/api/auth/login", {"username": "boa_a", "password": PASSWORD})
    ).status_code == 401
    assert (await _post(server, "/api/auth/login", {"username": "boa_a", "password": NEW})).status_code == 200


async def test_an_admin_resets_a_password_in_his_own_organisation_only(app: tuple[Server, World]) -> None:
    server, _ = app
    admin = await login(server.base, "admin_a")
    lead = await login(server.base, "lead_a")
    boa = await login(server.base, "boa_a")
    boa_id, boa_b_id = boa["account_id"], (await login(server.base, "boa_b"))["account_id"]

    assert (
        await _post(server, f"/api/accounts/{boa_id}/password", {"new_password": NEW}, lead)
    ).status_code == 403
    other = await _post(server, f"/api/accounts/{boa_b_id}/password", {"new_password": NEW}, admin)
    assert other.status_code == 404
    weak = await _post(server, f"/api/accounts/{boa_id}/password", {"new_password": "kort"}, admin)
    assert weak.status_code == 400 and weak.json()["field"] == "new_password"

    r = await _post(server, f"/api/accounts/{boa_id}/password", {"new_password": NEW}, admin)
    assert r.status_code == 204
    assert await _me(server, boa) == 401
    assert (await _post(server, "/api/auth/login", {"username": "boa_a", "password": NEW})).status_code == 200
    # boa_b was not touched
    assert (
        await _post(server, "/api/auth/login", {"username": "boa_b", "password": PASSWORD})
    ).status_code == 200
