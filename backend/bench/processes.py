"""The benchmark's processes: the real server, the baseline server, the load workers; and their CPU.

Every process is a child started here and stopped here (terminate, then kill after a grace period), on
127.0.0.1 only, so a benchmark leaves nothing running behind it.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import socket
import sys
import time
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from pathlib import Path

import httpx
import msgspec
import psutil

from backend.bench.load import WorkerResult, WorkerSpec
from backend.bench.stats import CpuMeter

PROJECT_ROOT = Path(__file__).resolve().parents[2]
START_TIMEOUT_S = 90.0
SERVE_CMD = ["-m", "backend.cli"]  # `schakel serve`, with the interpreter of this run


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def child_env(extra: dict[str, str] | None = None) -> dict[str, str]:
    """This environment, with this project first on the import path (a child runs this checkout's code)."""
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(PROJECT_ROOT), env.get("PYTHONPATH", "")) if p)
    env.update(extra or {})
    return env


def _tail(path: Path, lines: int = 20) -> str:
    with contextlib.suppress(OSError):
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    return ""


async def stop_process(proc: asyncio.subprocess.Process, grace: float = 15.0) -> None:
    if proc.returncode is not None:
        return
    with contextlib.suppress(ProcessLookupError):
        proc.terminate()
    try:
        await asyncio.wait_for(proc.wait(), grace)
    except TimeoutError:
        with contextlib.suppress(ProcessLookupError):
            proc.kill()
        await proc.wait()


@asynccontextmanager
async def schakel_server(
    url: str, secret: str, tmp: Path, port: int | None = None
) -> AsyncIterator[tuple[str, asyncio.subprocess.Process]]:
    """The real server, `schakel serve`, in its own process (on `port`, or a free one); yields its base URL
    once /health answers."""
    port = port or free_port()
    log_path = tmp / "server.log"
    env = child_env(
        {
            "SCHAKEL_DATABASE_URL": url,
            "SCHAKEL_PORT": str(port),
            "SCHAKEL_SECRET_KEY": secret,
            "SCHAKEL_DATA_DIR": str(tmp / "data"),
            "SCHAKEL_HOST": "127.0.0.1",
        }
    )
    with log_path.open("wb") as log:
        proc = await asyncio.create_subprocess_exec(
            sys.executable,
            *SERVE_CMD,
            "serve",
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            stdin=asyncio.subprocess.DEVNULL,
            stdout=log,
            stderr=log,
            env=env,
        )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + START_TIMEOUT_S
        async with httpx.AsyncClient(base_url=base, timeout=2.0) as http:
            while True:
                if proc.returncode is not None:
                    raise RuntimeError(f"the server exited ({proc.returncode}):\n{_tail(log_path)}")
                with contextlib.suppress(httpx.HTTPError):
                    if (await http.get("/health")).status_code == 200:
                        break
                if time.monotonic() > deadline:
                    raise RuntimeError(f"the server did not answer /health in time:\n{_tail(log_path)}")
                await asyncio.sleep(0.2)
        yield base, proc
    finally:
        await stop_process(proc)


@asynccontextmanager
async def baseline_server(tmp: Path) -> AsyncIterator[tuple[str, asyncio.subprocess.Process]]:
    port = free_port()
    log_path = tmp / "baseline.log"
    with log_path.open("wb") as log:
        proc = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "backend.bench.baseline",
            "--port",
            str(port),
            stdin=asyncio.subprocess.DEVNULL,
            stdout=asyncio.subprocess.PIPE,
            stderr=log,
            env=child_env(),
        )
    try:
        assert proc.stdout is not None
        line = await asyncio.wait_for(proc.stdout.readline(), START_TIMEOUT_S)
        if line.strip() != b"ready":
            raise RuntimeError(f"the baseline server did not start:\n{_tail(log_path)}")
        yield f"ws://127.0.0.1:{port}", proc
    finally:
        await stop_process(proc)


class PhaseRun(msgspec.Struct, kw_only=True):
    results: list[WorkerResult]
    seconds: float  # wall time of the window, as the orchestrator saw it
    server_cpu_s: float
    database_cpu_s: float | None
    machine_busy_s: float  # CPU seconds used by everything on the machine (all cores) during the window


async def run_phase(
    specs: list[WorkerSpec],
    tmp: Path,
    server_pid: int,
    postmaster_pid: int | None,
    seconds: float,
    drain: float,
    more_server_pids: Sequence[int] = (),
) -> PhaseRun:
    """Start the workers, let them connect, start them together, measure the server's CPU over the window
    (the sum over `server_pid` and `more_server_pids` when several instances serve the load)."""
    procs: list[asyncio.subprocess.Process] = []
    logs: list[Path] = []
    try:
        for i, spec in enumerate(specs):
            log_path = tmp / f"worker-{i}.log"
            logs.append(log_path)
            with log_path.open("ab") as log:
                proc = await asyncio.create_subprocess_exec(
                    sys.executable,
                    "-m",
                    "backend.bench.load",
                    stdin=asyncio.subprocess.PIPE,
                    stdout=asyncio.subprocess.PIPE,
                    stderr=log,
                    env=child_env(),
                )
            procs.append(proc)
            assert proc.stdin is not None
            proc.stdin.write(msgspec.json.encode(spec) + b"\n")
            await proc.stdin.drain()
        for proc, log_path in zip(procs, logs, strict=True):
            assert proc.stdout is not None
            line = await asyncio.wait_for(proc.stdout.readline(), START_TIMEOUT_S)
            if line.strip() != b"ready":
                raise RuntimeError(f"a load worker did not get ready:\n{_tail(log_path)}")
        server_cpus = [CpuMeter(pid) for pid in (server_pid, *more_server_pids)]
        database_cpu = CpuMeter(postmaster_pid, children=True) if postmaster_pid else None
        for meter in server_cpus:
            meter.start()
        if database_cpu:
            database_cpu.start()
        busy0 = busy_seconds()
        t0 = time.perf_counter()
        for proc in procs:
            assert proc.stdin is not None
            proc.stdin.write(b"go\n")
            await proc.stdin.drain()
        await asyncio.sleep(seconds)
        window = time.perf_counter() - t0
        machine_busy_s = busy_seconds() - busy0
        server_cpu_s = sum(meter.stop() for meter in server_cpus)
        database_cpu_s = database_cpu.stop() if database_cpu else None
        for proc, log_path in zip(procs, logs, strict=True):
            assert proc.stdout is not None
            line = await asyncio.wait_for(proc.stdout.readline(), drain + 30.0)
            if line.strip() != b"done":
                raise RuntimeError(f"a load worker failed:\n{_tail(log_path)}")
            await proc.wait()
        results = [await asyncio.to_thread(_read_result, spec.result_path) for spec in specs]
        return PhaseRun(
            results=results,
            seconds=window,
            server_cpu_s=server_cpu_s,
            database_cpu_s=database_cpu_s,
            machine_busy_s=machine_busy_s,
        )
    finally:
        for proc in procs:
            await stop_process(proc, grace=5.0)


def _read_result(path: str) -> WorkerResult:
    return msgspec.json.decode(Path(path).read_bytes(), type=WorkerResult)


def busy_seconds() -> float:
    times = psutil.cpu_times()
    return float(
        times.user
        + times.nice
        + times.system
        + getattr(times, "irq", 0.0)
        + getattr(times, "softirq", 0.0)
        + getattr(times, "steal", 0.0)
    )
