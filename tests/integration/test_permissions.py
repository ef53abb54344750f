"""Permission filtering between two gemeenten and their meldkamer, over HTTP and the live sockets."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest
import websockets

from shared.protocol import Ack, Delta, Error, PositionReported, Snapshot, Welcome
from tests.conftest import new_database
from tests.integration.harness import (
    PASSWORD,
    Server,
    bearer,
    login,
    make_settings,
    running,
    socket_to,
    tablet_secret,
)
from tests.integration.world import NIEUWE_ZIJDE, OUDE_ZIJDE, World, build_world


@pytest.fixture(scope="module")
async def app(
    pg_server: str, template_db: str, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[tuple[Server, World]]:
    url = await new_database(pg_server, template_db)
    world = await build_world(url)
    async with running(make_settings(url, tmp_path_factory.mktemp("permissions"))) as server:
        yield server, world


async def _get(server: Server, session: dict[str, Any], path: str) -> httpx.Response:
    async with httpx.AsyncClient(base_url=server.base, headers=bearer(session)) as http:
        return await http.get(path)


async def test_boa_of_b_gets_404_for_a_beat_of_a_and_lists_only_bs_units_and_beats(
    app: tuple[Server, World],
) -> None:
    server, world = app
    boa_b = await login(server.base, "boa_b")
    a_beat = world.beats_a["Burgwallen-Oude Zijde"]
    r = await _get(server, boa_b, f"/api/beats/{a_beat}")
    assert r.status_code == 404
    assert r.json()["code"] == "not_found"
    # a beat id that exists nowhere answers the same: nothing tells B that A's beat exists
    missing = await _get(server, boa_b, "/api/beats/999999")
    assert missing.status_code == 404 and missing.json()["detail"] == r.json()["detail"]

    units = (await _get(server, boa_b, "/api/units")).json()
    assert [(u["id"], u["org_id"]) for u in units] == [(world.unit_b, world.org_b)]
    beats = (await _get(server, boa_b, "/api/beats")).json()
    assert beats["type"] == "FeatureCollection" and beats["features"]
    assert {f["properties"]["org_id"] for f in beats["features"]} == {world.org_b}
    assert not {f["id"] for f in beats["features"]} & set(world.beats_a.values())
    own = beats["features"][0]["id"]
    assert (await _get(server, boa_b, f"/api/beats/{own}")).status_code == 200

    # and the other way round: A's lead sees A's, not B's
    lead_a = await login(server.base, "lead_a")
    assert [u["id"] for u in (await _get(server, lead_a, "/api/units")).json()] == [world.unit_a]
    assert (await _get(server, lead_a, f"/api/beats/{own}")).status_code == 404


async def test_meldkamer_operator_sees_units_of_the_linked_gemeente_only(app: tuple[Server, World]) -> None:
    server, world = app
    operator = await login(server.base, "operator_mk")
    boa_a = await login(server.base, "boa_a", world.tablet_a)
    boa_b = await login(server.base, "boa_b", world.tablet_b)
    async with (
        socket_to(server.ws + "/ws/operator", operator["access_token"]) as op,
        socket_to(server.ws + "/ws/field", boa_a["access_token"]) as field_a,
        socket_to(server.ws + "/ws/field", boa_b["access_token"]) as field_b,
    ):
        snapshot = await op.recv()
        assert isinstance(snapshot, Snapshot)
        assert {u.unit_id for u in snapshot.units} == {world.unit_a}
        assert {u.org_id for u in snapshot.units} == {world.org_a}
        assert isinstance(await field_a.recv(), Welcome) and isinstance(await field_b.recv(), Welcome)

        # B's position is in the live picture (durable) before A's is sent, so any tick that could carry it
        # comes no later than the delta that carries A's
        await field_b.send(
            PositionReported(seq=1, lon=OUDE_ZIJDE[0], lat=OUDE_ZIJDE[1], at=datetime.now(UTC))
        )
        await field_b.recv_until(lambda f: isinstance(f, Ack) and f.upto == 1)
        await field_a.send(
            PositionReported(seq=1, lon=NIEUWE_ZIJDE[0], lat=NIEUWE_ZIJDE[1], at=datetime.now(UTC))
        )

        seen: list[Any] = []

        def carries_a(frame: Any) -> bool:
            seen.append(frame)
            return isinstance(frame, Delta) and any(
                u.unit_id == world.unit_a and u.lon == NIEUWE_ZIJDE[0] for u in frame.units
            )

        await op.recv_until(carries_a)
    units_seen = {u.unit_id for f in seen if isinstance(f, Delta) for u in f.units}
    assert world.unit_b not in units_seen
    assert all(a.org_id == world.org_a for f in seen if isinstance(f, Delta) for a in f.alerts)


async def test_boa_on_the_operator_socket_gets_a_fatal_forbidden_error(app: tuple[Server, World]) -> None:
    server, _ = app
    boa = await login(server.base, "boa_a")
    async with socket_to(server.ws + "/ws/operator", boa["access_token"]) as ws:
        error = await ws.recv()
        assert isinstance(error, Error) and error.code == "forbidden" and error.fatal
        with pytest.raises(websockets.ConnectionClosed):
            await ws.recv()


@pytest.mark.parametrize(("who", "status"), [("boa_a", 403), ("lead_b", 404)])
async def test_device_cannot_be_revoked_by_a_boa_or_another_gemeente(
    app: tuple[Server, World], who: str, status: int
) -> None:
    server, world = app
    session = await login(server.base, who)
    async with httpx.AsyncClient(base_url=server.base, headers=bearer(session)) as http:
        r = await http.post(f"/api/devices/{world.tablet_a}/revoke")
    assert r.status_code == status, r.text
    # the tablet still works
    async with httpx.AsyncClient(base_url=server.base) as http:
        r = await http.post(
            "/api/auth/login",
            json={
                "username": "boa_a",
                "password": PASSWORD,
                "device_id": world.tablet_a,
                "device_secret": tablet_secret(world.tablet_a),
            },
        )
    assert r.status_code == 200
