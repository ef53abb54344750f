"""The Kivy app: loads the views, runs on the asyncio loop beside the link, plays the task sound,
takes photos.

All state lives in `AppPresenter` (`app.p` in the .kv files); this module only wires Kivy to it.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from kivy.app import App
from kivy.core.audio import SoundLoader
from kivy.lang import Builder
from kivy.utils import platform

from mobile.gps import NoGps, PlyerGps, SimulatedRoute
from mobile.presenters.app import AppConfig, AppPresenter
from mobile.views import widgets  # noqa: F401  (registers NoodknopButton and BeatMap with the Factory)

log = logging.getLogger(__name__)
# The enrolment secret `schakel seed-demo` gives every demo tablet (backend/demo/seed.py): --simulate uses it.
DEMO_DEVICE_SECRET = "schakel-demo-tablet"
HERE = Path(__file__).parent
# One .kv file per screen under views/; common first: its colours and shared widgets serve the others.
VIEWS = ("common", "login", "shift", "status", "map", "register", "tasks", "outbox", "duty", "root")


class SchakelApp(App):  # type: ignore[misc]
    title = "Schakel"

    def __init__(self, presenter: AppPresenter, gps: Any, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.p = presenter
        self.gps = gps
        self.sound = SoundLoader.load(str(HERE / "assets" / "task.wav"))
        presenter.tasks.bind(on_alarm=self._alarm)

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

    def on_stop(self) -> None:
        self.gps.stop()


async def _main(args: argparse.Namespace) -> int:
    config = AppConfig(
        server=args.server,
        device_id=args.device_id,
        device_secret=args.device_secret or (DEMO_DEVICE_SECRET if args.simulate or args.tour else None),
        data_dir=args.data_dir,
        tiles_url=args.tiles_url,
        simulate=args.simulate or args.tour is not None,
    )
    presenter = AppPresenter(config)
    gps: Any
    if config.simulate:
        gps = SimulatedRoute(presenter.map.selected_ring, speed=args.speed)
    elif platform == "android":
        gps = PlyerGps()
    else:
        gps = NoGps()
    app = SchakelApp(presenter, gps)
    await presenter.resume()
    if args.tour is not None:
        from mobile.tour import tour

        presenter.spawn(tour(app, args.tour))
    try:
        await app.async_run(async_lib="asyncio")
    finally:
        await presenter.close()
    return 0


def run(args: argparse.Namespace) -> int:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    started = time.monotonic()
    try:
        return asyncio.run(_main(args))
    finally:
        log.info("app ran %.0f s", time.monotonic() - started)
