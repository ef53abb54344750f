"""The duo view across instances: a tablet on instance A is told where its partner's device is when that
device reports through instance B (read from the positions table each tick, never a message per position)."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import httpx

from shared.protocol import Hello, PartnerPositions, PositionReported, Welcome
from tests.integration.cluster import instances
from tests.integration.harness import login, socket_to
from tests.integration.world import FAR_AWAY, NIEUWE_ZIJDE, OUDE_ZIJDE, build_world


async def test_a_tablet_on_a_sees_its_partners_tracker_reporting_through_b(
    database_url: str, tmp_path: Path
) -> None:
    world = await build_world(database_url)
    async with instances(database_url, tmp_path) as (a, b):
        boa = await login(a.base, "boa_a", world.tablet_a)
        async with socket_to(a.ws + "/ws/field", None) as ws, httpx.AsyncClient(base_url=b.base) as http:
            await ws.send(Hello(token=boa["access_token"], protocol=2))
            assert isinstance(await ws.recv(), Welcome)
            await ws.send(PositionReported(seq=1, lon=OUDE_ZIJDE[0], lat=OUDE_ZIJDE[1], at=datetime.now(UTC)))
            now = int(datetime.now(UTC).timestamp())
            for ago, (lon, lat) in (
                (4, FAR_AWAY),
                (2, NIEUWE_ZIJDE),
            ):  # the partner walks on; the tablet follows
                r = await http.get(
                    "/osmand", params={"id": "123456", "lat": lat, "lon": lon, "timestamp": now - ago}
                )
                assert r.status_code == 200  # answered once durable (on B)
                frame = await ws.recv_until(
                    lambda f, where=(lon, lat): (
                        isinstance(f, PartnerPositions) and [(x.lon, x.lat) for x in f.fixes] == [where]
                    )
                )
                (fix,) = frame.fixes
                assert fix.device_id == world.tracker_a  # never the tablet's own position
        assert a.services.hub.links.get(world.tracker_a) is None  # A never held the tracker itself
