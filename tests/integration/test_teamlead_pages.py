"""The team lead's pages in real Chromium against the real app, on data each test creates through the API.

Vandaag, Registraties, Gebieden and Team are driven as a team lead (log in through the page's own form); a
boa and a meldkamer operator are refused with the Dutch message. With SCHAKEL_SCREENSHOTS set the screens are
kept (docs/screenshots/teamlead-*.png).
"""

from __future__ import annotations

import json
import struct
import zlib
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import asyncpg
import pytest

from tests.conftest import new_database
from tests.integration.browser import SCREENSHOTS, chromium, skip_without_chromium
from tests.integration.harness import PASSWORD
from tests.integration.registrations_kit import (
    Env,
    aggression,
    environment,
    fine,
    in_today,
    sha,
    waarneming,
    world_template,
)
from tests.integration.world import NIEUWE_ZIJDE, OUDE_ZIJDE, World

pytestmark = [pytest.mark.browser, skip_without_chromium()]

LONG_NAME = "Mohammed El Amrani-van der Heijden-Vermeulen"


@pytest.fixture(scope="module")
async def world_db(pg_server: str, template_db: str) -> tuple[str, World]:
    return await world_template(pg_server, template_db)


@pytest.fixture
async def db(pg_server: str, world_db: tuple[str, World]) -> tuple[str, World]:
    return await new_database(pg_server, world_db[0]), world_db[1]


async def sql(url: str, statement: str, *args: object) -> Any:
    conn = await asyncpg.connect(url)
    try:
        return await conn.fetchval(statement, *args)
    finally:
        await conn.close()


def ago(**delta: float) -> str:
    return (datetime.now(UTC) - timedelta(**delta)).isoformat()


