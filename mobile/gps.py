"""Where the tablet is: plyer's GPS on Android, a simulated walk along the beat on a desktop.

Both call `on_fix(lon, lat, accuracy_m=…, speed_mps=…, heading_deg=…)` on the event loop.
"""

from __future__ import annotations

import asyncio
import contextlib
import math
import random
from collections.abc import Callable
from typing import Any

Fix = Callable[..., None]
WALK_MPS = 1.4
DAM = (4.8936, 52.3731)  # a start when no beat is known


class SimulatedRoute:
    """Walks around the outline of the first chosen beat (or around the Dam), one fix per `interval_s`."""

    def __init__(
        self,
        ring: Callable[[], list[tuple[float, float]]],
        *,
        interval_s: float = 1.0,
        speed: float = 1.0,
        seed: int | None = None,
    ) -> None:
        self._ring = ring
        self.interval_s = interval_s
        self.speed = speed
        self._rng = random.Random(seed)
        self._task: asyncio.Task[None] | None = None

    def start(self, on_fix: Fix) -> None:
        self._task = asyncio.get_running_loop().create_task(self._walk(on_fix))

    def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()

    def _route(self) -> list[tuple[float, float]]:
        ring = self._ring()
        if len(ring) >= 3:
            cx = sum(p[0] for p in ring) / len(ring)
            cy = sum(p[1] for p in ring) / len(ring)
            return [(cx + (x - cx) * 0.8, cy + (y - cy) * 0.8) for x, y in ring]  # just inside the outline
        return [
            (DAM[0] + 0.002 * math.cos(a / 8 * math.tau), DAM[1] + 0.0012 * math.sin(a / 8 * math.tau))
            for a in range(9)
        ]

    async def _walk(self, on_fix: Fix) -> None:
        route = self._route()
        i, (lon, lat) = 0, route[0]
        while True:
            if self._ring() and route != self._route():
                route, i = self._route(), 0
                lon, lat = route[0]
            tx, ty = route[(i + 1) % len(route)]
            k = math.cos(math.radians(lat))
            dx, dy = (tx - lon) * k * 111_320, (ty - lat) * 111_320
            dist = math.hypot(dx, dy)
            step = WALK_MPS * self.speed * self.interval_s
            if dist <= step:
                lon, lat, i = tx, ty, (i + 1) % len(route)
            else:
                lon += (tx - lon) * step / dist
                lat += (ty - lat) * step / dist
            heading = (math.degrees(math.atan2(dx, dy)) + 360) % 360
            noise = self._rng.gauss(0, 3e-6)
            on_fix(
                lon + noise,
                lat + noise,
                accuracy_m=round(self._rng.uniform(3, 8), 1),
                speed_mps=WALK_MPS * self.speed,
                heading_deg=round(heading, 1),
            )
            await asyncio.sleep(self.interval_s)


class PlyerGps:
    """Android's location service through plyer; fixes arrive on another thread and are handed to the loop."""

    def __init__(self, *, min_time_ms: int = 1000, min_distance_m: float = 1.0) -> None:
        self.min_time_ms = min_time_ms
        self.min_distance_m = min_distance_m
        self._gps: Any = None

    def start(self, on_fix: Fix) -> None:
        from plyer import gps  # imported here: plyer's GPS exists on Android (and iOS) only

        loop = asyncio.get_running_loop()
        self._ask_permissions()

        def location(**kw: Any) -> None:
            lon, lat = float(kw["lon"]), float(kw["lat"])
            accuracy = _positive(kw.get("accuracy"))
            speed = _positive(kw.get("speed"))
            bearing = kw.get("bearing")
            heading = float(bearing) % 360 if bearing not in (None, "") else None
            loop.call_soon_threadsafe(
                lambda: on_fix(lon, lat, accuracy_m=accuracy, speed_mps=speed, heading_deg=heading)
            )

        gps.configure(on_location=location)
        gps.start(minTime=self.min_time_ms, minDistance=self.min_distance_m)
        self._gps = gps

    @staticmethod
    def _ask_permissions() -> None:
        """Android 6+ asks the user at run time; without the answer the GPS stays silent."""
        with contextlib.suppress(ImportError):
            from android.permissions import Permission, request_permissions

            request_permissions(
                [Permission.ACCESS_FINE_LOCATION, Permission.ACCESS_COARSE_LOCATION, Permission.CAMERA]
            )

    def stop(self) -> None:
        if self._gps is not None:
            with contextlib.suppress(Exception):
                self._gps.stop()


def _positive(value: Any) -> float | None:
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    return number if 0 <= number <= 1e6 else None


class NoGps:
    """A desktop without --simulate: no location (registrations then say "locatie onbekend")."""

    def start(self, on_fix: Fix) -> None:
        pass

    def stop(self) -> None:
        pass
