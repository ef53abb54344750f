"""The alarms a boa does not have to press: man-down / no-motion, the check-in timer when working alone, the
silent noodknop, and the banners of a colleague's unanswered alarm.

Time comes from an injected clock (seconds) and the app calls `tick()` about twice a second, so every timer
here is tested without sleeping.
"""

from __future__ import annotations

import math
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
from mobile.presenters.ports import Clock, FrameSender, LocationSource, Save
from shared.protocol import AlertKind, ColleagueAlarm, ManDownTrigger

# --- man-down ---------------------------------------------------------------------------------------------

NO_MOTION_S = 30.0  # default: no motion this long (while working alone) starts the pre-alarm
TILT_DEG = 45.0  # tilted beyond this from the pose the watch started in (or the boa last handled it in) ...
TILT_HOLD_S = 3.0  # ... for this long (bending over to write a fine is not a fall)
PREALARM_S = 15.0  # the pre-alarm: loud, one tap on "IK BEN OK" cancels it
MOTION_MPS2 = 0.35  # a change in acceleration between two samples above this is motion
VEHICLE_MPS = 5.0  # GPS speed above this (18 km/h): in a vehicle, the watch pauses ...
RELEARN_S = 10.0  # after "IK BEN OK": the pose ten seconds on is the new upright
SENSOR_QUIET_S = 5.0  # no sample for this long: the sensor is off or broken, the no-motion check waits
VEHICLE_HOLD_S = 120.0  # ... until this long after the last fast fix (a vehicle waits at lights)


def _unit(x: float, y: float, z: float) -> tuple[float, float, float] | None:
    n = math.sqrt(x * x + y * y + z * z)
    return None if n < 1e-6 else (x / n, y / n, z / n)


def _angle_deg(a: tuple[float, float, float], b: tuple[float, float, float]) -> float:
    dot = max(-1.0, min(1.0, a[0] * b[0] + a[1] * b[1] + a[2] * b[2]))
    return math.degrees(math.acos(dot))


