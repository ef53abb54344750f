"""Benchmarks of the live path: `schakel bench NAME [options]` (see docs/performance.md)."""

from __future__ import annotations

import subprocess
import sys

BENCHMARKS = ("ingest", "alarms", "bridge", "chaos", "cluster", "rooster")


def run_bench(name: str, args: list[str]) -> int:
    """Run one benchmark with its command-line options; returns the exit code (1 when a target is missed)."""
    if name == "ingest":
        from backend.bench.ingest import run

        return run(args)
    if name == "alarms":
        from backend.bench.alarms import run as run_alarms

        return run_alarms(args)
    if name == "chaos":
        from backend.bench.chaos import run as run_chaos

        return run_chaos(args)
    if name == "cluster":  # two instances behind HAProxy, one PostgreSQL
        from backend.bench.cluster import run as run_cluster

        return run_cluster(args)
    if name == "rooster":  # the CP-SAT rooster solver: no server, no database
        from backend.bench.rooster import run as run_rooster

        return run_rooster(args)
    if name == "bridge":  # the bridge is a program of its own: run its benchmark as one
        return subprocess.call([sys.executable, "-m", "meldkamer_bridge.bench", *args])
    raise ValueError(f"unknown benchmark {name!r}; known: {', '.join(BENCHMARKS)}")
