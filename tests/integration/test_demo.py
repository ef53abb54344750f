"""The demo: seeded Amsterdam, simulated duos walking their beats, visible live to the meldkamer operator."""

from __future__ import annotations

import asyncio
import contextlib
import json
import sqlite3
from pathlib import Path

import httpx
import pytest
from argon2 import PasswordHasher

from backend.demo.seed import DEMO_PASSWORD, seed_demo
from backend.orgs import repository as orgs_repository
from backend.simulate import simulate
from shared.protocol import Delta, Snapshot, UnitView
from tests.integration.harness import make_settings, running, socket_to

AMSTERDAM = (4.72, 52.27, 5.08, 52.43)  # lon/lat bounding box of the gemeente


def in_amsterdam(unit: UnitView) -> bool:
    west, south, east, north = AMSTERDAM
    return (
        unit.lon is not None and unit.lat is not None and west < unit.lon < east and south < unit.lat < north
    )


@pytest.fixture
def cheap_password_hashes(monkeypatch: pytest.MonkeyPatch) -> None:
    """The demo seeds 29 accounts; hash their passwords with the cheapest Argon2id parameters.

    Verification reads the parameters from the stored hash, so logging in works unchanged, only faster.
    """
    cheap = PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)
    monkeypatch.setattr(orgs_repository, "hash_password", cheap.hash)


@pytest.mark.usefixtures("cheap_password_hashes")
async def test_simulated_unit_shows_up_on_the_operator_socket(database_url: str, tmp_path: Path) -> None:
    demo = await seed_demo(database_url)
    assert demo.beats > 90 and demo.units >= 2
    async with running(make_settings(database_url, tmp_path)) as server:
        async with httpx.AsyncClient(base_url=server.base) as http:
            r = await http.post("/api/auth/login", json={"username": "operator", "password": DEMO_PASSWORD})
            assert r.status_code == 200, r.text
            operator = r.json()
        async with socket_to(server.ws + "/ws/operator", operator["access_token"]) as op:
            snapshot = await op.recv()
            assert isinstance(snapshot, Snapshot)
            assert all(u.org_id == demo.org_id for u in snapshot.units)
            walking = asyncio.create_task(simulate(server.base, units=2, duration_s=60, interval_s=0.2))
            try:
                delta = await op.recv_until(
                    lambda f: isinstance(f, Delta) and any(in_amsterdam(u) for u in f.units), timeout=20
                )
            finally:
                walking.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await walking
    unit = next(u for u in delta.units if in_amsterdam(u))
    assert unit.call_sign in ("HH-01", "HH-02")
    assert unit.status.value == "available"
    assert unit.assigned_beat_ids and unit.beat_ids  # on a shift in its beat, and geofenced


@pytest.mark.usefixtures("cheap_password_hashes")
async def test_demo_incident_from_the_meldkamer_is_tasked_and_its_status_flows_back(
    database_url: str, tmp_path: Path
) -> None:
    """`make run` in small: the reference partner hands over incidents, the demo dispatcher tasks the nearest
    duo, the simulated duo works it off, and the partner page shows the progress."""
    from meldkamer_bridge.demo import run_partner_and_bridge
    from tests.integration.harness import free_port

    await seed_demo(database_url)
    port = free_port()
    async with running(make_settings(database_url, tmp_path)) as server:
        walking = asyncio.create_task(simulate(server.base, units=2, speed=20, interval_s=0.2))
        partner = asyncio.create_task(
            run_partner_and_bridge(
                database_url=database_url, backend_url=server.base, password=DEMO_PASSWORD,
                data_dir=tmp_path, port=port, incident_every_s=2.0, nena_ports=(free_port(), free_port()),
            )
        )  # fmt: skip
        try:
            async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}") as http:
                progress: list[str] = []
                async with asyncio.timeout(60):
                    while "done" not in progress:
                        await asyncio.sleep(0.5)
                        with contextlib.suppress(httpx.HTTPError):
                            received = (await http.get("/received.json")).json()
                            progress = [
                                json.loads(r["body"])["incidentComponent"]["incidentStatusInternalText"][0]
                                for r in sorted(received, key=lambda r: r["seq"])
                                if r["type"] == "eido_update"
                            ]
        finally:
            for task in (walking, partner):
                task.cancel()
            await asyncio.gather(walking, partner, return_exceptions=True)
    assert progress[0] == "accepted"
    assert {"assigned", "en_route", "on_scene", "done"} <= set(progress)
    # next to the link, the NENA partner handed incidents over too, and heard of their progress (EIDOs)
    db = sqlite3.connect(tmp_path / "nena-sim.sqlite3")
    nena = [json.loads(body) for (body,) in db.execute("SELECT body FROM inbox ORDER BY seq")]
    db.close()
    assert "accepted" in [d["incidentComponent"]["incidentStatusInternalText"][0] for d in nena]