class ManDownPresenter(EventDispatcher):  # type: ignore[misc]
    """Watches the accelerometer while the boa works alone, not in a vehicle and not charging.

    Tilt beyond `tilt_deg` (for `tilt_hold_s`) or no motion for `no_motion_s` (0: that check is off) starts
    a `prealarm_s` pre-alarm; "IK BEN OK" cancels it, else `alarm(trigger)` sends the man_down frame (the
    noodknop's path: outbox, resend, the three states). Touching the screen counts as motion and as the pose
    the boa is fine in. After an alarm the watch waits for the boa to move and stand up again.
    """

    state = OptionProperty("off", options=["off", "watching", "prealarm", "fired"])
    alone = BooleanProperty(False)
    in_vehicle = BooleanProperty(False)
    charging = BooleanProperty(False)
    no_motion_s = NumericProperty(NO_MOTION_S)
    tilt_deg = NumericProperty(TILT_DEG)
    tilt_hold_s = NumericProperty(TILT_HOLD_S)
    prealarm_s = NumericProperty(PREALARM_S)
    seconds_left = NumericProperty(0)
    trigger = StringProperty("")  # what started the pre-alarm (ManDownTrigger value)
    prealarm_text = StringProperty("")
    status_text = StringProperty(t("mandown.off"))
    __events__ = ("on_prealarm", "on_prealarm_end")

    def __init__(
        self,
        *,
        clock: Clock,
        on_shift: Callable[[], bool],
        alarm: Callable[[ManDownTrigger], bool],
        location: LocationSource | None = None,
        **kwargs: object,
    ) -> None:
        super().__init__(**kwargs)
        self._clock = clock
        self._on_shift = on_shift
        self._alarm = alarm
        self._ref: tuple[float, float, float] | None = None  # the pose the boa is fine in
        self._last: tuple[float, float, float] | None = None  # the latest sample (raw, m/s²)
        self._last_at = 0.0  # when it came: a sensor that went quiet is not "no motion"
        self._last_motion = 0.0
        self._tilted_since: float | None = None
        self._relearn_until = 0.0  # until then every sample is the new reference pose (no tilt check)
        self._deadline = 0.0
        self._fast_at: float | None = None  # when the GPS last said "in a vehicle"
        self._location = location
        if location is not None:
            location.bind(fix_at=self._fix)
        self.bind(alone=self._rearm, in_vehicle=self._rearm, charging=self._rearm, no_motion_s=self._relabel)

    def on_prealarm(self) -> None:
        """Start the loud pre-alarm sound (the view binds it)."""

    def on_prealarm_end(self) -> None:
        """Stop it."""

    @property
    def armed(self) -> bool:
        return bool(self.alone and not self.in_vehicle and not self.charging and self._on_shift())

    def _rearm(self, *_: object) -> None:
        if self.armed and self.state == "off":
            self._restart_watch()
        elif not self.armed and self.state != "off":
            if self.state == "prealarm":
                self.dispatch("on_prealarm_end")
            self.state = "off"
        self._relabel()

    def _restart_watch(self, relearn_s: float = 0.0) -> None:
        self._ref = _unit(*self._last) if self._last else None
        self._last_motion = self._clock()
        self._relearn_until = self._last_motion + relearn_s
        self._tilted_since = None
        self.state = "watching"

    def _relabel(self, *_: object) -> None:
        if self.state != "off":
            self.status_text = t("mandown.watching", seconds=f"{self.no_motion_s:.0f}")
        elif self.alone and self.charging:
            self.status_text = t("mandown.paused.charging")
        elif self.alone and self.in_vehicle:
            self.status_text = t("mandown.paused.vehicle")
        else:
            self.status_text = t("mandown.off")

    def check(self) -> None:
        """Re-read `armed` (the shift started or ended)."""
        self._rearm()

    # --- inputs -------------------------------------------------------------------------------------------

    def sample(self, x: float, y: float, z: float) -> None:
        """One accelerometer reading (m/s², gravity included)."""
        now = self._clock()
        if self._last is not None:
            delta = max(abs(x - self._last[0]), abs(y - self._last[1]), abs(z - self._last[2]))
            if delta > MOTION_MPS2:
                self._last_motion = now
        self._last, self._last_at = (x, y, z), now
        pose = _unit(x, y, z)
        if self._ref is None or now < self._relearn_until:
            self._ref = pose  # the boa picks the tablet up and carries on: that is the pose he is fine in
        tilted = pose is not None and self._ref is not None and _angle_deg(pose, self._ref) > self.tilt_deg
        if not tilted:
            self._tilted_since = None
        elif self._tilted_since is None:
            self._tilted_since = now
        if self.state == "fired" and not tilted and now - self._last_motion < 1.0:
            self.state = "watching"  # up and moving again: watch anew
        self.tick()

    def activity(self) -> None:
        """The boa touched the screen: he is conscious, and the way he holds it now is fine."""
        if self.state in ("watching", "fired"):
            self._last_motion = self._clock()
            self._ref = _unit(*self._last) if self._last else self._ref
            self._tilted_since = None
            if self.state == "fired":
                self.state = "watching"

    def _fix(self, *_: object) -> None:
        location = self._location
        if location is not None and float(getattr(location, "speed_mps", -1.0)) >= VEHICLE_MPS:
            self._fast_at = self._clock()
        self.tick()

    # --- time ---------------------------------------------------------------------------------------------

    def tick(self) -> None:
        now = self._clock()
        in_vehicle = self._fast_at is not None and now - self._fast_at < VEHICLE_HOLD_S
        if in_vehicle != self.in_vehicle:
            self.in_vehicle = in_vehicle
        if self.state == "watching":
            if self._tilted_since is not None and now - self._tilted_since >= self.tilt_hold_s:
                self._prealarm(ManDownTrigger.TILT, now)
            elif (
                self.no_motion_s > 0
                and now - self._last_at < SENSOR_QUIET_S
                and now - self._last_motion >= self.no_motion_s
            ):
                self._prealarm(ManDownTrigger.NO_MOTION, now)
        elif self.state == "prealarm":
            left = self._deadline - now
            self.seconds_left = max(0, math.ceil(left))
            self.prealarm_text = t("mandown.prealarm", seconds=self.seconds_left)
            if left <= 0:
                self.state = "fired"
                self.dispatch("on_prealarm_end")
                self._alarm(ManDownTrigger(self.trigger))

    def _prealarm(self, trigger: ManDownTrigger, now: float) -> None:
        self.trigger = trigger.value
        self._deadline = now + self.prealarm_s
        self.seconds_left = math.ceil(self.prealarm_s)
        self.prealarm_text = t("mandown.prealarm", seconds=self.seconds_left)
        self.state = "prealarm"
        self.dispatch("on_prealarm")

    def alarm_now(self) -> None:
        """HULP NU: the boa sees the pre-alarm and is in trouble; the overlay hides the noodknop, so the
        pre-alarm itself sends the alarm at once instead of after the countdown."""
        if self.state != "prealarm":
            return
        self.state = "fired"
        self.dispatch("on_prealarm_end")
        self._alarm(ManDownTrigger(self.trigger))

    def ok(self) -> None:
        """IK BEN OK: cancel the pre-alarm; nothing is sent."""
        if self.state != "prealarm":
            return
        self.dispatch("on_prealarm_end")
        self._restart_watch(relearn_s=RELEARN_S)  # the tablet may still lie where it fell


