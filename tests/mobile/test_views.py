"""The .kv files (one per screen) load and bind to the presenters' properties: no window, a mock GL."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.mobile.conftest import KIVY_MISSING

pytest.importorskip("kivy", reason=KIVY_MISSING)

from kivy.app import App  # noqa: E402
from kivy.uix.screenmanager import ScreenManager  # noqa: E402

from mobile.api import Api  # noqa: E402
from mobile.app import SchakelApp  # noqa: E402
from mobile.gps import NoGps  # noqa: E402
from mobile.presenters.app import AppConfig, AppPresenter  # noqa: E402
from shared.protocol import UnitStatus  # noqa: E402


def texts(widget: Any) -> list[str]:
    """Every text on every screen and tab, also those not on display now."""
    found = [widget.text] if isinstance(getattr(widget, "text", None), str) else []
    children = widget.screens if isinstance(widget, ScreenManager) else widget.children
    for child in children:
        found += texts(child)
    return found


async def test_every_screen_is_built_and_shows_the_presenters_labels(tmp_path: Path) -> None:
    api = Api("http://schakel.test", transport=httpx.MockTransport(lambda _: httpx.Response(503)))
    p = AppPresenter(
        AppConfig(server="http://schakel.test", device_id=3, device_secret="koppel", data_dir=tmp_path),
        api=api,
    )
    app = SchakelApp(p, NoGps())
    App._running_app = app  # what `app` means in the .kv files, as when the app runs
    try:
        root = app.build()
        shown = texts(root)
        assert p.login.submit_label == "Inloggen" and "Inloggen" in shown
        for label in (p.login.server_label, p.title, p.tasks_tab, p.status.headline, p.map.fix_label):
            assert label in shown
        assert p.tasks.title in shown and p.outbox_view.summary in shown and p.register.photo_button in shown
        assert "Mijn diensten" in shown and p.rooster.status in shown and "Rooster" in shown
        p.waiting = 2
        p.status.show(UnitStatus.BUSY)
        p.login.busy = True
        shown = texts(root)
        assert p.outbox_tab == "Verzenden  (2)" and p.outbox_tab in shown and "Bezet" in shown
        assert p.login.submit_label in shown and p.login.submit_label != "Inloggen"
    finally:
        app.dispatch("on_stop")  # the .kv files' `app` lets go of this one (as when the app stops)
        App._running_app = None
        await p.close()


def walk(widget: Any) -> list[Any]:
    children = widget.screens if isinstance(widget, ScreenManager) else widget.children
    return [widget] + [w for child in children for w in walk(child)]


async def test_alarm_views_bind_prealarm_banners_checkin_and_the_silent_top_bar(tmp_path: Path) -> None:
    from datetime import UTC, datetime

    from kivy.lang import Builder

    from mobile.app import HERE, VIEWS
    from mobile.link import Link
    from mobile.views.widgets import HoldArea
    from shared.protocol import AlertKind, ColleagueAlarm, ManDownTrigger
    from tests.mobile.test_presenters import SESSION

    api = Api("http://schakel.test", transport=httpx.MockTransport(lambda _: httpx.Response(503)))
    p = AppPresenter(
        AppConfig(server="http://schakel.test", device_id=3, device_secret="koppel", data_dir=tmp_path),
        api=api,
    )
    app = SchakelApp(p, NoGps())
    App._running_app = app
    for name in VIEWS:  # an earlier test built them: load the rules once, not twice
        Builder.unload_file(str(HERE / "views" / f"{name}.kv"))
    try:
        root = app.build()
        p.session = SESSION
        p.link = Link(p.api, p.outbox, SESSION)
        p.shift.began(5, "HH-13", [])
        p.on_shift_started()
        widgets = walk(root)
        bars = [w for w in widgets if isinstance(w, HoldArea)]
        assert len(bars) == 1 and bars[0].presenter is p.silent  # the top bar is the silent trigger
        prealarm = next(w for w in widgets if type(w).__name__ == "PreAlarm")
        assert not prealarm.shown and prealarm.opacity == 0
        p.checkin.start(30)
        assert p.checkin.text in texts(root) and "Check in" in texts(root)
        for _ in range(4):
            p.mandown.sample(0.0, 9.81, 0.0)
        p.mandown._prealarm(ManDownTrigger.TILT, p.clock())
        assert prealarm.shown and prealarm.opacity == 1 and "IK BEN OK" in texts(root)
        p.mandown.ok()
        assert not prealarm.shown
        p._frame(
            ColleagueAlarm(
                alert_id=1,
                alert_kind=AlertKind.NOODKNOP,
                call_sign="HH-04",
                at=datetime.now(UTC),
                distance_m=420,
            )
        )
        assert "Collega HH-04: noodmelding, 420 m — meldkamer heeft nog niet gereageerd" in texts(root)
    finally:
        app.dispatch("on_stop")  # the .kv files' `app` lets go of this one (as when the app stops)
        App._running_app = None
        await p.close()


async def test_task_banners_stack_and_clear_and_the_task_list_shows_its_fold(tmp_path: Path) -> None:
    from datetime import UTC, datetime

    from kivy.lang import Builder

    from mobile.app import HERE, VIEWS
    from mobile.link import Link
    from shared.protocol import TaskAssigned, TextMessage
    from tests.mobile.test_presenters import SESSION

    api = Api("http://schakel.test", transport=httpx.MockTransport(lambda _: httpx.Response(503)))
    p = AppPresenter(
        AppConfig(server="http://schakel.test", device_id=3, device_secret="koppel", data_dir=tmp_path),
        api=api,
    )
    app = SchakelApp(p, NoGps())
    App._running_app = app
    for name in VIEWS:  # an earlier test built them: load the rules once, not twice
        Builder.unload_file(str(HERE / "views" / f"{name}.kv"))
    try:
        root = app.build()
        p.session = SESSION
        p.link = Link(p.api, p.outbox, SESSION)
        p.shift.began(5, "HH-13", [])
        p.on_shift_started()
        p._frame(TaskAssigned(task_id=9, incident_id=4, title="Overlast", priority=1))
        now = datetime.now(UTC)
        p._frame(TextMessage(message_id=4, text="Politie onderweg", sender="Meldkamer", sent_at=now))
        found = [w for w in walk(root) if type(w).__name__ == "TaskBanner"]
        banners = sorted(found, key=lambda b: b.index)
        assert [b.text for b in banners] == [
            "Bericht van Meldkamer: Politie onderweg",
            "Nieuwe taak: Overlast",
        ]
        for _ in range(4):
            p.tasks.advance(9)  # accepted … done: the task's notice goes, the message stays
        assert [b.text for b in banners] == ["Bericht van Meldkamer: Politie onderweg", ""]
        banners[0].dispatch("on_release")
        assert [b.text for b in banners] == ["", ""] and p.tab == "tasks"
        assert all(b.height == 0 for b in banners)
        p.tasks.start_decline(9)  # a finished task cannot be declined: the panel stays shut
        panel = next(w for w in walk(root) if type(w).__name__ == "DeclinePanel")
        assert panel.height == 0
    finally:
        app.dispatch("on_stop")
        App._running_app = None
        await p.close()
