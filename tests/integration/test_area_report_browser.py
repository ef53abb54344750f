"""The Rapportage page in headless Chromium: the team lead reads the figures the test created, an empty month
says "geen gegevens", downloads work, and a boa is refused. With the demo history it makes the screenshots."""

from __future__ import annotations

import os
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from argon2 import PasswordHasher

from backend.demo.seed import DEMO_PASSWORD, seed_demo
from backend.orgs import repository as orgs_repository
from tests.conftest import new_database
from tests.integration.area_report_kit import OZ_NAME, create_activity, last_month
from tests.integration.browser import chromium, skip_without_chromium
from tests.integration.harness import PASSWORD, make_settings, running
from tests.integration.registrations_kit import environment, world_template
from tests.integration.world import World

pytestmark = [pytest.mark.browser, skip_without_chromium()]
SCREENSHOTS = os.environ.get("SCHAKEL_SCREENSHOTS")


@pytest.fixture(scope="module")
async def world_db(pg_server: str, template_db: str) -> tuple[str, World]:
    return await world_template(pg_server, template_db)


@pytest.fixture
async def db(pg_server: str, world_db: tuple[str, World]) -> tuple[str, World]:
    return await new_database(pg_server, world_db[0]), world_db[1]


async def sign_in(page: Any, url: str, username: str, password: str) -> None:
    await page.goto(url)
    await page.fill("#ws-login-form input[name=username]", username)
    await page.fill("#ws-login-form input[name=password]", password)
    await page.click("#ws-login-form button[type=submit]")


async def shot(page: Any, name: str, tmp: Path) -> None:
    target = Path(SCREENSHOTS) if SCREENSHOTS else tmp
    target.mkdir(parents=True, exist_ok=True)
    await page.screenshot(path=str(target / f"rapportage-{name}.png"), full_page=True)


async def test_team_lead_reads_the_figures_that_happened(db: tuple[str, World], tmp_path: Path) -> None:
    m = last_month(datetime.now(UTC))
    async with environment(db, tmp_path) as env, chromium() as page:
        await create_activity(env, db[0], m)
        await sign_in(page, f"{env.server.base}/teamleider/rapportage?maand={m.month}", "lead_a", PASSWORD)
        await page.wait_for_selector("#ar-total-meldingen")
        assert await page.text_content("#ar-total-meldingen") == "5"
        assert await page.text_content("#ar-total-warnings") == "1"
        assert await page.text_content("#ar-total-fines") == "3"
        assert await page.text_content("#ar-total-aggression") == "1"
        assert await page.text_content("#ar-total-police_assists") == "2"
        assert await page.text_content("#ar-total-street_hours") == "3,2"
        assert await page.text_content("#ar-total-response_p1") == "7:00"
        row = page.locator("#ar-beats tr", has_text=OZ_NAME)
        columns = ("meldingen", "warnings", "pv", "aggression", "police_assists", "street_hours", "p1_median",
                   "p1_p90")  # fmt: skip
        cells = {c: await row.locator(f"td[data-col={c}]").text_content() for c in columns}
        assert cells == {
            "meldingen": "4", "warnings": "1", "pv": "2", "aggression": "1", "police_assists": "2",
            "street_hours": "2,2", "p1_median": "7:00", "p1_p90": "15:00",
        }  # fmt: skip
        assert await page.locator("#ar-beats tr.total td[data-col=meldingen]").text_content() == "5"
        # the map has the beats, coloured, with a legend; the trend has its lines
        assert await page.locator("#ar-map .leaflet-overlay-pane path").count() >= 2
        assert "Meldingen" in await page.text_content(".ar-legend")
        await page.select_option("#ar-figure", "street_hours")
        await page.wait_for_selector(".ar-legend:has-text('Straaturen')")
        assert await page.locator("#ar-trend-svg polyline").count() == 4
        # the CSV download arrives with the figures
        async with page.expect_download() as info:
            await page.click("#ar-csv")
        download = await (await info.value).path()
        text = Path(download).read_bytes().decode("utf-8-sig")
        assert OZ_NAME in text and ";2,2;" in text
        async with page.expect_download() as info:
            await page.click("#ar-pdf")
        assert Path(await (await info.value).path()).read_bytes().startswith(b"%PDF")
        await shot(page, "testmaand", tmp_path)

        # an empty month says so
        await page.select_option("#ar-month", "2025-01")
        await page.wait_for_selector("#ar-empty")
        assert "Geen gegevens voor januari 2025" in await page.text_content("#ar-empty")
        await shot(page, "geen-gegevens", tmp_path)
    assert page.errors == []


async def test_a_boa_is_refused_in_dutch(db: tuple[str, World], tmp_path: Path) -> None:
    async with environment(db, tmp_path) as env, chromium() as page:
        await sign_in(page, f"{env.server.base}/teamleider/rapportage", "boa_a", PASSWORD)
        await page.wait_for_selector("#ws-refused")
        text = await page.text_content("#ws-refused")
        assert "Geen toegang" in text and "niet voor deze rol" in text
        assert await page.locator("#ar-body").count() == 0


@pytest.fixture
def cheap_password_hashes(monkeypatch: pytest.MonkeyPatch) -> None:
    cheap = PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)
    monkeypatch.setattr(orgs_repository, "hash_password", cheap.hash)


@pytest.mark.usefixtures("cheap_password_hashes")
async def test_demo_history_fills_the_page(database_url: str, tmp_path: Path) -> None:
    await seed_demo(database_url)
    month = last_month(datetime.now(UTC)).month
    async with running(make_settings(database_url, tmp_path)) as server, chromium((1500, 1000)) as page:
        await sign_in(page, f"{server.base}/teamleider/rapportage?maand={month}", "teamlead", DEMO_PASSWORD)
        await page.wait_for_selector("#ar-beats", timeout=30_000)
        assert int(await page.text_content("#ar-total-meldingen")) > 100
        assert await page.locator("#ar-beats tbody tr").count() > 5
        await page.wait_for_timeout(300)  # Leaflet's fit animation
        await shot(page, "demo", tmp_path)
        await page.select_option("#ar-figure", "response_p1")
        await page.wait_for_selector(".ar-legend:has-text('Aanrijtijd')")
        await shot(page, "demo-aanrijtijd", tmp_path)
        async with page.expect_download() as info:
            await page.click("#ar-pdf")
        pdf = await (await info.value).path()
        (tmp_path / "rapportage-demo.pdf").write_bytes(Path(pdf).read_bytes())  # to look at (docs/reports.md)
        assert (tmp_path / "rapportage-demo.pdf").stat().st_size > 10_000
    assert page.errors == []
