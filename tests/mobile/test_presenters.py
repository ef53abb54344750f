"""Presenters without a window and without a server: what the boa taps becomes the right outbox items."""

from __future__ import annotations

import asyncio
import itertools
import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import msgspec
import pytest

from tests.mobile.conftest import KIVY_MISSING

pytest.importorskip("kivy", reason=KIVY_MISSING)

from mobile.api import Api, Session  # noqa: E402
from mobile.link import Link  # noqa: E402
from mobile.outbox import Outbox  # noqa: E402
from mobile.presenters.app import AppConfig, AppPresenter  # noqa: E402
from shared.http import ErrorBody  # noqa: E402
from shared.protocol import (  # noqa: E402
    Ack,
    AlertAcknowledged,
    AlertKind,
    Error,
    TaskAssigned,
    TaskCancelled,
    TextMessage,
)
from shared.registrations import decode_submission  # noqa: E402

BEAT = {
    "type": "Polygon",
    "coordinates": [[[4.89, 52.37], [4.90, 52.37], [4.90, 52.38], [4.89, 52.38], [4.89, 52.37]]],
}
SESSION = Session(
    access_token="a",
    refresh_token="r",
    expires_in=900,
    account_id=7,
    org_id=1,
    role="boa",
    display_name="Boa 07",
    device_id=3,
    obtained_at=1e12,
)


def refusal(status: int, code: str, detail: str, field: str | None = None) -> httpx.Response:
    """An error answer as the backend sends it (``shared.http.ErrorBody``)."""
    body = ErrorBody(status_code=status, code=code, detail=detail, field=field)
    return httpx.Response(status, content=msgspec.json.encode(body))


def make_app(tmp_path: Path, handler: Any = None) -> AppPresenter:
    transport = httpx.MockTransport(handler or (lambda request: httpx.Response(503)))
    app = AppPresenter(
        AppConfig(server="http://schakel.test", device_id=3, device_secret="koppel", data_dir=tmp_path),
        api=Api("http://schakel.test", transport=transport),
    )
    return app


def on_shift(app: AppPresenter) -> Link:
    """An unstarted link (offline) and an open shift on beat 11."""
    app.session = SESSION
    app.link = Link(app.api, app.outbox, SESSION)
    app.map.set_beats({"features": [{"id": 11, "properties": {"name": "Burgwallen"}, "geometry": BEAT}]})
    app.shift.began(5, "HH-01", [11])
    app.on_shift_started()
    return app.link


def frames(app: AppPresenter) -> list[dict[str, Any]]:
    return [json.loads(msgspec.json.encode(f)) for f in app.outbox.load().frames]


def ack_all(link: Link) -> None:
    link.client._handle(Ack(upto=link.client.next_seq - 1))


def test_status_tap_queues_the_status_and_shows_it_unsent_until_acknowledged(tmp_path: Path) -> None:
    app = make_app(tmp_path)
    link = on_shift(app)
    assert app.status.status == "available"
    app.status.choose("busy")
    assert app.status.label == "Bezet" and app.status.unsent
    assert [(f["kind"], f["status"]) for f in frames(app)] == [("status", "busy")]
    ack_all(link)
    assert not app.status.unsent and app.outbox.count() == 0


def test_status_is_not_sent_off_shift(tmp_path: Path) -> None:
    app = make_app(tmp_path)
    app.link = Link(app.api, app.outbox, SESSION)
    app.status.choose("busy")
    assert app.outbox.count() == 0


def test_noodknop_needs_a_full_hold_and_shows_when_the_meldkamer_has_it(tmp_path: Path) -> None:
    app = make_app(tmp_path)
    link = on_shift(app)
    app.location.fix(4.895, 52.375, accuracy_m=5)
    nood = app.noodknop
    nood.press(100.0)
    nood.hold(100.7)
    assert nood.state == "holding" and nood.progress == pytest.approx(0.7 / 1.5)
    nood.release(101.0)  # let go after one second: an accidental touch sends nothing
    assert nood.state == "idle" and not app.outbox.has("noodknop")
    nood.press(200.0)
    nood.hold(201.5)
    assert nood.state == "sending"
    assert "geen verbinding" in nood.label  # offline: the boa sees it is not there yet
    sent = [f for f in frames(app) if f["kind"] == "noodknop"]
    assert len(sent) == 1 and sent[0]["lon"] == 4.895 and sent[0]["lat"] == 52.375
    assert app.status.status == "emergency"
    ack_all(link)
    assert nood.state == "confirmed"
    assert nood.label == "NOODMELDING\nOntvangen door het systeem — nog niet gezien door de meldkamer"
    nood.reset()
    assert nood.state == "idle"


def test_noodknop_refused_by_the_server_is_never_shown_as_confirmed(tmp_path: Path) -> None:
    app = make_app(tmp_path)
    link = on_shift(app)
    app.noodknop.press(0.0)
    app.noodknop.release(2.0)
    seq = link.client.next_seq - 1
    link.client._handle(Error(code="bad_frame", message="kapot", seq=seq))
    link.client._handle(Ack(upto=seq))
    assert app.noodknop.state == "sending"


def test_an_unconfirmed_noodknop_is_shown_again_after_a_restart(tmp_path: Path) -> None:
    app = make_app(tmp_path)
    on_shift(app)
    app.noodknop.press(0.0)
    app.noodknop.release(1.6)
    app.outbox.close()
    again = make_app(tmp_path)
    assert again.noodknop.state == "sending"


def test_positions_only_on_shift_throttled_and_late_when_offline(tmp_path: Path) -> None:
    app = make_app(tmp_path)
    app.location.fix(4.895, 52.375, at=datetime(2026, 1, 1, 12, 0, tzinfo=UTC))
    assert app.outbox.count() == 0  # no shift: not tracked
    on_shift(app)
    t0 = datetime(2026, 1, 1, 12, 0, 0, tzinfo=UTC)
    app.location.fix(4.895, 52.375, at=t0)
    app.location.fix(4.89501, 52.375, at=t0.replace(second=2))  # 1 m and 2 s later: skipped
    app.location.fix(4.89501, 52.375, at=t0.replace(second=6))  # interval passed
    app.location.fix(4.8960, 52.3755, at=t0.replace(second=7))  # 80 m moved
    sent = [f for f in frames(app) if f["kind"] == "position"]
    assert len(sent) == 3 and all(f["late"] for f in sent)


