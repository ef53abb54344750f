"""A tablet that was offline when its task was cancelled hears the cancellation when it reconnects."""

from __future__ import annotations

from pathlib import Path

import httpx

from shared.protocol import Ping, Pong, TaskAssigned, TaskCancelled, Welcome
from tests.integration.harness import bearer, login, make_settings, running, socket_to
from tests.integration.world import OUDE_ZIJDE, build_world


async def test_a_cancellation_missed_while_offline_arrives_on_reconnect(
    database_url: str, tmp_path: Path
) -> None:
    world = await build_world(database_url)
    async with running(make_settings(database_url, tmp_path)) as server:
        op_session = await login(server.base, "operator_mk")
        boa = await login(server.base, "boa_a", world.tablet_a)
        async with httpx.AsyncClient(base_url=server.base, headers=bearer(op_session)) as http:
            body = {"category": "Afval", "priority": 3, "lon": OUDE_ZIJDE[0], "lat": OUDE_ZIJDE[1]}
            incident = (await http.post("/api/incidents", json=body)).json()
            async with socket_to(server.ws + "/ws/field", boa["access_token"]) as tablet:
                assert isinstance(await tablet.recv(), Welcome)
                r = await http.post(
                    f"/api/incidents/{incident['incident_id']}/tasks", json={"unit_id": world.unit_a}
                )
                task_id = r.json()["task_id"]
                await tablet.recv_until(lambda f: isinstance(f, TaskAssigned))
            r = await http.post(f"/api/tasks/{task_id}/cancel", json={"reason": "dubbel"})  # tablet offline
            assert r.status_code == 200, r.text
        async with socket_to(server.ws + "/ws/field", boa["access_token"]) as tablet:
            assert isinstance(await tablet.recv(), Welcome)
            assert await tablet.recv() == TaskCancelled(task_id=task_id, reason="dubbel")  # and why
            await tablet.send(Ping(nonce=1))
            assert await tablet.recv() == Pong(nonce=1)  # nothing else owed
