"""Addresses are filled in after the write: meldingen, registrations and alarms get the address text, BAG id
and buurtcode from the geocoder (the simulator on a real socket), never delaying an ack; else the buurt."""

from __future__ import annotations

import asyncio
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import asyncpg
import httpx

from backend.geocoding.simulator import serving
from shared.protocol import Ack, AlertRaised, Delta, NoodknopPressed, Snapshot
from tests.integration.harness import bearer, login, make_settings, running, socket_to
from tests.integration.registrations_kit import waarneming
from tests.integration.world import OUDE_ZIJDE, build_world

OUDE_ZIJDE_CODE = "BU03630000"


async def row_when(url: str, sql: str, *args: object, timeout: float = 10.0) -> asyncpg.Record:
    """The row once its address_state is set (the filler works in the background)."""
    conn = await asyncpg.connect(url)
    try:
        async with asyncio.timeout(timeout):
            while True:
                row = await conn.fetchrow(sql, *args)
                if row is not None and row["address_state"] is not None:
                    return row
                await asyncio.sleep(0.05)
    finally:
        await conn.close()


INCIDENT = "SELECT address, address_text, bag_id, buurtcode, address_state FROM incidents WHERE id = $1"


async def test_a_melding_a_registration_and_an_alarm_get_their_address(
    database_url: str, tmp_path: Path
) -> None:
    world = await build_world(database_url)
    async with serving() as sim:
        settings = make_settings(database_url, tmp_path, geocoder_url=sim.url, geocoder_retry_s=0.5)
        async with running(settings) as server:
            operator = await login(server.base, "operator_mk")
            boa = await login(server.base, "boa_a", world.tablet_a)
            async with (
                httpx.AsyncClient(base_url=server.base, headers=bearer(operator)) as http,
                httpx.AsyncClient(base_url=server.base, headers=bearer(boa)) as tablet_http,
                socket_to(server.ws + "/ws/operator", operator["access_token"]) as op,
                socket_to(server.ws + "/ws/field", boa["access_token"]) as tablet,
            ):
                assert isinstance(await op.recv(), Snapshot)
                # a melding placed by a map click, no text: the console sees the address arrive
                r = await http.post(
                    "/api/incidents",
                    json={"category": "Afval", "priority": 3, "lon": OUDE_ZIJDE[0], "lat": OUDE_ZIJDE[1]},
                )
                assert r.status_code == 201, r.text
                incident_id = r.json()["incident_id"]
                row = await row_when(database_url, INCIDENT, incident_id)
                assert row["address_state"] == "found"
                assert row["address_text"].endswith("Amsterdam") and row["address"] == row["address_text"]
                assert row["bag_id"].startswith("0363") and row["buurtcode"] == OUDE_ZIJDE_CODE
                seen = await op.recv_until(
                    lambda f: isinstance(f, Delta) and any(i.bag_id for i in f.incidents), timeout=5
                )
                assert seen.incidents[0].address == row["address_text"]

                # a registration: acknowledged at once, the address follows
                body = waarneming()
                r = await tablet_http.post("/api/registrations", json=body)
                assert r.status_code in (200, 201), r.text
                reg = await row_when(
                    database_url,
                    "SELECT address_text, bag_id, buurtcode, address_state FROM registrations WHERE id = $1",
                    body["id"],
                )
                assert reg["address_state"] == "found" and reg["buurtcode"] == OUDE_ZIJDE_CODE
                assert reg["address_text"] and reg["bag_id"]

                # a noodknop while the geocoder is slow: the ack does not wait for it
                sim.mode = "slow"
                sim.app.delay_s = 3.0
                welcome = await tablet.recv()
                seq = welcome.acked + 1
                started = time.perf_counter()
                await tablet.send(
                    NoodknopPressed(
                        seq=seq, at=datetime.now(UTC), lon=OUDE_ZIJDE[0] + 0.0004, lat=OUDE_ZIJDE[1]
                    )
                )
                await tablet.recv_until(lambda f: isinstance(f, Ack) and f.upto == seq, timeout=5)
                assert time.perf_counter() - started < 1.0
                raised = await op.recv_until(lambda f: isinstance(f, AlertRaised), timeout=5)
                alert_id = raised.alert.alert_id
                sim.mode = "ok"
                found = await row_when(
                    database_url,
                    "SELECT address_text, bag_id, buurtcode, address_state FROM alerts WHERE id = $1",
                    alert_id,
                )
                # the slow answer came too late for the client's timeout: the buurt now, the address on retry
                assert found["buurtcode"] == OUDE_ZIJDE_CODE
                assert found["address_state"] in ("found", "unreachable")
                address = await row_when(
                    database_url,
                    "SELECT address_text, CASE WHEN address_state = 'found' THEN 'found' END AS address_state"
                    " FROM alerts WHERE id = $1",
                    alert_id,
                )
                r = await http.get(f"/api/alerts/{alert_id}/context")
                context: dict[str, Any] = r.json()
                assert context["address"] == address["address_text"] and context["address_state"] == "found"


