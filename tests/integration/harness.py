"""Run the real app on a loopback port, log in, and talk to it over real sockets."""

from __future__ import annotations

import asyncio
import socket
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import msgspec
import uvicorn
import websockets

from backend.app import create_app
from backend.settings import Settings
from shared.protocol import Hello, Message, encoder, server_decoder

PASSWORD = "test-password-1"
# how long a test waits for something that must come (a frame, a login): generous, because a wait only
# ends early when the thing comes; the CI machine runs 3 test processes on 2 cores (load up to ~10)
WAIT_S = 20.0


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class Server:
    base: str
    settings: Settings
    app: Any

    @property
    def ws(self) -> str:
        return self.base.replace("http", "ws", 1)

    @property
    def services(self) -> Any:
        return self.app.state.services


def make_settings(database_url: str, tmp: Path, **overrides: Any) -> Settings:
    values: dict[str, Any] = dict(
        database_url=database_url,
        data_dir=tmp,
        secret_key="test-secret-key-that-is-long-enough-0123456789",
        flush_interval_s=0.05,
        operator_tick_s=0.1,
        geocoder_url="",  # no geocoder unless a test starts the simulator (never the real one from tests)
        geocoder_poll_s=0.1,
    )
    values.update(overrides)
    return Settings(**values)


@asynccontextmanager
async def running(settings: Settings) -> AsyncIterator[Server]:
    app = create_app(settings)
    port = free_port()
    config = uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", lifespan="on")
    server = uvicorn.Server(config)
    task = asyncio.create_task(server.serve())
    async with asyncio.timeout(20):
        while not server.started:
            if task.done():
                await task
                raise RuntimeError("server did not start")
            await asyncio.sleep(0.02)
    try:
        yield Server(base=f"http://127.0.0.1:{port}", settings=settings, app=app)
    finally:
        server.should_exit = True
        await task


def tablet_secret(device_id: int) -> str:
    """The enrolment secret the test worlds give tablet `device_id` (so a test logs in as it by its id)."""
    return f"test-tablet-secret-{device_id}"


async def login(
    base: str, username: str, device_id: int | None = None, device_secret: str | None = None
) -> dict[str, Any]:
    """Log in; bound to a tablet with its enrolment secret (the test world's, unless another is given)."""
    if device_id is not None and device_secret is None:
        device_secret = tablet_secret(device_id)
    body = {
        "username": username,
        "password": PASSWORD,
        "device_id": device_id,
        "device_secret": device_secret,
    }
    async with httpx.AsyncClient(base_url=base, timeout=WAIT_S) as http:  # Argon2 on a busy machine
        r = await http.post("/api/auth/login", json=body)
        assert r.status_code == 200, r.text
        return r.json()  # type: ignore[no-any-return]


def bearer(session: dict[str, Any]) -> dict[str, str]:
    return {"Authorization": f"Bearer {session['access_token']}"}


class Socket:
    """A raw protocol peer for tests: send frames or bytes, read decoded frames."""

    def __init__(self, ws: websockets.ClientConnection) -> None:
        self.ws = ws

    async def send(self, frame: Message | bytes | str) -> None:
        if isinstance(frame, bytes | str):
            await self.ws.send(frame)
        else:
            await self.ws.send(encoder.encode(frame).decode())

    async def recv(self, timeout: float = WAIT_S) -> Any:
        raw = await asyncio.wait_for(self.ws.recv(), timeout)
        return server_decoder.decode(raw)

    async def recv_until(self, predicate: Any, timeout: float = WAIT_S) -> Any:
        async with asyncio.timeout(timeout):
            while True:
                frame = await self.recv(timeout)
                if predicate(frame):
                    return frame


@asynccontextmanager
async def socket_to(url: str, token: str | None) -> AsyncIterator[Socket]:
    async with websockets.connect(url) as ws:
        peer = Socket(ws)
        if token is not None:
            await peer.send(Hello(token=token))
        yield peer


def decode(raw: bytes, type_: Any) -> Any:
    return msgspec.json.decode(raw, type=type_)
