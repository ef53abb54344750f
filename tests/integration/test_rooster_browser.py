"""The rooster page in real Chromium against the real app: a team lead makes a template and a plan from it,
fills cells, drags a shift, pins it, publishes and sees the diff; the four-week grid per boa and per beat with
its "onbezet" cells. Solving, repair and the violations need the solver and checker and skip without them.
With SCHAKEL_SCREENSHOTS set the screens are kept (docs/screenshots/rooster-*.png).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import asyncpg
import pytest

from tests.conftest import new_database
from tests.integration.browser import SCREENSHOTS, chromium, skip_without_chromium
from tests.integration.harness import PASSWORD
from tests.integration.registrations_kit import Env, environment, world_template
from tests.integration.rooster_kit import MONDAY, day, new_plan, ok, shift_types, team_sql
from tests.integration.world import World

pytestmark = [pytest.mark.browser, skip_without_chromium()]


@pytest.fixture(scope="module")
async def world_db(pg_server: str, template_db: str) -> tuple[str, World]:
    return await world_template(pg_server, template_db)


@pytest.fixture
async def db(pg_server: str, world_db: tuple[str, World]) -> tuple[str, World]:
    return await new_database(pg_server, world_db[0]), world_db[1]


async def shoot(page: Any, name: str, tmp: Path) -> None:
    target = Path(SCREENSHOTS) if SCREENSHOTS else tmp
    target.mkdir(parents=True, exist_ok=True)
    await page.mouse.move(0, 0)  # no hover outline in the picture
    await page.screenshot(path=str(target / f"rooster-{name}.png"), full_page=True)


async def sign_in(page: Any, url: str, username: str = "lead_a") -> None:
    await page.goto(url)
    await page.fill("input[name=username]", username)
    await page.fill("input[name=password]", PASSWORD)
    await page.click("button[type=submit]")
    await page.locator("#ws-main, #ws-refused").first.wait_for()


async def team(url: str) -> dict[str, int]:
    conn = await asyncpg.connect(url)
    try:
        rows = await conn.fetch("SELECT id, display_name FROM accounts WHERE username LIKE 'rboa%'")
        return {r["display_name"]: r["id"] for r in rows}
    finally:
        await conn.close()


def cell(page: Any, account: int, on: str) -> Any:
    return page.locator(f"#grid td.cell[data-account='{account}'][data-day='{on}']")


async def test_make_a_plan_from_a_template_fill_drag_pin_publish_and_see_the_diff(
    db: tuple[str, World], tmp_path: Path
) -> None:
    url, world = db
    async with (
        environment(db, tmp_path, extra_sql=team_sql(world.org_a)) as env,
        chromium((1600, 1100)) as page,
    ):
        ids = await team(url)
        jansen, boer = ids["A. Jansen"], ids["B. de Boer"]
        await sign_in(page, env.server.base + "/teamleider/rooster")
        await page.locator("text=Maak eerst een rooster").wait_for()
        # a template: every day vroeg, dag and laat in both beats, one duo each
        await page.click("#show-template")
        await page.fill("#template-form input[name=name]", "Weekdag")
        await page.click("#template-form button[type=submit]")
        await page.locator("#new-plan:not([hidden])").wait_for()
        assert await page.input_value("#new-plan select[name=template_id]") != ""
        await page.fill("#new-plan input[name=name]", "Week 9 centrum")
        await page.fill("#new-plan input[name=start_day]", MONDAY.isoformat())
        await page.select_option("#new-plan select[name=days]", "7")
        await page.click("#new-plan button[type=submit]")
        await page.locator(
            "#onbezet", has_text="42 diensten onbezet"
        ).wait_for()  # 7 days x 3 shifts x 2 beats
        assert await page.locator("#grid tbody tr[data-account]").count() == 14
        assert await page.locator("#grid thead th[data-day]").count() == 7
        assert "Week 9 centrum" in await page.locator("#plan-select").inner_text()
        # fill two cells through the editor: Jansen and De Boer on Monday's dag shift in Oude Zijde
        oude = world.beats_a["Burgwallen-Oude Zijde"]
        types = await shift_types(env)
        for who in (jansen, boer):
            await cell(page, who, day(0)).click()
            await page.locator("#cell-editor:not([hidden])").wait_for()
            await page.select_option("#cell-editor select[name=shift_type_id]", str(types["dag"]))
            await page.select_option("#cell-editor select[name=beat_id]", str(oude))
            await page.click("#cell-editor button[type=submit]")
            await cell(page, who, day(0)).locator(".shift", has_text="dag").wait_for()
        await page.locator("#onbezet", has_text="41 diensten onbezet").wait_for()
        # extra demand for an evenement: two duos on Saturday night in Nieuwe Zijde
        await page.click("#show-extra")
        await page.fill("#extra-form input[name=day]", day(5))
        await page.select_option("#extra-form select[name=shift_type_id]", str(types["nacht"]))
        await page.select_option(
            "#extra-form select[name=beat_id]", str(world.beats_a["Burgwallen-Nieuwe Zijde"])
        )
        await page.click("#extra-form button[type=submit]")
        await page.locator("#onbezet", has_text="43 diensten onbezet").wait_for()
        # verlof for K. Bos from Thursday to Saturday; a range the wrong way round is refused inline
        await page.click("#show-absence")
        await page.select_option("#absence-form select[name=account_id]", str(ids["K. Bos"]))
        await page.fill("#absence-form input[name=from_day]", day(3))
        await page.fill("#absence-form input[name=to_day]", day(1))
        await page.click("#absence-form button[type=submit]")
        await page.locator("#absence-form .row-msg.error", has_text="veld: to_day").wait_for()
        await page.fill("#absence-form input[name=to_day]", day(5))
        await page.click("#absence-form button[type=submit]")
        for offset in (3, 4, 5):
            await cell(page, ids["K. Bos"], day(offset)).filter(has_text="verlof").wait_for()
        # per beat: the duo's names in Oude Zijde's dag row, the rest onbezet
        await page.select_option("#mode", "beat")
        monday = (
            page.locator("#grid tbody tr", has_text="Oude Zijde")
            .filter(has_text="Dagdienst")
            .locator(f"td[data-day='{day(0)}']")
        )
        assert "Jansen / de Boer" in await monday.inner_text()
        assert await page.locator("#grid td.duo.short").count() == 42
        assert "2× onbezet" in await page.locator("#grid tbody tr", has_text="Nachtdienst").inner_text()
        await page.select_option("#mode", "boa")
        # drag Jansen's Monday to Tuesday
        await cell(page, jansen, day(0)).drag_to(cell(page, jansen, day(1)))
        await cell(page, jansen, day(1)).locator(".shift", has_text="dag").wait_for()
        assert (await cell(page, jansen, day(0)).inner_text()).strip() == ""
        # pin it
        await cell(page, jansen, day(1)).locator(".pin").click()
        await page.locator(
            f"#grid td.cell[data-account='{jansen}'][data-day='{day(1)}'] .pin[aria-pressed=true]"
        ).wait_for()
        # publish version 1 with a note
        await page.fill("#publish-form input[name=note]", "Eerste versie voor het team")
        await page.click("#publish")
        await page.locator("#publish-msg", has_text="Versie 1 gepubliceerd (2 diensten)").wait_for()
        await page.locator(
            "#version", has_text="Versie 1 gepubliceerd — Eerste versie voor het team"
        ).wait_for()
        await page.locator("#change-count", has_text="0 wijzigingen na publicatie").wait_for()
        # after publishing: De Boer moves to Wednesday; the diff shows both cells and the list
        await cell(page, boer, day(0)).drag_to(cell(page, boer, day(2)))
        await page.locator("#change-count", has_text="2 wijzigingen na publicatie").wait_for()
        assert await page.locator("#grid td.cell.changed").count() == 2
        assert await cell(page, boer, day(2)).get_attribute("class") is not None
        assert "changed" in (await cell(page, boer, day(2)).get_attribute("class") or "")
        changes = await page.locator("#change-list").inner_text()
        assert "B. de Boer" in changes and "dag Burgwallen-Oude Zijde → vrij" in changes
        assert "vrij → dag Burgwallen-Oude Zijde" in changes
        await shoot(page, "week-diff", tmp_path)
        # a refusal names its field inline: a day outside the plan cannot be reached in the grid, so try a
        # shift type that was switched off
        ok(await env["lead_a"].patch(f"/api/rooster/shift-types/{types['vroeg']}", json={"active": False}))
        await cell(page, boer, day(4)).click()
        await page.evaluate(
            """(id) => { const s = document.querySelector('#cell-editor select[name=shift_type_id]');
                         s.add(new Option('vroeg (uit)', id)); s.value = id; }""",
            str(types["vroeg"]),
        )
        await page.click("#cell-editor button[type=submit]")
        await page.locator("#cell-editor .row-msg.error", has_text="veld: shift_type_id").wait_for()
        assert await page.get_attribute("#cell-editor select[name=shift_type_id]", "aria-invalid") == "true"
    assert page.errors == []


async def fill_four_weeks(env: Env, url: str, world: World) -> dict[str, Any]:
    """A four-week plan most of whose template demand is staffed through the API, published, then changed."""
    ids = list((await team(url)).values())
    types = await shift_types(env)
    beats = sorted(world.beats_a.values())
    plan = await new_plan(env)
    base = f"/api/rooster/plans/{plan['plan']['id']}"
    lead = env["lead_a"]
    slots = [(d, code, beat) for d in range(28) for code in ("dag", "laat") for beat in beats]
    for n, (offset, code, beat) in enumerate(slots):
        if n % 9 == 4:  # leave some demand open
            continue
        pair = [ids[(2 * n) % len(ids)], ids[(2 * n + 1) % len(ids)]]
        if offset % 7 in (5, 6) and n % 2:  # a weekend gap: only one boa of the duo
            pair = pair[:1]
        for who in pair:
            existing = [a for a in plan["draft"] if a["account_id"] == who and a["day"] == day(offset)]
            if existing or (who == ids[3] and 15 <= offset <= 19):  # on leave then (below)
                continue
            plan["draft"] = ok(
                await lead.put(
                    base + "/assignments",
                    json={
                        "account_id": who,
                        "day": day(offset),
                        "shift_type_id": types[code],
                        "beat_id": beat,
                    },
                )
            )
    ok(
        await lead.post(
            "/api/rooster/absences",
            json={"account_id": ids[3], "from_day": day(15), "to_day": day(19), "kind": "verlof"},
        ),
        201,
    )
    ok(await lead.post(base + "/publish", json={"note": "Maart, definitief"}), 201)
    for a in plan["draft"][:3]:
        ok(
            await lead.post(
                base + "/assignments/remove", json={"account_id": a["account_id"], "day": a["day"]}
            )
        )
    return plan


async def test_the_four_week_grid_per_boa_and_per_beat_with_onbezet_and_changes(
    db: tuple[str, World], tmp_path: Path
) -> None:
    url, world = db
    async with (
        environment(db, tmp_path, extra_sql=team_sql(world.org_a)) as env,
        chromium((1600, 1000)) as page,
    ):
        plan = await fill_four_weeks(env, url, world)
        await sign_in(page, env.server.base + f"/teamleider/rooster#{plan['plan']['id']}")
        await page.locator("#grid thead th[data-day]").nth(27).wait_for()
        open_text = await page.locator("#onbezet").inner_text()
        assert "diensten onbezet" in open_text and int(open_text.split()[0]) > 10
        await page.locator("#change-count", has_text="3 wijzigingen na publicatie").wait_for()
        assert await page.locator("#grid td.cell.changed").count() == 3
        assert await page.locator("#grid td.cell.absent", has_text="verlof").count() == 5
        assert await page.locator("#grid tr.short-row td.short-count").count() > 5
        await shoot(page, "four-weeks-per-boa", tmp_path)
        await page.select_option("#mode", "beat")
        await page.locator("#grid td.duo.short", has_text="onbezet").first.wait_for()
        await shoot(page, "four-weeks-per-beat", tmp_path)
        await page.select_option("#week", "2")
        assert await page.locator("#grid thead th[data-day]").count() == 7
        await page.select_option("#mode", "boa")
        await shoot(page, "week-2-per-boa", tmp_path)
    assert page.errors == []


async def wait_text(page: Any, selector: str, text: str, timeout_s: float = 60) -> None:
    await page.locator(selector, has_text=text).wait_for(timeout=timeout_s * 1000)


async def test_plan_maken_shows_progress_and_fills_the_grid_around_a_pin(
    db: tuple[str, World], tmp_path: Path
) -> None:
    url, world = db
    async with (
        environment(db, tmp_path, extra_sql=team_sql(world.org_a)) as env,
        chromium((1600, 1100)) as page,
    ):
        ids = await team(url)
        types = await shift_types(env)
        plan = await new_plan(env, days=7)
        oude = world.beats_a["Burgwallen-Oude Zijde"]
        base = f"/api/rooster/plans/{plan['plan']['id']}"
        ok(
            await env["lead_a"].put(
                base + "/assignments",
                json={
                    "account_id": ids["C. Visser"],
                    "day": day(2),
                    "shift_type_id": types["laat"],
                    "beat_id": oude,
                    "pinned": True,
                },
            )
        )
        await sign_in(page, env.server.base + f"/teamleider/rooster#{plan['plan']['id']}")
        await page.fill("#time-limit", "5")
        await page.click("#solve")
        await wait_text(page, "#progress", "Klaar")
        progress = await page.locator("#progress").inner_text()
        assert "doel" in progress and "grens" in progress and " s van 5 s" in progress
        assert await page.locator("#grid td.cell .shift").count() > 20
        pinned = cell(page, ids["C. Visser"], day(2))
        assert "laat" in await pinned.inner_text()
        assert await pinned.locator(".pin[aria-pressed=true]").count() == 1
        await shoot(page, "solved-week", tmp_path)
    assert page.errors == []


async def test_ziekmelding_herplan_repairs_from_that_day(db: tuple[str, World], tmp_path: Path) -> None:
    url, world = db
    async with (
        environment(db, tmp_path, extra_sql=team_sql(world.org_a)) as env,
        chromium((1600, 1100)) as page,
    ):
        plan = await new_plan(env, days=7)
        await sign_in(page, env.server.base + f"/teamleider/rooster#{plan['plan']['id']}")
        await page.fill("#time-limit", "5")
        await page.click("#solve")
        await wait_text(page, "#progress", "Klaar")
        await page.click("#publish")
        await wait_text(page, "#publish-msg", "Versie 1 gepubliceerd")
        sick_cell = page.locator(f"#grid td.cell[data-day='{day(3)}'][draggable=true]").first
        sick = int(await sick_cell.get_attribute("data-account") or 0)
        await page.click("#show-herplan")
        await page.select_option("#herplan-form select[name=account_id]", str(sick))
        await page.fill("#herplan-form input[name=from_day]", day(3))
        await page.fill("#herplan-form input[name=days]", "2")
        await page.click("#herplan-form button[type=submit]")
        await wait_text(page, "#progress", "Klaar")
        for offset in (3, 4):
            await wait_text(
                page, f"#grid td.cell.absent[data-account='{sick}'][data-day='{day(offset)}']", "ziek"
            )
        changes = await page.locator("#change-count").inner_text()
        assert "wijziging" in changes and not changes.startswith("0 ")
        await shoot(page, "herplan", tmp_path)
    assert page.errors == []


async def test_violations_are_listed_with_article_and_marked_in_the_grid(
    db: tuple[str, World], tmp_path: Path
) -> None:
    url, world = db
    async with (
        environment(db, tmp_path, extra_sql=team_sql(world.org_a)) as env,
        chromium((1600, 1000)) as page,
    ):
        plan = await fill_four_weeks(env, url, world)
        ids = await team(url)
        types = await shift_types(env)
        oude = world.beats_a["Burgwallen-Oude Zijde"]
        base = f"/api/rooster/plans/{plan['plan']['id']}"
        jansen = ids["A. Jansen"]
        for offset, code in ((7, "nacht"), (8, "nacht"), (9, "nacht"), (10, "vroeg")):
            ok(
                await env["lead_a"].put(
                    base + "/assignments",
                    json={
                        "account_id": jansen,
                        "day": day(offset),
                        "shift_type_id": types[code],
                        "beat_id": oude,
                    },
                )
            )
        await sign_in(page, env.server.base + f"/teamleider/rooster#{plan['plan']['id']}")
        await page.locator("#violation-list li").first.wait_for()
        listed = await page.locator("#violation-list").inner_text()
        assert "ATW" in listed and "A. Jansen" in listed
        marked = [await cell(page, jansen, day(n)).get_attribute("class") or "" for n in range(7, 11)]
        assert any("violation" in c for c in marked)
        await shoot(page, "four-weeks-violations", tmp_path)
    assert page.errors == []


async def test_a_boa_is_refused_in_dutch(db: tuple[str, World], tmp_path: Path) -> None:
    async with environment(db, tmp_path) as env, chromium((1200, 800)) as page:
        await sign_in(page, env.server.base + "/teamleider/rooster", "boa_a")
        assert "Geen toegang" in await page.locator("#ws-refused").inner_text()
    assert page.errors == []
