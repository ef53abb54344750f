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
from shared.protocol import AlertAcknowledged, AlertKind, ManDownTrigger, UnitStatus

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


NOT_ARRIVED_S = 10.0  # an alarm the server has not confirmed after this long: tell the boa to use the radio
KICK_EVERY_S = 5.0  # while an alarm is not confirmed, reconnect at least this often


def _utcnow() -> datetime:
    return datetime.now(UTC)


class NoodknopPresenter(EventDispatcher):  # type: ignore[misc]
    """The alarm on the big red button: the noodknop (press and hold for `hold_s`) or an automatic man-down.

    Either is sent at once and retried until the server has it durably, and shows three different states:
    "sending" (Verzonden…, not yet stored), "confirmed" (stored and raised — no person has seen it yet) and
    "seen" (an operator acknowledged it). Not confirmed after `NOT_ARRIVED_S`, it says so (`not_arrived`).
    """

    hold_s = NumericProperty(1.5)
    state = OptionProperty("idle", options=["idle", "holding", "sending", "confirmed", "seen"])
    kind = OptionProperty(
        AlertKind.NOODKNOP.value, options=[AlertKind.NOODKNOP.value, AlertKind.MAN_DOWN.value]
    )
    progress = NumericProperty(0.0)
    label = StringProperty(t("nood.idle"))
    seen_by = StringProperty("")  # who at the meldkamer saw it, and when (state "seen")
    online = BooleanProperty(False)
    not_arrived = BooleanProperty(False)  # "sending" for NOT_ARRIVED_S already: use the radio or call 112

    def __init__(
        self,
        frames: FrameSender,
        outbox: Outbox,
        location: LocationSource,
        *,
        save: Save,
        fired: Callable[[], None],
        now: Callable[[], datetime] = _utcnow,
        **kwargs: object,
    ) -> None:
        super().__init__(**kwargs)
        self._frames = frames
        self._outbox = outbox
        self._location = location
        self._save = save
        self._fired = fired  # the status shows the emergency
        self._now = now
        self._pressed_at = 0.0
        self._kicked_at: datetime | None = None
        self._seen_time = ""  # HH:MM of the acknowledgement (state "seen")
        self.fired_at: datetime | None = None  # the `at` of the alarm frame now on screen
        self.bind(
            state=self._relabel,
            online=self._relabel,
            seen_by=self._relabel,
            not_arrived=self._relabel,
            kind=self._relabel,
        )

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
            self._fire(AlertKind.NOODKNOP)

    def release(self, now: float) -> None:
        self.hold(now)
        if self.state == "holding":  # let go too early: nothing happens
            self.state = "idle"
            self.progress = 0.0

    def man_down(self, trigger: ManDownTrigger) -> bool:
        """The pre-alarm ran out: the automatic alarm goes like a noodknop. False when there is no link."""
        if self.state in ("confirmed", "seen", "holding"):
            self.state, self.progress, self.seen_by = "idle", 0.0, ""
        if self.state == "sending":
            return True  # an alarm is already on its way: that one stands
        return self._fire(AlertKind.MAN_DOWN, trigger)

    def _fire(self, kind: AlertKind, trigger: ManDownTrigger | None = None) -> bool:
        location = self._location
        if not self._frames.linked:  # not logged in: there is no one to send it to (the button is not shown)
            self.state, self.progress = "idle", 0.0
            return False
        self.fired_at = self._now()
        self.seen_by = ""
        self.not_arrived = False
        lon = location.lon if location.has_fix else None
        lat = location.lat if location.has_fix else None
        if trigger is None:
            self._frames.noodknop(self.fired_at, lon, lat)
        else:
            self._frames.man_down(self.fired_at, trigger, lon, lat)
        self._frames.kick()
        self._kicked_at = self.fired_at
        self.kind = kind.value
        self.state = "sending"
        self._fired()
        self.refresh()
        self._save()
        return True

    def refresh(self) -> None:
        self.online = self._frames.online
        if self.state in ("idle", "sending") and self._outbox.has(self.kind, failed=True):
            self.state = "sending"  # also after a restart with an unconfirmed alarm in the outbox
        elif self.state == "sending":
            self.state = "confirmed"
        self.tick()

    def tick(self) -> None:
        """Called every half second or so: is the alarm still not confirmed after NOT_ARRIVED_S?"""
        if self.state != "sending" or self.fired_at is None:
            self.not_arrived = False
            return
        now = self._now()
        self.not_arrived = (now - self.fired_at).total_seconds() >= NOT_ARRIVED_S
        if self._kicked_at is None or (now - self._kicked_at).total_seconds() >= KICK_EVERY_S:
            self._kicked_at = now
            self._frames.kick()  # keeps retrying: reconnect now rather than after the backoff

    def acknowledged(self, frame: AlertAcknowledged) -> None:
        """An operator has seen the alarm on screen now (not only stored it)."""
        if frame.alert_kind.value != self.kind or self.state not in ("sending", "confirmed"):
            return
        if self.fired_at is not None and frame.raised_at is not None and frame.raised_at < self.fired_at:
            return  # the acknowledgement of an earlier alarm, not of the one on screen
        self.seen_by = frame.by or ""
        self._seen_time = (frame.at or self._now()).astimezone().strftime("%H:%M")
        self.state = "seen"
        self._relabel()

    def restore(self, fired_at: datetime | None, kind: str = AlertKind.NOODKNOP.value) -> None:
        """After a restart: the alarm the boa had not closed is on screen again (and can still be seen)."""
        if fired_at is None or self._now() - fired_at > RESTORE_NOODKNOP:
            return
        self.fired_at = fired_at
        if kind in (AlertKind.NOODKNOP.value, AlertKind.MAN_DOWN.value):
            self.kind = kind
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
            self.kind = AlertKind.NOODKNOP.value
            self._save()

    def _relabel(self, *_: object) -> None:
        what = t(f"nood.what.{self.kind}")
        if self.state == "sending":
            if self.not_arrived:
                self.label = t("nood.not_arrived")
            else:
                self.label = t("nood.sending" if self.online else "nood.offline", what=what)
        elif self.state == "confirmed":
            self.label = t("nood.confirmed", what=what)
        elif self.state == "seen":
            when = getattr(self, "_seen_time", "")
            if self.seen_by:
                self.label = t("nood.seen", what=what, by=self.seen_by, time=when)
            else:
                self.label = t("nood.seen_anonymous", what=what, time=when)
        else:
            self.label = t("nood.holding" if self.state == "holding" else "nood.idle")


class LocationPresenter(EventDispatcher):  # type: ignore[misc]
    """The latest GPS fix; on shift it is reported every `interval_s` or after `min_move_m` metres."""

    lon = NumericProperty(0.0)
    lat = NumericProperty(0.0)
    accuracy_m = NumericProperty(-1.0)
    has_fix = BooleanProperty(False)
    fix_at = ObjectProperty(None, allownone=True)
    speed_mps = NumericProperty(-1.0)  # -1 when unknown
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
        self.speed_mps = -1.0 if speed_mps is None else speed_mps
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
