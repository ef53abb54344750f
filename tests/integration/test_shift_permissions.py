"""Who may start and end which shift: a boa only his own, never over a colleague's; leads their own staff."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest

from backend.db.pool import create_pool
from backend.orgs import repository as orgs
from tests.conftest import new_database
from tests.integration.harness import PASSWORD, Server, bearer, login, make_settings, running
from tests.integration.world import World, build_world


@dataclass
class Place:
    server: Server
    world: World
    unit_a2: int


@pytest.fixture(scope="module")
async def place(
    pg_server: str, template_db: str, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[Place]:
    url = await new_database(pg_server, template_db)
    world = await build_world(url)
    pool = await create_pool(url, min_size=1, max_size=1)
    async with pool.acquire() as conn:
        await orgs.create_account(conn, org_id=world.org_a, username="boa_a2", password=PASSWORD, role="boa")
        unit_a2 = await orgs.create_unit(conn, org_id=world.org_a, call_sign="A-02")
    await pool.close()
    async with running(make_settings(url, tmp_path_factory.mktemp("shift-permissions"))) as server:
        yield Place(server=server, world=world, unit_a2=unit_a2)


async def _post(place: Place, session: dict[str, Any], path: str, body: Any = None) -> httpx.Response:
    async with httpx.AsyncClient(base_url=place.server.base, headers=bearer(session)) as http:
        return await http.post(path, json=body)


async def _open_shift_of(place: Place, unit_id: int) -> int | None:
    pool = await create_pool(place.server.settings.database_url or "", min_size=1, max_size=1)
    try:
        value = await pool.fetchval("SELECT id FROM shifts WHERE unit_id = $1 AND ended_at IS NULL", unit_id)
    finally:
        await pool.close()
    return None if value is None else int(value)


async def test_a_boa_cannot_take_over_or_end_a_colleagues_shift(place: Place) -> None:
    world = place.world
    boa_a = await login(place.server.base, "boa_a")
    colleague = await login(place.server.base, "boa_a2")
    # the world's shift on A-01 has nobody on it: boa_a takes the unit with its tablet
    mine = await _post(place, boa_a, "/api/shifts", {"unit_id": world.unit_a, "device_id": world.tablet_a})
    assert mine.status_code == 201, mine.text
    shift_id = mine.json()["id"]

    unit_taken = await _post(place, colleague, "/api/shifts", {"unit_id": world.unit_a})
    assert (unit_taken.status_code, unit_taken.json()["field"]) == (409, "unit_id"), unit_taken.text
    tablet_taken = await _post(
        place, colleague, "/api/shifts", {"unit_id": place.unit_a2, "device_id": world.tablet_a}
    )
    assert (tablet_taken.status_code, tablet_taken.json()["field"]) == (409, "device_id"), tablet_taken.text
    ended = await _post(place, colleague, f"/api/shifts/{shift_id}/end")
    assert ended.status_code == 403, ended.text
    assert await _open_shift_of(place, world.unit_a) == shift_id  # still on duty

    # his own shift he starts and ends; boa_a ends his own
    own = await _post(place, colleague, "/api/shifts", {"unit_id": place.unit_a2})
    assert own.status_code == 201, own.text
    assert (await _post(place, colleague, f"/api/shifts/{own.json()['id']}/end")).status_code == 204
    assert (await _post(place, boa_a, f"/api/shifts/{shift_id}/end")).status_code == 204
    assert await _open_shift_of(place, world.unit_a) is None


async def test_a_boa_restarting_his_own_shift_is_not_refused(place: Place) -> None:
    boa_a = await login(place.server.base, "boa_a")
    first = await _post(place, boa_a, "/api/shifts", {"unit_id": place.unit_a2})
    again = await _post(place, boa_a, "/api/shifts", {"unit_id": place.unit_a2})
    assert (first.status_code, again.status_code) == (201, 201), again.text
    assert await _open_shift_of(place, place.unit_a2) == again.json()["id"]
    assert (await _post(place, boa_a, f"/api/shifts/{again.json()['id']}/end")).status_code == 204


async def test_a_team_lead_puts_only_his_own_organisations_accounts_on_a_shift(place: Place) -> None:
    world = place.world
    lead_a = await login(place.server.base, "lead_a")
    boa_a, boa_b = await login(place.server.base, "boa_a"), await login(place.server.base, "boa_b")
    for account_ids in ([boa_b["account_id"]], [boa_a["account_id"], boa_b["account_id"]], [999999]):
        r = await _post(place, lead_a, "/api/shifts", {"unit_id": place.unit_a2, "account_ids": account_ids})
        assert (r.status_code, r.json()["field"]) == (400, "account_ids"), r.text
    assert await _open_shift_of(place, place.unit_a2) is None
    # a boa cannot bring another gemeente's boa either
    r = await _post(
        place, boa_a, "/api/shifts", {"unit_id": place.unit_a2, "account_ids": [boa_b["account_id"]]}
    )
    assert (r.status_code, r.json()["field"]) == (400, "account_ids"), r.text

    # his own boa's he may put on, and he may take over a colleague's unit (the lead decides)
    r = await _post(place, boa_a, "/api/shifts", {"unit_id": world.unit_a})
    assert r.status_code == 201, r.text
    r = await _post(
        place, lead_a, "/api/shifts", {"unit_id": world.unit_a, "account_ids": [boa_a["account_id"]]}
    )
    assert r.status_code == 201, r.text
    assert (await _post(place, lead_a, f"/api/shifts/{r.json()['id']}/end")).status_code == 204
