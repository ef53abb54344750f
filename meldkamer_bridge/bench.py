"""`python -m meldkamer_bridge.bench`: messages/s through the outbox and over the link, how long a noodknop
CAP takes to reach the police side when the link is busy, and inbound messages/s through the inbox (serial,
one per transaction, against batched, in the same run).

Everything runs on this machine: an embedded PostgreSQL in a temporary directory, the reference partner on a
loopback port, the bridge's links in this process.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import socket
import statistics
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import asyncpg
import msgspec

from meldkamer_bridge import outbox
from meldkamer_bridge.adapters import cap, eido, status
from meldkamer_bridge.app import Bridge
from meldkamer_bridge.config import BridgeConfig, Partner
from meldkamer_bridge.simulator import Simulator
from shared.protocol import AlertKind, UnitStatus


def _port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _status_body(i: int) -> bytes:
    return status.encode_status(
        UnitStatus.EN_ROUTE, unit=f"HH-{i % 500:03d}", organisation="amsterdam", since=datetime.now(UTC)
    )


def _cap_body(n: int) -> bytes:
    return cap.encode_alert(
        cap.OutgoingAlert(
            message_id=f"bench:alert:{n}",
            sender="schakel@bench",
            sent=datetime.now(UTC),
            kind=AlertKind.NOODKNOP,
            call_sign="HH-01",
            organisation="Gemeente Bench",
            lon=4.897,
            lat=52.3745,
        )
    )


async def _wait_acked(pool: asyncpg.Pool, partner: str, seq: int) -> None:
    async with asyncio.timeout(120):
        while True:
            async with pool.acquire() as conn:
                if (await outbox.outbound_state(conn, partner))[0] >= seq:
                    return
            await asyncio.sleep(0.01)


async def _bench_sink(conn: Any, message: outbox.InboxMessage, incident: eido.IncidentHandover) -> str:
    """What the inbox phase hands incidents to: one row per incident, written in the inbox's transaction
    (it stands in for the backend's melding: the backend's POST /api/incidents is not in this figure)."""
    await conn.execute(
        "INSERT INTO bench_meldingen (external_id, msg_id) VALUES ($1, $2)",
        incident.external_id,
        message.msg_id,
    )
    return "bench melding"


async def _inbound_rate(
    bridge: Bridge, pool: asyncpg.Pool, meldkamer: Simulator, first: int, count: int, batch: int
) -> float:
    """Inbound messages/s: `count` incidents stored in the inbox first, then handed over with `batch`."""
    bridge.inbound.incident_sink = None  # they wait in the inbox until the clock starts
    for n in range(first, first + count):
        meldkamer.send_incident(n)
    async with asyncio.timeout(300):
        while True:
            async with pool.acquire() as c:
                if await outbox.inbound_seq(c, "meldkamer") >= first + count - 1:
                    break
            await asyncio.sleep(0.05)
    bridge.inbound.config = msgspec.structs.replace(bridge.config, inbound_batch=batch)
    start = time.perf_counter()
    bridge.inbound.incident_sink = _bench_sink
    bridge.inbound.changed.set()
    async with asyncio.timeout(600):
        while True:
            async with pool.acquire() as c:
                if not await c.fetchval("SELECT count(*) FROM bridge_inbox WHERE processed_at IS NULL"):
                    break
            await asyncio.sleep(0.01)
    return count / (time.perf_counter() - start)


async def run(messages: int, alerts: int, inbound: int = 2000) -> dict[str, Any]:
    from backend.db.embedded import start_embedded
    from backend.db.migrate import migrate
    from backend.db.pool import create_pool, with_database

    tmp = Path(tempfile.mkdtemp(prefix="schakel-bridge-bench-"))
    server, admin_url = start_embedded(tmp, delete_on_exit=True)
    try:
        admin = await asyncpg.connect(admin_url)
        await admin.execute("CREATE DATABASE bridge_bench")
        await admin.close()
        url = with_database(admin_url, "bridge_bench")
        conn = await asyncpg.connect(url)
        await migrate(conn)
        await conn.close()
        pool = await create_pool(url, min_size=2, max_size=8)
        results: dict[str, Any] = {"messages": messages}

        # 1. enqueue only: one transaction per message (the bridge's normal case), and 100 per transaction
        start = time.perf_counter()
        for i in range(1000):
            async with pool.acquire() as c, c.transaction():
                await outbox.enqueue(c, "warmup", "unit_status", _status_body(i))
        results["enqueue_per_s_one_per_tx"] = round(1000 / (time.perf_counter() - start))
        start = time.perf_counter()
        async with pool.acquire() as c:
            for batch in range(0, messages, 100):
                async with c.transaction():
                    for i in range(batch, min(batch + 100, messages)):
                        await outbox.enqueue(c, "meldkamer", "unit_status", _status_body(i))
        results["enqueue_per_s_batched"] = round(messages / (time.perf_counter() - start))

        meldkamer = Simulator(tmp / "meldkamer.sqlite3", name="meldkamer")
        police = Simulator(tmp / "police.sqlite3", name="police")
        m_port, p_port = _port(), _port()
        async with meldkamer.serving("127.0.0.1", m_port), police.serving("127.0.0.1", p_port):
            config = BridgeConfig(
                database_url=url,
                partners=(
                    Partner(name="meldkamer", url=f"ws://127.0.0.1:{m_port}/"),
                    Partner(name="police", url=f"ws://127.0.0.1:{p_port}/"),
                ),
                meldkamer="meldkamer",
                police="police",
            )
            bridge = Bridge(config, pool)
            task = asyncio.create_task(bridge.run())
            try:
                # 2. delivery of the queued backlog: stored (validated, fsynced) at the partner, acknowledged
                start = time.perf_counter()
                await _wait_acked(pool, "meldkamer", messages)
                elapsed = time.perf_counter() - start
                results["delivered_per_s"] = round(messages / elapsed)

                # 3. noodknop latency (enqueue -> stored at the police partner), on its own link, while the
                #    meldkamer link is busy with another backlog, and on the same link behind that backlog
                async with pool.acquire() as c, c.transaction():
                    for i in range(messages):
                        await outbox.enqueue(c, "meldkamer", "unit_status", _status_body(i))
                separate = []
                for n in range(alerts):
                    sent = time.perf_counter()
                    await bridge.store.enqueue("police", "cap", _cap_body(n), f"bench:alert:{n}")
                    await police.received.get()
                    separate.append(time.perf_counter() - sent)
                await _wait_acked(pool, "meldkamer", 2 * messages)
                async with pool.acquire() as c, c.transaction():
                    for i in range(messages):
                        await outbox.enqueue(c, "meldkamer", "unit_status", _status_body(i))
                sent = time.perf_counter()
                await bridge.store.enqueue("meldkamer", "cap", _cap_body(10_000), "bench:alert:behind")
                while (await meldkamer.received.get()).type != "cap":
                    pass
                behind = time.perf_counter() - sent
                results["noodknop_ms_own_link_median"] = round(statistics.median(separate) * 1000, 1)
                results["noodknop_ms_own_link_max"] = round(max(separate) * 1000, 1)
                results[f"noodknop_ms_behind_{messages}_on_same_link"] = round(behind * 1000, 1)

                # 4. inbound: incidents from the meldkamer handed over from the inbox, serial (one message
                #    per transaction, as before batching) and batched, each incident once and in order
                async with pool.acquire() as c:
                    await c.execute(
                        "CREATE TABLE bench_meldingen (external_id text PRIMARY KEY, msg_id text NOT NULL)"
                    )
                serial = await _inbound_rate(bridge, pool, meldkamer, 1, inbound, batch=1)
                batched = await _inbound_rate(bridge, pool, meldkamer, inbound + 1, inbound, batch=200)
                async with pool.acquire() as c:
                    made = await c.fetchval("SELECT count(*) FROM bench_meldingen")
                results["inbound_messages"] = inbound
                results["inbound_per_s_serial"] = round(serial)
                results["inbound_per_s_batched"] = round(batched)
                results["inbound_handed_over_once"] = made == 2 * inbound
            finally:
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task
        meldkamer.close()
        police.close()
        await pool.close()
        return results
    finally:
        server.cleanup()


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m meldkamer_bridge.bench", description=__doc__)
    p.add_argument("--messages", type=int, default=5000)
    p.add_argument("--alerts", type=int, default=20)
    p.add_argument(
        "--inbound", type=int, default=2000, help="incidents through the inbox, serial and batched"
    )
    args = p.parse_args(argv)
    print(json.dumps(asyncio.run(run(args.messages, args.alerts, args.inbound)), indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
