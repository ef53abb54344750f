"""Tracker keys: server-issued secrets stored as a hash, shown once; keys and partner ids are per gemeente."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import asyncpg
import httpx
import pytest

from backend.dispatch import repository as dispatch
from backend.errors import Conflict
from backend.orgs import repository as orgs
from tests.conftest import new_database
from tests.integration.harness import Server, bearer, login, make_settings, running
from tests.integration.world import World, build_world


@pytest.fixture(scope="module")
async def app(
    pg_server: str, template_db: str, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[tuple[Server, World]]:
    url = await new_database(pg_server, template_db)
    world = await build_world(url)
    async with running(make_settings(url, tmp_path_factory.mktemp("tracker-keys"))) as server:
        yield server, world


async def _report(server: Server, key: str, seconds_ago: int) -> httpx.Response:
    at = datetime.now(UTC).replace(microsecond=0) - timedelta(seconds=seconds_ago)
    params = {"id": key, "lat": "52.3745", "lon": "4.8970", "timestamp": str(int(at.timestamp()))}
    async with httpx.AsyncClient(base_url=server.base) as http:
        return await http.get("/osmand", params=params)


async def test_a_tracker_key_is_issued_by_the_server_shown_once_and_stored_as_a_hash(
    app: tuple[Server, World],
) -> None:
    server, world = app
    lead = await login(server.base, "lead_a")
    async with httpx.AsyncClient(base_url=server.base, headers=bearer(lead)) as http:
        chosen = await http.post("/api/devices", json={"name": "t", "kind": "tracker", "tracker_key": "777"})
        made = await http.post(
            "/api/devices", json={"name": "traccar", "kind": "tracker", "unit_id": world.unit_a}
        )
        listed = await http.get("/api/devices")
    assert (chosen.status_code, chosen.json()["field"]) == (
        400,
        "tracker_key",
    )  # nobody picks a guessable key
    assert made.status_code == 201, made.text
    device_id, key = made.json()["id"], made.json()["tracker_key"]
    assert len(key) >= 40 and made.json()["device_secret"] is None
    assert key not in listed.text and "tracker_key" not in listed.text  # team leads see it once, at issue

    conn = await asyncpg.connect(server.settings.database_url)
    try:
        row = await conn.fetchrow("SELECT * FROM devices WHERE id = $1", device_id)
    finally:
        await conn.close()
    assert row is not None and key not in str(dict(row))

    assert (await _report(server, key, 30)).status_code == 200
    for guess in (str(device_id), "traccar", key[:-1]):
        r = await _report(server, guess, 29)
        assert (r.status_code, r.json()["field"]) == (400, "id")

    # a new key: the old one stops reporting
    async with httpx.AsyncClient(base_url=server.base, headers=bearer(lead)) as http:
        reissued = await http.post(f"/api/devices/{device_id}/enrolment")
    assert reissued.status_code == 200 and reissued.json()["tracker_key"] not in (None, key)
    assert (await _report(server, key, 28)).status_code == 400
    assert (await _report(server, reissued.json()["tracker_key"], 27)).status_code == 200


async def test_tracker_keys_and_partner_incident_ids_are_unique_per_organisation(database_url: str) -> None:
    world = await build_world(database_url)
    conn = await asyncpg.connect(database_url)
    try:
        # the world's tracker of A has key 123456: B registering the same says nothing about A
        await orgs.create_device(
            conn, org_id=world.org_b, name="tracker-b", kind="tracker", tracker_key="x-1"
        )
        await orgs.create_device(
            conn, org_id=world.org_a, name="tracker-a2", kind="tracker", tracker_key="x-1"
        )
        with pytest.raises(Conflict):
            await orgs.create_device(
                conn, org_id=world.org_a, name="again", kind="tracker", tracker_key="x-1"
            )
        assert await orgs.device_by_tracker_key(conn, "x-1") is None  # ambiguous: neither reports with it

        def melding(org_id: int) -> dispatch.NewIncident:
            return dispatch.NewIncident(
                org_id=org_id, category="overlast", priority=2, description="", lon=4.897, lat=52.3745,
                address="", beat_id=None, required_domain=1, created_by=None, source="gms",
                external_id="2026-1",
            )  # fmt: skip

        in_a = await dispatch.create_incident(conn, melding(world.org_a), "test")
        in_b = await dispatch.create_incident(conn, melding(world.org_b), "test")
        assert in_a is not None and in_b is not None and in_a != in_b
        assert await dispatch.create_incident(conn, melding(world.org_a), "test") is None  # handed over again
        assert await dispatch.external_incident(conn, world.org_b, "gms", "2026-1") == in_b
    finally:
        await conn.close()
