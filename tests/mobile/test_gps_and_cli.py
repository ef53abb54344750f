"""The simulated route and the command line (neither needs kivy)."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from mobile.__main__ import parse
from mobile.gps import SimulatedRoute
from shared.geo import distance_m

RING = [(4.89, 52.37), (4.90, 52.37), (4.90, 52.38), (4.89, 52.38), (4.89, 52.37)]


async def test_simulated_route_walks_inside_the_beat_at_walking_pace() -> None:
    fixes: list[tuple[float, float, dict[str, float]]] = []
    enough = asyncio.Event()

    def on_fix(lon: float, lat: float, **kw: float) -> None:
        fixes.append((lon, lat, kw))
        if len(fixes) == 20:
            enough.set()

    route = SimulatedRoute(lambda: RING, interval_s=0.001, seed=1)
    route.start(on_fix)
    try:
        await asyncio.wait_for(enough.wait(), 5)
    finally:
        route.stop()
    assert all(4.89 < lon < 4.90 and 52.37 < lat < 52.38 for lon, lat, _ in fixes)
    steps = [distance_m(a[0], a[1], b[0], b[1]) for a, b in zip(fixes, fixes[1:], strict=False)]
    assert max(steps) < 1.0  # 1.4 m/s for a millisecond, plus GPS noise
    assert all(0 <= kw["heading_deg"] <= 360 and kw["accuracy_m"] > 0 for _, _, kw in fixes)


def test_command_line_options() -> None:
    args = parse(
        ["--server", "https://schakel.example", "--device-id", "13", "--simulate", "--data-dir", "x"]
    )
    assert (args.server, args.device_id, args.simulate) == ("https://schakel.example", 13, True)
    assert args.data_dir == Path("x")
    with pytest.raises(SystemExit):
        parse(["--device-id", "dertien"])


def test_the_koppelcode_comes_from_the_option_or_in_a_simulation_from_the_demo_seed() -> None:
    from backend.demo.seed import DEMO_DEVICE_SECRET
    from mobile.app import DEMO_DEVICE_SECRET as tablet_side

    assert tablet_side == DEMO_DEVICE_SECRET  # `--simulate` logs in to the demo's tablets
    assert parse(["--device-secret", "abc"]).device_secret == "abc"
    assert parse([]).device_secret is None


def test_the_tour_without_a_tablet_number_exits_non_zero_and_says_why(tmp_path: Path) -> None:
    import os
    import subprocess
    import sys

    env = {k: v for k, v in os.environ.items() if k != "SCHAKEL_DEVICE_ID"}
    done = subprocess.run(
        [sys.executable, "-m", "mobile", "--tour", str(tmp_path / "shots")],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
    )
    assert done.returncode != 0
    assert "--device-id" in done.stderr and not (tmp_path / "shots").exists()
