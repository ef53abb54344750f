"""`python -m mobile --tour DIR`: drive every screen against a demo server and save tablet-*.png screenshots.

Used for the documentation (docs/screenshots/). It logs in as `boa` (the demo password), shows the shift
screen with the units colleagues are on, starts a shift on a free unit, has the demo operator create three
meldingen, task the unit (over the dispatch API) and send a message (their notices stay on top), fills each
registration form and shows a fine's kennisgeving, shows the tasks (folded, whole, declining, on the map),
presses the noodknop and has the operator acknowledge it (the "gezien" state), shows the outbox, then goes
offline (noodknop and outbox without a network) and stops the app; the shift stays open in the demo (end it
with the status screen or the API).
"""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx
import websockets

from mobile.link import Link
from shared.protocol import (
    AcknowledgeAlert,
    AlertKind,
    ColleagueAlarm,
    Hello,
    Snapshot,
    encoder,
    server_decoder,
)

DEMO_PASSWORD = "schakel-demo"
TABLET_LOGIN = "boa"  # backend.demo.seed.TABLET_LOGIN: the account no simulated duo uses


def _scroll_to_end(app: Any, screen: str) -> None:
    """Scroll the named screen's form to its end (what a boa's swipe does)."""
    from kivy.uix.scrollview import ScrollView

    for widget in app.root.walk():
        if getattr(widget, "name", None) == screen:
            for inner in widget.walk():
                if isinstance(inner, ScrollView):
                    inner.scroll_y = 0
            return


async def _shot(app: Any, directory: Path, name: str, settle: float = 0.6) -> None:
    await asyncio.sleep(settle)  # let Kivy lay out and draw
    path = directory / f"tablet-{name}.png"
    app.root.export_to_png(str(path))


async def _until(predicate: Any, timeout: float = 10.0) -> None:
    async with asyncio.timeout(timeout):
        while not predicate():
            await asyncio.sleep(0.05)


async def _acknowledge_noodknop(server: str, unit_id: int) -> None:
    """As the demo operator: acknowledge the open noodknop of this unit on the operator socket."""
    async with httpx.AsyncClient(base_url=server) as http:
        r = await http.post("/api/auth/login", json={"username": "operator", "password": DEMO_PASSWORD})
        token = r.json()["access_token"]
    url = server.replace("http", "ws", 1) + "/ws/operator"
    async with websockets.connect(url, max_size=2**24) as ws:
        await ws.send(encoder.encode(Hello(token=token)).decode())
        snapshot = server_decoder.decode(await ws.recv())
        assert isinstance(snapshot, Snapshot)
        for alert in snapshot.alerts:
            mine = alert.unit_id == unit_id and alert.kind == AlertKind.NOODKNOP
            if mine and alert.acknowledged_at is None:
                await ws.send(encoder.encode(AcknowledgeAlert(alert_id=alert.alert_id)).decode())


LONG_DESCRIPTION = (
    "Melder ziet een groep van zes jongeren bij de speeltuin op de Nieuwmarkt die de bankjes vernielen "
    "en omstanders uitschelden. Een van hen heeft een hond zonder lijn bij zich. Melder blijft op afstand "
    "bij de Waag en is bereikbaar via de meldkamer. Politie is op de hoogte maar heeft nog geen eenheid vrij."
)


async def _operator(server: str) -> httpx.AsyncClient:
    http = httpx.AsyncClient(base_url=server)
    r = await http.post("/api/auth/login", json={"username": "operator", "password": DEMO_PASSWORD})
    http.headers["Authorization"] = f"Bearer {r.json()['access_token']}"
    return http


