"""Security headers on pages and API, no-store on token answers, and read timeouts on HTTP connections."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest
import uvicorn

from backend.app import create_app
from backend.serving import TimedH11Protocol, uvicorn_config
from shared.protocol import Ping, Pong, Welcome
from tests.integration.browser import chromium, log_in, skip_without_chromium
from tests.integration.harness import PASSWORD, free_port, login, make_settings, running, socket_to
from tests.integration.world import build_world


async def test_pages_and_api_answers_carry_the_security_headers(database_url: str, tmp_path: Path) -> None:
    await build_world(database_url)
    async with (
        running(make_settings(database_url, tmp_path)) as server,
        httpx.AsyncClient(base_url=server.base) as http,
    ):
        page = await http.get("/meldkamer/")
        login = await http.post("/api/auth/login", json={"username": "boa_a", "password": PASSWORD})
        refused = await http.get("/api/me")
        static = await http.get("/web/static/js/api.js")
        for r in (page, login, refused, static):
            assert r.headers["x-content-type-options"] == "nosniff", r.url
            assert r.headers["referrer-policy"] == "no-referrer", r.url
            csp = r.headers["content-security-policy"]
            assert "frame-ancestors 'none'" in csp and "script-src 'self'" in csp, r.url
        assert "https://service.pdok.nl" in page.headers["content-security-policy"]  # the map tiles
        # token answers (and every API answer) stay out of caches
        assert login.status_code == 200 and login.headers["cache-control"] == "no-store"
        assert refused.status_code == 401 and refused.headers["cache-control"] == "no-store"
        refreshed = await http.post(
            "/api/auth/refresh", json={"refresh_token": login.json()["refresh_token"]}
        )
        assert refreshed.headers["cache-control"] == "no-store"
        # a page keeps its own caching rule
        assert page.headers["cache-control"] == "no-cache"


class _QuickTimeouts(TimedH11Protocol):
    header_timeout_s = 0.5
    body_idle_timeout_s = 0.5


@asynccontextmanager
async def _served(database_url: str, tmp_path: Path) -> AsyncIterator[tuple[str, int]]:
    settings = make_settings(database_url, tmp_path)
    port = free_port()
    config = uvicorn_config(
        create_app(settings), settings, "127.0.0.1", port, http=_QuickTimeouts, log_level="warning"
    )
    server = uvicorn.Server(config)
    task = asyncio.create_task(server.serve())
    async with asyncio.timeout(20):
        while not server.started:
            await asyncio.sleep(0.02)
    try:
        yield "127.0.0.1", port
    finally:
        server.should_exit = True
        await task


async def _closed_within(reader: asyncio.StreamReader, seconds: float) -> bool:
    """True when the server ends the connection within `seconds`: a FIN, or a reset (it closed a socket
    whose unread bytes the kernel then answers with RST — under load that is how some of the 200 end)."""
    try:
        async with asyncio.timeout(seconds):
            while await reader.read(1024):
                pass
        return True
    except ConnectionResetError:
        return True
    except TimeoutError:
        return False


async def test_connections_that_never_finish_their_headers_are_closed(
    database_url: str, tmp_path: Path
) -> None:
    async with _served(database_url, tmp_path) as (host, port):
        conns = [await asyncio.open_connection(host, port) for _ in range(200)]
        started = time.perf_counter()
        for _, writer in conns:
            writer.write(b"GET /health HTTP/1.1\r\nHost: x\r\n")

        async def trickle(writer: asyncio.StreamWriter) -> None:
            # one header byte every 0.1 s for 10 s: each byte used to cancel uvicorn's only timer
            for _ in range(100):
                await asyncio.sleep(0.1)
                if writer.is_closing():
                    return
                writer.write(b"X")

        trickling = [asyncio.create_task(trickle(w)) for _, w in conns[:20]]
        try:
            closed = await asyncio.gather(*(_closed_within(r, 8) for r, _ in conns))
            assert all(closed), closed.count(False)
            # by the 0.5 s header timer, not by the trickle's end at 10 s (a margin for a busy machine)
            assert time.perf_counter() - started < 8.0
        finally:  # even when it fails: no socket left for a later test's ResourceWarning
            for task in trickling:
                task.cancel()
            for _, writer in conns:
                writer.close()

        # a body that stops half-way is closed too
        reader, writer = await asyncio.open_connection(host, port)
        writer.write(b'POST /api/auth/login HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\n{"user')
        assert await _closed_within(reader, 5)
        writer.close()

        # and a well-behaved client is served as before
        async with httpx.AsyncClient(base_url=f"http://{host}:{port}") as http:
            assert (await http.get("/health")).status_code == 200


async def test_a_websocket_outlives_the_http_read_timeouts(database_url: str, tmp_path: Path) -> None:
    # the upgrade request armed the body timer after the switch, and it closed the websocket's transport
    # (every tablet on `schakel serve` lost its socket 30 s after connecting; `schakel bench alarms` found it)
    world = await build_world(database_url)
    async with _served(database_url, tmp_path) as (host, port):
        boa = await login(f"http://{host}:{port}", "boa_a", world.tablet_a)
        async with socket_to(f"ws://{host}:{port}/ws/field", boa["access_token"]) as tablet:
            assert isinstance(await tablet.recv(), Welcome)
            await asyncio.sleep(2.0)  # four times either timeout
            await tablet.send(Ping(nonce=7))
            assert await tablet.recv() == Pong(nonce=7)


@pytest.mark.browser
@skip_without_chromium()
async def test_the_console_works_under_its_content_security_policy(database_url: str, tmp_path: Path) -> None:
    await build_world(database_url)
    async with running(make_settings(database_url, tmp_path)) as server, chromium() as page:
        violations: list[str] = []

        def on_console(message: Any) -> None:
            if "Content Security Policy" in message.text or "Content-Security-Policy" in message.text:
                violations.append(message.text)

        page.on("console", on_console)
        await log_in(page, server.base, "operator_mk", PASSWORD)  # the live socket is up: connect-src holds
        await page.wait_for_selector(".leaflet-container", timeout=10_000)
        assert violations == []
        assert page.errors == []
