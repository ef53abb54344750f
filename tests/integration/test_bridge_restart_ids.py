"""A restarted bridge sends no unchanged state again, and what it sends keeps stable ids: the status feed's
ids come from the state (and the state last queued is in the database), CAP and EIDO ids from stored ids."""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, datetime
from pathlib import Path

import asyncpg

from meldkamer_bridge import outbox
from shared.protocol import (
    Ack,
    NoodknopPressed,
    PositionReported,
    StatusChanged,
    UnitStatus,
    Welcome,
)
from tests.integration.harness import login, make_settings, running, socket_to
from tests.integration.test_bridge_link import bridge, next_of, partner, pool, world_with_bridge_account
from tests.integration.world import OUDE_ZIJDE

__all__ = ["pool"]  # the fixture, shared with the link tests


async def drained(pool: asyncpg.Pool) -> None:
    """Everything queued has reached the partner."""
    async with asyncio.timeout(10):
        while True:
            async with pool.acquire() as conn:
                if (await outbox.metrics(conn, "gms-sim"))[0].queue_depth == 0:
                    return
            await asyncio.sleep(0.05)


async def test_a_restarted_bridge_sends_unchanged_state_never_again_and_new_state_with_stable_ids(
    database_url: str, pool: asyncpg.Pool, tmp_path: Path
) -> None:
    world = await world_with_bridge_account(database_url, pool)
    async with running(make_settings(database_url, tmp_path)) as server, partner(tmp_path) as (sim, port):
        session = await login(server.base, "boa_a", world.tablet_a)
        async with socket_to(server.ws + "/ws/field", session["access_token"]) as ws:
            assert isinstance(await ws.recv(), Welcome)
            now = datetime.now(UTC)
            await ws.send(PositionReported(seq=1, lon=OUDE_ZIJDE[0], lat=OUDE_ZIJDE[1], at=now))
            await ws.send(StatusChanged(seq=2, status=UnitStatus.EN_ROUTE, at=now))
            await ws.send(NoodknopPressed(seq=3, at=now, lon=OUDE_ZIJDE[0], lat=OUDE_ZIJDE[1]))
            await ws.recv_until(lambda f: isinstance(f, Ack) and f.upto == 3)
            async with bridge(database_url, pool, port, backend=server, avl_interval_s=0.2):
                seen: set[str] = set()
                async with asyncio.timeout(10):
                    while not {"avl", "cap", "unit_status", "unit_roster"} <= seen:
                        seen.add((await sim.received.get()).type)
                await asyncio.sleep(1.0)  # let the feed settle: roster, statuses, positions, alert
                await drained(pool)
            before = sim.store.received(limit=10_000)
            assert {"unit_roster", "unit_status", "avl", "cap"} <= {str(e["type"]) for e in before}
            # the same state, a new bridge process: nothing new reaches the partner
            async with bridge(database_url, pool, port, backend=server, avl_interval_s=0.2):
                await asyncio.sleep(1.5)
                await drained(pool)
                assert sim.store.received(limit=10_000) == before
                while not sim.received.empty():
                    sim.received.get_nowait()
                # a real change after the restart goes out, once
                await ws.send(StatusChanged(seq=4, status=UnitStatus.ON_SCENE, at=datetime.now(UTC)))
                report = await next_of(sim, "unit_status")
                await asyncio.sleep(0.5)
                await drained(pool)
            assert json.loads(report.body)["status"] == "on_scene"
            # and once more, unchanged: the ids are those of the state, not of the process
            async with bridge(database_url, pool, port, backend=server, avl_interval_s=0.2):
                await asyncio.sleep(1.5)
                await drained(pool)
        after = sim.store.received(limit=10_000)
    new = [e for e in after if e not in before]
    assert [(e["type"], e["msg_id"]) for e in new] == [("unit_status", report.msg_id)]
    assert report.msg_id.startswith("schakel:status:")
    ids = [e["msg_id"] for e in after]
    assert len(ids) == len(set(ids))  # every message once
