"""The accelerometer and the charger, for man-down: plyer on Android, a simulated sensor on a desktop.

Each accelerometer calls `sample(x, y, z)` (m/s², gravity included) on the event loop a few times a second;
`charging()` says whether the tablet is on its charger (man-down pauses then).
"""

from __future__ import annotations

import asyncio
import contextlib
import random
from collections.abc import Callable
from typing import Any

Sample = Callable[[float, float, float], None]
G = 9.81


class SimulatedAccelerometer:
    """A boa carrying the tablet upright: a little sway while `pose` is "walking", none when "still", and
    lying flat after a fall ("fallen"). `--simulate` sets the pose from the keyboard (v: val, s: stil,
    l: lopen) and the status tab's "Simuleer val" button."""

    POSES = ("walking", "still", "fallen")

    def __init__(self, *, interval_s: float = 0.2, seed: int | None = None) -> None:
        self.interval_s = interval_s
        self.pose = "walking"
        self._rng = random.Random(seed)
        self._task: asyncio.Task[None] | None = None

    def start(self, sample: Sample) -> None:
        self._task = asyncio.get_running_loop().create_task(self._run(sample))

    def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()

    def reading(self) -> tuple[float, float, float]:
        if self.pose == "fallen":
            return (0.0, 0.0, G)  # face up on the ground: gravity through the screen
        if self.pose == "still":
            return (0.0, G, 0.0)
        sway = self._rng.uniform
        return (sway(-1.2, 1.2), G + sway(-1.0, 1.0), sway(-0.8, 0.8))

    async def _run(self, sample: Sample) -> None:
        while True:
            sample(*self.reading())
            await asyncio.sleep(self.interval_s)


class PlyerAccelerometer:
    """Android's accelerometer through plyer (polled: plyer keeps the latest reading)."""

    def __init__(self, *, interval_s: float = 0.2) -> None:
        self.interval_s = interval_s
        self._task: asyncio.Task[None] | None = None
        self._sensor: Any = None

    def start(self, sample: Sample) -> None:
        try:
            from plyer import accelerometer  # on Android (and iOS) only

            accelerometer.enable()
        except Exception:  # no sensor (or no plyer): man-down then has nothing to watch
            return
        self._sensor = accelerometer
        self._task = asyncio.get_running_loop().create_task(self._run(sample))

    async def _run(self, sample: Sample) -> None:
        while True:
            value = self._sensor.acceleration if self._sensor is not None else None
            if value and all(v is not None for v in value[:3]):
                sample(float(value[0]), float(value[1]), float(value[2]))
            await asyncio.sleep(self.interval_s)

    def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
        if self._sensor is not None:
            with contextlib.suppress(Exception):
                self._sensor.disable()


class NoAccelerometer:
    """A desktop without --simulate: no samples, so no no-motion alarm either."""

    def start(self, sample: Sample) -> None:
        pass

    def stop(self) -> None:
        pass


def plyer_charging() -> bool:
    """Whether an Android tablet is on its charger (plyer's battery); False when it cannot tell."""
    try:
        from plyer import battery

        return bool((battery.status or {}).get("isCharging"))
    except Exception:
        return False
