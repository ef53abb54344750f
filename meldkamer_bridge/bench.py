"""`python -m meldkamer_bridge.bench`: messages/s through the outbox and over the link, how long a noodknop
CAP takes to reach the police side when the link is busy, and inbound incidents/s end to end (serial, one
per transaction and one backend call each, against batched, in the same run).

Everything runs on this machine: an embedded PostgreSQL in a temporary directory, the reference partner on a
loopback port, the bridge's links in this process; for the inbound figure also the real backend
(`schakel serve`, in its own process), which makes each incident a melding.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import secrets
import signal
import socket
import statistics
import sys
import tempfile
import time
from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import asyncpg
import msgspec

from meldkamer_bridge import outbox
from meldkamer_bridge.adapters import cap, status
from meldkamer_bridge.app import Bridge
from meldkamer_bridge.config import BridgeConfig, Partner
from meldkamer_bridge.simulator import Simulator, sample_incident
from meldkamer_bridge.simulator.store import SqliteStore
from shared.protocol import AlertKind, UnitStatus

if TYPE_CHECKING:  # the backend's bench helpers are imported when a run needs them
    from backend.bench.stats import CpuMeter

BRIDGE_ACCOUNT = "bench-bridge-inbound"
INBOUND_BATCH = 500  # inbox messages per hand-over in the batched runs


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


class PartnerProcess:
    """The reference partner (`python -m meldkamer_bridge.simulator`) in a process of its own, on the state
    file the bench's in-process partner used; the bench queues its backlog in that file and pokes it."""

    def __init__(self, proc: asyncio.subprocess.Process, store: SqliteStore) -> None:
        self.proc = proc
        self.store = store

    def send_incidents(self, incidents: list[tuple[str, str]], peer: str = "schakel") -> int:
        queued = self.store.enqueue_many(peer, "eido", incidents)
        self.proc.send_signal(signal.SIGUSR1)  # send them now, not at its next look
        return queued


@contextlib.asynccontextmanager
async def partner_process(db: Path, name: str, port: int, tmp: Path) -> AsyncIterator[PartnerProcess]:
    """`python -m meldkamer_bridge.simulator` on `db` and `port`, until its port answers; stopped on the way
    out (terminated, killed after a grace period)."""
    from backend.bench.processes import child_env, stop_process

    log_path = tmp / f"partner-{name}.log"
    with log_path.open("wb") as log_file:
        proc = await asyncio.create_subprocess_exec(
            sys.executable,
            *("-m", "meldkamer_bridge.simulator", "--db", str(db), "--name", name, "--port", str(port)),
            "--quiet",
            env=child_env(),
            stdin=asyncio.subprocess.DEVNULL,
            stdout=log_file,
            stderr=log_file,
        )
    store = SqliteStore(db)
    try:
        async with asyncio.timeout(30):
            while True:  # up when its port answers
                if proc.returncode is not None:
                    raise RuntimeError(f"the partner exited: {log_path.read_text()[-2000:]}")
                try:
                    _, writer = await asyncio.open_connection("127.0.0.1", port)
                except OSError:
                    await asyncio.sleep(0.05)
                    continue
                writer.close()
                break
        yield PartnerProcess(proc, store)
    finally:
        store.close()
        await stop_process(proc, grace=10.0)


async def _wait_acked(pool: asyncpg.Pool, partner: str, seq: int) -> None:
    async with asyncio.timeout(120):
        while True:
            async with pool.acquire() as conn:
                if (await outbox.outbound_state(conn, partner))[0] >= seq:
                    return
            await asyncio.sleep(0.01)


