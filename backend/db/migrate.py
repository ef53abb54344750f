"""Numbered plain-SQL migrations, each applied once under an advisory lock and recorded in a table.

Each applied file's sha256 is recorded with it. An applied file is never edited (a fix is a new file): a
database migrated with one text and a fresh one migrated with another would silently differ. So when an
applied file's checksum no longer matches, migrate() refuses, naming the file, before it applies anything.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Sequence
from importlib import resources
from typing import NamedTuple

import asyncpg

from backend.db.pool import Conn

_LOCK_KEY = 7_345_001  # arbitrary, constant: one migrator at a time across instances
_NAME = re.compile(r"^(\d{4})_[a-z0-9_]+\.sql$")


class Migration(NamedTuple):
    number: int
    name: str
    sql: str

    @property
    def checksum(self) -> str:
        """sha256 of the text (newlines as read, so a CRLF checkout hashes like the LF original)."""
        return hashlib.sha256(self.sql.encode("utf-8")).hexdigest()


class MigrationError(RuntimeError):
    """The shipped migrations do not fit the database: an applied file was edited, or two share a number."""


def migration_files() -> list[Migration]:
    """Every migration shipped with the package, in order."""
    found = []
    for entry in resources.files("backend.db.migrations").iterdir():
        match = _NAME.match(entry.name)
        if match:
            found.append(Migration(int(match.group(1)), entry.name, entry.read_text(encoding="utf-8")))
    found.sort()
    numbers = [m.number for m in found]
    if len(set(numbers)) != len(numbers):
        raise MigrationError(f"two migrations share a number: {numbers}")
    return found


async def migrate(conn: Conn, migrations: Sequence[Migration] | None = None) -> list[str]:
    """Check the applied migrations are unchanged, apply pending ones; return the names applied now."""
    files = migration_files() if migrations is None else list(migrations)
    applied_now: list[str] = []
    await conn.execute("SELECT pg_advisory_lock($1)", _LOCK_KEY)
    try:
        await _bookkeeping(conn, files)
        rows = await conn.fetch("SELECT number, name, checksum FROM schema_migrations")
        recorded = {r["number"]: r for r in rows}
        _refuse_edited(files, recorded)
        for migration in files:
            if migration.number in recorded:
                continue
            async with conn.transaction():
                await conn.execute(migration.sql)
                await conn.execute(
                    "INSERT INTO schema_migrations (number, name, checksum) VALUES ($1, $2, $3)",
                    migration.number, migration.name, migration.checksum,
                )  # fmt: skip
            applied_now.append(migration.name)
    finally:
        await conn.execute("SELECT pg_advisory_unlock($1)", _LOCK_KEY)
    return applied_now


async def _bookkeeping(conn: Conn, files: Sequence[Migration]) -> None:
    """The schema_migrations table, with checksums also in databases migrated before they were recorded."""
    await conn.execute(
        """CREATE TABLE IF NOT EXISTS schema_migrations (
               number integer PRIMARY KEY, name text NOT NULL,
               applied_at timestamptz NOT NULL DEFAULT now(),
               checksum text)"""
    )
    await conn.execute("ALTER TABLE schema_migrations ADD COLUMN IF NOT EXISTS checksum text")
    # rows from before checksums were kept take the file as it is now: the best evidence there is
    await conn.execute(
        """UPDATE schema_migrations AS m SET checksum = f.checksum
           FROM unnest($1::integer[], $2::text[]) AS f(number, checksum)
           WHERE m.number = f.number AND m.checksum IS NULL""",
        [m.number for m in files], [m.checksum for m in files],
    )  # fmt: skip


def _refuse_edited(files: Sequence[Migration], recorded: dict[int, asyncpg.Record]) -> None:
    for migration in files:
        row = recorded.get(migration.number)
        if row is None or row["checksum"] is None or row["checksum"] == migration.checksum:
            continue
        was = f"applied as {row['name']}, " if row["name"] != migration.name else ""
        raise MigrationError(
            f"migration {migration.name} was changed after it was applied to this database "
            f"({was}sha256 {row['checksum'][:12]}…, the file now {migration.checksum[:12]}…); an applied "
            "migration is never edited: restore it and put the change in a new numbered file"
        )