def png(width: int = 160, height: int = 120) -> bytes:
    """A real PNG (a colour gradient), so the photo shows in the panel."""
    raw = b"".join(
        b"\x00" + b"".join(bytes((x * 255 // width, y * 255 // height, 140)) for x in range(width))
        for y in range(height)
    )

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(raw))
        + chunk(b"IEND", b"")
    )


async def shoot(page: Any, name: str, tmp: Path) -> None:
    target = Path(SCREENSHOTS) if SCREENSHOTS else tmp
    target.mkdir(parents=True, exist_ok=True)
    await page.screenshot(path=str(target / f"teamlead-{name}.png"), full_page=True)


async def sign_in(page: Any, url: str, username: str) -> None:
    await page.goto(url)
    await page.fill("input[name=username]", username)
    await page.fill("input[name=password]", PASSWORD)
    await page.click("button[type=submit]")
    await page.locator("#ws-main, #ws-refused").first.wait_for()  # signed in (the session is kept per tab)


async def a_busy_day(env: Env, url: str) -> dict[str, Any]:
    """Named boa's on shift, a melding, alarms, and registrations of every kind (one overdue aangifte)."""
    world = env.world
    boa, boa2 = env.accounts["boa_a"], env.accounts["boa_a2"]
    await sql(url, "UPDATE accounts SET display_name = $2 WHERE id = $1", boa, LONG_NAME)
    await sql(url, "UPDATE accounts SET display_name = 'S. de Vries' WHERE id = $1", boa2)
    await sql(url, "UPDATE accounts SET display_name = 'T. Bakker' WHERE username = 'lead_a'")
    await sql(
        url,
        "UPDATE shifts SET account_ids = ARRAY[$1::int, $2::int] WHERE unit_id = $3",
        boa,
        boa2,
        world.unit_a,
    )
    await sql(
        url,
        "UPDATE units SET phone = '020-5551234', portofoon = 'Gespreksgroep HH A-01' WHERE id = $1",
        world.unit_a,
    )
    await sql(
        url,
        """INSERT INTO incidents (org_id, category, priority, description, lon, lat, address, beat_id) VALUES
           ($1, 'overlast', 1, 'Groep jongeren met vuurwerk bij de kerk', $2, $3, 'Oudekerksplein 1', $4),
           ($1, 'afval', 3, 'Grofvuil naast ondergrondse container', $5, $6, 'Nieuwendijk 120', NULL)""",
        world.org_a,
        *OUDE_ZIJDE,
        world.beats_a["Burgwallen-Oude Zijde"],
        *NIEUWE_ZIJDE,
    )
    await sql(
        url,
        """INSERT INTO alerts (org_id, unit_id, kind, at, acknowledged_at) VALUES
                      ($1, $2, 'noodknop', $3::timestamptz, $3::timestamptz + interval '1 minute'),
                      ($1, $2, 'outside_assigned_beat', $4::timestamptz, NULL)""",
        world.org_a,
        world.unit_a,
        in_today(0.6, hours=2),  # today in Amsterdam, whatever the hour the test runs at
        in_today(0.3, hours=1),
    )
    client = env["boa_a"]
    photo = png()
    r = await client.put(f"/api/photos/{sha(photo)}", content=photo, headers={"content-type": "image/png"})
    assert r.status_code in (200, 201), r.text
    made: dict[str, Any] = {
        "overdue": aggression(occurred_at=ago(days=10), description="Boa bespuugd bij aanspreken " * 3),
        "fresh": aggression(
            occurred_at=in_today(0.5, minutes=40).isoformat(), boa_ids=[boa2], photos=[sha(photo)]
        ),
        "fine": fine(occurred_at=in_today(0.7, minutes=90).isoformat(), photos=[sha(photo)], boa_ids=[boa2]),
        "waarneming": waarneming(
            occurred_at=in_today(0.3, minutes=20).isoformat(), text="Fietswrak tegen de brug " * 4
        ),
    }
    for i in range(18):  # many rows
        made[f"w{i}"] = waarneming(
            occurred_at=ago(hours=3 + i * 7), category=["afval", "overlast", "parkeren"][i % 3]
        )
    for body in made.values():
        r = await client.post("/api/registrations", json=body)
        assert r.status_code == 201, r.text
    return made


async def test_vandaag_shows_duty_meldingen_registrations_alarms_and_the_overdue_aangifte(
    db: tuple[str, World], tmp_path: Path
) -> None:
    url, world = db
    async with environment(db, tmp_path) as env, chromium((1440, 1000)) as page:
        made = await a_busy_day(env, url)
        await sign_in(page, env.server.base + "/teamleider/", "lead_a")
        duty = page.locator("#duty tr", has_text="A-01")
        await duty.wait_for()
        assert LONG_NAME in await duty.inner_text()
        assert "Burgwallen-Oude Zijde" in await duty.inner_text()
        assert "Gespreksgroep HH A-01" in await duty.inner_text()
        overdue = page.locator("#aangiftes tr", has_text="Termijn verstreken")
        await overdue.wait_for()
        assert "VPT" in await overdue.inner_text()
        assert await page.locator("#incidents tbody tr").count() == 2
        assert "Oudekerksplein 1" in await page.locator("#incidents").inner_text()
        regs = await page.locator("#card-registrations").inner_text()
        assert "Boete: 1" in regs and "Agressie-incident: 1" in regs
        alarms = await page.locator("#alarms").inner_text()
        assert "NOODKNOP" in alarms and "Buiten toegewezen gebied" in alarms
        assert await page.locator("#registrations tr", has_text="Nieuw").count() == 1
        await shoot(page, "vandaag", tmp_path)
        # the aangifte links to the registration
        await overdue.locator("a").click()
        await page.wait_for_url(f"**/teamleider/registraties#{made['overdue']['id']}")
        await page.locator("#deadline", has_text="termijn verstreken").wait_for()
    assert page.errors == []


async def test_registraties_filter_open_photo_seen_void_and_correct(
    db: tuple[str, World], tmp_path: Path
) -> None:
    url, world = db
    async with environment(db, tmp_path) as env, chromium((1500, 1300)) as page:
        made = await a_busy_day(env, url)
        await sign_in(page, env.server.base + "/teamleider/registraties", "lead_a")
        rows = page.locator("#rows tr[data-id]")
        await rows.first.wait_for()
        assert await rows.count() == 22
        await page.select_option("select[name=kind]", "fine")
        await page.click("#filters button[type=submit]")
        await page.locator("#count", has_text="1 registratie").wait_for()
        await page.select_option("select[name=kind]", "")
        await page.select_option("select[name=boa_id]", str(env.accounts["boa_a2"]))  # named as colleague
        await page.click("#filters button[type=submit]")
        await page.locator("#count", has_text="2 registraties").wait_for()
        await page.select_option("select[name=boa_id]", "")
        await page.select_option("select[name=kind]", "aggression")
        await page.click("#filters button[type=submit]")
        await page.locator("#count", has_text="2 registraties").wait_for()
        # the count said "2 registraties" for the previous filter too: wait for the new rows themselves
        await page.locator("#rows tr", has_text="Nieuw").nth(1).wait_for()
        assert await page.locator("#rows tr", has_text="Nieuw").count() == 2

        # open the fresh incident: fields, photo, map; then it is no longer new
        await page.locator(f"#rows tr[data-id='{made['fresh']['id']}']").click()
        await page.locator("#panel dd", has_text="Uitgescholden en bedreigd").wait_for()
        await page.locator("#photos img").wait_for()
        assert await page.locator("#photos img").evaluate("img => img.naturalWidth") == 160
        await page.locator("#minimap .leaflet-interactive").first.wait_for()
        await page.locator(f"#rows tr[data-id='{made['fresh']['id']}']:not(:has-text('Nieuw'))").wait_for()
        seen = await sql(
            url, "SELECT seen_by FROM registration_seen WHERE registration_id = $1", made["fresh"]["id"]
        )
        assert seen == env.accounts["lead_a"]
        await shoot(page, "registraties", tmp_path)

        # void: a reason is required, typed in the panel
        await page.click("#void")
        await page.locator("#action-msg", has_text="Vul eerst de reden in").wait_for()
        await page.fill("#reason", "Dubbel ingevoerd: zelfde incident als 10:12")
        await page.click("#void")
        await page.locator("#versions", has_text="Dubbel ingevoerd").wait_for()
        assert "vervallen" in await page.locator(f"#rows tr[data-id='{made['fresh']['id']}']").inner_text()
        state = await sql(url, "SELECT state FROM registrations WHERE id = $1", made["fresh"]["id"])
        assert state == "voided"

        # correct a waarneming's text; a bad content shows the server's field
        await page.select_option("select[name=kind]", "waarneming")
        await page.click("#filters button[type=submit]")
        await page.locator(f"#rows tr[data-id='{made['waarneming']['id']}']").click()
        await page.locator("#content").wait_for(state="attached")
        await page.click("#correct-box summary")
        content = json.loads(await page.input_value("#content"))
        content["category"] = "geen_bestaande_categorie"
        await page.fill("#content", json.dumps(content))
        await page.fill("#reason", "Categorie aangepast")
        await page.click("#correct")
        await page.locator("#action-msg.error", has_text="category").wait_for()
        content["category"] = "openbare_ruimte"
        await page.fill("#content", json.dumps(content))
        await page.click("#correct")
        await page.locator("#versions", has_text="Categorie aangepast").wait_for()
        assert await sql(
            url, "SELECT category FROM registrations WHERE id = $1", made["waarneming"]["id"]
        ) == ("openbare_ruimte")
        # a fine's receipt downloads with the token
        await page.select_option("select[name=kind]", "fine")
        await page.click("#filters button[type=submit]")
        await page.locator(f"#rows tr[data-id='{made['fine']['id']}']").click()
        async with page.expect_download() as info:
            await page.click("#receipt")
        download = await info.value
        assert "Jan Jansen" in Path(await download.path()).read_text()
        await shoot(page, "registratie-boete", tmp_path)
    assert page.errors == []


def rd_square(code: str, name: str, x: float, y: float, size: float = 300) -> dict[str, Any]:
    ring = [[x, y], [x + size, y], [x + size, y + size], [x, y + size], [x, y]]
    return {
        "type": "Feature",
        "properties": {"code": code, "name": name},
        "geometry": {"type": "Polygon", "coordinates": [ring]},
    }


async def test_gebieden_import_rename_retire_and_default_beats(db: tuple[str, World], tmp_path: Path) -> None:
    url, world = db
    good = tmp_path / "wijken-rd.geojson"
    good.write_text(
        json.dumps(
            {
                "type": "FeatureCollection",
                "crs": {"type": "name", "properties": {"name": "urn:ogc:def:crs:EPSG::28992"}},
                "features": [
                    rd_square(
                        f"RD-{i}",
                        f"Wijk {i} {'Oostelijke Eilanden en Kadijken ' * (i % 2)}".strip(),
                        121000 + i * 300,
                        487000,
                    )
                    for i in range(1, 7)
                ],
            }
        )
    )
    bad = tmp_path / "kapot.geojson"
    bad.write_text(json.dumps({"type": "FeatureCollection", "features": []}))
    async with environment(db, tmp_path) as env, chromium((1440, 1100)) as page:
        await sign_in(page, env.server.base + "/teamleider/gebieden", "lead_a")
        await page.locator("#beat-rows tr[data-id]").first.wait_for()
        assert await page.locator("#beat-rows tr[data-id]").count() == 2
        await page.set_input_files("input[type=file]", str(bad))
        await page.click("#import button[type=submit]")
        await page.locator("#import-result.error", has_text="no features").wait_for()
        await page.set_input_files("input[type=file]", str(good))
        await page.click("#import button[type=submit]")
        await page.locator("#import-result", has_text="6 gebieden geïmporteerd").wait_for()
        await page.locator("#beat-rows tr[data-id]").nth(7).wait_for()
        assert await page.locator("#beat-map path.leaflet-interactive").count() == 8

        oude = world.beats_a["Burgwallen-Oude Zijde"]
        nieuwe = world.beats_a["Burgwallen-Nieuwe Zijde"]
        row = page.locator(f"#beat-rows tr[data-id='{nieuwe}']")
        await row.locator(".beat-name").fill("Nieuwmarkt en Zeedijk")
        await row.locator(".save-name").click()
        await page.locator(
            f"#beat-rows tr[data-id='{nieuwe}'] .row-msg", has_text="Naam opgeslagen"
        ).wait_for()
        assert await sql(url, "SELECT name FROM beats WHERE id = $1", nieuwe) == "Nieuwmarkt en Zeedijk"
        # empty name: the API's refusal, with its field
        await row.locator(".beat-name").fill("")
        await row.locator(".save-name").click()
        await page.locator(f"#beat-rows tr[data-id='{nieuwe}'] .row-msg.error", has_text="name").wait_for()

        # units' default beats
        unit = page.locator(f"#unit-rows tr[data-id='{world.unit_a}']")
        await unit.locator("select").select_option([str(oude), str(nieuwe)])
        await unit.locator(".save-unit").click()
        await page.locator(
            f"#unit-rows tr[data-id='{world.unit_a}'] .row-msg", has_text="opgeslagen"
        ).wait_for()
        assert sorted(
            await sql(url, "SELECT assigned_beat_ids FROM units WHERE id = $1", world.unit_a)
        ) == sorted([oude, nieuwe])
        # retire one: it leaves the map and the unit's defaults, but stays listed when asked
        await page.locator(f"#beat-rows tr[data-id='{oude}'] .retire").click()
        await page.locator(f"#beat-rows tr[data-id='{oude}']").wait_for(state="detached")
        assert await page.locator("#beat-map path.leaflet-interactive").count() == 7
        assert await sql(url, "SELECT assigned_beat_ids FROM units WHERE id = $1", world.unit_a) == [nieuwe]
        await page.check("#show-retired")
        await page.locator(f"#beat-rows tr[data-id='{oude}']", has_text="buiten gebruik").wait_for()
        await shoot(page, "gebieden", tmp_path)
    assert page.errors == []


async def test_team_edits_a_boa_and_a_unit_and_shows_the_refusal_with_its_field(
    db: tuple[str, World], tmp_path: Path
) -> None:
    url, world = db
    async with environment(db, tmp_path) as env, chromium((1500, 1900)) as page:
        boa = env.accounts["boa_a"]
        await sql(url, "UPDATE accounts SET display_name = $2 WHERE id = $1", boa, LONG_NAME)
        for i in range(12):  # a realistic team
            await sql(
                url,
                """INSERT INTO accounts (org_id, username, display_name, password_hash, role, phone,
                                  portofoon, qualifications, contract_hours, experienced, domains)
                              VALUES ($1, $2, $3, 'x', 'boa', $4, $5, $6, $7, $8, $9)""",
                world.org_a,
                f"boa_extra{i}",
                f"{'ABCDEFGHJKLM'[i]}. {['Jansen', 'de Boer', 'Visser'][i % 3]}",
                f"06-{12000000 + i * 7919}",
                f"2380{i:03d}",
                [["geweldsmiddelen"], ["bhv", "anpr"], []][i % 3],
                [36, 32, 24][i % 3],
                i % 2 == 0,
                [[1], [1, 2]][i % 2],
            )
        await sign_in(page, env.server.base + "/teamleider/team", "lead_a")
        row = page.locator(f"#members tr[data-id='{boa}']")
        await row.wait_for()
        assert await page.locator("#members tbody tr").count() == 14  # boa_a, boa_a2 and twelve more
        await row.locator("input[name=phone]").fill("06-12")
        await row.locator(".save-member").click()
        await row.locator(".row-msg.error", has_text="phone").wait_for()
        assert await row.locator("input[name=phone]").get_attribute("aria-invalid") == "true"
        await row.locator("input[name=phone]").fill("06-12345678")
        await row.locator("input[name=contract_hours]").fill("61")
        await row.locator(".save-member").click()
        await row.locator(".row-msg.error", has_text="contract_hours").wait_for()
        await row.locator("input[name=contract_hours]").fill("32")
        await row.locator("input[name=portofoon]").fill("2380099")
        await row.locator("input[name=qualification][value=anpr]").check()
        await row.locator("input[name=domain][value='2']").check()
        await row.locator("input[name=experienced]").check()
        await row.locator(".save-member").click()
        await row.locator(".row-msg.ok", has_text="Opgeslagen").wait_for()
        stored = await sql(
            url,
            """SELECT row(phone, portofoon, contract_hours::float8, experienced, domains,
                                          qualifications)::text FROM accounts WHERE id = $1""",
            boa,
        )
        assert stored == '(06-12345678,2380099,32,t,"{1,2}",{anpr})'
        unit = page.locator(f"#units tr[data-id='{world.unit_a}']")
        await unit.locator("input[name=portofoon]").fill("Gespreksgroep HH Centrum 2")
        await unit.locator("input[name=phone]").fill("020-5559876")
        await unit.locator(".save-unit").click()
        await unit.locator(".row-msg.ok").wait_for()
        assert (
            await sql(url, "SELECT portofoon FROM units WHERE id = $1", world.unit_a)
            == "Gespreksgroep HH Centrum 2"
        )
        await shoot(page, "team", tmp_path)
    assert page.errors == []


@pytest.mark.parametrize("username", ["boa_a", "operator_mk"])
async def test_a_boa_and_an_operator_are_refused_in_dutch(
    db: tuple[str, World], tmp_path: Path, username: str
) -> None:
    async with environment(db, tmp_path) as env, chromium((1100, 700)) as page:
        await sign_in(page, env.server.base + "/teamleider/", username)
        for path in ("/teamleider/", "/teamleider/registraties", "/teamleider/gebieden", "/teamleider/team"):
            await page.goto(env.server.base + path)
            refusal = page.locator("#ws-refused")
            await refusal.wait_for()
            text = await refusal.inner_text()
            assert "Geen toegang" in text and "niet voor deze rol" in text
            assert await page.locator("#ws-main").count() == 0
        if username == "operator_mk":
            assert "Meldkamer" in text  # where an operator can go instead
            await shoot(page, "geen-toegang", tmp_path)
    assert page.errors == []
