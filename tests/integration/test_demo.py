"""The demo: seeded Amsterdam, simulated duos walking their beats, visible live to the meldkamer operator."""

from __future__ import annotations

import asyncio
import contextlib
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
