"""The address filler only fills what is missing: an address chosen in the console, or one another instance's
filler stored while this instance waited for its geocoder, survives a geocoder that cannot be reached (the
simulator on a real socket, real PostgreSQL, real instances)."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import asyncpg
import httpx

from backend.geocoding.filler import Filled
from backend.geocoding.simulator import serving
from tests.integration.harness import bearer, login, make_settings, running
from tests.integration.test_addresses import INCIDENT, OUDE_ZIJDE_CODE, row_when
from tests.integration.world import OUDE_ZIJDE, build_world

MAP_CLICK = {"category": "Afval", "priority": 3, "lon": OUDE_ZIJDE[0], "lat": OUDE_ZIJDE[1]}


async def chosen_address(http: httpx.AsyncClient, text: str) -> dict[str, Any]:
    """What the console's address search hands the melding form: suggest, then lookup of the first."""
    (first, *_) = (await http.get("/api/geocoding/suggest", params={"q": text})).json()["results"]
    address: dict[str, Any] = (await http.get("/api/geocoding/lookup", params={"id": first["id"]})).json()[
        "address"
    ]
    return address


async def test_a_chosen_address_survives_a_geocoder_that_is_down_and_the_normal_fill_still_works(
    database_url: str, tmp_path: Path
) -> None:
    await build_world(database_url)
    async with serving() as sim:
        settings = make_settings(database_url, tmp_path, geocoder_url=sim.url, geocoder_retry_s=0.5)
        async with running(settings) as server:
            operator = await login(server.base, "operator_mk")
            async with httpx.AsyncClient(base_url=server.base, headers=bearer(operator)) as http:
                address = await chosen_address(http, "Warmoesstraat 40")
                sim.mode = "error"  # the geocoder goes down after the operator picked the address
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
                chosen = r.json()["incident_id"]
                r = await http.post("/api/incidents", json=MAP_CLICK)  # a map click: the filler asks for it
                assert r.status_code == 201, r.text
                clicked = r.json()["incident_id"]
                down = await row_when(database_url, INCIDENT, clicked)
                assert down["address_state"] == "unreachable" and down["bag_id"] is None
                assert down["buurtcode"] == OUDE_ZIJDE_CODE
                # the filler has been at work with the geocoder down, and retries: the chosen one is as chosen
                await asyncio.sleep(1.0)
                kept = await row_when(database_url, INCIDENT, chosen)
                assert kept["bag_id"] == address["bag_id"] and kept["address_state"] == "found"
                assert kept["address"] == address["weergavenaam"] == kept["address_text"]
                assert kept["buurtcode"] == address["buurtcode"]

                sim.mode = "ok"  # back: the map click gets its address on the retry, the chosen one is left
                conn = await asyncpg.connect(database_url)
                try:
                    async with asyncio.timeout(10):
                        while (filled := await conn.fetchrow(INCIDENT, clicked))["address_state"] != "found":
                            await asyncio.sleep(0.1)
                    again = await conn.fetchrow(INCIDENT, chosen)
                finally:
                    await conn.close()
                assert filled["bag_id"].startswith("0363") and filled["address_text"].endswith("Amsterdam")
                assert filled["address"] == filled["address_text"] and filled["buurtcode"] == OUDE_ZIJDE_CODE
                assert dict(again) == dict(kept)


async def test_an_instance_whose_geocoder_is_down_keeps_the_address_another_instance_found(
    database_url: str, tmp_path: Path
) -> None:
    """Both instances' fillers pick up the same new melding; A's geocoder answers, B's cannot be reached and
    B stores its outcome last: the address, BAG id and buurtcode A found stay."""
    await build_world(database_url)
    async with serving() as sim_a, serving() as sim_b:
        for sim in (sim_a, sim_b):  # both hold the question until the test lets them answer
            sim.mode = "slow"
            sim.app.delay_s = 30.0
        common = {"geocoder_timeout_s": 30.0, "geocoder_retry_s": 300.0}
        settings_a = make_settings(database_url, tmp_path, geocoder_url=sim_a.url, **common)
        settings_b = make_settings(database_url, tmp_path, geocoder_url=sim_b.url, **common)
        async with running(settings_a) as a, running(settings_b) as b:
            b_stored = asyncio.Event()
            incident: list[int] = []

            def on_b_filled(filled: list[Filled]) -> None:
                if any(f.table == "incidents" and f.key in incident for f in filled):
                    b_stored.set()

            b.services.addresses.listeners.append(on_b_filled)
            operator = await login(a.base, "operator_mk")
            async with httpx.AsyncClient(base_url=a.base, headers=bearer(operator)) as http:
                r = await http.post("/api/incidents", json=MAP_CLICK)
                assert r.status_code == 201, r.text
                incident.append(r.json()["incident_id"])
            async with asyncio.timeout(10):  # both fillers are asking their geocoder for it now
                while "reverse" not in sim_a.app.requests or "reverse" not in sim_b.app.requests:
                    await asyncio.sleep(0.05)
            sim_a.mode = "ok"
            sim_a.release()
            found = await row_when(database_url, INCIDENT, incident[0])
            assert found["address_state"] == "found" and found["bag_id"].startswith("0363")

            sim_b.mode = "error"  # B's geocoder fails now; B stores its outcome after A's
            sim_b.release()
            await asyncio.wait_for(b_stored.wait(), 10)
            after = await row_when(database_url, INCIDENT, incident[0])
            assert dict(after) == dict(found)
            assert after["address_text"].endswith("Amsterdam") and after["buurtcode"] == OUDE_ZIJDE_CODE
