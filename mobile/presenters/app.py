"""The root presenter: holds the session, the link and the outbox, and wires the screen presenters."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Coroutine
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import msgspec
from kivy.event import EventDispatcher
from kivy.properties import BooleanProperty, NumericProperty, OptionProperty, StringProperty

from mobile.api import Api, ApiError, Session
from mobile.i18n import t
from mobile.link import ONLINE, REFUSED, Link
from mobile.outbox import Outbox
from mobile.presenters.duty import LocationPresenter, NoodknopPresenter, StatusPresenter
from mobile.presenters.map import MapPresenter
from mobile.presenters.outbox import OutboxPresenter
from mobile.presenters.register import RegisterPresenter
from mobile.presenters.session import LoginPresenter, ShiftPresenter
from mobile.presenters.tasks import TasksPresenter
from shared.protocol import (
    AlertAcknowledged,
    PartnerPositions,
    TaskAssigned,
    TaskState,
    TextMessage,
    UnitStatus,
    Welcome,
)

log = logging.getLogger(__name__)


@dataclass(frozen=True, kw_only=True)
class AppConfig:
    server: str = "http://127.0.0.1:8000"
    device_id: int | None = None
    data_dir: Path = field(default_factory=lambda: Path("mobile-data"))
    tiles_url: str = ""
    simulate: bool = False


class SavedShift(msgspec.Struct, kw_only=True):
    shift_id: int
    call_sign: str
    beat_ids: list[int]


class SavedTask(msgspec.Struct, kw_only=True):
    task: TaskAssigned
    state: TaskState
    reason: str = ""


class SavedState(msgspec.Struct, kw_only=True):
    """What survives an app restart besides the outbox: the (device-bound) session and the open shift."""

    session: Session | None = None
    shift: SavedShift | None = None
    status: str = ""  # the status the boa last chose, shown again after a restart
    # the server resends only tasks not yet accepted and messages not yet delivered: keep what we have
    tasks: list[SavedTask] = []
    messages: list[TextMessage] = []
    noodknop_at: datetime | None = None  # the noodknop on screen (not yet closed by the boa)


class AppPresenter(EventDispatcher):  # type: ignore[misc]
    screen = OptionProperty("login", options=["login", "shift", "duty"])
    tab = OptionProperty("status", options=["status", "map", "register", "tasks", "outbox"])
    online = BooleanProperty(False)
    link_text = StringProperty(t("link.offline"))
    waiting = NumericProperty(0)
    user = StringProperty("")

    def __init__(self, config: AppConfig, *, api: Api | None = None, **kwargs: object) -> None:
        super().__init__(**kwargs)
        self.config = config
        config.data_dir.mkdir(parents=True, exist_ok=True)
        self.api = api or Api(config.server)
        self.outbox = Outbox(config.data_dir / "outbox.sqlite")
        self.session: Session | None = None
        self.link: Link | None = None
        self._tasks: set[asyncio.Task[Any]] = set()
        self.location = LocationPresenter(self)
        self.login = LoginPresenter(self)
        self.shift = ShiftPresenter(self)
        self.status = StatusPresenter(self)
        self.noodknop = NoodknopPresenter(self)
        self.map = MapPresenter(self)
        self.tasks = TasksPresenter(self)
        self.register = RegisterPresenter(self)
        self.outbox_view = OutboxPresenter(self)
        self.outbox.listeners.append(self._outbox_changed)
        self.bind(tab=lambda *_: self.outbox_view.refresh())
        self._outbox_changed()

    # --- plumbing -----------------------------------------------------------------------------------------

    def spawn(self, coro: Coroutine[Any, Any, Any]) -> asyncio.Task[Any]:
        """Run a presenter's coroutine on the app's loop, keeping a reference until it is done."""
        task = asyncio.get_running_loop().create_task(coro)
        self._tasks.add(task)
        task.add_done_callback(self._done)
        return task

    def _done(self, task: asyncio.Task[Any]) -> None:
        self._tasks.discard(task)
        if not task.cancelled() and task.exception() is not None:
            log.error("presenter task failed", exc_info=task.exception())

    @property
    def _state_path(self) -> Path:
        return self.config.data_dir / "state.json"

    def _save(self) -> None:
        shift = (
            SavedShift(
                shift_id=int(self.shift.shift_id),
                call_sign=self.shift.call_sign,
                beat_ids=list(self.shift.beat_ids),
            )
            if self.shift.active
            else None
        )
        path = self._state_path
        tmp = path.with_suffix(".tmp")
        state = SavedState(
            session=self.session,
            shift=shift,
            status=self.status.status if shift else "",
            tasks=[
                SavedTask(task=e["task"], state=e["state"], reason=e.get("reason", ""))
                for e in self.tasks.tasks.values()
            ],
            messages=list(self.tasks.messages),
            noodknop_at=self.noodknop.fired_at,
        )
        tmp.write_bytes(msgspec.json.encode(state))
        tmp.replace(path)
        with contextlib.suppress(OSError):
            path.chmod(0o600)

    def session_org(self) -> int | None:
        return self.session.org_id if self.session else None

    # --- lifecycle ----------------------------------------------------------------------------------------

    def saved_state(self) -> SavedState | None:
        path = self._state_path
        if not path.exists():
            return None
        try:
            return msgspec.json.decode(path.read_bytes(), type=SavedState)
        except msgspec.DecodeError:
            return None

    async def resume(self) -> None:
        """At start: continue the saved session (and shift) if there is one, else show the login."""
        state = self.saved_state()
        if state is None or state.session is None:
            return
        self.tasks.restore(state)
        self.noodknop.restore(state.noodknop_at)
        await self.signed_in(state.session, load=state.shift is None)
        if state.shift is not None:
            self.shift.began(state.shift.shift_id, state.shift.call_sign, state.shift.beat_ids)
            self.spawn(self._load_map())
            self.on_shift_started(resumed=True)
            with contextlib.suppress(ValueError):
                self.status.show(UnitStatus(state.status))

    async def _load_map(self) -> None:
        with contextlib.suppress(ApiError):
            self.map.set_beats(await self.api.beats())
            self.shift.began(int(self.shift.shift_id), self.shift.call_sign, list(self.shift.beat_ids))
        with contextlib.suppress(ApiError):
            self.register.use_categories(await self.api.observation_categories())

    async def signed_in(self, session: Session, *, load: bool = True) -> None:
        if not session.obtained_at:
            session.obtained_at = time.time()
        await self.stop_link()
        self.session = session
        self.user = session.display_name
        self.api.token = session.access_token
        self.link = Link(self.api, self.outbox, session)
        self.link.on_state = self._link_state
        self.link.on_frame = self._frame
        self.link.on_session = self._session_refreshed
        self.link.start()
        self._save()
        self.screen = "duty" if self.shift.active else "shift"
        if load and not self.shift.active:
            await self.shift.load()

    def on_shift_started(self, *, resumed: bool = False) -> None:
        if not resumed:
            self.status.show(UnitStatus.AVAILABLE)  # the server sets it when the shift starts
        self.tab = "status"
        self.screen = "duty"
        self._save()

    def save(self) -> None:
        """Keep what the presenters hold (tasks, messages, the noodknop on screen) across a restart."""
        self._save()

    def status_chosen(self) -> None:
        self._save()  # a restart shows the status the boa chose, not "buiten dienst"

    def on_shift_ended(self) -> None:
        self.tasks.shift_ended()
        self.status.show(UnitStatus.OFF_DUTY)
        self.location.shift_ended()
        self.map.select([])
        self.screen = "shift"
        self._save()

    async def logout(self) -> None:
        if self.shift.active:
            await self.shift.end_shift()
        if self.session is not None:
            with contextlib.suppress(ApiError):
                await self.api.logout(self.session.refresh_token)
        await self.stop_link()
        self.session = None
        self.api.token = None
        self.user = ""
        self._save()
        self.screen = "login"

    async def stop_link(self) -> None:
        if self.link is not None:
            await self.link.stop()
            self.link = None

    async def close(self) -> None:
        if self.link is not None:  # the views are gone: no more updates to them
            self.link.on_state = self.link.on_frame = self.link.on_session = None
        await self.stop_link()
        for task in list(self._tasks):
            task.cancel()
        await self.api.close()
        self.outbox.close()

    # --- events from the link and the outbox --------------------------------------------------------------

    def _link_state(self, state: str) -> None:
        self.online = state == ONLINE
        if state == REFUSED and self.link is not None:
            # the session ended or the tablet was revoked: log in again; the outbox keeps everything meanwhile
            self.link_text = t("link.refused", reason=self.link.refusal)
            self.login.error = self.link_text
            self.screen = "login"
        else:
            self.link_text = t("link.online" if self.online else "link.offline")
        self.noodknop.refresh()

    def _session_refreshed(self, session: Session) -> None:
        self.session = session
        self._save()

    def _frame(self, frame: msgspec.Struct) -> None:
        if isinstance(frame, Welcome):
            return
        if isinstance(frame, AlertAcknowledged):
            self.noodknop.acknowledged(frame)
            return
        if isinstance(frame, PartnerPositions):
            self.map.set_partners([(f.lon, f.lat) for f in frame.fixes])
            return
        self.tasks.received(frame)

    def _outbox_changed(self) -> None:
        # what is stuck, not what is on the wire right now (positions in flight would make the count flicker)
        self.waiting = self.outbox.count() - self.outbox.count(state="sending")
        self.status.refresh()
        self.noodknop.refresh()
        if self.tab == "outbox":  # the list is rebuilt only while someone looks at it
            self.outbox_view.refresh()
