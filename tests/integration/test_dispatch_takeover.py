"""A P1 takes a busy unit from its lower-priority task (the proposals' "Overnemen voor P1"): the old task is
released in the same transaction, its melding needs a unit again and says why, the tablet hears the
cancellation and then gets the P1, and the meldkamer that handed the P3 over hears nothing wrong
(embedded PostgreSQL, the real server, an operator socket and a tablet socket on loopback)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import asyncpg
import httpx

from backend.orgs import repository as orgs
from meldkamer_bridge import handover
from meldkamer_bridge.adapters import eido
from shared.bridge_api import TimelineLine
from shared.protocol import (
    Ack,
    Delta,
    Snapshot,
    TaskAssigned,
    TaskCancelled,
    TaskState,
    TaskUpdated,
)
from tests.integration.harness import PASSWORD, bearer, login, make_settings, running, socket_to
from tests.integration.test_dispatch import fetchval, new_incident, place_unit
from tests.integration.world import NIEUWE_ZIJDE, OUDE_ZIJDE, build_world

ACTIVE = {"assigned", "accepted", "en_route", "on_scene"}


async def add_bridge_account(database_url: str, meldkamer: int) -> None:
    """The bridge's service account (role service, in the meldkamer): it hands the P3 over."""
    conn = await asyncpg.connect(database_url)
    try:
        await orgs.create_account(
            conn, org_id=meldkamer, username="bridge_mk", password=PASSWORD, role="service"
        )
    finally:
        await conn.close()


def active(incident: dict[str, Any]) -> list[str]:
    return [t["call_sign"] for t in incident["tasks"] if t["state"] in ACTIVE]


async def test_a_p1_takes_the_unit_from_its_p3_task_which_needs_a_unit_again(
    database_url: str, tmp_path: Path
) -> None:
    world = await build_world(database_url)
    await add_bridge_account(database_url, world.meldkamer)
    async with running(make_settings(database_url, tmp_path)) as server:
        await place_unit(server, world, NIEUWE_ZIJDE)
        op_session = await login(server.base, "operator_mk")
        bridge = await login(server.base, "bridge_mk")
        boa = await login(server.base, "boa_a", world.tablet_a)
        async with (
            httpx.AsyncClient(base_url=server.base, headers=bearer(op_session)) as http,
            httpx.AsyncClient(base_url=server.base, headers=bearer(bridge)) as partner,
            socket_to(server.ws + "/ws/operator", op_session["access_token"]) as op,
            socket_to(server.ws + "/ws/field", boa["access_token"]) as tablet,
        ):
            assert isinstance(await op.recv(), Snapshot)
            welcome = await tablet.recv()
            # the P3 was handed over by the meldkamer (as the bridge posts it)
            body = {"category": "Afval", "priority": 3, "description": "zakken naast de container",
                    "lon": OUDE_ZIJDE[0], "lat": OUDE_ZIJDE[1], "source": "gms-sim",
                    "external_id": "urn:gms:1"}  # fmt: skip
            r = await partner.post("/api/incidents", json=body)
            assert r.status_code == 201, r.text
            p3 = r.json()["incident_id"]
            old = (await http.post(f"/api/incidents/{p3}/tasks", json={"unit_id": world.unit_a})).json()
            assert (await tablet.recv_until(lambda f: isinstance(f, TaskAssigned))).task_id == old["task_id"]
            now = datetime.now(UTC)
            seq = welcome.acked
            for i, state in enumerate([TaskState.ACCEPTED, TaskState.EN_ROUTE]):
                seq += 1
                at = now + timedelta(seconds=i)
                await tablet.send(TaskUpdated(seq=seq, task_id=old["task_id"], state=state, at=at))
            await tablet.recv_until(lambda f: isinstance(f, Ack) and f.upto == seq)

            p1 = (await new_incident(http, priority=1, category="Vechtpartij"))["incident_id"]
            (busy,) = (await http.get(f"/api/incidents/{p1}/proposals")).json()
            assert busy["unit_id"] == world.unit_a and busy["may_take"] is True
            assert busy["task_id"] == old["task_id"] and busy["task_state"] == "en_route"

            r = await http.post(f"/api/incidents/{p1}/tasks", json={"unit_id": world.unit_a})
            assert r.status_code == 201, r.text
            new = r.json()
            assert new["sent"] is True

            # the tablet: first the old task goes, with the reason, then the P1 arrives
            frame = await tablet.recv_until(lambda f: isinstance(f, TaskCancelled | TaskAssigned))
            assert isinstance(frame, TaskCancelled) and frame.task_id == old["task_id"]
            assert frame.reason == "overgenomen voor P1: Vechtpartij"
            frame = await tablet.recv_until(lambda f: isinstance(f, TaskAssigned))
            assert frame.task_id == new["task_id"] and frame.priority == 1

            # the operator: the P3 has no unit any more and its timeline says why; the P1 notes it
            seen: dict[int, Any] = {}
            lines: list[tuple[int, str]] = []

            taken = f"A-01 overgenomen voor P1-melding #{p1} (Vechtpartij)"

            def both(f: Any) -> bool:
                if isinstance(f, Delta):
                    seen.update({i.incident_id: i for i in f.incidents})
                    lines.extend((e.incident_id, e.text) for e in f.timeline)
                return p1 in seen and (p3, taken) in lines and seen[p3].tasks[0].state == TaskState.CANCELLED

            await op.recv_until(both)
            assert [t.state for t in seen[p3].tasks] == [TaskState.CANCELLED]
            assert [(t.call_sign, t.state) for t in seen[p1].tasks] == [("A-01", TaskState.ASSIGNED)]
            assert (p1, "A-01: opdracht verstrekt") in lines
            assert (p1, f"A-01 overgenomen van P3-melding #{p3} (Afval)") in lines

            detail = (await http.get(f"/api/incidents/{p3}")).json()
            assert detail["incident"]["state"] == "open" and active(detail["incident"]) == []
            # (the tablet's lines carry its own, slightly later, times: the line is found by its kind)
            (line,) = [e for e in detail["timeline"] if e["kind"] == "cancelled"]
            assert (line["text"], line["actor"]) == (taken, "operator_mk")
            listed = {i["incident_id"]: i for i in (await http.get("/api/incidents")).json()}
            assert active(listed[p3]) == [] and active(listed[p1]) == ["A-01"]
            # the P3 can be given to a unit again: A-01 is proposed for it, busy with the P1 now
            (again,) = (await http.get(f"/api/incidents/{p3}/proposals")).json()
            assert again["unit_id"] == world.unit_a and again["busy"] and not again["may_take"]
            assert again["task_incident_id"] == p1 and again["task_priority"] == 1
            assert (
                await fetchval(
                    database_url,
                    "SELECT count(*) FROM tasks WHERE unit_id = $1 AND state = ANY($2)",
                    world.unit_a,
                    sorted(ACTIVE),
                )
                == 1
            )

            # a late step of the old task from the tablet changes nothing
            seq += 1
            at = datetime.now(UTC) + timedelta(seconds=5)
            await tablet.send(TaskUpdated(seq=seq, task_id=old["task_id"], state=TaskState.ON_SCENE, at=at))
            await tablet.recv_until(lambda f: isinstance(f, Ack) and f.upto == seq)
            state = await fetchval(database_url, "SELECT state FROM tasks WHERE id = $1", old["task_id"])
            assert state == "cancelled"

            # the meldkamer heard of the P3's unit being assigned and on its way, and nothing after that
            raw = (await partner.get("/api/bridge/timeline", params={"source": "gms-sim"})).json()
            events = [handover.event_from(TimelineLine(**{**r, "at": datetime.fromisoformat(r["at"])}))
                      for r in raw]  # fmt: skip
            updates = [handover.update_for(e, "handhaving.test") for e in events]
            assert [(u.progress, u.units) for u in updates if u is not None] == [
                (eido.Progress.ACCEPTED, ()),
                (eido.Progress.ASSIGNED, ("A-01",)),
                (eido.Progress.ASSIGNED, ("A-01",)),  # geaccepteerd
                (eido.Progress.EN_ROUTE, ("A-01",)),
            ]
            assert all("overgenomen" not in e.text for e in events)


