"""`schakel bench cluster --quick` runs end to end — two `schakel serve` processes behind the real HAProxy on
one database, tablets and consoles through the proxy, a kill -9 of one instance, the ceiling ramp — and its
JSON carries every figure the docs quote (numbers and counts, never speed: the machine is shared)."""

from __future__ import annotations

import asyncio
import json
import shutil
from pathlib import Path

import pytest

from backend.bench import run_bench
from tests.conftest import new_database

pytestmark = pytest.mark.skipif(
    shutil.which("haproxy") is None, reason="haproxy is not installed (apt-get install haproxy; .ci/run does)"
)


async def test_cluster_benchmark_fails_over_and_counts_every_position_and_alarm(
    pg_server: str, template_db: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SCHAKEL_DATABASE_URL", await new_database(pg_server, template_db))
    out = tmp_path / "bench-cluster.json"
    args = ["--quick", "--steady", "3", "--failover", "5", "--ceiling-steps", "1", "--json", str(out)]
    code = await asyncio.wait_for(asyncio.to_thread(run_bench, "cluster", args), 300)

    result = json.loads(out.read_text())
    assert code == (0 if result["pass"] else 1)
    assert result["benchmark"] == "cluster" and result["machine"]["nproc"] >= 1
    # HAProxy spread the clients over both instances
    assert all(n > 0 for n in result["placement"]["tablets"].values()), result["placement"]
    assert sum(result["placement"]["consoles"].values()) == 4
    steady = result["steady"]
    assert steady["errors"] == []
    for where in ("position_to_console_same", "position_to_console_other"):
        assert steady[where]["samples"] > 0 and steady[where]["p99_ms"] is not None, where
    assert steady["other_to_same_p99"] is not None  # the ratio to the same-run baseline
    assert steady["noodknop_to_console"]["samples"] > 0
    # the kill: every client that was on s1 came back on s2, and the report names each one's gap
    failover = result["failover"]
    assert failover["clients_on_killed"] > 0
    assert failover["never_back"] == []
    assert failover["clients_back"] >= failover["clients_on_killed"]
    assert {g["back_on"] for g in failover["gaps"] if g["was_on"] == "s1"} == {"s2"}
    assert failover["back_after_kill"]["max_s"] is not None and failover["gap"]["p99_s"] is not None
    # exactly once, through the failover
    counted = result["counted"]
    assert counted["positions_sent"] > 0
    assert counted["positions_lost"] == 0 and counted["positions_doubled"] == 0
    assert counted["positions_stored"] == counted["positions_sent"] and counted["positions_undelivered"] == 0
    assert counted["noodknoppen_pressed"] > 0
    assert counted["noodknoppen_stored"] == counted["noodknoppen_pressed"]
    assert counted["alarms_lost"] == 0 and counted["console_receipts_missing"] == 0
    # the ceiling from one and from two instances, with the database's CPU
    for n in ("1", "2"):
        ceiling = result["ceiling"][n]
        assert ceiling["instances"] == int(n) and ceiling["steps"], n
        assert ceiling["max_positions_per_s"] > 0, n
        assert ceiling["database_cpu_pct_at_max"] is not None, n
        assert ceiling["database_cpu_pct_per_1000_per_s"] is not None, n
    assert set(result["targets"]) == {
        "other_instance_p99",
        "noodknop_p99",
        "back_within_10s",
        "positions_exactly_once",
        "alarms_lost_0",
    }
