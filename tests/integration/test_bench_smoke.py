"""The ingest benchmark runs end to end at a tiny size and reports every figure (numbers, not speed)."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import pytest

from backend.bench import run_bench
from tests.conftest import new_database


async def test_ingest_benchmark_reports_positive_throughput(
    pg_server: str, template_db: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SCHAKEL_DATABASE_URL", await new_database(pg_server, template_db))
    out = tmp_path / "bench-ingest.json"
    args = [
        "--devices",
        "2",
        "--seconds",
        "2",
        "--operators",
        "2",
        "--rate",
        "40",
        "--ingest-rate",
        "200",
        "--window",
        "20",
        "--workers",
        "1",
        "--drain",
        "3",
        "--json",
        str(out),
    ]
    code = await asyncio.wait_for(asyncio.to_thread(run_bench, "ingest", args), 60)

    result = json.loads(out.read_text())
    assert code == (0 if result["pass"] else 1)
    assert {"machine", "parameters", "phases", "ingest_ratio", "targets", "integrity", "pass"} <= set(result)
    assert result["machine"]["nproc"] >= 1 and result["machine"]["python"]
    phases = result["phases"]
    assert set(phases) == {"saturation", "sustained", "fanout", "baseline"}
    for name in ("saturation", "sustained", "baseline"):
        assert phases[name]["positions_per_s"] > 0, name
        assert phases[name]["ack_p99_ms"] is not None, name
        assert phases[name]["errors"] == [], name
    fanout = phases["fanout"]
    assert fanout["operators_connected"] == 2
    assert fanout["operator_samples"] > 0 and fanout["operator_latency_p99_ms"] is not None
    assert result["targets"]["fanout_frames_per_tick"]["pass"]  # coalescing holds at any size
    assert result["ingest_ratio"] > 0
    integrity = result["integrity"]
    assert integrity["ok"] and integrity["stored_rows"] >= integrity["acked"] > 0
    assert set(result["targets"]) >= {
        "ingest_throughput",
        "ingest_ack_p99",
        "fanout_latency_p99",
        "fanout_frames_per_tick",
        "ingest_ratio",
        "nothing_lost_or_doubled",
    }


async def test_alarm_benchmark_counts_every_alarm_at_every_receiver(
    pg_server: str, template_db: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SCHAKEL_DATABASE_URL", await new_database(pg_server, template_db))
    out = tmp_path / "bench-alarms.json"
    args = ["--devices", "4", "--consoles", "2", "--rate", "40", "--alarms", "8", "--seconds", "2"]
    args += ["--workers", "1", "--drain", "1", "--json", str(out)]
    code = await asyncio.wait_for(asyncio.to_thread(run_bench, "alarms", args), 120)

    result = json.loads(out.read_text())
    assert code == (0 if result["pass"] else 1)
    assert set(result["phases"]) == {"baseline", "loaded"}
    for name, phase in result["phases"].items():
        assert phase["errors"] == [], name
        assert phase["planned"] == phase["sent"] == phase["stored"] == 8, name
        assert phase["console_receipts"] == phase["console_receipts_expected"] == 16, name
        assert phase["partner_received"] == 8, name  # noodknop and man-down both reach the police
        assert phase["console"]["p99_ms"] is not None and phase["partner"]["p99_ms"] is not None, name
    assert result["phases"]["baseline"]["positions"]["sent"] == 0
    assert result["phases"]["loaded"]["positions"]["positions_per_s"] > 0
    assert result["targets"]["none_lost"]["pass"]
    assert result["ratios"]["console_p99"] is not None and result["ratios"]["partner_p99"] is not None


async def test_rooster_benchmark_plans_repairs_and_reports_its_figures(tmp_path: Path) -> None:
    out = tmp_path / "bench-rooster.json"
    code = await asyncio.wait_for(
        asyncio.to_thread(run_bench, "rooster", ["--quick", "--json", str(out)]), 60
    )

    result = json.loads(out.read_text())
    assert code == (0 if result["pass"] else 1)
    assert set(result["phases"]) == {"plan", "repair", "long"}
    for name, phase in result["phases"].items():
        assert phase["status"] in ("optimaal", "haalbaar"), name
        assert phase["first_feasible_s"] is not None and phase["assignments"] > 0, name
        assert phase["bound"] <= phase["objective"], name
        assert 0 <= phase["uncovered_boa_shifts"] <= phase["demand_boa_shifts"], name
        assert phase["hard_violations"] == 0, (name, phase["hard_violation_rules"])  # the independent checker
    repair = result["phases"]["repair"]
    assert repair["sick_still_planned"] == 0 and repair["frozen_days_changed"] == 0
    assert repair["changed"] >= 1
    assert result["phases"]["long"]["days"] == 42
    assert set(result["targets"]) == {"no_hard_violations", "first_feasible", "repair"}