def test_a_task_alarms_once_and_steps_through_with_the_status(tmp_path: Path) -> None:
    app = make_app(tmp_path)
    on_shift(app)
    alarms: list[int] = []
    app.tasks.bind(on_alarm=lambda _, priority: alarms.append(priority))
    task = TaskAssigned(task_id=9, incident_id=4, title="Overlast jongeren", priority=1, address="Dam 1")
    app.tasks.received(task)
    app.tasks.received(task)  # sent again after a reconnect
    assert alarms == [1] and len(app.tasks.rows) == 1
    assert app.tasks.rows[0]["action"] == "Accepteren" and app.tasks.rows[0]["urgent"]
    for _ in range(4):
        app.tasks.advance(9)
    app.tasks.advance(9)  # done: nothing further
    updates = [f["state"] for f in frames(app) if f["kind"] == "task_update"]
    assert updates == ["accepted", "en_route", "on_scene", "done"]
    statuses = [f["status"] for f in frames(app) if f["kind"] == "status"]
    assert statuses == ["en_route", "on_scene", "available"]
    assert app.tasks.rows[0]["closed"] and app.tasks.open_count == 0
    app.tasks.received(TaskAssigned(task_id=10, incident_id=5, title="Fietsen", priority=3))
    app.tasks.received(TaskCancelled(task_id=10, reason="opgelost"))
    assert app.tasks.open_count == 0 and "Ingetrokken" in app.tasks.banner


def test_a_message_sent_again_is_shown_and_answered_once(tmp_path: Path) -> None:
    app = make_app(tmp_path)
    on_shift(app)
    alarms: list[int] = []
    app.tasks.bind(on_alarm=lambda _, priority: alarms.append(priority))
    now = datetime.now(UTC)
    message = TextMessage(message_id=4, text="Bel de meldkamer", sender="Meldkamer", sent_at=now)
    app._frame(message)
    app._frame(message)  # sent again after a reconnect, before our message_read was durable
    assert [r["text"] for r in app.tasks.message_rows] == ["Bel de meldkamer"]
    assert [f["message_id"] for f in frames(app) if f["kind"] == "message_read"] == [4]
    assert alarms == [3] and app.tasks.banner == "Bericht van Meldkamer: Bel de meldkamer"
    app.tasks.open_from_banner()
    assert app.tasks.banner == "" and app.tasks.message_rows and app.tab == "tasks"


def test_tasks_and_messages_survive_a_restart_and_a_resend_does_not_bring_a_task_back(tmp_path: Path) -> None:
    app = make_app(tmp_path)
    on_shift(app)
    app.tasks.received(TaskAssigned(task_id=9, incident_id=4, title="Overlast", priority=2))
    app.tasks.received(TaskAssigned(task_id=10, incident_id=5, title="Fietsen", priority=3))
    app.tasks.received(TaskCancelled(task_id=10, reason="opgelost"))
    app.tasks.advance(9)  # accepted: the server will not send it again
    now = datetime.now(UTC)
    app.tasks.received(TextMessage(message_id=4, text="Bel even", sender="Meldkamer", sent_at=now))
    again = make_app(tmp_path)  # the app restarted (same data dir)
    state = again.saved_state()
    assert state is not None
    again.tasks.restore(state)
    assert [(r["task_id"], r["state"]) for r in again.tasks.rows] == [
        (9, "Geaccepteerd"),
        (10, "Ingetrokken  —  reden: opgelost"),
    ]
    assert [r["text"] for r in again.tasks.message_rows] == ["Bel even"] and again.tasks.open_count == 1
    alarms: list[int] = []
    again.tasks.bind(on_alarm=lambda _, priority: alarms.append(priority))
    again.tasks.received(TaskAssigned(task_id=9, incident_id=4, title="Overlast", priority=2))
    assert again.tasks.rows[0]["state"] == "Geaccepteerd" and alarms == []
    on_shift(again)
    again.on_shift_ended()  # finished tasks and the messages go; the open task stays
    assert [r["task_id"] for r in again.tasks.rows] == [9] and again.tasks.message_rows == []


def test_noodknop_seen_answers_only_the_press_on_screen(tmp_path: Path) -> None:
    app = make_app(tmp_path)
    link = on_shift(app)
    nood = app.noodknop
    seen = AlertAcknowledged(alert_id=1, raised_at=datetime(2020, 1, 1, tzinfo=UTC), by="M. de Vries")
    app._frame(seen)
    assert nood.state == "idle"  # nothing pressed: nothing to answer
    nood.press(0.0)
    nood.release(1.6)
    ack_all(link)
    assert nood.state == "confirmed"
    app._frame(seen)  # an earlier noodknop's acknowledgement
    assert nood.state == "confirmed"
    app._frame(AlertAcknowledged(alert_id=2, alert_kind=AlertKind.ASSISTANCE, raised_at=datetime.now(UTC)))
    assert nood.state == "confirmed"
    now = datetime.now(UTC)
    app._frame(AlertAcknowledged(alert_id=3, raised_at=now, by="M. de Vries", at=now))
    assert nood.state == "seen"
    assert nood.label == f"NOODMELDING\nGezien door\nM. de Vries\nom {now.astimezone():%H:%M}"
    again = make_app(tmp_path)  # restarted before the boa closed it: it is on screen again
    state = again.saved_state()
    assert state is not None and state.noodknop_at is not None
    again.noodknop.restore(state.noodknop_at)
    assert again.noodknop.state == "confirmed"
    nood.reset()
    assert nood.state == "idle" and nood.label == "NOODKNOP\nvasthouden"
    state = make_app(tmp_path).saved_state()
    assert state is not None and state.noodknop_at is None


