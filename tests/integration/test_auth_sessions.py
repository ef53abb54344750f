"""Sessions: logout ends the access token, refresh-token reuse ends the family, and live sockets are put
out when their session ends (logout, revocation, a role change) or their token expires — without hanging
on a socket that does not read."""

from __future__ import annotations

import asyncio
import base64
import os
import socket
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import pytest
import websockets

from backend.auth.tokens import Principal, issue_access_token
from shared.protocol import Error, Hello, Snapshot, Welcome, encoder
from tests.integration.harness import Server, bearer, login, make_settings, running, socket_to
from tests.integration.world import World, build_world


@pytest.fixture
async def app(database_url: str, tmp_path: Path) -> Any:
    world = await build_world(database_url)
    async with running(make_settings(database_url, tmp_path, session_check_s=0.1)) as server:
        yield server, world, database_url


async def _me(server: Server, session: dict[str, Any]) -> int:
    async with httpx.AsyncClient(base_url=server.base) as http:
        return (await http.get("/api/me", headers=bearer(session))).status_code


async def _post(
    server: Server, path: str, body: object, headers: dict[str, str] | None = None
) -> httpx.Response:
    async with httpx.AsyncClient(base_url=server.base) as http:
        return await http.post(path, json=body, headers=headers or {})


async def _ended(ws: Any, code: str = "session_ended", *, fatal: bool = True) -> None:
    frame = await ws.recv_until(lambda f: isinstance(f, Error), timeout=5)
    assert frame.code == code and frame.fatal is fatal, frame
    with pytest.raises(websockets.ConnectionClosed):
        await ws.recv(timeout=5)


async def test_logout_ends_the_access_token_and_the_live_socket(app: tuple[Server, World, str]) -> None:
    server, world, _ = app
    boa = await login(server.base, "boa_a", world.tablet_a)
    other = await login(server.base, "lead_a")
    assert await _me(server, boa) == 200
    async with socket_to(server.ws + "/ws/field", boa["access_token"]) as ws:
        assert isinstance(await ws.recv(), Welcome)
        r = await _post(server, "/api/auth/logout", {"refresh_token": boa["refresh_token"]})
        assert r.status_code == 204
        await _ended(ws)
    assert await _me(server, boa) == 401
    async with socket_to(server.ws + "/ws/field", boa["access_token"]) as ws:
        error = await ws.recv()
        assert isinstance(error, Error) and error.code == "unauthorized" and error.fatal
    refreshed = await _post(server, "/api/auth/refresh", {"refresh_token": boa["refresh_token"]})
    assert refreshed.status_code == 401
    # another session (another login) is not touched
    assert await _me(server, other) == 200


async def test_reusing_a_rotated_refresh_token_ends_the_whole_family(app: tuple[Server, World, str]) -> None:
    server, world, _ = app
    first = await login(server.base, "boa_a", world.tablet_a)
    r = await _post(server, "/api/auth/refresh", {"refresh_token": first["refresh_token"]})
    assert r.status_code == 200
    second = r.json()
    async with socket_to(server.ws + "/ws/field", second["access_token"]) as ws:
        assert isinstance(await ws.recv(), Welcome)
        # someone replays the first (already rotated) token: refused, and the family is over
        stolen = await _post(server, "/api/auth/refresh", {"refresh_token": first["refresh_token"]})
        assert stolen.status_code == 401
        assert stolen.json()["field"] == "refresh_token"
        await _ended(ws)
    assert (
        await _post(server, "/api/auth/refresh", {"refresh_token": second["refresh_token"]})
    ).status_code == 401
    assert await _me(server, second) == 401
    assert await _me(server, first) == 401


async def test_a_role_change_puts_the_operator_out_at_once(app: tuple[Server, World, str]) -> None:
    server, world, url = app
    lead = await login(server.base, "lead_a")
    async with socket_to(server.ws + "/ws/operator", lead["access_token"]) as ws:
        assert isinstance(await ws.recv(), Snapshot)
        conn = await asyncpg.connect(url)
        try:
            await conn.execute("UPDATE accounts SET role = 'boa' WHERE username = 'lead_a'")
        finally:
            await conn.close()
        await _ended(ws)
    assert await _me(server, lead) == 401
    assert (
        await _post(server, "/api/auth/refresh", {"refresh_token": lead["refresh_token"]})
    ).status_code == 401


async def test_a_socket_is_closed_when_its_access_token_expires(app: tuple[Server, World, str]) -> None:
    server, world, _ = app
    session = await login(server.base, "boa_a", world.tablet_a)
    principal = Principal(
        account_id=int(session["account_id"]),
        org_id=world.org_a,
        role="boa",
        visible_org_ids=frozenset({world.org_a}),
        device_id=world.tablet_a,
        username="boa_a",
    )
    # a token with 1.5 s left to live
    issued = datetime.now(UTC) - timedelta(minutes=15) + timedelta(seconds=1.5)
    token = issue_access_token(principal, server.settings.secret_key, 15, now=issued)
    async with socket_to(server.ws + "/ws/field", token) as ws:
        assert isinstance(await ws.recv(), Welcome)
        # not fatal: the tablet's client reconnects with a refreshed token
        await _ended(ws, "token_expired", fatal=False)