async def test_without_the_geocoder_the_buurt_is_stored_and_the_address_follows_later(
    database_url: str, tmp_path: Path
) -> None:
    await build_world(database_url)
    async with serving() as sim:
        sim.mode = "error"
        settings = make_settings(database_url, tmp_path, geocoder_url=sim.url, geocoder_retry_s=1.0)
        async with running(settings) as server:
            operator = await login(server.base, "operator_mk")
            async with httpx.AsyncClient(base_url=server.base, headers=bearer(operator)) as http:
                r = await http.post(
                    "/api/incidents",
                    json={"category": "Afval", "priority": 3, "lon": OUDE_ZIJDE[0], "lat": OUDE_ZIJDE[1]},
                )
                incident_id = r.json()["incident_id"]
                row = await row_when(database_url, INCIDENT, incident_id)
                assert row["address_state"] == "unreachable" and row["address_text"] is None
                assert row["buurtcode"] == OUDE_ZIJDE_CODE and row["address"] == ""
                view = (await http.get(f"/api/incidents/{incident_id}")).json()["incident"]
                assert view["address_state"] == "unreachable" and view["buurtcode"] == OUDE_ZIJDE_CODE
                sim.mode = "ok"
                conn = await asyncpg.connect(database_url)
                try:
                    async with asyncio.timeout(10):
                        while (
                            await conn.fetchval(
                                "SELECT address_state FROM incidents WHERE id = $1", incident_id
                            )
                        ) != "found":
                            await asyncio.sleep(0.1)
                finally:
                    await conn.close()


async def test_a_melding_from_a_looked_up_address_keeps_its_bag_id(database_url: str, tmp_path: Path) -> None:
    await build_world(database_url)
    async with serving() as sim:
        async with running(make_settings(database_url, tmp_path, geocoder_url=sim.url)) as server:
            operator = await login(server.base, "operator_mk")
            async with httpx.AsyncClient(base_url=server.base, headers=bearer(operator)) as http:
                (first, *_) = (
                    await http.get("/api/geocoding/suggest", params={"q": "Warmoesstraat 40"})
                ).json()["results"]
                address = (await http.get("/api/geocoding/lookup", params={"id": first["id"]})).json()[
                    "address"
                ]
                r = await http.post(
                    "/api/incidents",
                    json={
                        "category": "Overlast jeugd", "priority": 2,
                        "lon": address["lon"], "lat": address["lat"],
                        "address": address["weergavenaam"], "bag_id": address["bag_id"],
                        "buurtcode": address["buurtcode"],
                    },
                )  # fmt: skip
                assert r.status_code == 201, r.text
                view = r.json()
                assert view["address"].startswith("Warmoesstraat 40,") and view["bag_id"] == address["bag_id"]
                assert view["address_state"] == "found"
                # typed text without a point: the geocoder's free search places it
                r = await http.post(
                    "/api/incidents", json={"category": "Afval", "priority": 3, "address": "Zeedijk 45"}
                )
                assert r.status_code == 201, r.text
                placed = r.json()
                assert abs(placed["lat"] - 52.374) < 0.003 and placed["address"] == "Zeedijk 45"
