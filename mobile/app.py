"""The Kivy app: loads the views, runs on the asyncio loop beside the link, plays the task sound,
takes photos.

All state lives in `AppPresenter` (`app.p` in the .kv files); this module only wires Kivy to it.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from kivy.app import App
from kivy.clock import Clock
from kivy.core.audio import SoundLoader
from kivy.lang import Builder
from kivy.utils import platform

from mobile.gps import NoGps, PlyerGps, SimulatedRoute
from mobile.presenters.app import AppConfig, AppPresenter
from mobile.sensors import NoAccelerometer, PlyerAccelerometer, SimulatedAccelerometer, plyer_charging
from mobile.views import widgets  # noqa: F401  (registers NoodknopButton and BeatMap with the Factory)

log = logging.getLogger(__name__)
# The enrolment secret `schakel seed-demo` gives every demo tablet (backend/demo/seed.py): --simulate uses it.
DEMO_DEVICE_SECRET = "schakel-demo-tablet"
HERE = Path(__file__).parent
# One .kv file per screen under views/; common first: its colours and shared widgets serve the others.
VIEWS: tuple[str, ...] = ("common", "alarm", "login", "shift", "status", "map", "register", "tasks", "outbox")
VIEWS += ("rooster", "kenteken", "signal", "duty", "root")  # duty and root use the screens before them
TICK_S = 0.5  # the alarm timers (pre-alarm countdown, NIET aangekomen, check-in warning)
CHARGING_POLL_S = 10.0
# --simulate: keys that move the simulated accelerometer (v: val, s: stil, l: lopen)
SIMULATED_POSES = {"v": "fallen", "s": "still", "l": "walking"}


class SchakelApp(App):  # type: ignore[misc]
    title = "Schakel"

    def __init__(
        self,
        presenter: AppPresenter,
        gps: Any,
        accelerometer: Any = None,
        charging: Callable[[], bool] | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.p = presenter
        self.gps = gps
        self.accelerometer = accelerometer or NoAccelerometer()
        self.charging = charging
        self.sound = SoundLoader.load(str(HERE / "assets" / "task.wav"))
        self.siren = SoundLoader.load(str(HERE / "assets" / "alarm.wav"))  # the pre-alarm, looped
        self.alarm_sound = SoundLoader.load(str(HERE / "assets" / "alarm.wav"))  # a colleague's alarm, once
        if self.siren is not None:
            self.siren.loop = True
            self.siren.volume = 1.0
        presenter.tasks.bind(on_alarm=self._alarm)
        presenter.checkin.bind(on_warning=self._alarm)
        presenter.colleagues.bind(on_alarm=lambda *_: self._play(self.alarm_sound))
        presenter.mandown.bind(on_prealarm=lambda *_: self._play(self.siren))
        presenter.mandown.bind(on_prealarm_end=lambda *_: self.siren.stop() if self.siren else None)
        # the silent noodknop plays nothing: it has no sound hook at all

    @property
    def simulated_sensor(self) -> SimulatedAccelerometer | None:
        sensor = self.accelerometer
        return sensor if isinstance(sensor, SimulatedAccelerometer) else None

    def simulate_pose(self, pose: str) -> None:
        """--simulate: lay the tablet flat ("fallen"), hold it still, or walk on."""
        if self.simulated_sensor is not None:
            self.simulated_sensor.pose = pose

    @staticmethod
    def _play(sound: Any) -> None:
        if sound is not None:
            sound.stop()
            sound.play()

    def build(self) -> Any:
        for name in VIEWS:
            Builder.load_file(str(HERE / "views" / f"{name}.kv"))
        return Builder.load_string("Root:")

    def _alarm(self, *_: Any) -> None:
        if self.sound is not None:
            self.sound.stop()
            self.sound.play()

    def logout(self) -> None:
        self.p.spawn(self.p.logout())

    def take_photo(self) -> None:
        """The camera on Android (plyer); a desktop has none, so there the button says so."""
        if platform != "android":
            self.p.register.no_camera()
            return
        from plyer import camera

        path = self.p.config.data_dir / "photos" / f"{datetime.now(UTC):%Y%m%dT%H%M%S}.jpg"
        path.parent.mkdir(parents=True, exist_ok=True)

        def done(filename: str) -> bool:
            self.p.register.add_photo(filename)
            return False

        camera.take_picture(filename=str(path), on_complete=done)

    def on_start(self) -> None:
        self.gps.start(lambda lon, lat, **kw: self.p.location.fix(lon, lat, **kw))
        self.accelerometer.start(self.p.mandown.sample)
        Clock.schedule_interval(lambda _dt: self.p.tick(), TICK_S)
        if self.charging is not None:
            charging = self.charging
            Clock.schedule_interval(
                lambda _dt: setattr(self.p.mandown, "charging", charging()), CHARGING_POLL_S
            )
        from kivy.core.window import Window  # here: importing it opens the window

        Window.bind(on_touch_down=self._touched, on_key_down=self._key)

    def _touched(self, *_: Any) -> None:
        self.p.mandown.activity()  # a boa who taps the screen is not lying still (None: the touch goes on)

    def _key(self, _window: Any, _key: int, _scancode: int, text: str | None, _modifiers: Any) -> None:
        pose = SIMULATED_POSES.get(text or "")
        if pose is not None:
            self.simulate_pose(pose)

    def on_stop(self) -> None:
        self.gps.stop()
        self.accelerometer.stop()
        if self.siren is not None:
            self.siren.stop()


async def _main(args: argparse.Namespace) -> int:
    config = AppConfig(
        server=args.server,
        device_id=args.device_id,
        device_secret=args.device_secret or (DEMO_DEVICE_SECRET if args.simulate or args.tour else None),
        data_dir=args.data_dir,
        tiles_url=args.tiles_url,
        simulate=args.simulate or args.tour is not None,
        no_motion_s=args.no_motion_s,
    )
    presenter = AppPresenter(config)
    gps: Any
    accelerometer: Any
    charging = None
    if config.simulate:
        gps = SimulatedRoute(presenter.map.selected_ring, speed=args.speed)
        accelerometer = SimulatedAccelerometer()
    elif platform == "android":
        gps, accelerometer, charging = PlyerGps(), PlyerAccelerometer(), plyer_charging
    else:
        gps, accelerometer = NoGps(), NoAccelerometer()
    app = SchakelApp(presenter, gps, accelerometer, charging)
    await presenter.resume()
    touring: asyncio.Task[None] | None = None
    if args.tour is not None:
        from mobile.tour import tour

        touring = presenter.spawn(tour(app, args.tour))
    try:
        await app.async_run(async_lib="asyncio")
    finally:
        await presenter.close()
    if touring is not None and (not touring.done() or touring.cancelled() or touring.exception()):
        log.error("the tour did not finish: its screenshots are incomplete")
        return 1  # a failed tour is a failed run (scripts and CI see it)
    return 0


def run(args: argparse.Namespace) -> int:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    started = time.monotonic()
    try:
        return asyncio.run(_main(args))
    finally:
        log.info("app ran %.0f s", time.monotonic() - started)
