"""The server's address is a front door: sign in once and land on the page of your role (real Chromium).

An operator lands in the meldkamer console, a team lead in Vandaag (and the console links him there), an
administrator in Beheer; a boa is refused in Dutch (his place is the tablet).
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.conftest import new_database
from tests.integration.browser import chromium, skip_without_chromium
from tests.integration.harness import PASSWORD
from tests.integration.registrations_kit import environment, world_template
from tests.integration.world import World

pytestmark = [pytest.mark.browser, skip_without_chromium()]


@pytest.fixture(scope="module")
async def world_db(pg_server: str, template_db: str) -> tuple[str, World]:
    return await world_template(pg_server, template_db)


@pytest.fixture
async def db(pg_server: str, world_db: tuple[str, World]) -> tuple[str, World]:
    return await new_database(pg_server, world_db[0]), world_db[1]


@pytest.mark.parametrize(
    ("username", "lands_on"),
    [("operator_mk", "/meldkamer/"), ("lead_a", "/teamleider/"), ("admin_a", "/beheer/")],
)
async def test_each_role_lands_on_its_own_page(
    db: tuple[str, World], tmp_path: Path, username: str, lands_on: str
) -> None:
    async with environment(db, tmp_path) as env, chromium((1280, 800)) as page:
        await page.goto(env.server.base + "/")
        await page.fill("input[name=username]", username)
        await page.fill("input[name=password]", PASSWORD)
        await page.click("button[type=submit]")
        await page.wait_for_url(f"**{lands_on}")
        if lands_on == "/meldkamer/":
            await page.locator("#console").wait_for()
            assert await page.locator("#workspace-link").is_hidden()  # an operator has no workspace
    assert page.errors == []


async def test_the_console_links_a_team_lead_to_his_workspace(db: tuple[str, World], tmp_path: Path) -> None:
    async with environment(db, tmp_path) as env, chromium((1280, 800)) as page:
        await page.goto(env.server.base + "/meldkamer/")
        await page.fill("input[name=username]", "lead_a")
        await page.fill("input[name=password]", PASSWORD)
        await page.click("button[type=submit]")
        link = page.locator("#workspace-link")
        await link.wait_for(state="visible")
        assert await link.inner_text() == "Teamleider"
        await link.click()
        await page.wait_for_url("**/teamleider/")
        await page.locator("#ws-main").wait_for()  # the session carries over: no second login
    assert page.errors == []


async def test_a_boa_is_refused_at_the_front_door(db: tuple[str, World], tmp_path: Path) -> None:
    async with environment(db, tmp_path) as env, chromium((1280, 800)) as page:
        await page.goto(env.server.base + "/")
        await page.fill("input[name=username]", "boa_a")
        await page.fill("input[name=password]", PASSWORD)
        await page.click("button[type=submit]")
        refusal = page.locator("#ws-refused")
        await refusal.wait_for()
        assert "Geen toegang" in await refusal.inner_text()
    assert page.errors == []
