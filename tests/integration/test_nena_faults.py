"""Kill the bridge and the NENA reference partner (SIGKILL, real processes) again and again while EIDOs flow
both ways over the NENA conveyance; afterwards every EIDO has arrived exactly once on both sides."""

from __future__ import annotations

import asyncio
import random
import sqlite3
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path

import asyncpg
import pytest

from backend.db.pool import create_pool
from meldkamer_bridge import outbox
from meldkamer_bridge.adapters import eido
from tests.integration.harness import free_port
from tests.integration.test_bridge_faults import Proc, processes

TO_PARTNER = 400  # progress EIDOs the bridge notifies
FROM_PARTNER = 300  # incidents the partner notifies, queued at about 100/s
KILLS = 6


@pytest.fixture
async def pool(database_url: str) -> AsyncIterator[asyncpg.Pool]:
    p = await create_pool(database_url, min_size=1, max_size=4)
    yield p
    await p.close()


def update(i: int) -> bytes:
    return eido.encode_update(
        eido.IncidentUpdate(
            external_id=f"urn:emergency:uid:incidentid:kill{i:06d}:gms.example.nl",
            agency="handhaving.amsterdam.nl",
            progress=eido.Progress.ACCEPTED,
            at=datetime(2026, 11, 22, 19, 0, tzinfo=UTC),
            melding_id=i,
        )
    )


async def test_killing_either_side_of_the_nena_conveyance_loses_and_doubles_nothing(
    database_url: str, pool: asyncpg.Pool, tmp_path: Path
) -> None:
    partner_port, schakel_port = free_port(), free_port()
    sim_db = tmp_path / "nena.sqlite3"
    sim = Proc(
        [
            "-m",
            "meldkamer_bridge.simulator.nena_partner",
            "--port",
            str(partner_port),
            "--db",
            str(sim_db),
            "--subscribe",
            f"ws://127.0.0.1:{schakel_port}/",
            "--every",
            "0.01",
            "--max-incidents",
            str(FROM_PARTNER),
        ],
        tmp_path / "sim.log",
    )
    bridge = Proc(
        [
            "-m",
            "meldkamer_bridge",
            "--database-url",
            database_url,
            "--partners",
            f"nena=nena+ws://127.0.0.1:{partner_port}/?listen=127.0.0.1:{schakel_port}",
            "--lease-s",
            "2",
        ],
        tmp_path / "bridge.log",
    )
    rng = random.Random(7)

    def partner_inbox() -> int:
        if not sim_db.exists():
            return 0
        db = sqlite3.connect(sim_db)
        try:
            return int(db.execute("SELECT count(*) FROM inbox").fetchone()[0])
        except sqlite3.OperationalError:
            return 0
        finally:
            db.close()

    async def progress() -> tuple[int, int]:
        async with pool.acquire() as conn:
            n = await conn.fetchval("SELECT count(*) FROM bridge_inbox WHERE partner = 'nena'")
        return partner_inbox(), int(n)

    kills: list[tuple[str, int, int]] = []
    with processes(sim, bridge):
        async with pool.acquire() as conn, conn.transaction():
            for i in range(1, TO_PARTNER + 1):
                await outbox.enqueue(conn, "nena", "eido_update", update(i), msg_id=f"schakel:progress:{i}:1")
        last = await progress()
        async with asyncio.timeout(150):
            while (now := await progress()) != (TO_PARTNER, FROM_PARTNER):
                if len(kills) < KILLS and now != last and now[0] < TO_PARTNER:
                    victim = sim if len(kills) % 2 else bridge
                    victim.kill()
                    kills.append(("partner" if victim is sim else "bridge", *now))
                    await asyncio.sleep(rng.uniform(0.0, 0.3))
                    victim.start()
                    last = now
                await asyncio.sleep(0.1)
        await asyncio.sleep(1.0)  # a late double would show up now
        final = await progress()
    print("killed at (who, partner has, bridge has):", kills)
    assert sim.kills >= 2 and bridge.kills >= 2, kills
    assert final == (TO_PARTNER, FROM_PARTNER)
    db = sqlite3.connect(sim_db)
    got = [eido.decode_update(r[0].encode()).melding_id for r in db.execute("SELECT body FROM inbox")]
    sent = db.execute("SELECT count(*) FROM outbox").fetchone()[0]
    db.close()
    assert sorted(got) == list(range(1, TO_PARTNER + 1))  # every progress EIDO once
    assert sent == FROM_PARTNER
    async with pool.acquire() as conn:
        rows = await conn.fetch("SELECT body FROM bridge_inbox WHERE partner = 'nena' ORDER BY seq")
        acked, _ = await outbox.outbound_state(conn, "nena")
    numbers = [eido.decode_incident(r["body"].encode()).partner_incident_id for r in rows]
    assert sorted(numbers) == [f"GMS-{n:06d}" for n in range(1, FROM_PARTNER + 1)]  # every incident once
    assert acked == TO_PARTNER
