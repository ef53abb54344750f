"""The bridge in the demo (`make run`): the reference partner and the bridge, in the demo's process."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from pathlib import Path

import asyncpg
import httpx

from backend.db.pool import create_pool
from meldkamer_bridge.app import Bridge, BridgeConfig, Partner
from meldkamer_bridge.simulator import Simulator

log = logging.getLogger(__name__)

PARTNER = "gms-sim"


async def run_partner_and_bridge(
    *,
    database_url: str,
    backend_url: str,
    password: str,
    data_dir: Path,
    host: str = "127.0.0.1",
    port: int = 8765,
    incident_every_s: float = 45.0,
) -> None:
    """Serve the reference partner and run the bridge (service account `bridge`) until cancelled.

    The partner hands an incident to handhaving now and then, and one police area alert at the start; the
    bridge
    mirrors unit status and positions to it and sends noodknop/assistance alerts as CAP.
    """
    sim = Simulator(data_dir / "partner-sim.sqlite3", name=PARTNER)
    pool = await create_pool(database_url, min_size=1, max_size=4)
    async with contextlib.AsyncExitStack() as stack:
        stack.callback(sim.close)
        stack.push_async_callback(pool.close)
        try:
            await stack.enter_async_context(sim.serving(host, port))
        except OSError as exc:
            log.warning(
                "the reference partner cannot listen on %s:%d (%s); the demo runs without it", host, port, exc
            )
            return
        sim.send_police_alert(1)
        config = BridgeConfig(
            database_url=database_url,
            partners=(Partner(name=PARTNER, url=f"ws://{host}:{port}/"),),
            meldkamer=PARTNER,
            police=PARTNER,
            backend_url=backend_url,
            password=password,
        )
        bridge = asyncio.create_task(Bridge(config, pool).run())
        dispatcher = asyncio.create_task(auto_assign(pool, backend_url, password))
        try:
            n = sim.incidents_queued()
            while True:
                await asyncio.sleep(incident_every_s)
                n += 1
                sim.send_incident(n)
        finally:
            for task in (bridge, dispatcher):
                task.cancel()
            await asyncio.gather(bridge, dispatcher, return_exceptions=True)


async def auto_assign(pool: asyncpg.Pool, backend_url: str, password: str) -> None:
    """Demo only: a melding from the meldkamer goes to the first proposed unit, through the normal API, as the
    operator would do it in the console."""
    done: set[int] = set()
    async with httpx.AsyncClient(base_url=backend_url, timeout=10) as http:
        while True:
            await asyncio.sleep(2.0)
            try:
                async with pool.acquire() as conn:
                    ids = await conn.fetch(
                        "SELECT id FROM incidents WHERE source = $1 AND state = 'open' ORDER BY id", PARTNER
                    )
                todo = [r["id"] for r in ids if r["id"] not in done]
                if not todo:
                    continue
                r = await http.post("/api/auth/login", json={"username": "operator", "password": password})
                auth = {"Authorization": f"Bearer {r.json()['access_token']}"}
                for incident_id in todo:
                    done.add(incident_id)
                    detail = (await http.get(f"/api/incidents/{incident_id}", headers=auth)).json()
                    if detail["incident"]["tasks"]:
                        continue
                    url = f"/api/incidents/{incident_id}/proposals"
                    proposals = (await http.get(url, headers=auth)).json()
                    if proposals:
                        await http.post(f"/api/incidents/{incident_id}/tasks", headers=auth,
                                        json={"unit_id": proposals[0]["unit_id"]})  # fmt: skip
                        log.info("demo: melding %d to %s", incident_id, proposals[0]["call_sign"])
            except (httpx.HTTPError, KeyError, ValueError, asyncpg.PostgresError, OSError) as exc:
                log.info("demo dispatcher: %s", exc)
