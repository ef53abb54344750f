"""How `schakel serve` runs the app under uvicorn: the options, and read timeouts uvicorn lacks.

uvicorn's only timer on a connection is the keep-alive one between requests, and any byte received cancels
it: a client that opens connections and sends its headers a byte at a time (or never finishes them) holds
each connection for ever. :class:`TimedH11Protocol` gives every request `HEADER_TIMEOUT_S` to deliver its
complete headers and closes the connection otherwise; while the body is read, `BODY_IDLE_TIMEOUT_S` of
silence closes it (not while the app itself has paused reading, e.g. a slow photo upload being stored).
Websocket connections leave this protocol at the upgrade and keep their own ping timeouts.
"""

from __future__ import annotations

import asyncio
from typing import Any

import h11
import uvicorn
from uvicorn.protocols.http.h11_impl import H11Protocol

from backend.settings import Settings

HEADER_TIMEOUT_S = 10.0
# An idle keep-alive connection is closed after this; longer than the idle expiry of common clients (httpx's
# 5 s, which the bridge and the tests use): with equal timers a client could reuse a connection in the very
# moment the server closes it and get "Server disconnected without sending a response".
KEEP_ALIVE_S = 20
BODY_IDLE_TIMEOUT_S = 30.0
GRACEFUL_SHUTDOWN_S = 10.0  # connections still open then are dropped: a stuck peer cannot hold up a stop


class TimedH11Protocol(H11Protocol):
    header_timeout_s = HEADER_TIMEOUT_S
    body_idle_timeout_s = BODY_IDLE_TIMEOUT_S

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._read_timer: asyncio.TimerHandle | None = None
        self._upgraded = False  # the transport belongs to a websocket now: no HTTP timer may touch it

    def _arm(self, seconds: float) -> None:
        self._disarm()
        if self._upgraded:
            return
        self._read_timer = self.loop.call_later(seconds, self._read_timed_out)

    def _disarm(self) -> None:
        if self._read_timer is not None:
            self._read_timer.cancel()
            self._read_timer = None

    def _read_timed_out(self) -> None:
        self._read_timer = None
        if not self.transport.is_closing():
            self.transport.close()

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self._arm(self.header_timeout_s)

    def connection_lost(self, exc: Exception | None) -> None:
        self._disarm()
        super().connection_lost(exc)

    def data_received(self, data: bytes) -> None:
        super().data_received(data)
        if self.transport.is_closing():
            return
        state = self.conn.their_state
        if state is h11.IDLE:
            pass  # headers not complete yet: the header deadline stands (trickling bytes do not move it)
        elif state is h11.SEND_BODY and not self.flow.read_paused:
            self._arm(self.body_idle_timeout_s)
        else:
            self._disarm()  # the request is read (or the app paused reading): the app's time now

    def on_response_complete(self) -> None:
        super().on_response_complete()
        # the next request on this connection gets its own header deadline (the keep-alive timer closes an
        # idle connection sooner; this one catches a trickling one)
        if not self.transport.is_closing():
            self._arm(self.header_timeout_s)

    def handle_websocket_upgrade(self, event: h11.Request) -> None:
        # called from inside data_received: mark the switch first, or data_received arms the body timer
        # after it returns and that timer closes the websocket's transport 30 s later
        self._upgraded = True
        self._disarm()
        super().handle_websocket_upgrade(event)


def uvicorn_config(app: Any, settings: Settings, host: str, port: int, **overrides: Any) -> uvicorn.Config:
    options: dict[str, Any] = dict(
        host=host,
        port=port,
        log_level="info",
        http=TimedH11Protocol,
        ws_max_size=settings.max_frame_bytes * 4,
        timeout_keep_alive=KEEP_ALIVE_S,
        timeout_graceful_shutdown=GRACEFUL_SHUTDOWN_S,
        # behind a TLS terminator on the same host, its X-Forwarded-For/-Proto are believed (docs/security.md)
        proxy_headers=True,
        forwarded_allow_ips="127.0.0.1",
        server_header=False,
    )
    options.update(overrides)
    return uvicorn.Config(app, **options)
