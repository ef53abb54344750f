"""Kill the bridge and the reference partner (SIGKILL, real processes) again and again while messages flow
both ways; afterwards every message has arrived exactly once, in order, on both sides."""

from __future__ import annotations

import asyncio
import contextlib
import random
import sqlite3
import subprocess
import sys
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime
from pathlib import Path

import asyncpg
import pytest

from backend.db.pool import create_pool
from meldkamer_bridge import outbox
from meldkamer_bridge.adapters import status
from shared.protocol import UnitStatus
from tests.integration.harness import free_port

TO_PARTNER = 3000  # unit-status messages the bridge sends, queued at about 500/s
FROM_PARTNER = 1500  # incidents the partner sends, queued at about 200/s
KILLS = 8  # alternately the bridge and the partner, each time something moved and more is in flight
ROOT = Path(__file__).resolve().parents[2]


class Proc:
    """A child process we can kill -9 and start again."""

    def __init__(self, args: list[str], log: Path) -> None:
        self.args = args
        self.log = log
        self.proc: subprocess.Popen[bytes] | None = None
        self.kills = 0

    def start(self) -> None:
        with self.log.open("ab") as out:
            self.proc = subprocess.Popen([sys.executable, *self.args], cwd=ROOT, stdout=out, stderr=out)

    def kill(self) -> None:
        assert self.proc is not None
        self.proc.kill()
        self.proc.wait(10)
        self.kills += 1

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(10)


@contextlib.contextmanager
def processes(*procs: Proc) -> Iterator[None]:
    try:
        for p in procs:
            p.start()
        yield
    finally:
        for p in procs:
            p.stop()


@pytest.fixture
async def pool(database_url: str) -> AsyncIterator[asyncpg.Pool]:
    p = await create_pool(database_url, min_size=1, max_size=4)
    yield p
    await p.close()


async def test_killing_bridge_and_partner_mid_stream_loses_and_doubles_nothing(
    database_url: str, pool: asyncpg.Pool, tmp_path: Path
) -> None:
    port = free_port()
    sim_db = tmp_path / "sim.sqlite3"
    sim = Proc(
        [
            "-m",
            "meldkamer_bridge.simulator",
            "--port",
            str(port),
            "--db",
            str(sim_db),
            "--every",
            "0.005",
            "--max-incidents",
            str(FROM_PARTNER),
            "--quiet",
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
            f"gms-sim=ws://127.0.0.1:{port}/",
        ],
        tmp_path / "bridge.log",
    )
    rng = random.Random(6)
    at = datetime(2026, 11, 22, 19, 0, tzinfo=UTC)
    done = (TO_PARTNER, FROM_PARTNER)

    async def progress() -> tuple[int, int]:
        async with pool.acquire() as conn:
            acked, _ = await outbox.outbound_state(conn, "gms-sim")
            return acked, await outbox.inbound_seq(conn, "gms-sim")

    kill_points = []
    with processes(sim, bridge):
        queued = 0
        last = await progress()
        async with asyncio.timeout(120):
            while (now := await progress()) != done:
                if queued < TO_PARTNER:  # keep the outbox filling while things break
                    async with pool.acquire() as conn, conn.transaction():
                        for _ in range(50):
                            queued += 1
                            body = status.encode_status(
                                rng.choice(list(UnitStatus)),
                                unit=f"HH-{queued:04d}",
                                organisation="amsterdam",
                                since=at,
                            )
                            await outbox.enqueue(
                                conn, "gms-sim", "unit_status", body, msg_id=f"status-{queued}"
                            )
                if len(kill_points) < KILLS and now != last and now[0] < queued:
                    victim = sim if len(kill_points) % 2 else bridge
                    victim.kill()
                    kill_points.append(("partner" if victim is sim else "bridge", *now))
                    await asyncio.sleep(rng.uniform(0.0, 0.3))  # down for a moment; the other side goes on
                    victim.start()
                    last = now
                await asyncio.sleep(0.1)
    print("killed at (who, acked, inbound):", kill_points)

    # faults happened mid-stream on both sides
    assert sim.kills >= 3 and bridge.kills >= 3, kill_points
    assert all(acked < TO_PARTNER for _, acked, _ in kill_points)
    # the partner side: every status message once, in order of arrival, with the bridge's message ids
    db = sqlite3.connect(sim_db)
    rows = db.execute(
        "SELECT seq, msg_id, rejected FROM inbox WHERE peer = 'schakel' ORDER BY rowid"
    ).fetchall()
    sent = [r[0] for r in db.execute("SELECT msg_id FROM outbox WHERE peer = 'schakel' ORDER BY seq")]
    db.close()
    assert [r[0] for r in rows] == list(range(1, TO_PARTNER + 1))
    assert [r[1] for r in rows] == [f"status-{i}" for i in range(1, TO_PARTNER + 1)]
    assert all(r[2] is None for r in rows)  # all valid
    # the bridge side: every incident once, in order
    async with pool.acquire() as conn:
        inbox = await conn.fetch("SELECT seq, msg_id FROM bridge_inbox WHERE partner = 'gms-sim' ORDER BY id")
        (m,) = await outbox.metrics(conn, "gms-sim")
    assert sent == [f"sim:incident:{n}" for n in range(1, FROM_PARTNER + 1)]
    assert [r["seq"] for r in inbox] == list(range(1, FROM_PARTNER + 1))
    assert [r["msg_id"] for r in inbox] == sent
    assert (m.queue_depth, m.delivered, m.rejected) == (0, TO_PARTNER, 0)
