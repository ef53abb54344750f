"""Signalen against its simulator over real HTTP (an OIDC token endpoint and the private signals API):
signals in handhaving categories become meldingen once, with their SLA deadline; the boa's progress on the
tablet is written back as Signalen status and notes, once each; an observation for another department is
filed as a new signal with Schakel as its source and followed through its history; timeouts, 429, 5xx,
malformed bodies and an expired token each leave a clear message and lose nothing."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import pytest

from backend.db.pool import create_pool
from backend.partnersim import serving
from backend.reports.area import month_of
from backend.signalen.client import SignalenClient, SignalenError
from backend.signalen.simulator import SignalenSimulator
from backend.signalen.sync import SignalenSync
from shared.protocol import TaskState, TaskUpdated, Welcome
from tests.integration.harness import Server, bearer, login, make_settings, running, socket_to
from tests.integration.world import OUDE_ZIJDE, World, build_world


@pytest.fixture
async def pool(database_url: str) -> AsyncIterator[asyncpg.Pool]:
    p = await create_pool(database_url, min_size=1, max_size=4)
    yield p
    await p.close()


def worker(server: Server, base: str, **kw: Any) -> SignalenSync:
    client = SignalenClient(
        base, base + "/oidc/token", "schakel", "sim-secret", timeout_s=kw.pop("timeout_s", 1.0)
    )
    sync = SignalenSync(server.services, client, org_code="gemeente-a", source="Schakel", **kw)
    sync.retry_base_s = 0.0  # the tests do not wait out the backoff
    return sync


async def mapped(server: Server) -> None:
    admin = await login(server.base, "admin_a")
    async with httpx.AsyncClient(base_url=server.base, headers=bearer(admin)) as http:
        for bad in (
            [{"category_slug": "Fiets Wrak"}],
            [{"category_slug": "fietswrak", "domain": 9}],
            [{"category_slug": "fietswrak"}, {"category_slug": "fietswrak"}],
        ):
            r = await http.put("/api/signalen/categories", json=bad)
            assert r.status_code == 400, (bad, r.text)
        r = await http.put(
            "/api/signalen/categories",
            json=[
                {"category_slug": "fietswrak"},
                {"category_slug": "parkeeroverlast", "domain": 4, "priority": 1},
            ],
        )
        assert r.status_code == 200, r.text


async def task_to_unit(server: Server, world: World, incident_id: int) -> int:
    lead = await login(server.base, "lead_a")
    async with httpx.AsyncClient(base_url=server.base, headers=bearer(lead)) as http:
        r = await http.post(f"/api/incidents/{incident_id}/tasks", json={"unit_id": world.unit_a})
        assert r.status_code == 201, r.text
        return int(r.json()["task_id"])


async def wait_for_state(pool: asyncpg.Pool, task_id: int, state: str) -> None:
    async with asyncio.timeout(5):
        while True:
            async with pool.acquire() as conn:
                if await conn.fetchval("SELECT state FROM tasks WHERE id = $1", task_id) == state:
                    return
            await asyncio.sleep(0.05)


async def test_signals_become_meldingen_and_the_boas_progress_goes_back_once(
    database_url: str, pool: asyncpg.Pool, tmp_path: Path
) -> None:
    world = await build_world(database_url)
    sim = SignalenSimulator(token_ttl_s=60)
    created = datetime.now(UTC) - timedelta(hours=1)
    bike = sim.add_signal(
        "fietswrak",
        "Fietswrak tegen de brug",
        *OUDE_ZIJDE,
        created_at=created,
        address="Oudezijds Voorburgwal 100",
    )
    van = sim.add_signal(
        "parkeeroverlast", "Busje op de stoep", *OUDE_ZIJDE, priority="low", created_at=created
    )
    lamp = sim.add_signal("straatverlichting-openbare-klok", "Lamp kapot", *OUDE_ZIJDE, created_at=created)
    done = sim.add_signal("fietswrak", "Al opgeruimd", *OUDE_ZIJDE, created_at=created)
    late = sim.add_signal("parkeeroverlast", "Auto op het fietspad", *OUDE_ZIJDE, created_at=created)
    bad = sim.add_signal("fietswrak", "Punt in RD-meters", 121000.0, 487000.0, created_at=created)
    sim.signals[late]["category"]["deadline"] = (created + timedelta(minutes=10)).isoformat()  # already past
    sim.set_state(done, "o", "Opgeruimd door de reiniging")
    async with serving(sim.app) as base, running(make_settings(database_url, tmp_path)) as server:
        await mapped(server)
        sync = worker(server, base)
        report = await sync.cycle()
        assert report.errors == [f"signal {bad} skipped: location 121000.0, 487000.0 is not a WGS84 point"]
        assert len(report.created) == 3  # the bad one holds up no other
        again = await sync.cycle()
        assert (
            again.created == [] and len(again.errors) == 1
        )  # one melding per signal, however often it is seen
        del sim.signals[bad]  # the gemeente corrects it (here: it is gone)
        async with pool.acquire() as conn:
            rows = {
                r["external_id"]: r
                for r in await conn.fetch(
                    "SELECT id, external_id, category, priority, required_domain, deadline, description,"
                    " address, beat_id FROM incidents WHERE source = 'signalen'"
                )
            }
        assert set(rows) == {
            str(bike),
            str(van),
            str(late),
        }  # not the lamp (no handhaving category), not the closed one
        assert lamp not in [int(k) for k in rows]
        b, v = rows[str(bike)], rows[str(van)]
        assert b["category"] == "Fietswrak" and b["priority"] == 2 and b["required_domain"] == 1
        assert (
            v["priority"] == 1 and v["required_domain"] == 4
        )  # the gemeente's mapping beats the signal's "low"
        assert b["deadline"] == datetime.fromisoformat(sim.signals[bike]["category"]["deadline"])
        assert "Afhandelen vóór" in b["description"] and b["address"] == "Oudezijds Voorburgwal 100"
        assert b["beat_id"] == world.beats_a["Burgwallen-Oude Zijde"]

        task_id = await task_to_unit(server, world, b["id"])
        boa = await login(server.base, "boa_a", world.tablet_a)
        async with socket_to(server.ws + "/ws/field", boa["access_token"]) as tablet:
            welcome = await tablet.recv_until(lambda f: isinstance(f, Welcome))
            seq = welcome.acked

            async def progress(state: TaskState, note: str = "") -> None:
                nonlocal seq
                seq += 1
                await tablet.send(
                    TaskUpdated(seq=seq, task_id=task_id, state=state, at=datetime.now(UTC), note=note)
                )
                await wait_for_state(pool, task_id, state.value)

            await progress(TaskState.ACCEPTED)
            # Signalen in trouble while the boa works on: every failure is a clear message, the field goes on
            troubles = [
                ("timeout", "did not answer in time"),
                ("throttle", "HTTP 429"),
                ("error", "HTTP 503"),
                ("malformed", "malformed body"),
            ]
            sim.retry_after_s = 0
            sim.delay_s = 1.5
            for mode, says in troubles:
                sim.mode = mode
                report = await sync.cycle()
                sim.mode = "ok"
                assert any(says in e for e in report.errors), (mode, report.errors)
                lead = await login(server.base, "lead_a")
                async with httpx.AsyncClient(base_url=server.base, headers=bearer(lead)) as http:
                    status = (await http.get("/api/signalen/status")).json()
                assert says in status["last_error"] and status["meldingen"] == 3, status
            assert sim.signals[bike]["status"]["state"] == "m"  # nothing got through yet...
            report = await sync.cycle()
            assert report.errors == [] and report.updates_sent == 1  # ... and now all of it
            assert sim.signals[bike]["status"]["state"] == "b"
            assert "A-01: geaccepteerd" in sim.signals[bike]["status"]["text"]

            await progress(TaskState.EN_ROUTE)
            await progress(TaskState.ON_SCENE)
            sim.fail_next("expired")  # the token stops working before its time: a new one, the same cycle
            tokens = sync.client.tokens_fetched
            report = await sync.cycle()
            assert report.errors == [] and sync.client.tokens_fetched == tokens + 1
            await progress(TaskState.DONE, note="fiets verwijderd")
        # the melding stays open until the meldkamer closes it; then the signal is afgehandeld
        lead = await login(server.base, "lead_a")
        async with httpx.AsyncClient(base_url=server.base, headers=bearer(lead)) as http:
            r = await http.post(f"/api/incidents/{b['id']}/close", json={"reason": "fiets verwijderd"})
            assert r.status_code == 200, r.text
        report = await sync.cycle()
        assert report.errors == []
        assert sim.signals[bike]["status"]["state"] == "o"
        notes = sim.notes(bike)
        assert len(notes) == 2 and "ter plaatse" in notes[0] and "fiets verwijderd" in notes[1]

        # a crash after Signalen took an update but before we marked it: sent again, it is recognised
        async with pool.acquire() as conn:
            await conn.execute("UPDATE signalen_updates SET sent_at = NULL WHERE last_error <> 'not sent'")
        report = await sync.cycle()
        assert report.errors == [] and len(sim.notes(bike)) == 2
        assert [h["what"] for h in sim.histories[bike]].count("UPDATE_STATUS") == 3  # gemeld, b, o: once each

        # the team lead's area report counts the meldingen past their Signalen deadline
        lead = await login(server.base, "lead_a")
        async with httpx.AsyncClient(base_url=server.base, headers=bearer(lead)) as http:
            r = await http.get("/api/reports/area", params={"month": month_of(created)})
        assert r.status_code == 200, r.text
        total = r.json()["total"]
        assert total["sla_total"] == 3 and total["sla_breached"] == 1  # the late one, still open past it
        [oude] = [f for f in r.json()["beats"] if f["beat_id"] == world.beats_a["Burgwallen-Oude Zijde"]]
        assert oude["sla_breached"] == 1
        await sync.client.close()


async def test_a_boa_files_an_observation_for_another_department_once_and_follows_it(
    database_url: str, pool: asyncpg.Pool, tmp_path: Path
) -> None:
    world = await build_world(database_url)
    sim = SignalenSimulator()
    async with serving(sim.app) as base, running(make_settings(database_url, tmp_path)) as server:
        sync = worker(server, base)
        boa = await login(server.base, "boa_a", world.tablet_a)
        event = uuid.uuid4()
        body = {
            "event_id": str(event),
            "category": "wegen-verkeer-straatmeubilair/straatverlichting-openbare-klok",
            "text": "Lantaarnpaal knippert, kabel hangt los",
            "lon": OUDE_ZIJDE[0],
            "lat": OUDE_ZIJDE[1],
        }
        async with httpx.AsyncClient(base_url=server.base, headers=bearer(boa)) as http:
            r = await http.post("/api/signalen/observations", json=body)
            assert r.status_code == 201 and r.json()["signal_id"] is None, r.text
            r = await http.post("/api/signalen/observations", json=body)  # the tablet sends it again
            assert r.status_code == 200
            for bad in (
                {**body, "category": "lamp"},
                {**body, "text": ""},
                {**body, "lat": 91},
                {**body, "x": 1},
            ):
                r = await http.post("/api/signalen/observations", json=bad)
                assert r.status_code == 400, (bad, r.text)

            sim.mode = "error"
            report = await sync.cycle()
            sim.mode = "ok"
            assert any("HTTP 503" in e for e in report.errors) and sim.signals == {}
            report = await sync.cycle()
            assert report.observations_filed == 1
            [signal_id] = sim.signals
            signal = sim.signals[signal_id]
            assert (
                signal["source"] == "Schakel"
                and signal["category"]["sub_slug"] == "straatverlichting-openbare-klok"
            )
            assert str(event) in signal["text"]
            async with (
                pool.acquire() as conn
            ):  # as if Signalen's answer had been lost: it is found, not made twice
                await conn.execute(
                    "UPDATE signalen_observations SET signal_id = NULL WHERE event_id = $1", event
                )
            report = await sync.cycle()
            assert report.errors == [] and list(sim.signals) == [signal_id]

            sim.set_state(signal_id, "b", "Opdracht aan de aannemer verlichting")
            sim.set_state(signal_id, "o", "Lamp vervangen")
            report = await sync.cycle()
            assert report.errors == []
            [mine] = (await http.get("/api/signalen/observations")).json()
            assert (
                mine["signal_id"] == signal_id
                and mine["state"] == "o"
                and mine["state_text"] == "Afgehandeld"
            )
            actions = [h["description"] for h in mine["history"]]
            assert "Opdracht aan de aannemer verlichting" in actions and "Lamp vervangen" in actions
            before = len(sim.calls)
            await sync.cycle()
            assert len(sim.calls) == before  # a closed observation is no longer followed
        await sync.client.close()


async def test_a_configured_backend_polls_signalen_by_itself(
    database_url: str, pool: asyncpg.Pool, tmp_path: Path
) -> None:
    await build_world(database_url)
    sim = SignalenSimulator()
    sim.add_signal("fietswrak", "Fietswrak bij de Oude Kerk", *OUDE_ZIJDE)
    async with serving(sim.app) as base:
        settings = make_settings(
            database_url,
            tmp_path,
            signalen_url=base,
            signalen_token_url=base + "/oidc/token",
            signalen_client_id="schakel",
            signalen_client_secret="sim-secret",
            signalen_org="gemeente-a",
            signalen_poll_s=0.2,
        )
        async with running(settings) as server:
            await mapped(server)
            async with asyncio.timeout(10):
                while True:
                    async with pool.acquire() as conn:
                        if await conn.fetchval("SELECT count(*) FROM incidents WHERE source = 'signalen'"):
                            break
                    await asyncio.sleep(0.1)
            lead = await login(server.base, "lead_a")
            async with httpx.AsyncClient(base_url=server.base, headers=bearer(lead)) as http:
                status = (await http.get("/api/signalen/status")).json()
                other = await login(server.base, "lead_b")
                theirs = (await http.get("/api/signalen/status", headers=bearer(other))).json()
        assert (
            status["configured"]
            and status["meldingen"] == 1
            and status["polled_at"]
            and not status["last_error"]
        )
        assert not theirs["configured"] and theirs["meldingen"] == 0  # gemeente B has no Signalen here


async def test_the_token_is_renewed_before_it_expires_and_a_wrong_secret_says_so() -> None:
    sim = SignalenSimulator(token_ttl_s=0.5)
    async with serving(sim.app) as base:
        client = SignalenClient(base, base + "/oidc/token", "schakel", "sim-secret", timeout_s=2.0)
        try:
            assert await client.signals([]) == []
            await asyncio.sleep(0.45)  # past 80 % of its life: renewed before the call, not after a 401
            assert await client.signals([]) == []
            assert client.tokens_fetched == 2 and sim.tokens_issued == 2 and len(sim.calls) == 2
        finally:
            await client.close()
        wrong = SignalenClient(base, base + "/oidc/token", "schakel", "not-the-secret", timeout_s=2.0)
        try:
            with pytest.raises(
                SignalenError, match="token refused \\(HTTP 401\\): check the client id and secret"
            ):
                await wrong.signals([])
        finally:
            await wrong.close()
