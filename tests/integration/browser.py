"""Headless Chromium for the console tests (Playwright for Python driving the system Chromium)."""

from __future__ import annotations

import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from backend.auth.tokens import Principal, issue_access_token
from backend.settings import Settings

CHROMIUM = Path(os.environ.get("SCHAKEL_CHROMIUM", "/usr/bin/chromium"))
ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
SCREENSHOTS = os.environ.get("SCHAKEL_SCREENSHOTS")  # a directory: keep the screens there (docs/screenshots)


def skip_without_chromium() -> pytest.MarkDecorator:
    missing = not CHROMIUM.exists()
    try:
        import playwright.async_api  # noqa: F401
    except ImportError:
        return pytest.mark.skip(reason="playwright is not installed (pip install -e '.[test]')")
    return pytest.mark.skipif(
        missing,
        reason=f"no Chromium at {CHROMIUM}: `apt-get install chromium` "
        "(.ci/run does) or set SCHAKEL_CHROMIUM",
    )


@asynccontextmanager
async def chromium(viewport: tuple[int, int] = (1600, 900)) -> AsyncIterator[Any]:
    from playwright.async_api import async_playwright

    async with async_playwright() as p:
        browser = await p.chromium.launch(executable_path=str(CHROMIUM), args=ARGS, headless=True)
        try:
            context = await browser.new_context(
                viewport={"width": viewport[0], "height": viewport[1]},
                locale="nl-NL",
                timezone_id="Europe/Amsterdam",
            )
            page = await context.new_page()
            page.errors = []  # type: ignore[attr-defined]
            page.on("pageerror", lambda exc: page.errors.append(str(exc)))  # type: ignore[attr-defined]
            yield page
        finally:
            await browser.close()


async def log_in(page: Any, base: str, username: str, password: str) -> None:
    await page.goto(base + "/meldkamer")
    await page.fill("input[name=username]", username)
    await page.fill("input[name=password]", password)
    await page.click("button[type=submit]")
    await page.wait_for_selector("#conn.conn-up", timeout=10_000)


async def screenshot(page: Any, name: str, tmp: Path) -> Path:
    target = Path(SCREENSHOTS) if SCREENSHOTS else tmp
    target.mkdir(parents=True, exist_ok=True)
    path = target / f"console-{name}.png"
    await page.screenshot(path=str(path))
    return path


def device_token(settings: Settings, *, account_id: int, org_id: int, device_id: int) -> str:
    """A tablet's access token minted with the test secret (no password round trip per simulated unit)."""
    principal = Principal(
        account_id=account_id,
        org_id=org_id,
        role="boa",
        visible_org_ids=frozenset({org_id}),
        device_id=device_id,
        username=f"sim{device_id}",
    )
    return issue_access_token(principal, settings.secret_key, 60, now=datetime.now(UTC))
