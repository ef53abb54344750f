"""`schakel simulate` as a newcomer runs it: it finds the server on SCHAKEL_PORT, and says plainly when no
server answers there (no traceback)."""

from __future__ import annotations

import asyncio
import os
import socket
import sys
from pathlib import Path

from backend.demo.seed import seed_demo
from tests.integration.harness import make_settings, running


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


async def run_cli(*args: str, port: int) -> tuple[int, str]:
    env = {**os.environ, "SCHAKEL_PORT": str(port)}
    env.pop("SCHAKEL_HOST", None)
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "backend.cli", *args, env=env,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip
    try:
        _, err = await asyncio.wait_for(process.communicate(), 90)
    finally:
        if process.returncode is None:  # cancelled or timed out: the command must not outlive the test
            process.kill()
            await process.wait()
    assert process.returncode is not None
    return process.returncode, err.decode()


async def test_simulate_says_plainly_when_no_server_answers_on_schakel_port() -> None:
    port = free_port()  # nothing listens here
    code, err = await run_cli("simulate", "--units", "1", "--duration", "1", port=port)
    assert code == 1
    assert f"no server answers at http://127.0.0.1:{port}" in err and "Traceback" not in err


async def test_simulate_finds_the_server_on_schakel_port(database_url: str, tmp_path: Path) -> None:
    await seed_demo(database_url)
    async with running(make_settings(database_url, tmp_path)) as server:
        port = int(server.base.rsplit(":", 1)[1])
        code, err = await run_cli("simulate", "--units", "1", "--duration", "2", port=port)
        assert code == 0, err
        assert "simulating 1 units" in err
