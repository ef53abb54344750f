"""The load generator: one process driving a share of the devices and operators over real websockets.

Run as `python -m backend.bench.load`; the orchestrator (`backend.bench.ingest`) writes a `WorkerSpec` as one
JSON line on stdin. The worker connects everything, prints `ready`, waits for `go` on stdin, runs for
`spec.seconds`, lets outstanding acknowledgements drain, writes a `WorkerResult` to `spec.result_path` and
prints `done`. Each worker is its own process so the load it generates does not share a core's accounting
with the server it measures (and so two of them can keep one server busy).

Devices speak the field protocol like `shared.client.FieldClient` does (hello, then position frames with
increasing seq, cumulative acks), but without its per-frame bookkeeping, so a client process can outrun the
server: frames are encoded once with the shared encoder and sent as text frames.
"""

from __future__ import annotations

import asyncio
import contextlib
import math
import random
import sys
import time
from collections import deque
from datetime import UTC, datetime
from typing import Literal

import msgspec
import websockets

from shared.protocol import (
    Ack,
    AlertRaised,
    Delta,
    Error,
    Hello,
    ManDown,
    ManDownTrigger,
    NoodknopPressed,
    PositionReported,
    Snapshot,
    Welcome,
    encoder,
    server_decoder,
)

Mode = Literal["saturate", "paced"]

METRES_PER_DEGREE_LAT = 111_320.0
# The area the walkers stay in: Amsterdam, where the demo beats (CBS buurten) are.
BOUNDS = (4.75, 52.30, 5.02, 52.42)
CONNECT_TIMEOUT_S = 20.0
CONNECT_PARALLEL = 32


class DeviceSpec(msgspec.Struct, frozen=True, kw_only=True):
    device_id: int
    token: str
    lon: float  # where the unit starts: inside its assigned beat
    lat: float


AlarmKind = Literal["noodknop", "man_down"]


class AlarmPlan(msgspec.Struct, frozen=True, kw_only=True):
    """One alarm a device raises `offset_s` after the window opens (`schakel bench alarms`)."""

    offset_s: float
    device_id: int
    kind: AlarmKind


class WorkerSpec(msgspec.Struct, frozen=True, kw_only=True):
    mode: Mode
    field_url: str
    operator_url: str | None = None
    devices: list[DeviceSpec]
    operator_tokens: list[str] = []
    seconds: float
    window: int = 200  # saturate: unacknowledged frames in flight per device
    rate: float = 0.0  # paced: positions per second for this worker, spread round-robin over its devices
    step_m: float = 5.0  # how far a unit walks between two fixes
    drain_s: float = 5.0  # after the run: how long to wait for outstanding acks
    seed: int = 0
    result_path: str
    alarms: list[AlarmPlan] = []  # alarms this worker's devices raise, in offset order
    watch_alerts: bool = False  # operators note every alert they receive, until the drain ends


class WorkerResult(msgspec.Struct, kw_only=True):
    devices: int = 0  # connected
    operators: int = 0  # connected
    sent: int = 0  # frames sent during the window
    acked_in_window: int = 0  # frames whose covering ack arrived during the window
    acked_total: int = 0  # ... or during the drain after it
    unacked: int = 0  # still unacknowledged when the drain ended
    ack_latency_us: list[int] = []  # per acknowledged frame: send -> covering ack
    operator_latency_us: list[int] = []  # per new unit position seen by an operator: `at` -> received
    operator_frames: list[int] = []  # per operator: frames received during the window
    behind: int = 0  # paced: frames the sender could not send on time (client too slow)
    errors: list[str] = []
    stuck: list[
        tuple[int, int, int]
    ] = []  # (device, last seq sent, acked) of devices left with unacked frames
    window_s: float = 0.0  # measured length of the window
    cpu_s: float = 0.0  # this process's CPU during the window
    alarms_sent: int = 0
    alarms_unsendable: int = 0  # planned for a device whose connection had closed
    alarm_ack_latency_us: list[int] = []  # per alarm: send -> the ack covering it (stored by the server)
    # per operator (watch_alerts): alert id -> wall-clock time (s) it first arrived (AlertRaised or a delta)
    operator_alerts: list[dict[int, float]] = []


