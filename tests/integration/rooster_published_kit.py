"""A published rooster written in SQL for the field tests (tablet shifts, planned against actual).

The planning side has its own routes; these tests only need what publishing leaves behind: a plan, a version
and its assignments (shared/rooster.py, migration 0017).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime, time, timedelta

import asyncpg

from backend.db.pool import Conn
from backend.orgs import repository as orgs
from backend.rooster.published import LOCAL
from backend.shifts import repository as shifts
from tests.integration.harness import PASSWORD
from tests.integration.world import World

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


OZ, NZ = "Burgwallen-Oude Zijde", "Burgwallen-Nieuwe Zijde"


async def field_scenario(database_url: str, world: World, now: datetime) -> None:
    """Gemeente A's published rooster against its running shifts, now:

    - A. Bakker & B. Visser, Oude Zijde from 30 minutes ago: no shift (late);
    - C. Smit & D. Mulder, Nieuwe Zijde: on A-01 together, started two minutes early (on time);
    - E. de Boer & F. Bos, Oude Zijde: F on A-02 without E, in Nieuwe Zijde (partner missing, other beat);
    - H. Jacobs starts in 40 minutes (planned, not late yet); I. Vos's shift ended two hours ago (not shown);
    - G. Los is on A-03 without being planned."""
    conn = await asyncpg.connect(database_url)
    try:
        oz, nz = world.beats_a[OZ], world.beats_a[NZ]
        names = [
            "A. Bakker",
            "B. Visser",
            "C. Smit",
            "D. Mulder",
            "E. de Boer",
            "F. Bos",
            "H. Jacobs",
            "I. Vos",
        ]
        a, b, c, d, e, f, h, i = [await boa(conn, world.org_a, f"boa_{k}", n) for k, n in enumerate(names)]
        day, minute = local_start(now, -30)
        started = await shift_type(conn, world.org_a, "laat", minute, 8 * 60, "Laatdienst")
        day_soon, minute_soon = local_start(now, 40)
        soon = await shift_type(conn, world.org_a, "avond", minute_soon, 8 * 60, "Avonddienst")
        old_day, old_minute = local_start(now, -10 * 60)
        over = await shift_type(conn, world.org_a, "vroeg", old_minute, 8 * 60, "Vroege dienst")
        await publish(
            conn,
            world.org_a,
            [
                (a, day, started, oz, 0),
                (b, day, started, oz, 0),
                (c, day, started, nz, 1),
                (d, day, started, nz, 1),
                (e, day, started, oz, 2),
                (f, day, started, oz, 2),
                (h, day_soon, soon, nz, 0),
                (i, old_day, over, nz, 0),
            ],
        )
        a02 = await orgs.create_unit(conn, org_id=world.org_a, call_sign="A-02")
        a03 = await orgs.create_unit(conn, org_id=world.org_a, call_sign="A-03")
        on_time = await shifts.start_shift(
            conn, unit_id=world.unit_a, device_id=None, account_ids=[c, d], beat_ids=[nz]
        )
        planned_start = datetime.combine(day, time(0), LOCAL) + timedelta(minutes=minute)
        await conn.execute(  # C and D started two minutes before the planned start
            "UPDATE shifts SET started_at = $2 WHERE id = $1", on_time, planned_start - timedelta(minutes=2)
        )
        await shifts.start_shift(conn, unit_id=a02, device_id=None, account_ids=[f], beat_ids=[nz])
        ongepland = await boa(conn, world.org_a, "boa_los", "G. Los")
        await shifts.start_shift(conn, unit_id=a03, device_id=None, account_ids=[ongepland], beat_ids=[])
    finally:
        await conn.close()
