"""The noodknop "seen by the meldkamer": an operator's acknowledgement reaches the unit's tablet as
`alert_ack` (protocol 2), never a tablet that said hello with protocol 1."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from shared.protocol import (
    Ack,
    AcknowledgeAlert,
    AlertAcknowledged,
    AlertKind,
    AlertRaised,
    Error,
    Hello,
    NoodknopPressed,
    Ping,
    Pong,
    Snapshot,
    Welcome,
)
from tests.integration.harness import login, make_settings, running, socket_to
from tests.integration.world import OUDE_ZIJDE, build_world


async def test_the_units_tablet_hears_that_its_noodknop_was_seen(database_url: str, tmp_path: Path) -> None:
    world = await build_world(database_url)
    async with running(make_settings(database_url, tmp_path)) as server:
        op_session = await login(server.base, "operator_mk")
        boa = await login(server.base, "boa_a", world.tablet_a)
        for protocol in (1, 2):
            async with (
                socket_to(server.ws + "/ws/operator", op_session["access_token"]) as op,
                socket_to(server.ws + "/ws/field", None) as tablet,
            ):
                await tablet.send(Hello(token=boa["access_token"], protocol=protocol))
                welcome = await tablet.recv()
                assert isinstance(welcome, Welcome) and welcome.protocol == protocol
                assert isinstance(await op.recv(), Snapshot)
                at = datetime.now(UTC)
                seq = welcome.acked + 1
                await tablet.send(NoodknopPressed(seq=seq, at=at, lon=OUDE_ZIJDE[0], lat=OUDE_ZIJDE[1]))
                await tablet.recv_until(lambda f, seq=seq: isinstance(f, Ack) and f.upto >= seq)
                raised = await op.recv_until(lambda f: isinstance(f, AlertRaised))
                await op.send(AcknowledgeAlert(alert_id=raised.alert.alert_id))
                await op.recv_until(
                    lambda f, a=raised.alert.alert_id: any(
                        x.alert_id == a and x.acknowledged_at for x in getattr(f, "alerts", [])
                    )
                )
                await tablet.send(Ping(nonce=protocol))
                first = await tablet.recv()
                if protocol == 1:  # an old tablet does not know the frame kind: it gets none
                    assert first == Pong(nonce=1)
                    continue
                assert isinstance(first, AlertAcknowledged), first
                assert first.alert_id == raised.alert.alert_id and first.alert_kind == AlertKind.NOODKNOP
                assert first.raised_at == at and first.by == "operator_mk" and first.at is not None
                assert await tablet.recv() == Pong(nonce=2)


async def test_an_unknown_protocol_version_is_refused(database_url: str, tmp_path: Path) -> None:
    world = await build_world(database_url)
    async with running(make_settings(database_url, tmp_path)) as server:
        boa = await login(server.base, "boa_a", world.tablet_a)
        async with socket_to(server.ws + "/ws/field", None) as tablet:
            await tablet.send(Hello(token=boa["access_token"], protocol=3))
            refused = await tablet.recv()
    assert isinstance(refused, Error) and refused.code == "protocol_version" and refused.fatal


async def test_a_tablet_away_at_the_acknowledgement_hears_it_when_it_comes_back(
    database_url: str, tmp_path: Path
) -> None:
    world = await build_world(database_url)
    async with running(make_settings(database_url, tmp_path)) as server:
        op_session = await login(server.base, "operator_mk")
        boa = await login(server.base, "boa_a", world.tablet_a)
        async with socket_to(server.ws + "/ws/operator", op_session["access_token"]) as op:
            assert isinstance(await op.recv(), Snapshot)
            at = datetime.now(UTC)
            async with socket_to(server.ws + "/ws/field", None) as tablet:
                await tablet.send(Hello(token=boa["access_token"], protocol=2))
                welcome = await tablet.recv()
                await tablet.send(NoodknopPressed(seq=welcome.acked + 1, at=at))
                await tablet.recv_until(lambda f: isinstance(f, Ack))
            raised = await op.recv_until(lambda f: isinstance(f, AlertRaised))
            await op.send(AcknowledgeAlert(alert_id=raised.alert.alert_id))  # the tablet is in a dead zone
            await op.recv_until(lambda f: any(x.acknowledged_at for x in getattr(f, "alerts", [])))
        async with socket_to(server.ws + "/ws/field", None) as tablet:
            await tablet.send(Hello(token=boa["access_token"], protocol=2))
            assert isinstance(await tablet.recv(), Welcome)
            seen = await tablet.recv()
    assert isinstance(seen, AlertAcknowledged) and seen.raised_at == at
    assert seen.alert_id == raised.alert.alert_id and seen.by == "operator_mk"
