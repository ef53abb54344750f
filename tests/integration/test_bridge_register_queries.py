"""Register queries by a boa go through the bridge to the police (the reference partner) and back, over real
sockets; each disclosure is logged, and the register's answer is kept nowhere."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import asyncpg
import httpx
import pytest

from backend.db.pool import create_pool
from tests.integration.harness import bearer, login, make_settings, running
from tests.integration.test_bridge_link import bridge, partner, world_with_bridge_account


@pytest.fixture
async def pool(database_url: str) -> AsyncIterator[asyncpg.Pool]:
    p = await create_pool(database_url, min_size=1, max_size=8)
    yield p
    await p.close()


async def test_a_boa_queries_the_registers_through_the_bridge_and_each_disclosure_is_logged(
    database_url: str, pool: asyncpg.Pool, tmp_path: Path
) -> None:
    world = await world_with_bridge_account(database_url, pool)
    purpose = "controle bestelbus bij melding ramkraak"
    basis = "art. 160 WVW 1994 jo. boa-domein I"
    async with running(make_settings(database_url, tmp_path)) as server, partner(tmp_path) as (sim, port):
        boa = await login(server.base, "boa_a", world.tablet_a)
        operator = await login(server.base, "operator_mk")
        async with (
            bridge(database_url, pool, port, backend=server),
            httpx.AsyncClient(base_url=server.base, headers=bearer(boa), timeout=20) as http,
        ):
            r = await http.post(
                "/api/register-queries",
                json={"kind": "vehicle", "plate": "12-abc-1", "purpose": purpose, "legal_basis": basis},
            )
            assert r.status_code == 200, r.text
            vehicle = r.json()
            assert vehicle["status"] == "found" and vehicle["subject"] == "12ABC1"
            assert (
                vehicle["result"]["merk"] == "VOLKSWAGEN" and "ramkraak" in vehicle["result"]["signalering"]
            )
            r = await http.post(
                "/api/register-queries",
                json={"kind": "driving_licence", "document_number": "4412345678", "purpose": purpose,
                      "legal_basis": basis},
            )  # fmt: skip
            assert r.status_code == 200 and r.json()["result"]["geldig"] is True, r.text
            for bad in (
                {"kind": "vehicle", "plate": "12-ABC", "purpose": purpose, "legal_basis": basis},
                {"kind": "vehicle", "purpose": purpose, "legal_basis": basis},
                {
                    "kind": "driving_licence",
                    "document_number": "12",
                    "purpose": purpose,
                    "legal_basis": basis,
                },
                {"kind": "vehicle", "plate": "12-ABC-1", "purpose": "", "legal_basis": basis},
                {"kind": "vehicle", "plate": "12-ABC-1", "purpose": purpose},
                {"kind": "passport", "plate": "12-ABC-1", "purpose": purpose, "legal_basis": basis},
                [],
            ):
                r = await http.post("/api/register-queries", json=bad)
                assert r.status_code == 400, (bad, r.text)
            r = await http.post(
                "/api/register-queries",
                json={"kind": "vehicle", "plate": "12-ABC-1", "purpose": purpose, "legal_basis": basis},
                headers=bearer(operator),
            )
            assert r.status_code == 403
        received = [e for e in sim.store.received() if e["type"] == "register_query"]
    assert len(received) == 2
    async with pool.acquire() as conn:
        log = await conn.fetch(
            "SELECT object_type, object_id, result, reason, details FROM audit_log "
            "WHERE action = 'disclosure' ORDER BY id"
        )
        kept = await conn.fetch("SELECT state, answer FROM register_queries")
        inbox = await conn.fetch("SELECT body, result FROM bridge_inbox WHERE type = 'register_answer'")
    assert [(r["object_type"], r["object_id"], r["result"], r["reason"]) for r in log] == [
        ("vehicle", "12ABC1", "granted", purpose),
        ("driving_licence", "4412345678", "granted", purpose),
    ]
    assert all(r["details"]["legal_basis"] == basis for r in log)
    assert [(r["state"], r["answer"]) for r in kept] == [("disclosed", None), ("disclosed", None)]
    assert len(inbox) == 2 and all(r["body"] == "" and r["result"].startswith("answer for") for r in inbox)
