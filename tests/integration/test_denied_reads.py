"""A refused read of personal data is in the audit log of the organisation whose data was probed."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import asyncpg
import pytest

from tests.conftest import new_database
from tests.integration.registrations_kit import environment, fine, jpeg, sha, world_template
from tests.integration.world import World


@pytest.fixture(scope="module")
async def world_db(pg_server: str, template_db: str) -> tuple[str, World]:
    return await world_template(pg_server, template_db)


@pytest.fixture
async def db(pg_server: str, world_db: tuple[str, World]) -> tuple[str, World]:
    return await new_database(pg_server, world_db[0]), world_db[1]


async def _log(url: str, object_id: str) -> list[tuple[Any, ...]]:
    conn = await asyncpg.connect(url)
    try:
        rows = await conn.fetch(
            """SELECT l.org_id, l.action, a.username, l.result
               FROM audit_log l JOIN accounts a ON a.id = l.actor_id WHERE l.object_id = $1 ORDER BY l.id""",
            object_id,
        )
    finally:
        await conn.close()
    return [tuple(r.values()) for r in rows]


async def test_another_gemeentes_refused_reads_of_a_registration_and_its_photo_are_in_its_log(
    db: tuple[str, World], tmp_path: Path
) -> None:
    world = db[1]
    async with environment(db, tmp_path) as env:
        photo = jpeg()
        put = await env["boa_a"].put(
            f"/api/photos/{sha(photo)}", content=photo, headers={"content-type": "image/jpeg"}
        )
        assert put.status_code in (200, 201), put.text
        body = fine(photos=[sha(photo)])
        assert (await env["boa_a"].post("/api/registrations", json=body)).status_code == 201
        for path in (f"/api/registrations/{body['id']}", f"/api/registrations/{body['id']}/versions"):
            assert (await env["lead_b"].get(path, headers={"x-reason": "nieuwsgierig"})).status_code == 404
        assert (await env["lead_b"].get(f"/api/photos/{sha(photo)}")).status_code == 404
        # a colleague of A who is not on it is refused too: in A's log, once
        assert (await env["boa_a2"].get(f"/api/registrations/{body['id']}")).status_code == 404
        # A's privacy officer finds B's attempts in A's own log
        seen = (await env["privacy_a"].get(f"/api/audit?object_id={body['id']}")).json()
        denied = [(e["action"], e["actor_id"], e["reason"]) for e in seen if e["result"] == "denied"]
    assert ("read", env.accounts["lead_b"], "nieuwsgierig") in denied
    assert ("read_versions", env.accounts["lead_b"], "nieuwsgierig") in denied
    registration_log = await _log(db[0], body["id"])
    assert (world.org_a, "read", "boa_a2", "denied") in registration_log
    assert (world.org_a, "read", "boa_a2", "not_found") not in registration_log
    # B's own log says what B was told
    assert (world.org_b, "read", "lead_b", "not_found") in registration_log
    assert (world.org_a, "read", "lead_b", "denied") in await _log(db[0], sha(photo))


async def test_a_refused_track_replay_of_another_gemeentes_unit_is_in_its_log(
    db: tuple[str, World], tmp_path: Path
) -> None:
    world = db[1]
    async with environment(db, tmp_path) as env:
        r = await env["operator_mk"].get(f"/api/units/{world.unit_b}/track", params={"reason": "even kijken"})
        assert r.status_code == 404, r.text
        unknown = await env["operator_mk"].get("/api/units/999999/track")
        assert unknown.status_code == 404
    log = await _log(db[0], str(world.unit_b))
    assert (world.org_b, "read_track", "operator_mk", "denied") in log
    assert (world.meldkamer, "read_track", "operator_mk", "not_found") in log
    assert await _log(db[0], "999999") == [(world.meldkamer, "read_track", "operator_mk", "not_found")]