async def tour(app: Any, directory: Path) -> None:
    directory.mkdir(parents=True, exist_ok=True)
    p = app.p
    try:
        await asyncio.sleep(1.0)
        p.login.username = TABLET_LOGIN
        p.login.password = DEMO_PASSWORD
        await _shot(app, directory, "1-login")
        assert await p.login.login(), p.login.error
        await asyncio.sleep(1.0)
        taken = [u for u in p.shift.units if u["id"] in p.shift.on_duty]
        if taken:  # the shift screen asks before a colleague's unit is taken over
            p.shift.choose_unit(taken[0]["id"])
        p.shift.choose_partner(p.shift.partners[0]["id"] if p.shift.partners else 0)
        await _shot(app, directory, "2-shift")
        free = [u for u in p.shift.units if u["id"] not in p.shift.on_duty] or p.shift.units
        for unit in reversed(free):
            p.shift.choose_unit(unit["id"])
            if await p.shift.start_shift():
                break
        assert p.shift.active, p.shift.error
        await asyncio.sleep(6.0)  # connect and walk a bit
        # real tasks and a message: the demo operator creates meldingen at the boa's position and tasks his
        # unit over the dispatch API; their notices stay on top of every screen below until handled
        http = await _operator(p.config.server)
        unit_id = int(p.shift.unit_id)
        here = {"lon": p.location.lon, "lat": p.location.lat}
        task_ids: list[int] = []
        try:
            for body in (
                {"category": "Overlast jongeren bij speeltuin", "priority": 1, "address": "Nieuwmarkt 4",
                 "description": LONG_DESCRIPTION, "lon": here["lon"] + 0.004, "lat": here["lat"] - 0.002},
                {"category": "Fout geparkeerde bestelbus", "priority": 3, "address": "Zeedijk 30", **here},
                {"category": "Afval naast container", "priority": 2, "address": "Geldersekade 8", **here},
            ):  # fmt: skip
                incident = (await http.post("/api/incidents", json=body)).json()
                r = await http.post(
                    f"/api/incidents/{incident['incident_id']}/tasks", json={"unit_id": unit_id}
                )
                task_ids.append(int(r.json()["task_id"]))
            await _until(lambda: all(t in p.tasks.tasks for t in task_ids))
            text = "Politie is onderweg naar de Nieuwmarkt, verwacht over tien minuten"
            await http.post(f"/api/units/{unit_id}/messages", json={"text": text})
            await _until(lambda: bool(p.tasks.message_rows))
        finally:
            await http.aclose()
        urgent, parked, litter = task_ids
        for _ in range(4):
            p.tasks.advance(litter)  # done: folds under Afgerond, its notice goes
        p.status.choose("en_route")
        await _shot(app, directory, "3-status")
        p.tab = "map"
        await asyncio.sleep(4.0)
        await _shot(app, directory, "4-map")
        await forms(app, directory)
        await kenteken_tour(app, directory)
        p.tasks.advance(parked)  # accept the prio 3 one
        p.tab = "tasks"
        await _shot(app, directory, "8-taken")
        p.tasks.toggle_description(urgent)
        p.tasks.toggle_done()
        await _shot(app, directory, "8b-taak-hele-tekst")
        p.tasks.toggle_description(urgent)
        p.tasks.start_decline(parked)
        p.tasks.decline_reason = "Collega HH-04 staat er al naast"
        await _shot(app, directory, "8c-taak-weigeren")
        p.tasks.cancel_decline()
        p.show_task_on_map(urgent)
        await asyncio.sleep(1.0)
        await _shot(app, directory, "8d-taak-op-kaart")
        p.tab = "status"
        p.noodknop.press(0.0)
        p.noodknop.hold(0.9)
        await _shot(app, directory, "9-noodknop-vasthouden", 0.3)
        p.noodknop.release(1.6)
        await asyncio.sleep(0.05)
        await _shot(app, directory, "10-noodknop-verzonden", 0.01)
        async with asyncio.timeout(10):
            while p.noodknop.state != "confirmed":
                await asyncio.sleep(0.05)
        await _shot(app, directory, "11-noodknop-bevestigd")
        await _acknowledge_noodknop(p.config.server, int(p.shift.unit_id))
        await _until(lambda: p.noodknop.state == "seen")
        await _shot(app, directory, "15-noodknop-gezien")
        p.noodknop.reset()
        p.tab = "outbox"
        await asyncio.sleep(3.0)  # the registration meets the server
        await _shot(app, directory, "12-verzenden")
        # a dead zone: the link goes down; the noodknop still works and says it is not there yet
        await p.stop_link()
        p.link = Link(p.api, p.outbox, p.session)  # never started: offline
        p.link.on_state = p._link_state
        p._link_state("offline")
        p.tab = "status"
        p.status.choose("on_scene")
        p.noodknop.press(0.0)
        p.noodknop.release(1.6)
        await _shot(app, directory, "13-offline")
        p.tab = "outbox"
        await _shot(app, directory, "14-offline-verzenden")
        await alarm_tour(app, directory)
    finally:
        app.stop()


async def kenteken_tour(app: Any, directory: Path) -> None:
    """The kenteken check against the demo's RDW simulator: a car with an expired APK, no WAM and an open
    recall; then the RDW times out and the backend's last answer shows, marked as such."""
    p = app.p
    p.tab = "kenteken"
    p.kenteken.plate, p.kenteken.purpose = "G-921-GS", "controle foutparkeerder Zeedijk"
    p.kenteken.check()
    await _until(lambda: bool(p.kenteken.rows))
    await _shot(app, directory, "20-kenteken")
    server = urlsplit(p.config.server)
    rdw = f"{server.scheme}://{server.hostname}:{(server.port or 80) + 91}"  # the demo's RDW simulator
    async with httpx.AsyncClient() as http:
        await http.post(f"{rdw}/_sim/mode/timeout")
        try:
            p.kenteken.check()
            await _until(lambda: p.kenteken.stale and not p.kenteken.busy, timeout=20)
            await _shot(app, directory, "21-kenteken-rdw-weg")
        finally:
            await http.post(f"{rdw}/_sim/mode/ok")
    p.tab = "signal"
    p.signal.choose(p.signal.choices[0]["value"])
    p.signal.text = "Lantaarnpaal knippert en de kabel hangt los bij de brug"
    await _shot(app, directory, "22-melden-gemeente")
    p.signal.save()
    await _shot(app, directory, "23-melden-gemeente-klaar")


