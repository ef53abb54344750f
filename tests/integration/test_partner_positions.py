"""A tablet is told where the other devices of its unit (the duo partner's phone) are, once per change."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import httpx

from shared.protocol import Hello, PartnerPositions, PositionReported, Welcome
from tests.integration.harness import login, make_settings, running, socket_to
from tests.integration.world import FAR_AWAY, OUDE_ZIJDE, build_world


async def test_a_protocol_2_tablet_sees_its_partners_tracker(database_url: str, tmp_path: Path) -> None:
    world = await build_world(database_url)
    async with running(make_settings(database_url, tmp_path)) as server:
        boa = await login(server.base, "boa_a", world.tablet_a)
        async with (
            socket_to(server.ws + "/ws/field", None) as ws,
            httpx.AsyncClient(base_url=server.base) as http,
        ):
            await ws.send(Hello(token=boa["access_token"], protocol=2))
            assert isinstance(await ws.recv(), Welcome)
            await ws.send(PositionReported(seq=1, lon=OUDE_ZIJDE[0], lat=OUDE_ZIJDE[1], at=datetime.now(UTC)))
            # the partner's Traccar Client reports for the same unit
            r = await http.get(
                "/osmand",
                params={
                    "id": "123456",
                    "lat": FAR_AWAY[1],
                    "lon": FAR_AWAY[0],
                    "timestamp": int(datetime.now(UTC).timestamp()),
                },
            )
            assert r.status_code == 200
            frame = await ws.recv_until(lambda f: isinstance(f, PartnerPositions) and f.fixes)
            (fix,) = frame.fixes
            assert fix.device_id == world.tracker_a  # never the tablet's own position
            assert (fix.lon, fix.lat) == FAR_AWAY


async def test_a_protocol_1_tablet_is_not_sent_frames_it_does_not_know(
    database_url: str, tmp_path: Path
) -> None:
    world = await build_world(database_url)
    async with running(make_settings(database_url, tmp_path)) as server:
        boa = await login(server.base, "boa_a", world.tablet_a)
        async with (
            socket_to(server.ws + "/ws/field", boa["access_token"]) as ws,
            httpx.AsyncClient(base_url=server.base) as http,
        ):
            assert isinstance(await ws.recv(), Welcome)
            r = await http.get("/osmand", params={"id": "123456", "lat": FAR_AWAY[1], "lon": FAR_AWAY[0]})
            assert r.status_code == 200
            await ws.send(PositionReported(seq=1, lon=OUDE_ZIJDE[0], lat=OUDE_ZIJDE[1], at=datetime.now(UTC)))
            ack = await ws.recv_until(
                lambda f: not isinstance(f, PartnerPositions) and getattr(f, "upto", 0) == 1
            )
            assert ack.upto == 1
            # ticks pass (forced here, besides the server's own every 0.1 s): no `partners` frame comes
            for _ in range(3):
                await server.services.hub.tick(datetime.now(UTC))
            try:
                extra = await ws.recv(timeout=0.5)
            except TimeoutError:
                extra = None
            assert not isinstance(extra, PartnerPositions)
