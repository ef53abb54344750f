"""The field socket: durable acknowledgement, exactly-once storage across reconnects, late positions."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import asyncpg

from shared.protocol import (
    Ack,
    AlertRaised,
    Delta,
    Error,
    NoodknopPressed,
    PositionReported,
    Snapshot,
    StatusChanged,
    UnitStatus,
    Welcome,
)
from tests.integration.harness import login, make_settings, running, socket_to
from tests.integration.world import FAR_AWAY, OUDE_ZIJDE, build_world


def pos(seq: int, lonlat: tuple[float, float], at: datetime, late: bool = False) -> PositionReported:
    return PositionReported(seq=seq, lon=lonlat[0], lat=lonlat[1], at=at, late=late)


async def count(url: str, sql: str, *args: object) -> int:
    conn = await asyncpg.connect(url)
    try:
        return int(await conn.fetchval(sql, *args))
    finally:
        await conn.close()


async def test_resent_frames_after_reconnect_are_stored_once(database_url: str, tmp_path: Path) -> None:
    world = await build_world(database_url)
    async with running(make_settings(database_url, tmp_path)) as server:
        session = await login(server.base, "boa_a", world.tablet_a)
        now = datetime.now(UTC)
        async with socket_to(server.ws + "/ws/field", session["access_token"]) as ws:
            welcome = await ws.recv()
            assert isinstance(welcome, Welcome) and welcome.acked == 0 and welcome.unit_id == world.unit_a
            for seq in (1, 2, 3):
                await ws.send(pos(seq, OUDE_ZIJDE, now + timedelta(seconds=seq)))
            ack = await ws.recv_until(lambda f: isinstance(f, Ack) and f.upto == 3)
            assert ack.upto == 3
        # the connection dropped before the client saw an ack for 4 and 5: it resends from 2
        async with socket_to(server.ws + "/ws/field", session["access_token"]) as ws:
            welcome = await ws.recv()
            assert welcome.acked == 3
            for seq in (2, 3, 4, 5):
                await ws.send(pos(seq, OUDE_ZIJDE, now + timedelta(seconds=seq)))
            await ws.send(StatusChanged(seq=6, status=UnitStatus.BUSY, at=now + timedelta(seconds=6)))
            await ws.recv_until(lambda f: isinstance(f, Ack) and f.upto == 6)
            await ws.send(StatusChanged(seq=6, status=UnitStatus.BUSY, at=now + timedelta(seconds=6)))
            again = await ws.recv_until(lambda f: isinstance(f, Ack))
            assert again.upto == 6
    assert (
        await count(database_url, "SELECT count(*) FROM positions WHERE device_id = $1", world.tablet_a) == 5
    )
    assert (
        await count(
            database_url, "SELECT count(DISTINCT seq) FROM positions WHERE device_id = $1", world.tablet_a
        )
        == 5
    )
    assert (
        await count(database_url, "SELECT count(*) FROM field_events WHERE device_id = $1", world.tablet_a)
        == 1
    )
    assert await count(database_url, "SELECT last_seq FROM devices WHERE id = $1", world.tablet_a) == 6
    assert (
        await count(
            database_url, "SELECT count(*) FROM units WHERE id = $1 AND status = 'busy'", world.unit_a
        )
        == 1
    )


async def test_late_positions_are_stored_in_order_and_raise_no_alerts(
    database_url: str, tmp_path: Path
) -> None:
    world = await build_world(database_url)
    async with running(make_settings(database_url, tmp_path)) as server:
        boa = await login(server.base, "boa_a", world.tablet_a)
        operator = await login(server.base, "operator_mk")
        start = datetime.now(UTC) - timedelta(minutes=30)
        async with (
            socket_to(server.ws + "/ws/operator", operator["access_token"]) as op,
            socket_to(server.ws + "/ws/field", boa["access_token"]) as ws,
        ):
            assert isinstance(await op.recv(), Snapshot)
            await ws.recv()
            # buffered in a basement: outside the assigned beat, half an hour ago
            for seq in range(1, 6):
                await ws.send(pos(seq, FAR_AWAY, start + timedelta(seconds=seq), late=True))
            await ws.recv_until(lambda f: isinstance(f, Ack) and f.upto == 5)
            # a live position inside the assigned beat: no alert either
            await ws.send(pos(6, OUDE_ZIJDE, datetime.now(UTC)))
            await ws.recv_until(lambda f: isinstance(f, Ack) and f.upto == 6)
            delta = await op.recv_until(
                lambda f: isinstance(f, Delta) and any(u.at and u.lon == OUDE_ZIJDE[0] for u in f.units)
            )
            unit = next(u for u in delta.units if u.unit_id == world.unit_a)
            assert unit.outside_assigned is False
            assert all(not d.alerts for d in [delta])
            assert await count(database_url, "SELECT count(*) FROM alerts") == 0
            # then a live position outside: now the operator is told
            await ws.send(pos(7, FAR_AWAY, datetime.now(UTC)))
            delta = await op.recv_until(lambda f: isinstance(f, Delta) and f.alerts)
            assert delta.alerts[0].kind.value == "outside_assigned_beat"
            assert delta.alerts[0].unit_id == world.unit_a
    rows = await _positions(database_url, world.tablet_a)
    assert [r["seq"] for r in rows] == [1, 2, 3, 4, 5, 6, 7]
    assert [r["late"] for r in rows] == [True] * 5 + [False, False]


async def _positions(url: str, device_id: int) -> list[asyncpg.Record]:
    conn = await asyncpg.connect(url)
    try:
        return await conn.fetch(
            "SELECT seq, late, at FROM positions WHERE device_id = $1 ORDER BY at", device_id
        )
    finally:
        await conn.close()


async def test_noodknop_reaches_the_operator_at_once_and_is_acknowledged(
    database_url: str, tmp_path: Path
) -> None:
    world = await build_world(database_url)
    # a long tick and flush interval: the noodknop must not wait for either
    settings = make_settings(database_url, tmp_path, operator_tick_s=30.0, flush_interval_s=30.0)
    async with running(settings) as server:
        boa = await login(server.base, "boa_a", world.tablet_a)
        operator = await login(server.base, "operator_mk")
        async with (
            socket_to(server.ws + "/ws/operator", operator["access_token"]) as op,
            socket_to(server.ws + "/ws/field", boa["access_token"]) as ws,
        ):
            await op.recv()
            await ws.recv()
            await ws.send(NoodknopPressed(seq=1, at=datetime.now(UTC), lon=OUDE_ZIJDE[0], lat=OUDE_ZIJDE[1]))
            raised = await op.recv_until(lambda f: isinstance(f, AlertRaised), timeout=10)
            assert raised.alert.kind.value == "noodknop" and raised.alert.call_sign == "A-01"
            ack = await ws.recv_until(lambda f: isinstance(f, Ack), timeout=10)
            assert ack.upto == 1
            from shared.protocol import AcknowledgeAlert

            await op.send(AcknowledgeAlert(alert_id=raised.alert.alert_id))
    assert (
        await count(
            database_url,
            "SELECT count(*) FROM alerts WHERE kind = 'noodknop' AND acknowledged_by IS NOT NULL",
        )
        == 1
    )


async def test_a_noodknop_puts_the_unit_in_emergency_on_the_operators_picture(
    database_url: str, tmp_path: Path
) -> None:
    world = await build_world(database_url)
    async with running(make_settings(database_url, tmp_path)) as server:
        boa = await login(server.base, "boa_a", world.tablet_a)
        operator = await login(server.base, "operator_mk")
        async with (
            socket_to(server.ws + "/ws/operator", operator["access_token"]) as op,
            socket_to(server.ws + "/ws/field", boa["access_token"]) as ws,
        ):
            await op.recv()
            await ws.recv()
            await ws.send(pos(1, OUDE_ZIJDE, datetime.now(UTC)))
            await ws.recv_until(lambda f: isinstance(f, Ack) and f.upto == 1, timeout=10)
            await ws.send(NoodknopPressed(seq=2, at=datetime.now(UTC), lon=OUDE_ZIJDE[0], lat=OUDE_ZIJDE[1]))
            delta = await op.recv_until(
                lambda f: isinstance(f, Delta) and any(u.status == UnitStatus.EMERGENCY for u in f.units),
                timeout=10,
            )
            assert [u.call_sign for u in delta.units if u.status == UnitStatus.EMERGENCY] == ["A-01"]


async def test_bad_frames_get_an_error_frame_and_nothing_is_stored(database_url: str, tmp_path: Path) -> None:
    world = await build_world(database_url)
    async with running(make_settings(database_url, tmp_path)) as server:
        boa = await login(server.base, "boa_a", world.tablet_a)
        now = datetime.now(UTC).isoformat()
        async with socket_to(server.ws + "/ws/field", boa["access_token"]) as ws:
            await ws.recv()
            cases = [
                (b"\xff\x00 not json", None),
                (
                    f'{{"kind": "position", "seq": 1, "lon": 4.9, "lat": 95.0, "at": "{now}"}}',
                    "$.lat",
                ),
                ('{"kind": "position", "seq": 1, "lon": 4.9, "lat": 52.0}', None),
                ('{"kind": "teleport", "seq": 1}', "$.kind"),
                (
                    f'{{"kind": "position", "seq": 0, "lon": 4.9, "lat": 52.0, "at": "{now}"}}',
                    "$.seq",
                ),
                (
                    '{"kind": "position", "seq": 1, "lon": 4.9, "lat": 52.0, "at": "2026-01-01T10:00:00"}',
                    "$.at",
                ),
                (f'{{"kind": "status", "seq": 1, "status": "dancing", "at": "{now}"}}', "$.status"),
                ("x" * 70_000, None),
            ]
            for raw, field in cases:
                await ws.send(raw)
                error = await ws.recv()
                assert isinstance(error, Error) and not error.fatal, raw
                if field is not None:
                    assert error.field == field, (raw, error)
            await ws.send(pos(1, OUDE_ZIJDE, datetime.now(UTC)))
            assert (await ws.recv_until(lambda f: isinstance(f, Ack))).upto == 1
    assert await count(database_url, "SELECT count(*) FROM positions") == 1
