"""Screenshots of the console on the demo (Amsterdam's 97 buurten, simulated duos) for docs/screenshots.

Opt-in: `SCHAKEL_SCREENSHOTS=docs/screenshots .venv/bin/python -m pytest -q -p no:logging
tests/integration/test_console_screens.py`. The pictures are for people to look at, so they are not compared.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
from datetime import UTC, datetime
from pathlib import Path

import httpx
import pytest

from backend.demo.seed import DEMO_DEVICE_SECRET, DEMO_PASSWORD, seed_demo
from backend.geocoding.simulator import serving
from backend.simulate import simulate
from shared.protocol import NoodknopPressed, PositionReported
from tests.integration.browser import chromium, log_in, screenshot, skip_without_chromium
from tests.integration.harness import make_settings, running, socket_to

pytestmark = [
    pytest.mark.browser,
    skip_without_chromium(),
    pytest.mark.skipif(
        not os.environ.get("SCHAKEL_SCREENSHOTS"), reason="set SCHAKEL_SCREENSHOTS=<dir> to take them"
    ),
]


async def test_console_screens_on_the_demo(database_url: str, tmp_path: Path) -> None:
    await seed_demo(database_url)
    async with (
        serving() as geocoder,  # addresses as `schakel demo` has them: the local Locatieserver simulator
        running(
            make_settings(database_url, tmp_path, operator_tick_s=0.5, geocoder_url=geocoder.url)
        ) as server,
        httpx.AsyncClient(base_url=server.base) as http,
        chromium() as page,
    ):
        sim = asyncio.create_task(simulate(server.base, units=11, speed=20.0, interval_s=1.0))
        try:
            await page.goto(server.base + "/meldkamer")
            await screenshot(page, "login", tmp_path)
            await log_in(page, server.base, "operator", DEMO_PASSWORD)
            await page.wait_for_function(
                "() => document.querySelectorAll('.unit-marker').length >= 11", timeout=30_000
            )
            await page.wait_for_timeout(4000)
            await screenshot(page, "live-map", tmp_path)

            # the twelfth duo presses the noodknop
            units = {u["call_sign"]: u for u in await _get(http, "/api/units", "teamlead")}
            devices = {d["name"]: d for d in await _get(http, "/api/devices", "teamlead")}
            device_id = devices["demo-tablet-12"]["id"]
            boa = (
                await http.post(
                    "/api/auth/login",
                    json={
                        "username": "boa23",
                        "password": DEMO_PASSWORD,
                        "device_id": device_id,
                        "device_secret": DEMO_DEVICE_SECRET,
                    },
                )
            ).json()
            unit = units["HH-12"]
            r = await http.post(
                "/api/shifts",
                headers={"Authorization": f"Bearer {boa['access_token']}"},
                json={"unit_id": unit["id"], "beat_ids": unit["assigned_beat_ids"]},
            )
            r.raise_for_status()
            async with socket_to(server.ws + "/ws/field", boa["access_token"]) as tablet:
                welcome = await tablet.recv()
                lon, lat = 4.8990, 52.3725
                await tablet.send(
                    PositionReported(seq=welcome.acked + 1, lon=lon, lat=lat, at=datetime.now(UTC))
                )
                await page.wait_for_timeout(1500)
                await tablet.send(
                    NoodknopPressed(seq=welcome.acked + 2, at=datetime.now(UTC), lon=lon, lat=lat)
                )
                await page.locator("#emergency", has_text="NOODKNOP").wait_for()
                # the address is looked up after the alarm is stored; the banner asks again every 2 s
                await page.locator("#emergency .addr", has_text="Amsterdam").wait_for(timeout=10_000)
                await screenshot(page, "noodknop", tmp_path)
                await page.locator("#emergency button").first.click()
                await page.locator("#alert-list li.acked", has_text="bevestigd door").first.wait_for()

                # a melding by address search, with proposals; the nearest duo is tasked
                await page.click(".tabs button[data-tab=new]")
                await page.fill("input[name=category]", "Overlast alcohol/drugs")
                await page.check("input[name=priority][value='1']")
                await page.fill(
                    "textarea[name=description]", "Drie personen drinken op de stoep, melder belt opnieuw"
                )
                await page.locator("#address-input").press_sequentially("Nieuwmarkt", delay=40)
                await page.locator("#address-suggestions li[role=option]").nth(2).wait_for()
                await page.wait_for_timeout(300)
                await screenshot(page, "new-incident", tmp_path)
                await page.locator("#address-suggestions li[role=option]", has_text="Nieuwmarkt 4,").click()
                await page.locator("#picked", has_text="Plaats: Nieuwmarkt 4,").wait_for()
                await page.click("#incident-form button[type=submit]")
                await page.locator("#proposals button", has_text="Koppelen").first.wait_for()
                await page.wait_for_timeout(800)
                await screenshot(page, "incident-proposals", tmp_path)
                await page.locator("#proposals button", has_text="Koppelen").first.click()
                await page.locator("#timeline li", has_text="opdracht verstrekt").wait_for()
                await page.click(".tabs button[data-tab=units]")
                await page.wait_for_timeout(1200)
                await screenshot(page, "units", tmp_path)
        finally:
            sim.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await sim
    assert page.errors == []


async def _get(http: httpx.AsyncClient, path: str, username: str) -> list[dict[str, object]]:
    session = (
        await http.post("/api/auth/login", json={"username": username, "password": DEMO_PASSWORD})
    ).json()
    r = await http.get(path, headers={"Authorization": f"Bearer {session['access_token']}"})
    r.raise_for_status()
    return r.json()  # type: ignore[no-any-return]
