"""The cluster benchmark's client process: tablets on the tablet's own client and consoles, through the proxy.

Run as `python -m backend.bench.cluster_load`; the orchestrator (`backend.bench.cluster`) writes a
`ClusterWorkerSpec` as one JSON line on stdin. The worker connects every tablet (`shared.client.FieldClient`,
which keeps each frame until it is acknowledged as durable and resends after a reconnect) and every console
(an operator socket that reconnects like the console page does), all through HAProxy, and prints
`ready <json>`: which instance each of its units and consoles landed on (HAProxy names the server in the
`X-Schakel-Instance` response header of the websocket upgrade). Then, line by line on stdin:

- `map <json>`: unit id -> instance for every unit of every worker, so a console can tell a position from its
  own instance from one that crossed over;
- `go`: every tablet reports a position every `interval_s` (staggered), and the planned noodknop / status
  events are raised at their offsets;
- `phase NAME`: figures from now on count under NAME (the orchestrator says `failover` just before a kill);
- `stop`: stop sending, wait until every tablet's frames are acknowledged (at most `drain_s`), let the
  consoles listen a little longer, write a `ClusterWorkerResult` to `result_path` and print `done`.

Latencies go into 1 ms histograms (a national run yields hundreds of thousands of samples a second).
"""

from __future__ import annotations

import asyncio
import contextlib
import random
import sys
import time
from datetime import UTC, datetime
from typing import Literal

import msgspec
import websockets

from backend.bench.load import Walker
from shared.client import FieldClient
from shared.protocol import (
    AlertRaised,
    Delta,
    Hello,
    PositionReported,
    Snapshot,
    UnitStatus,
    encoder,
    server_decoder,
)

INSTANCE_HEADER = "X-Schakel-Instance"
CONNECT_PARALLEL = 32
CONNECT_TIMEOUT_S = 60.0
RECONNECT_MIN_S = 0.2
RECONNECT_MAX_S = 1.0
STATUS_CYCLE = (UnitStatus.EN_ROUTE, UnitStatus.ON_SCENE, UnitStatus.AVAILABLE)

EventKind = Literal["noodknop", "status"]


class TabletSpec(msgspec.Struct, frozen=True, kw_only=True):
    device_id: int
    unit_id: int
    token: str
    lon: float
    lat: float


class EventPlan(msgspec.Struct, frozen=True, kw_only=True):
    offset_s: float  # after `go`
    device_id: int
    kind: EventKind


class ClusterWorkerSpec(msgspec.Struct, frozen=True, kw_only=True):
    field_url: str  # through the proxy
    operator_url: str
    tablets: list[TabletSpec]
    operator_tokens: list[str]
    interval_s: float = 2.0  # every tablet reports a position this often
    events: list[EventPlan] = []
    drain_s: float = 20.0
    listen_after_s: float = 2.0  # consoles keep listening this long after the tablets are drained
    seed: int = 0
    result_path: str


class Gap(msgspec.Struct, frozen=True):
    """A client's link went down at `down` and was back (welcome and resend; or a snapshot) at `up`
    (wall-clock seconds); `up` is None when it never came back before the end."""

    client: str  # "tablet:<device id>" or "console:<index>"
    instance: str  # where it was before the gap
    down: float
    up: float | None
    back_on: str | None  # where it came back


class Press(msgspec.Struct, frozen=True):
    device_id: int
    seq: int
    at: float  # wall clock
    phase: str


class ClusterWorkerResult(msgspec.Struct, kw_only=True):
    tablets: int = 0  # connected at the start
    consoles: int = 0
    console_instances: list[str] = []
    # phase -> "same"/"other" -> latency in ms -> samples (position `at` -> a console received it)
    position_ms: dict[str, dict[str, dict[int, int]]] = {}
    positions_sent: dict[int, int] = {}  # device id -> positions queued (FieldClient)
    # device id -> positions still unacknowledged in the tablet's outbox at the end: not lost (the tablet
    # still holds them and sends them when it is connected again), but not delivered within the run
    positions_unacked: dict[int, int] = {}
    presses: list[Press] = []
    statuses_sent: int = 0
    # per console: alert id -> (wall-clock time it first arrived, the alert's `at`, how: live or snapshot)
    console_alerts: list[dict[int, tuple[float, float, str]]] = []
    gaps: list[Gap] = []
    unacked_at_end: int = 0
    refused: list[str] = []  # error frames the tablets got
    errors: list[str] = []
    cpu_s: float = 0.0


def _instance_of(ws: object) -> str:
    response = getattr(ws, "response", None)
    headers = getattr(response, "headers", None)
    return str(headers.get(INSTANCE_HEADER, "?")) if headers is not None else "?"


