"""The "gezien" across instances: a tablet away when the meldkamer acknowledged its noodknop hears it when it
comes back within the hour, on an instance started after the acknowledgement (both instances that saw it are
gone); after the hour it is not told again."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import asyncpg

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
from tests.integration.world import OUDE_ZIJDE, build_world


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
