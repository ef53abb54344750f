"""The bridge in the demo (`make run`): the reference partner and the bridge, in a process of their own
(`python -m meldkamer_bridge.demo`, started by the demo beside the backend)."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import sys
from pathlib import Path

import httpx

from backend.db.pool import create_pool
from meldkamer_bridge.api import BackendApi, Refused, Unavailable
from meldkamer_bridge.app import Bridge
from meldkamer_bridge.config import BridgeConfig, Partner
from meldkamer_bridge.simulator import Simulator
from meldkamer_bridge.simulator.nena_partner import NenaPartner
from shared.tasks import ACTIVE_TASK_STATES

log = logging.getLogger(__name__)

PARTNER = "gms-sim"
NENA_PARTNER = "nena-sim"  # the same kind of meldkamer, on the NENA EIDO conveyance (docs/bridge.md, §10)
ACTIVE = frozenset(state.value for state in ACTIVE_TASK_STATES)


async def run_partner_and_bridge(
    *,
    database_url: str,
    backend_url: str,
    password: str,
    data_dir: Path,
    host: str = "127.0.0.1",
    port: int = 8765,
    incident_every_s: float = 45.0,
    nena_ports: tuple[int, int] | None = None,
) -> None:
    """Serve the reference partner and run the bridge (service account `bridge`) until cancelled.

    The partner hands an incident to handhaving now and then, and one police area alert at the start; the
    bridge mirrors unit status and positions to it and sends noodknop/assistance alerts as CAP.
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
        # next to the link: a NENA partner (its notifier on port+1, Schakel's notifier for it on port+2)
        nena_port, schakel_port = nena_ports or (port + 1, port + 2)
        nena = NenaPartner(
            data_dir / "nena-sim.sqlite3",
            listen=f"{host}:{nena_port}",
            subscribe=f"ws://{host}:{schakel_port}/",
        )
        stack.callback(nena.close)
        nena_url = f"nena+ws://{host}:{nena_port}/?listen={host}:{schakel_port}"
        config = BridgeConfig(
            database_url=database_url,
            partners=(
                Partner(name=PARTNER, url=f"ws://{host}:{port}/"),
                Partner(name=NENA_PARTNER, url=nena_url),
            ),
            meldkamer=PARTNER,
            police=PARTNER,
            backend_url=backend_url,
            password=password,
        )
        bridge = asyncio.create_task(Bridge(config, pool).run())
        nena_task = asyncio.create_task(nena.run())
        dispatcher = asyncio.create_task(auto_assign(backend_url, password))
        try:
            n = sim.incidents_queued()
            while True:
                await asyncio.sleep(incident_every_s)
                n += 1
                sim.send_incident(n) if n % 2 else nena.send_incident(n)  # every other one over NENA
        finally:
            for task in (bridge, nena_task, dispatcher):
                task.cancel()
            await asyncio.gather(bridge, nena_task, dispatcher, return_exceptions=True)


async def auto_assign(backend_url: str, password: str) -> None:
    """Demo only: a melding from the meldkamer goes to the first proposed unit, through the normal API, as the
    operator would do it in the console; once its units are done, the demo operator closes it (a melding does
    not close itself). The partner's meldingen are the ones whose timeline the bridge reads (as the service
    account); the tasking and closing are the operator's."""
    done: set[int] = set()
    tasked: set[int] = set()  # meldingen given to a unit, to close once every task has ended
    api = BackendApi(backend_url, "bridge", password)
    auth: dict[str, str] = {}
    try:
        while True:
            await asyncio.sleep(2.0)
            try:
                lines = [line for partner in (PARTNER, NENA_PARTNER) for line in await api.timeline(partner)]
                todo = sorted({line.incident_id for line in lines if line.kind == "created"} - done)
                if not todo and not tasked:
                    continue
                http = api.http
                if not auth or (await http.get("/api/incidents", headers=auth)).status_code == 401:
                    r = await http.post(
                        "/api/auth/login", json={"username": "operator", "password": password}
                    )
                    auth = {"Authorization": f"Bearer {r.json()['access_token']}"}
                for incident_id in todo:
                    done.add(incident_id)
                    detail = (await http.get(f"/api/incidents/{incident_id}", headers=auth)).json()
                    if detail["incident"]["state"] != "open" or detail["incident"]["tasks"]:
                        continue
                    url = f"/api/incidents/{incident_id}/proposals"
                    proposals = (await http.get(url, headers=auth)).json()
                    if proposals:
                        await http.post(f"/api/incidents/{incident_id}/tasks", headers=auth,
                                        json={"unit_id": proposals[0]["unit_id"]})  # fmt: skip
                        tasked.add(incident_id)
                        log.info("demo: melding %d to %s", incident_id, proposals[0]["call_sign"])
                for incident_id in sorted(tasked):
                    incident = (await http.get(f"/api/incidents/{incident_id}", headers=auth)).json()[
                        "incident"
                    ]
                    if incident["state"] != "open":
                        tasked.discard(incident_id)
                    elif incident["tasks"] and all(t["state"] not in ACTIVE for t in incident["tasks"]):
                        await http.post(f"/api/incidents/{incident_id}/close", headers=auth,
                                        json={"reason": "afgehandeld"})  # fmt: skip
                        tasked.discard(incident_id)
                        log.info("demo: melding %d closed", incident_id)
            except (httpx.HTTPError, KeyError, ValueError, Refused, Unavailable, OSError) as exc:
                log.info("demo dispatcher: %s", exc)
    finally:
        await api.aclose()


def main(argv: list[str] | None = None) -> int:
    """`python -m meldkamer_bridge.demo`: what `make run` starts beside the backend, as its own process."""
    p = argparse.ArgumentParser(prog="python -m meldkamer_bridge.demo", description=main.__doc__)
    p.add_argument("--database-url", required=True)
    p.add_argument("--backend-url", required=True)
    p.add_argument("--password", required=True)
    p.add_argument("--data-dir", type=Path, required=True)
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, default=8765)
    args = p.parse_args(argv)
    logging.basicConfig(level=logging.WARNING, format="%(asctime)s %(name)s %(levelname)s %(message)s")
    # every message the partner receives is on its own page; the console keeps the terminal readable
    logging.getLogger("meldkamer_bridge.simulator").setLevel(logging.WARNING)
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(run_partner_and_bridge(
            database_url=args.database_url, backend_url=args.backend_url, password=args.password,
            data_dir=args.data_dir, host=args.host, port=args.port))  # fmt: skip
    return 0


if __name__ == "__main__":
    sys.exit(main())
