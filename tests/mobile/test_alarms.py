"""The alarms a boa does not have to press, headless and with a clock the test turns (no sleeps): man-down
with and without "IK BEN OK", the check-in timer, the silent noodknop, "NIET aangekomen" after 10 s, the three
states of an alarm, and a colleague's alarm banner."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import msgspec
import pytest

from tests.mobile.conftest import KIVY_MISSING

pytest.importorskip("kivy", reason=KIVY_MISSING)

from mobile.api import Api  # noqa: E402
from mobile.i18n import t  # noqa: E402
from mobile.link import Link  # noqa: E402
from mobile.outbox import SILENT  # noqa: E402
from mobile.presenters.app import AppConfig, AppPresenter  # noqa: E402
from shared.protocol import Ack, AlertAcknowledged, AlertKind, ColleagueAlarm, field_decoder  # noqa: E402
from tests.mobile.test_presenters import SESSION, on_shift  # noqa: E402

UPRIGHT = (0.0, 9.81, 0.0)  # held upright in front of the chest
FLAT = (0.0, 0.0, 9.81)  # lying face up: 90 degrees from upright
START = datetime(2026, 12, 1, 9, 0, tzinfo=UTC).timestamp()


class FakeClock:
    def __init__(self) -> None:
        self.now = START

    def __call__(self) -> float:
        return self.now


def make_app(tmp_path: Path, clock: FakeClock, **config: Any) -> AppPresenter:
    transport = httpx.MockTransport(lambda request: httpx.Response(503))
    return AppPresenter(
        AppConfig(server="http://schakel.test", device_id=3, device_secret="k", data_dir=tmp_path, **config),
        api=Api("http://schakel.test", transport=transport),
        clock=clock,
    )


def frames(app: AppPresenter) -> list[dict[str, Any]]:
    return [json.loads(msgspec.json.encode(f)) for f in app.outbox.load().frames]


def ack_all(link: Link) -> None:
    link.client._handle(Ack(upto=link.client.next_seq - 1))


def run(app: AppPresenter, clock: FakeClock, seconds: float, pose: tuple[float, float, float] | None) -> None:
    """Let `seconds` pass in half-second steps; the accelerometer reads `pose` (None: no sensor samples)."""
    for _ in range(int(seconds * 2)):
        clock.now += 0.5
        if pose is not None:
            app.mandown.sample(*pose)
        app.tick()


class Sounds:
    def __init__(self, app: AppPresenter) -> None:
        self.played: list[str] = []
        app.mandown.bind(on_prealarm=lambda *_: self.played.append("prealarm"))
        app.mandown.bind(on_prealarm_end=lambda *_: self.played.append("prealarm_end"))
        app.checkin.bind(on_warning=lambda *_: self.played.append("checkin_warning"))
        app.colleagues.bind(on_alarm=lambda *_: self.played.append("colleague"))
        app.tasks.bind(on_alarm=lambda *_: self.played.append("task"))


# --- man-down ---------------------------------------------------------------------------------------------


def test_no_motion_while_alone_prealarms_and_ik_ben_ok_sends_nothing(tmp_path: Path) -> None:
    clock = FakeClock()
    app = make_app(tmp_path, clock)
    on_shift(app)
    sounds = Sounds(app)
    assert app.mandown.state == "off"  # in a duo: no watch
    app.checkin.start(30)
    assert app.mandown.state == "watching"
    run(app, clock, 29, UPRIGHT)  # perfectly still, not yet 30 s
    assert app.mandown.state == "watching"
    run(app, clock, 1.5, UPRIGHT)
    assert app.mandown.state == "prealarm" and app.mandown.trigger == "no_motion"
    assert sounds.played == ["prealarm"]
    assert "15 s" in app.mandown.prealarm_text
    run(app, clock, 10, UPRIGHT)
    assert app.mandown.state == "prealarm" and "5 s" in app.mandown.prealarm_text
    app.mandown.ok()  # one tap
    assert app.mandown.state == "watching" and sounds.played == ["prealarm", "prealarm_end"]
    run(app, clock, 10, UPRIGHT)
    assert [f["kind"] for f in frames(app)] == ["checkin"]  # no man_down
    assert app.noodknop.state == "idle"


def test_a_fall_not_cancelled_sends_man_down_through_the_outbox_and_its_three_states(tmp_path: Path) -> None:
    clock = FakeClock()
    app = make_app(tmp_path, clock)
    link = on_shift(app)
    app.location.fix(4.895, 52.375, accuracy_m=6)
    app.checkin.start(60)
    walking = [(0.0, 9.81, 0.0), (0.6, 9.5, 0.4)]
    for i in range(20):  # walking: motion, upright
        clock.now += 0.5
        app.mandown.sample(*walking[i % 2])
        app.tick()
    run(app, clock, 2.5, FLAT)  # fallen: flat, but not yet for 3 s
    assert app.mandown.state == "watching"
    run(app, clock, 1, FLAT)
    assert app.mandown.state == "prealarm" and app.mandown.trigger == "tilt"
    run(app, clock, 15, FLAT)
    assert app.mandown.state == "fired"
    sent = [f for f in frames(app) if f["kind"] == "man_down"]
    assert len(sent) == 1 and sent[0]["trigger"] == "tilt" and sent[0]["lat"] == 52.375
    assert app.outbox.has("man_down")  # durable before it is sent; resent until acknowledged
    nood = app.noodknop
    assert nood.state == "sending" and nood.kind == "man_down" and app.status.status == "emergency"
    assert nood.label.startswith("MAN-DOWN-MELDING\nVerzonden…")
    ack_all(link)
    assert nood.state == "confirmed"
    assert nood.label == "MAN-DOWN-MELDING\nOntvangen door het systeem — nog niet gezien door de meldkamer"
    at = datetime.fromtimestamp(clock.now, UTC)
    app._frame(AlertAcknowledged(alert_id=1, alert_kind=AlertKind.NOODKNOP, raised_at=at, by="X"))
    assert nood.state == "confirmed"  # a noodknop's acknowledgement is not this man-down's
    app._frame(
        AlertAcknowledged(alert_id=2, alert_kind=AlertKind.MAN_DOWN, raised_at=at, by="M. de Vries", at=at)
    )
    assert (
        nood.state == "seen"
        and nood.label == f"MAN-DOWN-MELDING\nGezien door\nM. de Vries\nom {at.astimezone():%H:%M}"
    )
    run(app, clock, 60, FLAT)  # still lying there: one alarm, not one a minute
    assert len([f for f in frames(app) if f["kind"] == "man_down"]) == 0  # acknowledged, gone from the outbox
    assert app.mandown.state == "fired"


def test_hulp_nu_in_the_prealarm_sends_man_down_at_once(tmp_path: Path) -> None:
    # the pre-alarm covers the noodknop: a boa in trouble must not have to wait out the countdown
    clock = FakeClock()
    app = make_app(tmp_path, clock)
    on_shift(app)
    app.checkin.start(30)
    walking = [(0.0, 9.81, 0.0), (0.6, 9.5, 0.4)]
    for i in range(20):  # walking upright: the detector learns what upright is
        clock.now += 0.5
        app.mandown.sample(*walking[i % 2])
        app.tick()
    run(app, clock, 3.5, FLAT)
    assert app.mandown.state == "prealarm"
    app.mandown.alarm_now()
    assert app.mandown.state == "fired"
    sent = [f for f in frames(app) if f["kind"] == "man_down"]
    assert len(sent) == 1 and sent[0]["trigger"] == "tilt"
    assert app.noodknop.kind == "man_down" and app.status.status == "emergency"
    run(app, clock, 20, FLAT)  # the countdown does not send a second one
    assert len([f for f in frames(app) if f["kind"] == "man_down"]) == 1


def test_man_down_pauses_in_a_vehicle_and_while_charging(tmp_path: Path) -> None:
    clock = FakeClock()
    app = make_app(tmp_path, clock)
    on_shift(app)
    app.checkin.start(30)
    app.location.fix(4.89, 52.37, speed_mps=12.0)  # driving
    assert app.mandown.state == "off" and app.mandown.status_text == t("mandown.paused.vehicle")
    run(app, clock, 60, FLAT)
    assert app.mandown.state == "off"
    run(app, clock, 70, UPRIGHT)  # parked two minutes: watching again
    assert app.mandown.state in ("watching", "prealarm")
    app.mandown.charging = True
    assert app.mandown.state == "off" and app.mandown.status_text == t("mandown.paused.charging")
    run(app, clock, 60, UPRIGHT)
    assert not [f for f in frames(app) if f["kind"] == "man_down"]


def test_touching_the_screen_is_motion_and_the_no_motion_time_is_configurable(tmp_path: Path) -> None:
    clock = FakeClock()
    app = make_app(tmp_path, clock, no_motion_s=60.0)
    on_shift(app)
    app.checkin.start(30)
    run(app, clock, 50, UPRIGHT)
    app.mandown.activity()  # writes a fine, holding the tablet still
    run(app, clock, 50, UPRIGHT)
    assert app.mandown.state == "watching"
    run(app, clock, 11, UPRIGHT)
    assert app.mandown.state == "prealarm"


# --- check-in timer ---------------------------------------------------------------------------------------


def test_checkin_timer_sends_next_due_warns_before_and_says_when_missed(tmp_path: Path) -> None:
    clock = FakeClock()
    app = make_app(tmp_path, clock, no_motion_s=0.0)
    on_shift(app)
    sounds = Sounds(app)
    app.checkin.start(15)
    start = datetime.fromtimestamp(START, UTC)
    checkins = [f for f in frames(app) if f["kind"] == "checkin"]
    assert [c["next_due"] for c in checkins] == [
        (start + timedelta(minutes=15)).isoformat().replace("+00:00", "Z")
    ]
    assert app.checkin.state == "running" and app.checkin.alone
    run(app, clock, 12 * 60, None)
    assert app.checkin.state == "running"
    run(app, clock, 60.5, None)  # 13 min in: 2 minutes left
    assert app.checkin.state == "warning" and sounds.played == ["checkin_warning"]
    assert "nog 2 min" in app.checkin.text
    run(app, clock, 2 * 60, None)
    assert app.checkin.state == "missed"
    assert app.checkin.text.startswith("Check-in gemist")  # the server raised checkin_missed meanwhile
    app.checkin.check_in()  # late, but alive: the timer starts over from now
    assert app.checkin.state == "running"
    due = [f["next_due"] for f in frames(app) if f["kind"] == "checkin"][-1]
    assert datetime.fromisoformat(due) == datetime.fromtimestamp(clock.now, UTC) + timedelta(minutes=15)
    again = make_app(tmp_path / "restart", clock)  # the timer survives a restart of the app
    state = app.saved_state()
    assert state is not None and state.checkin_due == app.checkin.due and state.checkin_minutes == 15
    again.checkin.restore(state.checkin_due, state.checkin_minutes)
    assert again.checkin.state == "running" and again.mandown.alone
    app.checkin.stop()  # back with the partner
    last = frames(app)[-1]
    assert last["kind"] == "checkin" and last["next_due"] is None
    assert app.checkin.state == "off" and app.mandown.state == "off"
    field_decoder.decode(msgspec.json.encode(app.outbox.load().frames[-1]))  # the server decodes it


# --- silent noodknop --------------------------------------------------------------------------------------


def test_silent_noodknop_sends_a_silent_frame_and_changes_nothing_on_screen(tmp_path: Path) -> None:
    clock = FakeClock()
    app = make_app(tmp_path, clock)
    on_shift(app)
    app.location.fix(4.895, 52.375, accuracy_m=5)
    sounds = Sounds(app)
    app._outbox_changed()
    visible = (
        app.noodknop.state,
        app.noodknop.label,
        app.status.status,
        app.status.headline,
        app.waiting,
        app.outbox_tab,
        app.link_text,
    )
    app.outbox_view.refresh()
    rows = list(app.outbox_view.rows)
    app.silent.press(0.0)
    app.silent.hold(2.0)
    app.silent.release(2.5)  # let go before 3 s: nothing
    assert not app.outbox.has(SILENT)
    app.silent.press(10.0)
    app.silent.hold(13.0)
    app.silent.hold(14.0)
    app.silent.release(15.0)  # one per hold
    sent = [f for f in frames(app) if f["kind"] == "noodknop"]
    assert len(sent) == 1 and sent[0]["silent"] is True and sent[0]["lat"] == 52.375
    assert app.outbox.has(SILENT) and not app.outbox.has("noodknop")
    app.outbox_view.refresh()
    after = (
        app.noodknop.state,
        app.noodknop.label,
        app.status.status,
        app.status.headline,
        app.waiting,
        app.outbox_tab,
        app.link_text,
    )
    assert after == visible and list(app.outbox_view.rows) == rows
    assert sounds.played == []  # no sound


# --- no network and the three states ----------------------------------------------------------------------


def test_noodknop_not_confirmed_in_10_s_says_niet_aangekomen_and_keeps_trying(tmp_path: Path) -> None:
    clock = FakeClock()
    app = make_app(tmp_path, clock)
    link = on_shift(app)
    kicks: list[float] = []
    link.kick = lambda: kicks.append(clock.now)  # type: ignore[method-assign]
    nood = app.noodknop
    nood.press(0.0)
    nood.release(1.6)
    assert (
        nood.state == "sending" and nood.label == "NOODMELDING\nVerzonden…\ngeen verbinding — blijft proberen"
    )
    run(app, clock, 9.5, None)
    assert not nood.not_arrived
    run(app, clock, 0.5, None)
    assert nood.not_arrived
    assert nood.label.startswith("Noodmelding NIET aangekomen — gebruik portofoon of bel 112")
    run(app, clock, 20, None)
    assert len(kicks) >= 5  # reconnects every 5 s rather than waiting for the backoff
    assert app.outbox.has("noodknop")  # still there, still being sent
    ack_all(link)  # the network is back and the server stored it
    assert nood.state == "confirmed" and not nood.not_arrived
    assert "Ontvangen door het systeem" in nood.label


def test_the_three_states_differ_in_text_and_nothing_says_u(tmp_path: Path) -> None:
    clock = FakeClock()
    app = make_app(tmp_path, clock)
    link = on_shift(app)
    link.state = "online"
    app.noodknop.refresh()
    app.noodknop.press(0.0)
    app.noodknop.release(1.6)
    labels = [app.noodknop.label]
    ack_all(link)
    labels.append(app.noodknop.label)
    at = datetime.fromtimestamp(clock.now, UTC)
    app._frame(AlertAcknowledged(alert_id=1, raised_at=at, by="Operator Jansen", at=at))
    labels.append(app.noodknop.label)
    assert labels == [
        "NOODMELDING\nVerzonden…",
        "NOODMELDING\nOntvangen door het systeem — nog niet gezien door de meldkamer",
        f"NOODMELDING\nGezien door\nOperator Jansen\nom {at.astimezone():%H:%M}",
    ]
    from mobile import i18n

    for key, text in i18n._table.items():
        words = text.lower().replace("\n", " ").split()
        assert "u" not in words and "uw" not in words, key  # one form of address: je


# --- a colleague's alarm ----------------------------------------------------------------------------------


def colleague(alert_id: int, **kw: Any) -> ColleagueAlarm:
    base: dict[str, Any] = {
        "alert_id": alert_id,
        "alert_kind": AlertKind.NOODKNOP,
        "call_sign": "HH-04",
        "at": datetime(2026, 12, 1, 9, alert_id, tzinfo=UTC),
        "lon": 4.896,
        "lat": 52.376,
        "distance_m": 420.0,
    }
    return ColleagueAlarm(**(base | kw))


def test_colleague_alarm_banners_stack_show_on_the_map_and_clear_when_resolved(tmp_path: Path) -> None:
    clock = FakeClock()
    app = make_app(tmp_path, clock)
    on_shift(app)
    app.location.fix(4.895, 52.375)
    app.map.layout(800, 600)
    sounds = Sounds(app)
    app._frame(colleague(1))
    assert [b["text"] for b in app.colleagues.banners] == [
        "Collega HH-04: noodmelding, 420 m — meldkamer heeft nog niet gereageerd"
    ]
    assert len(app.map.colleague_markers) == 1 and sounds.played == ["colleague"]
    app._frame(colleague(1, escalation_level=2))  # the same alarm escalated further: still one banner
    assert len(app.colleagues.banners) == 1 and sounds.played == ["colleague"]
    app._frame(
        colleague(2, alert_kind=AlertKind.MAN_DOWN, call_sign="HH-07", distance_m=1530.0, lon=None, lat=None)
    )
    app._frame(colleague(3, alert_kind=AlertKind.CHECKIN_MISSED, call_sign="HH-09", distance_m=None))
    app._frame(colleague(4, call_sign="HH-11"))
    texts = [b["text"] for b in app.colleagues.banners]
    assert texts[0].startswith("Collega HH-11: noodmelding") and len(texts) == 3  # newest first, at most 3
    assert "Collega HH-09: check-in gemist — meldkamer" in texts[1]
    assert "Collega HH-07: man-down, 1,5 km — " in texts[2]
    assert app.colleagues.more == "+ 1 meer"
    assert len(app.map.colleague_markers) == 3  # HH-07 sent no position
    for x, y in app.map.colleague_markers:  # the map frames them: all in view
        assert 0 <= x <= 800 and 0 <= y <= 600
    for alert_id in (4, 1, 3):
        app._frame(colleague(alert_id, resolved=True))
    assert [b["text"][:13] for b in app.colleagues.banners] == ["Collega HH-07"] and app.colleagues.more == ""
    assert app.map.colleague_markers == []
    app._frame(colleague(2, resolved=True))
    assert app.colleagues.banners == [] and app.noodknop.state == "idle"  # the own noodknop is untouched


def test_unlinked_tablet_sends_no_alarm_frames(tmp_path: Path) -> None:
    clock = FakeClock()
    app = make_app(tmp_path, clock)
    app.session = SESSION
    app.checkin.start(15)
    app.silent.press(0.0)
    app.silent.release(4.0)
    assert app.outbox.count() == 0 and not app.checkin.alone


def test_no_sensor_is_no_no_motion_alarm(tmp_path: Path) -> None:
    clock = FakeClock()
    app = make_app(tmp_path, clock)
    on_shift(app)
    app.checkin.start(30)
    run(app, clock, 120, None)  # a desktop without a sensor, or one that died: silence is not stillness
    assert app.mandown.state == "watching"


def test_ik_ben_ok_with_the_tablet_on_the_ground_then_picking_it_up_is_no_new_prealarm(
    tmp_path: Path,
) -> None:
    clock = FakeClock()
    app = make_app(tmp_path, clock)
    on_shift(app)
    app.checkin.start(30)
    run(app, clock, 1, UPRIGHT)
    run(app, clock, 4, FLAT)  # dropped it
    assert app.mandown.state == "prealarm"
    app.mandown.ok()  # taps OK with the tablet still on the ground
    run(app, clock, 2, FLAT)
    walking = [(0.0, 9.81, 0.0), (0.6, 9.5, 0.4)]
    for i in range(60):  # picks it up and walks on
        clock.now += 0.5
        app.mandown.sample(*walking[i % 2])
        app.tick()
    assert app.mandown.state == "watching"
    run(app, clock, 4, FLAT)  # and a real fall later is still seen
    assert app.mandown.state == "prealarm"
