"""The tablet's outbox against the real backend: cut the network and kill the app mid-send; each item once."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import asyncpg

from mobile.api import Api, Session
from mobile.link import Link
from mobile.outbox import Outbox
from shared.protocol import UnitStatus
from tests.integration.harness import PASSWORD, make_settings, running, tablet_secret
from tests.integration.world import OUDE_ZIJDE, build_world


class Proxy:
    """A TCP forwarder whose network can be cut (every connection dropped, new ones refused) and restored."""

    def __init__(self, target_port: int) -> None:
        self.target_port = target_port
        self.up = True
        self.conns: set[asyncio.StreamWriter] = set()
        self.server: asyncio.Server | None = None
        self.port = 0

    async def start(self) -> None:
        self.server = await asyncio.start_server(self._serve, "127.0.0.1", 0)
        self.port = self.server.sockets[0].getsockname()[1]

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        if not self.up:
            writer.close()
            return
        try:
            up_reader, up_writer = await asyncio.open_connection("127.0.0.1", self.target_port)
        except OSError:
            writer.close()
            return
        self.conns |= {writer, up_writer}

        async def pipe(src: asyncio.StreamReader, dst: asyncio.StreamWriter) -> None:
            with contextlib.suppress(Exception):
                while data := await src.read(65536):
                    dst.write(data)
                    await dst.drain()
            dst.close()

        await asyncio.gather(pipe(reader, up_writer), pipe(up_reader, writer))
        self.conns -= {writer, up_writer}

    def cut(self) -> None:
        self.up = False
        for w in list(self.conns):
            w.transport.abort()

    def restore(self) -> None:
        self.up = True

    async def close(self) -> None:
        self.cut()
        if self.server is not None:
            self.server.close()


async def rows(url: str, sql: str, *args: object) -> list[asyncpg.Record]:
    conn = await asyncpg.connect(url)
    try:
        return list(await conn.fetch(sql, *args))
    finally:
        await conn.close()


async def wait_for(link: Link, predicate: Callable[[], bool], timeout: float = 15.0) -> None:
    """Wait until the predicate holds, re-checking whenever the link's state or its outbox changes."""
    changed = asyncio.Event()
    link.outbox.listeners.append(changed.set)
    link.on_state = lambda _state: changed.set()
    try:
        async with asyncio.timeout(timeout):
            while True:
                changed.clear()
                if predicate():
                    return
                await changed.wait()
    finally:
        link.outbox.listeners.remove(changed.set)
        link.on_state = None


async def session_for(base: str, device_id: int) -> Session:
    api = Api(base)
    try:
        session = await api.login("boa_a", PASSWORD, device_id, tablet_secret(device_id))
    finally:
        await api.close()
    session.obtained_at = time.time()
    return session


def walk(link: Link, n: int, start: datetime, offset: int = 0) -> None:
    for i in range(n):
        link.client.position(
            OUDE_ZIJDE[0] + (offset + i) * 1e-5,
            OUDE_ZIJDE[1],
            start + timedelta(seconds=offset + i),
            late=not link.online,
        )


async def test_items_survive_a_network_cut_and_arrive_once(database_url: str, tmp_path: Path) -> None:
    world = await build_world(database_url)
    async with running(make_settings(database_url, tmp_path)) as server:
        proxy = Proxy(int(server.base.rsplit(":", 1)[1]))
        await proxy.start()
        base = f"http://127.0.0.1:{proxy.port}"
        outbox = Outbox(tmp_path / "outbox.sqlite")
        api = Api(base)
        link = Link(api, outbox, await session_for(server.base, world.tablet_a))
        link.start()
        try:
            await wait_for(link, lambda: link.online)
            start = datetime.now(UTC)
            walk(link, 30, start)
            link.client.status(UnitStatus.BUSY, start + timedelta(seconds=30))
            await wait_for(link, lambda: link.client.acked >= 31)
            walk(link, 10, start, offset=31)
            proxy.cut()  # mid-send: these ten are on their way, none acknowledged
            await wait_for(link, lambda: not link.online)
            walk(link, 10, start, offset=41)  # buffered offline: sent marked late
            link.client.status(UnitStatus.AVAILABLE, start + timedelta(seconds=60))
            assert outbox.count() >= 21
            proxy.restore()
            link.kick()
            await wait_for(link, lambda: outbox.count() == 0)
        finally:
            await link.stop()
            await api.close()
            await proxy.close()
            outbox.close()
    positions = await rows(
        database_url, "SELECT seq, late FROM positions WHERE device_id = $1 ORDER BY seq", world.tablet_a
    )
    assert len(positions) == 50 and len({r["seq"] for r in positions}) == 50
    assert sum(r["late"] for r in positions) >= 10
    events = await rows(
        database_url,
        "SELECT payload->>'status' AS s FROM field_events WHERE device_id = $1 ORDER BY seq",
        world.tablet_a,
    )
    assert [r["s"] for r in events] == ["busy", "available"]