class Tablet:
    def __init__(self, spec: TabletSpec, url: str, rng: random.Random, result: ClusterWorkerResult) -> None:
        self.spec = spec
        self.client = FieldClient(url, spec.token)
        self.walker = Walker(spec.lon, spec.lat, 5.0, rng)
        self.instance = "?"
        self.result = result
        self.key = f"tablet:{spec.device_id}"
        self.open_gap: tuple[float, str] | None = None
        self.client.on_connected = self._connected
        self.status_turn = 0

    def _connected(self, up: bool) -> None:
        now = time.time()
        if up:
            self.instance = _instance_of(self.client._ws)  # noqa: SLF001 - the client's current socket
            if self.open_gap is not None:
                down, before = self.open_gap
                self.result.gaps.append(Gap(self.key, before, down, now, self.instance))
                self.open_gap = None
        else:
            self.open_gap = (now, self.instance)


class Console:
    """An operator socket that reconnects (through the proxy) when it loses its instance."""

    def __init__(self, index: int, token: str, url: str, run: Run) -> None:
        self.index, self.token, self.url, self.run = index, token, url, run
        self.instance = "?"
        self.connected = asyncio.Event()
        self.alerts: dict[int, tuple[float, float, str]] = {}
        self.last_at: dict[int, float] = {}
        self.open_gap: tuple[float, str] | None = None  # (down since, instance before)

    async def _open(self) -> websockets.ClientConnection:
        ws = await websockets.connect(self.url, open_timeout=CONNECT_TIMEOUT_S, max_size=2**24)
        try:
            await ws.send(encoder.encode(Hello(token=self.token)), text=True)
            first = server_decoder.decode(await asyncio.wait_for(ws.recv(), CONNECT_TIMEOUT_S))
            if not isinstance(first, Snapshot):
                raise RuntimeError(f"console: expected snapshot, got {type(first).__name__}")
        except BaseException:
            await ws.close()
            raise
        received = time.time()
        for alert in first.alerts:  # an alert raised while this console was away arrives in the snapshot
            self.alerts.setdefault(alert.alert_id, (received, alert.at.timestamp(), "snapshot"))
        self.instance = _instance_of(ws)
        return ws

    async def run_forever(self, gate: asyncio.Semaphore) -> None:
        async with gate:
            ws = await self._open()
        self.connected.set()
        while True:
            with contextlib.suppress(websockets.ConnectionClosed):
                await self._read(ws)
            down, before = time.time(), self.instance
            self.open_gap = (down, before)
            delay = RECONNECT_MIN_S
            while True:
                await asyncio.sleep(delay)
                try:
                    ws = await self._open()
                    break
                except (OSError, TimeoutError, websockets.WebSocketException, RuntimeError):
                    delay = min(delay * 2, RECONNECT_MAX_S)
            self.open_gap = None
            self.run.result.gaps.append(
                Gap(f"console:{self.index}", before, down, time.time(), self.instance)
            )

    async def _read(self, ws: websockets.ClientConnection) -> None:
        run = self.run
        async for raw in ws:
            received = time.time()
            frame = server_decoder.decode(raw)
            if isinstance(frame, AlertRaised):
                alert = frame.alert
                self.alerts.setdefault(alert.alert_id, (received, alert.at.timestamp(), "live"))
            elif isinstance(frame, Delta):
                for alert in frame.alerts:
                    self.alerts.setdefault(alert.alert_id, (received, alert.at.timestamp(), "live"))
                if not run.measuring:
                    continue
                hist = run.histograms()
                for unit in frame.units:
                    if unit.at is None:
                        continue
                    at = unit.at.timestamp()
                    if at > self.last_at.get(unit.unit_id, 0.0):
                        self.last_at[unit.unit_id] = at
                        where = "same" if run.unit_instance.get(unit.unit_id) == self.instance else "other"
                        bucket = hist[where]
                        latency = max(0, int((received - at) * 1000))
                        bucket[latency] = bucket.get(latency, 0) + 1


class Run:
    def __init__(self, spec: ClusterWorkerSpec) -> None:
        self.spec = spec
        self.result = ClusterWorkerResult()
        self.phase = "steady"
        self.measuring = False
        self.sending = False
        self.unit_instance: dict[int, str] = {}

    def histograms(self) -> dict[str, dict[int, int]]:
        """The current phase's "same" and "other" latency histograms."""
        phase = self.result.position_ms.setdefault(self.phase, {})
        phase.setdefault("same", {})
        phase.setdefault("other", {})
        return phase


async def send_positions(tablets: list[Tablet], run: Run) -> None:
    """Every tablet reports every `interval_s`, the tablets spread evenly over the interval."""
    interval = run.spec.interval_s
    n = len(tablets)
    start = time.perf_counter()
    turn = 0
    sent = run.result.positions_sent
    while run.sending and n:
        due = int((time.perf_counter() - start) / interval * n)
        while turn < due and run.sending:
            tablet = tablets[turn % n]
            turn += 1
            lon, lat = tablet.walker.step()
            tablet.client.position(lon, lat, datetime.now(UTC), accuracy_m=8.0)
            sent[tablet.spec.device_id] = sent.get(tablet.spec.device_id, 0) + 1
        await asyncio.sleep(0.01)


