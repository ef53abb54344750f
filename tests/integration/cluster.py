"""Two real Schakel instances (two apps, each with its own uvicorn on its own loopback port), ONE database."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager
from pathlib import Path
from typing import Any

import httpx

from tests.integration.harness import Server, make_settings, running
from tests.integration.processes import start

ROOT = Path(__file__).resolve().parents[2]


def serve_env(database_url: str, tmp: Path) -> dict[str, str]:
    """The environment of `schakel serve` processes that share one database and one signing key."""
    return {
        **os.environ,
        "SCHAKEL_DATABASE_URL": database_url,
        "SCHAKEL_SECRET_KEY": "test-secret-key-that-is-long-enough-0123456789",
        "SCHAKEL_DATA_DIR": str(tmp),
        "SCHAKEL_FLUSH_INTERVAL_S": "0.05",
    }


def serve(port: int, env: dict[str, str], log: Path) -> subprocess.Popen[bytes]:
    """`schakel serve` in a process group of its own: stop it with `processes.stop_all`."""
    with log.open("wb") as out:
        return start([sys.executable, "-m", "backend.cli", "serve", "--port", str(port)], env=env, stdout=out)


async def healthy(port: int, process: subprocess.Popen[bytes]) -> None:
    async with httpx.AsyncClient() as http, asyncio.timeout(60):
        while True:
            assert process.poll() is None, "schakel serve exited before it was up"
            try:
                if (await http.get(f"http://127.0.0.1:{port}/health")).status_code == 200:
                    return
            except httpx.TransportError:
                pass
            await asyncio.sleep(0.1)


@asynccontextmanager
async def instances(
    database_url: str, tmp: Path, n: int = 2, **overrides: Any
) -> AsyncIterator[list[Server]]:
    """`n` instances started one after the other (the first applies migrations), stopped in reverse."""
    async with AsyncExitStack() as stack:
        servers = [
            await stack.enter_async_context(running(make_settings(database_url, tmp, **overrides)))
            for _ in range(n)
        ]
        yield servers
