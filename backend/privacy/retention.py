"""The retention job: archive and delete registrations whose period is over, and their orphaned photo files.

Periods per legal regime live in the ``retention_periods`` table (configuration, not code). Run it daily with
``schakel retention run`` (cron or a systemd timer); ``--now`` evaluates at another moment, for tests and for
checking what a later run would do.
"""

from __future__ import annotations

import asyncio
import logging
from datetime import UTC, datetime, time, timedelta
from pathlib import Path

import asyncpg
import msgspec

from backend.auth.tokens import Principal
from backend.db.pool import Conn
from backend.photos import repository as photos
from backend.privacy import audit
from backend.privacy import repository as repo

log = logging.getLogger(__name__)
DAILY_AT = time(2, 30)  # UTC: a quiet hour
LOCK_KEY = 7_345_002  # one pass at a time: one instance runs the daily pass, the others skip it


async def run(
    conn: Conn, uploads_dir: Path, now: datetime, *, principal: Principal | None = None,
    origin: audit.Origin | None = None,
) -> repo.RetentionResult:  # fmt: skip
    """One retention pass in one transaction; photo files are removed only after it committed. Audited with
    `principal` (None: the schedule or the command) and `origin`."""
    async with conn.transaction():
        result = await repo.run_retention(conn, now)
        await audit.record(conn, principal=principal, action="retention", object_type="registration",
                           object_id=None, origin=origin or audit.Origin(address="schakel retention"), at=now,
                           details={"archived": len(result.archived), "deleted": len(result.deleted),
                                    "photos_deleted": len(result.photos_deleted)})  # fmt: skip
    for sha256 in result.photos_deleted:
        if not await photos.photo_in_use_anywhere(
            conn, sha256
        ):  # the same bytes may belong to another gemeente
            (uploads_dir / sha256[:2] / sha256).unlink(missing_ok=True)
    return result


async def run_with_url(url: str, uploads_dir: Path, now: datetime | None) -> dict[str, object]:
    from backend.db.migrate import migrate
    from backend.db.pool import create_pool

    pool = await create_pool(url, min_size=1, max_size=1)
    try:
        async with pool.acquire() as conn:
            await migrate(conn)
            result = await run(conn, uploads_dir, now or datetime.now(UTC))
    finally:
        await pool.close()
    return msgspec.to_builtins(result)  # type: ignore[no-any-return]


async def periods_with_url(
    url: str, change: tuple[str, str | None, str, str] | None
) -> list[dict[str, object]]:
    """Show the retention periods, after changing one regime's when ``change`` is given."""
    from backend.db.migrate import migrate
    from backend.db.pool import create_pool

    pool = await create_pool(url, min_size=1, max_size=1)
    try:
        async with pool.acquire() as conn:
            await migrate(conn)
            if change is not None:
                regime, listed_for, archive_after, delete_after = change
                async with conn.transaction():
                    await repo.set_retention_period(
                        conn,
                        regime,
                        listed_for=listed_for,
                        archive_after=archive_after,
                        delete_after=delete_after,
                    )
                    await audit.record(conn, principal=None, action="retention_config",
                                       object_type="retention", object_id=regime,
                                       origin=audit.Origin(address="schakel retention set"),
                                       details={"listed_for": listed_for, "archive_after": archive_after,
                                                "delete_after": delete_after})  # fmt: skip
            return [msgspec.to_builtins(p) for p in await repo.retention_periods(conn)]
    finally:
        await pool.close()


def seconds_until(now: datetime, at: time) -> float:
    """Seconds from ``now`` to the next ``at`` (UTC) strictly after it."""
    target = datetime.combine(now.astimezone(UTC).date(), at, UTC)
    if target <= now:
        target += timedelta(days=1)
    return (target - now).total_seconds()


async def daily(pool: asyncpg.Pool, uploads_dir: Path, at: time = DAILY_AT) -> None:
    """The in-process schedule: one retention pass a day; `schakel retention run` does the same by hand."""
    while True:
        await asyncio.sleep(seconds_until(datetime.now(UTC), at))
        try:
            async with pool.acquire() as conn:
                if not await conn.fetchval("SELECT pg_try_advisory_lock($1)", LOCK_KEY):
                    continue
                try:
                    result = await run(conn, uploads_dir, datetime.now(UTC))
                finally:
                    await conn.execute("SELECT pg_advisory_unlock($1)", LOCK_KEY)
            log.info("retention: %d archived, %d deleted", len(result.archived), len(result.deleted))
        except Exception:  # a failed night must not end the schedule
            log.exception("retention pass failed; next try tomorrow")
