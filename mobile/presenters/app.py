"""The composition root: holds the session, the link and the outbox, and wires the screen presenters.

Each screen presenter gets only what it uses (the API client, the outbox, a frame sender, the location,
callbacks for what it must tell the others); this module is the one place that knows them all.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Coroutine
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import msgspec
from kivy.event import EventDispatcher
from kivy.properties import BooleanProperty, NumericProperty, OptionProperty, StringProperty

from mobile.api import Api, ApiError, Session
from mobile.i18n import t
from mobile.link import ONLINE, REFUSED, Link, LinkSender
from mobile.outbox import Outbox
from mobile.presenters.duty import LocationPresenter, NoodknopPresenter, StatusPresenter
from mobile.presenters.kenteken import KentekenPresenter
from mobile.presenters.map import MapPresenter
from mobile.presenters.outbox import OutboxPresenter
from mobile.presenters.ports import Clock
from mobile.presenters.register import RegisterPresenter
from mobile.presenters.rooster import RoosterPresenter
from mobile.presenters.safety import (
    NO_MOTION_S,
    CheckInPresenter,
    ColleaguesPresenter,
    ManDownPresenter,
    SilentNoodknop,
)
from mobile.presenters.session import LoginPresenter, ShiftPresenter
from mobile.presenters.signal import SignalPresenter
from mobile.presenters.tasks import TasksPresenter
from mobile.state import SavedEnrolment, SavedShift, SavedState, SavedTask, StateFile
from shared.protocol import AlertAcknowledged, ColleagueAlarm, PartnerPositions, UnitStatus, Welcome

log = logging.getLogger(__name__)


@dataclass(frozen=True, kw_only=True)
class AppConfig:
    server: str = "http://127.0.0.1:8000"
    device_id: int | None = None
    device_secret: str | None = None  # the enrolment secret; else the saved one (asked at the first login)
    data_dir: Path = field(default_factory=lambda: Path("mobile-data"))
    tiles_url: str = ""
    simulate: bool = False
    no_motion_s: float = NO_MOTION_S  # man-down: no motion this long while working alone (0: only the tilt)


class AppPresenter(EventDispatcher):  # type: ignore[misc]
    screen = OptionProperty("login", options=["login", "shift", "duty", "rooster"])
    tab = OptionProperty(
        "status", options=["status", "map", "register", "tasks", "outbox", "rooster", "kenteken", "signal"]
    )
    online = BooleanProperty(False)
    link_text = StringProperty(t("link.offline"))
    # the top bar: the link's state on duty; before a shift there is no link to lose, so none is shown
    # ("Geen verbinding" on the login screen read as "the server is down" while it answered)
    bar_text = StringProperty(t("link.off_duty"))
    bar_warn = BooleanProperty(False)  # amber: on duty and the meldkamer cannot be reached
    waiting = NumericProperty(0)
    user = StringProperty("")
    title = StringProperty(t("app.title"))  # the top bar: the app, and the shift when on one
    tasks_tab = StringProperty(t("nav.tasks"))  # the tab buttons, with how many are open or waiting
    outbox_tab = StringProperty(t("nav.outbox"))

    def __init__(
        self, config: AppConfig, *, api: Api | None = None, clock: Clock = time.time, **kwargs: object
    ) -> None:
        super().__init__(**kwargs)
        self.config = config
        self.clock = clock  # what every alarm timer reads (tests pass their own)
        config.data_dir.mkdir(parents=True, exist_ok=True)
        self.api = api or Api(config.server)
        self.outbox = Outbox(config.data_dir / "outbox.sqlite")
        self.state_file = StateFile(config.data_dir / "state.json")
        self.frames = LinkSender()
        self.session: Session | None = None
        self._tasks: set[asyncio.Task[Any]] = set()
        frames, outbox, save = self.frames, self.outbox, self._save
        self.location = LocationPresenter(frames, on_shift=self._on_shift)
        saved = self.state_file.load()
        self.enrolment: SavedEnrolment | None = saved.enrolment if saved else None
        device_id = config.device_id
        if device_id is None and self.enrolment is not None:
            device_id = self.enrolment.device_id
        secret = config.device_secret
        if not secret and self.enrolment is not None and self.enrolment.device_id == device_id:
            secret = self.enrolment.device_secret
        self.login = LoginPresenter(
            self.api,
            server=config.server,
            device_id=device_id,
            device_secret=secret,
            spawn=self.spawn,
            signed_in=self.signed_in,
        )
        self.map = MapPresenter(self.location, tiles_url=config.tiles_url)
        self.shift = ShiftPresenter(
            self.api, session=lambda: self.session, spawn=self.spawn, beat_names=self.map.names, events=self
        )
        self.rooster = RoosterPresenter(
            self.api,
            save=save,
            spawn=self.spawn,
            account_id=lambda: self.session.account_id if self.session else None,
            now=lambda: datetime.fromtimestamp(self.clock(), UTC),
        )
        if saved is not None:
            self.rooster.restore(saved.rooster, saved.rooster_at, saved.rooster_account)
        self.status = StatusPresenter(frames, outbox, on_shift=self._on_shift, save=save)
        self.noodknop = NoodknopPresenter(
            frames,
            outbox,
            self.location,
            save=save,
            fired=lambda: self.status.show(UnitStatus.EMERGENCY),
            now=lambda: datetime.fromtimestamp(self.clock(), UTC),
        )
        self.mandown = ManDownPresenter(
            clock=clock, on_shift=self._on_shift, alarm=self.noodknop.man_down, location=self.location
        )
        self.mandown.no_motion_s = config.no_motion_s
        self.checkin = CheckInPresenter(frames, clock=clock, save=save)
        self.checkin.bind(alone=self.mandown.setter("alone"))
        self.silent = SilentNoodknop(frames, self.location, clock=clock)
        self.colleagues = ColleaguesPresenter()
        self.tasks = TasksPresenter(
            frames, save=save, choose_status=self.status.choose, show=lambda: setattr(self, "tab", "tasks")
        )
        self.register = RegisterPresenter(
            self.api,
            outbox,
            frames,
            self.location,
            spawn=self.spawn,
            beat_caption=lambda: str(self.map.caption),
            account_id=lambda: self.session.account_id if self.session else None,
            documents_dir=config.data_dir / "receipts",
        )
        self.outbox_view = OutboxPresenter(outbox, frames)
        self.signal = SignalPresenter(outbox, self.location)
        self.kenteken = KentekenPresenter(
            self.api.kenteken, spawn=self.spawn, store=config.data_dir / "kenteken.json"
        )
        self.outbox.listeners.append(self._outbox_changed)
        self.bind(
            tab=self._tab_opened,
            online=self.map.setter("online"),
            waiting=self._tab_labels,
            screen=self._bar,
            link_text=self._bar,
        )
        self.bind(online=self._bar)
        self.tasks.bind(open_count=self._tab_labels)
        self.colleagues.bind(markers=lambda _, where: self.map.set_colleagues(list(where)))
        self.shift.bind(active=self._title, summary=self._title)
        self._outbox_changed()

    @property
    def link(self) -> Link | None:
        return self.frames.link

    @link.setter
    def link(self, link: Link | None) -> None:
        self.frames.link = link

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

    def tick(self) -> None:
        """About twice a second (the Kivy clock in the app, the test itself in tests): the alarm timers."""
        self.noodknop.tick()
        self.mandown.tick()
        self.checkin.tick()

    def _on_shift(self) -> bool:
        return bool(self.shift.active)

    def _save(self) -> None:
        """Keep what the presenters hold (tasks, messages, the noodknop on screen) across a restart."""
        shift = (
            SavedShift(
                shift_id=int(self.shift.shift_id),
                call_sign=self.shift.call_sign,
                beat_ids=list(self.shift.beat_ids),
            )
            if self.shift.active
            else None
        )
        self.state_file.save(
            SavedState(
                session=self.session,
                enrolment=self.enrolment,
                shift=shift,
                status=self.status.status if shift else "",  # a restart shows the status the boa chose
                tasks=[
                    SavedTask(task=e["task"], state=e["state"], reason=e.get("reason", ""))
                    for e in self.tasks.tasks.values()
                ],
                messages=list(self.tasks.messages),
                noodknop_at=self.noodknop.fired_at,
                noodknop_kind=self.noodknop.kind,
                checkin_due=self.checkin.due if shift else None,
                checkin_minutes=int(self.checkin.period_min),
                rooster=list(self.rooster.shifts),
                rooster_at=self.rooster.fetched_at,
                rooster_account=self.rooster.owner,
            )
        )

    def _tab_opened(self, *_: object) -> None:
        self.outbox_view.refresh()
        if self.tab == "rooster":
            self.rooster.refresh()

    def open_rooster(self) -> None:
        """From the shift screen: Mijn diensten (its back button returns to the shift screen)."""
        self.screen = "rooster"
        self.rooster.refresh()

    def close_rooster(self) -> None:
        self.screen = "duty" if self.shift.active else "shift"

    async def load_rooster(self) -> None:
        """Fetch Mijn diensten (the saved list stays when offline) and preselect the planned shift."""
        await self.rooster.load()
        if not self.shift.active:
            self.shift.use_rooster(self.rooster.current())

    def _title(self, *_: object) -> None:
        self.title = t("app.title") + (f"  ·  {self.shift.summary}" if self.shift.active else "")

    def _tab_labels(self, *_: object) -> None:
        open_count = self.tasks.open_count
        self.tasks_tab = t("nav.tasks") + (f"  ({open_count})" if open_count else "")
        self.outbox_tab = t("nav.outbox") + (f"  ({self.waiting})" if self.waiting else "")

    # --- lifecycle ----------------------------------------------------------------------------------------

    def saved_state(self) -> SavedState | None:
        return self.state_file.load()

    async def resume(self) -> None:
        """At start: continue the saved session (and shift) if there is one, else show the login."""
        state = self.saved_state()
        if state is None or state.session is None:
            return
        self.tasks.restore(state)
        self.noodknop.restore(state.noodknop_at, state.noodknop_kind)
        await self.signed_in(state.session, load=state.shift is None)
        if state.shift is not None:
            self.shift.began(state.shift.shift_id, state.shift.call_sign, state.shift.beat_ids)
            self.spawn(self._load_map())
            self.on_shift_started(resumed=True)
            with contextlib.suppress(ValueError):
                self.status.show(UnitStatus(state.status))
            self.checkin.restore(state.checkin_due, state.checkin_minutes)

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
        secret = self.login.device_secret.strip()
        if session.device_id is not None and secret:  # the koppelcode worked: the next login needs it not
            self.enrolment = SavedEnrolment(device_id=session.device_id, device_secret=secret)
        self.user = session.display_name
        self.api.token = session.access_token
        link = self.link = Link(self.api, self.outbox, session)
        self.api.fresh = link.fresh_token  # every call refreshes the token, ending a shift included
        link.on_state = self._link_state
        link.on_frame = self._frame
        link.on_session = self._session_refreshed
        link.start()
        self._save()
        self.screen = "duty" if self.shift.active else "shift"
        if load and not self.shift.active:
            await self.shift.load()
            await self.load_rooster()
        else:
            self.spawn(self.rooster.load())  # on shift: Mijn diensten is a tab, kept fresh in the background

    def on_shift_started(self, *, resumed: bool = False) -> None:
        if not resumed:
            self.status.show(UnitStatus.AVAILABLE)  # the server sets it when the shift starts
        self.tab = "status"
        self.screen = "duty"
        self.mandown.check()
        self._save()

    def on_shift_ended(self) -> None:
        self.tasks.shift_ended()
        self.map.clear_task()
        self.checkin.clear()  # the server ends the timer with the shift
        self.mandown.check()
        self.colleagues.shift_ended()
        self.status.show(UnitStatus.OFF_DUTY)
        self.location.shift_ended()
        self.map.select([])
        self.screen = "shift"
        self.shift.use_rooster(self.rooster.current())  # the next planned shift, if one is due
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
        self.api.fresh = None
        self.user = ""
        self.rooster.clear()  # the next boa on this tablet does not see this one's shifts
        self._save()
        self.screen = "login"

    async def stop_link(self) -> None:
        self.api.fresh = None
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

    # --- what the shift presenter tells (ShiftEvents) -----------------------------------------------------

    def beats_loaded(self, collection: dict[str, Any], categories: list[str]) -> None:
        self.map.set_beats(collection)
        if categories:
            self.register.use_categories(categories)

    def shift_began(self, beat_ids: list[int]) -> None:
        self.map.select(beat_ids)

    def shift_started(self) -> None:
        self.on_shift_started()

    def shift_ended(self) -> None:
        self.on_shift_ended()

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

    def _bar(self, *_: object) -> None:
        on_duty = self.screen == "duty"
        self.bar_text = self.link_text if on_duty else t("link.off_duty")
        self.bar_warn = on_duty and not self.online

    def _session_refreshed(self, session: Session) -> None:
        self.session = session
        self._save()

    def show_task_on_map(self, task_id: int) -> None:
        """ "Op kaart" on a task: the map tab with the task's place, the own and the partner's position."""
        entry = self.tasks.tasks.get(task_id)
        if entry is None:
            return
        task = entry["task"]
        if self.map.show_task(task.lon, task.lat, task.address or task.category or task.title):
            self.tab = "map"

    def _frame(self, frame: msgspec.Struct) -> None:
        if isinstance(frame, Welcome):
            return
        if isinstance(frame, AlertAcknowledged):
            self.noodknop.acknowledged(frame)
            return
        if isinstance(frame, ColleagueAlarm):
            self.colleagues.received(frame)
            return
        if isinstance(frame, PartnerPositions):
            self.map.set_partners([(f.lon, f.lat) for f in frame.fixes])
            return
        self.tasks.received(frame)

    def _outbox_changed(self) -> None:
        # what is stuck, not what is on the wire right now (positions in flight would make the count flicker)
        self.waiting = self.outbox.visible_count() - self.outbox.visible_count(state="sending")
        self.status.refresh()
        self.noodknop.refresh()
        if self.tab == "outbox":  # the list is rebuilt only while someone looks at it
            self.outbox_view.refresh()
