"""The kenteken check against the RDW simulator over real HTTP: a boa on shift sees make, model, colour, APK,
WAM and open recalls (never an owner), each lookup with its purpose in the audit log; when the RDW times out,
throttles, fails or talks nonsense the boa gets the cached answer saying so, or a clear 503."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import asyncpg
import httpx
import pytest

from backend.db.pool import create_pool
from backend.kenteken.simulator import RdwSimulator
from backend.partnersim import serving
from shared.kenteken import NO_OWNER_DATA
from tests.integration.harness import bearer, login, make_settings, running
from tests.integration.world import build_world

PURPOSE = "controle foutparkeerder Damrak"


@pytest.fixture
async def pool(database_url: str) -> AsyncIterator[asyncpg.Pool]:
    p = await create_pool(database_url, min_size=1, max_size=4)
    yield p
    await p.close()


async def test_a_boa_on_shift_checks_a_kenteken_and_sees_the_cached_answer_when_the_rdw_fails(
    database_url: str, pool: asyncpg.Pool, tmp_path: Path
) -> None:
    world = await build_world(database_url)
    sim = RdwSimulator()
    sim.delay_s = 2.0
    async with serving(sim.app) as rdw_url:
        settings = make_settings(database_url, tmp_path, rdw_url=rdw_url, rdw_timeout_s=0.5)
        async with running(settings) as server:
            boa = await login(server.base, "boa_a", world.tablet_a)
            lead = await login(server.base, "lead_a")
            async with httpx.AsyncClient(base_url=server.base, headers=bearer(boa), timeout=10) as http:
                r = await http.get("/api/kenteken/12-abc-1", params={"purpose": PURPOSE})
                assert r.status_code == 403 and r.json()["field"] == "kenteken", r.text  # not on shift yet
                r = await http.post("/api/shifts", json={"unit_id": world.unit_a})
                assert r.status_code == 201, r.text

                r = await http.get("/api/kenteken/12-abc-1", params={"purpose": PURPOSE})
                assert r.status_code == 200, r.text
                van = r.json()
                assert van["kenteken"] == "12ABC1" and van["found"] and van["source"] == "rdw"
                assert (
                    van["vehicle"]["merk"] == "VOLKSWAGEN"
                    and van["vehicle"]["handelsbenaming"] == "TRANSPORTER"
                )
                assert van["vehicle"]["kleur"] == "WIT" and van["vehicle"]["apk_vervaldatum"] == "2027-03-12"
                assert (
                    van["vehicle"]["wam_verzekerd"] is True and van["vehicle"]["open_terugroepactie"] is False
                )
                assert van["notice"] == NO_OWNER_DATA

                r = await http.get("/api/kenteken/G-921-GS", params={"purpose": PURPOSE})
                car = r.json()["vehicle"]
                assert car["kleur"] == "GRIJS / BLAUW" and car["wam_verzekerd"] is False
                assert car["open_terugroepactie"] is True and car["terugroepacties"] == ["RDW-2024-0042"]

                r = await http.get("/api/kenteken/99ZZZ9", params={"purpose": PURPOSE})
                assert r.status_code == 200 and r.json()["found"] is False and r.json()["vehicle"] is None

                for bad, field in (("12-ABC", "kenteken"), ("12ABC1XX", "kenteken"), ("12ABC1", "purpose")):
                    params = {"purpose": PURPOSE} if field == "kenteken" else {"purpose": "kort"}
                    r = await http.get(f"/api/kenteken/{bad}", params=params)
                    assert r.status_code == 400 and r.json()["field"] == field, r.text
                r = await http.get("/api/kenteken/12ABC1")
                assert r.status_code == 400 and r.json()["field"] == "purpose"

                for mode, says in (
                    ("timeout", "niet op tijd"),
                    ("error", "HTTP 503"),
                    ("throttle", "te veel vragen"),
                    ("malformed", "onleesbaar"),
                    ("wrong_shape", "onleesbaar"),
                ):
                    sim.mode = mode
                    r = await http.get("/api/kenteken/12ABC1", params={"purpose": PURPOSE})
                    assert r.status_code == 200, (mode, r.text)
                    cached = r.json()
                    assert cached["source"] == "cache" and says in cached["message"], (mode, cached)
                    assert (
                        cached["vehicle"]["merk"] == "VOLKSWAGEN"
                        and cached["fetched_at"] == van["fetched_at"]
                    )
                    r = await http.get(
                        "/api/kenteken/XX99XX", params={"purpose": PURPOSE}
                    )  # never asked before
                    assert r.status_code == 503 and says in r.json()["detail"], (mode, r.text)
                sim.mode = "ok"
                r = await http.get("/api/kenteken/XX99XX", params={"purpose": PURPOSE})
                assert (
                    r.json()["vehicle"]["kleur"] == "ZWART" and r.json()["vehicle"]["apk_vervaldatum"] is None
                )

                r = await http.get("/api/kenteken/12ABC1", params={"purpose": PURPOSE}, headers=bearer(lead))
                assert r.status_code == 403
    async with pool.acquire() as conn:
        log = await conn.fetch(
            "SELECT object_id, result, reason FROM audit_log WHERE object_type = 'kenteken' ORDER BY id"
        )
        cache = await conn.fetchval("SELECT count(*) FROM kenteken_cache")
    results = [(r["object_id"], r["result"]) for r in log]
    assert results[:4] == [
        ("12ABC1", "denied"),
        ("12ABC1", "found"),
        ("G921GS", "found"),
        ("99ZZZ9", "not_found"),
    ]
    assert results.count(("12ABC1", "cache")) == 5 and results.count(("XX99XX", "unavailable")) == 5
    assert results[-1] == ("XX99XX", "found")
    assert all(r["reason"] == PURPOSE for r in log)
    assert cache == 4  # what the RDW answered, the unknown kenteken too (so offline says "not found")