def test_fine_needs_feitcode_and_offender_then_queues_photo_before_registration(tmp_path: Path) -> None:
    app = make_app(tmp_path)
    on_shift(app)
    reg = app.register
    reg.choose_kind("fine")
    assert not reg.save() and reg.error.startswith("Nog geen GPS-positie")  # place is filled in, not typed
    app.location.fix(4.895, 52.375, accuracy_m=6)
    assert not reg.save() and reg.error == "Kies een feitcode"
    reg.query = "hond"
    assert reg.results
    reg.choose_feitcode(reg.results[0]["code"])
    reg.offender_name, reg.offender_birth = "J. Jansen", "31-02-1990"
    assert not reg.save() and reg.error == "Geboortedatum als dd-mm-jjjj"
    reg.offender_birth = "28-02-1990"
    reg.id_type, reg.id_number = "rijbewijs", "56-12 34567"
    reg.street, reg.house_number, reg.postcode, reg.city = "Dam", "1a", "1012 js", "Amsterdam"
    photo = tmp_path / "bewijs.jpg"
    photo.write_bytes(b"\xff\xd8jpeg")
    reg.add_photo(str(photo))
    code = reg.feitcode
    assert reg.save() and reg.saved == "Opgeslagen — wordt verzonden"
    items = [i for i in app.outbox.items() if i.channel == "http"]
    assert [i.kind for i in items] == ["photo", "registration"]
    item, _ = app.outbox.next_request()
    assert (
        item is not None and item.path == f"/api/photos/{items[0].key}" and item.content_type == "image/jpeg"
    )
    app.outbox.request_done(item.id)
    item, _ = app.outbox.next_request()
    assert item is not None and item.method == "POST" and item.path == "/api/registrations"
    body = json.loads(item.body)
    assert body["id"] == item.key and body["kind"] == "fine" and body["feitcode"] == code
    assert body["offender"] == {
        "name": "J. Jansen",
        "birth_date": "1990-02-28",
        "id_document_type": "rijbewijs",
        "id_document_number": "561234567",
        "address": {"street": "Dam", "house_number": "1a", "postcode": "1012 JS", "city": "Amsterdam"},
    }
    assert body["location"] == {"lon": 4.895, "lat": 52.375, "accuracy_m": 6.0} and body["photos"] == [
        items[0].key
    ]
    assert reg.feitcode == "" and reg.recent[0] == code  # cleared for the next one; recent first next time
    assert_server_accepts(item.body)


def assert_server_accepts(body: bytes) -> None:
    """The server's own decoder (shared with the tablet) must accept what we send."""
    decode_submission(body)


def test_feitcodes_that_apply_here_come_first(tmp_path: Path) -> None:
    app = make_app(tmp_path)
    reg = app.register
    reg.here = frozenset({"alcohol"})
    reg.search()
    assert reg.results[0]["text"].startswith("● hier")
    reg.query = "bf185"  # a code typed loosely finds that code first
    assert reg.results[0]["code"] == "BF 185"


def test_waarneming_needs_a_category_and_goes_out_with_it(tmp_path: Path) -> None:
    app = make_app(tmp_path)
    on_shift(app)
    app.location.fix(4.895, 52.375)
    reg = app.register
    reg.choose_kind("waarneming")
    reg.use_categories(["afval", "honden", "eigen_code"])
    assert [r["text"] for r in reg.category_rows] == ["Afval", "Honden", "Eigen code"]
    assert not reg.save() and reg.error == "Kies de soort waarneming"
    reg.category = "afval"
    assert [r["chosen"] for r in reg.category_rows] == [True, False, False]
    reg.text = "Bankstel naast container"
    assert reg.save()
    item, _ = app.outbox.next_request()
    assert item is not None
    body = json.loads(item.body)
    assert (
        body["kind"] == "waarneming"
        and body["category"] == "afval"
        and body["text"] == "Bankstel naast container"
    )
    assert_server_accepts(item.body)


def test_aggression_incident_in_three_taps(tmp_path: Path) -> None:
    app = make_app(tmp_path)
    on_shift(app)
    app.location.fix(4.895, 52.375)
    reg = app.register
    reg.choose_kind("aggression")
    assert not reg.save() and reg.error == "Kies de soort agressie"
    reg.toggle_type("bedreiging")
    reg.toggle_type("verbaal")
    reg.toggle_type("verbaal")
    assert reg.save()
    item, _ = app.outbox.next_request()
    assert item is not None
    body = json.loads(item.body)
    assert body["types"] == ["bedreiging"] and body["severity"] == "middel" and body["occurred_at"]
    assert body["staff"] == [{"role": "boa", "account_id": 7}]
    assert_server_accepts(item.body)


def test_outbox_screen_shows_why_a_request_failed_and_allows_retry_and_discard(tmp_path: Path) -> None:
    app = make_app(tmp_path)
    link = on_shift(app)
    for i in range(3):
        app.location.fix(4.895 + i * 0.001, 52.375, at=datetime(2026, 1, 1, 12, 0, i * 10, tzinfo=UTC))
    app.register.choose_kind("waarneming")
    app.register.category = "overig"
    app.register.text = "Fietswrak bij brug"
    assert app.register.save()
    item, _ = app.outbox.next_request()
    assert item is not None
    app.outbox.request_failed(item.id, "422 feitcode onbekend")
    app.tab = "outbox"
    rows = app.outbox_view.rows
    assert rows[0]["failed"] and rows[0]["reason"] == "Reden: 422 feitcode onbekend"
    assert any(r["title"] == "3 posities wachten" for r in rows)
    app.outbox_view.retry(rows[0]["item_id"])
    assert app.outbox_view.failed == 0
    item, _ = app.outbox.next_request()
    assert item is not None
    app.outbox.request_failed(item.id, "422 nee")
    app.outbox_view.discard(item.id)
    assert not app.outbox.has("registration", failed=True)
    ack_all(link)
    assert app.outbox_view.rows == [] and app.outbox_view.summary == "Alles is verzonden"


