"""Tablet enrolment: a tablet logs in only with its issued secret, so a colleague cannot knock it off."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Any

import asyncpg
import httpx
import pytest

from backend.orgs import repository as orgs
from shared.protocol import Ack, PositionReported, Welcome
from tests.conftest import new_database
from tests.integration.harness import PASSWORD, Server, bearer, login, make_settings, running, socket_to
from tests.integration.world import OUDE_ZIJDE, World, build_world


@pytest.fixture(scope="module")
async def app(
    pg_server: str, template_db: str, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[tuple[Server, World]]:
    url = await new_database(pg_server, template_db)
    world = await build_world(url)
    conn = await asyncpg.connect(url)
    await orgs.create_account(conn, org_id=world.org_a, username="boa_a2", password=PASSWORD, role="boa")
    await conn.close()
    async with running(make_settings(url, tmp_path_factory.mktemp("enrolment"))) as server:
        yield server, world


async def _login(server: Server, **body: Any) -> httpx.Response:
    async with httpx.AsyncClient(base_url=server.base) as http:
        return await http.post("/api/auth/login", json={"password": PASSWORD, **body})


async def test_a_new_tablet_gets_a_secret_once_and_logs_in_only_with_it(app: tuple[Server, World]) -> None:
    server, world = app
    lead = await login(server.base, "lead_a")
    async with httpx.AsyncClient(base_url=server.base, headers=bearer(lead)) as http:
        made = await http.post("/api/devices", json={"name": "tablet-nieuw"})
        listed = (await http.get("/api/devices")).json()
    assert made.status_code == 201, made.text
    device_id, secret = made.json()["id"], made.json()["device_secret"]
    assert made.json()["kind"] == "tablet" and len(secret) >= 40
    assert secret not in str(listed)  # shown once, at issue

    ok = await _login(server, username="boa_a", device_id=device_id, device_secret=secret)
    assert ok.status_code == 200 and ok.json()["device_id"] == device_id
    for wrong in ({}, {"device_secret": ""}, {"device_secret": secret[:-1] + "x"}):
        r = await _login(server, username="boa_a", device_id=device_id, **wrong)
        assert (r.status_code, r.json()["field"]) == (401, "device_secret"), r.text

    # stored as a hash: the database holds no copy of the secret
    conn = await asyncpg.connect(server.settings.database_url)
    try:
        row = await conn.fetchrow("SELECT * FROM devices WHERE id = $1", device_id)
    finally:
        await conn.close()
    assert row is not None and secret.encode() not in b"".join(str(v).encode() for v in row.values())

    # re-enrolment: a new secret; the old one no longer logs in
    async with httpx.AsyncClient(base_url=server.base, headers=bearer(lead)) as http:
        again = await http.post(f"/api/devices/{device_id}/enrolment")
    assert again.status_code == 200 and again.json()["device_secret"] != secret
    old = await _login(server, username="boa_a", device_id=device_id, device_secret=secret)
    assert (old.status_code, old.json()["field"]) == (401, "device_secret")
    new = await _login(
        server, username="boa_a", device_id=device_id, device_secret=again.json()["device_secret"]
    )
    assert new.status_code == 200


async def test_only_leads_of_the_tablets_organisation_enrol_it(app: tuple[Server, World]) -> None:
    server, world = app
    for who, status in (("boa_a", 403), ("lead_b", 404)):
        session = await login(server.base, who)
        async with httpx.AsyncClient(base_url=server.base, headers=bearer(session)) as http:
            r = await http.post(f"/api/devices/{world.tablet_a}/enrolment")
        assert r.status_code == status, r.text
    # the tablet's secret did not change
    assert (await login(server.base, "boa_a", world.tablet_a))["device_id"] == world.tablet_a


async def test_a_colleague_naming_the_tablet_without_its_secret_does_not_knock_it_off(
    app: tuple[Server, World],
) -> None:
    server, world = app
    boa = await login(server.base, "boa_a", world.tablet_a)
    async with socket_to(server.ws + "/ws/field", boa["access_token"]) as field:
        assert isinstance(await field.recv(), Welcome)
        # a colleague of the same gemeente guesses the tablet's id; a boa of B tries it too
        for username in ("boa_a2", "boa_b"):
            r = await _login(server, username=username, device_id=world.tablet_a)
            assert r.status_code == 401, r.text
            assert r.json()["field"] == ("device_secret" if username == "boa_a2" else "device_id")
            assert "access_token" not in r.text
        await asyncio.sleep(0.2)
        # the real tablet is still on: its noodknop and positions still arrive
        await field.send(PositionReported(seq=1, lon=OUDE_ZIJDE[0], lat=OUDE_ZIJDE[1], at=datetime.now(UTC)))
        ack = await field.recv_until(lambda f: isinstance(f, Ack))
        assert ack.upto >= 1
