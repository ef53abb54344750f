"""Beheer's "Feitcodes en tarieven" tab in headless Chromium against the real app: an administrator looks up a
feitcode without an amount, has a bad tariff list refused by line and column, imports a good one and sees the
amount and the new version; a boa is refused in Dutch."""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from pathlib import Path

import pytest

from backend.feitcodes.catalogue import CATALOGUE_PATH
from backend.registrations.validation import LOCAL
from tests.integration.browser import chromium, skip_without_chromium
from tests.integration.harness import make_settings, running
from tests.integration.test_admin_browser import shot, sign_in
from tests.integration.world import build_world

pytestmark = [pytest.mark.browser, skip_without_chromium()]

BAD = "feitcode;bedrag\nBF 185;€ 110,00\nBF 110a;elf euro\n"
GOOD = (
    "Feitcode;Bedrag;Omschrijving\n"
    "BF 185;€ 110,00;wildplassen\n"
    "BF 110a;€ 150,00;bekladden\n"
    "BF 070a;250;evenement zonder vergunning\n"
)


def csv_file(name: str, text: str) -> dict[str, object]:
    return {"name": name, "mimeType": "text/csv", "buffer": text.encode()}


async def test_an_admin_looks_up_and_imports_tariffs(database_url: str, tmp_path: Path) -> None:
    await build_world(database_url)
    async with running(make_settings(database_url, tmp_path)) as server, chromium((1400, 900)) as page:
        await sign_in(page, server.base + "/beheer/#feitcodes", "admin_a")
        table = page.locator("#catalogue-table")
        await table.locator("tr", has_text="meegeleverd met Schakel").wait_for()
        assert await table.locator("tbody tr").count() == 1

        await page.fill("#feit-search input[name=q]", "BF 185")
        await page.click("#feit-search button[type=submit]")
        row = page.locator("#feit-table tr[data-code='BF 185']")
        await row.locator("text=geen bedrag in de catalogus").wait_for()
        assert "natuurlijke behoefte doen" in (await row.text_content() or "")  # the full offence text

        await page.set_input_files("#tariff-import input[name=file]", csv_file("tarieven.csv", BAD))
        await page.click("#tariff-import button[type=submit]")
        refusal = page.locator("#tariff-import .error")
        await refusal.locator("text=Regel 3, kolom bedrag").wait_for()
        assert "geen bedrag" in (await refusal.text_content() or "")
        assert await table.locator("tbody tr").count() == 1  # nothing stored

        await page.set_input_files("#tariff-import input[name=file]", csv_file("tarieven-2026.csv", GOOD))
        await page.click("#tariff-import button[type=submit]")
        await page.locator(".done", has_text="3 tarieven ingelezen uit tarieven-2026.csv").wait_for()
        new = page.locator("#catalogue-table tbody tr").first
        assert "geldt nu" in (await new.text_content() or "")
        assert "admin_a" in (await new.text_content() or "")
        shipped = page.locator("#catalogue-table tbody tr", has_text="meegeleverd")
        with_amount = [int(await r.locator("td").nth(3).inner_text()) for r in (new, shipped)]
        assert with_amount[0] == with_amount[1] + 3

        await page.fill("#feit-search input[name=q]", "BF 185")
        await page.click("#feit-search button[type=submit]")
        await page.locator("#feit-table tr[data-code='BF 185']", has_text="€ 110,00").wait_for()
        await page.fill("#feit-search input[name=q]", "vergunning")
        await page.click("#feit-search button[type=submit]")
        await page.locator("#feit-table tr[data-code='BF 070a']", has_text="€ 250,00").wait_for()
        await page.locator("#feit-table tr", has_text="geen bedrag in de catalogus").first.wait_for()
        # a list dated in the file, a month ahead: listed as coming, in force only from its own date
        later = (datetime.now(LOCAL) + timedelta(days=30)).date()
        dated = f"feitcode;bedrag;ingangsdatum\nBF 185;€ 120,00;{later:%d-%m-%Y}\n"
        await page.set_input_files("#tariff-import input[name=file]", csv_file("tarieven-2027.csv", dated))
        await page.click("#tariff-import button[type=submit]")
        await page.locator(".done", has_text=f"geldig vanaf {later.day} ").wait_for()
        await table.locator("tr", has_text="gaat nog in").wait_for()
        assert "geldt nu" in (await table.locator("tbody tr").nth(1).text_content() or "")
        await page.fill("#feit-search input[name=q]", "BF 185")
        await page.fill("#feit-search input[name=on]", later.isoformat())
        await page.click("#feit-search button[type=submit]")
        await page.locator("#feit-table tr[data-code='BF 185']", has_text="€ 120,00").wait_for()
        await page.fill("#feit-search input[name=q]", "vergunning")
        await page.fill("#feit-search input[name=on]", "")
        await page.click("#feit-search button[type=submit]")
        await page.locator("#feit-table tr[data-code='BF 070a']", has_text="€ 250,00").wait_for()
        await page.set_input_files("#tariff-import input[name=file]", csv_file("oud.csv", BAD))
        await page.click("#tariff-import button[type=submit]")
        await refusal.locator("text=Regel 3, kolom bedrag").wait_for()
        await shot(page, "beheer-feitcodes", tmp_path)

        # a complete catalogue file: a broken one refused by its field, a good one listed with its own date
        broken = {"name": "catalogus.json", "mimeType": "application/json", "buffer": b'{"version": "x"}'}
        await page.set_input_files("#catalogue-upload input[name=file]", broken)
        await page.click("#catalogue-upload button[type=submit]")
        await page.locator("#catalogue-upload .error", has_text="Catalogusbestand geweigerd").wait_for()
        catalogue = json.loads(CATALOGUE_PATH.read_bytes())
        catalogue.update(version="2026-06-01.1", valid_from="2026-06-01")
        good = {
            "name": "catalogus-2026.json",
            "mimeType": "application/json",
            "buffer": json.dumps(catalogue).encode(),
        }
        await page.set_input_files("#catalogue-upload input[name=file]", good)
        await page.click("#catalogue-upload button[type=submit]")
        await page.locator(
            ".done", has_text='Catalogus "2026-06-01.1" geladen, geldig vanaf 1 juni 2026'
        ).wait_for()
        await table.locator("tr", has_text="2026-06-01.1").wait_for()

        await page.click("#ws-logout")
        await page.wait_for_selector("#ws-login-form")
        await sign_in(page, server.base + "/beheer/#feitcodes", "boa_a")
        refused = page.locator("#ws-refused")
        await refused.locator("h1", has_text="Geen toegang").wait_for()
        assert "is niet voor deze rol" in (await refused.text_content() or "")
        assert await page.locator("#catalogue-table").count() == 0
    assert page.errors == []
