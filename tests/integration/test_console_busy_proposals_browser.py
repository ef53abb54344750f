"""A melding's proposals in the console list busy units too: after every free one, with their status, their
current task and the travel estimate; a P1 may take a unit from a lower-priority task and the row says so
and taking it releases the lower task: that melding needs a unit again, live (real Chromium, two units of
one gemeente placed by their trackers)."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest

from backend.db.pool import create_pool
from backend.orgs import repository as orgs
from backend.shifts import repository as shifts
from tests.integration.browser import chromium, log_in, screenshot, skip_without_chromium
from tests.integration.harness import PASSWORD, bearer, login, make_settings, running
from tests.integration.world import NIEUWE_ZIJDE, OUDE_ZIJDE, build_world

pytestmark = [pytest.mark.browser, skip_without_chromium()]

TRACKER_A01 = "123456"  # the world's tracker, linked to unit A-01
TRACKER_A02 = "654321"
LONG_TASK = (
    "Zakken huisvuil naast de container bij de ingang van de Oude Kerk, melder ziet een man met een bakfiets "
    "die er nog meer neerzet"
)


async def add_busy_unit(database_url: str, org_id: int, beat_id: int) -> int:
    pool = await create_pool(database_url, min_size=1, max_size=1)
    try:
        async with pool.acquire() as conn, conn.transaction():
            unit = await orgs.create_unit(conn, org_id=org_id, call_sign="A-02", assigned_beat_ids=[beat_id])
            tracker = await orgs.create_device(
                conn, org_id=org_id, name="tracker-a02", kind="tracker", tracker_key=TRACKER_A02, unit_id=unit
            )
            await shifts.start_shift(
                conn, unit_id=unit, device_id=tracker, account_ids=[], beat_ids=[beat_id]
            )
        return unit
    finally:
        await pool.close()


async def incident(
    http: httpx.AsyncClient, priority: int, description: str, where: tuple[float, float]
) -> int:
    body = {"category": "Afval" if priority == 3 else "Overlast jeugd", "priority": priority,
            "description": description, "lon": where[0], "lat": where[1]}  # fmt: skip
    r = await http.post("/api/incidents", json=body)
    assert r.status_code == 201, r.text
    return int(r.json()["incident_id"])


async def open_melding(page: Any, incident_id: int) -> Any:
    await page.click(".tabs button[data-tab=incidents]")
    await page.locator(f"#incident-list li[data-id='{incident_id}']").click()
    detail = page.locator("#detail")
    await detail.locator("#proposals li.proposal").first.wait_for()
    return detail


async def test_busy_units_follow_the_free_ones_with_their_task_and_a_p1_may_take_one(
    database_url: str, tmp_path: Path
) -> None:
    world = await build_world(database_url)
    oude = world.beats_a["Burgwallen-Oude Zijde"]
    a02 = await add_busy_unit(database_url, world.org_a, oude)
    async with running(make_settings(database_url, tmp_path)) as server, chromium() as page:
        op = await login(server.base, "operator_mk")
        async with httpx.AsyncClient(base_url=server.base, headers=bearer(op)) as http:
            at = int(datetime.now(UTC).timestamp())
            # A-02 stands right at the melding, A-01 a few hundred metres off: the nearest one is busy
            for key, (lon, lat) in ((TRACKER_A01, NIEUWE_ZIJDE), (TRACKER_A02, OUDE_ZIJDE)):
                fix = await http.get("/osmand", params={"id": key, "lat": lat, "lon": lon, "timestamp": at})
                assert fix.status_code == 200, fix.text
            p3 = await incident(http, 3, LONG_TASK, OUDE_ZIJDE)
            r = await http.post(f"/api/incidents/{p3}/tasks", json={"unit_id": a02})
            assert r.status_code == 201, r.text
            p2 = await incident(http, 2, "Jongeren op de stoep", OUDE_ZIJDE)
            p1 = await incident(http, 1, "Vechtpartij voor het café, twee personen", OUDE_ZIJDE)

            await log_in(page, server.base, "operator_mk", PASSWORD)
            detail = await open_melding(page, p2)
            rows = detail.locator("#proposals li.proposal")
            await detail.locator("#proposals li.proposal", has_text="A-02").wait_for()
            assert [await rows.nth(i).locator("b").first.inner_text() for i in range(2)] == ["A-01", "A-02"]
            free, busy = rows.nth(0), rows.nth(1)
            assert "geen taak" in await free.inner_text()
            assert await free.locator("button").inner_text() == "Koppelen"
            text = await busy.inner_text()
            # the current task with its state, the description cut at a word
            assert "taak (opdracht verstrekt): P3 Afval: Zakken huisvuil naast de container" in text
            assert "…" in text
            assert "≈ 1 min lopend / ≈ 1 min fietsend" in text and "schatting" in text
            assert "bezet: pas vrij na de huidige taak" in text and "P1 gaat voor" not in text
            assert await busy.locator("button").inner_text() == "Toch koppelen"
            assert "Bezet" in await detail.locator("#proposals li.group").inner_text()
            # nothing pre-selected: no proposal button has the focus, the first button is the free unit's
            assert await page.evaluate("() => !document.activeElement.closest('#proposals')")
            first = detail.locator("#proposals button").first
            assert await first.get_attribute("data-assign") == str(world.unit_a)

            detail = await open_melding(page, p1)
            busy = detail.locator("#proposals li.proposal", has_text="A-02")
            await busy.locator("text=P1 gaat voor").wait_for()
            text = await busy.inner_text()
            assert "A-02 mag van de P3-taak worden gehaald" in text and "P3 Afval" in text
            assert await detail.locator("#proposals li.proposal").first.locator("b").inner_text() == "A-01"
            await page.wait_for_timeout(300)
            await screenshot(page, "proposals-busy-unit", tmp_path)
            await busy.locator("button", has_text="Overnemen voor P1").click()
            await detail.locator("#timeline li", has_text="A-02: opdracht verstrekt").wait_for()
            # A-02 is on this melding now: it is not proposed again, A-01 still is
            await detail.locator("#proposals li.proposal", has_text="A-02").wait_for(state="detached")
            assert await detail.locator("#proposals li.proposal", has_text="A-01").count() == 1
            await detail.locator(
                "#timeline li", has_text=f"A-02 overgenomen van P3-melding #{p3} (Afval)"
            ).wait_for()

            # the P3 lost its unit: back to its unassigned look in the list, live, and it says why
            p3_row = page.locator(f"#incident-list li[data-id='{p3}']")
            await p3_row.locator("text=nog geen eenheid").wait_for()
            detail = await open_melding(page, p3)
            taken = f"A-02 overgenomen voor P1-melding #{p1} (Overlast jeugd)"
            await detail.locator("#timeline li", has_text=taken).wait_for()
            # its units say what became of A-02
            units = await detail.locator("ul").first.inner_text()
            assert f"overgenomen voor P1-melding #{p1} (Overlast jeugd)" in units
            row = detail.locator("#proposals li.proposal", has_text="A-02")
            text = await row.inner_text()  # proposed again, busy with the P1 it was taken for
            assert "taak (opdracht verstrekt): P1 Overlast jeugd" in text and "bezet: pas vrij" in text

            # assigned to the P3 anyway, then taken over by another P1 (another operator, over HTTP) while the
            # P3 is open here: its units, timeline and proposals follow live
            await row.locator("button", has_text="Toch koppelen").click()
            await p3_row.locator("text=A-02 opdracht verstrekt").wait_for()
            await row.wait_for(state="detached")
            p1b = await incident(http, 1, "Inbraak gemeld, deur geforceerd", OUDE_ZIJDE)
            r = await http.post(f"/api/incidents/{p1b}/tasks", json={"unit_id": a02})
            assert r.status_code == 201, r.text
            await p3_row.locator("text=nog geen eenheid").wait_for()
            await detail.locator(
                "#timeline li", has_text=f"A-02 overgenomen voor P1-melding #{p1b}"
            ).wait_for()
            await detail.locator("#proposals li.proposal", has_text="A-02").wait_for()
            units = await detail.locator("ul").first.inner_text()
            assert f"overgenomen voor P1-melding #{p1b} (Overlast jeugd)" in units
            await detail.locator("#timeline li").last.scroll_into_view_if_needed()
            await page.wait_for_timeout(300)
            await screenshot(page, "proposals-taken-over", tmp_path)
    assert page.errors == []
