"""The app against the real backend when a P1 takes its unit over: the boa is on the way to a P3, the operator
assigns the unit to a P1 ("Overnemen voor P1"); the P3 task is withdrawn on the tablet with the reason, the
P1 arrives on top and rings, and a late tap on the old task does nothing."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest

from tests.mobile.conftest import KIVY_MISSING

pytest.importorskip("kivy", reason=KIVY_MISSING)

from shared.protocol import Snapshot  # noqa: E402
from tests.integration.harness import bearer, login, make_settings, running, socket_to  # noqa: E402
from tests.integration.world import OUDE_ZIJDE, build_world  # noqa: E402
from tests.mobile.test_app_against_backend import until  # noqa: E402
from tests.mobile.test_app_dispatch_against_backend import Watch, on_duty, outbox_empty  # noqa: E402


async def test_a_p1_takes_the_unit_and_the_tablet_drops_the_p3_and_rings_for_the_p1(
    database_url: str, tmp_path: Path
) -> None:
    world = await build_world(database_url)
    async with running(make_settings(database_url, tmp_path)) as server:
        op_session = await login(server.base, "operator_mk")
        async with (
            httpx.AsyncClient(base_url=server.base, headers=bearer(op_session)) as http,
            socket_to(server.ws + "/ws/operator", op_session["access_token"]) as op,
            on_duty(server, world, tmp_path / "tablet") as app,
        ):
            assert isinstance(await op.recv(), Snapshot)
            watch = Watch(op)
            alarms: list[int] = []
            app.tasks.bind(on_alarm=lambda _, priority: alarms.append(priority))

            async def melding(priority: int, category: str, address: str) -> int:
                body = {"category": category, "priority": priority, "address": address,
                        "lon": OUDE_ZIJDE[0], "lat": OUDE_ZIJDE[1]}  # fmt: skip
                r = await http.post("/api/incidents", json=body)
                assert r.status_code == 201, r.text
                return int(r.json()["incident_id"])

            async def assign(incident_id: int) -> int:
                r = await http.post(f"/api/incidents/{incident_id}/tasks", json={"unit_id": world.unit_a})
                assert r.status_code == 201 and r.json()["sent"] is True, r.text
                return int(r.json()["task_id"])

            p3 = await melding(3, "Afval", "Damstraat 1")
            old = await assign(p3)
            await until(app.tasks, "rows", lambda: bool(app.tasks.rows))
            app.tasks.advance(old)  # accepted
            app.tasks.advance(old)  # aanrijdend
            await watch.until(lambda: "A-01: aanrijdend" in watch.timeline)
            assert alarms == [3] and app.tasks.open_count == 1

            p1 = await melding(1, "Vechtpartij", "Oudekerksplein 1")
            new = await assign(p1)
            await until(app.tasks, "rows", lambda: len(app.tasks.rows) == 2 and app.tasks.open_count == 1)
            first, second = app.tasks.rows
            assert (first["task_id"], first["urgent"], first["title"]) == (new, True, "Vechtpartij")
            assert first["action"] == "Accepteren"
            reason = "overgenomen voor P1: Vechtpartij"
            assert second["task_id"] == old and second["closed"]
            assert second["state"] == f"Ingetrokken  —  reden: {reason}"
            assert alarms == [3, 1]
            # the newest notice is the P1; the withdrawal of the P3 is there too, with the reason
            assert "Nieuwe taak" in app.tasks.banner
            texts = [b["text"] for b in app.tasks.banners]
            assert any("Ingetrokken door de meldkamer" in b and reason in b for b in texts)

            app.tasks.advance(old)  # a late tap on the withdrawn task: nothing is sent
            app.tasks.advance(new)  # the P1 is accepted
            await outbox_empty(app)
            await watch.until(lambda: "A-01: geaccepteerd" in watch.timeline[-3:])
            detail = (await http.get(f"/api/incidents/{p3}")).json()
            assert [t["state"] for t in detail["incident"]["tasks"]] == ["cancelled"]
            assert f"A-01 overgenomen voor P1-melding #{p1} (Vechtpartij)" in [
                e["text"] for e in detail["timeline"]
            ]
            assert [e["text"] for e in detail["timeline"]].count("A-01: geaccepteerd") == 1
