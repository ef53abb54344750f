"""Police area alerts (CAP from the partner) reach the tablets of units inside the area, over real sockets:
the reference partner, the bridge, the backend, a tablet and an operator."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path

import asyncpg
import httpx
import pytest

from backend.db.pool import create_pool
from meldkamer_bridge import outbox
from meldkamer_bridge.adapters import eido
from shared.protocol import Ack, AreaAlert, Delta, PositionReported, Snapshot, Welcome
from tests.integration.harness import Socket, bearer, login, make_settings, running, socket_to
from tests.integration.test_bridge_link import bridge, partner, world_with_bridge_account
from tests.integration.world import FAR_AWAY, OUDE_ZIJDE


@pytest.fixture
async def pool(database_url: str) -> AsyncIterator[asyncpg.Pool]:
    p = await create_pool(database_url, min_size=1, max_size=8)
    yield p
    await p.close()


async def report(tablet: Socket, seq: int, lonlat: tuple[float, float]) -> None:
    await tablet.send(PositionReported(seq=seq, lon=lonlat[0], lat=lonlat[1], at=datetime.now(UTC)))
    await tablet.recv_until(lambda f: isinstance(f, Ack) and f.upto == seq)


async def test_a_police_alert_reaches_units_inside_its_area_and_no_others(
    database_url: str, pool: asyncpg.Pool, tmp_path: Path
) -> None:
    world = await world_with_bridge_account(database_url, pool)
    async with running(make_settings(database_url, tmp_path)) as server, partner(tmp_path) as (sim, port):
        boa = await login(server.base, "boa_a", world.tablet_a)
        operator = await login(server.base, "operator_mk")
        async with (
            bridge(database_url, pool, port, backend=server),
            socket_to(server.ws + "/ws/field", boa["access_token"]) as tablet,
            socket_to(server.ws + "/ws/operator", operator["access_token"]) as op,
        ):
            assert isinstance(await op.recv(), Snapshot)
            welcome = await tablet.recv()
            assert isinstance(welcome, Welcome)
            await report(tablet, welcome.acked + 1, FAR_AWAY)  # outside Burgwallen
            sim.send_police_alert(1)
            first = await op.recv_until(lambda f: isinstance(f, Delta) and f.area_alerts, timeout=10)
            assert first.area_alerts[0].unit_ids == [] and "12-ABC-1" in first.area_alerts[0].headline
            with pytest.raises(TimeoutError):
                await tablet.recv_until(lambda f: isinstance(f, AreaAlert), timeout=0.5)

            await report(tablet, welcome.acked + 2, OUDE_ZIJDE)  # inside
            sim.send_police_alert(2)
            frame = await tablet.recv_until(lambda f: isinstance(f, AreaAlert), timeout=10)
            assert "12-ABC-2" in frame.headline and "Niet zelf ingrijpen" in frame.description
            assert frame.severity == "Moderate"
            second = await op.recv_until(lambda f: isinstance(f, Delta) and f.area_alerts, timeout=10)
            assert second.area_alerts[0].unit_ids == [world.unit_a]
            assert second.area_alerts[0].alert_id == frame.alert_id
            # the bridge records the backend's answer after the tablets have it (the backend first asks the
            # other instances whose tablets they reached)
            results = await inbox_results(pool, count=2)
            assert results == [
                f"area alert {first.area_alerts[0].alert_id} to units []",
                f"area alert {frame.alert_id} to units [{world.unit_a}]",
            ]


async def test_only_the_service_role_posts_area_alerts_and_a_repeat_is_not_pushed_again(
    database_url: str, pool: asyncpg.Pool, tmp_path: Path
) -> None:
    world = await world_with_bridge_account(database_url, pool)
    ring = [[4.888, 52.369], [4.902, 52.369], [4.902, 52.379], [4.888, 52.379], [4.888, 52.369]]
    body = {"source": "politie", "identifier": "p-1", "headline": "Vermist: jongen (8)", "polygons": [ring]}
    async with running(make_settings(database_url, tmp_path)) as server:
        service = await login(server.base, "bridge_mk")
        boa = await login(server.base, "boa_a", world.tablet_a)
        async with (
            httpx.AsyncClient(base_url=server.base, headers=bearer(service)) as http,
            socket_to(server.ws + "/ws/field", boa["access_token"]) as tablet,
        ):
            welcome = await tablet.recv()
            await report(tablet, welcome.acked + 1, OUDE_ZIJDE)
            for role_session in (boa, await login(server.base, "operator_mk")):
                r = await http.post("/api/area-alerts", json=body, headers=bearer(role_session))
                assert r.status_code == 403, r.text
            r = await http.post("/api/area-alerts", json=body)
            assert r.status_code == 201, r.text
            assert r.json()["unit_ids"] == [world.unit_a]
            await tablet.recv_until(lambda f: isinstance(f, AreaAlert))
            again = await http.post("/api/area-alerts", json=body)
            assert again.status_code == 201 and again.json()["alert_id"] == r.json()["alert_id"]
            with pytest.raises(TimeoutError):
                await tablet.recv_until(lambda f: isinstance(f, AreaAlert), timeout=0.5)
            for bad in (
                {**body, "polygons": [ring[:3]]},
                {**body, "polygons": [[[200, 52], [4.9, 52.3], [4.8, 52.3], [200, 52]]]},
                {**body, "circles": [{"lon": 4.9, "lat": 52.3, "radius_km": -1}]},
                {**body, "identifier": ""},
                {**body, "sent": "yesterday"},
                [],
            ):
                r = await http.post("/api/area-alerts", json=bad)
                assert 400 <= r.status_code < 500, (bad, r.status_code, r.text)
            point = [[4.9, 52.3]] * 4  # a degenerate area elsewhere concerns nobody
            r = await http.post("/api/area-alerts", json={**body, "identifier": "p-2", "polygons": [point]})
            assert r.status_code == 201 and r.json()["unit_ids"] == []


async def inbox_results(pool: asyncpg.Pool, count: int, timeout_s: float = 10) -> list[str | None]:
    """The CAP messages' results in the bridge's inbox once `count` of them are recorded (or the timeout)."""
    deadline = asyncio.get_running_loop().time() + timeout_s
    while True:
        async with pool.acquire() as conn:
            rows = await conn.fetch("SELECT result FROM bridge_inbox WHERE type = 'cap' ORDER BY seq")
        results = [r["result"] for r in rows]
        if sum(1 for r in results if r is not None) >= count or asyncio.get_running_loop().time() > deadline:
            return results
        await asyncio.sleep(0.1)


async def test_a_police_alert_is_handed_over_while_a_backlog_of_incidents_is_still_being_handed_over(
    database_url: str, pool: asyncpg.Pool, tmp_path: Path
) -> None:
    """Each message type has its own inbox loop: incidents that take long to hand over (here a sink held
    until the end) never keep a police alert from the tablets and the meldkamer."""
    await world_with_bridge_account(database_url, pool)
    entered, release = asyncio.Event(), asyncio.Event()

    async def held_sink(
        conn: outbox.Conn, message: outbox.InboxMessage, incident: eido.IncidentHandover
    ) -> str:
        entered.set()
        await release.wait()
        return f"melding for {incident.partner_incident_id}"

    async with running(make_settings(database_url, tmp_path)) as server, partner(tmp_path) as (sim, port):
        async with bridge(database_url, pool, port, backend=server) as b:
            b.inbound.incident_sink = held_sink
            for n in range(1, 4):
                sim.send_incident(n)
            async with asyncio.timeout(10):
                await entered.wait()  # the incidents' hand-over is under way, and stays so
            sim.send_police_alert(1)
            results = await inbox_results(pool, count=1)
            assert results and results[0] is not None and results[0].startswith("area alert ")
            async with pool.acquire() as conn:
                waiting = await conn.fetchval(
                    "SELECT count(*) FROM bridge_inbox WHERE type = 'eido' AND processed_at IS NULL"
                )
            assert waiting == 3  # still being handed over while the alert went through
            release.set()
            async with asyncio.timeout(10):
                while waiting:
                    await asyncio.sleep(0.05)
                    async with pool.acquire() as conn:
                        waiting = await conn.fetchval(
                            "SELECT count(*) FROM bridge_inbox WHERE type = 'eido' AND processed_at IS NULL"
                        )
