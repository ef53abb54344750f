"""POST /api/bridge/incidents: a partner's batch of handed-over incidents made in one call, in order, each
item on its own — a bad one refused alone with its field and reason, a repeated one answered with the
melding made the first time — and only for the service account."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import pytest

from backend.db.pool import create_pool
from meldkamer_bridge.adapters import eido
from meldkamer_bridge.simulator import sample_incident
from tests.integration.harness import bearer, login, make_settings, running
from tests.integration.test_bridge_incidents import until
from tests.integration.test_bridge_link import bridge, partner, world_with_bridge_account
from tests.integration.world import OUDE_ZIJDE


@pytest.fixture
async def pool(database_url: str) -> AsyncIterator[asyncpg.Pool]:
    p = await create_pool(database_url, min_size=1, max_size=4)
    yield p
    await p.close()


def _item(n: int, **changes: Any) -> dict[str, Any]:
    return {"category": f"Afval {n}", "priority": 2, "lon": OUDE_ZIJDE[0], "lat": OUDE_ZIJDE[1],
            "source": "gms-sim", "external_id": f"urn:batch:{n}", **changes}  # fmt: skip


async def test_a_batch_makes_each_melding_once_in_order_and_refuses_a_bad_item_alone(
    database_url: str, pool: asyncpg.Pool, tmp_path: Path
) -> None:
    await world_with_bridge_account(database_url, pool)
    async with running(make_settings(database_url, tmp_path)) as server:
        service = await login(server.base, "bridge_mk")
        async with httpx.AsyncClient(base_url=server.base, headers=bearer(service)) as http:
            r = await http.post("/api/bridge/incidents", json={"items": [_item(0)]}, headers=bearer(
                await login(server.base, "operator_mk")))  # fmt: skip
            assert r.status_code == 403, r.text

            items = [
                _item(1),
                _item(2, priority=9),  # out of range: refused by the body's rules
                _item(3),
                _item(4, lon=None, lat=None, address=""),  # no place at all
                _item(5, category=None),  # wrong type
                _item(1),  # the first one again, in the same batch
                _item(6, external_id=None),  # a handover without its partner id
                _item(7),
                _item(8, description="nul\u0000byte"),  # PostgreSQL refuses it: made again one by one
            ]
            r = await http.post("/api/bridge/incidents", json={"items": items})
            assert r.status_code == 200, r.text
            results = r.json()["results"]
            assert [o["status"] for o in results] == [201, 400, 201, 400, 400, 200, 400, 201, 400]
            assert results[1]["field"] == "priority" and results[4]["field"] == "category"
            assert results[3]["field"] == "address" and results[6]["field"] == "external_id"
            assert all(o["reason"] for o in results if o["status"] == 400)
            assert results[5]["incident_id"] == results[0]["incident_id"]
            made = [results[i]["incident_id"] for i in (0, 2, 7)]
            assert made == sorted(made)  # made in the items' order

            # the whole batch again (a retry after a lost answer): nothing new, the same meldingen
            again = (await http.post("/api/bridge/incidents", json={"items": items})).json()["results"]
            assert [o["status"] for o in again] == [200, 400, 200, 400, 400, 200, 400, 200, 400]
            assert [o["incident_id"] for o in again if o["status"] == 200] == [
                made[0],
                made[1],
                made[0],
                made[2],
            ]

            # one call made each melding as POST /api/incidents does: its timeline says so, once
            async with pool.acquire() as conn:
                rows = await conn.fetch(
                    """SELECT i.id, i.category, count(e.id) AS lines FROM incidents i
                       JOIN incident_events e ON e.incident_id = i.id AND e.kind = 'created'
                       WHERE i.source = 'gms-sim' GROUP BY i.id ORDER BY i.id"""
                )
            assert [(r["id"], r["category"], r["lines"]) for r in rows] == [
                (made[0], "Afval 1", 1), (made[1], "Afval 3", 1), (made[2], "Afval 7", 1)
            ]  # fmt: skip
            incident = (await http.get(f"/api/incidents/{made[1]}")).json()
            assert incident["incident"]["category"] == "Afval 3"

            r = await http.post("/api/bridge/incidents", json={"items": []})
            assert r.status_code == 400 and r.json()["field"] == "items"


async def test_through_the_bridge_a_batch_becomes_meldingen_and_a_placeless_incident_is_declined_alone(
    database_url: str, pool: asyncpg.Pool, tmp_path: Path
) -> None:
    """The real path: the partner sends 30 incidents, the 11th without any place; the bridge hands them over
    in one batch call, 29 become meldingen once, the bad one is answered `declined` with the reason."""
    await world_with_bridge_account(database_url, pool)
    agency = "gms.gmk-amsterdam-amstelland.nl"
    nowhere = eido.IncidentHandover(
        external_id="urn:emergency:uid:incidentid:nowhere:" + agency,
        issued_by=agency,
        incident_type="Public Order",
        category="Zonder plaats",
        priority=2,
        partner_priority="P2",
        lon=None,
        lat=None,
        description="geen locatie",
        at=datetime.now(UTC),
        partner_incident_id="GMS-NOWHERE",
    )
    incidents = [sample_incident(n) for n in range(1, 31)]
    incidents[10] = ("sim:incident:nowhere", eido.encode_incident(nowhere, agency=agency).decode())
    async with running(make_settings(database_url, tmp_path)) as server, partner(tmp_path) as (sim, port):
        async with bridge(database_url, pool, port, backend=server):
            sim.send_incidents(incidents)

            async def all_recorded() -> bool:
                async with pool.acquire() as conn:
                    done = await conn.fetchval(
                        "SELECT count(*) FROM bridge_inbox WHERE type = 'eido' AND processed_at IS NOT NULL"
                    )
                return bool(done == 30)

            await until(all_recorded, within=60)

            def declined() -> list[eido.IncidentUpdate]:
                return [
                    u
                    for u in (eido.decode_update(str(e["body"]).encode()) for e in sim.store.received()
                              if e["type"] == "eido_update")
                    if u.progress is eido.Progress.DECLINED
                ]  # fmt: skip

            async def one_declined() -> list[eido.IncidentUpdate]:
                return declined()

            (refusal,) = await until(one_declined, within=30)
    assert refusal.external_id == nowhere.external_id and "address" in refusal.note
    async with pool.acquire() as conn:
        made = await conn.fetch("SELECT external_id FROM incidents WHERE source = 'gms-sim'")
        results = await conn.fetch("SELECT msg_id, result FROM bridge_inbox WHERE type = 'eido' ORDER BY seq")
    assert len(made) == 29 and nowhere.external_id not in {r["external_id"] for r in made}
    assert len({r["external_id"] for r in made}) == 29  # each once
    assert [r["msg_id"] for r in results if not r["result"].startswith("melding ")] == [
        "sim:incident:nowhere"
    ]
    assert results[10]["result"].startswith("refused: 400")
