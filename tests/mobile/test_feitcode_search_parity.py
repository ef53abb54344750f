"""The feitcode picker shows the same rows offline (the tablet's own search) as online (the server)."""

from __future__ import annotations

import asyncio
from pathlib import Path

import asyncpg
import pytest

from tests.mobile.conftest import KIVY_MISSING

pytest.importorskip("kivy", reason=KIVY_MISSING)

from mobile.presenters.app import AppConfig, AppPresenter  # noqa: E402
from tests.integration.harness import PASSWORD, make_settings, running, tablet_secret  # noqa: E402
from tests.integration.world import build_world  # noqa: E402

QUERIES = ["hond", "bf185", "f 185", "R 397", "alcohol", "parkeren", "afval", "fiets", "geluid", "145", ""]


async def online(app: AppPresenter) -> None:
    changed = asyncio.Event()
    uid = app.fbind("online", lambda *_: changed.set())
    try:
        async with asyncio.timeout(10):
            while not app.online:
                changed.clear()
                await changed.wait()
    finally:
        app.unbind_uid("online", uid)


async def settled(app: AppPresenter) -> None:
    """Wait until the presenter's server searches are done (the typing delay included)."""
    async with asyncio.timeout(10):
        while app._tasks:
            await asyncio.gather(*app._tasks, return_exceptions=True)


async def test_offline_rows_equal_the_servers_rows_for_the_same_query(
    database_url: str, tmp_path: Path
) -> None:
    world = await build_world(database_url)
    conn = await asyncpg.connect(database_url)
    try:  # not the defaults, so the tablet has to learn the scope from the server
        await conn.execute(
            "UPDATE organisations SET fine_track = 'bestuurlijke_boete' WHERE id = $1", world.org_a
        )
        await conn.execute("UPDATE accounts SET domains = '{1,0}' WHERE username = 'boa_a'")
    finally:
        await conn.close()
    async with running(make_settings(database_url, tmp_path)) as server:
        app = AppPresenter(
            AppConfig(
                server=server.base,
                device_id=world.tablet_a,
                device_secret=tablet_secret(world.tablet_a),
                data_dir=tmp_path / "tablet",
            )
        )
        try:
            app.login.username, app.login.password = "boa_a", PASSWORD
            assert await app.login.login(), app.login.error
            await online(app)
            reg = app.register
            reg.query = "hond"  # the first answer tells the tablet its gemeente's track and its domains
            await settled(app)
            assert (reg.track, reg.domains) == ("bestuurlijke_boete", (0, 1))
            for query in QUERIES:
                reg.query = "-"  # a query of its own first, so each one below searches afresh
                await settled(app)
                reg.query = query
                offline = list(reg.results)  # the local search answers at once ...
                await settled(app)
                served = list(reg.results)  # ... and the server's answer replaces it
                answer = await app.api.feitcodes(query, None, None, limit=8)
                assert [row["code"] for row in served] == [hit.code for hit in answer.hits], query
                assert offline == served, query
                assert served, query  # each query finds something: equal empty lists would prove nothing
        finally:
            await app.close()
