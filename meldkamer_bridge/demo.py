"""The bridge in the demo (`make run`): the reference partner and the bridge, in the demo's process."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from pathlib import Path

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
    incident_every_s: float = 120.0,
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
        try:
            n = sim.incidents_queued()
            while True:
                n += 1
                sim.send_incident(n)
                await asyncio.sleep(incident_every_s)
        finally:
            bridge.cancel()
            await asyncio.gather(bridge, return_exceptions=True)
