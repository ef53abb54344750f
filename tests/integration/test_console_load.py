"""Benchmark (opt-in): the console with 200 moving units; frame handling time measured in the browser.

Run with
`SCHAKEL_BENCH=1 .venv/bin/python -m pytest -q -p no:logging -s tests/integration/test_console_load.py`.
It reports numbers and asserts only that the page kept up (every unit shown); there is no timed assertion.
"""

from __future__ import annotations

import asyncio
import json
import math
import os
import statistics
from contextlib import AsyncExitStack
from datetime import UTC, datetime
from pathlib import Path

import pytest

from backend.db.pool import create_pool
from backend.orgs import repository as orgs
from backend.shifts import repository as shifts
from shared.protocol import PositionReported
from tests.integration.browser import chromium, device_token, log_in, screenshot, skip_without_chromium
from tests.integration.harness import PASSWORD, make_settings, running, socket_to
from tests.integration.world import OUDE_ZIJDE, build_world

UNITS = int(os.environ.get("SCHAKEL_BENCH_UNITS", "200"))
SECONDS = float(os.environ.get("SCHAKEL_BENCH_SECONDS", "30"))

pytestmark = [
    pytest.mark.browser,
    skip_without_chromium(),
    pytest.mark.skipif(
        os.environ.get("SCHAKEL_BENCH") != "1", reason="benchmark: set SCHAKEL_BENCH=1 to run"
    ),
]


async def add_units(url: str, org_id: int, count: int) -> list[tuple[int, int]]:
    """(unit id, device id) of `count` more units on shift, each with its tablet."""
    pool = await create_pool(url, min_size=1, max_size=1)
    pairs = []
    try:
        async with pool.acquire() as conn, conn.transaction():
            for i in range(count):
                unit_id = await orgs.create_unit(conn, org_id=org_id, call_sign=f"S-{i:03d}")
                device_id = await orgs.create_device(conn, org_id=org_id, name=f"sim-tablet-{i:03d}")
                await shifts.start_shift(
                    conn, unit_id=unit_id, device_id=device_id, account_ids=[], beat_ids=[]
                )
                pairs.append((unit_id, device_id))
    finally:
        await pool.close()
    return pairs


async def _drain(tablet: object) -> None:
    while True:
        await tablet.recv(timeout=3600)  # type: ignore[attr-defined]


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(math.ceil(q * len(ordered))) - 1)]


async def test_console_frame_time_with_200_moving_units(database_url: str, tmp_path: Path) -> None:
    world = await build_world(database_url)
    pairs = await add_units(database_url, world.org_a, UNITS)
    settings = make_settings(database_url, tmp_path, operator_tick_s=0.5, flush_interval_s=0.25)
    async with running(settings) as server, chromium() as page, AsyncExitStack() as stack:
        tablets = []
        for _unit_id, device_id in pairs:
            token = device_token(settings, account_id=1, org_id=world.org_a, device_id=device_id)
            tablet = await stack.enter_async_context(socket_to(server.ws + "/ws/field", token))
            await tablet.recv()
            tablets.append(tablet)
        drains = [asyncio.create_task(_drain(t)) for t in tablets]  # read the acks, as a real tablet does
        stack.callback(lambda: [d.cancel() for d in drains])
        await log_in(page, server.base, "operator_mk", PASSWORD)
        await page.evaluate("window.__schakel.frameTimes.length = 0")
        started = asyncio.get_running_loop().time()
        seq = 0
        while asyncio.get_running_loop().time() - started < SECONDS:
            seq += 1
            now = datetime.now(UTC)
            for i, tablet in enumerate(tablets):  # every unit walks a small circle, one fix per second
                angle = (seq * 5 + i * 7) % 360
                lon = (
                    OUDE_ZIJDE[0] + 0.01 * math.cos(math.radians(i)) + 0.0005 * math.cos(math.radians(angle))
                )
                lat = (
                    OUDE_ZIJDE[1] + 0.006 * math.sin(math.radians(i)) + 0.0003 * math.sin(math.radians(angle))
                )
                await tablet.send(
                    PositionReported(seq=seq, lon=lon, lat=lat, at=now, heading_deg=float(angle))
                )
            await asyncio.sleep(1.0)
        times = await page.evaluate("Array.from(window.__schakel.frameTimes)")
        shown = await page.locator(".unit-marker").count()
        await screenshot(page, "200-units", tmp_path)
    first, steady = times[0], times[1:]  # the first delta creates all 200 markers; the rest move them
    report = {
        "units": UNITS,
        "seconds": SECONDS,
        "frames": len(times),
        "first_frame_ms": round(first, 2),
        "p50_ms": round(statistics.median(steady), 2),
        "p95_ms": round(percentile(steady, 0.95), 2),
        "p99_ms": round(percentile(steady, 0.99), 2),
        "max_ms": round(max(steady), 2),
        "markers_shown": shown,
    }
    print("\nconsole frame handling:", json.dumps(report))
    (tmp_path / "console-bench.json").write_text(json.dumps(report))
    assert shown >= UNITS  # the page kept up: every moving unit is on the map
