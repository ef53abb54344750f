"""The published rooster as the field reads it: a boa's own shifts, a gemeente's planned duos, and planned
against actual (SQL functions take a `Conn`; `compare` is pure).

What counts is the latest published version of each plan (`rooster_versions` with the highest number);
where two plans cover the same boa and day, the most recently published one wins. Shift times are local
wall-clock (Europe/Amsterdam): a shift is its day at the shift type's start minute, and may run past midnight.
"""

from __future__ import annotations

import dataclasses
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from msgspec.structs import replace

from backend.db.pool import Conn
from shared.rooster import (
    LATE_AFTER_MINUTES,
    DuoMember,
    PlannedDuo,
    PlannedShiftView,
    PlannedVsActual,
    UnplannedShift,
)

LOCAL = ZoneInfo("Europe/Amsterdam")
LOOKAHEAD = timedelta(hours=1)  # "now" on the console: running, or starting within the hour
STATE_ORDER = {"te_laat": 0, "partner_ontbreekt": 1, "gepland": 2, "gestart": 3}

# The latest version of every plan, and of its assignments per (boa, day) the most recently published one.
_LATEST = """
    latest AS (
        SELECT DISTINCT ON (v.plan_id) v.id, v.plan_id, v.number, v.published_at, p.org_id
        FROM rooster_versions v JOIN rooster_plans p ON p.id = v.plan_id
        ORDER BY v.plan_id, v.number DESC
    ),
    current AS (
        SELECT DISTINCT ON (a.account_id, a.day) a.version_id, a.account_id, a.day, a.shift_type_id,
               a.beat_id, a.duo, l.plan_id, l.number, l.org_id
        FROM rooster_version_assignments a JOIN latest l ON l.id = a.version_id
        WHERE a.day >= $1 AND a.day < $2
        ORDER BY a.account_id, a.day, l.published_at DESC, l.id DESC
    )
"""


def local_span(day: date, start_minute: int, duration_minutes: int) -> tuple[datetime, datetime]:
    """A shift's start and end in UTC (a night shift ends the next day; DST days are wall-clock)."""
    # aware arithmetic with the same zone is wall-clock: 07:00 stays 07:00 on the day the clocks change
    start = datetime.combine(day, time(0), LOCAL) + timedelta(minutes=start_minute)
    end = start + timedelta(minutes=duration_minutes)
    return start.astimezone(UTC), end.astimezone(UTC)


def local_today(now: datetime) -> date:
    return now.astimezone(LOCAL).date()


async def boa_shifts(conn: Conn, account_id: int, start: date, days: int) -> list[PlannedShiftView]:
    """The boa's published shifts on [start, start + days), with the duo partner, by start."""
    rows = await conn.fetch(
        f"""WITH {_LATEST}
        SELECT c.day, st.code, st.name AS shift_name, st.start_minute, st.duration_minutes,
               b.id AS beat_id, b.name AS beat_name, c.org_id, c.plan_id, c.number,
               partner.account_id AS partner_id, partner.display_name AS partner_name
        FROM current c
        JOIN rooster_shift_types st ON st.id = c.shift_type_id
        JOIN beats b ON b.id = c.beat_id
        LEFT JOIN LATERAL (
            SELECT o.account_id, acc.display_name FROM current o JOIN accounts acc ON acc.id = o.account_id
            WHERE o.version_id = c.version_id AND o.day = c.day AND o.shift_type_id = c.shift_type_id
              AND o.beat_id = c.beat_id AND o.duo = c.duo AND o.account_id <> c.account_id
            ORDER BY o.account_id LIMIT 1
        ) partner ON true
        WHERE c.account_id = $3
        ORDER BY c.day, st.start_minute""",
        start,
        start + timedelta(days=days),
        account_id,
    )
    shifts = []
    for r in rows:
        starts_at, ends_at = local_span(r["day"], r["start_minute"], r["duration_minutes"])
        shifts.append(
            PlannedShiftView(
                day=r["day"],
                shift_code=r["code"],
                shift_name=r["shift_name"],
                starts_at=starts_at,
                ends_at=ends_at,
                beat_id=r["beat_id"],
                beat_name=r["beat_name"],
                partner_id=r["partner_id"],
                partner_name=r["partner_name"],
                org_id=r["org_id"],
                plan_id=r["plan_id"],
                version=r["number"],
            )
        )
    return shifts


@dataclass(frozen=True, kw_only=True)
class Planned:
    """A planned duo of a day (one or two boa's on the same shift type, beat and duo number)."""

    org_id: int
    gemeente: str
    day: date
    shift_code: str
    shift_name: str
    starts_at: datetime
    ends_at: datetime
    beat_id: int
    beat_name: str
    members: tuple[tuple[int, str], ...]  # (account id, name)


@dataclass(frozen=True, kw_only=True)
class Running:
    """An open shift: its unit and who is on it."""

    shift_id: int
    org_id: int
    unit_id: int
    call_sign: str
    account_ids: tuple[int, ...]
    names: tuple[str, ...]
    beat_ids: tuple[int, ...]
    started_at: datetime


