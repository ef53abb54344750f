"""Police area alerts in the meldkamer console (headless Chromium, the real app, the bridge's service account
posting): an alert appears under "Politiemeldingen" with its headline and the units it reached, the row is
updated in place when a tablet gets it later, one whose `expires` passes leaves the list by itself, and a
console opened afterwards shows those still in force (from its snapshot)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest

from shared.protocol import AreaAlert, Welcome
from tests.integration.browser import chromium, log_in, screenshot, skip_without_chromium
from tests.integration.harness import PASSWORD, bearer, login, make_settings, running, socket_to
from tests.integration.test_area_alerts_late import known_inside
from tests.integration.test_cluster_police import RING, report_inside, world_with_bridge

pytestmark = [pytest.mark.browser, skip_without_chromium()]

LONG = (
    "Gezocht: twee verdachten na overval op juwelier Damstraat, gevlucht te voet richting Nieuwmarkt, "
    "signalement: man 1 ca. 25 jaar, donkere jas met capuchon, witte sneakers; man 2 ca. 30 jaar, "
    "grijs trainingspak, rugtas. Mogelijk gewapend: niet zelf aanhouden, wel melden"
)
DRILL = "OEFENING: zoekactie vermiste persoon Nieuwmarkt"


async def test_area_alerts_appear_with_the_units_reached_and_in_a_console_opened_later(
    database_url: str, tmp_path: Path
) -> None:
    world = await world_with_bridge(database_url)
    now = datetime.now(UTC)

    def alert(identifier: str, headline: str, expires: datetime, **area: object) -> dict[str, object]:
        return {"source": "politie", "identifier": identifier, "headline": headline, "severity": "Severe",
                "urgency": "Immediate", "area_desc": "Amsterdam-Centrum, Burgwallen-Oude Zijde en omgeving",
                "description": "Bron: politie eenheid Amsterdam.", "sent": now.isoformat(),
                "expires": expires.isoformat(), **area}  # fmt: skip

    async with running(make_settings(database_url, tmp_path)) as server, chromium() as page:
        service = await login(server.base, "bridge_mk")
        boa = await login(server.base, "boa_a", world.tablet_a)
        async with socket_to(server.ws + "/ws/field", boa["access_token"]) as tablet:
            await report_inside(tablet)  # A-01 stands inside the ring, then its tablet goes out of reach
            await known_inside(server, world.unit_a)
        await log_in(page, server.base, "operator_mk", PASSWORD)
        rows = page.locator("#area-alert-list li")
        async with httpx.AsyncClient(base_url=server.base, headers=bearer(service)) as bridge:
            for body in (
                alert("p-long", LONG, now + timedelta(hours=3), polygons=[RING]),
                alert(
                    "p-drill",
                    DRILL,
                    now + timedelta(hours=1),
                    circles=[{"lon": 4.9005, "lat": 52.3725, "radius_km": 0.25}],
                ),  # fmt: skip
                alert(
                    "p-brief",
                    "Kortdurend: afzetting Oudezijds Voorburgwal",
                    now + timedelta(seconds=8),
                    circles=[{"lon": 4.885, "lat": 52.371, "radius_km": 0.15}],
                ),  # fmt: skip
            ):
                r = await bridge.post("/api/area-alerts", json=body)
                assert r.status_code == 201, r.text

            long_row = rows.filter(has_text="Gezocht: twee verdachten")
            await long_row.filter(has_text="nog geen eenheid bereikt").wait_for()
            await long_row.evaluate("li => { li.dataset.seen = 'first' }")  # the same row must be updated
            await rows.filter(has_text=DRILL).filter(has_text="ernst ernstig · urgentie direct").wait_for()
            # the tablet comes back: it gets the alert late, and the console's row says so in place
            async with socket_to(server.ws + "/ws/field", boa["access_token"]) as tablet:
                assert isinstance(await tablet.recv(), Welcome)
                late = await tablet.recv_until(lambda f: isinstance(f, AreaAlert), timeout=5)
                assert late.headline == LONG
                await long_row.filter(has_text="bereikt: A-01").wait_for(timeout=10_000)
            assert await long_row.get_attribute("data-seen") == "first"
            assert await rows.filter(has_text="Gezocht: twee verdachten").count() == 1
            # the short one leaves the list on its own once its time is up, and the map with it
            await rows.filter(has_text="Kortdurend").wait_for(state="detached", timeout=20_000)
            assert await rows.count() == 2
            assert await page.evaluate("window.__schakel.app.areaAlerts.shapes.size") == 2
            assert await page.locator("#area-alert-count").text_content() == "2"
            times = await long_row.locator(".aa-times").text_content()
            assert times is not None and "geldig tot" in times
            # picked: the area is highlighted and its whole text shown; the layout holds the long headline
            await long_row.click()
            await page.locator("#area-alert-list li.selected", has_text="Bron: politie").wait_for()
            side = await page.locator("aside.side").bounding_box()
            box = await long_row.bounding_box()
            assert side and box and box["x"] + box["width"] <= side["x"] + side["width"] + 1
            # a second click lets go of it; the drill is picked for the picture (both rows in view)
            await long_row.click()
            assert await page.locator("#area-alert-list li.selected").count() == 0
            await rows.filter(has_text=DRILL).click()
            await page.locator("#area-alert-list li.selected", has_text=DRILL).wait_for()
            await screenshot(page, "area-alerts", tmp_path)

            # a console opened now sees both from its snapshot, the expired one not
            context = await page.context.browser.new_context(
                viewport={"width": 1600, "height": 900}, locale="nl-NL", timezone_id="Europe/Amsterdam"
            )
            later = await context.new_page()
            await log_in(later, server.base, "operator_mk", PASSWORD)
            later_rows = later.locator("#area-alert-list li")
            await (
                later_rows.filter(has_text="Gezocht: twee verdachten")
                .filter(has_text="bereikt: A-01")
                .wait_for()
            )
            await later_rows.filter(has_text=DRILL).filter(has_text="nog geen eenheid bereikt").wait_for()
            assert await later_rows.count() == 2
            await context.close()
        assert page.errors == []  # type: ignore[attr-defined]
