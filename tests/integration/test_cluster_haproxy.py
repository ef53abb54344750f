"""Two `schakel serve` instances behind the real HAProxy with the documented config (deploy/haproxy.cfg).

A tablet speaks only to the proxy. Its instance is killed with SIGKILL mid-stream; HAProxy's health check
marks it down, the tablet's reconnect lands on the instance that is left, resumes from its `acked` and stores
every position exactly once — the failover a meldkamer relies on, through the load balancer it runs.
"""

from __future__ import annotations

import asyncio
import contextlib
import shutil
import signal
import subprocess
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import asyncpg
import httpx
import pytest
import websockets

from shared.protocol import Ack, PositionReported, Welcome
from tests.integration.cluster import ROOT, healthy, serve, serve_env
from tests.integration.harness import free_port, login, socket_to
from tests.integration.processes import start as start_process
from tests.integration.processes import stop_all
from tests.integration.world import build_world

pytestmark = pytest.mark.skipif(
    shutil.which("haproxy") is None, reason="haproxy is not installed (apt-get install haproxy; .ci/run does)"
)


def proxy_config(proxy: int, a: int, b: int) -> str:
    """The documented config, with this test's loopback ports instead of 8080/8000/8001, and fewer connections
    (maxconn 20000 needs 40,000 file descriptors, more than a test machine's limit)."""
    text = (ROOT / "deploy" / "haproxy.cfg").read_text(encoding="utf-8")
    for old, new in (
        ("bind :8080", f"bind 127.0.0.1:{proxy}"),
        (":8000 ", f":{a} "),
        (":8001 ", f":{b} "),
        ("maxconn 20000", "maxconn 2000"),
    ):
        assert old in text, f"deploy/haproxy.cfg no longer has {old!r}"
        text = text.replace(old, new)
    return text


async def through_proxy(base: str, timeout_s: float) -> None:
    async with httpx.AsyncClient() as http, asyncio.timeout(timeout_s):
        while True:
            with contextlib.suppress(httpx.TransportError):
                if (await http.get(f"{base}/health")).status_code == 200:
                    return
            await asyncio.sleep(0.2)


async def test_a_tablet_behind_haproxy_survives_the_loss_of_its_instance(
    database_url: str, tmp_path: Path
) -> None:
    world = await build_world(database_url)
    env = serve_env(database_url, tmp_path)
    pa, pb, pp = free_port(), free_port(), free_port()
    config = tmp_path / "haproxy.cfg"
    config.write_text(proxy_config(pp, pa, pb), encoding="utf-8")
    proxy = start_process(
        ["haproxy", "-db", "-f", str(config)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    a = serve(pa, env, tmp_path / "serve-a.log")
    b: subprocess.Popen[bytes] | None = None
    base, ws_url = f"http://127.0.0.1:{pp}", f"ws://127.0.0.1:{pp}/ws/field"
    total, kill_at = 200, 120
    try:
        await healthy(pa, a)  # only A is up: the tablet's first connection goes to A
        await through_proxy(base, 30)
        session = await login(base, "boa_a", world.tablet_a)
        start = datetime.now(UTC)

        def position(seq: int) -> PositionReported:
            return PositionReported(
                seq=seq, lon=4.8970 + seq * 1e-6, lat=52.3745, at=start + timedelta(milliseconds=10 * seq)
            )

        async with socket_to(ws_url, session["access_token"]) as ws:
            assert isinstance(await ws.recv(), Welcome)
            b = serve(pb, env, tmp_path / "serve-b.log")
            await healthy(pb, b)
            await asyncio.sleep(2.5)  # HAProxy's check (inter 1 s, rise 2) brings B into rotation
            for seq in range(1, kill_at + 1):
                await ws.send(position(seq))
                await asyncio.sleep(0.002)
            a.send_signal(signal.SIGKILL)  # mid-stream: some positions durable, some not yet acknowledged
            killed = time.monotonic()
            with contextlib.suppress(websockets.ConnectionClosed, TimeoutError, OSError):
                for seq in range(kill_at + 1, total + 1):
                    await ws.send(position(seq))
                    await asyncio.sleep(0.002)
        # the tablet reconnects to the same address, the proxy, until an instance answers
        welcome = None
        async with asyncio.timeout(15):
            while welcome is None:
                try:
                    async with socket_to(ws_url, session["access_token"]) as ws:
                        first = await ws.recv()
                        assert isinstance(first, Welcome)
                        welcome = first
                        gap = time.monotonic() - killed
                        for seq in range(welcome.acked + 1, total + 1):  # what its outbox still holds
                            await ws.send(position(seq))
                        await ws.recv_until(lambda f: isinstance(f, Ack) and f.upto == total, timeout=10.0)
                except (OSError, websockets.InvalidStatus, websockets.ConnectionClosed):
                    await asyncio.sleep(0.3)  # 503 or refused while HAProxy still counts A as up
        assert welcome.acked <= kill_at
        assert gap < 10.0, f"the tablet was without an instance for {gap:.1f} s"
        conn = await asyncpg.connect(database_url)
        try:
            stored, distinct = await conn.fetchrow(
                "SELECT count(*), count(DISTINCT seq) FROM positions WHERE device_id = $1", world.tablet_a
            )
        finally:
            await conn.close()
        assert (stored, distinct) == (total, total)  # none lost, none doubled
    finally:
        for process in (a, b, proxy):
            if process is not None:
                await asyncio.to_thread(stop_all, process)