def test_map_fits_the_beat_and_the_position_inside_the_widget(tmp_path: Path) -> None:
    app = make_app(tmp_path)
    on_shift(app)
    app.map.layout(800, 600)
    (ring,) = app.map.lines
    xs, ys = ring[0::2], ring[1::2]
    assert 0 <= min(xs) < max(xs) <= 800 and 0 <= min(ys) < max(ys) <= 600
    assert app.map.caption == "Burgwallen"
    app.location.fix(4.895, 52.375)
    x, y = app.map.marker
    assert min(xs) < x < max(xs) and min(ys) < y < max(ys)


async def test_login_shows_the_reason_in_dutch_and_refuses_non_boa_accounts(tmp_path: Path) -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        body = json.loads(request.content)
        if body["password"] != "goed":
            return refusal(401, "unauthorized", "unknown username or wrong password")
        return httpx.Response(200, json={**msgspec.to_builtins(SESSION), "role": "operator"})

    app = make_app(tmp_path, handler)
    app.login.username, app.login.password, app.login.device_id = "boa01", "fout", "3"
    assert not await app.login.login()
    assert app.login.error == "Inloggen mislukt: onbekende gebruikersnaam of verkeerd wachtwoord"
    app.login.password = "goed"
    assert not await app.login.login()
    assert app.login.error == "Dit account is geen boa-account." and app.screen == "login"
    await app.close()


async def test_requests_wait_out_a_server_failure_and_keep_their_order(tmp_path: Path) -> None:
    seen: list[str] = []
    fail = {"n": 1}

    def handler(request: httpx.Request) -> httpx.Response:
        if request.url.path.startswith("/api/registrations") and fail["n"]:
            fail["n"] -= 1
            return httpx.Response(503)
        seen.append(f"{request.method} {request.url.path}")
        if request.url.path == "/api/photos/dup":
            return httpx.Response(200)  # the server has this photo already
        if json.loads(request.content or b"{}").get("conflict"):
            return refusal(409, "conflict", "dit id hoort bij een andere registratie", "text")
        if json.loads(request.content or b"{}").get("bad"):
            return refusal(422, "bad_input", "kind is unknown", "kind")
        return httpx.Response(201)

    ticks = itertools.count(0.0, 200.0)  # every look at the clock is 200 s later: backoffs pass at once
    outbox = Outbox(tmp_path / "o.sqlite", clock=lambda: next(ticks))
    api = Api("http://schakel.test", transport=httpx.MockTransport(handler))
    outbox.add_request(kind="registration", key="r1", method="POST", path="/api/registrations", body=b"{}")
    outbox.add_request(kind="photo", key="dup", method="PUT", path="/api/photos/dup", body=b"x")
    outbox.add_request(
        kind="registration", key="r2", method="POST", path="/api/registrations", body=b'{"bad": true}'
    )
    assert not outbox.add_request(kind="registration", key="r1", method="POST", path="/x", body=b"{}")
    link = Link(api, outbox, SESSION)
    changed = asyncio.Event()
    outbox.listeners.append(changed.set)
    link._tasks = [asyncio.create_task(link._request_loop())]
    try:
        async with asyncio.timeout(5):
            while outbox.count(state="failed") == 0 or outbox.count(state="pending"):
                changed.clear()
                await changed.wait()
    finally:
        await link.stop()
        await api.close()
    assert seen == ["POST /api/registrations", "PUT /api/photos/dup", "POST /api/registrations"]
    (failed,) = outbox.items()
    # the server's English reason does not reach the boa: what the refusal means, in Dutch
    assert failed.key == "r2" and failed.reason == "422 geweigerd door de server (kind)"


async def test_a_conflicting_registration_id_is_shown_as_failed_not_as_sent(tmp_path: Path) -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        return refusal(409, "conflict", "dit id hoort bij een andere registratie", "text")

    outbox = Outbox(tmp_path / "o.sqlite")
    api = Api("http://schakel.test", transport=httpx.MockTransport(handler))
    outbox.add_request(kind="registration", key="r1", method="POST", path="/api/registrations", body=b"{}")
    link = Link(api, outbox, SESSION)
    changed = asyncio.Event()
    outbox.listeners.append(changed.set)
    link._tasks = [asyncio.create_task(link._request_loop())]
    try:
        async with asyncio.timeout(5):
            while not outbox.count(state="failed"):
                changed.clear()
                await changed.wait()
    finally:
        await link.stop()
        await api.close()
    assert outbox.items()[0].reason.startswith("409 dit id hoort bij een andere registratie")


def test_ending_a_shift_takes_a_second_tap(tmp_path: Path) -> None:
    app = make_app(tmp_path)
    on_shift(app)
    app.shift.end()
    assert app.shift.confirm_end and app.shift.active and app.shift.end_label.startswith("Nogmaals")


def test_a_tap_on_the_confirmed_noodknop_closes_it_and_a_hold_sends_again(tmp_path: Path) -> None:
    app = make_app(tmp_path)
    link = on_shift(app)
    app.noodknop.press(0.0)
    app.noodknop.release(1.5)
    ack_all(link)
    assert app.noodknop.state == "confirmed"
    app.noodknop.press(10.0)
    app.noodknop.release(10.2)
    assert app.noodknop.state == "idle" and app.outbox.count() == 0
    app.noodknop.press(20.0)
    app.noodknop.release(21.6)
    assert app.noodknop.state == "sending" and app.outbox.has("noodknop")


async def test_a_refused_session_goes_back_to_login_and_keeps_the_outbox(tmp_path: Path) -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        return refusal(401, "unauthorized", "refresh token unknown, expired or revoked", "refresh_token")

    app = make_app(tmp_path, handler)
    on_shift(app)
    app.status.choose("busy")
    expired = msgspec.structs.replace(SESSION, obtained_at=1.0)  # long ago: the link must refresh first
    await app.signed_in(expired, load=False)
    changed = asyncio.Event()
    app.bind(screen=lambda *_: changed.set())
    async with asyncio.timeout(5):
        while app.screen != "login":
            changed.clear()
            await changed.wait()
    assert "de sessie is verlopen" in app.login.error
    assert app.outbox.has("status") and app.shift.active
    await app.close()


