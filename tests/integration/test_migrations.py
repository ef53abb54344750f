"""Migrations record each applied file's checksum and refuse to run when an applied file was edited."""

from __future__ import annotations

import hashlib
import itertools
from collections.abc import AsyncIterator

import asyncpg
import pytest

from backend.db.migrate import Migration, MigrationError, migrate, migration_files
from backend.db.pool import with_database
from tests.conftest import new_database

_names = itertools.count(1)

FIRST = Migration(1, "0001_first.sql", "CREATE TABLE first (id integer PRIMARY KEY);")
SECOND = Migration(2, "0002_second.sql", "CREATE TABLE second (id integer PRIMARY KEY);")


@pytest.fixture
async def empty_db(pg_server: str) -> AsyncIterator[asyncpg.Connection]:
    """A connection to a new, empty database (no migrations applied)."""
    name = f"schakel_migrations_{next(_names)}"
    admin = await asyncpg.connect(pg_server)
    try:
        await admin.execute(f"DROP DATABASE IF EXISTS {name}")
        await admin.execute(f"CREATE DATABASE {name}")
    finally:
        await admin.close()
    conn = await asyncpg.connect(with_database(pg_server, name))
    yield conn
    await conn.close()


async def recorded(conn: asyncpg.Connection) -> dict[str, str | None]:
    rows = await conn.fetch("SELECT name, checksum FROM schema_migrations ORDER BY number")
    return {r["name"]: r["checksum"] for r in rows}


async def test_the_shipped_migrations_are_recorded_with_their_sha256(
    pg_server: str, template_db: str
) -> None:
    conn = await asyncpg.connect(await new_database(pg_server, template_db))
    try:
        expected = {m.name: hashlib.sha256(m.sql.encode()).hexdigest() for m in migration_files()}
        assert await recorded(conn) == expected
        assert await migrate(conn) == []  # unchanged files: nothing to do, no complaint
    finally:
        await conn.close()


async def test_an_edited_applied_file_is_refused_naming_it_before_anything_is_applied(
    empty_db: asyncpg.Connection,
) -> None:
    assert await migrate(empty_db, [FIRST]) == ["0001_first.sql"]
    edited = FIRST._replace(sql=FIRST.sql + "\nCREATE INDEX ON first (id);")
    with pytest.raises(MigrationError, match=r"^migration 0001_first\.sql was changed after it was applied"):
        await migrate(empty_db, [edited, SECOND])
    assert list(await recorded(empty_db)) == ["0001_first.sql"]  # the pending 0002 was not applied
    assert await empty_db.fetchval("SELECT to_regclass('second')") is None


async def test_a_renamed_applied_file_with_other_content_names_both(empty_db: asyncpg.Connection) -> None:
    await migrate(empty_db, [FIRST])
    renamed = Migration(1, "0001_renamed.sql", "CREATE TABLE other (id integer);")
    with pytest.raises(MigrationError, match=r"0001_renamed\.sql .*applied as 0001_first\.sql"):
        await migrate(empty_db, [renamed])


async def test_the_lock_is_released_after_a_refusal(empty_db: asyncpg.Connection) -> None:
    await migrate(empty_db, [FIRST])
    with pytest.raises(MigrationError):
        await migrate(empty_db, [FIRST._replace(sql="SELECT 1;")])
    assert await migrate(empty_db, [FIRST, SECOND]) == ["0002_second.sql"]


async def test_a_database_migrated_before_checksums_gets_them_on_first_start(
    empty_db: asyncpg.Connection,
) -> None:
    # the bookkeeping table as every database had it before checksums were recorded
    await empty_db.execute(
        """CREATE TABLE schema_migrations (
               number integer PRIMARY KEY, name text NOT NULL,
               applied_at timestamptz NOT NULL DEFAULT now())"""
    )
    await empty_db.execute(FIRST.sql)
    await empty_db.execute("INSERT INTO schema_migrations (number, name) VALUES (1, '0001_first.sql')")

    assert await migrate(empty_db, [FIRST, SECOND]) == ["0002_second.sql"]
    assert await recorded(empty_db) == {FIRST.name: FIRST.checksum, SECOND.name: SECOND.checksum}
    with pytest.raises(MigrationError, match="0001_first.sql"):  # from now on an edit is caught
        await migrate(empty_db, [FIRST._replace(sql="-- edited\n" + FIRST.sql), SECOND])


async def test_a_shipped_database_from_before_checksums_is_filled_from_the_files(
    pg_server: str, template_db: str
) -> None:
    conn = await asyncpg.connect(await new_database(pg_server, template_db))
    try:
        await conn.execute("ALTER TABLE schema_migrations DROP COLUMN checksum")
        assert await migrate(conn) == []
        assert await recorded(conn) == {m.name: m.checksum for m in migration_files()}
    finally:
        await conn.close()