async def forms(app: Any, directory: Path) -> None:
    """Every registration form, filled in, with the meldkamer's notices on top."""
    p = app.p
    p.tab = "register"
    p.register.choose_kind("waarneming")
    p.register.category = "openbare_ruimte"
    p.register.text = "Fietswrak tegen lantaarnpaal, al drie weken; bel en zadel ontbreken, voorwiel krom"
    await _shot(app, directory, "5-waarneming")
    p.register.choose_kind("fine")
    p.register.query = "evenement"
    await asyncio.sleep(1.0)  # the server's answer (its track) follows the local one
    priced = [r["code"] for r in p.register.results if p.register._hits.get(r["code"], ("", "", {}))[2]]
    if p.register.results:
        p.register.choose_feitcode((priced or [p.register.results[0]["code"]])[0])
    p.register.offender_name = "J. de Vries-van der Heijden"
    p.register.offender_birth = "12-04-1988"
    p.register.id_type, p.register.id_number = "rijbewijs", "5612345678"
    p.register.street, p.register.house_number = "Oudezijds Voorburgwal", "12-2"
    p.register.postcode, p.register.city = "1012 AZ", "Amsterdam"
    p.register.statement = "Ik wist niet dat daar een vergunning voor nodig was"
    await _shot(app, directory, "6-boete")
    p.register.query = "hond"
    await asyncio.sleep(1.0)
    unpriced = [r["code"] for r in p.register.results if not p.register._hits.get(r["code"], ("", "", {}))[2]]
    if unpriced:
        p.register.choose_feitcode(unpriced[0])
        await _shot(app, directory, "6b-boete-geen-bedrag")
        p.register.query = "evenement"
        await asyncio.sleep(1.0)
        if p.register.results:
            p.register.choose_feitcode((priced or [p.register.results[0]["code"]])[0])
    assert p.register.save(), p.register.error
    await _shot(app, directory, "6c-boete-opgeslagen")  # the ID-type buttons keep their labels
    await _until(lambda: p.register.receipt_ready, timeout=20)
    p.register.show_receipt()
    await _shot(app, directory, "6d-kennisgeving")
    _scroll_to_end(app, "receipt")  # the rest of the kennisgeving and its "Als PDF openen" button
    await _shot(app, directory, "6e-kennisgeving-pdf-knop")
    p.register.hide_receipt()
    p.register.choose_kind("aggression")
    p.register.toggle_type("bedreiging")
    p.register.toggle_type("verbaal")
    p.register.text = "Scheldt en dreigt na aanspreken over hond"
    await _shot(app, directory, "7-agressie")


async def alarm_tour(app: Any, directory: Path) -> None:
    """Offline and on shift: the noodknop NIET aangekomen, the man-down pre-alarm (the simulated tablet tipped
    over while working alone), and colleagues' alarms as banners and on the map."""
    p = app.p
    p.tab = "status"
    if p.noodknop.state != "sending":
        p.noodknop.press(0.0)
        p.noodknop.release(1.6)
    p.checkin.start(30)  # alone: the check-in timer and the man-down watch
    await _until(lambda: p.noodknop.not_arrived, timeout=15)
    await _shot(app, directory, "16-noodknop-niet-aangekomen")
    app.simulate_pose("fallen")
    await _until(lambda: p.mandown.state == "prealarm", timeout=10)
    await asyncio.sleep(2.2)
    await _shot(app, directory, "17-man-down-vooralarm", 0.01)
    p.mandown.ok()
    app.simulate_pose("walking")
    here = (p.location.lon, p.location.lat) if p.location.has_fix else (4.8936, 52.3731)
    now = datetime.now(UTC)
    for alert_id, kind, call_sign, d_lon, d_lat, metres in (
        (9001, AlertKind.NOODKNOP, "HH-04", 0.004, 0.002, 420.0),
        (9002, AlertKind.MAN_DOWN, "HH-07", -0.006, -0.003, 1530.0),
    ):
        p._frame(
            ColleagueAlarm(
                alert_id=alert_id,
                alert_kind=kind,
                call_sign=call_sign,
                at=now - timedelta(seconds=alert_id - 9000),
                lon=here[0] + d_lon,
                lat=here[1] + d_lat,
                distance_m=metres,
            )
        )
    await _shot(app, directory, "18-collega-alarm")
    p.tab = "map"
    await _shot(app, directory, "19-collega-alarm-kaart")