def test_map_tiles_cover_the_widget_when_online_and_configured(tmp_path: Path) -> None:
    app = make_app(tmp_path)
    on_shift(app)
    app.map.tiles_url = "https://tiles.example/{z}/{x}/{y}.png"
    app.map.layout(800, 600)
    assert app.map.tiles == []  # offline: the polygons alone
    app.online = True
    tiles = app.map.tiles
    assert tiles and all(url.startswith("https://tiles.example/") for *_, url in tiles)
    left = min(x for x, *_ in tiles)
    right = max(x + w for x, _, w, *_ in tiles)
    bottom = min(y for _, y, *_ in tiles)
    top = max(y + h for _, y, _, h, _ in tiles)
    assert left <= 0 and right >= 800 and bottom <= 0 and top >= 600
    assert all(128 < w <= 256 for _, _, w, _, _ in tiles)  # never blown up beyond their 256 px


async def test_two_loops_wanting_a_fresh_token_refresh_it_once(tmp_path: Path) -> None:
    calls: list[str] = []

    def handler(request: httpx.Request) -> httpx.Response:
        token = json.loads(request.content)["refresh_token"]
        calls.append(token)
        if token != "r":  # rotated: the old refresh token is no longer valid
            return refusal(401, "unauthorized", "refresh token unknown, expired or revoked", "refresh_token")
        return httpx.Response(
            200, json={**msgspec.to_builtins(SESSION), "access_token": "a2", "refresh_token": "r2"}
        )

    app = make_app(tmp_path, handler)
    link = Link(app.api, app.outbox, msgspec.structs.replace(SESSION, obtained_at=1.0))
    # both loops find it expired, and a request was just refused with it
    await asyncio.gather(link._fresh_token(), link._fresh_token(), link._fresh_token(refused="a"))
    assert calls == ["r"] and link.session.access_token == "a2" and link.session.refresh_token == "r2"
    await app.close()


def test_feitcode_rows_show_what_differs_in_two_lines(tmp_path: Path) -> None:
    app = make_app(tmp_path)
    app.register.query = "hond"
    texts = [r["text"] for r in app.register.results]
    assert len(texts) > 1 and all(len(t.split("   ", 1)[1]) <= 88 for t in texts)
    assert texts[0].endswith("… gelegen binnen de bebouwde kom zonder dat de hond is aangelijnd")
    assert len(set(texts)) == len(texts)


def test_a_refused_frame_is_kept_visible_and_retried_under_a_new_seq(tmp_path: Path) -> None:
    app = make_app(tmp_path)
    link = on_shift(app)
    app.status.choose("busy")
    seq = link.client.next_seq - 1
    link.client._handle(Error(code="bad_frame", message="status onbekend", seq=seq))
    app.tab = "outbox"
    (row,) = app.outbox_view.rows
    assert row["failed"] and row["reason"] == "Reden: bad_frame: status onbekend"
    assert not link.client.unacked  # not resent by itself
    app.outbox_view.retry(row["item_id"])
    (again,) = frames(app)
    assert again["kind"] == "status" and again["status"] == "busy" and again["seq"] == seq + 1
    assert app.outbox_view.failed == 0


async def test_a_restart_mid_shift_comes_back_on_duty_with_its_outbox(tmp_path: Path) -> None:
    app = make_app(tmp_path)
    on_shift(app)
    app.status.choose("busy")
    app._save()
    app.outbox.close()
    again = make_app(tmp_path)  # the server is unreachable (503): the app still comes back as it was
    await again.resume()
    try:
        assert again.screen == "duty" and again.shift.active and again.shift.call_sign == "HH-01"
        assert again.shift.shift_id == 5 and again.session is not None and again.session.account_id == 7
        assert again.status.unsent and again.outbox.has("status") and again.status.label == "Bezet"
    finally:
        await again.close()


def test_the_duo_partner_shows_on_the_map_where_the_server_says(tmp_path: Path) -> None:
    from shared.protocol import PartnerFix, PartnerPositions

    app = make_app(tmp_path)
    on_shift(app)
    app.map.layout(800, 600)
    (ring,) = app.map.lines
    xs, ys = ring[0::2], ring[1::2]
    app._frame(PartnerPositions(fixes=[PartnerFix(device_id=9, lon=4.895, lat=52.375, at=datetime.now(UTC))]))
    ((x, y),) = app.map.partner_markers
    assert min(xs) < x < max(xs) and min(ys) < y < max(ys)
    app._frame(PartnerPositions(fixes=[]))  # no current partner fix: the marker goes
    assert app.map.partner_markers == []


class RecordingSender:
    """A FrameSender that keeps what the presenters send, for a presenter built on its own."""

    def __init__(self, *, linked: bool = True) -> None:
        self.linked, self.online = linked, False
        self.sent: list[tuple[str, Any]] = []

    def status(self, status: Any, at: datetime) -> None:
        self.sent.append(("status", status))

    def noodknop(self, at: datetime, lon: float | None, lat: float | None) -> None:
        self.sent.append(("noodknop", (lon, lat)))

    def position(self, lon: float, lat: float, at: datetime, **_: Any) -> None:
        self.sent.append(("position", (lon, lat)))

    def task_update(self, task_id: int, state: Any, at: datetime, note: str = "") -> None:
        self.sent.append(("task_update", (state, note)) if note else ("task_update", state))

    def message_read(self, message_id: int, at: datetime) -> None:
        self.sent.append(("message_read", message_id))

    def requeue(self, frame: Any) -> None:
        self.sent.append(("requeue", frame))

    def kick(self) -> None:
        self.sent.append(("kick", None))


def test_a_presenter_is_built_from_its_collaborators_alone() -> None:
    """No AppPresenter: the tasks presenter with a recording sender and callbacks for what it tells others."""
    from mobile.presenters.tasks import TasksPresenter

    sender = RecordingSender()
    statuses: list[str] = []
    saves: list[int] = []
    shown: list[int] = []
    tasks = TasksPresenter(
        sender, save=lambda: saves.append(1), choose_status=statuses.append, show=lambda: shown.append(1)
    )
    tasks.received(TaskAssigned(task_id=9, incident_id=4, title="Overlast", priority=2))
    assert tasks.title == "Taken van de meldkamer" and tasks.rows[0]["heading"].endswith("·  Overlast")
    tasks.advance(9)
    tasks.advance(9)
    assert [s for kind, s in sender.sent if kind == "task_update"] == ["accepted", "en_route"]
    assert statuses == ["en_route"] and len(saves) == 3
    tasks.open_from_banner()
    assert shown == [1]


