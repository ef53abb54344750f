"""The tablet's connection to the backend: fresh tokens, the field socket, and the outbox's requests.

Plain asyncio and no Kivy: the app observes the link through its callbacks; presenters send frames through
`LinkSender`. Socket frames go through `shared.client.FieldClient` with the outbox as its durable store;
registrations and photos are sent by `_request_loop` from the same outbox, in order, with backoff.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable
from datetime import datetime

import msgspec

from mobile.api import Api, ApiError, Session
from mobile.outbox import Outbox
from shared.client import FieldClient, FieldClientError
from shared.protocol import (
    CheckIn,
    ManDown,
    ManDownTrigger,
    NoodknopPressed,
    SequencedFrame,
    TaskState,
    UnitStatus,
)

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
        self.client = FieldClient(api.ws_url, self._hello_token, store=outbox)
        self.client.on_frame = self._frame
        self.client.on_connected = self._connected
        self.state = OFFLINE
        self.refusal = ""  # why the server refused us for good (revoked device, session ended)
        self.on_state: Callable[[str], None] | None = None
        self.on_frame: Callable[[msgspec.Struct], None] | None = None
        self.on_session: Callable[[Session], None] | None = None  # a refreshed token pair to keep
        self._runner: asyncio.Task[None] | None = None  # the client's run() while the socket loop is on
        self._hello_refused: str | None = None  # the access token the server just refused at hello
        self._hello_retried = False  # the token of the last hello was a refresh after such a refusal
        self._hello_used = ""
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
        if self._runner is not None and not self.client.connected.is_set():
            self._runner.cancel()  # ends the wait between attempts; the socket loop starts it over
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

    async def fresh_token(self, refused: str | None = None) -> None:
        """For every HTTP call of the app (``Api.fresh``): the same single refresh the link's loops use."""
        await self._fresh_token(refused)

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
        """The client keeps the socket up (websockets reconnects it, with backoff); this loop only starts it
        again after a kick, or once after the server refused the access token; other refusals end it."""
        try:
            await self._fresh_token()
        except ApiError as exc:
            if not exc.transient:
                self._refused(exc.message)
                return  # offline otherwise: the hello token tries again once a connection is up
        while True:
            runner = self._runner = asyncio.create_task(self.client.run(backoff_max=SOCKET_BACKOFF_MAX_S))
            try:
                await asyncio.wait({runner})
            finally:
                self._runner = None
                runner.cancel()
                await asyncio.gather(runner, return_exceptions=True)  # its connection is closed when we stop
            if runner.cancelled():
                continue  # kicked while offline: connect again now, not after the backoff
            failure = runner.exception()
            if isinstance(failure, ApiError):  # the session is over (the refresh token was refused)
                self._refused(failure.message)
                return
            if not isinstance(failure, FieldClientError):
                raise failure or RuntimeError("the field client stopped")
            code = self.client.errors[-1].code if self.client.errors else ""
            if self.client.refused is None and code == "unauthorized" and not self._hello_retried:
                self._hello_refused = self._hello_used  # expired: refresh it and try again at once
                continue
            self._refused(str(failure))
            return

    async def _hello_token(self) -> str:
        """The access token for the next hello: refreshed first when it is about to expire, or when the
        server has just refused it. Without a network for the refresh, the connection counts as failed."""
        refused, self._hello_refused = self._hello_refused, None
        try:
            await self._fresh_token(refused)
        except ApiError as exc:
            if not exc.transient:
                raise
            self._hello_refused = refused
            raise ConnectionError(f"token refresh: {exc.message}") from exc
        self._hello_retried = refused is not None
        self._hello_used = self.session.access_token
        return self._hello_used

    def _connected(self, up: bool) -> None:
        if self.state != REFUSED:
            self._set_state(ONLINE if up else OFFLINE)

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
                reason = (
                    f"{exc.status} {exc.message}" if exc.status else exc.message
                )  # Dutch: i18n.server_text
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


class LinkSender:
    """The presenters' `FrameSender`: the link of the current session, or none while logged out."""

    def __init__(self) -> None:
        self.link: Link | None = None

    @property
    def linked(self) -> bool:
        return self.link is not None

    @property
    def online(self) -> bool:
        return self.link is not None and self.link.online

    def status(self, status: UnitStatus, at: datetime) -> None:
        if self.link is not None:
            self.link.client.status(status, at)

    def noodknop(self, at: datetime, lon: float | None, lat: float | None, *, silent: bool = False) -> None:
        if self.link is not None:
            if silent:
                self._queue(NoodknopPressed(seq=1, at=at, lon=lon, lat=lat, silent=True))
            else:
                self.link.client.noodknop(at, lon, lat)

    def man_down(self, at: datetime, trigger: ManDownTrigger, lon: float | None, lat: float | None) -> None:
        self._queue(ManDown(seq=1, at=at, trigger=trigger, lon=lon, lat=lat))

    def checkin(self, at: datetime, next_due: datetime | None) -> None:
        self._queue(CheckIn(seq=1, at=at, next_due=next_due))

    def _queue(self, frame: SequencedFrame) -> None:
        """A frame the field client has no helper for: `requeue` gives it the next seq (the 1 is only a
        placeholder) and stores it in the outbox before sending, like every other frame."""
        if self.link is not None:
            self.link.client.requeue(frame)

    def position(
        self,
        lon: float,
        lat: float,
        at: datetime,
        *,
        late: bool,
        accuracy_m: float | None,
        speed_mps: float | None,
        heading_deg: float | None,
    ) -> None:
        if self.link is not None:
            self.link.client.position(
                lon, lat, at, late=late, accuracy_m=accuracy_m, speed_mps=speed_mps, heading_deg=heading_deg
            )

    def task_update(self, task_id: int, state: TaskState, at: datetime, note: str = "") -> None:
        if self.link is not None:
            self.link.client.task_update(task_id, state, at, note)

    def message_read(self, message_id: int, at: datetime) -> None:
        if self.link is not None:
            self.link.client.message_read(message_id, at)

    def requeue(self, frame: SequencedFrame) -> None:
        if self.link is not None:
            self.link.client.requeue(frame)

    def kick(self) -> None:
        if self.link is not None:
            self.link.kick()
