"""A console whose instance hangs (its sockets stay open, nothing answers) notices by its own ping, says so
("Verbinding verbroken") within about 15 s and is live again once it reaches a working instance. The hung
instance is a real `schakel serve` process the test stops with SIGSTOP (and later resumes with SIGCONT)."""

from __future__ import annotations

import asyncio
import signal
import time
from datetime import UTC, datetime
from pathlib import Path

import pytest

from shared.protocol import NoodknopPressed, PositionReported
from tests.integration.browser import chromium, log_in, screenshot, skip_without_chromium
from tests.integration.cluster import healthy, serve, serve_env
from tests.integration.harness import PASSWORD, free_port, login, socket_to
from tests.integration.processes import stop_all
from tests.integration.world import OUDE_ZIJDE, build_world

pytestmark = [pytest.mark.browser, skip_without_chromium()]


async def test_a_console_on_a_hung_instance_says_so_within_15_s_and_is_live_again_when_it_answers(
    database_url: str, tmp_path: Path
) -> None:
    world = await build_world(database_url)
    port = free_port()
    instance = serve(port, serve_env(database_url, tmp_path), tmp_path / "serve.log")
    base = f"http://127.0.0.1:{port}"
    try:
        await healthy(port, instance)
        async with chromium() as page:
            await log_in(page, base, "operator_mk", PASSWORD)
            await asyncio.sleep(4)  # the keep-alive is at work: an answered ping drops nothing
            assert await page.locator("#offline").is_hidden()

            instance.send_signal(signal.SIGSTOP)  # hung: its sockets stay open, nothing answers
            hung = time.monotonic()
            await page.locator("#offline", has_text="Verbinding verbroken").wait_for(timeout=16_000)
            noticed = time.monotonic() - hung
            assert noticed < 15.0
            await screenshot(page, "verbinding-hangt", tmp_path)

            instance.send_signal(signal.SIGCONT)
            resumed = time.monotonic()
            await page.wait_for_selector("#conn.conn-up", timeout=25_000)
            back = time.monotonic() - resumed
            assert await page.locator("#offline").is_hidden()
            # live: a noodknop pressed now reaches this console over its new socket
            boa = await login(base, "boa_a", world.tablet_a)
            async with socket_to(f"ws://127.0.0.1:{port}/ws/field", boa["access_token"]) as tablet:
                await tablet.recv()
                now = datetime.now(UTC)
                await tablet.send(PositionReported(seq=1, lon=OUDE_ZIJDE[0], lat=OUDE_ZIJDE[1], at=now))
                await tablet.send(NoodknopPressed(seq=2, at=now, lon=OUDE_ZIJDE[0], lat=OUDE_ZIJDE[1]))
                await page.locator("#emergency").locator("text=NOODKNOP A-01").wait_for(timeout=5000)
            print(f"hung instance noticed after {noticed:.1f} s, live again {back:.1f} s after it answered")
            assert page.errors == []
    finally:
        if instance.poll() is None:
            instance.send_signal(signal.SIGCONT)  # stopped, it would take SIGTERM only as the grace ran out
        await asyncio.to_thread(stop_all, instance)