async def test_app_killed_mid_send_resends_from_the_file_and_stores_once(
    database_url: str, tmp_path: Path
) -> None:
    world = await build_world(database_url)
    path = tmp_path / "outbox.sqlite"
    settings = make_settings(database_url, tmp_path)
    async with running(settings) as server:
        session = await session_for(server.base, world.tablet_a)
        outbox = Outbox(path)
        api = Api(server.base)
        link = Link(api, outbox, session)
        link.start()
        await wait_for(link, lambda: link.online)
        start = datetime.now(UTC)
        walk(link, 40, start)
        noodknop = link.client.noodknop(start + timedelta(seconds=41), *OUDE_ZIJDE)
        await wait_for(link, lambda: link.client.acked >= 1, 10)
        # the app dies: no goodbye, no flush; whatever was on the wire may or may not have arrived
        for task in link._tasks:
            task.cancel()
        outbox.close()  # the file is all that survives; the dying tasks can no longer write to it
        await asyncio.gather(*link._tasks, return_exceptions=True)
        await api.close()
        del link, outbox
    # the server went down too; the app comes back first, still offline, and keeps queueing
    reopened = Outbox(path)
    assert reopened.count() <= 41
    async with running(settings) as server:
        api = Api(server.base)
        link = Link(api, reopened, session)
        walk(link, 5, start, offset=50)
        link.start()
        try:
            await wait_for(link, lambda: reopened.count() == 0)
        finally:
            await link.stop()
            await api.close()
            reopened.close()
    positions = await rows(database_url, "SELECT seq FROM positions WHERE device_id = $1", world.tablet_a)
    assert len(positions) == 45 and len({r["seq"] for r in positions}) == 45
    alerts = await rows(
        database_url, "SELECT kind FROM alerts WHERE unit_id = $1 AND kind = 'noodknop'", world.unit_a
    )
    assert len(alerts) == 1
    last_seq = await rows(database_url, "SELECT last_seq FROM devices WHERE id = $1", world.tablet_a)
    assert last_seq[0]["last_seq"] == noodknop.seq + 5


async def test_a_fresh_outbox_on_a_used_device_renumbers_instead_of_losing(
    database_url: str, tmp_path: Path
) -> None:
    world = await build_world(database_url)
    async with running(make_settings(database_url, tmp_path)) as server:
        session = await session_for(server.base, world.tablet_a)
        for name in ("first.sqlite", "reinstalled.sqlite"):  # the second starts at seq 1 again
            outbox = Outbox(tmp_path / name)
            api = Api(server.base)
            link = Link(api, outbox, session)
            walk(link, 5, datetime.now(UTC))  # queued before any welcome
            link.start()
            try:
                await wait_for(link, lambda: outbox.count() == 0)  # noqa: B023
            finally:
                await link.stop()
                await api.close()
                outbox.close()
    positions = await rows(
        database_url, "SELECT seq FROM positions WHERE device_id = $1 ORDER BY seq", world.tablet_a
    )
    assert [r["seq"] for r in positions] == list(range(1, 11))


async def test_a_refused_access_token_is_refreshed_once_and_the_link_comes_up(
    database_url: str, tmp_path: Path
) -> None:
    world = await build_world(database_url)
    async with running(make_settings(database_url, tmp_path)) as server:
        session = await session_for(server.base, world.tablet_a)
        session.access_token = "expired-or-garbage"  # the server refuses it; the refresh token is good
        outbox = Outbox(tmp_path / "outbox.sqlite")
        api = Api(server.base)
        link = Link(api, outbox, session)
        refreshed: list[str] = []
        link.on_session = lambda s: refreshed.append(s.access_token)
        link.start()
        try:
            await asyncio.wait_for(link.client.connected.wait(), 15)
        finally:
            await link.stop()
            await api.close()
            outbox.close()
    assert len(refreshed) == 1 and link.session.access_token == refreshed[0]


async def test_a_revoked_tablet_stops_reconnecting_and_says_why(database_url: str, tmp_path: Path) -> None:
    world = await build_world(database_url)
    async with running(make_settings(database_url, tmp_path)) as server:
        session = await session_for(server.base, world.tablet_a)
        admin = Api(server.base)
        admin.token = (await admin.login("lead_a", PASSWORD, None)).access_token
        outbox = Outbox(tmp_path / "outbox.sqlite")
        api = Api(server.base)
        link = Link(api, outbox, session)
        link.start()
        try:
            await wait_for(link, lambda: link.online)
            await admin._call("POST", f"/api/devices/{world.tablet_a}/revoke")
            await wait_for(link, lambda: link.state == "refused")
            assert link.refusal == "revoked: this device was revoked"  # the socket said so
        finally:
            await link.stop()
            await api.close()
            await admin.close()
            outbox.close()
