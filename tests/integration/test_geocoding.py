"""The geocoder client and the console's address API against the Locatieserver simulator on a real socket."""

from __future__ import annotations

import time
from pathlib import Path

import httpx
import pytest

from backend.geocoding.client import UNAVAILABLE, Geocoder, GeocoderUnavailable
from backend.geocoding.simulator import serving
from tests.integration.harness import bearer, login, make_settings, running
from tests.integration.world import FAR_AWAY, OUDE_ZIJDE, build_world

DAM = (4.8930, 52.37320)  # on the Dam, between the palace and the monument


async def test_suggest_then_lookup_gives_the_address_its_bag_id_buurtcode_and_point() -> None:
    async with serving() as sim:
        geocoder = Geocoder(sim.url)
        try:
            found = await geocoder.suggest("damrak 1")
            assert found, "the sample has Damrak 1"
            assert found[0].weergavenaam.startswith("Damrak 1,")
            assert "<b>Damrak</b>" in found[0].highlight and "<b>1</b>" in found[0].highlight
            address = await geocoder.lookup(found[0].id)
            assert address is not None
            assert address.weergavenaam == found[0].weergavenaam
            assert address.bag_id is not None and address.bag_id.startswith("0363010000")
            assert address.nummeraanduiding_id is not None and len(address.nummeraanduiding_id) == 16
            assert address.buurtcode == "BU03630001"  # Burgwallen-Nieuwe Zijde, from the shipped buurten
            assert 4.89 < address.lon < 4.90 and 52.37 < address.lat < 52.38
            assert await geocoder.lookup("adr-does-not-exist") is None
            assert await geocoder.suggest("Stationsplein Zwolle") == []
        finally:
            await geocoder.close()


async def test_reverse_names_the_nearest_address_and_nothing_far_away() -> None:
    async with serving() as sim:
        geocoder = Geocoder(sim.url)
        try:
            near = await geocoder.reverse(*DAM)
            assert near is not None and near.weergavenaam.startswith("Dam ")
            assert near.distance_m is not None and near.distance_m < 60
            assert near.buurtcode is not None and near.buurtcode.startswith("BU0363")
            assert await geocoder.reverse(*FAR_AWAY) is None  # Zuidoost: no address of the sample near
            free = await geocoder.free("Warmoesstraat 100")
            assert free is not None and free.weergavenaam.startswith("Warmoesstraat 100,")
            # the simulator refuses parameters the real API does not know (v3.1 does): the client sends none
            assert not any(endpoint.startswith("?") for endpoint in sim.app.requests)
        finally:
            await geocoder.close()


@pytest.mark.parametrize(
    ("mode", "reason"),
    [("slow", "geen antwoord binnen de tijd"), ("error", "HTTP 500"), ("malformed", "onleesbaar antwoord")],
)
async def test_a_geocoder_that_misbehaves_gives_a_clear_dutch_message_quickly(mode: str, reason: str) -> None:
    async with serving() as sim:
        sim.mode = mode
        sim.app.delay_s = 20.0
        geocoder = Geocoder(sim.url, timeout_s=0.3)
        try:
            started = time.perf_counter()
            with pytest.raises(GeocoderUnavailable) as caught:
                await geocoder.suggest("Dam")
            # the short timeout ends it, long before the slow simulator answers (a margin for a busy machine)
            assert time.perf_counter() - started < 5.0
            assert str(caught.value).startswith(UNAVAILABLE) and reason in str(caught.value)
        finally:
            await geocoder.close()


async def test_an_unreachable_geocoder_and_none_configured() -> None:
    async with serving() as sim:
        url = sim.url  # the port is free again after the block
    geocoder = Geocoder(url, timeout_s=0.5)
    try:
        with pytest.raises(GeocoderUnavailable, match="geen verbinding"):
            await geocoder.reverse(*DAM)
    finally:
        await geocoder.close()
    nothing = Geocoder("")
    with pytest.raises(GeocoderUnavailable, match="geen geocoder ingesteld"):
        await nothing.suggest("Dam")
    await nothing.close()


async def test_answers_are_cached_briefly() -> None:
    async with serving() as sim:
        geocoder = Geocoder(sim.url, cache_s=60)
        try:
            await geocoder.suggest("Zeedijk")
            await geocoder.suggest("Zeedijk")
            assert sim.app.requests.count("suggest") == 1
        finally:
            await geocoder.close()


async def test_the_console_api_searches_and_falls_back_to_the_buurt_when_the_geocoder_is_down(
    database_url: str, tmp_path: Path
) -> None:
    await build_world(database_url)
    async with serving() as sim:
        settings = make_settings(database_url, tmp_path, geocoder_url=sim.url, geocoder_timeout_s=0.5)
        async with running(settings) as server:
            session = await login(server.base, "operator_mk")
            async with httpx.AsyncClient(base_url=server.base, headers=bearer(session)) as http:
                r = await http.get("/api/geocoding/suggest", params={"q": "Oudezijds Achter"})
                assert r.status_code == 200 and r.json()["available"] is True
                first = r.json()["results"][0]
                assert first["weergavenaam"].startswith("Oudezijds Achterburgwal")
                r = await http.get("/api/geocoding/lookup", params={"id": first["id"]})
                assert r.json()["address"]["bag_id"] and r.json()["address"]["buurtcode"]
                r = await http.get(
                    "/api/geocoding/reverse", params={"lon": OUDE_ZIJDE[0], "lat": OUDE_ZIJDE[1]}
                )
                body = r.json()
                assert body["available"] is True and body["address"]["weergavenaam"]
                assert body["buurt"] == {"code": "BU03630000", "name": "Burgwallen-Oude Zijde"}
                bad = await http.get("/api/geocoding/suggest", params={"q": " "})
                assert bad.status_code == 400 and bad.json()["field"] == "q"

                sim.mode = "error"  # (answers already given stay cached for a while: ask new things)
                other = {"lon": OUDE_ZIJDE[0] + 0.0003, "lat": OUDE_ZIJDE[1] - 0.0002}
                r = await http.get("/api/geocoding/suggest", params={"q": "Nieuwmarkt"})
                assert r.status_code == 200
                message = f"{UNAVAILABLE} (storing bij de geocoder, HTTP 500)"
                assert r.json() == {"available": False, "message": message, "results": []}
                r = await http.get("/api/geocoding/reverse", params=other)
                body = r.json()
                assert body["available"] is False and body["message"].startswith(UNAVAILABLE)
                assert body["buurt"]["name"] == "Burgwallen-Oude Zijde"  # the fallback the console shows
                sim.mode = "slow"
                sim.app.delay_s = 20.0
                started = time.perf_counter()
                r = await http.get(
                    "/api/geocoding/reverse",
                    params={**other, "lat": other["lat"] - 0.0002},
                    timeout=20.0,
                )
                # the 0.5 s timeout answers, not the simulator 20 s later (a margin for a busy machine)
                assert r.json()["available"] is False and time.perf_counter() - started < 8.0
                sim.mode = "ok"
