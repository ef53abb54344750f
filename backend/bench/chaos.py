"""`schakel bench chaos`: normal field traffic with everything that went wrong in the field thrown at it —
poison frames, poison HTTP bodies, login floods, and kill -9 of the backend and of the bridge — and then the
count: positions lost, positions doubled, noodknoppen lost or doubled (stored and at the police partner), and
the worst noodknop acknowledgement time.

Everything runs on 127.0.0.1: PostgreSQL (embedded in a temporary directory unless SCHAKEL_DATABASE_URL is
set), the real server (`schakel serve`) and the real bridge (`python -m meldkamer_bridge`) as child processes
that are killed with SIGKILL and started again on the same port, the reference partner
(`python -m meldkamer_bridge.simulator`) as the police side, and in this process `--devices` tablets speaking
the field protocol through `shared.client.FieldClient` (the client the tablet app uses: it keeps every frame
until it is acknowledged as durable and resends after a reconnect). A baseline phase without chaos runs first
with the same tablets, so the noodknop figures of the chaos phase are read against the same machine's calm.

The noodknop acknowledgement target (≤ 1 s) applies to presses made on a connected tablet; a press made while
the backend was dead (or before that tablet had reconnected) cannot be acknowledged before the link is back,
so those are reported apart, as the time from the restarted server's first /health to their acknowledgement.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import random
import re
import secrets
import sqlite3
import subprocess
import sys
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import msgspec
import websockets

from backend.bench.command import report, run_in_temp
from backend.bench.processes import PROJECT_ROOT, SERVE_CMD, free_port
from backend.bench.stats import percentile
from backend.bench.world import PASSWORD, BenchDevice, BenchWorld, build_world
from backend.db.pool import create_pool
from backend.orgs import repository as orgs
from shared.client import FieldClient
from shared.protocol import PROTOCOL_VERSION, Error, Hello, encoder, server_decoder

TARGET_ACK_S = 1.0
BRIDGE_ACCOUNT = "chaos-bridge"
PARTNER = "gms-sim"
POISON_DEVICES = 2


class Params(msgspec.Struct, frozen=True, kw_only=True):
    devices: int = 40
    frames: int = 100_000
    rate: float = 1000.0
    noodknop_every: float = 1.0
    baseline_s: float = 10.0
    backend_kills: int = 1
    bridge_kills: int = 1
    down_s: float = 1.0
    drain: float = 60.0
    json: str = "bench-chaos.json"
    keep_temp: bool = False
    seed: int = 1


def parse_args(args: list[str]) -> Params:
    parser = argparse.ArgumentParser(
        prog="schakel bench chaos", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--devices", type=int, default=40, help="tablets sending positions")
    parser.add_argument("--frames", type=int, default=100_000, help="positions in the chaos phase, in total")
    parser.add_argument("--rate", type=float, default=1000.0, help="positions/s in total")
    parser.add_argument("--noodknop-every", type=float, default=1.0, help="seconds between noodknoppen")
    parser.add_argument("--baseline", type=float, default=10.0, help="seconds of calm traffic first")
    parser.add_argument("--backend-kills", type=int, default=1, help="kill -9 of the backend mid-run")
    parser.add_argument("--bridge-kills", type=int, default=1, help="kill -9 of the bridge mid-run")
    parser.add_argument("--down", type=float, default=1.0, help="seconds a killed process stays down")
    parser.add_argument("--drain", type=float, default=60.0, help="seconds to wait for acks and partner")
    parser.add_argument("--json", default="bench-chaos.json", help="where to write the result")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--keep-temp", action="store_true", help="keep the temporary directory (logs)")
    parser.add_argument("--quick", action="store_true", help="a small run (smoke test): 4,000 frames")
    ns = parser.parse_args(args)
    if ns.quick:
        ns.devices, ns.frames, ns.rate, ns.baseline, ns.drain = 8, 4000, 500.0, 2.0, 30.0
    if ns.devices < 1 or ns.frames < 1 or ns.rate <= 0 or ns.noodknop_every <= 0:
        parser.error("devices, frames, rate and noodknop-every must be positive")
    if ns.backend_kills < 0 or ns.bridge_kills < 0 or ns.down < 0 or ns.baseline < 0:
        parser.error("kills, down and baseline must not be negative")
    return Params(
        devices=ns.devices,
        frames=ns.frames,
        rate=ns.rate,
        noodknop_every=ns.noodknop_every,
        baseline_s=ns.baseline,
        backend_kills=ns.backend_kills,
        bridge_kills=ns.bridge_kills,
        down_s=ns.down,
        drain=ns.drain,
        json=ns.json,
        keep_temp=ns.keep_temp,
        seed=ns.seed,
    )


def say(text: str) -> None:
    """Progress on stderr, so a long run shows what it is doing."""
    print(f"{datetime.now(UTC):%H:%M:%S} chaos: {text}", file=sys.stderr, flush=True)


def run(args: list[str]) -> int:
    params = parse_args(args)
    database_url = os.environ.get("SCHAKEL_DATABASE_URL") or None  # as the module says: else an embedded one
    result = run_in_temp(
        "schakel-chaos-", params.keep_temp, database_url, lambda u, _p, t: _run(params, u, t)
    )
    return report(result, render(result), params.json)


class Proc:
    """A child process that can be killed with SIGKILL and started again with the same arguments."""

    def __init__(self, name: str, args: list[str], env: dict[str, str], log: Path) -> None:
        self.name, self.args, self.env, self.log = name, args, env, log
        self.proc: subprocess.Popen[bytes] | None = None
        self.kills = 0

    def start(self) -> None:
        with self.log.open("ab") as out:
            self.proc = subprocess.Popen(
                [sys.executable, *self.args], cwd=PROJECT_ROOT, stdout=out, stderr=out, env=self.env
            )

    def kill(self) -> None:
        assert self.proc is not None
        self.proc.kill()
        self.proc.wait()
        self.kills += 1

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


@dataclass
class Press:
    device_id: int
    seq: int
    at: float  # monotonic
    during_outage: bool  # the backend was dead, or this tablet had not reconnected yet
    wall: datetime  # the frame's `at`, to find it in the server's safety trace
    acked_after_s: float | None = None
    context: str = "calm"  # what else was going on when it was pressed (see `_context`)


@dataclass
class Chaos:
    """What happened, as the orchestrator saw it."""

    outages: list[tuple[float, float]] = field(default_factory=list)  # backend (killed, healthy again)
    backend_down: bool = False
    presses: list[Press] = field(default_factory=list)
    poison_sent: int = 0
    poison_answered: int = 0  # an error frame (or a refusal close) came back
    server_errors: list[str] = field(default_factory=list)  # 5xx, close 1011, or no answer at all
    logins: dict[str, int] = field(default_factory=dict)
    spans: list[tuple[float, float, str]] = field(default_factory=list)  # (from, to, what) monotonic
    loop_lag_s: list[float] = field(default_factory=list)  # this process's own event loop, sampled


AFTER_RESTART_S = 5.0  # a press this soon after a restart meets the reconnecting tablets' resends


def _context(press: Press, spans: list[tuple[float, float, str]], phase: str) -> str:
    """What was going on at a press: the login flood, the backend's restart (and the few seconds after it,
    while the tablets reconnect and resend), the bridge's restart — or only the poison (chaos) or nothing
    (baseline)."""
    for start, end, what in spans:
        if start <= press.at <= end:
            return what
    return "poison only" if phase == "chaos" else "calm"


async def _watch_loop(chaos: Chaos, stop: asyncio.Event, every: float = 0.01) -> None:
    """How late this process's event loop wakes up: the tablets, the poison and the ack watcher share it,
    so a late loop would show in the ack figures without the server being slow."""
    while not stop.is_set():
        before = time.monotonic()
        await asyncio.sleep(every)
        chaos.loop_lag_s.append(max(0.0, time.monotonic() - before - every))


async def _healthy(base: str, deadline_s: float = 90.0) -> None:
    deadline = time.monotonic() + deadline_s
    async with httpx.AsyncClient(base_url=base, timeout=2.0) as http:
        while time.monotonic() < deadline:
            with contextlib.suppress(httpx.HTTPError):
                if (await http.get("/health")).status_code == 200:
                    return
            await asyncio.sleep(0.1)
    raise RuntimeError(f"{base} did not answer /health")


async def _listening(port: int, deadline_s: float = 30.0) -> None:
    """Until something accepts TCP connections on 127.0.0.1:`port`."""
    async with asyncio.timeout(deadline_s):
        while True:
            try:
                _, writer = await asyncio.open_connection("127.0.0.1", port)
            except OSError:
                await asyncio.sleep(0.1)
                continue
            writer.close()
            return


async def _press_noodknoppen(
    clients: dict[int, FieldClient],
    devices: list[BenchDevice],
    chaos: Chaos,
    every: float,
    stop: asyncio.Event,
) -> None:
    rng = random.Random(7)
    while not stop.is_set():
        d = rng.choice(devices)
        client = clients[d.device_id]
        offline = chaos.backend_down or not client.connected.is_set()  # the tablet is still reconnecting
        frame = client.noodknop(datetime.now(UTC), d.lon, d.lat)
        chaos.presses.append(Press(d.device_id, frame.seq, time.monotonic(), offline, frame.at))
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), every)


async def _watch_acks(clients: dict[int, FieldClient], chaos: Chaos, stop: asyncio.Event) -> None:
    while True:
        now = time.monotonic()
        for p in chaos.presses:
            if p.acked_after_s is None and clients[p.device_id].acked >= p.seq:
                p.acked_after_s = now - p.at
        if stop.is_set() and all(p.acked_after_s is not None for p in chaos.presses):
            return
        await asyncio.sleep(0.005)


async def _send_positions(
    clients: dict[int, FieldClient],
    devices: list[BenchDevice],
    frames: int,
    rate: float,
    sent: dict[int, int],
) -> None:
    """`frames` positions at `rate`, round-robin; counts what it queued per device into `sent`."""
    rng = random.Random(3)
    t0 = time.monotonic()
    for i in range(frames):
        d = devices[i % len(devices)]
        due = t0 + i / rate
        # yield every frame, even when behind: the acks, the alarms and the chaos run on this loop too
        await asyncio.sleep(max(0.0, due - time.monotonic()))
        jitter = rng.uniform(-0.0005, 0.0005)
        clients[d.device_id].position(d.lon + jitter, d.lat + jitter, datetime.now(UTC), accuracy_m=8.0)
        sent[d.device_id] += 1


def _poison_frames(seq: int) -> list[str]:
    now = datetime.now(UTC).isoformat()
    pos = f'"kind":"position","lon":4.9,"lat":52.37,"at":"{now}"'
    return [
        f'{{{pos},"seq":{seq},"speed_mps":1e300}}',
        f'{{{pos},"seq":{seq + 1},"accuracy_m":1e39}}',
        f'{{"kind":"assistance","seq":{seq + 2},"at":"{now}","text":"hulp\\u0000nu"}}',
        f'{{"kind":"status","seq":{seq + 3},"status":"available","at":"0001-01-01T00:00:00+14:00"}}',
        f'{{"kind":"status","seq":{seq + 4},"status":"available","at":"9999-12-31T23:59:59-14:00"}}',
        f'{{{pos},"seq":{2**62}}}',
        "[" * 50_000,
        f'{{"kind":"assistance","seq":{seq + 5},"at":"{now}","text":"{"x" * 70_000}"}}',
        "dit is geen json",
    ]


async def _poison_socket(url: str, token: str, chaos: Chaos, stop: asyncio.Event) -> None:
    """A hostile tablet: connects, sends every poison frame, expects an error frame or a refusal for each."""
    seq = 10
    while not stop.is_set():
        for raw in _poison_frames(seq):
            if stop.is_set() or chaos.backend_down:
                break
            try:
                async with websockets.connect(url, open_timeout=5, max_size=2**22) as ws:
                    await ws.send(encoder.encode(Hello(token=token, protocol=PROTOCOL_VERSION)).decode())
                    server_decoder.decode(await asyncio.wait_for(ws.recv(), 5))
                    chaos.poison_sent += 1
                    await ws.send(raw)
                    answer = await asyncio.wait_for(ws.recv(), 5)
                    frame = server_decoder.decode(answer)
                    if isinstance(frame, Error):
                        chaos.poison_answered += 1
                    else:
                        chaos.server_errors.append(f"poison frame answered with {type(frame).__name__}")
            except websockets.ConnectionClosed as exc:
                code = exc.rcvd.code if exc.rcvd is not None else None
                if code in (1011, 4500):
                    chaos.server_errors.append(f"poison frame closed the socket with {code}")
                elif not chaos.backend_down:
                    chaos.poison_answered += 1  # refused by closing (too large, not JSON)
            except (OSError, TimeoutError) as exc:
                if not chaos.backend_down:
                    chaos.server_errors.append(f"poison frame: no answer ({type(exc).__name__})")
            await asyncio.sleep(0.2)
        seq += 10
        await asyncio.sleep(0.2)  # also while the backend is down: never a busy loop


async def _poison_http(base: str, token: str, chaos: Chaos, stop: asyncio.Event) -> None:
    deep = "[" * 50_000 + "]" * 50_000
    requests: list[tuple[str, str, dict[str, Any]]] = [
        ("POST", "/api/registrations", {"content": deep}),
        ("POST", "/api/registrations", {"json": {"kind": "waarneming", "at": "0001-01-01T00:00:00+14:00"}}),
        ("GET", "/osmand", {"params": {"id": "onbekend", "lat": "52.37", "lon": "4.9", "speed": "1e300"}}),
        ("POST", "/api/units/1/messages", {"json": {"text": "a\u0000b"}}),
    ]
    headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
    async with httpx.AsyncClient(base_url=base, timeout=10.0, headers=headers) as http:
        while not stop.is_set():
            for method, path, kw in requests:
                if chaos.backend_down:
                    break
                with contextlib.suppress(httpx.TransportError):
                    r = await http.request(method, path, **kw)
                    if r.status_code >= 500:
                        chaos.server_errors.append(f"{method} {path}: {r.status_code}")
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), 1.0)


async def _login_flood(base: str, usernames: list[str], chaos: Chaos, parallel: int = 24) -> None:
    async with httpx.AsyncClient(base_url=base, timeout=60.0) as http:

        async def one(i: int) -> None:
            password = PASSWORD if i % 3 else "verkeerd-wachtwoord"
            with contextlib.suppress(httpx.TransportError):
                r = await http.post(
                    "/api/auth/login", json={"username": usernames[i % len(usernames)], "password": password}
                )
                key = str(r.status_code)
                chaos.logins[key] = chaos.logins.get(key, 0) + 1
                if r.status_code >= 500:
                    chaos.server_errors.append(f"login: {r.status_code}")

        await asyncio.gather(*(one(i) for i in range(parallel)))


async def _schedule(
    seconds: float,
    params: Params,
    backend: Proc,
    bridge: Proc,
    base: str,
    usernames: list[str],
    chaos: Chaos,
) -> None:
    """The chaos of one phase: login floods, then kills of the backend and the bridge, spread over it."""
    events: list[tuple[float, str]] = [(0.15, "flood"), (0.55, "flood")]
    for i in range(params.backend_kills):
        events.append((0.3 + 0.4 * i / max(1, params.backend_kills), "backend"))
    for i in range(params.bridge_kills):
        events.append((0.5 + 0.3 * i / max(1, params.bridge_kills), "bridge"))
    t0 = time.monotonic()
    for fraction, what in sorted(events):
        await asyncio.sleep(max(0.0, t0 + fraction * seconds - time.monotonic()))
        if what == "flood":
            say("login flood")
            began = time.monotonic()
            await _login_flood(base, usernames, chaos)
            chaos.spans.append((began, time.monotonic(), "login flood"))
        elif what == "backend":
            say("kill -9 backend")
            chaos.backend_down = True
            killed = time.monotonic()
            backend.kill()
            await asyncio.sleep(params.down_s)
            backend.start()
            await _healthy(base)
            healthy = time.monotonic()
            chaos.outages.append((killed, healthy))
            chaos.spans.append((killed, healthy + AFTER_RESTART_S, "backend restart"))
            chaos.backend_down = False
            say(f"backend back after {time.monotonic() - killed:.1f} s")
        else:
            say("kill -9 bridge")
            killed = time.monotonic()
            bridge.kill()
            await asyncio.sleep(params.down_s)
            bridge.start()
            chaos.spans.append((killed, time.monotonic() + AFTER_RESTART_S, "bridge restart"))


async def _run(params: Params, url: str, tmp: Path) -> dict[str, Any]:
    suffix = secrets.token_hex(3)
    world = await build_world(url, devices=params.devices + POISON_DEVICES, operators=1, suffix=suffix)
    pool = await create_pool(url, min_size=1, max_size=2)
    async with pool.acquire() as conn:
        await orgs.create_account(
            conn, org_id=world.meldkamer_id, username=BRIDGE_ACCOUNT, password=PASSWORD, role="service"
        )
    await pool.close()
    secret = secrets.token_urlsafe(32)
    port, partner_port = free_port(), free_port()
    base, ws_url = f"http://127.0.0.1:{port}", f"ws://127.0.0.1:{port}/ws/field"
    env = {
        **_env(),
        "SCHAKEL_DATABASE_URL": url,
        "SCHAKEL_PORT": str(port),
        "SCHAKEL_HOST": "127.0.0.1",
        "SCHAKEL_SECRET_KEY": secret,
        "SCHAKEL_DATA_DIR": str(tmp / "data"),
    }
    backend = Proc(
        "backend", [*SERVE_CMD, "serve", "--host", "127.0.0.1", "--port", str(port)], env, tmp / "s.log"
    )
    partner_db = tmp / "partner.sqlite3"
    partner = Proc(
        "partner",
        ["-m", "meldkamer_bridge.simulator", "--port", str(partner_port), "--db", str(partner_db), "--quiet"],
        env,
        tmp / "partner.log",
    )
    bridge = Proc(
        "bridge",
        [
            "-m",
            "meldkamer_bridge",
            "--database-url",
            url,
            "--backend-url",
            base,
            "--username",
            BRIDGE_ACCOUNT,
            "--password",
            PASSWORD,
            "--partners",
            f"{PARTNER}=ws://127.0.0.1:{partner_port}/",
        ],
        env,
        tmp / "bridge.log",
    )
    normal, poison = world.devices[: params.devices], world.devices[params.devices :]
    clients = {d.device_id: FieldClient(ws_url, world.device_token(d, secret, 600)) for d in normal}
    phases: dict[str, dict[str, Any]] = {}
    sent = {d.device_id: 0 for d in normal}  # positions queued per device, over both phases
    try:
        for p in (partner, backend):
            p.start()
        await _healthy(base)
        await _listening(partner_port)
        bridge.start()
        tasks = [asyncio.create_task(c.run(backoff_max=1.0)) for c in clients.values()]
        try:
            async with asyncio.timeout(60):
                for c in clients.values():
                    await c.connected.wait()
            baseline_frames = int(params.baseline_s * params.rate)
            if baseline_frames:
                phases["baseline"] = await _phase(
                    params, clients, sent, normal, [], baseline_frames, None, base, world, secret
                )
            phases["chaos"] = await _phase(
                params, clients, sent, normal, poison, params.frames, (backend, bridge), base, world, secret
            )
        finally:
            for t in tasks:
                t.cancel()
            for t in tasks:
                with contextlib.suppress(asyncio.CancelledError, Exception):
                    await t
        counted = await _count(url, world, clients, sent, partner_db, params)
    finally:
        for p in (bridge, backend, partner):
            p.stop()
    _join_trace(phases, tmp / "s.log")
    return _result(params, phases, counted, backend.kills, bridge.kills)


TRACE = re.compile(r"safety frame durable: kind=(\w+) device=(\d+) seq=(\d+) (.*)$")


def _number(text: str) -> float | str:
    try:
        return float(text)
    except ValueError:
        return text


def _join_trace(phases: dict[str, dict[str, Any]], server_log: Path) -> None:
    """Each press gets where its time went in the server (the writer's safety trace), when it is there."""
    trace: dict[tuple[int, int], dict[str, float | str]] = {}
    with contextlib.suppress(OSError):
        for line in server_log.read_text(errors="replace").splitlines():
            m = TRACE.search(line)
            if m is None:
                continue
            fields = dict(pair.split("=", 1) for pair in m.group(4).split())
            trace.setdefault((int(m.group(2)), int(m.group(3))), {k: _number(v) for k, v in fields.items()})
    for phase in phases.values():
        for press in phase["presses"]:
            press["server"] = trace.get((press["device"], press["seq"]))


def _env() -> dict[str, str]:
    return {k: v for k, v in os.environ.items() if not k.startswith("SCHAKEL_")}


async def _phase(
    params: Params,
    clients: dict[int, FieldClient],
    sent: dict[int, int],
    devices: list[BenchDevice],
    poison: list[BenchDevice],
    frames: int,
    procs: tuple[Proc, Proc] | None,
    base: str,
    world: BenchWorld,
    secret: str,
) -> dict[str, Any]:
    chaos = Chaos()
    stop, acks_done = asyncio.Event(), asyncio.Event()
    seconds = frames / params.rate
    background = [
        asyncio.create_task(_press_noodknoppen(clients, devices, chaos, params.noodknop_every, stop)),
        asyncio.create_task(_watch_acks(clients, chaos, acks_done)),
        asyncio.create_task(_watch_loop(chaos, stop)),
    ]
    if procs is not None:
        ws_url = base.replace("http", "ws") + "/ws/field"
        boa_token = world.device_token(poison[0], secret, 600)
        background += [
            asyncio.create_task(_poison_socket(ws_url, world.device_token(d, secret, 600), chaos, stop))
            for d in poison
        ]
        background.append(asyncio.create_task(_poison_http(base, boa_token, chaos, stop)))
        usernames = [world.boa_username, *world.operator_usernames]
        background.append(asyncio.create_task(_schedule(seconds, params, *procs, base, usernames, chaos)))
    started = time.monotonic()
    say(f"{'chaos' if procs else 'baseline'} phase: {frames} positions at {params.rate:.0f}/s")
    await _send_positions(clients, devices, frames, params.rate, sent)
    if procs is not None:
        await background[-1]  # the chaos schedule ends (a restart may still be going on)
    say("positions sent; waiting for every acknowledgement")
    stop.set()
    acks_done.set()
    async with asyncio.timeout(params.drain):
        for c in clients.values():
            await c.wait_acked(c.next_seq - 1, timeout=params.drain)
        await background[1]
    for t in background:
        t.cancel()
        with contextlib.suppress(asyncio.CancelledError, Exception):
            await t
    phase = "chaos" if procs is not None else "baseline"
    for p in chaos.presses:
        p.context = _context(p, chaos.spans, phase)
        killed = [start for start, _ in chaos.outages if p.at <= start]
        acked = p.acked_after_s
        if not p.during_outage and acked is not None and killed and p.at + acked > killed[0]:
            # its ack was on its way when the backend was killed: it can only come after the restart
            p.during_outage, p.context = True, "cut by the kill"
    up = [p.acked_after_s for p in chaos.presses if not p.during_outage and p.acked_after_s is not None]
    by_context: dict[str, dict[str, Any]] = {}
    for p in chaos.presses:
        if not p.during_outage and p.acked_after_s is not None:
            by_context.setdefault(p.context, {"n": 0, "acks": []})
            by_context[p.context]["n"] += 1
            by_context[p.context]["acks"].append(p.acked_after_s)
    contexts = {
        what: {"n": v["n"], "p50_ms": _ms(percentile(v["acks"], 50)), "max_ms": _ms(max(v["acks"]))}
        for what, v in sorted(by_context.items())
    }
    restarts = [end for _, end in chaos.outages]
    after_restart = []
    for p in chaos.presses:
        if p.during_outage and p.acked_after_s is not None:
            back = next((end for end in restarts if end >= p.at), p.at)
            after_restart.append(max(0.0, p.at + p.acked_after_s - back))
    return {
        "seconds": round(time.monotonic() - started, 1),
        "frames": frames,
        "noodknoppen": len(chaos.presses),
        "noodknop_ack_p50_ms": _ms(percentile(up, 50)),
        "noodknop_ack_p99_ms": _ms(percentile(up, 99)),
        "noodknop_ack_max_ms": _ms(max(up)) if up else None,
        "noodknop_ack_by_context": contexts,
        "pressed_during_outage": len(after_restart),
        "outage_ack_after_restart_max_ms": _ms(max(after_restart)) if after_restart else None,
        "backend_outages_s": [round(end - start, 2) for start, end in chaos.outages],
        "poison_sent": chaos.poison_sent,
        "poison_answered": chaos.poison_answered,
        "logins": chaos.logins,
        "server_errors": chaos.server_errors[:20],
        "server_error_count": len(chaos.server_errors),
        "orchestrator_loop_lag_p99_ms": _ms(percentile(chaos.loop_lag_s, 99)),
        "orchestrator_loop_lag_max_ms": _ms(max(chaos.loop_lag_s)) if chaos.loop_lag_s else None,
        "presses": [
            {
                "device": p.device_id,
                "seq": p.seq,
                "at": p.wall.isoformat(),
                "context": p.context,
                "during_outage": p.during_outage,
                "ack_ms": _ms(p.acked_after_s),
            }
            for p in chaos.presses
        ],
    }


def _ms(seconds: float | None) -> float | None:
    return None if seconds is None else round(seconds * 1000, 1)


async def _count(
    url: str,
    world: BenchWorld,
    clients: dict[int, FieldClient],
    sent: dict[int, int],
    partner_db: Path,
    params: Params,
) -> dict[str, Any]:
    """Lost and doubled, from the database and the partner's own store."""
    conn = await asyncpg.connect(url)
    try:
        ids = list(clients)
        rows = await conn.fetch(
            "SELECT device_id, count(*) AS n, count(DISTINCT seq) AS distinct_n FROM positions "
            "WHERE device_id = ANY($1) GROUP BY device_id",
            ids,
        )
        stored = {r["device_id"]: (r["n"], r["distinct_n"]) for r in rows}
        events = await conn.fetch(
            "SELECT device_id, seq, count(*) AS n FROM field_events WHERE device_id = ANY($1) "
            "AND kind = 'noodknop' GROUP BY device_id, seq",
            ids,
        )
        alert_ids = [
            int(r["id"])
            for r in await conn.fetch(
                "SELECT id FROM alerts WHERE org_id = $1 AND kind = 'noodknop'", world.org_id
            )
        ]
    finally:
        await conn.close()
    total_stored_rows = sum(n for n, _ in stored.values())
    distinct_stored = sum(d for _, d in stored.values())
    noodknop_events = {(r["device_id"], r["seq"]): r["n"] for r in events}
    positions_expected = sum(sent.values())
    delivered = _partner_alerts(partner_db)
    deadline = time.monotonic() + params.drain
    while not set(alert_ids) <= delivered and time.monotonic() < deadline:
        await asyncio.sleep(0.5)
        delivered = _partner_alerts(partner_db)
    return {
        "positions_expected": positions_expected,
        "positions_stored": distinct_stored,
        "positions_lost": max(0, positions_expected - distinct_stored),
        "positions_doubled": total_stored_rows - distinct_stored,
        "noodknoppen_stored": len(noodknop_events),
        "noodknoppen_doubled": sum(n - 1 for n in noodknop_events.values()),
        "noodknop_alerts": len(alert_ids),
        "noodknop_alerts_at_partner": len(set(alert_ids) & delivered),
        "noodknop_alerts_lost_at_partner": len(set(alert_ids) - delivered),
        "unacked_at_end": sum(len(c.unacked) for c in clients.values()),
        "refused_normal_frames": sum(len(c.errors) for c in clients.values()),
    }


def _partner_alerts(path: Path) -> set[int]:
    """The Schakel alert ids whose CAP the partner stored (its inbox keeps each message id once)."""
    with contextlib.closing(sqlite3.connect(path, timeout=5)) as db:
        rows = db.execute("SELECT msg_id FROM inbox WHERE type = 'cap'").fetchall()
    out = set()
    for (msg_id,) in rows:
        prefix, _, number = str(msg_id).rpartition(":")
        if prefix == "schakel:alert" and number.isdigit():
            out.add(int(number))
    return out


def _result(
    params: Params,
    phases: dict[str, dict[str, Any]],
    counted: dict[str, Any],
    backend_kills: int,
    bridge_kills: int,
) -> dict[str, Any]:
    chaos = phases["chaos"]
    worst = chaos["noodknop_ack_max_ms"]
    checks = {
        "positions_lost_0": counted["positions_lost"] == 0,
        "positions_doubled_0": counted["positions_doubled"] == 0,
        "noodknoppen_doubled_0": counted["noodknoppen_doubled"] == 0,
        "noodknoppen_lost_0": counted["noodknoppen_stored"]
        == chaos["noodknoppen"] + phases.get("baseline", {}).get("noodknoppen", 0),
        "partner_lost_0": counted["noodknop_alerts_lost_at_partner"] == 0,
        "worst_ack_le_1s": worst is not None and worst <= TARGET_ACK_S * 1000,
        "server_errors_0": chaos["server_error_count"] == 0,
        "every_poison_answered": chaos["poison_answered"] == chaos["poison_sent"],
    }
    baseline_max = phases.get("baseline", {}).get("noodknop_ack_max_ms")
    return {
        "bench": "chaos",
        "params": msgspec.to_builtins(params),
        "at": datetime.now(UTC).isoformat(),
        "kills": {"backend": backend_kills, "bridge": bridge_kills},
        "phases": phases,
        "counted": counted,
        "worst_ack_ratio_to_baseline": round(worst / baseline_max, 2) if worst and baseline_max else None,
        "worst_presses": _worst(phases, 5),
        "checks": checks,
        "pass": all(checks.values()),
    }


def _worst(phases: dict[str, dict[str, Any]], n: int) -> list[dict[str, Any]]:
    """The slowest presses on a connected tablet, with what was going on and where the server spent it."""
    up = [
        {"phase": name, **p}
        for name, phase in phases.items()
        for p in phase["presses"]
        if not p["during_outage"] and p["ack_ms"] is not None
    ]
    return sorted(up, key=lambda p: -float(p["ack_ms"]))[:n]


def render(result: dict[str, Any]) -> str:
    c, phases = result["counted"], result["phases"]
    lines = [
        "schakel bench chaos — normal traffic with poison, login floods and kill -9",
        "",
        f"{'':34}{'baseline':>14}{'chaos':>14}",
    ]
    for key, label in (
        ("frames", "positions sent"),
        ("noodknoppen", "noodknoppen pressed"),
        ("noodknop_ack_p50_ms", "noodknop ack p50 (ms)"),
        ("noodknop_ack_p99_ms", "noodknop ack p99 (ms)"),
        ("noodknop_ack_max_ms", "noodknop ack worst (ms)"),
        ("pressed_during_outage", "pressed while link down"),
        ("outage_ack_after_restart_max_ms", "  acked after restart, worst (ms)"),
        ("poison_sent", "poison frames sent"),
        ("poison_answered", "poison frames answered/refused"),
        ("server_error_count", "server errors (5xx, 1011, none)"),
    ):
        row = [str(phases.get(p, {}).get(key, "–")) for p in ("baseline", "chaos")]
        lines.append(f"{label:34}{row[0]:>14}{row[1]:>14}")
    lines += [
        "",
        f"kill -9: backend {result['kills']['backend']}× (down {phases['chaos']['backend_outages_s']} s), "
        f"bridge {result['kills']['bridge']}×; logins {phases['chaos']['logins']}",
        f"positions: expected {c['positions_expected']}, stored {c['positions_stored']}, "
        f"lost {c['positions_lost']}, doubled {c['positions_doubled']}",
        f"noodknoppen: stored {c['noodknoppen_stored']}, doubled {c['noodknoppen_doubled']}; "
        f"at the police partner {c['noodknop_alerts_at_partner']}/{c['noodknop_alerts']} "
        f"(lost {c['noodknop_alerts_lost_at_partner']})",
        f"worst noodknop ack against the calm baseline: {result['worst_ack_ratio_to_baseline']}×",
        "",
        "slowest noodknoppen (link up): "
        + "; ".join(
            f"{p['ack_ms']:.0f} ms ({p['phase']}, {p['context']}"
            + (
                f"; server {p['server'].get('lane', '')}: queued {p['server']['queued_ms']:.0f} ms "
                f"behind {p['server']['ahead']:.0f}, "
                f"pool {p['server']['pool_ms']:.0f}, write {p['server']['write_ms']:.0f} ms"
                f" in {p['server']['batch']:.0f} rows)"
                if p.get("server")
                else ")"
            )
            for p in result["worst_presses"]
        ),
        "",
        "checks: " + ", ".join(f"{k} {'ok' if v else 'FAIL'}" for k, v in result["checks"].items()),
    ]
    if phases["chaos"]["server_errors"]:
        lines.append("server errors: " + "; ".join(phases["chaos"]["server_errors"]))
    return "\n".join(lines)
