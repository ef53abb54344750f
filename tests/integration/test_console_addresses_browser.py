"""The console's address search, map-click addresses, the down-geocoder state, proposals' travel estimate, a
melding that stays open after its last task, and the small texts (real Chromium, the geocoder simulator)."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import pytest

from backend.geocoding.simulator import serving
from shared.protocol import Ack, NoodknopPressed, PositionReported, TaskAssigned, TaskState, TaskUpdated
from tests.integration.browser import chromium, log_in, screenshot, skip_without_chromium
from tests.integration.harness import PASSWORD, bearer, login, make_settings, running, socket_to
from tests.integration.world import NIEUWE_ZIJDE, OUDE_ZIJDE, build_world

pytestmark = [pytest.mark.browser, skip_without_chromium()]


async def click_map_at(page: Any, lon: float, lat: float) -> None:
    point = await page.evaluate(
        "([lat, lon]) => { const p = window.__schakel.app.map.map.latLngToContainerPoint([lat, lon]);"
        " return {x: p.x, y: p.y}; }",
        [lat, lon],
    )
    box = await page.locator("#map").bounding_box()
    await page.mouse.click(box["x"] + point["x"], box["y"] + point["y"])


async def zoom_to(page: Any, lon: float, lat: float, zoom: int) -> None:
    """The map at that place and zoom, its animation over (a click lands where the test means it to)."""
    await page.evaluate(f"window.__schakel.app.map.zoomTo({lon}, {lat}, {zoom})")
    await page.wait_for_function(
        "([lat, lon, zoom]) => { const m = window.__schakel.app.map.map;"
        " return m.getZoom() === zoom && m.getCenter().distanceTo([lat, lon]) < 2"
        " && !document.querySelector('#map .leaflet-zoom-anim'); }",
        arg=[lat, lon, zoom],
    )


async def new_melding_tab(page: Any) -> None:
    await page.click(".tabs button[data-tab=new]")
    await page.fill("input[name=category]", "Overlast jeugd")


async def test_address_search_then_a_melding_with_its_bag_id_and_proposals_with_travel_estimates(
    database_url: str, tmp_path: Path
) -> None:
    world = await build_world(database_url)
    async with (
        serving() as sim,
        running(make_settings(database_url, tmp_path, geocoder_url=sim.url)) as server,
        chromium() as page,
    ):
        boa = await login(server.base, "boa_a", world.tablet_a)
        async with socket_to(server.ws + "/ws/field", boa["access_token"]) as tablet:
            welcome = await tablet.recv()
            seq = welcome.acked + 1
            await tablet.send(
                PositionReported(seq=seq, lon=NIEUWE_ZIJDE[0], lat=NIEUWE_ZIJDE[1], at=datetime.now(UTC))
            )
            await tablet.recv_until(lambda f: isinstance(f, Ack) and f.upto == seq)
            await log_in(page, server.base, "operator_mk", PASSWORD)
            # the unit list: time in status in words, never "2m" (metres?)
            since = await page.locator("#unit-rows tr", has_text="A-01").locator("td").nth(2).inner_text()
            assert re.fullmatch(r"\d+ (s|min)|\d+ u \d\d", since), since

            await new_melding_tab(page)
            await page.locator("#address-input").press_sequentially("warmoes 4", delay=40)
            option = page.locator("#address-suggestions li[role=option]", has_text="Warmoesstraat 40")
            await option.wait_for()
            assert await option.locator("b").count() >= 1  # what matched is marked
            await option.click()
            await page.wait_for_selector("#picked:has-text('Plaats: Warmoesstraat 40,')")
            assert (await page.input_value("#address-input")).startswith("Warmoesstraat 40, 1012")
            await page.fill("textarea[name=description]", "Groep jongeren bij de ingang, luide muziek")
            await page.click("#incident-form button[type=submit]")
            detail = page.locator("#detail")
            await detail.locator(".where", has_text="Warmoesstraat 40,").wait_for()
            await detail.locator("text=BAG 0363").wait_for()
            proposal = detail.locator("li.proposal", has_text="A-01")
            await proposal.wait_for()
            text = await proposal.inner_text()
            assert re.search(r"≈ \d+ min lopend / ≈ \d+ min fietsend", text), text
            assert "schatting" in text and "beschikbaar sinds" in text and "geen taak" in text
            assert "Schatting" in (await proposal.locator(".eta").get_attribute("title") or "")
            await screenshot(page, "address-melding", tmp_path)

            # the unit finishes its task: the melding stays open until the operator closes it
            await proposal.locator("button[data-assign]").click()
            task = await tablet.recv_until(lambda f: isinstance(f, TaskAssigned))
            assert "Warmoesstraat 40" in task.title
            for state in (TaskState.ACCEPTED, TaskState.DONE):
                seq += 1
                await tablet.send(
                    TaskUpdated(seq=seq, task_id=task.task_id, state=state, at=datetime.now(UTC))
                )
            await detail.locator("#timeline", has_text="alle eenheden gereed").wait_for()
            await detail.locator("button[data-finish]").wait_for()  # still open: the operator closes it
            assert "· open" in await detail.inner_text()
            # the timeline names people and units, not "operator" / "tablet"
            actors = await detail.locator("#timeline small").all_inner_texts()
            assert "operator" not in actors and "tablet" not in actors and "A-01" in actors
            await detail.locator("button[data-finish]").click()
            await detail.locator("text=afgesloten").first.wait_for()
        conn = await asyncpg.connect(database_url)
        try:
            row = await conn.fetchrow(
                "SELECT bag_id, buurtcode, state FROM incidents ORDER BY id DESC LIMIT 1"
            )
        finally:
            await conn.close()
        assert (
            row["bag_id"].startswith("0363")
            and row["buurtcode"].startswith("BU0363")
            and row["state"] == "closed"
        )
    assert page.errors == []


async def test_a_map_click_fills_the_address_and_a_down_geocoder_falls_back_to_the_buurt(
    database_url: str, tmp_path: Path
) -> None:
    await build_world(database_url)
    async with (
        serving() as sim,
        running(
            make_settings(database_url, tmp_path, geocoder_url=sim.url, geocoder_timeout_s=0.5)
        ) as server,
        chromium() as page,
    ):
        await log_in(page, server.base, "operator_mk", PASSWORD)
        await new_melding_tab(page)
        await zoom_to(page, *OUDE_ZIJDE, 17)  # not a fixed wait: a busy machine animates slower
        await click_map_at(page, *OUDE_ZIJDE)
        await page.wait_for_function(
            "() => document.querySelector('#address-input').value.endsWith('Amsterdam')"
        )
        assert "Plaats op de kaart:" in await page.inner_text("#picked")
        assert "(Burgwallen-Oude Zijde)" in await page.inner_text("#picked")
        assert await page.locator("#geocoder-state").is_hidden()

        sim.mode = "error"
        await page.fill("#address-input", "")
        await page.locator("#address-input").press_sequentially("Nieuwmarkt", delay=30)
        state = page.locator("#geocoder-state")
        await state.locator("text=geocoder niet bereikbaar").wait_for()
        await click_map_at(page, OUDE_ZIJDE[0] + 0.0006, OUDE_ZIJDE[1] - 0.0003)
        await state.locator("text=de melding krijgt de buurt Burgwallen-Oude Zijde").wait_for()
        # the operator typed "Nieuwmarkt" themself: the click does not overwrite it
        assert await page.input_value("#address-input") == "Nieuwmarkt"
        await page.fill("#address-input", "")
        await click_map_at(page, OUDE_ZIJDE[0] + 0.0007, OUDE_ZIJDE[1] - 0.0004)
        await page.wait_for_function(
            "() => document.querySelector('#address-input').value === 'Burgwallen-Oude Zijde'"
        )
        await page.fill("textarea[name=description]", "Melding terwijl de geocoder niet bereikbaar is")
        await screenshot(page, "geocoder-down", tmp_path)
        await page.click("#incident-form button[type=submit]")  # never blocked: the melding is made
        detail = page.locator("#detail")
        await detail.locator(".where", has_text="Burgwallen-Oude Zijde").wait_for()
        await detail.locator(
            ".geocoder-down", has_text="adres onbekend — geocoder niet bereikbaar"
        ).wait_for()
        await detail.locator("text=buurt BU03630000").wait_for()
        await screenshot(page, "geocoder-down-melding", tmp_path)
    assert page.errors == []


async def test_an_address_that_arrives_while_the_detail_loads_is_not_undone_by_the_older_read(
    database_url: str, tmp_path: Path
) -> None:
    """The melding's detail is read (no address yet) and, before that answer is in, the filler's news comes
    in live: the console keeps the news; it did go back to "Adres wordt opgezocht…" for good (the flake of
    the test above: it waited for a line the older read had taken away again)."""
    await build_world(database_url)
    async with (
        serving() as sim,
        running(
            make_settings(database_url, tmp_path, geocoder_url=sim.url, geocoder_timeout_s=30.0)
        ) as server,
        chromium() as page,
    ):
        reads: list[str | None] = []
        detail = page.locator("#detail")

        async def hold_the_read(route: Any) -> None:
            response = await route.fetch()  # read while the filler still waits for the geocoder
            reads.append((await response.json())["incident"]["address_state"])
            if len(reads) == 1:
                sim.mode = "error"
                sim.release()  # now the filler hears "unreachable"; the console gets it live
                await detail.locator(".geocoder-down").wait_for()
            await route.fulfill(response=response)  # and only then the older read lands

        await page.route(re.compile(r".*/api/incidents/\d+$"), hold_the_read)
        await log_in(page, server.base, "operator_mk", PASSWORD)
        sim.mode = "slow"  # the filler's reverse waits for the cue below
        sim.app.delay_s = 30.0
        operator = await login(server.base, "operator_mk")
        async with httpx.AsyncClient(base_url=server.base, headers=bearer(operator)) as http:
            r = await http.post(
                "/api/incidents",
                json={"category": "Afval", "priority": 3, "lon": OUDE_ZIJDE[0], "lat": OUDE_ZIJDE[1]},
            )
            assert r.status_code == 201, r.text
        await page.click(".tabs button[data-tab=incidents]")
        await page.locator("#incident-list li[data-id]", has_text="Afval").click()
        await detail.locator("#proposals:not(:has-text('Voorstel wordt berekend'))").wait_for()
        assert reads[0] is None  # the read was older than the news
        assert await detail.locator(
            ".geocoder-down", has_text="adres onbekend — geocoder niet bereikbaar · buurt BU03630000"
        ).is_visible()
        assert "Adres wordt opgezocht" not in await detail.inner_text()
    assert page.errors == []


async def test_a_boa_sees_why_the_console_refuses_and_icons_are_drawn_not_glyphs(
    database_url: str, tmp_path: Path
) -> None:
    await build_world(database_url)
    async with running(make_settings(database_url, tmp_path)) as server, chromium() as page:
        await page.goto(server.base + "/meldkamer")
        await page.fill("input[name=username]", "boa_a")
        await page.fill("input[name=password]", PASSWORD)
        await page.click("button[type=submit]")
        error = page.locator("#login-error", has_text="Dit account heeft geen toegang tot de meldkamer.")
        await error.wait_for()
        await page.wait_for_timeout(1000)  # no reload wipes it a moment later
        assert await error.is_visible()
        assert await page.locator("#console").is_hidden()
        html = await page.content()
        assert "🔇" not in html and "⧗" not in html
        assert await page.locator("#sound svg[aria-label='geluid uit']").count() == 1
    assert page.errors == []


async def test_the_alarm_banner_shows_the_address_once_it_is_looked_up(
    database_url: str, tmp_path: Path
) -> None:
    world = await build_world(database_url)
    async with (
        serving() as sim,
        running(make_settings(database_url, tmp_path, geocoder_url=sim.url)) as server,
        chromium() as page,
    ):
        await log_in(page, server.base, "operator_mk", PASSWORD)
        boa = await login(server.base, "boa_a", world.tablet_a)
        async with socket_to(server.ws + "/ws/field", boa["access_token"]) as tablet:
            welcome = await tablet.recv()
            seq = welcome.acked + 1
            await tablet.send(
                NoodknopPressed(seq=seq, at=datetime.now(UTC), lon=OUDE_ZIJDE[0], lat=OUDE_ZIJDE[1])
            )
            await tablet.recv_until(lambda f: isinstance(f, Ack) and f.upto == seq)
            banner = page.locator("#emergency")
            await banner.locator("text=NOODKNOP A-01").wait_for()
            address = banner.locator(".addr", has_text="Amsterdam")
            await address.wait_for(timeout=10_000)  # the banner asks again until the filler has it
            assert re.search(r"\d+, \d{4}[A-Z]{2} Amsterdam", await address.inner_text())
    assert page.errors == []
