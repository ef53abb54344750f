"""Simulated boa duos walking their beats, speaking the real field protocol over websockets."""

from __future__ import annotations

import asyncio
import logging
import math
import random
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import httpx
import msgspec
from shapely.geometry import Point, shape

from backend.demo.seed import DEMO_DEVICE_SECRET, DEMO_PASSWORD
from shared.client import FieldClient
from shared.protocol import TaskAssigned, TaskState, UnitStatus

log = logging.getLogger(__name__)

WALK_MPS = 1.4
M_PER_DEG_LAT = 111_320.0


@dataclass
class Walker:
    """A point walking between random waypoints inside a polygon. Pure; advanced by `step`."""

    polygon: object
    lon: float
    lat: float
    rng: random.Random
    target: tuple[float, float] | None = None

    def _pick(self) -> tuple[float, float]:
        minx, miny, maxx, maxy = self.polygon.bounds  # type: ignore[attr-defined]
        for _ in range(100):
            x, y = self.rng.uniform(minx, maxx), self.rng.uniform(miny, maxy)
            if self.polygon.covers(Point(x, y)):  # type: ignore[attr-defined]
                return x, y
        return self.lon, self.lat

    def step(self, seconds: float) -> tuple[float, float, float]:
        """Walk for `seconds`; returns lon, lat, heading in degrees."""
        if self.target is None:
            self.target = self._pick()
        dx_m = (self.target[0] - self.lon) * M_PER_DEG_LAT * math.cos(math.radians(self.lat))
        dy_m = (self.target[1] - self.lat) * M_PER_DEG_LAT
        dist = math.hypot(dx_m, dy_m)
        heading = (math.degrees(math.atan2(dx_m, dy_m)) + 360) % 360
        move = WALK_MPS * seconds
        if dist <= move:
            self.lon, self.lat = self.target
            self.target = None
        else:
            self.lon += dx_m / dist * move / (M_PER_DEG_LAT * math.cos(math.radians(self.lat)))
            self.lat += dy_m / dist * move / M_PER_DEG_LAT
        return self.lon, self.lat, heading


async def _login(http: httpx.AsyncClient, username: str, device_id: int | None = None) -> dict[str, object]:
    body = {"username": username, "password": DEMO_PASSWORD, "device_id": device_id}
    if device_id is not None:  # the demo tablets' enrolment secret (backend/demo/seed.py)
        body["device_secret"] = DEMO_DEVICE_SECRET
    r = await http.post("/api/auth/login", json=body)
    r.raise_for_status()
    return r.json()  # type: ignore[no-any-return]


async def simulate(
    base_url: str,
    *,
    units: int = 12,
    org: str = "amsterdam",
    speed: float = 1.0,
    duration_s: float | None = None,
    interval_s: float = 1.0,
    seed: int = 7,
) -> None:
    """Start a shift on each demo tablet and walk its unit through its assigned beat."""
    rng = random.Random(seed)
    ws_url = base_url.replace("http", "ws", 1) + "/ws/field"
    async with httpx.AsyncClient(base_url=base_url, timeout=20) as http:
        lead = await _login(http, "teamlead")
        auth = {"Authorization": f"Bearer {lead['access_token']}"}
        unit_rows = (await http.get("/api/units", headers=auth)).json()
        device_rows = {d["name"]: d for d in (await http.get("/api/devices", headers=auth)).json()}
        beats = {
            f["id"]: shape(f["geometry"])
            for f in (await http.get("/api/beats", headers=auth)).json()["features"]
        }
        tasks: list[asyncio.Task[None]] = []
        try:  # from the first walker on: cancelled while the others still log in, none may be left behind
            for i, unit in enumerate(sorted(unit_rows, key=lambda u: u["call_sign"])[:units], start=1):
                device = device_rows.get(f"demo-tablet-{i:02d}")
                if device is None:
                    log.warning("no demo tablet for unit %s", unit["call_sign"])
                    continue
                beat_ids = unit["assigned_beat_ids"] or [rng.choice(sorted(beats))]
                session = await _login(http, f"boa{2 * i - 1:02d}", device["id"])
                headers = {"Authorization": f"Bearer {session['access_token']}"}
                body = {"unit_id": unit["id"], "beat_ids": beat_ids}
                r = await http.post("/api/shifts", headers=headers, json=body)
                r.raise_for_status()
                polygon = beats[beat_ids[0]]
                start = polygon.representative_point()
                walker = Walker(polygon=polygon, lon=start.x, lat=start.y, rng=random.Random(rng.random()))
                client = FieldClient(ws_url, str(session["access_token"]))
                tasks.append(asyncio.create_task(_walk(client, walker, interval_s, speed, rng)))
            log.info("simulating %d units", len(tasks))
            if duration_s is None:
                await asyncio.gather(*tasks)
            else:
                await asyncio.wait(tasks, timeout=duration_s)
        finally:
            for t in tasks:
                t.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)


# How a simulated duo works a task from the meldkamer: (state, seconds after the previous one).
TASK_STEPS = (
    (TaskState.ACCEPTED, 3.0),
    (TaskState.EN_ROUTE, 3.0),
    (TaskState.ON_SCENE, 20.0),
    (TaskState.DONE, 25.0),
)


async def _work_task(client: FieldClient, task_id: int, speed: float) -> None:
    for state, after_s in TASK_STEPS:
        await asyncio.sleep(after_s / speed)
        note = "afgehandeld (demo)" if state == TaskState.DONE else ""
        client.task_update(task_id, state, datetime.now(UTC), note=note)


async def _walk(
    client: FieldClient, walker: Walker, interval_s: float, speed: float, rng: random.Random
) -> None:
    working: set[asyncio.Task[None]] = set()
    seen: set[int] = set()  # a task comes again after a reconnect until it is accepted

    def on_frame(frame: msgspec.Struct) -> None:  # a task from the meldkamer: accept it and work it off
        if isinstance(frame, TaskAssigned) and frame.task_id not in seen:
            seen.add(frame.task_id)
            job = asyncio.get_running_loop().create_task(_work_task(client, frame.task_id, speed))
            working.add(job)
            job.add_done_callback(working.discard)

    client.on_frame = on_frame
    runner = asyncio.create_task(client.run())
    try:
        await asyncio.wait_for(client.connected.wait(), 20)
        client.status(UnitStatus.AVAILABLE, datetime.now(UTC))
        while True:
            lon, lat, heading = walker.step(interval_s * speed)
            client.position(
                lon, lat, datetime.now(UTC), accuracy_m=5.0, speed_mps=WALK_MPS, heading_deg=heading
            )
            if rng.random() < 0.002:  # now and then a duo gets busy, and free again
                client.status(
                    rng.choice([UnitStatus.BUSY, UnitStatus.AVAILABLE, UnitStatus.ON_SCENE]),
                    datetime.now(UTC) + timedelta(milliseconds=1),
                )
            await asyncio.sleep(interval_s)
    finally:
        runner.cancel()
        for job in working:
            job.cancel()
