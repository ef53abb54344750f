"""Rooster solve jobs across instances: a team lead who starts a solve through instance A and polls through B
(the load balancer does that) sees the job's progress and its result; one job per plan holds across
instances; and a job whose instance is killed is failed ("mislukt", with a Dutch reason), not "bezig" for
ever, so the plan can be solved again."""

from __future__ import annotations

import asyncio
import signal
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import asyncpg
import httpx

from tests.integration.cluster import healthy, instances, serve, serve_env
from tests.integration.harness import bearer, free_port, login, make_settings, running
from tests.integration.processes import stop_all
from tests.integration.registrations_kit import Env
from tests.integration.rooster_kit import new_plan, ok, team_sql
from tests.integration.world import World, build_world


async def team_world(database_url: str) -> World:
    world = await build_world(database_url)
    conn = await asyncpg.connect(database_url)
    try:
        await conn.execute(team_sql(world.org_a))
    finally:
        await conn.close()
    return world


@asynccontextmanager
async def lead_on(base: str) -> AsyncIterator[httpx.AsyncClient]:
    session = await login(base, "lead_a")
    async with httpx.AsyncClient(base_url=base, headers=bearer(session), timeout=30) as http:
        yield http


async def poll(http: httpx.AsyncClient, job_id: str, timeout: float) -> list[dict[str, Any]]:
    """Every answer of GET /api/rooster/jobs/{id} until the job is no longer "bezig"."""
    seen: list[dict[str, Any]] = []
    async with asyncio.timeout(timeout):
        while not seen or seen[-1]["state"] == "bezig":
            seen.append(ok(await http.get(f"/api/rooster/jobs/{job_id}")))
            await asyncio.sleep(0.2)
    return seen


async def test_a_solve_started_through_a_is_followed_through_b_to_its_result(
    database_url: str, tmp_path: Path
) -> None:
    world = await team_world(database_url)
    async with instances(database_url, tmp_path) as (a, b):
        async with lead_on(a.base) as on_a, lead_on(b.base) as on_b:
            env = Env(server=a, world=world, clients={"lead_a": on_a}, accounts={})
            plan = await new_plan(env, days=7)
            base = f"/api/rooster/plans/{plan['plan']['id']}"
            started = ok(await on_a.post(base + "/solve", json={"time_limit_s": 4}))
            busy = await on_b.post(base + "/solve", json={"time_limit_s": 4})  # one job per plan, anywhere
            assert busy.status_code == 409 and busy.json()["field"] == "plan_id"
            assert started["job_id"] in busy.json()["detail"]

            answers = await poll(on_b, started["job_id"], timeout=60)
            done = answers[-1]
            assert answers[0]["state"] == "bezig" and answers[0]["id"] == started["job_id"]
            assert done["state"] == "klaar", done
            assert done["status"] in ("optimaal", "haalbaar") and done["objective"] is not None
            assert 0 < done["elapsed_s"] <= 4 + 5 and done["assignments"] > 0
            view = ok(await on_b.get(base))  # the plan page through B shows the job and its draft
            assert view["job"]["id"] == started["job_id"] and view["job"]["state"] == "klaar"
            assert len(view["draft"]) == done["assignments"]


async def test_a_job_whose_instance_is_killed_is_failed_and_the_plan_can_be_solved_again(
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
        ):
            env = Env(server=b, world=world, clients={"lead_a": on_b}, accounts={})
            plan = await new_plan(env, days=28)
            base = f"/api/rooster/plans/{plan['plan']['id']}"
            started = ok(await on_a.post(base + "/solve", json={"time_limit_s": 120}))
            await asyncio.sleep(1.5)  # A beats, B sees it running
            assert ok(await on_b.get(f"/api/rooster/jobs/{started['job_id']}"))["state"] == "bezig"
            process.send_signal(signal.SIGKILL)  # mid-solve
            await asyncio.to_thread(process.wait, 10)

            answers = await poll(on_b, started["job_id"], timeout=15)
            failed = answers[-1]
            assert failed["state"] == "mislukt"
            assert (
                failed["error"]
                == "de server die dit rooster berekende is uitgevallen; start het plannen opnieuw"
            )
            assert ok(await on_b.get(base))["job"]["state"] == "mislukt"  # the plan page says so too
            again = ok(await on_b.post(base + "/solve", json={"time_limit_s": 2}))  # no longer busy
            assert (await poll(on_b, again["job_id"], timeout=60))[-1]["state"] == "klaar"
    finally:
        await asyncio.to_thread(stop_all, process, grace=0)
