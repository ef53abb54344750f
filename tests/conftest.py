"""Shared fixtures: one embedded PostgreSQL per test session, a fresh database per test module."""

from __future__ import annotations

import itertools
import os
import tempfile
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import asyncpg
import pytest

os.environ.setdefault("KIVY_NO_ARGS", "1")

_counter = itertools.count(1)


@pytest.fixture(scope="session")
def pg_server() -> Iterator[str]:
    """The embedded PostgreSQL server's URL (its `postgres` database), with a migrated template database."""
    from backend.db.embedded import start_embedded

    data_dir = Path(tempfile.mkdtemp(prefix="schakel-test-"))
    server, url = start_embedded(data_dir, delete_on_exit=True)
    yield url
    server.cleanup()


@pytest.fixture(scope="session")
async def template_db(pg_server: str) -> str:
    from backend.db.migrate import migrate
    from backend.db.pool import with_database

    admin = await asyncpg.connect(pg_server)
    await admin.execute("DROP DATABASE IF EXISTS schakel_template")
    await admin.execute("CREATE DATABASE schakel_template")
    await admin.close()
    conn = await asyncpg.connect(with_database(pg_server, "schakel_template"))
    await migrate(conn)
    await conn.close()
    return "schakel_template"


async def new_database(pg_server: str, template: str) -> str:
    """A fresh, migrated database (copied from the template) and its URL."""
    from backend.db.pool import with_database

    name = f"schakel_test_{os.getpid()}_{next(_counter)}"
    admin = await asyncpg.connect(pg_server)
    try:
        await admin.execute(f"CREATE DATABASE {name} TEMPLATE {template}")
    finally:
        await admin.close()
    return with_database(pg_server, name)


@pytest.fixture
async def database_url(pg_server: str, template_db: str) -> AsyncIterator[str]:
    yield await new_database(pg_server, template_db)
