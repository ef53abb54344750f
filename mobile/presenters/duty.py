"""On duty: status buttons, the noodknop and the location the tablet reports."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta

from kivy.event import EventDispatcher
from kivy.properties import (
    BooleanProperty,
    ListProperty,
    NumericProperty,
    ObjectProperty,
    OptionProperty,
    StringProperty,
)

from mobile.i18n import t
from mobile.outbox import Outbox
from mobile.presenters.ports import FrameSender, LocationSource, Save
from shared.geo import distance_m
from shared.protocol import AlertAcknowledged, AlertKind, UnitStatus

RESTORE_NOODKNOP = timedelta(hours=12)  # after a restart, an older noodknop view is not shown again

# the statuses a boa sets himself, in the order of the buttons
CHOICES = (UnitStatus.AVAILABLE, UnitStatus.EN_ROUTE, UnitStatus.ON_SCENE, UnitStatus.BUSY, UnitStatus.BREAK)


class StatusPresenter(EventDispatcher):  # type: ignore[misc]
    status = StringProperty(UnitStatus.OFF_DUTY.value)
    label = StringProperty(t("status.off_duty"))
    unsent = BooleanProperty(False)  # the meldkamer does not have the latest status yet
    headline = StringProperty(t("status.off_duty"))  # the label, and whether the meldkamer has it yet
    choices = ListProperty([(s.value, t(f"status.{s.value}")) for s in CHOICES])

    def __init__(
        self,
        frames: FrameSender,
        outbox: Outbox,
        *,
        on_shift: Callable[[], bool],
        save: Save,
        **kwargs: object,
    ) -> None:
        super().__init__(**kwargs)
        self._frames = frames
        self._outbox = outbox
        self._on_shift = on_shift
        self._save = save  # a restart shows the status the boa chose, not "buiten dienst"
        self.bind(label=self._headline, unsent=self._headline)

    def choose(self, status: str) -> None:
        value = UnitStatus(status)
        if not self._frames.linked or not self._on_shift():
            return
        self._frames.status(value, datetime.now(UTC))
        self.show(value)
        self.refresh()
        self._save()

    def show(self, value: UnitStatus) -> None:
        self.status = value.value
        self.label = t(f"status.{value.value}")

    def refresh(self) -> None:
        self.unsent = self._outbox.has("status")

    def _headline(self, *_: object) -> None:
        self.headline = self.label + ("  —  " + t("status.unsent") if self.unsent else "")


class NoodknopPresenter(EventDispatcher):  # type: ignore[misc]
    """Press and hold for `hold_s`; then sent at once, retried until the server has it durably."""

    hold_s = NumericProperty(1.5)
    state = OptionProperty("idle", options=["idle", "holding", "sending", "confirmed", "seen"])
    progress = NumericProperty(0.0)
    label = StringProperty(t("nood.idle"))
    seen_by = StringProperty("")  # who at the meldkamer saw it, and when (state "seen")
    online = BooleanProperty(False)

    def __init__(
        self,
        frames: FrameSender,
        outbox: Outbox,
        location: LocationSource,
        *,
        save: Save,
        fired: Callable[[], None],
        **kwargs: object,
    ) -> None:
        super().__init__(**kwargs)
        self._frames = frames
        self._outbox = outbox
        self._location = location
        self._save = save
        self._fired = fired  # the status shows the emergency
        self._pressed_at = 0.0
        self.fired_at: datetime | None = None  # the `at` of the noodknop frame now on screen
        self.bind(state=self._relabel, online=self._relabel, seen_by=self._relabel)

    def press(self, now: float) -> None:
        if self.state in ("confirmed", "seen"):  # a tap closes the confirmation; holding on sends a new one
            self.reset()
        if self.state == "idle":
            self._pressed_at = now
            self.progress = 0.0
            self.state = "holding"

    def hold(self, now: float) -> None:
        """Called while the finger stays down (and once more on release)."""
        if self.state != "holding":
            return
        self.progress = min(1.0, (now - self._pressed_at) / self.hold_s)
        if self.progress >= 1.0:
            self._fire()

    def release(self, now: float) -> None:
        self.hold(now)
        if self.state == "holding":  # let go too early: nothing happens
            self.state = "idle"
            self.progress = 0.0

    def _fire(self) -> None:
        location = self._location
        if not self._frames.linked:  # not logged in: there is no one to send it to (the button is not shown)
            self.state, self.progress = "idle", 0.0
            return
        self.fired_at = datetime.now(UTC)
        self.seen_by = ""
        self._frames.noodknop(
            self.fired_at,
            location.lon if location.has_fix else None,
            location.lat if location.has_fix else None,
        )
        self._frames.kick()
        self.state = "sending"
        self._fired()
        self.refresh()
        self._save()

    def refresh(self) -> None:
        self.online = self._frames.online
        if self.state in ("idle", "sending") and self._outbox.has("noodknop", failed=True):
            self.state = "sending"  # also after a restart with an unconfirmed noodknop in the outbox
        elif self.state == "sending":
            self.state = "confirmed"

    def acknowledged(self, frame: AlertAcknowledged) -> None:
        """An operator has seen the noodmelding on screen now (not only stored it)."""
        if frame.alert_kind != AlertKind.NOODKNOP or self.state not in ("sending", "confirmed"):
            return
        if self.fired_at is not None and frame.raised_at is not None and frame.raised_at < self.fired_at:
            return  # the acknowledgement of an earlier noodknop, not of the one on screen
        when = (frame.at or datetime.now(UTC)).astimezone().strftime("%H:%M")
        self.seen_by = t("nood.seen_by", by=frame.by, time=when) if frame.by else when
        self.state = "seen"

    def restore(self, fired_at: datetime | None) -> None:
        """After a restart: the noodknop the boa had not closed is on screen again (and can still be seen)."""
        if fired_at is None or datetime.now(UTC) - fired_at > RESTORE_NOODKNOP:
            return
        self.fired_at = fired_at
        if self.state in ("idle", "sending"):
            self.state = "sending"
            self.refresh()  # "confirmed" unless it is still in the outbox

    def reset(self) -> None:
        """The boa closes the confirmed emergency view (the meldkamer handles the incident)."""
        if self.state in ("confirmed", "seen"):
            self.state = "idle"
            self.progress = 0.0
            self.seen_by = ""
            self.fired_at = None
            self._save()

    def _relabel(self, *_: object) -> None:
        if self.state == "sending" and not self.online:
            self.label = t("nood.offline")
        elif self.state == "seen":
            self.label = t("nood.seen") + (f"\n{self.seen_by}" if self.seen_by else "")
        else:
            self.label = t(
                {
                    "idle": "nood.idle",
                    "holding": "nood.holding",
                    "sending": "nood.sending",
                    "confirmed": "nood.confirmed",
                    "seen": "nood.seen",
                }[self.state]
            )


class LocationPresenter(EventDispatcher):  # type: ignore[misc]
    """The latest GPS fix; on shift it is reported every `interval_s` or after `min_move_m` metres."""

    lon = NumericProperty(0.0)
    lat = NumericProperty(0.0)
    accuracy_m = NumericProperty(-1.0)
    has_fix = BooleanProperty(False)
    fix_at = ObjectProperty(None, allownone=True)
    track = ListProperty([])  # recent (lon, lat) of this shift, for the map
    interval_s = NumericProperty(5.0)
    min_move_m = NumericProperty(25.0)

    def __init__(self, frames: FrameSender, *, on_shift: Callable[[], bool], **kwargs: object) -> None:
        super().__init__(**kwargs)
        self._frames = frames
        self._on_shift = on_shift
        self._sent: tuple[float, float, float] | None = None  # (when, lon, lat) of the last report

    def fix(
        self,
        lon: float,
        lat: float,
        *,
        accuracy_m: float | None = None,
        speed_mps: float | None = None,
        heading_deg: float | None = None,
        at: datetime | None = None,
    ) -> None:
        at = at or datetime.now(UTC)
        self.lon, self.lat = lon, lat
        self.accuracy_m = -1.0 if accuracy_m is None else accuracy_m
        self.has_fix = True
        self.fix_at = at
        if not self._frames.linked or not self._on_shift():
            return  # staff are tracked only on shift
        now = at.timestamp()
        if self._sent is not None:
            last_at, last_lon, last_lat = self._sent
            if now - last_at < self.interval_s and distance_m(last_lon, last_lat, lon, lat) < self.min_move_m:
                return
        self._sent = (now, lon, lat)
        self.track = [*self.track[-199:], (lon, lat)]
        self._frames.position(
            lon,
            lat,
            at,
            late=not self._frames.online,
            accuracy_m=accuracy_m,
            speed_mps=speed_mps,
            heading_deg=heading_deg,
        )

    def shift_ended(self) -> None:
        self._sent = None
        self.track = []
