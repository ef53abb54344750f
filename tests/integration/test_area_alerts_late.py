"""A police area alert the tablet gets late (it connects after the POST, here or on another instance) is shown
to the operators again with the unit it reached, on every instance; and with no other instance the POST does
not wait for one. Real instances, real websockets, one real PostgreSQL."""

from __future__ import annotations

import asyncio
import json
import time
from pathlib import Path
from typing import Any

import asyncpg
import httpx

from backend.live.cluster import CHANNEL
from backend.live.hub import OWED_ANSWER_S
from shared.protocol import AreaAlert, Delta, Snapshot, Welcome
from tests.integration.cluster import instances
from tests.integration.harness import Server, bearer, login, make_settings, running, socket_to
from tests.integration.test_cluster_police import RING, report_inside, world_with_bridge


def reached(alert_id: int, unit_ids: list[int]) -> Any:
    """A delta that shows the operator this alert with these units reached."""
    return lambda f: (
        isinstance(f, Delta) and any(a.alert_id == alert_id and a.unit_ids == unit_ids for a in f.area_alerts)
    )


async def known_inside(server: Server, unit_id: int) -> None:
    async with asyncio.timeout(5):  # the picture has the unit's position (its tick reads unit_live)
        while server.services.hub.picture.units[unit_id].lon is None:
            await asyncio.sleep(0.05)


async def test_a_late_delivery_on_another_instance_reaches_the_consoles_on_both(
    database_url: str, tmp_path: Path
) -> None:
    world = await world_with_bridge(database_url)
    async with instances(database_url, tmp_path) as (a, b):
        service = await login(b.base, "bridge_mk")
        boa = await login(a.base, "boa_a", world.tablet_a)
        operator = await login(a.base, "operator_mk")
        async with (
            httpx.AsyncClient(base_url=b.base, headers=bearer(service)) as bridge,
            socket_to(a.ws + "/ws/operator", operator["access_token"]) as console_a,
            socket_to(b.ws + "/ws/operator", operator["access_token"]) as console_b,
        ):
            for console in (console_a, console_b):
                assert isinstance(await console.recv(), Snapshot)
            async with socket_to(a.ws + "/ws/field", boa["access_token"]) as tablet:
                await report_inside(tablet)
                await known_inside(b, world.unit_a)
            # the tablet is in a dead zone when the alert comes: nobody is reached yet
            r = await bridge.post(
                "/api/area-alerts",
                json={"source": "politie", "identifier": "p-late", "headline": "Gezocht: scooter",
                      "polygons": [RING]},
            )  # fmt: skip
            assert r.status_code == 201 and r.json()["unit_ids"] == [], r.text
            alert_id = r.json()["alert_id"]
            for console in (console_a, console_b):  # both instances' consoles show it, not reached
                await console.recv_until(reached(alert_id, []), timeout=5)

            async with socket_to(a.ws + "/ws/field", boa["access_token"]) as tablet:  # back, on A
                assert isinstance(await tablet.recv(), Welcome)
                late = await tablet.recv_until(lambda f: isinstance(f, AreaAlert), timeout=5)
                assert late.alert_id == alert_id
                # "bereikt": the consoles on A (the tablet's) and on B (where it was posted) see the unit
                for console in (console_a, console_b):
                    shown = await console.recv_until(reached(alert_id, [world.unit_a]), timeout=5)
                    view = next(x for x in shown.area_alerts if x.alert_id == alert_id)
                    assert view.headline == "Gezocht: scooter"


class Notifications:
    """What goes over the instances' channel, heard by a connection of the test's own."""

    def __init__(self, conn: asyncpg.Connection) -> None:
        self.conn = conn
        self.kinds: list[str] = []
        self.marker = asyncio.Event()

    def heard(self, _conn: Any, _pid: int, _channel: str, payload: object) -> None:
        event = json.loads(str(payload))
        self.kinds.append(event.get("k"))
        if event.get("k") == "test-marker":
            self.marker.set()

    async def everything_sent_so_far(self) -> list[str]:
        """The kinds heard, once every NOTIFY committed before this call has arrived (delivery is in commit
        order: our own marker comes after them)."""
        self.marker.clear()
        await self.conn.execute("SELECT pg_notify($1, $2)", CHANNEL, json.dumps({"k": "test-marker"}))
        await asyncio.wait_for(self.marker.wait(), 5)
        return [k for k in self.kinds if k != "test-marker"]


async def test_with_one_instance_the_post_does_not_wait_for_others_and_the_late_delivery_is_shown(
    database_url: str, tmp_path: Path
) -> None:
    world = await world_with_bridge(database_url)
    async with running(make_settings(database_url, tmp_path)) as server:
        listener = await asyncpg.connect(database_url)
        notifications = Notifications(listener)
        await listener.add_listener(CHANNEL, notifications.heard)
        try:
            service = await login(server.base, "bridge_mk")
            boa = await login(server.base, "boa_a", world.tablet_a)
            operator = await login(server.base, "operator_mk")
            async with (
                httpx.AsyncClient(base_url=server.base, headers=bearer(service)) as bridge,
                socket_to(server.ws + "/ws/operator", operator["access_token"]) as console,
            ):
                assert isinstance(await console.recv(), Snapshot)
                async with socket_to(server.ws + "/ws/field", boa["access_token"]) as tablet:
                    await report_inside(tablet)
                    await known_inside(server, world.unit_a)
                started = time.monotonic()
                r = await bridge.post(
                    "/api/area-alerts",
                    json={"source": "politie", "identifier": "p-alone", "headline": "Vermist: jongen (8)",
                          "polygons": [RING]},
                )  # fmt: skip
                took = time.monotonic() - started
                assert r.status_code == 201 and r.json()["unit_ids"] == [], r.text
                # the unit is owed it, and no other instance listens: nobody was asked, nobody waited for
                assert "area" not in await notifications.everything_sent_so_far()
                assert took < OWED_ANSWER_S  # the POST did not sit out the wait for other instances
                alert_id = r.json()["alert_id"]
                await console.recv_until(reached(alert_id, []), timeout=5)

                async with socket_to(server.ws + "/ws/field", boa["access_token"]) as tablet:  # back
                    assert isinstance(await tablet.recv(), Welcome)
                    late = await tablet.recv_until(lambda f: isinstance(f, AreaAlert), timeout=5)
                    assert late.alert_id == alert_id
                    await console.recv_until(reached(alert_id, [world.unit_a]), timeout=5)
        finally:
            await listener.close()
