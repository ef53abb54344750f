"""A published rooster written in SQL for the field tests (tablet shifts, planned against actual).

The planning side has its own routes; these tests only need what publishing leaves behind: a plan, a version
and its assignments (shared/rooster.py, migration 0017).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime, timedelta

from backend.db.pool import Conn
from backend.orgs import repository as orgs
from backend.rooster.published import LOCAL
from tests.integration.harness import PASSWORD

Row = tuple[int, date, int, int, int]  # (account id, day, shift type id, beat id, duo)


async def shift_type(
    conn: Conn, org_id: int, code: str, start_minute: int, duration_minutes: int = 480, name: str = ""
) -> int:
    return int(
        await conn.fetchval(
            """INSERT INTO rooster_shift_types (org_id, code, name, start_minute, duration_minutes)
               VALUES ($1, $2, $3, $4, $5) RETURNING id""",
            org_id,
            code,
            name or code.capitalize(),
            start_minute,
            duration_minutes,
        )
    )


async def boa(conn: Conn, org_id: int, username: str, display_name: str) -> int:
    """A boa who logs in with the test PASSWORD (the hash is copied from an existing account: hashing each
    new one would cost a second of the shared cores)."""
    known = await conn.fetchval("SELECT password_hash FROM accounts ORDER BY id LIMIT 1")
    if known is None:
        return await orgs.create_account(
            conn, org_id=org_id, username=username, password=PASSWORD, role="boa", display_name=display_name
        )
    return int(
        await conn.fetchval(
            """INSERT INTO accounts (org_id, username, display_name, password_hash, role)
               VALUES ($1, $2, $3, $4, 'boa') RETURNING id""",
            org_id,
            username,
            display_name,
            known,
        )
    )


async def publish(
    conn: Conn, org_id: int, rows: Sequence[Row], *, plan_id: int | None = None, start: date | None = None
) -> tuple[int, int]:
    """Publish `rows` as the next version of `plan_id` (a new 28-day plan when None): (plan id, number)."""
    if plan_id is None:
        first = start or min((r[1] for r in rows), default=date.today())
        plan_id = int(
            await conn.fetchval(
                """INSERT INTO rooster_plans (org_id, name, start_day, days) VALUES ($1, $2, $3, 28)
                   RETURNING id""",
                org_id,
                f"Rooster vanaf {first:%d-%m}",
                first,
            )
        )
    number = int(
        await conn.fetchval(
            "SELECT coalesce(max(number), 0) + 1 FROM rooster_versions WHERE plan_id = $1", plan_id
        )
    )
    version = await conn.fetchval(
        "INSERT INTO rooster_versions (plan_id, number) VALUES ($1, $2) RETURNING id", plan_id, number
    )
    await conn.executemany(
        """INSERT INTO rooster_version_assignments (version_id, account_id, day, shift_type_id, beat_id, duo)
           VALUES ($1, $2, $3, $4, $5, $6)""",
        [(version, *r) for r in rows],
    )
    return plan_id, number


def local_start(now: datetime, minutes_from_now: int) -> tuple[date, int]:
    """The (day, start minute) of a shift starting `minutes_from_now` from now, in local wall-clock."""
    at = (now + timedelta(minutes=minutes_from_now)).astimezone(LOCAL)
    return at.date(), at.hour * 60 + at.minute