def test_no_presenter_imports_the_composition_root() -> None:
    import ast

    folder = Path(__file__).parents[2] / "mobile" / "presenters"
    for path in folder.glob("*.py"):
        if path.name == "app.py":
            continue
        tree = ast.parse(path.read_text())
        imported = {n.module for n in ast.walk(tree) if isinstance(n, ast.ImportFrom)}
        imported |= {a.name for n in ast.walk(tree) if isinstance(n, ast.Import) for a in n.names}
        assert "mobile.presenters.app" not in imported, path.name


async def test_the_koppelcode_is_sent_at_login_and_kept_for_the_next_one(tmp_path: Path) -> None:
    sent: list[dict[str, Any]] = []

    def handler(request: httpx.Request) -> httpx.Response:
        if request.url.path == "/api/auth/login":
            sent.append(json.loads(request.content))
            return httpx.Response(200, json=msgspec.to_builtins(SESSION))
        return httpx.Response(503)

    transport = httpx.MockTransport(handler)
    first = AppPresenter(
        AppConfig(server="http://schakel.test", data_dir=tmp_path),
        api=Api("http://schakel.test", transport=transport),
    )
    first.login.username, first.login.password, first.login.device_id = "boa01", "geheim", "3"
    assert not await first.login.login()  # no koppelcode yet: asked for, nothing sent
    assert "Koppelcode" in first.login.error and not sent
    first.login.device_secret = "de-koppelcode"
    assert await first.login.login(), first.login.error
    assert sent[-1]["device_id"] == 3 and sent[-1]["device_secret"] == "de-koppelcode"
    await first.logout()
    await first.close()

    # after a restart (and a logout) the tablet knows its number and koppelcode: only name and password
    again = AppPresenter(
        AppConfig(server="http://schakel.test", data_dir=tmp_path),
        api=Api("http://schakel.test", transport=transport),
    )
    assert (again.login.device_id, again.login.device_secret) == ("3", "de-koppelcode")
    again.login.username, again.login.password = "boa01", "geheim"
    assert await again.login.login(), again.login.error
    assert sent[-1]["device_secret"] == "de-koppelcode"
    await again.close()


# --- tasks through a shift (issue 11) -----------------------------------------------------------------------


def test_open_tasks_come_first_newest_first_within_a_priority_and_finished_ones_fold(tmp_path: Path) -> None:
    app = make_app(tmp_path)
    on_shift(app)
    for task_id, priority in ((1, 1), (2, 2), (3, 2), (4, 1)):
        app.tasks.received(
            TaskAssigned(task_id=task_id, incident_id=task_id, title=f"T{task_id}", priority=priority)
        )
    for _ in range(4):
        app.tasks.advance(4)  # the newest prio 1 is finished: it goes below every open task
    app.tasks.received(TaskAssigned(task_id=5, incident_id=5, title="T5", priority=2))
    assert [r["task_id"] for r in app.tasks.rows] == [1, 5, 3, 2, 4]
    view = app.tasks.view_rows
    assert [r.get("task_id") for r in view] == [1, 5, 3, 2, None]  # the finished one is folded away
    assert view[-1]["viewclass"] == "DoneFold" and view[-1]["text"].startswith("Afgerond (1)")
    app.tasks.toggle_done()
    assert [r.get("task_id") for r in app.tasks.view_rows] == [1, 5, 3, 2, None, 4]
    assert "verbergen" in app.tasks.view_rows[4]["text"] and app.tasks.open_count == 4


def test_notices_stack_and_a_task_s_notice_goes_when_it_is_handled(tmp_path: Path) -> None:
    app = make_app(tmp_path)
    on_shift(app)
    app.tasks.received(TaskAssigned(task_id=9, incident_id=4, title="Overlast", priority=1))
    now = datetime.now(UTC)
    app.tasks.received(TextMessage(message_id=4, text="Politie onderweg", sender="Meldkamer", sent_at=now))
    assert [b["text"] for b in app.tasks.banners] == [
        "Bericht van Meldkamer: Politie onderweg",
        "Nieuwe taak: Overlast",
    ]
    for _ in range(4):
        app.tasks.advance(9)  # accepted … afgerond: the "Nieuwe taak" notice went with the first tap
    assert [b["text"] for b in app.tasks.banners] == ["Bericht van Meldkamer: Politie onderweg"]
    app.tasks.received(TaskAssigned(task_id=10, incident_id=5, title="Fietsen", priority=3))
    app.tasks.received(TaskCancelled(task_id=10, reason="opgelost"))  # replaces its own notice
    assert [b["text"] for b in app.tasks.banners] == [
        "Ingetrokken door de meldkamer: Fietsen  —  reden: opgelost",
        "Bericht van Meldkamer: Politie onderweg",
    ]
    for n in range(3):
        app.tasks.received(TextMessage(message_id=10 + n, text=f"nr {n}", sender="Meldkamer", sent_at=now))
    assert len(app.tasks.banners) == 2 and app.tasks.banners_more == "+ 3 meer (zie Taken)"
    app.tasks.open_from_banner(app.tasks.banners[1]["key"])  # a tap closes that notice only
    assert [b["text"] for b in app.tasks.banners] == [
        "Bericht van Meldkamer: nr 2",
        "Bericht van Meldkamer: nr 0",
    ]
    assert app.tab == "tasks" and app.tasks.banner == "Bericht van Meldkamer: nr 2"
    app.tasks.dismiss(10)
    assert all("Fietsen" not in b["text"] for b in app.tasks.banners)


