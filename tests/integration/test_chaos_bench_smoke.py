"""`schakel bench chaos` runs end to end at a tiny size: the real server and bridge are killed with -9 and
started again among poison frames and login floods, and the count says nothing was lost or doubled. No
timing is asserted (the machine's load decides those figures); docs/performance.md reports them."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import pytest

from backend.bench import run_bench
from tests.conftest import new_database


async def test_the_chaos_benchmark_runs_end_to_end_and_loses_nothing(
    pg_server: str, template_db: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SCHAKEL_DATABASE_URL", await new_database(pg_server, template_db))
    out = tmp_path / "bench-chaos.json"
    args = ["--devices", "2", "--frames", "300", "--rate", "100", "--noodknop-every", "0.5"]
    args += ["--baseline", "1", "--backend-kills", "1", "--bridge-kills", "1", "--down", "0.3"]
    args += ["--drain", "60", "--json", str(out)]
    code = await asyncio.wait_for(asyncio.to_thread(run_bench, "chaos", args), 400)

    result = json.loads(out.read_text())
    assert code == (0 if result["pass"] else 1)
    assert {"params", "phases", "counted", "checks", "worst_presses", "worst_ack_ratio_to_baseline"} <= set(
        result
    )
    assert result["kills"] == {"backend": 1, "bridge": 1}
    assert set(result["phases"]) == {"baseline", "chaos"}
    chaos = result["phases"]["chaos"]
    for key in (
        "noodknop_ack_p50_ms",
        "noodknop_ack_p99_ms",
        "noodknop_ack_max_ms",
        "noodknop_ack_by_context",
        "pressed_during_outage",
        "poison_sent",
        "poison_answered",
        "server_error_count",
        "orchestrator_loop_lag_max_ms",
        "presses",
    ):
        assert key in chaos, key
    assert chaos["noodknoppen"] > 0 and chaos["poison_sent"] > 0 and chaos["logins"]
    assert len(chaos["backend_outages_s"]) == 1
    counted = result["counted"]
    assert counted["positions_expected"] == 100 + 300  # the baseline (1 s at 100/s) and the chaos phase
    assert counted["positions_lost"] == 0 and counted["positions_doubled"] == 0
    assert counted["noodknoppen_doubled"] == 0
    assert result["checks"]["noodknoppen_lost_0"]
    assert counted["unacked_at_end"] == 0
    # the server's safety trace is joined to the presses: where each noodknop's time went
    assert any(p["server"] for p in chaos["presses"])