# --- check-in timer ---------------------------------------------------------------------------------------

PERIODS_MIN = (15, 30, 60)
WARN_BEFORE = timedelta(minutes=2)  # the warning shortly before the check-in is due


def _utc(ts: float) -> datetime:
    return datetime.fromtimestamp(ts, UTC)


class CheckInPresenter(EventDispatcher):  # type: ignore[misc]
    """A boa who splits from the duo ("alleen") starts a check-in timer of 15, 30 or 60 minutes.

    The tablet sends CheckIn(next_due); the server holds the timer and raises `checkin_missed` when it
    passes (also when the tablet is broken). "Check in" moves it on by the chosen period; "weer met collega"
    sends next_due=None. Two minutes before due the tablet warns (a sound and an amber line).
    """

    alone = BooleanProperty(False)
    period_min = NumericProperty(30)
    due = ObjectProperty(None, allownone=True)  # datetime (UTC) of the next check-in
    state = OptionProperty("off", options=["off", "running", "warning", "missed"])
    text = StringProperty(t("checkin.off"))
    periods = ListProperty(list(PERIODS_MIN))
    __events__ = ("on_warning",)

    def __init__(self, frames: FrameSender, *, clock: Clock, save: Save, **kwargs: object) -> None:
        super().__init__(**kwargs)
        self._frames = frames
        self._clock = clock
        self._save = save

    def on_warning(self) -> None:
        """The check-in is due soon (the view plays a sound)."""

    def start(self, minutes: int) -> None:
        """Go alone with a timer of `minutes` (or change the period while alone)."""
        if not self._frames.linked:
            return
        self.period_min = int(minutes)
        self.alone = True
        self.check_in()

    def check_in(self) -> None:
        if not self.alone or not self._frames.linked:
            return
        now = _utc(self._clock())
        self.due = now + timedelta(minutes=int(self.period_min))
        self._frames.checkin(now, self.due)
        self.state = "running"
        self.tick()
        self._save()

    def stop(self) -> None:
        """Back with the duo partner: the server's timer stops."""
        if self.alone and self._frames.linked:
            self._frames.checkin(_utc(self._clock()), None)
        self.alone = False
        self.due = None
        self.state = "off"
        self.text = t("checkin.off")
        self._save()

    def clear(self) -> None:
        """The shift ended (the server's timer with it): forget the timer without sending anything."""
        self.alone = False
        self.due = None
        self.state = "off"
        self.text = t("checkin.off")

    def restore(self, due: datetime | None, period_min: int) -> None:
        if due is not None:
            self.period_min = period_min or 30
            self.due = due
            self.alone = True
            self.state = "running"
            self.tick()

    def tick(self) -> None:
        if self.due is None:
            return
        now = _utc(self._clock())
        due: datetime = self.due
        when = due.astimezone().strftime("%H:%M")
        if now >= due:
            self.state = "missed"
            self.text = t("checkin.missed", time=when)
        elif due - now <= WARN_BEFORE:
            if self.state != "warning":
                self.state = "warning"
                self.dispatch("on_warning")
            self.text = t("checkin.warning", time=when, minutes=math.ceil((due - now).total_seconds() / 60))
        else:
            self.state = "running"
            self.text = t("checkin.running", time=when)


