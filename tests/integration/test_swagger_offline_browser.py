"""/schema/swagger in real Chromium with every request off this server refused (no internet): the API docs
render, because their JavaScript and CSS come from Schakel itself."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from tests.integration.browser import chromium, skip_without_chromium
from tests.integration.harness import make_settings, running

pytestmark = [pytest.mark.browser, skip_without_chromium()]


async def test_the_api_docs_work_without_internet(database_url: str, tmp_path: Path) -> None:
    async with running(make_settings(database_url, tmp_path)) as server, chromium((1400, 900)) as page:
        elsewhere: list[str] = []

        async def offline(route: Any) -> None:
            url = route.request.url
            if url.startswith(server.base):
                await route.continue_()
            else:  # a CDN, or anything else outside: as on a laptop without a network
                elsewhere.append(url)
                await route.abort()

        await page.route("**/*", offline)
        await page.goto(server.base + "/schema/swagger")
        title = page.locator(".swagger-ui .info .title")
        await title.wait_for(timeout=15_000)
        assert "Schakel" in await title.inner_text()
        await page.locator(".opblock-tag", has_text="shifts").first.wait_for()
        assert elsewhere == [] and page.errors == []
