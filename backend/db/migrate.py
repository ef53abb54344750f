"""Numbered plain-SQL migrations, each applied once under an advisory lock and recorded in a table."""

from __future__ import annotations

import re
from importlib import resources

import asyncpg

_LOCK_KEY = 7_345_001  # arbitrary, constant: one migrator at a time across instances
_NAME = re.compile(r"^(\d{4})_[a-z0-9_]+\.sql$")


def migration_files() -> list[tuple[int, str, str]]:
    """(number, name, sql) of every migration shipped with the package, in order."""
    found = []
    for entry in resources.files("backend.db.migrations").iterdir():
        match = _NAME.match(entry.name)
        if match:
            found.append((int(match.group(1)), entry.name, entry.read_text(encoding="utf-8")))
    found.sort()
    numbers = [n for n, _, _ in found]
    if len(set(numbers)) != len(numbers):
        raise RuntimeError(f"two migrations share a number: {numbers}")
    return found


async def migrate(conn: asyncpg.Connection) -> list[str]:
    """Apply pending migrations; return the names applied now."""
    applied_now: list[str] = []
    await conn.execute("SELECT pg_advisory_lock($1)", _LOCK_KEY)
    try:
        await conn.execute(
            """CREATE TABLE IF NOT EXISTS schema_migrations (
                   number integer PRIMARY KEY, name text NOT NULL,
                   applied_at timestamptz NOT NULL DEFAULT now())"""
        )
        done = {r["number"] for r in await conn.fetch("SELECT number FROM schema_migrations")}
        for number, name, sql in migration_files():
            if number in done:
                continue
            async with conn.transaction():
                await conn.execute(sql)
                await conn.execute("INSERT INTO schema_migrations (number, name) VALUES ($1, $2)", number, name)
            applied_now.append(name)
    finally:
        await conn.execute("SELECT pg_advisory_unlock($1)", _LOCK_KEY)
    return applied_now
