"""Dispatch end to end: meldingen, proposals, tasks to tablets and back, messages, track replay, bad input."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import asyncpg
import httpx

from shared.protocol import (
    Ack,
    Delta,
    MessageRead,
    Ping,
    Pong,
    PositionReported,
    Snapshot,
    TaskAssigned,
    TaskCancelled,
    TaskState,
    TaskUpdated,
    TextMessage,
    UnitStatus,
)
from tests.integration.harness import Server, bearer, login, make_settings, running, socket_to
from tests.integration.world import FAR_AWAY, NIEUWE_ZIJDE, OUDE_ZIJDE, World, build_world


async def fetchval(url: str, sql: str, *args: object) -> Any:
    conn = await asyncpg.connect(url)
    try:
        return await conn.fetchval(sql, *args)
    finally:
        await conn.close()


async def new_incident(
    http: httpx.AsyncClient, lonlat: tuple[float, float] = OUDE_ZIJDE, **extra: Any
) -> dict[str, Any]:
    body = {
        "category": "Overlast jeugd",
        "priority": 2,
        "description": "groep bij de kerk",
        "lon": lonlat[0],
        "lat": lonlat[1],
        **extra,
    }
    r = await http.post("/api/incidents", json=body)
    assert r.status_code == 201, r.text
    return r.json()  # type: ignore[no-any-return]


async def place_unit(server: Server, world: World, lonlat: tuple[float, float]) -> None:
    boa = await login(server.base, "boa_a", world.tablet_a)
    async with socket_to(server.ws + "/ws/field", boa["access_token"]) as ws:
        welcome = await ws.recv()
        seq = welcome.acked + 1
        await ws.send(PositionReported(seq=seq, lon=lonlat[0], lat=lonlat[1], at=datetime.now(UTC)))
        await ws.recv_until(lambda f: isinstance(f, Ack) and f.upto == seq)


async def test_task_reaches_the_tablet_and_its_progress_the_operator(
    database_url: str, tmp_path: Path
) -> None:
    world = await build_world(database_url)
    async with running(make_settings(database_url, tmp_path)) as server:
        await place_unit(server, world, NIEUWE_ZIJDE)
        op_session = await login(server.base, "operator_mk")
        boa = await login(server.base, "boa_a", world.tablet_a)
        async with (
            httpx.AsyncClient(base_url=server.base, headers=bearer(op_session)) as http,
            socket_to(server.ws + "/ws/operator", op_session["access_token"]) as op,
            socket_to(server.ws + "/ws/field", boa["access_token"]) as tablet,
        ):
            assert isinstance(await op.recv(), Snapshot)
            welcome = await tablet.recv()
            incident = await new_incident(http)
            assert incident["org_id"] == world.org_a
            assert incident["beat_id"] == world.beats_a["Burgwallen-Oude Zijde"]
            created = await op.recv_until(lambda f: isinstance(f, Delta) and f.incidents)
            assert created.incidents[0].incident_id == incident["incident_id"]

            proposals = (await http.get(f"/api/incidents/{incident['incident_id']}/proposals")).json()
            assert [p["unit_id"] for p in proposals] == [world.unit_a]  # unit B is of another gemeente
            assert 300 < proposals[0]["distance_m"] < 500

            r = await http.post(
                f"/api/incidents/{incident['incident_id']}/tasks", json={"unit_id": world.unit_a}
            )
            assert r.status_code == 201, r.text
            task = r.json()
            assert task["sent"] is True
            frame = await tablet.recv_until(lambda f: isinstance(f, TaskAssigned))
            assert frame.task_id == task["task_id"] and frame.priority == 2
            assert frame.lon == OUDE_ZIJDE[0] and "Overlast jeugd" in frame.title

            now = datetime.now(UTC)
            seq = welcome.acked
            for i, state in enumerate([TaskState.ACCEPTED, TaskState.EN_ROUTE, TaskState.ON_SCENE]):
                seq += 1
                await tablet.send(
                    TaskUpdated(seq=seq, task_id=task["task_id"], state=state, at=now + timedelta(seconds=i))
                )
            # the timeline line and the unit's new status may come in one delta or in either order
            seen = {"timeline": False, "status": False}

            def on_scene(f: Any) -> bool:
                if isinstance(f, Delta):
                    seen["timeline"] |= any(e.text.endswith("ter plaatse") for e in f.timeline)
                    seen["status"] |= any(
                        u.unit_id == world.unit_a and u.status == UnitStatus.ON_SCENE for u in f.units
                    )
                return seen["timeline"] and seen["status"]

            await op.recv_until(on_scene)
            seq += 1
            await tablet.send(
                TaskUpdated(
                    seq=seq,
                    task_id=task["task_id"],
                    state=TaskState.DONE,
                    at=now + timedelta(seconds=5),
                    note="groep vertrokken",
                )
            )
            done = await op.recv_until(
                lambda f: (
                    isinstance(f, Delta)
                    and any(t.state == TaskState.DONE for i in f.incidents for t in i.tasks)
                )
            )
            # the last task ended, but the melding stays open until the operator closes it (issue 11)
            assert done.incidents[0].state == "open"
            detail = (await http.get(f"/api/incidents/{incident['incident_id']}")).json()
            assert detail["incident"]["state"] == "open"
            assert incident["incident_id"] in [
                i["incident_id"] for i in (await http.get("/api/incidents")).json()
            ]
            closed = await http.post(
                f"/api/incidents/{incident['incident_id']}/close", json={"reason": "klaar"}
            )
            assert closed.status_code == 200 and closed.json()["state"] == "closed"
            detail = (await http.get(f"/api/incidents/{incident['incident_id']}")).json()
    texts = [e["text"] for e in detail["timeline"]]
    # the close is stamped now; the tablet's lines carry its (slightly future) times: it sorts among them
    assert "melding afgesloten: klaar" in texts
    texts.remove("melding afgesloten: klaar")
    assert texts == [
        "melding aangemaakt: P2 Overlast jeugd",
        "A-01: opdracht verstrekt",
        "A-01: geaccepteerd",
        "A-01: aanrijdend",
        "A-01: ter plaatse",
        "A-01: afgerond — groep vertrokken",
        "alle eenheden gereed — de melding blijft open tot de meldkamer haar afsluit",
    ]
    actors = [e["actor"] for e in detail["timeline"]]
    # names, not "operator"/"tablet": the account (no display name in this world: its username) and the unit
    assert actors[0] == "operator_mk" and actors[2] == "A-01"
    assert await fetchval(database_url, "SELECT status FROM units WHERE id = $1", world.unit_a) == "available"


async def test_a_task_is_sent_again_after_reconnect_until_accepted(database_url: str, tmp_path: Path) -> None:
    world = await build_world(database_url)
    async with running(make_settings(database_url, tmp_path)) as server:
        op_session = await login(server.base, "operator_mk")
        boa = await login(server.base, "boa_a", world.tablet_a)
        async with httpx.AsyncClient(base_url=server.base, headers=bearer(op_session)) as http:
            incident = await new_incident(http)
            r = await http.post(
                f"/api/incidents/{incident['incident_id']}/tasks", json={"unit_id": world.unit_a}
            )
            assert r.json()["sent"] is False  # the tablet is not connected
            task_id = r.json()["task_id"]
        for _ in range(2):
            async with socket_to(server.ws + "/ws/field", boa["access_token"]) as tablet:
                welcome = await tablet.recv()
                frame = await tablet.recv()
                assert isinstance(frame, TaskAssigned) and frame.task_id == task_id
        async with socket_to(server.ws + "/ws/field", boa["access_token"]) as tablet:
            welcome = await tablet.recv()
            await tablet.recv_until(lambda f: isinstance(f, TaskAssigned))
            await tablet.send(
                TaskUpdated(
                    seq=welcome.acked + 1, task_id=task_id, state=TaskState.ACCEPTED, at=datetime.now(UTC)
                )
            )
            await tablet.recv_until(lambda f: isinstance(f, Ack))
        async with socket_to(server.ws + "/ws/field", boa["access_token"]) as tablet:
            await tablet.recv()
            await tablet.send(Ping(nonce=7))
            assert isinstance(await tablet.recv(), Pong)  # nothing owed any more


async def test_cancelled_task_reaches_the_tablet_and_later_updates_are_ignored(
    database_url: str, tmp_path: Path
) -> None:
    world = await build_world(database_url)
    async with running(make_settings(database_url, tmp_path)) as server:
        op_session = await login(server.base, "operator_mk")
        boa = await login(server.base, "boa_a", world.tablet_a)
        async with (
            httpx.AsyncClient(base_url=server.base, headers=bearer(op_session)) as http,
            socket_to(server.ws + "/ws/field", boa["access_token"]) as tablet,
        ):
            welcome = await tablet.recv()
            incident = await new_incident(http)
            task = (
                await http.post(
                    f"/api/incidents/{incident['incident_id']}/tasks", json={"unit_id": world.unit_a}
                )
            ).json()
            await tablet.recv_until(lambda f: isinstance(f, TaskAssigned))
            r = await http.post(f"/api/tasks/{task['task_id']}/cancel", json={"reason": "dubbele melding"})
            assert r.status_code == 200, r.text
            cancelled = await tablet.recv_until(lambda f: isinstance(f, TaskCancelled))
            assert cancelled.task_id == task["task_id"] and cancelled.reason == "dubbele melding"
            await tablet.send(
                TaskUpdated(
                    seq=welcome.acked + 1,
                    task_id=task["task_id"],
                    state=TaskState.ON_SCENE,
                    at=datetime.now(UTC),
                )
            )
            await tablet.recv_until(lambda f: isinstance(f, Ack))
            again = await http.post(f"/api/tasks/{task['task_id']}/cancel", json={})
            assert again.status_code == 409 and again.json()["field"] == "task_id"
    assert (
        await fetchval(database_url, "SELECT state FROM tasks WHERE id = $1", task["task_id"]) == "cancelled"
    )
    assert await fetchval(database_url, "SELECT status FROM units WHERE id = $1", world.unit_a) == "available"


async def test_a_tablet_cannot_move_another_units_task(database_url: str, tmp_path: Path) -> None:
    world = await build_world(database_url)
    async with running(make_settings(database_url, tmp_path)) as server:
        op_session = await login(server.base, "operator_mk")
        boa_b = await login(server.base, "boa_b", world.tablet_b)
        async with (
            httpx.AsyncClient(base_url=server.base, headers=bearer(op_session)) as http,
            socket_to(server.ws + "/ws/field", boa_b["access_token"]) as tablet,
        ):
            welcome = await tablet.recv()
            incident = await new_incident(http)
            task = (
                await http.post(
                    f"/api/incidents/{incident['incident_id']}/tasks", json={"unit_id": world.unit_a}
                )
            ).json()
            await tablet.send(
                TaskUpdated(
                    seq=welcome.acked + 1, task_id=task["task_id"], state=TaskState.DONE, at=datetime.now(UTC)
                )
            )
            # no such task (beyond bigint): stored, acknowledged, and the writer goes on
            await tablet.send(
                TaskUpdated(seq=welcome.acked + 2, task_id=2**63, state=TaskState.DONE, at=datetime.now(UTC))
            )
            await tablet.send(MessageRead(seq=welcome.acked + 3, message_id=2**63 + 1, at=datetime.now(UTC)))
            await tablet.recv_until(lambda f: isinstance(f, Ack) and f.upto == welcome.acked + 3)
    assert (
        await fetchval(database_url, "SELECT state FROM tasks WHERE id = $1", task["task_id"]) == "assigned"
    )
    assert await fetchval(database_url, "SELECT count(*) FROM field_events WHERE kind = 'task_update'") == 2


async def test_message_is_delivered_when_the_tablet_reads_it(database_url: str, tmp_path: Path) -> None:
    world = await build_world(database_url)
    async with running(make_settings(database_url, tmp_path)) as server:
        op_session = await login(server.base, "operator_mk")
        boa = await login(server.base, "boa_a", world.tablet_a)
        async with (
            httpx.AsyncClient(base_url=server.base, headers=bearer(op_session)) as http,
            socket_to(server.ws + "/ws/operator", op_session["access_token"]) as op,
            socket_to(server.ws + "/ws/field", boa["access_token"]) as tablet,
        ):
            await op.recv()
            welcome = await tablet.recv()
            r = await http.post(f"/api/units/{world.unit_a}/messages", json={"text": "Bel de meldkamer"})
            assert r.status_code == 201, r.text
            message = r.json()
            assert message["delivered_at"] is None
            frame = await tablet.recv_until(lambda f: isinstance(f, TextMessage))
            assert frame.text == "Bel de meldkamer" and frame.sender == "operator_mk"
            await tablet.send(
                MessageRead(seq=welcome.acked + 1, message_id=frame.message_id, at=datetime.now(UTC))
            )
            delta = await op.recv_until(
                lambda f: isinstance(f, Delta) and any(m.delivered_at for m in f.messages)
            )
            assert delta.messages[0].message_id == message["message_id"]
            listed = (await http.get(f"/api/units/{world.unit_a}/messages")).json()
    assert listed[0]["delivered_at"] is not None


async def test_incident_by_buurt_name_in_the_address(database_url: str, tmp_path: Path) -> None:
    world = await build_world(database_url)
    async with running(make_settings(database_url, tmp_path)) as server:
        op_session = await login(server.base, "operator_mk")
        async with httpx.AsyncClient(base_url=server.base, headers=bearer(op_session)) as http:
            r = await http.post(
                "/api/incidents",
                json={
                    "category": "Afval",
                    "priority": 3,
                    "address": "Nieuwendijk 10, Burgwallen-Nieuwe Zijde",
                },
            )
    assert r.status_code == 201, r.text
    assert r.json()["beat_id"] == world.beats_a["Burgwallen-Nieuwe Zijde"]


async def test_track_replay_is_logged_and_only_for_allowed_roles(database_url: str, tmp_path: Path) -> None:
    world = await build_world(database_url)
    async with running(make_settings(database_url, tmp_path)) as server:
        await place_unit(server, world, OUDE_ZIJDE)
        op_session = await login(server.base, "operator_mk")
        boa = await login(server.base, "boa_a")
        async with httpx.AsyncClient(base_url=server.base) as http:
            r = await http.get(
                f"/api/units/{world.unit_a}/track",
                params={"hours": 2, "reason": "nazorg melding 7"},
                headers=bearer(op_session),
            )
            assert r.status_code == 200, r.text
            assert [(p["lon"], p["lat"]) for p in r.json()["points"]] == [OUDE_ZIJDE]
            denied = await http.get(f"/api/units/{world.unit_a}/track", headers=bearer(boa))
            assert denied.status_code == 403
    conn = await asyncpg.connect(database_url)
    try:
        rows = await conn.fetch(
            """SELECT l.action, l.object_type, l.object_id, l.result, a.username, l.reason, l.origin,
                      l.details
               FROM audit_log l JOIN accounts a ON a.id = l.actor_id
               WHERE l.action = 'read_track' ORDER BY l.id"""
        )
    finally:
        await conn.close()
    assert [(r["action"], r["result"], r["username"]) for r in rows] == [
        ("read_track", "granted", "operator_mk"),
        ("read_track", "denied", "boa_a"),
    ]
    assert rows[0]["reason"] == "nazorg melding 7" and rows[0]["origin"] == "127.0.0.1"
    assert (rows[0]["object_type"], rows[0]["object_id"]) == ("unit", str(world.unit_a))
    details = json.loads(rows[0]["details"])  # a bare connection has no jsonb codec
    assert details["points"] == 1 and details["hours"] == 2


BAD_INCIDENTS = [
    ({"category": "x", "priority": 0, "lon": 4.9, "lat": 52.37}, 400, "priority"),
    ({"category": "x", "priority": 4, "lon": 4.9, "lat": 52.37}, 400, "priority"),
    ({"category": "", "priority": 1, "lon": 4.9, "lat": 52.37}, 400, "category"),
    ({"priority": 1, "lon": 4.9, "lat": 52.37}, 400, "category"),
    ({"category": "x", "priority": 1, "lon": 4.9, "lat": 95.0}, 400, "lat"),
    ({"category": "x", "priority": 1, "lon": 4.9}, 400, "lat"),
    ({"category": "x", "priority": 1}, 400, "address"),
    ({"category": "x", "priority": 1, "address": "Kalverstraat 1"}, 400, "address"),
    (
        {"category": "x", "priority": 1, "lon": 4.9, "lat": 52.37, "required_domain": 9},
        400,
        "required_domain",
    ),
    ({"category": "x", "priority": "hoog", "lon": 4.9, "lat": 52.37}, 400, "priority"),
    ({"category": "x", "priority": 1, "lon": 4.9, "lat": 52.37, "org_id": 999}, 404, None),
]


async def test_bad_incidents_get_a_4xx_with_the_field(database_url: str, tmp_path: Path) -> None:
    await build_world(database_url)
    async with running(make_settings(database_url, tmp_path)) as server:
        op_session = await login(server.base, "operator_mk")
        async with httpx.AsyncClient(base_url=server.base, headers=bearer(op_session)) as http:
            for body, status, field in BAD_INCIDENTS:
                r = await http.post("/api/incidents", json=body)
                assert r.status_code == status, (body, r.text)
                if field is not None:
                    assert r.json()["field"] == field, (body, r.text)
    assert await fetchval(database_url, "SELECT count(*) FROM incidents") == 0


async def test_bad_dispatch_requests_get_a_4xx(database_url: str, tmp_path: Path) -> None:
    world = await build_world(database_url)
    async with running(make_settings(database_url, tmp_path)) as server:
        op = bearer(await login(server.base, "operator_mk"))
        lead_b = bearer(await login(server.base, "lead_b"))
        boa = bearer(await login(server.base, "boa_a"))
        async with httpx.AsyncClient(base_url=server.base) as http:
            http.headers.update(op)
            incident = await new_incident(http, FAR_AWAY)
            iid = incident["incident_id"]
            cases = [
                (http.post(f"/api/incidents/{iid}/tasks", json={"unit_id": world.unit_b}), 404, "unit_id"),
                (http.post(f"/api/incidents/{iid}/tasks", json={"unit_id": "A-01"}), 400, "unit_id"),
                (http.post(f"/api/incidents/{iid}/tasks", json={}), 400, "unit_id"),
                (http.post("/api/incidents/99999/tasks", json={"unit_id": world.unit_a}), 404, "incident_id"),
                (http.get(f"/api/incidents/{iid}", headers=lead_b), 404, "incident_id"),
                (
                    http.post(
                        "/api/incidents",
                        headers=boa,
                        json={"category": "x", "priority": 1, "lon": 4.9, "lat": 52.37},
                    ),
                    403,
                    None,
                ),
                (http.get(f"/api/incidents/{iid}/proposals", params={"limit": 0}), 400, "limit"),
                (http.post(f"/api/units/{world.unit_a}/messages", json={"text": ""}), 400, "text"),
                (http.post(f"/api/units/{world.unit_a}/messages", json={"text": "x" * 501}), 400, "text"),
                (http.post(f"/api/units/{world.unit_b}/messages", json={"text": "hallo"}), 404, "unit_id"),
                (http.get(f"/api/units/{world.unit_a}/track", params={"hours": 0}), 400, "hours"),
                (http.get(f"/api/units/{world.unit_a}/track", params={"hours": "veel"}), 400, "hours"),
                (http.post("/api/tasks/12345/cancel", json={}), 404, "task_id"),
                (http.get(f"/api/incidents/{2**64}"), 404, "incident_id"),
                (http.post(f"/api/incidents/{2**64}/tasks", json={"unit_id": 2**64}), 404, "incident_id"),
                (http.post(f"/api/incidents/{iid}/tasks", json={"unit_id": 2**64}), 404, "unit_id"),
                (http.post(f"/api/tasks/{2**63}/cancel", json={}), 404, "task_id"),
                (http.get(f"/api/units/{2**64}/track"), 404, "unit_id"),
                (http.post(f"/api/units/{2**64}/messages", json={"text": "x"}), 404, "unit_id"),
                (http.post(f"/api/incidents/{iid}/close", content=b"{not json"), 400, None),
            ]
            for request, status, field in cases:
                r = await request
                assert r.status_code == status, (r.request.url, r.text)
                if field is not None:
                    assert field in (r.json().get("field") or ""), (r.request.url, r.text)
            assert (
                await http.post(f"/api/incidents/{iid}/close", json={"reason": "loos alarm"})
            ).status_code == 200
            closed = await http.post(f"/api/incidents/{iid}/tasks", json={"unit_id": world.unit_a})
            assert closed.status_code == 400 and closed.json()["field"] == "incident_id"
            again = await http.post(f"/api/incidents/{iid}/close", json={})
            assert again.status_code == 409
