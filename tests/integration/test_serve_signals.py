"""`schakel serve` on the embedded PostgreSQL stops it again however it is stopped (SIGINT or SIGTERM)."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
from pathlib import Path

import httpx
import pytest

from tests.integration.harness import free_port

ROOT = Path(__file__).resolve().parents[2]


def _alive(pid: int) -> bool:
    """True while the process runs (a zombie nobody reaped yet has stopped)."""
    try:
        os.kill(pid, 0)
        stat = Path(f"/proc/{pid}/stat").read_text()
    except (ProcessLookupError, FileNotFoundError):
        return False
    return stat.rpartition(")")[2].split()[0] != "Z"


async def _healthy(base: str, process: subprocess.Popen[bytes]) -> None:
    async with httpx.AsyncClient(base_url=base) as http, asyncio.timeout(120):
        while True:
            assert process.poll() is None, "schakel serve exited before it was up"
            try:
                if (await http.get("/health")).status_code == 200:
                    return
            except httpx.TransportError:
                pass
            await asyncio.sleep(0.2)


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT], ids=["sigterm", "sigint"])
async def test_serve_stops_the_embedded_postgresql_when_it_is_stopped(
    tmp_path: Path, signum: signal.Signals
) -> None:
    env = {k: v for k, v in os.environ.items() if k != "SCHAKEL_DATABASE_URL"}
    env["SCHAKEL_DATA_DIR"] = str(tmp_path / "data")
    port = free_port()
    with (tmp_path / "serve.log").open("wb") as log:
        process = subprocess.Popen(
            [sys.executable, "-m", "backend.cli", "serve", "--port", str(port)],
            cwd=ROOT,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        try:
            await _healthy(f"http://127.0.0.1:{port}", process)
            postmaster = int((tmp_path / "data" / "pg" / "postmaster.pid").read_text().split()[0])
            assert _alive(postmaster)
            process.send_signal(signum)
            code = await asyncio.to_thread(process.wait, 60)
        finally:
            if process.poll() is None:
                process.kill()
                process.wait()
    assert code in (128 + signum, 130, 0), (tmp_path / "serve.log").read_text()
    async with asyncio.timeout(20):
        while _alive(postmaster):
            await asyncio.sleep(0.1)
    assert not (tmp_path / "data" / "pg" / "postmaster.pid").exists()
