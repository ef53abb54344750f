"""The console's alarms in headless Chromium against the real app, database and tablets (raw protocol
clients): the safety lane, what a banner says and offers, the emergency style, and "Alles gezien" for the
routine alarms."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import asyncpg
import pytest

from shared.protocol import (
    Ack,
    AssistanceRequested,
    ManDown,
    ManDownTrigger,
    NoodknopPressed,
    PositionReported,
)
from tests.integration.alarm_world import AlarmWorld, build_alarm_world
from tests.integration.browser import chromium, log_in, screenshot, skip_without_chromium
from tests.integration.harness import PASSWORD, Server, login, make_settings, running, socket_to
from tests.integration.world import OUDE_ZIJDE

pytestmark = [pytest.mark.browser, skip_without_chromium()]

ROUTINE = ("outside_assigned_beat", "position_stale", "partners_apart")


async def beeps(page: Any) -> int:
    return int(await page.evaluate("window.__schakel.beeps || 0"))


async def sounds_again(page: Any, before: int) -> None:
    await page.wait_for_function(f"() => (window.__schakel.beeps || 0) > {before}")


async def test_an_alarm_shows_and_sounds_while_every_panel_and_form_is_open(
    database_url: str, tmp_path: Path
) -> None:
    aw = await build_alarm_world(database_url)
    async with running(make_settings(database_url, tmp_path)) as server, chromium() as page:
        boa = await login(server.base, "boa_a", aw.world.tablet_a)
        async with socket_to(server.ws + "/ws/field", boa["access_token"]) as tablet:
            await tablet.recv()
            await tablet.send(
                PositionReported(seq=1, lon=OUDE_ZIJDE[0], lat=OUDE_ZIJDE[1], at=datetime.now(UTC))
            )
            await tablet.recv_until(lambda f: isinstance(f, Ack))
            await log_in(page, server.base, "operator_mk", PASSWORD)
            lane = page.locator("#emergency")

            # 1. a unit's detail with the track replay running and its reason typed
            await page.locator("#unit-rows tr", has_text="A-02").click()
            await page.fill("#replay-reason", "nazorg melding 17")
            await page.click("button[data-replay]")
            await page.locator("#replay-ui").wait_for()
            before = await beeps(page)
            await tablet.send(NoodknopPressed(seq=2, at=datetime.now(UTC)))
            await lane.locator("text=NOODKNOP A-01").wait_for()
            await sounds_again(page, before)
            assert await page.input_value("#replay-reason") == "nazorg melding 17"
            assert await page.locator("#replay-ui").is_visible()
            await lane.locator("button[data-ack]").click()
            await lane.wait_for(state="hidden")

            # 2. a melding's detail with a cancel/close reason being typed
            melding = await _incident_with_task(server, aw.neighbours["A-02"])
            await page.click(".tabs button[data-tab=incidents]")
            await page.locator("#incident-list li", has_text="Afval").click()
            await page.fill("#incident-reason", "dubbele melding, half getypt")
            before = await beeps(page)
            await tablet.send(AssistanceRequested(seq=3, at=datetime.now(UTC), text="agressieve man"))
            await lane.locator("text=Assistentieverzoek A-01").wait_for()
            await sounds_again(page, before)
            assert await page.input_value("#incident-reason") == "dubbele melding, half getypt"
            assert await page.locator("#detail button[data-cancel]").is_visible()
            await lane.locator("button[data-ack]").click()
            await lane.wait_for(state="hidden")
            assert melding > 0

            # 3. the new-melding form half filled in
            await page.click(".tabs button[data-tab=new]")
            await page.fill("input[name=category]", "Geluidsoverlast")
            await page.fill("textarea[name=description]", "Feest op de boot")
            before = await beeps(page)
            await tablet.send(ManDown(seq=4, at=datetime.now(UTC), trigger=ManDownTrigger.NO_MOTION))
            await lane.locator("text=Man-down (geen beweging / gevallen) A-01").wait_for()
            await sounds_again(page, before)
            assert await page.input_value("input[name=category]") == "Geluidsoverlast"
            assert await page.input_value("textarea[name=description]") == "Feest op de boot"
    assert page.errors == []


async def test_the_banner_says_where_and_who_and_sends_the_nearest_unit(
    database_url: str, tmp_path: Path
) -> None:
    aw = await build_alarm_world(database_url)
    async with running(make_settings(database_url, tmp_path)) as server, chromium() as page:
        boa = await login(server.base, "boa_a", aw.world.tablet_a)
        async with socket_to(server.ws + "/ws/field", boa["access_token"]) as tablet:
            await tablet.recv()
            await tablet.send(
                PositionReported(
                    seq=1, lon=OUDE_ZIJDE[0], lat=OUDE_ZIJDE[1], at=datetime.now(UTC), accuracy_m=12.0
                )
            )
            await tablet.recv_until(lambda f: isinstance(f, Ack))
            await log_in(page, server.base, "operator_mk", PASSWORD)
            await tablet.send(NoodknopPressed(seq=2, at=datetime.now(UTC)))
            banner = page.locator("#emergency article.alarm", has_text="NOODKNOP A-01")
            await banner.wait_for()
            # filled in from the context
            for text in (
                "Burgwallen-Oude Zijde",
                "± 12 m",
                "Jan de Vries",
                "06-12345678",
                "TG-Noord 3",
                "Fatima el Amrani",
                "Kanaal 12",
                "020-5550101",
                "geen taak",
            ):
                await banner.locator(f"text={text}").first.wait_for()
            assert "oud" in await banner.locator("dd").first.inner_text()
            nearest = banner.locator(".nearest .near")
            assert [t.split()[0] for t in await nearest.all_inner_texts()] == ["A-03", "A-02", "A-04"]
            assert "120 m" in (await nearest.first.inner_text())
            await screenshot(page, "alarm-banner", tmp_path)

            # zoom: street level at the unit
            await banner.locator("button[data-zoom]").click()
            await page.wait_for_function("() => window.__schakel.app.map.map.getZoom() >= 17")
            centre = await page.evaluate(
                "(() => { const c = window.__schakel.app.map.map.getCenter(); return [c.lng, c.lat]; })()"
            )
            assert abs(centre[0] - OUDE_ZIJDE[0]) < 1e-4 and abs(centre[1] - OUDE_ZIJDE[1]) < 1e-4

            # one click sends A-03: a P1 melding from the alarm, and the task to A-03
            await nearest.filter(has_text="A-03").locator("button", has_text="Stuur").click()
            await banner.locator("text=A-03 gestuurd ✓").wait_for()
            rows = await _fetch(
                database_url,
                """SELECT i.priority, i.source, i.external_id, u.call_sign
                   FROM incidents i JOIN tasks t ON t.incident_id = i.id JOIN units u ON u.id = t.unit_id""",
            )
            alert_id = (await _fetch(database_url, "SELECT id FROM alerts WHERE kind = 'noodknop'"))[0]["id"]
            assert [(r["priority"], r["source"], r["external_id"], r["call_sign"]) for r in rows] == [
                (1, "alarm", str(alert_id), "A-03")
            ]
            # the nearest are fetched anew: A-03 is now busy with the task, the others move up
            await page.wait_for_function(
                "() => document.querySelector('#emergency .near b')?.textContent === 'A-02'"
            )

            # "Melding maken" opens the form pre-filled from the alarm
            await banner.locator("button[data-melding]").click()
            assert await page.locator("#tab-new").is_visible()
            assert await page.input_value("input[name=category]") == "NOODKNOP A-01"
            assert await page.is_checked("input[name=priority][value='1']")
            assert await page.input_value("input[name=address]") == "Burgwallen-Oude Zijde"
            assert "Plaats op de kaart: 52.37450, 4.89700" in await page.inner_text("#picked")

            # the unit in emergency: pinned to the top of the list whatever the sort, on top on the map
            await page.click(".tabs button[data-tab=units]")
            await page.click("th[data-sort=call_sign]")  # descending: A-01 would be last
            await page.wait_for_function(
                "() => document.querySelector('th[data-sort=call_sign]').classList.contains('desc')"
            )
            first = page.locator("#unit-rows tr").first
            assert "A-01" in await first.inner_text() and "noodsituatie" in await first.inner_text()
            assert "A-06" in await page.locator("#unit-rows tr").nth(1).inner_text()
            await page.click("th[data-sort=status]")
            assert "A-01" in await page.locator("#unit-rows tr").first.inner_text()
            z = await page.evaluate(
                """(() => {
                  const z = (el) => Number(el.closest('.leaflet-marker-icon').style.zIndex);
                  const units = [...document.querySelectorAll('.unit-marker')];
                  const sos = units.filter((u) => u.classList.contains('sos')).map(z);
                  const others = units.filter((u) => !u.classList.contains('sos')).map(z);
                  const meldingen = [...document.querySelectorAll('.incident-marker')].map(z);
                  return { sos, others, meldingen };
                })()"""
            )
            assert len(z["sos"]) == 1 and z["sos"][0] > max(z["others"])
            assert z["meldingen"] and max(z["meldingen"]) < min(z["others"] + z["sos"])
            colours = await page.evaluate(
                """(() => {
                  const bg = (sel) => getComputedStyle(document.querySelector(sel)).backgroundColor;
                  return { sos: bg('.unit-marker.sos .dot'), busy: bg('#unit-rows .st-busy') };
                })()"""
            )
            assert colours["sos"] != colours["busy"]
            await banner.locator("button[data-zoom]").click()
            await page.wait_for_timeout(600)
            await screenshot(page, "alarm-emergency-on-map", tmp_path)
    assert page.errors == []


async def test_many_alarms_keep_the_unit_list_and_alles_gezien_never_clears_a_safety_alarm(
    database_url: str, tmp_path: Path
) -> None:
    aw = await build_alarm_world(database_url)
    safety, routine = await _open_alarms(database_url, aw)
    async with running(make_settings(database_url, tmp_path)) as server:
        for viewport in ((1280, 800), (1600, 900)):
            async with chromium(viewport) as page:
                await log_in(page, server.base, "operator_mk", PASSWORD)
                lane = page.locator("#emergency")
                await page.wait_for_function(
                    f"() => document.querySelectorAll('#safety-list article').length === {len(safety)}"
                )
                await page.locator("#emergency .who .person").first.wait_for()
                # the unit list keeps rows: all six units of gemeente A fit below the lane and the alarm list
                visible = await page.evaluate(
                    """(() => {
                      const box = document.querySelector('#tab-units').getBoundingClientRect();
                      return [...document.querySelectorAll('#unit-rows tr')].filter((tr) => {
                        const r = tr.getBoundingClientRect();
                        return r.height > 0 && r.top >= box.top && r.bottom <= box.bottom + 1;
                      }).length;
                    })()"""
                )
                assert visible >= 6, f"only {visible} unit rows visible at {viewport}"
                assert "12 veiligheidsalarmen open" in await page.inner_text("#safety-count")
                silent = lane.locator("article.silent")
                assert await silent.count() == 1
                assert "STIL ALARM — niet terugbellen, via portofoon afstemmen" in await silent.inner_text()
                # nobody acknowledged these within the default 20 s: the server escalates them for real and
                # each arrives again with escalation_level >= 1 — same banner, flashing, louder
                if viewport == (1600, 900):
                    escalated = lane.locator(f"article[data-alert='{safety[4]}']")
                    await escalated.locator(".esc", has_text="GEËSCALEERD").wait_for()
                    assert "escalated" in (await escalated.get_attribute("class") or "")
                    assert await lane.locator("article").count() == len(safety)  # in place, not twice
                    await page.wait_for_function("() => window.__schakel.alarmLevel === 2")
                    await page.wait_for_function("() => window.__schakel.beepGain > 0.2")
                    await page.wait_for_timeout(800)
                    await screenshot(page, "alarms-many", tmp_path)
                    # "Alles gezien" clears the routine ones, never a safety alarm
                    assert await page.inner_text("#alert-count") == str(len(routine))
                    await page.click("#alerts-seen")
                    await page.wait_for_function(
                        "() => document.querySelector('#alert-count').textContent === ''"
                    )
                    assert await lane.locator("article").count() == len(safety)
                    await page.click("#alerts-toggle")
                    assert await page.locator("#alert-list").is_hidden()
                    assert await lane.is_visible()
                else:
                    await page.wait_for_timeout(800)
                    await screenshot(page, "alarms-many-1280", tmp_path)
                assert page.errors == []
    acked = await _fetch(database_url, "SELECT kind, acknowledged_at IS NOT NULL AS acked FROM alerts")
    assert {r["kind"] for r in acked if r["acked"]} == set(ROUTINE)
    assert not any(r["acked"] for r in acked if r["kind"] not in ROUTINE)


# --- helpers ------------------------------------------------------------------------------------------------


async def _fetch(url: str, sql: str) -> list[asyncpg.Record]:
    conn = await asyncpg.connect(url)
    try:
        return list(await conn.fetch(sql))
    finally:
        await conn.close()


async def _incident_with_task(server: Server, unit_id: int) -> int:
    import httpx

    operator = await login(server.base, "operator_mk")
    headers = {"Authorization": f"Bearer {operator['access_token']}"}
    async with httpx.AsyncClient(base_url=server.base, headers=headers) as http:
        r = await http.post(
            "/api/incidents",
            json={"category": "Afval / dumping", "priority": 3, "lon": OUDE_ZIJDE[0], "lat": OUDE_ZIJDE[1]},
        )
        assert r.status_code == 201, r.text
        incident_id = int(r.json()["incident_id"])
        r = await http.post(f"/api/incidents/{incident_id}/tasks", json={"unit_id": unit_id})
        assert r.status_code == 201, r.text
    return incident_id


async def _open_alarms(url: str, aw: AlarmWorld) -> tuple[list[int], list[int]]:
    """Twelve open safety alarms (one silent, with a text, of every kind) and six routine ones, as stored
    alerts the console's snapshot brings: the situation after a bad twenty minutes."""
    units = [aw.world.unit_a, *aw.neighbours.values()]
    now = datetime.now(UTC)
    kinds = ["noodknop", "man_down", "assistance", "checkin_missed"] * 3
    conn = await asyncpg.connect(url)
    try:
        safety = []
        for i, kind in enumerate(kinds):
            payload: dict[str, Any] = {"lon": OUDE_ZIJDE[0], "lat": OUDE_ZIJDE[1] + i * 0.001}
            if i == 0:  # the newest: a silent noodknop
                payload["silent"] = True
            if kind == "assistance":
                payload["text"] = "Agressieve man met hond bij de ingang van het station, collega's gevraagd"
            safety.append(
                await _alert(
                    conn,
                    aw.world.org_a,
                    units[i % len(units)],
                    kind,
                    now - timedelta(seconds=30 + i * 40),
                    payload,
                )
            )
        routine = [
            await _alert(
                conn, aw.world.org_a, units[i % len(units)], ROUTINE[i % 3], now - timedelta(minutes=i), {}
            )
            for i in range(6)
        ]
    finally:
        await conn.close()
    return safety, routine


async def _alert(
    conn: asyncpg.Connection, org: int, unit: int, kind: str, at: datetime, payload: dict[str, Any]
) -> int:
    alert_id: int = await conn.fetchval(
        """INSERT INTO alerts (org_id, unit_id, kind, at, payload)
           VALUES ($1, $2, $3, $4, $5::jsonb) RETURNING id""",
        org,
        unit,
        kind,
        at,
        json.dumps(payload),
    )
    return alert_id
