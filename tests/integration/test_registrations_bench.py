"""The registrations benchmark runs end to end at tiny size and checks what it stored (numbers, not speed)."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import pytest

from backend.registrations.bench import run_registrations_bench
from tests.conftest import new_database


async def test_registrations_benchmark_reports_throughput_and_integrity(
    pg_server: str, template_db: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SCHAKEL_DATABASE_URL", await new_database(pg_server, template_db))
    out = tmp_path / "bench-registrations.json"
    args = ["--clients", "2", "--per-client", "10", "--photo-kb", "4", "--out", str(out)]
    code = await asyncio.wait_for(asyncio.to_thread(run_registrations_bench, args), 90)
    result = json.loads(out.read_text())
    assert code == 0 and result["errors"] == 0
    assert result["registrations"] == 20 and result["registrations_per_s"] > 0
    assert result["integrity"] == {"expected": 20, "stored": 20, "complete": 20, "photos": 20, "ok": True}
    assert set(result["latency_ms"]) == {"p50", "p95", "p99", "max"}
