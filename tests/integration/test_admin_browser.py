"""Beheer and Privacy in headless Chromium against the real app: each section driven as its role against data
the test made, and a boa, an operator and a team lead refused in Dutch."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import pytest
import websockets

from backend.orgs import repository as orgs
from shared.protocol import Welcome
from tests.integration.browser import chromium, skip_without_chromium
from tests.integration.harness import PASSWORD, Server, bearer, login, make_settings, running, socket_to
from tests.integration.registrations_kit import fine, waarneming
from tests.integration.world import World, build_world

pytestmark = [pytest.mark.browser, skip_without_chromium()]
SCREENSHOTS = os.environ.get("SCHAKEL_SCREENSHOTS")


async def shot(page: Any, name: str, tmp: Path) -> None:
    target = Path(SCREENSHOTS) if SCREENSHOTS else tmp
    target.mkdir(parents=True, exist_ok=True)
    await page.screenshot(path=str(target / f"{name}.png"), full_page=True)


async def sign_in(page: Any, url: str, username: str) -> None:
    await page.goto(url)
    await page.fill("#ws-login-form input[name=username]", username)
    await page.fill("#ws-login-form input[name=password]", PASSWORD)
    await page.click("#ws-login-form button[type=submit]")
    await page.wait_for_selector("#ws-main, #ws-refused", timeout=10_000)


async def _world(url: str) -> World:
    world = await build_world(url)
    conn = await asyncpg.connect(url)
    try:
        await orgs.create_account(
            conn, org_id=world.org_a, username="privacy_a", password=PASSWORD, role="privacy_officer"
        )
        for i in range(1, 9):  # a team of some size, long names included
            await orgs.create_account(
                conn, org_id=world.org_a, username=f"boa{i:02d}", password=PASSWORD, role="boa",
                display_name=f"Handhaver {i} van der Velde-Oosterhuis" if i % 3 == 0 else f"Boa {i}",
            )  # fmt: skip
    finally:
        await conn.close()
    return world


async def test_an_admin_runs_organisations_accounts_tablets_and_retention(
    database_url: str, tmp_path: Path
) -> None:
    world = await _world(database_url)
    async with running(make_settings(database_url, tmp_path)) as server, chromium((1400, 900)) as page:
        await sign_in(page, server.base + "/beheer/", "admin_a")
        main = page.locator("#ws-main")
        await main.locator("h1", has_text="Beheer").wait_for()

        # organisations: create, link to the meldkamer, rename
        await page.fill("#org-new input[name=name]", "Gemeente Zaanstad")
        await page.click("#org-new button[type=submit]")
        await page.locator("#org-table tr", has_text="Gemeente Zaanstad").wait_for()
        await page.fill("#org-new input[name=name]", "Zaanstad")
        await page.click("#org-new button[type=submit]")
        await page.locator("#org-new .error", has_text="al in gebruik").wait_for()
        await page.select_option("#org-link select[name=gemeente]", label="Gemeente Zaanstad")
        await page.click("#org-link button[type=submit]")
        await page.locator(".done", has_text="Meldkamer A bedient nu Gemeente Zaanstad").wait_for()
        mk_row = page.locator(f"#org-table tr[data-org='{world.meldkamer}']")
        await mk_row.locator("span.confirm", has_text="Gemeente Zaanstad").wait_for()
        row = page.locator("#org-table tr[data-org]", has_text="zaanstad")
        await row.locator("input[name=name]").fill("Gemeente Zaanstad (Zaandam, Wormer)")
        await row.locator("button", has_text="Hernoemen").click()
        await page.locator(".done", has_text="Hernoemd").wait_for()
        await shot(page, "beheer-organisaties", tmp_path)

        # accounts: the policy at creation, a role change, deactivation, a reset
        await page.click("button[data-tab=accounts]")
        await page.fill("#acc-new input[name=username]", "j.devries")
        await page.fill("#acc-new input[name=display_name]", "Jan de Vries")
        await page.select_option("#acc-new select[name=role]", "teamlead")
        await page.fill("#acc-new input[name=password]", "welkom123456")
        await page.click("#acc-new button[type=submit]")
        await page.locator("#acc-new .error", has_text="Wachtwoord geweigerd").wait_for()
        await page.fill("#acc-new input[name=password]", "lange-zin-als-wachtwoord-7")
        await page.click("#acc-new button[type=submit]")
        await page.locator(".done", has_text='Account "j.devries" aangemaakt als teamleider').wait_for()
        row = page.locator("#acc-table tr", has_text="j.devries")
        await row.locator("select[data-role]").select_option("boa")
        await page.locator(".done", has_text="j.devries is nu boa").wait_for()
        row = page.locator("#acc-table tr", has_text="j.devries")
        await row.locator("input[name=new_password]").fill("wachtwoord1234")
        await row.locator("button", has_text="Wachtwoord resetten").click()
        await row.locator(".error", has_text="Wachtwoord geweigerd").wait_for()
        await row.locator("input[name=new_password]").fill("nog-een-lange-wachtzin-8")
        await row.locator("button", has_text="Wachtwoord resetten").click()
        await page.locator(".done", has_text="wachtwoord van j.devries is gereset").wait_for()
        row = page.locator("#acc-table tr", has_text="j.devries")
        await row.locator("button", has_text="Deactiveren").click()
        await row.locator("button", has_text="Ja").click()
        await page.locator(".done", has_text="j.devries is gedeactiveerd").wait_for()
        await page.locator("#acc-table tr", has_text="j.devries").locator("text=gedeactiveerd").wait_for()
        async with httpx.AsyncClient(base_url=server.base) as http:
            gone = await http.post(
                "/api/auth/login", json={"username": "j.devries", "password": "nog-een-lange-wachtzin-8"}
            )
        assert gone.status_code == 401
        await shot(page, "beheer-accounts", tmp_path)

        # tablets: a koppelcode and QR code shown once; the tablet logs in with it; revoked, its socket is cut
        await page.click("button[data-tab=apparaten]")
        await page.fill("#tablet-new input[name=name]", "Tablet 7")
        await page.select_option("#tablet-new select[name=unit_id]", label="A-01")
        await page.click("#tablet-new button[type=submit]")
        code = (await page.locator("#issued-code").text_content() or "").strip()
        device_id = int(
            await page.locator("#device-table tr", has_text="Tablet 7").get_attribute("data-device")
        )
        assert (
            len(code) >= 40
            and await page.locator("#issued-secret img[src^='data:image/svg+xml']").count() == 1
        )
        await shot(page, "beheer-tablet-koppelcode", tmp_path)
        await page.click("#issued-close")
        assert await page.locator("#issued-code").count() == 0

        boa = await login(server.base, "boa_a", device_id, code)
        async with socket_to(server.ws + "/ws/field", boa["access_token"]) as tablet:
            assert isinstance(await tablet.recv(), Welcome)
            await page.click("button[data-tab=organisaties]")
            await page.click("button[data-tab=apparaten]")
            row = page.locator("#device-table tr", has_text="Tablet 7")
            await row.locator("text=nu verbonden").wait_for()
            await row.locator("button", has_text="Intrekken").click()
            await row.locator("text=direct afgesloten").wait_for()
            await row.locator("button", has_text="Ja").click()
            await page.locator(".done", has_text="Tablet 7 is ingetrokken").wait_for()
            with pytest.raises(websockets.ConnectionClosed):
                while True:
                    await tablet.ws.recv()
        await page.locator("#device-table tr", has_text="Tablet 7").locator("text=ingetrokken").wait_for()

        await page.fill("#tracker-new input[name=name]", "Tracker scooter Oude Zijde")
        await page.select_option("#tracker-new select[name=unit_id]", label="A-01")
        await page.click("#tracker-new button[type=submit]")
        key = (await page.locator("#issued-code").text_content() or "").strip()
        async with httpx.AsyncClient(base_url=server.base) as http:
            fix = await http.get("/osmand", params={"id": key, "lat": "52.3745", "lon": "4.8970"})
        assert fix.status_code == 200, fix.text
        await shot(page, "beheer-apparaten", tmp_path)

        # retention periods, in Dutch words
        await page.click("button[data-tab=bewaartermijnen]")
        form = page.locator("form[data-regime=avg]")
        await form.locator("input[name=archive_after]").fill("vier jaar")
        await form.locator("button").click()
        await form.locator(".error", has_text="Geen geldige termijn").wait_for()
        await form.locator("input[name=archive_after]").fill("4 jaar")
        await form.locator("button").click()
        await page.locator(".done", has_text="AVG (toezicht) opgeslagen").wait_for()
        assert await page.locator("form[data-regime=avg] input[name=archive_after]").input_value() == "4 jaar"
        await shot(page, "beheer-bewaartermijnen", tmp_path)
    assert page.errors == []


async def _client(server: Server, who: str, device_id: int | None = None) -> httpx.AsyncClient:
    session = await login(server.base, who, device_id)
    return httpx.AsyncClient(base_url=server.base, headers=bearer(session), timeout=30)


async def test_a_privacy_officer_reads_the_audit_log_answers_an_inzage_and_runs_retention(
    database_url: str, tmp_path: Path
) -> None:
    world = await _world(database_url)
    async with running(make_settings(database_url, tmp_path)) as server, chromium((1400, 900)) as page:
        boa, boa_b, lead = (
            await _client(server, "boa_a", world.tablet_a),
            await _client(server, "boa_b", world.tablet_b),
            await _client(server, "lead_a"),
        )
        try:
            ticket, old = fine(), waarneming()
            for body in (ticket, old):
                assert (await boa.post("/api/registrations", json=body)).status_code == 201
            assert (await lead.get(f"/api/registrations/{ticket['id']}")).status_code == 200  # a read
            assert (await boa_b.get(f"/api/registrations/{ticket['id']}")).status_code == 404  # a probe
        finally:
            for c in (boa, boa_b, lead):
                await c.aclose()
        conn = await asyncpg.connect(database_url)
        try:
            await conn.execute(
                "UPDATE registrations SET received_at = now() - interval '4 years' WHERE id = $1", old["id"]
            )
        finally:
            await conn.close()

        await sign_in(page, server.base + "/privacy/", "privacy_a")
        await page.locator("#audit-table").wait_for()
        await page.select_option("#audit-filter select[name=result]", "denied")
        await page.click("#audit-filter button[type=submit]")
        denied = page.locator("#audit-table tbody tr")
        await denied.first.locator("text=boa_b").wait_for()
        assert await denied.count() == 1 and ticket["id"] in (await denied.first.text_content() or "")
        await page.select_option("#audit-filter select[name=result]", "")
        await page.select_option("#audit-filter select[name=action]", "read")
        await page.click("#audit-filter button[type=submit]")
        await page.locator("#audit-table tbody tr", has_text="lead_a").wait_for()
        await page.select_option("#audit-filter select[name=action]", "")
        await page.click("#audit-filter button[type=submit]")
        await page.locator("#audit-table tbody tr", has_text="boa_b").wait_for()
        await shot(page, "privacy-auditlog", tmp_path)

        await page.click("button[data-tab=inzage]")
        await page.fill("#inzage-form input[name=name]", "Jan Jansen")
        await page.fill("#inzage-form input[name=birth_date]", "1990-04-01")
        await page.fill("#inzage-form input[name=reason]", "Verzoek van betrokkene, brief van 28 november")
        await page.click("#inzage-form button[type=submit]")
        regs = page.locator("#inzage-registrations tbody tr")
        await regs.first.wait_for()
        assert await regs.count() == 1 and "boete" in (await regs.first.text_content() or "")
        await page.locator("#inzage-disclosures tbody tr", has_text="ingezien").first.wait_for()
        await shot(page, "privacy-inzage", tmp_path)

        await page.click("button[data-tab=bewaren]")
        await page.click("#retention-preview button[type=submit]")
        await page.locator("#pass-result", has_text="er is niets veranderd").wait_for()
        assert await page.locator("#pass-archived").text_content() == "1"
        assert old["id"] in (await page.locator("#pass-result").text_content() or "")
        await shot(page, "privacy-bewaarronde-proef", tmp_path)
        await page.click("#retention-run")
        await page.click("#retention-run-yes")
        await page.locator("#pass-result", has_text="Ronde uitgevoerd").wait_for()
        await page.locator("#retention-runs tbody tr").first.wait_for()
        assert (
            await page.locator("#retention-runs tbody tr").first.locator("td.num").first.text_content()
        ) == "1"
        await shot(page, "privacy-bewaarronde", tmp_path)
        conn = await asyncpg.connect(database_url)
        try:
            assert (
                await conn.fetchval("SELECT state FROM registrations WHERE id = $1", old["id"]) == "archived"
            )
        finally:
            await conn.close()
    assert page.errors == []


async def test_other_roles_are_refused_in_dutch(database_url: str, tmp_path: Path) -> None:
    await _world(database_url)
    async with running(make_settings(database_url, tmp_path)) as server, chromium((1000, 700)) as page:
        for path, who in (("/beheer/", "boa_a"), ("/beheer/", "operator_mk"), ("/beheer/", "lead_a"),
                          ("/beheer/", "privacy_a"), ("/privacy/", "boa_a"), ("/privacy/", "operator_mk"),
                          ("/privacy/", "lead_a")):  # fmt: skip
            await sign_in(page, server.base + path, who)
            refused = page.locator("#ws-refused")
            await refused.locator("h1", has_text="Geen toegang").wait_for()
            assert "is niet voor deze rol" in (await refused.text_content() or ""), (path, who)
            assert await page.locator("#ws-main").count() == 0
            if (path, who) == ("/beheer/", "lead_a"):
                await shot(page, "beheer-geen-toegang", tmp_path)
            await page.click("#ws-logout")
            await page.wait_for_selector("#ws-login-form")
    assert page.errors == []
