"""An incident from the meldkamer becomes a melding, and its tasking flows back as EIDO updates: the backend,
the bridge, the reference partner and a tablet over real loopback sockets."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import pytest

from backend.db.pool import create_pool
from meldkamer_bridge import outbox
from meldkamer_bridge.adapters import eido
from shared.protocol import Ack, PositionReported, TaskAssigned, TaskState, TaskUpdated, Welcome
from tests.integration.harness import bearer, login, make_settings, running, socket_to
from tests.integration.test_bridge_link import bridge, partner, world_with_bridge_account
from tests.integration.world import OUDE_ZIJDE

EXTERNAL = "urn:emergency:uid:incidentid:sim000001:gms.gmk-amsterdam-amstelland.nl"


@pytest.fixture
async def pool(database_url: str) -> AsyncIterator[asyncpg.Pool]:
    p = await create_pool(database_url, min_size=1, max_size=8)
    yield p
    await p.close()


async def until(check: Any, within: float = 10.0) -> Any:
    async with asyncio.timeout(within):
        while True:
            value = await check()
            if value:
                return value
            await asyncio.sleep(0.05)


async def test_an_eido_incident_becomes_a_melding_and_its_tasking_flows_back_in_order_exactly_once(
    database_url: str, pool: asyncpg.Pool, tmp_path: Path
) -> None:
    world = await world_with_bridge_account(database_url, pool)
    async with running(make_settings(database_url, tmp_path)) as server, partner(tmp_path) as (sim, port):
        boa = await login(server.base, "boa_a", world.tablet_a)
        operator = await login(server.base, "operator_mk")
        async with (
            bridge(database_url, pool, port, backend=server) as b,
            httpx.AsyncClient(base_url=server.base, headers=bearer(operator)) as http,
            socket_to(server.ws + "/ws/field", boa["access_token"]) as tablet,
        ):
            welcome = await tablet.recv()
            assert isinstance(welcome, Welcome)
            seq = welcome.acked + 1
            await tablet.send(
                PositionReported(seq=seq, lon=OUDE_ZIJDE[0], lat=OUDE_ZIJDE[1], at=datetime.now(UTC))
            )
            await tablet.recv_until(lambda f: isinstance(f, Ack) and f.upto == seq)

            sim.send_incident(1)

            async def melding() -> list[dict[str, Any]]:
                found = (await http.get("/api/incidents")).json()
                return [i for i in found if i["category"] == "Afval"]

            (incident,) = await until(melding)
            assert incident["org_id"] == world.org_a and incident["priority"] == 2
            assert "grofvuil" in incident["description"] and "GMS-000001" in incident["description"]
            r = await http.post(
                f"/api/incidents/{incident['incident_id']}/tasks", json={"unit_id": world.unit_a}
            )
            assert r.status_code == 201, r.text
            task = r.json()
            assert (await tablet.recv_until(lambda f: isinstance(f, TaskAssigned))).task_id == task["task_id"]
            now = datetime.now(UTC)
            states = [TaskState.ACCEPTED, TaskState.EN_ROUTE, TaskState.ON_SCENE, TaskState.DONE]
            for i, state in enumerate(states):
                seq += 1
                await tablet.send(
                    TaskUpdated(seq=seq, task_id=task["task_id"], state=state, at=now + timedelta(seconds=i))
                )
                await tablet.recv_until(lambda f, s=seq: isinstance(f, Ack) and f.upto == s)
            # the unit's "afgerond" does not close the melding: the operator does, and then the partner hears
            closed = await http.post(
                f"/api/incidents/{incident['incident_id']}/close", json={"reason": "afgehandeld"}
            )
            assert closed.status_code == 200, closed.text

            def updates() -> list[eido.IncidentUpdate]:
                return [
                    eido.decode_update(str(e["body"]).encode())
                    for e in sorted(sim.store.received(), key=lambda e: int(str(e["seq"])))
                    if e["type"] == "eido_update"
                ]

            async def all_six() -> bool:
                return len(updates()) >= 6

            await until(all_six)
            # the bridge goes again over everything; a second bridge on the same database too
            assert await b.outbound.send_pending_progress() == 0
        async with bridge(database_url, pool, port, backend=server) as again:
            assert await again.outbound.send_pending_progress() == 0
            assert await again.inbound.process("eido") == 0
            # the same incident handed over again (a new message id): the same melding
            created = await http_post_again(server.base, operator, incident)
            assert created == incident["incident_id"]
            await asyncio.sleep(0.3)
        got = updates()
        async with pool.acquire() as conn:
            assert (await outbox.metrics(conn, "gms-sim"))[0].rejected == 0
    P = eido.Progress
    assert [u.progress for u in got] == [P.ACCEPTED, P.ASSIGNED, P.ASSIGNED, P.EN_ROUTE, P.ON_SCENE, P.DONE]
    assert all(u.external_id == EXTERNAL for u in got)
    assert all(u.melding_id == incident["incident_id"] for u in got)
    assert got[0].units == () and all(u.units == ("A-01",) for u in got[1:])
    assert got[2].note == "A-01: geaccepteerd" and got[5].note == "melding afgesloten: afgehandeld"


async def http_post_again(base: str, session: dict[str, Any], incident: dict[str, Any]) -> int:
    """POST the same (source, external_id) again, as the bridge would after a crash: the existing melding."""
    async with httpx.AsyncClient(base_url=base, headers=bearer(session)) as http:
        r = await http.post(
            "/api/incidents",
            json={
                "category": "Afval",
                "priority": 1,
                "lon": OUDE_ZIJDE[0],
                "lat": OUDE_ZIJDE[1],
                "source": "gms-sim",
                "external_id": EXTERNAL,
            },
        )
    assert r.status_code in (200, 201), r.text
    return int(r.json()["incident_id"])
