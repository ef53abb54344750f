"""The console's "Rooster nu" in headless Chromium: a late duo, one on time, a missing partner, an unplanned
unit — and a noodknop meanwhile still shows in the safety lane above it."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from backend.rooster.published import LOCAL
from shared.protocol import NoodknopPressed, PositionReported
from tests.integration.browser import chromium, log_in, screenshot, skip_without_chromium
from tests.integration.harness import PASSWORD, login, make_settings, running, socket_to
from tests.integration.rooster_published_kit import field_scenario
from tests.integration.world import OUDE_ZIJDE, build_world

pytestmark = [pytest.mark.browser, skip_without_chromium()]


async def test_rooster_now_shows_the_late_duo_and_the_one_on_time(database_url: str, tmp_path: Path) -> None:
    world = await build_world(database_url)
    now = datetime.now(UTC)
    await field_scenario(database_url, world, now)
    async with running(make_settings(database_url, tmp_path)) as server, chromium((1280, 800)) as page:
        await log_in(page, server.base, "operator_mk", PASSWORD)
        badge = page.locator("#rooster-count")
        await page.locator("#rooster-count.warn", has_text="2").wait_for()  # late + partner missing, unopened
        await page.click(".tabs button[data-tab=rooster]")
        tab = page.locator("#tab-rooster")
        late = tab.locator("li.rs-te_laat")
        await late.wait_for()
        text = await late.inner_text()
        planned = (now - timedelta(minutes=30)).astimezone(LOCAL)
        assert "A. Bakker & B. Visser" in text and "TE LAAT" in text.upper()
        assert f"gepland {planned:%H:%M}, nog niet gestart (3" in text  # 30 or 31 minutes by now
        on_time = tab.locator("li.rs-gestart")
        on_time_text = await on_time.inner_text()
        assert "A-01" in on_time_text and "C. Smit & D. Mulder" in on_time_text
        assert (
            f"gestart {planned - timedelta(minutes=2):%H:%M}" in on_time_text
            and "na gepland" not in on_time_text
        )
        missing = await tab.locator("li.rs-partner_ontbreekt").inner_text()
        assert "A-02" in missing and "zonder E. de Boer" in missing and "ander gebied dan gepland" in missing
        assert "begint" in await tab.locator("li.rs-gepland").inner_text()  # H. Jacobs, in 40 minutes
        assert "G. Los" in await tab.locator("li.rs-ongepland").inner_text()
        assert "I. Vos" not in await tab.inner_text()  # his shift ended two hours ago
        # the order puts the problems first
        states = await tab.locator("li.rooster-duo").evaluate_all("els => els.map(e => e.className)")
        assert [s.split()[-1] for s in states] == [
            "rs-te_laat",
            "rs-partner_ontbreekt",
            "rs-gepland",
            "rs-gestart",
            "rs-ongepland",
        ]
        await screenshot(page, "rooster-nu", tmp_path)
        # a click on a running duo opens its unit
        await on_time.click()
        await page.locator("#unit-title", has_text="A-01").wait_for()
        await page.locator("#detail .close").click()

        # a noodknop while the rooster is open: the safety lane is on screen above it, the rooster stays
        boa = await login(server.base, "boa_a", world.tablet_a)
        async with socket_to(server.ws + "/ws/field", boa["access_token"]) as tablet:
            await tablet.recv()
            at = datetime.now(UTC)
            await tablet.send(PositionReported(seq=1, lon=OUDE_ZIJDE[0], lat=OUDE_ZIJDE[1], at=at))
            await tablet.send(NoodknopPressed(seq=2, at=at, lon=OUDE_ZIJDE[0], lat=OUDE_ZIJDE[1]))
            lane = page.locator("#emergency")
            await lane.locator("text=NOODKNOP").first.wait_for()
            box = await lane.bounding_box()
            assert box is not None and box["y"] < 200 and box["height"] > 40  # in view, at the top
            assert await late.is_visible()
            assert await badge.inner_text() == "2"
            await screenshot(page, "rooster-nu-met-noodknop", tmp_path)
    assert page.errors == []
