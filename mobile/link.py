"""The tablet's connection to the backend: fresh tokens, the field socket, and the outbox's requests.

Plain asyncio and no Kivy: presenters observe the link through its callbacks. Socket frames go through
`shared.client.FieldClient` with the outbox as its durable store; registrations and photos are sent by
`_request_loop` from the same outbox, in order, with backoff.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable

import msgspec
import websockets

from mobile.api import Api, ApiError, Session
from mobile.outbox import Outbox
from shared.client import FieldClient, FieldClientError

log = logging.getLogger(__name__)

OFFLINE, ONLINE, REFUSED = "offline", "online", "refused"
REFRESH_MARGIN_S = 60.0
SOCKET_BACKOFF_MAX_S = 10.0


class Link:
    def __init__(
        self, api: Api, outbox: Outbox, session: Session, *, clock: Callable[[], float] = time.time
    ) -> None:
        self.api = api
        self.outbox = outbox
        self.session = session
        self._clock = clock
        if session.device_id is not None:
            outbox.bind_device(session.device_id)
        api.token = session.access_token
        self.client = FieldClient(api.ws_url, lambda: self.session.access_token, store=outbox)
        self.client.on_frame = self._frame
        self.state = OFFLINE
        self.refusal = ""  # why the server refused us for good (revoked device, session ended)
        self.on_state: Callable[[str], None] | None = None
        self.on_frame: Callable[[msgspec.Struct], None] | None = None
        self.on_session: Callable[[Session], None] | None = None  # a refreshed token pair to keep
        self._kick = asyncio.Event()
        self._requests_wake = asyncio.Event()
        self._tasks: list[asyncio.Task[None]] = []
        self._refresh_lock = asyncio.Lock()
        outbox.listeners.append(self._requests_wake.set)

    # --- lifecycle ----------------------------------------------------------------------------------------

    def start(self) -> None:
        self._tasks = [
            asyncio.create_task(self._socket_loop(), name="field-socket"),
            asyncio.create_task(self._request_loop(), name="outbox-requests"),
        ]

    async def stop(self) -> None:
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        self._tasks = []
        with contextlib.suppress(Exception):
            await self.client.close()
        self._set_state(OFFLINE)
        with contextlib.suppress(ValueError):
            self.outbox.listeners.remove(self._requests_wake.set)

    def kick(self) -> None:
        """Reconnect now rather than after the backoff (the noodknop was pressed)."""
        self._kick.set()
        self.outbox.wake_requests()
        self._requests_wake.set()

    @property
    def online(self) -> bool:
        return self.state == ONLINE

    def _set_state(self, state: str) -> None:
        if state != self.state:
            self.state = state
            self.outbox.frames_sending(state == ONLINE)
            if state == ONLINE:
                self.outbox.wake_requests()
                self._requests_wake.set()
            if self.on_state is not None:
                self.on_state(state)

    def _frame(self, frame: msgspec.Struct) -> None:
        if self.on_frame is not None:
            self.on_frame(frame)

    # --- tokens -------------------------------------------------------------------------------------------

    async def _fresh_token(self, refused: str | None = None) -> None:
        """Refresh the access token when it is about to expire, or when the server `refused` this one.

        The socket and the request loop may both want to; refresh tokens rotate, so a second refresh with the
        same token would be refused and end the session. The lock and the re-check make it happen once.
        """
        seen = refused or self.session.access_token
        async with self._refresh_lock:
            s = self.session
            if s.access_token != seen:
                return  # the other loop refreshed while we waited
            if refused is None and self._clock() < s.obtained_at + s.expires_in - REFRESH_MARGIN_S:
                return
            session = await self.api.refresh(s.refresh_token)
            session.obtained_at = self._clock()
            self.session = session
            self.api.token = session.access_token
        if self.on_session is not None:
            self.on_session(session)

    def _refused(self, why: str) -> None:
        self.refusal = why
        self._set_state(REFUSED)

    # --- the socket ---------------------------------------------------------------------------------------

    async def _socket_loop(self) -> None:
        backoff = 0.2
        refused: str | None = None  # the access token the socket just refused
        while True:
            watcher = asyncio.create_task(self._when_connected())
            try:
                await self._fresh_token(refused)
                retried, refused = refused is not None, None
                used = self.session.access_token
                await self.client.connect_once()
                backoff = 0.2
            except ApiError as exc:
                if not exc.transient:
                    self._refused(exc.message)
                    return
            except FieldClientError as exc:
                code = self.client.errors[-1].code if self.client.errors else ""
                if code == "unauthorized" and not retried:
                    refused = used  # the access token expired: refresh it and try again at once
                    backoff = 0.0
                else:
                    self._refused(str(exc))
                    return
            except (OSError, websockets.WebSocketException, TimeoutError, msgspec.DecodeError) as exc:
                log.info("field link down (%s); retrying in %.1fs", exc, backoff)
            finally:
                watcher.cancel()
                if self.state != REFUSED:
                    self._set_state(OFFLINE)
            if self.client.refused is not None:  # revoked or replaced while connected: do not come back
                self._refused(f"{self.client.refused.code}: {self.client.refused.message}")
                return
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._kick.wait(), backoff)
            if self._kick.is_set():
                self._kick.clear()
                backoff = 0.2
            else:
                backoff = min(max(backoff, 0.2) * 2, SOCKET_BACKOFF_MAX_S)

    async def _when_connected(self) -> None:
        await self.client.connected.wait()
        self._set_state(ONLINE)

    # --- the outbox's requests ----------------------------------------------------------------------------

    async def _request_loop(self) -> None:
        while True:
            self._requests_wake.clear()
            item, due = self.outbox.next_request()
            if item is None:
                timeout = None if due is None else max(0.0, due - self._clock())
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._requests_wake.wait(), timeout)
                continue
            used = self.session.access_token
            try:
                await self._fresh_token()
                used = self.session.access_token
                await self.api.send(item.method, item.path, item.body, item.content_type)
            except ApiError as exc:
                reason = f"{exc.status} {exc.message}" if exc.status else exc.message
                if exc.status == 401:
                    self.outbox.request_retry(item.id, reason)
                    with contextlib.suppress(ApiError):
                        await self._fresh_token(refused=used)
                elif exc.transient:
                    self.outbox.request_retry(item.id, reason)
                else:
                    self.outbox.request_failed(item.id, reason + (f" ({exc.field})" if exc.field else ""))
            else:
                self.outbox.request_done(item.id)
