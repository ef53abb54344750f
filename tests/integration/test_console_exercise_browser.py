"""Drill meldingen in the meldkamer console (headless Chromium, the real app): a melding made for an exercise
or a test carries an OEFENING / TEST badge in the list and in the detail; real ones beside it carry none."""

from __future__ import annotations

import os
from pathlib import Path

import httpx
import pytest

from tests.integration.browser import chromium, log_in, screenshot, skip_without_chromium
from tests.integration.harness import PASSWORD, bearer, login, make_settings, running
from tests.integration.world import NIEUWE_ZIJDE, OUDE_ZIJDE, build_world

pytestmark = [pytest.mark.browser, skip_without_chromium()]


async def test_drill_meldingen_are_marked_in_the_list_and_the_detail(
    database_url: str, tmp_path: Path
) -> None:
    await build_world(database_url)
    async with running(make_settings(database_url, tmp_path)) as server, chromium() as page:
        operator = await login(server.base, "operator_mk")
        async with httpx.AsyncClient(base_url=server.base, headers=bearer(operator)) as http:
            made = {}
            for n, (category, exercise, priority) in enumerate(
                [
                    ("Oefening grootschalige ontruiming evenemententerrein", "exercise", 1),
                    ("Geluidsoverlast", "", 2),
                    ("Proefmelding koppeling meldkamer", "test", 3),
                    ("Afval", "", 3),
                    ("Parkeren", "", 2),
                ]
            ):
                lon, lat = OUDE_ZIJDE if n % 2 else NIEUWE_ZIJDE
                r = await http.post(
                    "/api/incidents",
                    json={
                        "category": category[:80],
                        "priority": priority,
                        "lon": lon + n * 0.0015,
                        "lat": lat,
                        "description": f"Meldkamer-incident GMS-0000{n}, oefenscenario B: drie duo's, "
                        "verzamelen bij de hoofdingang, rapporteren aan de oefenleider"
                        if exercise
                        else "",
                        "exercise": exercise,
                    },
                )
                assert r.status_code == 201, r.text
                made[category] = r.json()
            bad = await http.post(
                "/api/incidents",
                json={"category": "x", "priority": 2, "lon": 4.9, "lat": 52.37, "exercise": "drill"},
            )
            assert bad.status_code == 400 and "exercise" in bad.text
        await log_in(page, server.base, "operator_mk", PASSWORD)
        await page.click(".tabs button[data-tab=incidents]")
        drill = page.locator("#incident-list li", has_text="Oefening grootschalige")
        await drill.locator(".pill.drill", has_text="OEFENING").wait_for()
        await (
            page.locator("#incident-list li", has_text="Proefmelding")
            .locator(".pill.drill", has_text="TEST")
            .wait_for()
        )
        for real in ("Geluidsoverlast", "Afval", "Parkeren"):
            assert await page.locator("#incident-list li", has_text=real).locator(".pill.drill").count() == 0
        # on the map: the two drills fly a striped flag saying so, the three real ones a plain one
        assert await page.locator(".incident-marker.drill", has_text="P1 OEF").count() == 1
        assert await page.locator(".incident-marker.drill", has_text="P3 TEST").count() == 1
        assert await page.locator(".incident-marker:not(.drill)").count() == 3
        await screenshot(page, "incident-oefening-list", tmp_path)
        await drill.click()
        await page.locator("#detail h3 .pill.drill", has_text="OEFENING").wait_for()
        await screenshot(page, "incident-oefening-detail", tmp_path)
        # the operator marks a melding as a drill in the form
        await page.click(".tabs button[data-tab=new]")
        await page.fill("input[name=category]", "Oefening verward persoon")
        await page.fill("input[name=address]", "Burgwallen-Oude Zijde")
        await page.check("input[name=exercise]")
        await screenshot(page, "new-incident-oefening", tmp_path)
        await page.click("#incident-form button[type=submit]")
        await page.locator("#detail h3 .pill.drill", has_text="OEFENING").wait_for()
        assert "Oefening verward persoon" in await page.locator("#detail h3").inner_text()
    assert page.errors == []
    # the team lead's Vandaag page marks the drills too
    async with running(make_settings(database_url, tmp_path)) as server, chromium((1440, 1000)) as page:
        await page.goto(server.base + "/teamleider/")
        await page.fill("input[name=username]", "lead_a")
        await page.fill("input[name=password]", PASSWORD)
        await page.click("button[type=submit]")
        drill_row = page.locator("#incidents tr", has_text="Oefening grootschalige")
        await drill_row.locator(".badge", has_text="OEFENING").wait_for()
        await (
            page.locator("#incidents tr", has_text="Proefmelding")
            .locator(".badge", has_text="TEST")
            .wait_for()
        )
        assert "OEFENING" not in await page.locator("#incidents tr", has_text="Geluidsoverlast").inner_text()
        target = Path(os.environ.get("SCHAKEL_SCREENSHOTS") or tmp_path)
        await page.screenshot(path=str(target / "teamlead-vandaag-oefening.png"), full_page=True)
        assert page.errors == []