async def _inbound_end_to_end(
    config: BridgeConfig,
    pool: asyncpg.Pool,
    meldkamer: PartnerProcess,
    first: int,
    count: int,
    batch: int,
    meters: Callable[[], dict[str, CpuMeter]] | None = None,
) -> tuple[float, float, dict[str, float]]:
    """Incidents/s from the partner's backlog to meldingen: `count` incidents queued at the meldkamer
    partner, then sent over the link (validated against the EIDO schema, stored in the inbox, acknowledged),
    handed to the backend (POST /api/bridge/incidents, or one POST /api/incidents each with `batch` 1) and
    recorded; the clock runs from the queueing until the last is recorded in the inbox as a melding.
    Also: how fast they were taken in (stored in the inbox and acknowledged to the partner)."""
    bridge = Bridge(msgspec.structs.replace(config, inbound_batch=batch), pool)
    task = asyncio.create_task(bridge.run())
    try:
        async with asyncio.timeout(60):
            for connected in (*bridge.links_connected.values(), bridge.backend_connected):
                await connected.wait()
        incidents = [sample_incident(n) for n in range(first, first + count)]  # made before the clock runs
        async with pool.acquire() as c:
            before = await c.fetchval("SELECT count(*) FROM bridge_inbox WHERE type = 'eido'")
        running = meters() if meters is not None else {}  # CPU over the clock's window only
        start = time.perf_counter()
        meldkamer.send_incidents(incidents)
        stored_at = None
        async with asyncio.timeout(900):
            while True:
                async with pool.acquire() as c:
                    row = await c.fetchrow(
                        """SELECT count(*), count(processed_at) FROM bridge_inbox WHERE type = 'eido'"""
                    )
                assert row is not None  # count(*) always answers
                stored, done = row
                if stored_at is None and stored >= before + count:
                    stored_at = time.perf_counter()
                if done >= before + count:
                    break
                await asyncio.sleep(0.02)
        end = time.perf_counter()
        cpu = {name: meter.stop() for name, meter in running.items()}
        assert stored_at is not None
        return count / (end - start), count / (stored_at - start), cpu
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task


async def _inbox_counts(pool: asyncpg.Pool) -> tuple[int, int]:
    async with pool.acquire() as c:
        row = await c.fetchrow("SELECT count(*), count(processed_at) FROM bridge_inbox WHERE type = 'eido'")
    assert row is not None  # count(*) always answers
    return int(row[0]), int(row[1])


async def _until(pool: asyncpg.Pool, *, stored: int = 0, done: int = 0, poll: float = 0.02) -> int:
    """Wait until the inbox holds `stored` incidents and `done` of them are processed; how many are."""
    async with asyncio.timeout(900):
        while True:
            have_stored, have_done = await _inbox_counts(pool)
            if have_stored >= stored and have_done >= done:
                return have_done
            await asyncio.sleep(poll)


async def _inbound_outage(
    config: BridgeConfig,
    pool: asyncpg.Pool,
    meldkamer: PartnerProcess,
    first: int,
    count: int,
    backend: Callable[[], contextlib.AbstractAsyncContextManager[object]],
) -> tuple[float, float]:
    """The two halves of inbound one after the other, as in a backend outage: the bridge runs, the backend is
    down; `count` incidents queued at the partner are taken in (validated, stored in the inbox, acknowledged)
    while nothing can be handed over — the intake alone; then the backend comes back (`backend()` starts it
    on the same address) and the bridge drains the backlog into meldingen — the drain alone, timed from the
    backend answering (the bridge is told to try at once rather than after its retry pause; its login is
    timed).
    (taken in/s, drained/s)."""
    bridge = Bridge(config, pool)
    task = asyncio.create_task(bridge.run())
    try:
        async with asyncio.timeout(60):
            for connected in bridge.links_connected.values():
                await connected.wait()
        incidents = [sample_incident(n) for n in range(first, first + count)]  # made before the clock runs
        before, done_before = await _inbox_counts(pool)
        start = time.perf_counter()
        meldkamer.send_incidents(incidents)
        await _until(pool, stored=before + count)
        taken_in = count / (time.perf_counter() - start)
        async with backend():
            back_at = time.perf_counter()
            bridge.inbound.wake()  # the backend is back: try now, not after the retry pause
            await _until(pool, done=done_before + count)
            drained = count / (time.perf_counter() - back_at)
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
    return taken_in, drained


def _meters(backend_pid: int, partner_pid: int, tmp: Path) -> dict[str, CpuMeter]:
    """CPU meters (started) of the parties of an inbound run: this process (the bridge; the bench's own
    polling is a little of it), the backend, the partner and PostgreSQL (postmaster and backends)."""
    from backend.bench.stats import CpuMeter

    meters = {
        "bridge": CpuMeter(os.getpid()),
        "backend": CpuMeter(backend_pid),
        "partner": CpuMeter(partner_pid),
    }
    with contextlib.suppress(OSError, ValueError, IndexError):
        postmaster = int((tmp / "pg" / "postmaster.pid").read_text().split()[0])
        meters["postgres"] = CpuMeter(postmaster, children=True)
    for meter in meters.values():
        meter.start()
    return meters