def _frame(payload: bytes) -> bytes:
    """A masked client text frame."""
    mask = os.urandom(4)
    size = (
        bytes([0x80 | len(payload)]) if len(payload) < 126 else bytes([0x80 | 126]) + len(payload).to_bytes(2)
    )
    return bytes([0x81]) + size + mask + bytes(b ^ mask[i % 4] for i, b in enumerate(payload))


async def _silent_socket(server: Server, token: str) -> asyncio.StreamWriter:
    """A websocket peer that says hello, then never reads again and makes the server's buffers to it full.

    Its receive buffer is small, and it sends bad frames until the server, answering each with an error
    frame it cannot deliver, stops taking more: from then on every send to this socket blocks.

    This must be quick on a loaded machine: the server pings every 20 s and drops a peer that has not
    answered 20 s later (this one never reads, so never answers), and a drop with our unread frames in its
    buffer reaches us as a reset. Each bad frame therefore names a long unknown `kind`, which the error
    frame quotes back: a few dozen frames fill the server's megabytes of send buffer, where short ones took
    ~80,000 frames (6 s of server time on a quiet machine, past the drop under load ~14).
    """
    host, port = server.base.removeprefix("http://").split(":")
    raw = socket.socket()
    raw.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    raw.setblocking(False)
    await asyncio.get_running_loop().sock_connect(raw, (host, int(port)))
    reader, writer = await asyncio.open_connection(sock=raw)
    key = base64.b64encode(os.urandom(16)).decode()
    writer.write(
        (
            f"GET /ws/field HTTP/1.1\r\nHost: {host}:{port}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
            f"Sec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n\r\n"
        ).encode()
    )
    await reader.readuntil(b"\r\n\r\n")
    writer.write(_frame(encoder.encode(Hello(token=token))))
    await writer.drain()
    assert (await asyncio.wait_for(reader.read(2), 5))[0] == 0x81  # a text frame: the welcome
    # an unknown kind, quoted back in the error (about as long as the frame, under max_frame_bytes)
    garbage = _frame(b'{"kind":"' + b"x" * 60_000 + b'"}')
    try:
        while True:  # until the server stops reading (our own writes then stay in our buffers)
            writer.write(garbage)
            await asyncio.wait_for(writer.drain(), 1.0)
    except TimeoutError:
        pass
    return writer  # the reader is never read from again


async def test_revoking_a_device_whose_socket_does_not_read_does_not_hang(
    app: tuple[Server, World, str],
) -> None:
    server, world, _ = app
    boa = await login(server.base, "boa_a", world.tablet_a)
    lead = await login(server.base, "lead_a")
    writer = await _silent_socket(server, boa["access_token"])
    try:
        hub = server.services.hub
        async with asyncio.timeout(5):
            while hub.links.get(world.tablet_a) is None:
                await asyncio.sleep(0.01)
        started = time.perf_counter()
        r = await _post(server, f"/api/devices/{world.tablet_a}/revoke", None, bearer(lead))
        took = time.perf_counter() - started
        assert r.status_code == 204
        assert took < 8.0, took  # it hung 10 s; a margin for a busy machine
        # and the handler is gone: the device is no longer attached
        async with asyncio.timeout(5):
            while hub.links.get(world.tablet_a) is not None:
                await asyncio.sleep(0.01)
    finally:
        writer.transport.abort()  # a reset: close() would wait for our own unsent bytes


async def test_a_tablet_that_takes_no_frames_is_put_out_and_no_longer_counts_as_connected(
    database_url: str, tmp_path: Path
) -> None:
    """A tablet gone without a goodbye, or not reading: once a frame to it has not gone out within
    `field_send_timeout_s`, its socket is put out and the device is detached (the server's websocket ping
    gives up on it too, but cannot close a socket whose buffers are full: it stayed attached for ever)."""
    world = await build_world(database_url)
    settings = make_settings(database_url, tmp_path, field_send_timeout_s=1.0)
    async with running(settings) as server:
        boa = await login(server.base, "boa_a", world.tablet_a)
        writer = await _silent_socket(server, boa["access_token"])
        try:
            hub = server.services.hub
            async with asyncio.timeout(10):  # the blocked send's 1 s, and a margin for a busy machine
                while hub.links.get(world.tablet_a) is not None:
                    await asyncio.sleep(0.05)
            # and it may connect again, as a tablet does when it is back
            async with socket_to(server.ws + "/ws/field", boa["access_token"]) as ws:
                assert isinstance(await ws.recv(), Welcome)
        finally:
            writer.transport.abort()