class Walker:
    """A unit on foot: keeps a heading, turns now and then, bounces off the edge of the area."""

    __slots__ = ("lon", "lat", "heading", "rng", "step_lat", "step_lon")

    def __init__(self, lon: float, lat: float, step_m: float, rng: random.Random) -> None:
        self.lon, self.lat, self.rng = lon, lat, rng
        self.heading = rng.uniform(0, 2 * math.pi)
        self.step_lat = step_m / METRES_PER_DEGREE_LAT
        self.step_lon = step_m / (METRES_PER_DEGREE_LAT * math.cos(math.radians(lat)))

    def step(self) -> tuple[float, float]:
        if self.rng.random() < 0.05:
            self.heading += self.rng.uniform(-1.5, 1.5)
        lon = self.lon + self.step_lon * math.cos(self.heading)
        lat = self.lat + self.step_lat * math.sin(self.heading)
        if not (BOUNDS[0] < lon < BOUNDS[2] and BOUNDS[1] < lat < BOUNDS[3]):
            self.heading += math.pi
            lon, lat = self.lon, self.lat
        self.lon, self.lat = lon, lat
        return lon, lat


class Device:
    """One device's socket and its unacknowledged frames."""

    def __init__(self, spec: DeviceSpec, ws: websockets.ClientConnection, acked: int, walker: Walker) -> None:
        self.spec = spec
        self.ws = ws
        self.seq = acked  # last seq sent
        self.acked = acked
        self.walker = walker
        self.in_flight: deque[tuple[int, float]] = deque()  # (seq, perf_counter at send)
        self.room = asyncio.Event()  # set when an ack made room in the window
        self.alarm_seqs: set[int] = set()

    def frame(self) -> bytes:
        self.seq += 1
        lon, lat = self.walker.step()
        # `at` is the wall-clock send time: operators measure position-to-screen latency against it
        return encoder.encode(PositionReported(seq=self.seq, lon=lon, lat=lat, at=datetime.now(UTC)))

    async def send(self, run: Run) -> None:
        data = self.frame()
        self.in_flight.append((self.seq, time.perf_counter()))
        run.sent += 1
        await self.ws.send(data, text=True)

    async def send_alarm(self, run: Run, kind: AlarmKind) -> None:
        """A noodknop or man-down at the unit's last position, `at` the wall-clock send time."""
        self.seq += 1
        at = datetime.now(UTC)
        lon, lat = self.walker.lon, self.walker.lat
        frame: NoodknopPressed | ManDown = (
            NoodknopPressed(seq=self.seq, at=at, lon=lon, lat=lat)
            if kind == "noodknop"
            else ManDown(seq=self.seq, at=at, trigger=ManDownTrigger.NO_MOTION, lon=lon, lat=lat)
        )
        self.in_flight.append((self.seq, time.perf_counter()))
        self.alarm_seqs.add(self.seq)
        await self.ws.send(encoder.encode(frame), text=True)
        run.result.alarms_sent += 1


class Run:
    """Counters of one worker's window, shared by its tasks (one event loop, no locks)."""

    def __init__(self, spec: WorkerSpec) -> None:
        self.spec = spec
        self.result = WorkerResult()
        self.sent = 0
        self.stop_at = math.inf  # perf_counter when sending stops
        self.drain_until = math.inf

    def sending(self) -> bool:
        return time.perf_counter() < self.stop_at


async def connect_device(spec: DeviceSpec, url: str, walker: Walker) -> Device:
    ws = await websockets.connect(url, open_timeout=CONNECT_TIMEOUT_S, max_size=2**20)
    try:
        await ws.send(encoder.encode(Hello(token=spec.token)), text=True)
        first = server_decoder.decode(await asyncio.wait_for(ws.recv(), CONNECT_TIMEOUT_S))
        if not isinstance(first, Welcome):
            raise RuntimeError(f"device {spec.device_id}: expected welcome, got {first!r}")
    except BaseException:
        await ws.close()
        raise
    return Device(spec, ws, first.acked, walker)


async def connect_operator(token: str, url: str) -> websockets.ClientConnection:
    ws = await websockets.connect(url, open_timeout=CONNECT_TIMEOUT_S, max_size=2**24)
    try:
        await ws.send(encoder.encode(Hello(token=token)), text=True)
        first = server_decoder.decode(await asyncio.wait_for(ws.recv(), CONNECT_TIMEOUT_S))
        if not isinstance(first, Snapshot):
            raise RuntimeError(f"operator: expected snapshot, got {first!r}")
    except BaseException:
        await ws.close()
        raise
    return ws