def test_a_long_description_folds_at_a_word_and_a_tap_shows_it_whole(tmp_path: Path) -> None:
    app = make_app(tmp_path)
    on_shift(app)
    text = "Melder ziet een groep jongeren bij de speeltuin die de bankjes vernielen en omstanders " * 4
    app.tasks.received(TaskAssigned(task_id=9, incident_id=4, title="Overlast", priority=1, description=text))
    row = app.tasks.rows[0]
    assert row["folds"] and row["description"].endswith("…  (tik voor de hele tekst)")
    shown = row["description"].removesuffix(" …  (tik voor de hele tekst)")
    assert text.startswith(shown) and text[len(shown)] == " "  # cut between words, not in one
    folded_height = row["size"][1]
    app.tasks.toggle_description(9)
    row = app.tasks.rows[0]
    assert row["description"].startswith(text.strip()) and row["size"][1] > folded_height
    app.tasks.toggle_description(9)
    assert app.tasks.rows[0]["size"][1] == folded_height
    app.tasks.received(
        TaskAssigned(task_id=10, incident_id=5, title="Kort", priority=2, description="Bij de kerk")
    )
    short = next(r for r in app.tasks.rows if r["task_id"] == 10)
    assert not short["folds"] and short["description"] == "Bij de kerk"


def test_declining_asks_a_reason_and_sends_it_with_the_task_update(tmp_path: Path) -> None:
    app = make_app(tmp_path)
    on_shift(app)
    app.tasks.received(TaskAssigned(task_id=9, incident_id=4, title="Overlast", priority=1, category="Jeugd"))
    app.tasks.start_decline(9)
    assert app.tasks.declining == 9 and app.tasks.decline_title == "Weigeren: Jeugd"
    assert not app.tasks.decline()  # no reason: nothing goes out
    assert "reden" in app.tasks.decline_error.lower()
    assert [f for f in frames(app) if f["kind"] == "task_update"] == []
    assert app.tasks.decline(app.tasks.decline_reasons[1])  # one tap: "Te ver weg"
    sent = [f for f in frames(app) if f["kind"] == "task_update"]
    assert [(f["task_id"], f["state"], f["note"]) for f in sent] == [(9, "declined", "Te ver weg")]
    row = app.tasks.rows[0]
    assert row["closed"] and row["state"] == "Geweigerd  —  reden: Te ver weg" and app.tasks.declining == 0
    assert app.tasks.banners == [] and app.tasks.open_count == 0
    app.tasks.received(TaskAssigned(task_id=11, incident_id=6, title="Afval", priority=3))
    app.tasks.start_decline(11)
    app.tasks.decline_reason = "  Pauze, collega neemt hem  "
    assert app.tasks.decline()
    assert [f["note"] for f in frames(app) if f["kind"] == "task_update"][-1] == "Pauze, collega neemt hem"


def test_a_task_on_the_map_is_in_view_with_the_own_and_the_partner_s_position(tmp_path: Path) -> None:
    from shared.protocol import PartnerFix, PartnerPositions

    app = make_app(tmp_path)
    on_shift(app)
    app.map.layout(800, 600)
    app.location.fix(4.895, 52.375, accuracy_m=5.0)
    app._frame(PartnerPositions(fixes=[PartnerFix(device_id=8, lon=4.893, lat=52.374, at=datetime.now(UTC))]))
    far = (4.93, 52.36)  # outside the beat
    app.tasks.received(
        TaskAssigned(
            task_id=9, incident_id=4, title="Overlast", priority=1, lon=far[0], lat=far[1], address="Dam 1"
        )
    )
    app.show_task_on_map(9)
    assert app.tab == "map" and app.map.task_caption.startswith("Taak: Dam 1")
    for x, y in [app.map.task_marker, app.map.marker, *app.map.partner_markers]:
        assert 0 <= x <= 800 and 0 <= y <= 600
    app.tab = "tasks"
    app.tasks.received(TaskAssigned(task_id=10, incident_id=5, title="Zonder plaats", priority=2))
    app.show_task_on_map(10)  # no place: the map is not opened for nothing
    assert app.tab == "tasks"
    app.on_shift_ended()
    assert app.map.task_marker == [] and app.map.task_caption == ""


def test_the_fine_shows_the_whole_offence_and_its_amount_or_plainly_that_there_is_none(
    tmp_path: Path,
) -> None:
    app = make_app(tmp_path)
    reg = app.register
    reg.choose_kind("fine")
    reg.track = "bestuurlijke_boete"  # the gemeente's track, as the server's first answer says
    reg.query = "BF 070a"  # a bestuurlijke boete with an amount in the shipped catalogue
    reg.choose_feitcode("BF 070a")
    assert reg.feitcode_text.startswith("BF 070a  ·  Zonder vergunning van de burgemeester op of aan de weg")
    assert reg.feitcode_amount == "Bedrag: € 60" and reg.feitcode_has_amount and not reg.picking
    reg.track = "om_strafbeschikking"  # another gemeente: the OM track
    reg.query = "hond"  # typing again shows the list; the chosen code stays until another is tapped
    assert reg.picking and reg.feitcode == "BF 070a"
    om = next(r["code"] for r in reg.results if r["code"].startswith("BF 145"))
    reg.choose_feitcode(om)  # the OM track ships without tarieven
    entry = next(e for e in reg.catalogue.entries if e.code == om and e.track == "om_strafbeschikking")
    assert reg.feitcode_text == f"{om}  ·  {entry.description}"  # in full, not the list's fragment
    assert reg.feitcode_amount.startswith("Bedrag niet in de catalogus") and not reg.feitcode_has_amount
    reg.pick_again()
    assert reg.picking


def test_amounts_read_as_a_boa_says_them() -> None:
    from mobile.presenters.register import amount_text

    assert amount_text("person", {"adult": 1100, "minor": 550}) == (
        "Bedrag: € 1.100 (volwassene), € 550 (minderjarige)"
    )
    assert (
        amount_text("road_user", {"1": 110, "8": 330})
        == "Bedrag: € 110 tot € 330 (hangt af van de categorie)"
    )
    assert amount_text("speed", {"1": 70}) == "Bedrag: € 70"
    assert amount_text("none", {}).startswith("Bedrag niet in de catalogus")


