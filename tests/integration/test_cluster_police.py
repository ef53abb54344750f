"""Police area alerts and register-query answers across instances: the bridge posts through instance B, the
boa's tablet is connected to (or waiting on) instance A. The alert reaches the tablet at once (NOTIFY with the
alert's id; A reads the rows and sends), a tablet connected nowhere gets it when it connects, once; a
register-query answer posted through B wakes the boa's request waiting on A at once, not at its next look."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

import asyncpg
import httpx
import pytest

from backend.orgs import repository as orgs
from shared.protocol import Ack, AreaAlert, PositionReported, Welcome
from tests.integration.cluster import instances
from tests.integration.harness import PASSWORD, Socket, bearer, login, socket_to
from tests.integration.world import OUDE_ZIJDE, World, build_world

RING = [[4.888, 52.369], [4.902, 52.369], [4.902, 52.379], [4.888, 52.379], [4.888, 52.369]]  # Burgwallen


async def world_with_bridge(database_url: str) -> World:
    world = await build_world(database_url)
    conn = await asyncpg.connect(database_url)
    try:
        await orgs.create_account(
            conn, org_id=world.meldkamer, username="bridge_mk", password=PASSWORD, role="service"
        )
    finally:
        await conn.close()
    return world


async def report_inside(tablet: Socket) -> None:
    welcome = await tablet.recv()
    assert isinstance(welcome, Welcome)
    seq = welcome.acked + 1
    await tablet.send(PositionReported(seq=seq, lon=OUDE_ZIJDE[0], lat=OUDE_ZIJDE[1], at=welcome.server_time))
    await tablet.recv_until(lambda f: isinstance(f, Ack) and f.upto == seq)


async def test_a_police_alert_posted_through_b_reaches_the_tablet_on_a_and_one_away_when_it_connects(
    database_url: str, tmp_path: Path
) -> None:
    world = await world_with_bridge(database_url)
    async with instances(database_url, tmp_path) as (a, b):
        service = await login(b.base, "bridge_mk")
        boa = await login(a.base, "boa_a", world.tablet_a)
        async with httpx.AsyncClient(base_url=b.base, headers=bearer(service)) as bridge:
            async with socket_to(a.ws + "/ws/field", boa["access_token"]) as tablet:
                await report_inside(tablet)
                async with asyncio.timeout(5):  # B's picture has the unit inside (its tick reads unit_live)
                    while b.services.hub.picture.units[world.unit_a].lon is None:
                        await asyncio.sleep(0.05)
                posted = time.monotonic()
                r = await bridge.post(
                    "/api/area-alerts",
                    json={"source": "politie", "identifier": "p-1", "headline": "Vermist: jongen (8)",
                          "description": "Blauwe jas.", "instruction": "Bel 112.", "polygons": [RING]},
                )  # fmt: skip
                assert r.status_code == 201, r.text
                assert r.json()["unit_ids"] == [world.unit_a]  # B knows A's tablet got it
                frame = await tablet.recv_until(lambda f: isinstance(f, AreaAlert), timeout=3)
                assert time.monotonic() - posted < 2.0
                assert frame.alert_id == r.json()["alert_id"] and frame.headline == "Vermist: jongen (8)"
                assert frame.description == "Blauwe jas.\nBel 112."

            # the tablet is in a dead zone when the next alert comes: it is owed, and told when it connects
            r = await bridge.post(
                "/api/area-alerts",
                json={"source": "politie", "identifier": "p-2", "headline": "Gezocht: scooter",
                      "polygons": [RING]},
            )  # fmt: skip
            assert r.status_code == 201 and r.json()["unit_ids"] == [], r.text
            async with socket_to(b.ws + "/ws/field", boa["access_token"]) as tablet:
                assert isinstance(await tablet.recv(), Welcome)
                late = await tablet.recv_until(lambda f: isinstance(f, AreaAlert), timeout=3)
                assert late.alert_id == r.json()["alert_id"] and late.headline == "Gezocht: scooter"
            async with socket_to(a.ws + "/ws/field", boa["access_token"]) as tablet:  # once, not again
                assert isinstance(await tablet.recv(), Welcome)
                with pytest.raises(TimeoutError):
                    await tablet.recv_until(lambda f: isinstance(f, AreaAlert), timeout=1.0)
        conn = await asyncpg.connect(database_url)
        try:
            reached = await conn.fetchval(
                "SELECT unit_ids FROM area_alerts WHERE id = $1", r.json()["alert_id"]
            )
        finally:
            await conn.close()
        assert list(reached) == [world.unit_a]  # the record says the unit got it, late


async def test_a_register_answer_posted_through_b_wakes_the_boas_request_on_a_at_once(
    database_url: str, tmp_path: Path
) -> None:
    world = await world_with_bridge(database_url)
    async with instances(database_url, tmp_path) as (a, b):
        service = await login(b.base, "bridge_mk")
        boa = await login(a.base, "boa_a", world.tablet_a)
        async with (
            httpx.AsyncClient(base_url=a.base, headers=bearer(boa), timeout=20) as on_a,
            httpx.AsyncClient(base_url=b.base, headers=bearer(service)) as bridge,
        ):
            asking = asyncio.create_task(
                on_a.post(
                    "/api/register-queries",
                    json={
                        "kind": "vehicle",
                        "plate": "12-abc-1",
                        "purpose": "controle bestelbus",
                        "legal_basis": "art. 160 WVW 1994",
                    },
                )  # fmt: skip
            )
            async with asyncio.timeout(5):
                while not (pending := (await bridge.get("/api/bridge/register-queries")).json()):
                    await asyncio.sleep(0.05)
            (query,) = pending
            await asyncio.sleep(1.2)  # the request on A has settled into waiting
            answer = {"status": "found", "result": {"merk": "VOLKSWAGEN"}, "source": "politie-sim"}
            r = await bridge.post(f"/api/bridge/register-queries/{query['query_id']}/answer", json=answer)
            answered = time.monotonic()
            assert r.status_code == 200 and r.json()["taken"] is True, r.text
            got = await asking
            waited = time.monotonic() - answered
        assert got.status_code == 200, got.text
        assert got.json()["status"] == "found" and got.json()["result"] == {"merk": "VOLKSWAGEN"}
        assert waited < 0.8, waited  # woken by NOTIFY, not by the request's own look each second