async def test_only_a_p1_takes_over_and_it_releases_every_lower_task_but_never_another_p1(
    database_url: str, tmp_path: Path
) -> None:
    world = await build_world(database_url)
    async with running(make_settings(database_url, tmp_path)) as server:
        op_session = await login(server.base, "operator_mk")
        async with httpx.AsyncClient(base_url=server.base, headers=bearer(op_session)) as http:

            async def assign(incident_id: int) -> None:
                r = await http.post(f"/api/incidents/{incident_id}/tasks", json={"unit_id": world.unit_a})
                assert r.status_code == 201, r.text

            async def lines(incident_id: int) -> list[str]:
                detail = (await http.get(f"/api/incidents/{incident_id}")).json()
                return [e["text"] for e in detail["timeline"]]

            p3 = (await new_incident(http, priority=3, category="Afval"))["incident_id"]
            p2 = (await new_incident(http, priority=2))["incident_id"]
            await assign(p3)
            await assign(p2)  # "Toch koppelen" for a P2: the unit keeps its P3 task too
            listed = {i["incident_id"]: i for i in (await http.get("/api/incidents")).json()}
            assert active(listed[p3]) == ["A-01"] and active(listed[p2]) == ["A-01"]

            p1 = (await new_incident(http, priority=1, category="Vechtpartij"))["incident_id"]
            await assign(p1)  # takes the unit from both
            p1b = (await new_incident(http, priority=1, category="Inbraak"))["incident_id"]
            await assign(p1b)  # a second P1 never takes it from the first
            listed = {i["incident_id"]: i for i in (await http.get("/api/incidents")).json()}
            assert [active(listed[i]) for i in (p3, p2, p1, p1b)] == [[], [], ["A-01"], ["A-01"]]
            taken = f"A-01 overgenomen voor P1-melding #{p1} (Vechtpartij)"
            assert (await lines(p3))[-1] == taken and (await lines(p2))[-1] == taken
            assert [t for t in await lines(p1) if "overgenomen" in t] == [
                f"A-01 overgenomen van P3-melding #{p3} (Afval)",
                f"A-01 overgenomen van P2-melding #{p2} (Overlast jeugd)",
            ]
            assert not any("overgenomen" in t for t in await lines(p1b))

        # the tablet was offline all along: on connect it gets its two P1s and hears why the others went
        boa = await login(server.base, "boa_a", world.tablet_a)
        async with socket_to(server.ws + "/ws/field", boa["access_token"]) as tablet:
            await tablet.recv()  # welcome
            frames = [await tablet.recv() for _ in range(4)]
        assert [(f.incident_id, f.priority) for f in frames if isinstance(f, TaskAssigned)] == [
            (p1, 1),
            (p1b, 1),
        ]
        reason = "overgenomen voor P1: Vechtpartij"
        assert [f.reason for f in frames if isinstance(f, TaskCancelled)] == [reason, reason]