async def raise_events(tablets: list[Tablet], run: Run, t0: float) -> None:
    by_id = {t.spec.device_id: t for t in tablets}
    for plan in run.spec.events:
        delay = t0 + plan.offset_s - time.perf_counter()
        if delay > 0:
            await asyncio.sleep(delay)
        if not run.sending:
            return
        tablet = by_id[plan.device_id]
        now = datetime.now(UTC)
        if plan.kind == "noodknop":
            frame = tablet.client.noodknop(now, tablet.walker.lon, tablet.walker.lat)
            run.result.presses.append(Press(plan.device_id, frame.seq, now.timestamp(), run.phase))
        else:
            tablet.client.status(STATUS_CYCLE[tablet.status_turn % len(STATUS_CYCLE)], now)
            tablet.status_turn += 1
            run.result.statuses_sent += 1


async def _stdin_line() -> str:
    line: str = await asyncio.to_thread(sys.stdin.readline)
    return line.strip()


async def run_worker(spec: ClusterWorkerSpec) -> ClusterWorkerResult:
    run = Run(spec)
    result = run.result
    rng = random.Random(spec.seed)
    tablets = [Tablet(t, spec.field_url, rng, result) for t in spec.tablets]
    consoles = [Console(i, tok, spec.operator_url, run) for i, tok in enumerate(spec.operator_tokens)]
    gate = asyncio.Semaphore(CONNECT_PARALLEL)
    tasks: list[asyncio.Task[None]] = []

    async def start_tablet(tablet: Tablet) -> None:
        async with gate:
            tasks.append(asyncio.create_task(tablet.client.run(backoff_max=RECONNECT_MAX_S)))
            await tablet.client.connected.wait()

    try:
        async with asyncio.timeout(CONNECT_TIMEOUT_S * 2):
            await asyncio.gather(*(start_tablet(t) for t in tablets))
            tasks += [asyncio.create_task(c.run_forever(gate)) for c in consoles]
            await asyncio.gather(*(c.connected.wait() for c in consoles))
        result.tablets, result.consoles = len(tablets), len(consoles)
        placed = {
            "units": {str(t.spec.unit_id): t.instance for t in tablets},
            "consoles": [c.instance for c in consoles],
        }
        print("ready " + msgspec.json.encode(placed).decode(), flush=True)
        cpu0 = time.process_time()
        senders: list[asyncio.Task[None]] = []
        while True:
            line = await _stdin_line()
            if line.startswith("map "):
                mapping = msgspec.json.decode(line[4:], type=dict[str, str])
                run.unit_instance = {int(k): v for k, v in mapping.items()}
            elif line == "go":
                run.sending = run.measuring = True
                t0 = time.perf_counter()
                senders = [
                    asyncio.create_task(send_positions(tablets, run)),
                    asyncio.create_task(raise_events(tablets, run, t0)),
                ]
            elif line.startswith("phase "):
                run.phase = line[6:]
            elif line in ("stop", ""):
                break
        run.sending = False
        for task in senders:
            with contextlib.suppress(Exception):
                await task
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(spec.drain_s):
                for tablet in tablets:
                    while tablet.client.acked < tablet.client.next_seq - 1:
                        await tablet.client.wait_acked(tablet.client.next_seq - 1, timeout=spec.drain_s)
        run.measuring = False
        await asyncio.sleep(spec.listen_after_s)
        result.cpu_s = time.process_time() - cpu0
        result.console_instances = [c.instance for c in consoles]
        result.console_alerts = [c.alerts for c in consoles]
        result.unacked_at_end = sum(len(t.client.unacked) for t in tablets)
        for tablet in tablets:
            held = sum(1 for f in tablet.client.unacked if isinstance(f, PositionReported))
            if held:
                result.positions_unacked[tablet.spec.device_id] = held
        result.refused = [f"{e.code}: {e.message}" for t in tablets for e in t.client.errors][:20]
        for tablet in tablets:
            if tablet.open_gap is not None:
                result.gaps.append(Gap(tablet.key, tablet.open_gap[1], tablet.open_gap[0], None, None))
        for console in consoles:
            if console.open_gap is not None:
                down, before = console.open_gap
                result.gaps.append(Gap(f"console:{console.index}", before, down, None, None))
        for task in tasks:
            if task.done() and not task.cancelled() and task.exception() is not None:
                result.errors.append(f"client task failed: {task.exception()!r}"[:300])
        return result
    finally:
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task


def main() -> int:
    spec = msgspec.json.decode(sys.stdin.readline(), type=ClusterWorkerSpec)
    result = asyncio.run(run_worker(spec))
    with open(spec.result_path, "wb") as f:
        f.write(msgspec.json.encode(result))
    print("done", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