async def planned_duos(conn: Conn, org_ids: Sequence[int], start: date, days: int) -> list[Planned]:
    """The published duos of these gemeenten on [start, start + days), by start."""
    rows = await conn.fetch(
        f"""WITH {_LATEST}
        SELECT c.org_id, o.name AS gemeente, c.day, st.code, st.name AS shift_name, st.start_minute,
               st.duration_minutes, b.id AS beat_id, b.name AS beat_name, c.duo, c.version_id,
               c.account_id, acc.display_name
        FROM current c
        JOIN organisations o ON o.id = c.org_id
        JOIN rooster_shift_types st ON st.id = c.shift_type_id
        JOIN beats b ON b.id = c.beat_id
        JOIN accounts acc ON acc.id = c.account_id
        WHERE c.org_id = ANY($3::int[])
        ORDER BY c.day, st.start_minute, b.name, c.duo, c.account_id""",
        start,
        start + timedelta(days=days),
        list(org_ids),
    )
    groups: dict[tuple[int, date, str, int, int], list[tuple[int, str]]] = defaultdict(list)
    first: dict[tuple[int, date, str, int, int], Planned] = {}
    for r in rows:
        key = (r["version_id"], r["day"], r["code"], r["beat_id"], r["duo"])
        groups[key].append((r["account_id"], r["display_name"]))
        if key not in first:
            starts_at, ends_at = local_span(r["day"], r["start_minute"], r["duration_minutes"])
            first[key] = Planned(
                org_id=r["org_id"],
                gemeente=r["gemeente"],
                day=r["day"],
                shift_code=r["code"],
                shift_name=r["shift_name"],
                starts_at=starts_at,
                ends_at=ends_at,
                beat_id=r["beat_id"],
                beat_name=r["beat_name"],
                members=(),
            )
    out = [dataclasses.replace(planned, members=tuple(groups[key])) for key, planned in first.items()]
    out.sort(key=lambda p: (p.starts_at, p.beat_name))
    return out


async def running_shifts(conn: Conn, org_ids: Sequence[int]) -> list[Running]:
    rows = await conn.fetch(
        """SELECT s.id, u.org_id, s.unit_id, u.call_sign, s.account_ids, s.beat_ids, s.started_at,
                  ARRAY(SELECT a.display_name FROM unnest(s.account_ids) WITH ORDINALITY x(id, n)
                        JOIN accounts a ON a.id = x.id ORDER BY x.n) AS names
           FROM shifts s JOIN units u ON u.id = s.unit_id
           WHERE s.ended_at IS NULL AND u.org_id = ANY($1::int[])
           ORDER BY u.call_sign""",
        list(org_ids),
    )
    return [
        Running(
            shift_id=r["id"],
            org_id=r["org_id"],
            unit_id=r["unit_id"],
            call_sign=r["call_sign"],
            account_ids=tuple(r["account_ids"]),
            names=tuple(r["names"]),
            beat_ids=tuple(r["beat_ids"]),
            started_at=r["started_at"],
        )
        for r in rows
    ]


def compare(planned: Iterable[Planned], running: Sequence[Running], now: datetime) -> PlannedVsActual:
    """Planned against actual now: every duo running or due within `LOOKAHEAD`, and the running shifts of a
    gemeente with a rooster that no planned duo accounts for."""
    late_after = timedelta(minutes=LATE_AFTER_MINUTES)
    shift_of = {a: r for r in running for a in r.account_ids}
    duos: list[PlannedDuo] = []
    accounted: set[int] = set()  # shift ids a planned duo is on
    orgs_with_plan: set[int] = set()
    for p in planned:
        if not (p.starts_at - LOOKAHEAD <= now < p.ends_at):
            continue
        orgs_with_plan.add(p.org_id)
        ids = [a for a, _ in p.members]
        on = [shift_of[a] for a in ids if a in shift_of]
        members = [DuoMember(account_id=a, name=n, on_shift=a in shift_of) for a, n in p.members]
        base = PlannedDuo(
            org_id=p.org_id,
            gemeente=p.gemeente,
            day=p.day,
            shift_code=p.shift_code,
            shift_name=p.shift_name,
            starts_at=p.starts_at,
            ends_at=p.ends_at,
            beat_id=p.beat_id,
            beat_name=p.beat_name,
            members=members,
            state="gepland",
        )
        if not on:
            late = now - p.starts_at
            if late >= late_after:
                base = replace(base, state="te_laat", late_minutes=int(late.total_seconds() // 60))
            duos.append(base)
            continue
        # the duo's shift: the one most of its boa's are on (the first planned boa's on a tie)
        shift = max(on, key=lambda r: sum(a in r.account_ids for a in ids))
        accounted.add(shift.shift_id)
        names = dict(zip(shift.account_ids, shift.names, strict=False))
        missing = [n for a, n in p.members if a not in shift.account_ids]
        others = [names.get(a, str(a)) for a in shift.account_ids if a not in ids]
        duos.append(
            replace(
                base,
                state="partner_ontbreekt" if missing else "gestart",
                unit_id=shift.unit_id,
                call_sign=shift.call_sign,
                started_at=shift.started_at,
                missing=missing,
                others=others,
                other_beat=p.beat_id not in shift.beat_ids,
            )
        )
    duos.sort(key=lambda d: (STATE_ORDER[d.state], d.starts_at, d.beat_name))
    unplanned = [
        UnplannedShift(
            shift_id=r.shift_id,
            org_id=r.org_id,
            unit_id=r.unit_id,
            call_sign=r.call_sign,
            crew=list(r.names),
            started_at=r.started_at,
        )
        for r in running
        if r.org_id in orgs_with_plan and r.shift_id not in accounted
    ]
    return PlannedVsActual(at=now, duos=duos, unplanned=unplanned)


async def planned_vs_actual(conn: Conn, org_ids: Sequence[int], now: datetime) -> PlannedVsActual:
    """What the console shows: yesterday's nights still running, today's duos and just after midnight
    tomorrow's, against the open shifts."""
    today = local_today(now)
    planned = await planned_duos(conn, org_ids, today - timedelta(days=1), 3)
    return compare(planned, await running_shifts(conn, org_ids), now)