# --- silent noodknop --------------------------------------------------------------------------------------

SILENT_HOLD_S = 3.0


class SilentNoodknop:
    """Hold the top bar for `SILENT_HOLD_S`: a noodknop with silent=True. Nothing on the tablet changes — no
    sound, no colour, no text, not in the outbox screen — for aggression, where a loud alarm escalates.

    A plain object, not an EventDispatcher: it has nothing a view could show.
    """

    def __init__(self, frames: FrameSender, location: LocationSource, *, clock: Clock) -> None:
        self._frames = frames
        self._location = location
        self._clock = clock
        self._pressed_at: float | None = None
        self.sent = 0  # how many were sent (for tests and logs; never shown)

    def press(self, now: float) -> None:
        self._pressed_at = now

    def hold(self, now: float) -> None:
        if self._pressed_at is not None and now - self._pressed_at >= SILENT_HOLD_S:
            self._pressed_at = None  # once per hold
            self._send()

    def release(self, now: float) -> None:
        self.hold(now)
        self._pressed_at = None

    def _send(self) -> None:
        if not self._frames.linked:
            return
        loc = self._location
        self._frames.noodknop(
            _utc(self._clock()),
            loc.lon if loc.has_fix else None,
            loc.lat if loc.has_fix else None,
            silent=True,
        )
        self._frames.kick()
        self.sent += 1


# --- a colleague's alarm ----------------------------------------------------------------------------------

MAX_BANNERS = 3  # more are counted in one line: the banners must leave room for the tabs


def _distance(metres: float | None) -> str:
    if metres is None:
        return ""
    if metres < 1000:
        return f", {round(metres / 10) * 10:.0f} m"
    return ", " + f"{metres / 1000:.1f}".replace(".", ",") + " km"


class ColleaguesPresenter(EventDispatcher):  # type: ignore[misc]
    """Banners for colleagues' safety alarms the meldkamer has not answered; `resolved` clears one."""

    banners = ListProperty([])  # [{"alert_id", "text", "lon", "lat"}], newest first, at most MAX_BANNERS
    more = StringProperty("")  # "+ 2 meer" when there are more
    markers = ListProperty([])  # [(lon, lat), ...] of the colleagues in trouble, for the map
    __events__ = ("on_alarm",)

    def __init__(self, **kwargs: object) -> None:
        super().__init__(**kwargs)
        self._open: dict[int, dict[str, object]] = {}

    def on_alarm(self) -> None:
        """A new colleague alarm arrived (the view plays the alarm sound)."""

    def received(self, frame: ColleagueAlarm) -> None:
        if frame.resolved:
            self._open.pop(frame.alert_id, None)
        else:
            new = frame.alert_id not in self._open
            kind = (
                frame.alert_kind.value if isinstance(frame.alert_kind, AlertKind) else str(frame.alert_kind)
            )
            what = t(f"colleague.what.{kind}")
            if what.startswith("colleague."):
                what = kind
            self._open[frame.alert_id] = {
                "alert_id": frame.alert_id,
                "text": t(
                    "colleague.banner",
                    call_sign=frame.call_sign,
                    what=what,
                    distance=_distance(frame.distance_m),
                ),
                "lon": frame.lon,
                "lat": frame.lat,
                "at": frame.at,
            }
            if new:
                self.dispatch("on_alarm")
        rows = sorted(self._open.values(), key=lambda r: r["at"], reverse=True)  # type: ignore[arg-type,return-value]
        self.banners = rows[:MAX_BANNERS]
        extra = len(rows) - MAX_BANNERS
        self.more = t("colleague.more", count=extra) if extra > 0 else ""
        self.markers = [(r["lon"], r["lat"]) for r in rows if r["lon"] is not None and r["lat"] is not None]

    def shift_ended(self) -> None:
        self._open.clear()
        self.banners, self.more, self.markers = [], "", []