async def read_acks(device: Device, run: Run) -> None:
    """Match cumulative acks to the frames they cover until everything sent is acked or the drain ends."""
    result = run.result
    ws = device.ws
    while True:
        now = time.perf_counter()
        if (now >= run.stop_at and not device.in_flight) or now >= run.drain_until:
            return
        try:
            raw = await asyncio.wait_for(ws.recv(), min(1.0, run.drain_until - now))
        except TimeoutError:
            continue
        except websockets.ConnectionClosed as exc:
            if len(result.errors) < 20:
                result.errors.append(
                    f"device {device.spec.device_id}: closed {now - run.stop_at + run.spec.seconds:.1f} s "
                    f"into the window: {exc!r}"
                )
            return
        frame = server_decoder.decode(raw)
        if isinstance(frame, Ack):
            now = time.perf_counter()
            in_window = now < run.stop_at
            latencies = result.ack_latency_us
            while device.in_flight and device.in_flight[0][0] <= frame.upto:
                seq, sent_at = device.in_flight.popleft()
                if seq in device.alarm_seqs:  # an alarm: its own figure, not a position
                    device.alarm_seqs.discard(seq)
                    result.alarm_ack_latency_us.append(int((now - sent_at) * 1e6))
                    continue
                latencies.append(int((now - sent_at) * 1e6))
                result.acked_total += 1
                if in_window:
                    result.acked_in_window += 1
            device.acked = max(device.acked, frame.upto)
            device.room.set()
        elif isinstance(frame, Error):
            if len(result.errors) < 20:
                result.errors.append(f"device {device.spec.device_id}: {frame.code}: {frame.message}")
            if frame.fatal:
                return


async def saturate(device: Device, run: Run) -> None:
    """Keep `window` frames in flight until the window closes."""
    window = run.spec.window
    while run.sending():
        device.room.clear()  # before sending: an ack that arrives meanwhile must not be missed
        while device.seq - device.acked < window and run.sending():
            await device.send(run)
        if device.seq - device.acked >= window:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(device.room.wait(), 1.0)


async def paced(devices: list[Device], run: Run) -> None:
    """Send `spec.rate` frames per second in total, round-robin over the devices, in 10 ms slices."""
    rate = run.spec.rate
    start = time.perf_counter()
    due_sent = 0
    turn = 0
    while run.sending():
        due = int((time.perf_counter() - start) * rate)
        backlog = due - due_sent
        if backlog > rate:  # more than a second behind: the client cannot keep up; skip, and say so
            run.result.behind += backlog
            due_sent = due
            backlog = 0
        for _ in range(backlog):
            device = devices[turn % len(devices)]
            turn += 1
            await device.send(run)
        due_sent += backlog
        await asyncio.sleep(0.01)


async def press_alarms(devices: list[Device], run: Run, t0: float) -> None:
    """Raise the planned alarms at their offsets (a device that did not connect raises none)."""
    by_id = {d.spec.device_id: d for d in devices}
    for plan in run.spec.alarms:
        delay = t0 + plan.offset_s - time.perf_counter()
        if delay > 0:
            await asyncio.sleep(delay)
        device = by_id.get(plan.device_id)
        if device is None:
            continue
        try:
            await device.send_alarm(run, plan.kind)
        except websockets.ConnectionClosed:  # counted as not sent; the other devices go on
            run.result.alarms_unsendable += 1