async def test_after_a_fine_the_tablet_shows_its_kennisgeving_once_the_server_has_it(tmp_path: Path) -> None:
    asked: list[str] = []
    receipt = {
        "title": "Aankondiging van bestuurlijke boete",
        "kenmerk": "26-K7M3-Q9XA",
        "rows": [
            ["Kenmerk", "26-K7M3-Q9XA"],
            ["Datum en tijd", "01-12-2026 16:02"],
            ["Plaats", "Zeedijk 12"],
            ["Feitcode", "BF 070a"],
            ["Overtreding", "Zonder vergunning een evenement"],
            ["Bedrag", "€ 60,00"],
            ["Naam", "J. de Vries"],
            ["Geboortedatum", "1988-04-12"],
        ],
    }

    def handler(request: httpx.Request) -> httpx.Response:
        if request.url.path.endswith("/receipt.json"):
            asked.append(request.url.path)
            if len(asked) < 3:  # the outbox has not delivered the fine yet
                return refusal(404, "not_found", "registratie niet gevonden")
            return httpx.Response(200, json=receipt)
        return httpx.Response(503)

    app = make_app(tmp_path, handler)
    on_shift(app)
    app.location.fix(4.895, 52.375, accuracy_m=5.0)
    reg = app.register
    reg.choose_kind("fine")
    reg.track = "bestuurlijke_boete"
    reg.query = "BF 070a"
    reg.choose_feitcode("BF 070a")
    reg.offender_name, reg.offender_birth = "J. de Vries", "12-04-1988"
    reg.id_type, reg.id_number = "rijbewijs", "5612345678"
    reg.street, reg.house_number, reg.postcode, reg.city = "Zeedijk", "12", "1012 AZ", "Amsterdam"
    assert reg.save(), reg.error
    assert reg.receipt_button.startswith("Kennisgeving: het kenmerk volgt") and not reg.receipt_ready
    registration_id = json.loads(app.outbox.next_request()[0].body)["id"]  # type: ignore[union-attr]
    assert await reg.fetch_receipt(registration_id, retry_s=0.0)
    assert len(asked) == 3 and asked[0] == f"/api/registrations/{registration_id}/receipt.json"
    assert reg.receipt_button == "Kennisgeving 26-K7M3-Q9XA tonen" and reg.receipt_ready
    reg.show_receipt()
    assert reg.showing_receipt and reg.receipt_title == "Aankondiging van bestuurlijke boete"
    assert [(r["label"], r["value"]) for r in reg.receipt_rows][:3] == [
        ("Kenmerk", "26-K7M3-Q9XA"),
        ("Datum en tijd", "01-12-2026 16:02"),
        ("Plaats", "Zeedijk 12"),
    ]
    assert ("Bedrag", "€ 60,00") in [(r["label"], r["value"]) for r in reg.receipt_rows]
    reg.hide_receipt()
    assert not reg.showing_receipt


async def test_every_call_refreshes_an_expiring_token_ending_a_shift_too(tmp_path: Path) -> None:
    """Fifteen minutes into a shift the access token has expired: ending the shift refreshes it first, and a
    401 on a call refreshes once and tries again; a failure is shown in Dutch."""
    seen: list[tuple[str, str | None]] = []
    refreshes = itertools.count(2)
    end_answers = iter([httpx.Response(204), refusal(500, "internal", "Internal Server Error")])

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append((request.url.path, request.headers.get("authorization")))
        if request.url.path == "/api/auth/refresh":
            fresh = f"a{next(refreshes)}"
            return httpx.Response(200, json={**msgspec.to_builtins(SESSION), "access_token": fresh})
        if request.url.path == "/api/units" and request.headers["authorization"] == "Bearer a2":
            return refusal(401, "unauthorized", "token expired", "token")  # refused early: refresh, retry
        if request.url.path == "/api/units":
            return httpx.Response(200, json=[])
        if request.url.path.endswith("/end"):
            return next(end_answers)
        return httpx.Response(503)

    app = make_app(tmp_path, handler)
    expired = msgspec.structs.replace(SESSION, obtained_at=1.0)  # long ago
    await app.signed_in(expired, load=False)
    app.shift.began(5, "HH-01", [])
    assert await app.shift.end_shift(), app.shift.error
    assert [p for p, _ in seen] == ["/api/auth/refresh", "/api/shifts/5/end"]
    assert seen[1][1] == "Bearer a2" and app.api.token == "a2"
    seen.clear()
    assert await app.api.units() == []
    assert [p for p, _ in seen] == ["/api/units", "/api/auth/refresh", "/api/units"]
    assert seen[-1][1] == "Bearer a3"
    app.shift.began(6, "HH-01", [])
    assert not await app.shift.end_shift()  # the server failed: the boa reads why, in Dutch
    assert (
        app.shift.error == "Dienst beëindigen mislukt: storing bij de server (code 500); probeer het opnieuw"
    )
    assert app.shift.active
    await app.close()


def test_server_and_network_texts_reach_the_boa_in_dutch() -> None:
    from mobile.i18n import server_text

    assert (
        server_text(401, "unknown username or wrong password")
        == "onbekende gebruikersnaam of verkeerd wachtwoord"
    )
    assert server_text(0, "All connection attempts failed") == "geen verbinding met de server"
    assert (
        server_text(409, "deze eenheid is in dienst met een collega")
        == "deze eenheid is in dienst met een collega"
    )
    assert server_text(404, "beat not found") == "niet gevonden op de server"
    assert server_text(502, "Bad Gateway").startswith("storing bij de server (code 502)")


def test_the_login_screen_does_not_say_geen_verbinding_before_there_is_a_link(tmp_path: Path) -> None:
    app = make_app(tmp_path)
    assert app.screen == "login" and app.bar_text == "Niet in dienst" and not app.bar_warn
    on_shift(app)  # on duty, the link not up: now it matters
    assert app.bar_text.startswith("Geen verbinding") and app.bar_warn
    app._link_state("online")
    assert app.bar_text == "Verbonden met de meldkamer" and not app.bar_warn
