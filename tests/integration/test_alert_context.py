"""GET /api/alerts/{id}/context against the real app and database: what the alarm banner fills in."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx

from shared.protocol import Ack, NoodknopPressed, PositionReported
from tests.integration.alarm_world import CREW, UNIT_PHONE, UNIT_PORTOFOON, build_alarm_world
from tests.integration.harness import bearer, login, make_settings, running, socket_to
from tests.integration.world import OUDE_ZIJDE


async def test_the_context_names_crew_buurt_task_and_the_nearest_available_units(
    database_url: str, tmp_path: Path
) -> None:
    aw = await build_alarm_world(database_url)
    world = aw.world
    async with running(make_settings(database_url, tmp_path)) as server:
        boa = await login(server.base, "boa_a", world.tablet_a)
        operator = await login(server.base, "operator_mk")
        lead_b = await login(server.base, "lead_b")
        async with (
            socket_to(server.ws + "/ws/field", boa["access_token"]) as tablet,
            httpx.AsyncClient(base_url=server.base) as http,
        ):
            await tablet.recv()
            fix_at = datetime.now(UTC) - timedelta(seconds=40)
            await tablet.send(
                PositionReported(seq=1, lon=OUDE_ZIJDE[0], lat=OUDE_ZIJDE[1], at=fix_at, accuracy_m=12.0)
            )
            await tablet.send(NoodknopPressed(seq=2, at=datetime.now(UTC)))
            await tablet.recv_until(lambda f: isinstance(f, Ack) and f.upto == 2)
            # a task the unit is on: the banner says what it was doing
            r = await http.post(
                "/api/incidents",
                json={
                    "category": "Overlast jeugd",
                    "priority": 2,
                    "lon": OUDE_ZIJDE[0],
                    "lat": OUDE_ZIJDE[1],
                    "address": "Oudekerksplein",
                },
                headers=bearer(operator),
            )
            assert r.status_code == 201, r.text
            r = await http.post(
                f"/api/incidents/{r.json()['incident_id']}/tasks",
                json={"unit_id": world.unit_a},
                headers=bearer(operator),
            )
            assert r.status_code == 201, r.text
            alert_id = await server.services.pool.fetchval("SELECT id FROM alerts WHERE kind = 'noodknop'")

            r = await http.get(f"/api/alerts/{alert_id}/context", headers=bearer(operator))
            assert r.status_code == 200, r.text
            ctx = r.json()
            assert ctx["call_sign"] == "A-01"
            assert [(c["name"], c["phone"], c["portofoon"]) for c in ctx["crew"]] == [
                (name, phone, portofoon) for _, name, phone, portofoon in CREW
            ]
            assert (ctx["unit_phone"], ctx["unit_portofoon"]) == (UNIT_PHONE, UNIT_PORTOFOON)
            assert [b["name"] for b in ctx["beats"]] == ["Burgwallen-Oude Zijde"]
            assert ctx["accuracy_m"] == 12.0
            assert 39 <= ctx["position_age_s"] < 60
            assert ctx["task"]["title"] == "P2 Overlast jeugd — Oudekerksplein"
            assert ctx["task"]["state"] == "assigned"
            # available units of gemeente A only, nearest first; the busy one and gemeente B's are not offered
            assert [n["call_sign"] for n in ctx["nearest"]] == ["A-03", "A-02", "A-04"]
            assert 110 < ctx["nearest"][0]["distance_m"] < 130
            assert all(n["status"] == "available" for n in ctx["nearest"])

            # a team lead of another gemeente cannot see the alarm: 404 with a Dutch reason, no 500
            r = await http.get(f"/api/alerts/{alert_id}/context", headers=bearer(lead_b))
            assert r.status_code == 404
            assert r.json()["field"] == "alert_id" and "alarm niet gevonden" in r.json()["detail"]
            r = await http.get("/api/alerts/999999/context", headers=bearer(operator))
            assert r.status_code == 404 and "alarm niet gevonden" in r.json()["detail"]
            # a boa is no operator
            r = await http.get(f"/api/alerts/{alert_id}/context", headers=bearer(boa))
            assert r.status_code == 403
            r = await http.get("/api/alerts/0/context", headers=bearer(operator))
            assert r.status_code == 400