async def watch(ws: websockets.ClientConnection, index: int, run: Run) -> None:
    """An operator console: count frames, and for each unit's newer position measure how late it is; with
    `watch_alerts`, note when each alert first arrived, until the drain ends."""
    result = run.result
    last_at: dict[int, float] = {}
    alerts = result.operator_alerts[index] if run.spec.watch_alerts else None
    until = run.drain_until if alerts is not None else run.stop_at
    frames = 0
    with contextlib.suppress(websockets.ConnectionClosed):
        while time.perf_counter() < until:
            try:
                raw = await asyncio.wait_for(ws.recv(), max(0.01, until - time.perf_counter()))
            except TimeoutError:
                break
            received = time.time()
            frame = server_decoder.decode(raw)
            if alerts is not None:
                seen = [frame.alert] if isinstance(frame, AlertRaised) else getattr(frame, "alerts", [])
                for alert in seen if not isinstance(frame, Snapshot) else []:
                    alerts.setdefault(alert.alert_id, received)
            if time.perf_counter() >= run.stop_at:
                continue
            frames += 1
            if isinstance(frame, Delta):
                for unit in frame.units:
                    if unit.at is None:
                        continue
                    at = unit.at.timestamp()
                    if at > last_at.get(unit.unit_id, 0.0):
                        last_at[unit.unit_id] = at
                        result.operator_latency_us.append(int((received - at) * 1e6))
    result.operator_frames[index] = frames


async def connect_all(
    spec: WorkerSpec, result: WorkerResult
) -> tuple[list[Device], list[websockets.ClientConnection]]:
    rng = random.Random(spec.seed)
    gate = asyncio.Semaphore(CONNECT_PARALLEL)

    async def device(d: DeviceSpec) -> Device | None:
        async with gate:
            try:
                return await connect_device(d, spec.field_url, Walker(d.lon, d.lat, spec.step_m, rng))
            except Exception as exc:
                result.errors.append(f"device {d.device_id} did not connect: {exc!r}")
                return None

    async def operator(token: str) -> websockets.ClientConnection | None:
        assert spec.operator_url is not None
        async with gate:
            try:
                return await connect_operator(token, spec.operator_url)
            except Exception as exc:
                result.errors.append(f"operator did not connect: {exc!r}")
                return None

    devices = [d for d in await asyncio.gather(*(device(d) for d in spec.devices)) if d is not None]
    operators = [
        o for o in await asyncio.gather(*(operator(t) for t in spec.operator_tokens)) if o is not None
    ]
    return devices, operators


async def run_worker(spec: WorkerSpec, wait_for_go: bool = True) -> WorkerResult:
    run = Run(spec)
    result = run.result
    devices, operators = await connect_all(spec, result)
    result.devices, result.operators = len(devices), len(operators)
    result.operator_frames = [0] * len(operators)
    result.operator_alerts = [{} for _ in operators] if spec.watch_alerts else []
    try:
        print("ready", flush=True)
        if wait_for_go:
            line = await asyncio.to_thread(sys.stdin.readline)
            if line.strip() != "go":
                result.errors.append(f"expected go, got {line!r}")
                return result
        cpu0, t0 = time.process_time(), time.perf_counter()
        run.stop_at = t0 + spec.seconds
        run.drain_until = run.stop_at + spec.drain_s
        tasks = [asyncio.create_task(read_acks(d, run)) for d in devices]
        tasks += [asyncio.create_task(watch(ws, i, run)) for i, ws in enumerate(operators)]
        if spec.mode == "saturate":
            tasks += [asyncio.create_task(saturate(d, run)) for d in devices]
        elif devices and spec.rate > 0:
            tasks.append(asyncio.create_task(paced(devices, run)))
        if spec.alarms:
            tasks.append(asyncio.create_task(press_alarms(devices, run, t0)))
        hard_stop = spec.seconds + spec.drain_s + 10.0
        done, pending = await asyncio.wait(tasks, timeout=hard_stop)
        for task in pending:
            task.cancel()
        for task in done:
            exc = task.exception()
            if exc is not None and len(result.errors) < 20:
                result.errors.append(f"task failed: {exc!r}")
        result.window_s = min(time.perf_counter(), run.stop_at) - t0
        result.cpu_s = time.process_time() - cpu0
        result.sent = run.sent
        result.unacked = sum(len(d.in_flight) for d in devices)
        result.stuck = [(d.spec.device_id, d.seq, d.acked) for d in devices if d.in_flight][:20]
        return result
    finally:
        await asyncio.gather(
            *(d.ws.close() for d in devices), *(ws.close() for ws in operators), return_exceptions=True
        )


def main() -> int:
    spec = msgspec.json.decode(sys.stdin.readline(), type=WorkerSpec)
    result = asyncio.run(run_worker(spec))
    with open(spec.result_path, "wb") as f:
        f.write(msgspec.json.encode(result))
    print("done", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
