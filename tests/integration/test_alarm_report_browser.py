"""The Alarmopvolging page in real Chromium: a team lead reads the BS 8484 figures of alarms acknowledged
after known delays, the late ones, an empty month and the CSV; a boa is refused in Dutch."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest

from tests.integration.browser import SCREENSHOTS, chromium, skip_without_chromium
from tests.integration.harness import PASSWORD, make_settings, running
from tests.integration.test_alarm_report import seed_alarms
from tests.integration.world import build_world

pytestmark = [pytest.mark.browser, skip_without_chromium()]


async def sign_in(page: Any, base: str, username: str) -> None:
    await page.goto(base + "/teamleider/alarmen")
    await page.fill("input[name=username]", username)
    await page.fill("input[name=password]", PASSWORD)
    await page.click("button[type=submit]")


async def shot(page: Any, name: str, tmp: Path) -> None:
    target = Path(SCREENSHOTS) if SCREENSHOTS else tmp
    target.mkdir(parents=True, exist_ok=True)
    await page.screenshot(path=str(target / f"alarm-report-{name}.png"), full_page=True)


async def test_a_team_lead_reads_the_acknowledgement_figures(database_url: str, tmp_path: Path) -> None:
    world = await build_world(database_url)
    seeded = await seed_alarms(database_url, world)
    async with running(make_settings(database_url, tmp_path)) as server, chromium((1400, 900)) as page:
        await sign_in(page, server.base, "lead_a")
        await page.wait_for_selector("#ar-fast", timeout=10_000)
        fast, slow = await page.inner_text("#ar-fast"), await page.inner_text("#ar-slow")
        assert "80,0 %" in fast and "norm gehaald" in fast and "niet" not in fast
        assert "90,0 %" in slow and "norm niet gehaald" in slow
        assert await page.get_attribute("#ar-fast", "class") == "ar-figure met"
        facts = await page.inner_text(".ar-facts")
        assert "Alarmen: 10" in facts and "Mediaan: 6,0 s" in facts and "12,2 s" in facts
        assert "Niet bevestigd: 1" in facts

        missed = await page.locator("#ar-missed tbody tr").all_inner_texts()
        assert len(missed) == 2
        assert "A-01" in missed[0] and "Man-down" in missed[0] and "25,0 s" in missed[0]
        assert "Operator Jansen" in missed[0]
        assert "Noodknop" in missed[1] and "niet bevestigd" in missed[1]
        kinds = await page.locator("#ar-kinds tbody tr").all_inner_texts()
        assert [k.split("\t")[0] for k in kinds] == ["Noodknop", "Man-down"]
        bars = page.locator("#ar-chart-svg rect.bar")
        assert sorted([await b.get_attribute("data-month") for b in await bars.all()]) == sorted(
            [seeded.previous_month, seeded.month]
        )
        assert "12 alarmen" in await page.inner_text("#ar-rolling")
        await shot(page, "month", tmp_path)

        async with page.expect_download() as info:
            await page.click("#ar-csv")
        download = await info.value
        assert download.suggested_filename == f"alarmopvolging-{seeded.month}.csv"
        text = Path(await download.path()).read_bytes().decode("utf-8")
        assert text.startswith("\ufeffEenheid;Soort;") and text.count("\r\n") == 11

        await page.fill("#ar-month", "2024-01")
        await page.click("#ar-form button[type=submit]")
        await page.wait_for_selector("#ar-empty")
        assert "geen gegevens" in await page.inner_text("#ar-empty")
        await shot(page, "empty", tmp_path)
        assert page.errors == []


async def test_a_boa_is_refused_in_dutch(database_url: str, tmp_path: Path) -> None:
    await build_world(database_url)
    async with running(make_settings(database_url, tmp_path)) as server, chromium((1200, 700)) as page:
        await sign_in(page, server.base, "boa_a")
        await page.wait_for_selector("#ws-refused", timeout=10_000)
        text = await page.inner_text("#ws-refused")
        assert "Geen toegang" in text and "Alarmopvolging" in text and "niet voor deze rol" in text
        assert await page.locator("#ar-out").count() == 0
        if os.environ.get("SCHAKEL_SCREENSHOTS"):
            await shot(page, "refused", tmp_path)


@pytest.mark.skipif(not os.environ.get("SCHAKEL_SCREENSHOTS"), reason="set SCHAKEL_SCREENSHOTS=<dir>")
async def test_screenshot_of_a_busy_year(database_url: str, tmp_path: Path) -> None:
    """For docs/screenshots: many alarms over twelve months, many late ones, long names (not compared)."""
    import random
    from datetime import UTC, datetime, timedelta

    import asyncpg

    from backend.alarmreport.logic import LOCAL

    world = await build_world(database_url)
    rng = random.Random(3)
    now = datetime.now(UTC).replace(microsecond=0)
    conn = await asyncpg.connect(database_url)
    try:
        ops = []
        for name in ("Operator Jansen", "Marieke van den Berg-Oudshoorn", "Sander de Vries"):
            ops.append(
                await conn.fetchval(
                    """INSERT INTO accounts (org_id, username, display_name, password_hash, role, domains)
                       SELECT org_id, $1, $2, password_hash, role, domains FROM accounts
                       WHERE username = 'operator_mk' RETURNING id""",
                    name.lower().replace(" ", "_"),
                    name,
                )
            )
        for day in range(360):
            for _ in range(rng.randint(0, 2)):
                at = now - timedelta(days=day, seconds=rng.randint(60, 80_000))
                kind = rng.choice(["noodknop", "noodknop", "man_down", "assistance", "checkin_missed"])
                delay = (
                    None
                    if rng.random() < 0.02
                    else rng.choice([rng.uniform(1, 9)] * 5 + [rng.uniform(9, 60)])
                )
                await conn.execute(
                    """INSERT INTO alerts
                         (org_id, unit_id, kind, at, payload, acknowledged_at, acknowledged_by)
                       VALUES ($1, $2, $3, $4, '{}', $5, $6)""",
                    world.org_a,
                    world.unit_a,
                    kind,
                    at,
                    None if delay is None else at + timedelta(seconds=delay),
                    None if delay is None else rng.choice(ops),
                )
    finally:
        await conn.close()
    async with running(make_settings(database_url, tmp_path)) as server, chromium((1400, 900)) as page:
        await sign_in(page, server.base, "lead_a")
        await page.wait_for_selector("#ar-fast, #ar-empty", timeout=10_000)
        last_month = (now.astimezone(LOCAL).replace(day=1) - timedelta(days=1)).strftime("%Y-%m")
        await page.fill("#ar-month", last_month)
        await page.click("#ar-form button[type=submit]")
        await page.wait_for_selector("#ar-fast", timeout=10_000)
        await shot(page, "busy-year", tmp_path)
        assert page.errors == []
