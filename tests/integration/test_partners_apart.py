"""A duo whose two devices (the tablet and a boa's tracker) report positions far apart raises one alert."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import httpx

from shared.protocol import Delta, PositionReported, Snapshot
from tests.integration.harness import login, make_settings, running, socket_to
from tests.integration.world import FAR_AWAY, OUDE_ZIJDE, build_world


async def test_duo_partners_far_apart_raise_one_alert_and_clear(database_url: str, tmp_path: Path) -> None:
    world = await build_world(database_url)
    # the duo is apart at once here (apart_min_s=0): the hysteresis has its own tests
    async with running(make_settings(database_url, tmp_path, apart_min_s=0)) as server:
        boa = await login(server.base, "boa_a", world.tablet_a)
        operator = await login(server.base, "operator_mk")
        async with (
            socket_to(server.ws + "/ws/operator", operator["access_token"]) as op,
            socket_to(server.ws + "/ws/field", boa["access_token"]) as ws,
            httpx.AsyncClient(base_url=server.base) as http,
        ):
            assert isinstance(await op.recv(), Snapshot)
            await ws.recv()
            await ws.send(PositionReported(seq=1, lon=OUDE_ZIJDE[0], lat=OUDE_ZIJDE[1], at=datetime.now(UTC)))
            # the partner's phone (Traccar Client, unit A) is kilometres away
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
            delta = await op.recv_until(
                lambda f: isinstance(f, Delta) and any(a.kind.value == "partners_apart" for a in f.alerts)
            )
            alert = next(a for a in delta.alerts if a.kind.value == "partners_apart")
            assert alert.unit_id == world.unit_a and alert.call_sign == "A-01"
            # together again: the state clears and no second alert is raised
            r = await http.get(
                "/osmand",
                params={
                    "id": "123456",
                    "lat": OUDE_ZIJDE[1] + 0.0005,
                    "lon": OUDE_ZIJDE[0],
                    "timestamp": int(datetime.now(UTC).timestamp()) + 1,
                },
            )
            assert r.status_code == 200
            delta = await op.recv_until(
                lambda f: (
                    isinstance(f, Delta)
                    and any(u.unit_id == world.unit_a and not u.partners_apart for u in f.units)
                )
            )
            assert not any(a.kind.value == "partners_apart" for a in delta.alerts)
