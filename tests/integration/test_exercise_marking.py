"""Exercise traffic end to end: a partner's drill incident (over the NENA conveyance) becomes a melding marked
exercise, the progress EIDOs that go back say Exercise, a real incident next to it stays unmarked, and the
area report counts only the real one. Backend, bridge and NENA reference partner over real loopback
sockets."""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import pytest

from backend.db.pool import create_pool
from backend.reports import area
from backend.reports import repository as reports
from meldkamer_bridge.adapters import cap, eido
from meldkamer_bridge.app import Bridge
from meldkamer_bridge.config import BridgeConfig, Partner
from meldkamer_bridge.simulator import Simulator
from meldkamer_bridge.simulator.nena_partner import NenaPartner
from shared.protocol import NoodknopPressed, Welcome
from tests.integration.harness import PASSWORD, bearer, free_port, login, make_settings, running, socket_to
from tests.integration.test_bridge_link import world_with_bridge_account
from tests.integration.world import OUDE_ZIJDE


@pytest.fixture
async def pool(database_url: str) -> AsyncIterator[asyncpg.Pool]:
    p = await create_pool(database_url, min_size=1, max_size=8)
    yield p
    await p.close()


async def until(check: Any, within: float = 15.0) -> Any:
    async with asyncio.timeout(within):
        while True:
            value = await check()
            if value:
                return value
            await asyncio.sleep(0.05)


@contextlib.asynccontextmanager
async def tasks(*coros: Any) -> AsyncIterator[None]:
    started = [asyncio.create_task(c) for c in coros]
    try:
        yield
    finally:
        for t in started:
            t.cancel()
        await asyncio.gather(*started, return_exceptions=True)


async def test_a_drill_incident_is_marked_all_the_way_and_never_counted(
    database_url: str, pool: asyncpg.Pool, tmp_path: Path
) -> None:
    world = await world_with_bridge_account(database_url, pool)
    partner_port, schakel_port = free_port(), free_port()
    sim = NenaPartner(
        tmp_path / "nena.sqlite3",
        listen=f"127.0.0.1:{partner_port}",
        subscribe=f"ws://127.0.0.1:{schakel_port}/",
        exercise="exercise",
    )
    sim.send_incident(1)  # a drill (Afval, in Amsterdam)
    sim.exercise = ""
    sim.send_incident(3)  # real (Parkeren)
    async with running(make_settings(database_url, tmp_path)) as server:
        config = BridgeConfig(
            database_url=database_url,
            partners=(
                Partner(
                    name="nena-sim",
                    url=f"nena+ws://127.0.0.1:{partner_port}/?listen=127.0.0.1:{schakel_port}",
                ),
            ),
            meldkamer="nena-sim",
            police="nena-sim",
            backend_url=server.base,
            username="bridge_mk",
            password=PASSWORD,
        )
        operator = await login(server.base, "operator_mk")
        async with (
            tasks(sim.run(), Bridge(config, pool).run()),
            httpx.AsyncClient(base_url=server.base, headers=bearer(operator)) as http,
        ):

            async def both() -> dict[str, dict[str, Any]] | None:
                found = {i["category"]: i for i in (await http.get("/api/incidents")).json()}
                return found if {"Afval", "Parkeren"} <= set(found) else None

            meldingen = await until(both)

            async def accepted() -> list[dict[str, Any]] | None:
                got = [json.loads(str(r["body"])) for r in sim.store.received()]
                return got if len(got) >= 2 else None

            updates = await until(accepted)
    drill, real = meldingen["Afval"], meldingen["Parkeren"]
    assert drill["exercise"] == "exercise" and real["exercise"] == ""
    by_melding = {u["incidentComponent"]["internalIncidentId"]: u for u in updates}
    drill_update = by_melding[str(drill["incident_id"])]["incidentComponent"]["incidentStatusInternalText"]
    real_update = by_melding[str(real["incident_id"])]["incidentComponent"]["incidentStatusInternalText"]
    assert drill_update == ["accepted", "Exercise"] and real_update == ["accepted"]
    for update in updates:
        eido.validate_eido(update)  # marked or not, valid against the NENA schema
    now = datetime.now(UTC)
    async with pool.acquire() as conn:
        report = await reports.area_report(conn, world.org_a, area.month_of(now), now)
    assert report.total.meldingen == {"Parkeren": 1}  # the drill is not counted
    sim.close()


async def test_a_noodknop_on_exercise_links_is_cap_exercise_and_an_eido_marked_exercise(
    database_url: str, pool: asyncpg.Pool, tmp_path: Path
) -> None:
    """Both partners are exercise links: the police get CAP status Exercise (valid CAP), the NENA partner,
    subscribed to Schakel's EIDOs, the alarm as an EIDO marked Exercise, each once."""
    world = await world_with_bridge_account(database_url, pool)
    partner_port, schakel_port, link_port = free_port(), free_port(), free_port()
    nena = NenaPartner(
        tmp_path / "nena.sqlite3",
        listen=f"127.0.0.1:{partner_port}",
        subscribe=f"ws://127.0.0.1:{schakel_port}/",
    )
    police = Simulator(tmp_path / "police.sqlite3")
    async with (
        running(make_settings(database_url, tmp_path)) as server,
        police.serving("127.0.0.1", link_port),
    ):
        config = BridgeConfig(
            database_url=database_url,
            partners=(
                Partner(name="gms-sim", url=f"ws://127.0.0.1:{link_port}/", exercise="exercise"),
                Partner(
                    name="nena-sim",
                    url=f"nena+ws://127.0.0.1:{partner_port}/?listen=127.0.0.1:{schakel_port}",
                    exercise="exercise",
                ),
            ),
            meldkamer="gms-sim",
            police="gms-sim",
            backend_url=server.base,
            username="bridge_mk",
            password=PASSWORD,
        )
        boa = await login(server.base, "boa_a", world.tablet_a)
        async with tasks(nena.run(), Bridge(config, pool).run()):
            await asyncio.sleep(1.0)  # the bridge follows the operator feed
            async with socket_to(server.ws + "/ws/field", boa["access_token"]) as tablet:
                assert isinstance(await tablet.recv(), Welcome)
                await tablet.send(
                    NoodknopPressed(seq=1, at=datetime.now(UTC), lon=OUDE_ZIJDE[0], lat=OUDE_ZIJDE[1])
                )

                async def both() -> tuple[Any, Any] | None:
                    caps = [r for r in police.store.received() if r["type"] == "cap"]
                    eidos = [json.loads(str(r["body"])) for r in nena.store.received()]
                    return (caps, eidos) if caps and eidos else None

                caps, eidos = await until(both)
            await asyncio.sleep(0.5)
            caps = [r for r in police.store.received() if r["type"] == "cap"]
            eidos = [json.loads(str(r["body"])) for r in nena.store.received()]
    (cap_row,) = caps
    xml = str(cap_row["body"]).encode()
    alert = cap.decode_alert(xml)  # valid against the OASIS schema
    assert alert.status == "Exercise"
    (alarm,) = eidos
    eido.validate_eido(alarm)
    incident = alarm["incidentComponent"]
    assert incident["incidentTypeInternalText"] == "noodknop"
    assert incident["incidentStatusInternalText"] == ["alarm", "Exercise"]
    assert eido.exercise_of(alarm) == "exercise"
    assert "A-01" in alarm["notesComponent"][0]["notesActionComments"]
    handed = eido.decode_incident(json.dumps(alarm).encode())  # what a partner reads of it
    assert handed.priority == 1 and handed.lat == pytest.approx(OUDE_ZIJDE[1], abs=1e-6)
    nena.close()
    police.close()
