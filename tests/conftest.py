"""Shared fixtures: one embedded PostgreSQL per test session, a fresh database per test module."""

from __future__ import annotations

import itertools
import os
import tempfile
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import asyncpg
import pytest
from argon2 import PasswordHasher

os.environ.setdefault("KIVY_NO_ARGS", "1")

_counter = itertools.count(1)


# Argon2 is made to be slow: ~0.14 s of CPU per hash here. Each test's world creates its accounts anew, and
# hashing them at full cost took minutes of the suite. Tests hash with Argon2id at its lowest cost instead;
# verifying reads the cost from the hash itself, so every login in every process (in-process servers,
# `schakel serve` children) checks these cheap hashes cheaply. The tests about what the real cost does to
# the live path (a login flood beside a tablet) ask for it with the `real_argon2` fixture.
CHEAP_ARGON2 = PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)


@pytest.fixture(scope="session", autouse=True)
def _cheap_password_hashes() -> Iterator[None]:
    from backend.auth import passwords

    real = passwords._hasher
    passwords._hasher = CHEAP_ARGON2
    yield
    passwords._hasher = real


@pytest.fixture
def real_argon2() -> Iterator[None]:
    """Production Argon2 cost for this test's hashes (and so for its logins)."""
    from backend.auth import passwords

    passwords._hasher = PasswordHasher()
    yield
    passwords._hasher = CHEAP_ARGON2


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
