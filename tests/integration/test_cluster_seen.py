"""The "gezien" across instances: a tablet away when the meldkamer acknowledged its noodknop hears it when it
comes back within the hour, on an instance started after the acknowledgement (both instances that saw it are
gone); after the hour it is not told again."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import asyncpg

from backend.alerts import repository as alerts_repo
from backend.db.pool import Conn, create_pool
from shared.protocol import (
    Ack,
    AcknowledgeAlert,
    AlertAcknowledged,
    AlertRaised,
    Hello,
    NoodknopPressed,
    Ping,
    Pong,
    Snapshot,
    Welcome,
)
from tests.integration.cluster import instances
from tests.integration.harness import login, make_settings, running, socket_to
from tests.integration.world import OUDE_ZIJDE, World, build_world


async def test_a_tablet_hears_gezien_from_an_instance_started_after_the_acknowledgement(
    database_url: str, tmp_path: Path
) -> None:
    world = await build_world(database_url)
    at = datetime.now(UTC)
    async with instances(database_url, tmp_path) as (a, b):
        boa = await login(a.base, "boa_a", world.tablet_a)
        operator = await login(b.base, "operator_mk")
        async with socket_to(b.ws + "/ws/operator", operator["access_token"]) as op:
            assert isinstance(await op.recv(), Snapshot)
            async with socket_to(a.ws + "/ws/field", None) as tablet:
                await tablet.send(Hello(token=boa["access_token"], protocol=2))
                welcome = await tablet.recv()
                assert isinstance(welcome, Welcome)
                await tablet.send(
                    NoodknopPressed(seq=welcome.acked + 1, at=at, lon=OUDE_ZIJDE[0], lat=OUDE_ZIJDE[1])
                )
                await tablet.recv_until(lambda f: isinstance(f, Ack))
            raised = await op.recv_until(lambda f: isinstance(f, AlertRaised), timeout=3.0)
            await op.send(AcknowledgeAlert(alert_id=raised.alert.alert_id))  # the tablet is in a dead zone
            await op.recv_until(lambda f: any(x.acknowledged_at for x in getattr(f, "alerts", [])))
    # both instances are gone; a new one (it never heard of the acknowledgement) takes the tablet
    async with running(make_settings(database_url, tmp_path)) as c:
        async with socket_to(c.ws + "/ws/field", None) as tablet:
            await tablet.send(Hello(token=boa["access_token"], protocol=2))
            assert isinstance(await tablet.recv(), Welcome)
            seen = await tablet.recv()
        assert isinstance(seen, AlertAcknowledged) and seen.raised_at == at
        assert seen.alert_id == raised.alert.alert_id and seen.by == "operator_mk"

        # an hour later it is old news: the tablet is not told again
        conn = await asyncpg.connect(database_url)
        try:
            await conn.execute(
                "UPDATE alerts SET acknowledged_at = acknowledged_at - interval '61 minutes' WHERE id = $1",
                raised.alert.alert_id,
            )
        finally:
            await conn.close()
        async with socket_to(c.ws + "/ws/field", None) as tablet:
            await tablet.send(Hello(token=boa["access_token"], protocol=2))
            assert isinstance(await tablet.recv(), Welcome)
            await tablet.send(Ping(nonce=7))
            assert await tablet.recv() == Pong(nonce=7)


async def acknowledged(
    conn: Conn, world: World, kind: str, unit_id: int, device_id: int, at: datetime
) -> int:
    """An alert raised by `device_id` for `unit_id`, acknowledged by operator_mk at `at`."""
    alert_id: int = await conn.fetchval(
        """INSERT INTO alerts (org_id, unit_id, kind, at, payload, acknowledged_at, acknowledged_by)
           VALUES ($1, $2, $3, $4, $5::jsonb, $4,
                   (SELECT id FROM accounts WHERE username = 'operator_mk')) RETURNING id""",
        world.org_a,
        unit_id,
        kind,
        at,
        {"device_id": device_id},  # the pool's codec encodes jsonb
    )
    return alert_id


async def test_what_a_device_is_owed_its_own_press_and_its_units_latest_within_the_hour(
    database_url: str,
) -> None:
    world = await build_world(database_url)
    t0 = datetime.now(UTC) - timedelta(minutes=30)
    pool = await create_pool(database_url, min_size=1, max_size=1)
    try:
        async with pool.acquire() as conn:
            await check_owed(conn, world, t0)
    finally:
        await pool.close()


async def check_owed(conn: Conn, world: World, t0: datetime) -> None:
    unit, own, partner, other = world.unit_a, world.tablet_a, world.tracker_a, world.tablet_b
    first = await acknowledged(conn, world, "noodknop", unit, own, t0)

    async def owed(device_id: int, unit_id: int | None, now: datetime) -> list[int]:
        since = now - timedelta(hours=1)
        return [v.alert_id for v in await alerts_repo.seen_owed(conn, device_id, unit_id, since)]

    assert await owed(own, unit, t0 + timedelta(minutes=59)) == [first]  # by device and by unit: once
    assert await owed(partner, unit, t0 + timedelta(minutes=5)) == [first]  # the partner's device
    assert await owed(own, None, t0 + timedelta(minutes=5)) == [first]  # off shift, still its press
    assert await owed(other, world.unit_b, t0 + timedelta(minutes=5)) == []  # another unit
    assert await owed(own, unit, t0 + timedelta(hours=1)) == []  # an hour later: no longer

    # the partner presses too, acknowledged later: the unit's latest replaces the first for the unit
    second = await acknowledged(conn, world, "assistance", unit, partner, t0 + timedelta(minutes=1))
    assert await owed(partner, unit, t0 + timedelta(minutes=2)) == [second]
    assert await owed(own, unit, t0 + timedelta(minutes=2)) == [first, second]  # its own, its unit's
    await acknowledged(conn, world, "partners_apart", unit, own, t0 + timedelta(minutes=3))
    assert await owed(own, unit, t0 + timedelta(minutes=4)) == [first, second]  # routine: no "gezien"