async def _inbound_world(url: str) -> None:
    """A gemeente with the Amsterdam beats, its meldkamer and the bridge's service account there."""
    from backend.bench.world import PASSWORD, build_world
    from backend.orgs import repository as orgs

    world = await build_world(url, devices=1, operators=1, suffix="bridge")
    conn = await asyncpg.connect(url)
    try:
        await orgs.create_account(
            conn, org_id=world.meldkamer_id, username=BRIDGE_ACCOUNT, password=PASSWORD, role="service"
        )
    finally:
        await conn.close()


def _loadavg() -> str:
    with contextlib.suppress(OSError):
        return Path("/proc/loadavg").read_text().strip()
    return "unknown"


async def _inbound_phase(
    url: str, tmp: Path, pool: asyncpg.Pool, config: BridgeConfig, meldkamer: PartnerProcess, inbound: int
) -> dict[str, Any]:
    from backend.bench.processes import schakel_server
    from backend.bench.world import PASSWORD

    await _inbound_world(url)
    secret, port = secrets.token_urlsafe(48), _port()
    async with schakel_server(url, secret, tmp, port) as (base, server):
        with_backend = msgspec.structs.replace(
            config, backend_url=base, username=BRIDGE_ACCOUNT, password=PASSWORD
        )
        serial, serial_in, _ = await _inbound_end_to_end(with_backend, pool, meldkamer, 1, inbound, batch=1)
        batched, batched_in, cpu = await _inbound_end_to_end(
            with_backend,
            pool,
            meldkamer,
            inbound + 1,
            inbound,
            batch=INBOUND_BATCH,
            meters=lambda: _meters(server.pid, meldkamer.proc.pid, tmp),
        )
        cpu_window = inbound / batched
    batched_config = msgspec.structs.replace(with_backend, inbound_batch=INBOUND_BATCH)
    back = lambda: schakel_server(url, secret, tmp, port)  # noqa: E731  # the backend again, same address
    intake, drain = await _inbound_outage(batched_config, pool, meldkamer, 2 * inbound + 1, inbound, back)
    async with pool.acquire() as c:
        made = await c.fetchrow(
            """SELECT count(*) AS n, count(DISTINCT external_id) AS distinct_ids FROM incidents
               WHERE source = 'meldkamer'"""
        )
        results = await c.fetchval(
            "SELECT count(*) FROM bridge_inbox WHERE type = 'eido' AND result LIKE 'melding %'"
        )
    assert made is not None  # count(*) always answers
    return {
        "inbound_messages": inbound,
        "inbound_per_s_serial": round(serial),
        "inbound_per_s_batched": round(batched),
        "inbound_batched_over_serial": round(batched / serial, 1),
        "inbound_taken_in_per_s_serial": round(serial_in),
        "inbound_taken_in_per_s_batched": round(batched_in),
        "inbound_intake_in_outage_per_s": round(intake),
        "inbound_drain_after_outage_per_s": round(drain),
        "inbound_drain_over_serial": round(drain / serial, 1),
        # CPU per message of each party in the batched end-to-end run (ms): on one machine they share its
        # cores, so the end-to-end rate is at most cores / total CPU per message
        "inbound_cpu_ms_per_message_batched": {k: round(v * 1000 / inbound, 2) for k, v in cpu.items()},
        "inbound_cpu_ms_per_message_total": round(sum(cpu.values()) * 1000 / inbound, 2),
        "inbound_cores_busy_batched": round(sum(cpu.values()) / cpu_window, 2),
        "cores": os.cpu_count(),
        "inbound_meldingen_made": made["n"],
        "inbound_each_once": made["n"] == made["distinct_ids"] == results == 3 * inbound,
    }


async def _outbound_phases(
    config: BridgeConfig,
    pool: asyncpg.Pool,
    meldkamer: Simulator,
    police: Simulator,
    messages: int,
    alerts: int,
) -> dict[str, Any]:
    results: dict[str, Any] = {}
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
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
    return results


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
        results: dict[str, Any] = {"messages": messages, "loadavg_start": _loadavg()}

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

        meldkamer_db = tmp / "meldkamer.sqlite3"
        meldkamer = Simulator(meldkamer_db, name="meldkamer")
        police = Simulator(tmp / "police.sqlite3", name="police")
        m_port, p_port = _port(), _port()
        config = BridgeConfig(
            database_url=url,
            partners=(
                Partner(name="meldkamer", url=f"ws://127.0.0.1:{m_port}/"),
                Partner(name="police", url=f"ws://127.0.0.1:{p_port}/"),
            ),
            meldkamer="meldkamer",
            police="police",
        )
        async with police.serving("127.0.0.1", p_port):
            async with meldkamer.serving("127.0.0.1", m_port):
                results.update(await _outbound_phases(config, pool, meldkamer, police, messages, alerts))
            meldkamer.close()
            # 4. inbound, end to end: incidents from the meldkamer partner made meldingen by the real backend,
            #    serial (one message per transaction and one backend call each, as before batching) and
            #    batched, each incident once and in order. The partner runs in a process of its own here (its
            #    state file goes on where the in-process one left it), as a real meldkamer's system would: it
            #    does not take CPU from the bridge's event loop.
            if inbound:
                async with partner_process(meldkamer_db, "meldkamer", m_port, tmp) as partner:
                    results.update(await _inbound_phase(url, tmp, pool, config, partner, inbound))
        police.close()
        await pool.close()
        results["loadavg_end"] = _loadavg()
        return results
    finally:
        server.cleanup()


