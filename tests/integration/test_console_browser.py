"""The meldkamer console in headless Chromium against the real app and real tablets (raw protocol clients)."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import asyncpg
import pytest

from shared.protocol import (
    Ack,
    MessageRead,
    NoodknopPressed,
    PositionReported,
    StatusChanged,
    TaskAssigned,
    TaskState,
    TaskUpdated,
    TextMessage,
    UnitStatus,
)
from tests.integration.browser import chromium, log_in, screenshot, skip_without_chromium
from tests.integration.harness import PASSWORD, login, make_settings, running, socket_to
from tests.integration.world import NIEUWE_ZIJDE, OUDE_ZIJDE, build_world

pytestmark = [pytest.mark.browser, skip_without_chromium()]


async def test_login_then_a_unit_moves_on_the_map_and_in_the_list(database_url: str, tmp_path: Path) -> None:
    world = await build_world(database_url)
    async with running(make_settings(database_url, tmp_path)) as server, chromium() as page:
        boa = await login(server.base, "boa_a", world.tablet_a)
        async with socket_to(server.ws + "/ws/field", boa["access_token"]) as tablet:
            await tablet.recv()
            await tablet.send(
                PositionReported(
                    seq=1, lon=OUDE_ZIJDE[0], lat=OUDE_ZIJDE[1], at=datetime.now(UTC), heading_deg=90.0
                )
            )
            await tablet.recv_until(lambda f: isinstance(f, Ack))
            await page.goto(server.base + "/meldkamer")
            await page.fill("input[name=username]", "operator_mk")
            await page.fill("input[name=password]", "wrong")
            await page.click("button[type=submit]")
            await page.wait_for_selector("#login-error:has-text('verkeerd wachtwoord')")
            await log_in(page, server.base, "operator_mk", PASSWORD)
            marker = page.locator(".unit-marker .label", has_text="A-01")
            await marker.wait_for()
            row = page.locator("#unit-rows tr", has_text="A-01")
            await row.locator("td", has_text="Burgwallen-Oude Zijde").first.wait_for()
            before = await marker.bounding_box()
            await tablet.send(
                PositionReported(
                    seq=2, lon=NIEUWE_ZIJDE[0], lat=NIEUWE_ZIJDE[1], at=datetime.now(UTC), heading_deg=300.0
                )
            )
            await row.locator("td", has_text="Burgwallen-Nieuwe Zijde").first.wait_for()
            after = await marker.bounding_box()
            assert after["x"] < before["x"] and after["y"] < before["y"]  # north-west on the map
            # beats are drawn although the background tiles cannot load here
            assert await page.locator(".leaflet-overlay-pane path, .leaflet-overlay-pane canvas").count() >= 1
    assert page.errors == []


async def test_noodknop_is_loud_until_acknowledged_and_shows_who(database_url: str, tmp_path: Path) -> None:
    world = await build_world(database_url)
    async with running(make_settings(database_url, tmp_path)) as server, chromium() as page:
        await log_in(page, server.base, "operator_mk", PASSWORD)
        boa = await login(server.base, "boa_a", world.tablet_a)
        async with socket_to(server.ws + "/ws/field", boa["access_token"]) as tablet:
            await tablet.recv()
            await tablet.send(
                PositionReported(seq=1, lon=OUDE_ZIJDE[0], lat=OUDE_ZIJDE[1], at=datetime.now(UTC))
            )
            await tablet.send(
                NoodknopPressed(seq=2, at=datetime.now(UTC), lon=OUDE_ZIJDE[0], lat=OUDE_ZIJDE[1])
            )
            banner = page.locator("#emergency")
            await banner.locator("text=NOODKNOP A-01").wait_for()
            await page.wait_for_function("() => (window.__schakel.beeps || 0) > 0")
            await banner.locator("button", has_text="Bevestigen").click()
            await banner.wait_for(state="hidden")
            await page.locator("#alert-list li.acked", has_text="bevestigd door").wait_for()
            beeps = await page.evaluate("window.__schakel.beeps")
            await page.wait_for_timeout(1700)  # longer than the beep interval: the sound has stopped
            assert await page.evaluate("window.__schakel.beeps") == beeps
    conn = await asyncpg.connect(database_url)
    try:
        row = await conn.fetchrow(
            "SELECT acknowledged_by, acknowledged_at FROM alerts WHERE kind = 'noodknop'"
        )
    finally:
        await conn.close()
    assert row["acknowledged_by"] is not None and row["acknowledged_at"] is not None


async def test_create_a_melding_task_a_unit_and_the_tablet_gets_it(database_url: str, tmp_path: Path) -> None:
    world = await build_world(database_url)
    async with running(make_settings(database_url, tmp_path)) as server, chromium() as page:
        boa = await login(server.base, "boa_a", world.tablet_a)
        async with socket_to(server.ws + "/ws/field", boa["access_token"]) as tablet:
            await tablet.recv()
            await tablet.send(
                PositionReported(seq=1, lon=NIEUWE_ZIJDE[0], lat=NIEUWE_ZIJDE[1], at=datetime.now(UTC))
            )
            await tablet.send(StatusChanged(seq=2, status=UnitStatus.AVAILABLE, at=datetime.now(UTC)))
            await tablet.recv_until(lambda f: isinstance(f, Ack) and f.upto == 2)
            await log_in(page, server.base, "operator_mk", PASSWORD)
            await page.click(".tabs button[data-tab=new]")
            await page.fill("input[name=category]", "Overlast jeugd")
            await page.check("input[name=priority][value='1']")
            await page.fill("textarea[name=description]", "Groep jongeren met scooters")
            # a click on the map picks the place
            box = await page.locator("#map").bounding_box()
            await page.mouse.click(box["x"] + box["width"] * 0.55, box["y"] + box["height"] * 0.5)
            await page.locator("#picked", has_text="Plaats op de kaart").wait_for()
            await page.click("#incident-form button[type=submit]")
            proposal = page.locator("#proposals li", has_text="A-01")
            await proposal.wait_for()
            await proposal.locator("button", has_text="Koppelen").click()
            task = await tablet.recv_until(lambda f: isinstance(f, TaskAssigned))
            assert task.priority == 1 and task.category == "Overlast jeugd"
            await tablet.send(
                TaskUpdated(seq=3, task_id=task.task_id, state=TaskState.ACCEPTED, at=datetime.now(UTC))
            )
            await tablet.send(
                TaskUpdated(seq=4, task_id=task.task_id, state=TaskState.EN_ROUTE, at=datetime.now(UTC))
            )
            await page.locator("#timeline li", has_text="A-01: aanrijdend").wait_for()
            await screenshot(page, "incident-timeline", tmp_path)
            await page.click(".tabs button[data-tab=units]")
            await page.locator("#unit-rows tr", has_text="A-01").locator("text=aanrijdend").first.wait_for()
    assert page.errors == []


async def test_message_to_a_unit_shows_delivered(database_url: str, tmp_path: Path) -> None:
    world = await build_world(database_url)
    async with running(make_settings(database_url, tmp_path)) as server, chromium() as page:
        boa = await login(server.base, "boa_a", world.tablet_a)
        async with socket_to(server.ws + "/ws/field", boa["access_token"]) as tablet:
            await tablet.recv()
            await tablet.send(
                PositionReported(seq=1, lon=OUDE_ZIJDE[0], lat=OUDE_ZIJDE[1], at=datetime.now(UTC))
            )
            await log_in(page, server.base, "operator_mk", PASSWORD)
            await page.locator("#unit-rows tr", has_text="A-01").click()
            await page.fill("#message-text", "Graag contact opnemen")
            await page.click("#message-form button")
            await page.locator("#messages li", has_text="verzonden").wait_for()
            message = await tablet.recv_until(lambda f: isinstance(f, TextMessage))
            await tablet.send(MessageRead(seq=2, message_id=message.message_id, at=datetime.now(UTC)))
            await page.locator("#messages li", has_text="afgeleverd").wait_for()
            # replay: the track appears; the read is logged
            await page.fill("#replay-reason", "nazorg test")
            await page.click("button[data-replay]")
            await page.locator("#replay-ui", has_text="1 positie sinds").wait_for()
            await screenshot(page, "unit-message-replay", tmp_path)
    assert page.errors == []


async def test_console_says_when_it_is_disconnected_and_reconnects(database_url: str, tmp_path: Path) -> None:
    await build_world(database_url)
    async with running(make_settings(database_url, tmp_path)) as server, chromium() as page:
        await log_in(page, server.base, "operator_mk", PASSWORD)
        await page.evaluate("window.__schakel.app.live.ws.close()")
        await page.locator("#offline", has_text="Verbinding verbroken").wait_for()
        await page.wait_for_selector("#conn.conn-up", timeout=10_000)
        assert await page.locator("#offline").is_hidden()
