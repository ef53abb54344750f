"""The bridge benchmark runs end to end (small numbers; `schakel bench bridge` gives real figures)."""

from __future__ import annotations

from meldkamer_bridge.bench import run


async def test_bench_reports_throughput_and_noodknop_delay() -> None:
    results = await run(messages=300, alerts=3, inbound=200)
    # inbound end to end, through the real backend: every incident a melding, once
    assert results["inbound_per_s_serial"] > 0 and results["inbound_per_s_batched"] > 0
    assert results["inbound_meldingen_made"] == 600 and results["inbound_each_once"]
    assert results["inbound_intake_in_outage_per_s"] > 0 and results["inbound_drain_after_outage_per_s"] > 0
    assert results["inbound_taken_in_per_s_batched"] > 0 and results["loadavg_start"]
    assert results["delivered_per_s"] > 0 and results["enqueue_per_s_batched"] > 0
    assert 0 < results["noodknop_ms_own_link_median"] < 1000
