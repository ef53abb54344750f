"""The backend's API for the bridge: service role only, scoped to the service account's organisations, and
bad input refused with the field named."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import pytest

from backend.db.pool import create_pool
from backend.registerqueries import repository as queries
from tests.integration.harness import bearer, login, make_settings, running
from tests.integration.test_bridge_link import world_with_bridge_account
from tests.integration.world import OUDE_ZIJDE

PATHS: list[tuple[str, str, Any]] = [
    ("GET", "/api/bridge/organisations", None),
    ("GET", "/api/bridge/timeline?source=gms-sim", None),
    ("GET", "/api/bridge/register-queries", None),
    ("POST", "/api/bridge/register-queries/sent", {"query_ids": [1]}),
    ("POST", "/api/bridge/register-queries/1/answer", {"status": "found"}),
]


@pytest.fixture
async def pool(database_url: str) -> AsyncIterator[asyncpg.Pool]:
    p = await create_pool(database_url, min_size=1, max_size=4)
    yield p
    await p.close()


async def test_the_bridge_api_serves_the_service_account_within_its_organisations(
    database_url: str, pool: asyncpg.Pool, tmp_path: Path
) -> None:
    world = await world_with_bridge_account(database_url, pool)
    async with pool.acquire() as conn:
        boa_a = await conn.fetchval("SELECT id FROM accounts WHERE username = 'boa_a'")
        boa_b = await conn.fetchval("SELECT id FROM accounts WHERE username = 'boa_b'")
        basis = "art. 160 WVW"
        ours = await queries.create(conn, boa_a, "vehicle", "12ABC1", "controle", basis, {"kind": "v"})
        theirs = await queries.create(conn, boa_b, "vehicle", "34DEF5", "controle", basis, {"kind": "v"})
    async with running(make_settings(database_url, tmp_path)) as server:
        service = await login(server.base, "bridge_mk")
        async with httpx.AsyncClient(base_url=server.base, headers=bearer(service)) as http:
            for role in ("operator_mk", "admin_a", "boa_a"):
                other = bearer(await login(server.base, role))
                for method, path, body in PATHS:
                    r = await http.request(method, path, json=body, headers=other)
                    assert r.status_code == 403, (role, path, r.text)

            orgs = (await http.get("/api/bridge/organisations")).json()
            seen = {(o["code"], o["name"]) for o in orgs}
            assert seen == {("gemeente-a", "Gemeente A"), ("meldkamer-a", "Meldkamer A")}

            melding = {"category": "Afval", "priority": 2, "lon": OUDE_ZIJDE[0], "lat": OUDE_ZIJDE[1],
                       "source": "gms-sim", "external_id": "urn:x"}  # fmt: skip
            r = await http.post("/api/incidents", json=melding)
            assert r.status_code in (200, 201), r.text
            incident_id = r.json()["incident_id"]
            (line,) = (await http.get("/api/bridge/timeline", params={"source": "gms-sim"})).json()
            assert (line["incident_id"], line["kind"]) == (incident_id, "created")
            assert line["external_id"] == "urn:x" and line["units"] == []
            after = {"source": "gms-sim", "after": line["event_id"]}
            assert (await http.get("/api/bridge/timeline", params=after)).json() == []
            assert (await http.get("/api/bridge/timeline", params={"source": "politie"})).json() == []

            pending = (await http.get("/api/bridge/register-queries")).json()
            assert [q["query_id"] for q in pending] == [ours]  # not the other gemeente's
            r = await http.post(f"/api/bridge/register-queries/{theirs}/answer", json={"status": "found"})
            assert r.status_code == 200 and r.json() == {"query_id": theirs, "taken": False}
            r = await http.post("/api/bridge/register-queries/sent", json={"query_ids": [ours, theirs]})
            assert r.json() == {"count": 1}
            assert (await http.get("/api/bridge/register-queries")).json() == []
            answer = {"status": "found", "result": {"merk": "VOLKSWAGEN"}, "source": "politie-sim"}
            r = await http.post(f"/api/bridge/register-queries/{ours}/answer", json=answer)
            assert r.json() == {"query_id": ours, "taken": True}
            again = await http.post(f"/api/bridge/register-queries/{ours}/answer", json=answer)
            assert again.json()["taken"] is False  # answered once; the boa takes it

            refused: list[tuple[str, str, Any, str]] = [
                ("GET", "/api/bridge/timeline", None, "source"),
                ("GET", "/api/bridge/timeline?source=", None, "source"),
                ("GET", "/api/bridge/timeline?source=gms-sim&limit=0", None, "limit"),
                ("GET", "/api/bridge/timeline?source=gms-sim&after=-1", None, "after"),
                ("GET", "/api/bridge/timeline?source=gms-sim&after=x", None, "after"),
                ("POST", "/api/bridge/register-queries/sent", {"query_ids": []}, "query_ids"),
                ("POST", "/api/bridge/register-queries/sent", {"query_ids": [0]}, "query_ids"),
                ("POST", f"/api/bridge/register-queries/{ours}/answer", {"status": "maybe"}, "status"),
                ("POST", f"/api/bridge/register-queries/{ours}/answer", {"result": {}}, "status"),
                ("POST", "/api/bridge/register-queries/0/answer", {"status": "found"}, "query_id"),
                ("POST", f"/api/bridge/register-queries/{2**63}/answer", {"status": "found"}, "query_id"),
            ]
            for method, path, body, field in refused:
                r = await http.request(method, path, json=body)
                assert r.status_code == 400, (path, body, r.status_code, r.text)
                assert field in r.text, (path, body, r.text)
    assert world.org_a
    async with pool.acquire() as conn:
        rows = await conn.fetch("SELECT id, state FROM register_queries ORDER BY id")
    assert [(r["id"], r["state"]) for r in rows] == [(ours, "answered"), (theirs, "pending")]
