"""The rooster page in real Chromium on instance B while the solve runs on instance A (a real `schakel serve`
process) that is killed mid-solve: the team lead sees the progress through B, then "Mislukt" with the reason
in Dutch, and can plan again. With SCHAKEL_SCREENSHOTS set the screen is kept
(docs/screenshots/rooster-job-server-uitgevallen.png)."""

from __future__ import annotations

import asyncio
import signal
from pathlib import Path

import pytest

from tests.integration.browser import chromium, skip_without_chromium
from tests.integration.cluster import healthy, serve, serve_env
from tests.integration.harness import free_port, make_settings, running
from tests.integration.processes import stop_all
from tests.integration.registrations_kit import Env
from tests.integration.rooster_kit import new_plan, ok
from tests.integration.test_cluster_rooster import lead_on, team_world
from tests.integration.test_rooster_browser import shoot, sign_in, wait_text

pytestmark = [pytest.mark.browser, skip_without_chromium()]


async def test_the_page_on_b_says_mislukt_when_the_solving_instance_dies(
    database_url: str, tmp_path: Path
) -> None:
    world = await team_world(database_url)
    port = free_port()
    process = serve(port, serve_env(database_url, tmp_path), tmp_path / "serve.log")
    try:
        await healthy(port, process)
        settings = make_settings(database_url, tmp_path, rooster_job_dead_s=2.0)
        async with (
            running(settings) as b,
            lead_on(f"http://127.0.0.1:{port}") as on_a,
            lead_on(b.base) as on_b,
            chromium((1600, 1100)) as page,
        ):
            env = Env(server=b, world=world, clients={"lead_a": on_b}, accounts={})
            plan = await new_plan(env, days=28)
            plan_id = plan["plan"]["id"]
            started = ok(await on_a.post(f"/api/rooster/plans/{plan_id}/solve", json={"time_limit_s": 120}))
            await sign_in(page, b.base + f"/teamleider/rooster#{plan_id}")
            await wait_text(page, "#progress", "Plannen…", timeout_s=20)  # A's progress, read through B
            process.send_signal(signal.SIGKILL)
            await asyncio.to_thread(process.wait, 10)
            await wait_text(page, "#progress", "Mislukt", timeout_s=20)
            text = await page.locator("#progress").inner_text()
            assert (
                text
                == "Mislukt: de server die dit rooster berekende is uitgevallen; start het plannen opnieuw"
            )
            assert await page.locator("#progress.error").count() == 1
            assert await page.locator("#solve").is_enabled()  # the team lead can plan again at once
            await shoot(page, "job-server-uitgevallen", tmp_path)
            job = ok(await on_b.get(f"/api/rooster/jobs/{started['job_id']}"))
            assert job["state"] == "mislukt"
        assert page.errors == []
    finally:
        await asyncio.to_thread(stop_all, process, grace=0)