INBOUND_TARGET_PER_S = 1000.0  # issue: ≥ 1,000 inbound messages/s, each half of the way on its own
NOODKNOP_TARGET_MS = 1000.0


def targets(results: dict[str, Any]) -> dict[str, bool]:
    """Which targets the run met (a figure the run did not measure is left out)."""
    met = {}
    if "noodknop_ms_own_link_max" in results:
        met["noodknop_ms_own_link_max"] = results["noodknop_ms_own_link_max"] <= NOODKNOP_TARGET_MS
    for key in ("inbound_intake_in_outage_per_s", "inbound_drain_after_outage_per_s"):
        if key in results:
            met[key] = results[key] >= INBOUND_TARGET_PER_S
    if "inbound_each_once" in results:
        met["inbound_each_once"] = bool(results["inbound_each_once"])
    return met


def table(results: dict[str, Any]) -> str:
    """The figures as a table for a person; the JSON after it is the record."""
    met = targets(results)
    rows: list[tuple[str, str, str]] = []

    def row(label: str, key: str, target: str = "") -> None:
        if key in results:
            verdict = "" if key not in met else (" ok" if met[key] else " MISSED")
            rows.append((label, str(results[key]), target + verdict))

    row("outbox: enqueue/s, one per transaction", "enqueue_per_s_one_per_tx")
    row("outbox: enqueue/s, 100 per transaction", "enqueue_per_s_batched")
    row("link: backlog delivered/s (stored at the partner)", "delivered_per_s")
    row("noodknop to the police, own link: median ms", "noodknop_ms_own_link_median")
    row("noodknop to the police, own link: max ms", "noodknop_ms_own_link_max", "<= 1000")
    for key in results:
        if key.startswith("noodknop_ms_behind_"):
            row("noodknop behind a backlog on the same link: ms", key)
    row("inbound end to end, serial (baseline): /s", "inbound_per_s_serial")
    row("inbound end to end, batched: /s", "inbound_per_s_batched")
    row("  batched / serial", "inbound_batched_over_serial")
    row("inbound intake alone (backend down): /s", "inbound_intake_in_outage_per_s", ">= 1000")
    row("inbound drain alone (backend back): /s", "inbound_drain_after_outage_per_s", ">= 1000")
    row("  drain / serial", "inbound_drain_over_serial")
    for party, cpu_ms in results.get("inbound_cpu_ms_per_message_batched", {}).items():
        rows.append((f"CPU ms per message, batched end to end: {party}", str(cpu_ms), ""))
    row("  total (all parties)", "inbound_cpu_ms_per_message_total")
    row("  cores busy / cores", "inbound_cores_busy_batched", f"of {results.get('cores')}")
    row("each incident one melding, once", "inbound_each_once", "true")
    width = max(len(label) for label, _, _ in rows)
    value_width = max(len(value) for _, value, _ in rows)
    lines = [f"{label:<{width}}  {value:>{value_width}}  {target}".rstrip() for label, value, target in rows]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m meldkamer_bridge.bench", description=__doc__)
    p.add_argument("--messages", type=int, default=5000)
    p.add_argument("--alerts", type=int, default=20)
    p.add_argument(
        "--inbound", type=int, default=2000, help="incidents through the inbox, serial and batched"
    )
    args = p.parse_args(argv)
    results = asyncio.run(run(args.messages, args.alerts, args.inbound))
    results["targets_met"] = targets(results)
    print(table(results))
    print(json.dumps(results, indent=2, ensure_ascii=False))
    return 0 if all(results["targets_met"].values()) else 1


if __name__ == "__main__":
    raise SystemExit(main())
