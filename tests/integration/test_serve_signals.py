"""`schakel serve` on the embedded PostgreSQL stops it again however it is stopped (SIGINT or SIGTERM)."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from tests.integration.harness import free_port
from tests.integration.processes import start, stop_all


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
    pgdata = tmp_path / "data" / "pg"
    port = free_port()
    with (tmp_path / "serve.log").open("wb") as log:
        process = start(
            [sys.executable, "-m", "backend.cli", "serve", "--port", str(port)], env=env, stdout=log
        )
    try:
        await _healthy(f"http://127.0.0.1:{port}", process)
        postmaster = int((pgdata / "postmaster.pid").read_text().split()[0])
        assert _alive(postmaster)
        process.send_signal(signum)
        code = await asyncio.to_thread(process.wait, 60)
        deadline = time.monotonic() + 20  # serve stops it itself; the clean-up below must not be what did
        while _alive(postmaster) and time.monotonic() < deadline:
            await asyncio.sleep(0.1)
        postmaster_left = _alive(postmaster)
    finally:
        # also when the test failed or timed out above: neither serve nor its PostgreSQL may outlive it
        await asyncio.to_thread(stop_all, process, pgdata=pgdata)
    assert code in (128 + signum, 130, 0), (tmp_path / "serve.log").read_text()
    assert not postmaster_left
    assert not (pgdata / "postmaster.pid").exists()
