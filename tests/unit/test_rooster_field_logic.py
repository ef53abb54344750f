"""Planned against actual (backend/rooster/published.compare) and wall-clock shift times, no database."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

from backend.rooster.published import LOCAL, Planned, Running, compare, local_span


def at(day: date, hh: int, mm: int = 0) -> datetime:
    return datetime(day.year, day.month, day.day, hh, mm, tzinfo=LOCAL).astimezone(UTC)


DAY = date(2026, 12, 1)


def planned(
    start_minute: int, members: tuple[tuple[int, str], ...], *, day: date = DAY, beat: int = 7
) -> Planned:
    starts_at, ends_at = local_span(day, start_minute, 8 * 60)
    return Planned(
        org_id=1,
        gemeente="Gemeente A",
        day=day,
        shift_code="laat",
        shift_name="Laatdienst",
        starts_at=starts_at,
        ends_at=ends_at,
        beat_id=beat,
        beat_name="Oude Zijde",
        members=members,
    )


def running(shift_id: int, accounts: tuple[int, ...], beats: tuple[int, ...] = (7,), org: int = 1) -> Running:
    return Running(
        shift_id=shift_id,
        org_id=org,
        unit_id=100 + shift_id,
        call_sign=f"HH-{shift_id:02d}",
        account_ids=accounts,
        names=tuple(f"boa {a}" for a in accounts),
        beat_ids=beats,
        started_at=at(DAY, 15, 2),
    )


def test_a_night_shift_ends_the_next_morning_and_dst_keeps_wall_clock_times() -> None:
    start, end = local_span(DAY, 23 * 60, 8 * 60)
    assert start == at(DAY, 23) and end == at(DAY + timedelta(days=1), 7)
    # the night the clocks go forward (29 March 2026, 02:00 → 03:00): still 23:00 to 07:00 on the rooster
    spring = date(2026, 3, 28)
    start, end = local_span(spring, 23 * 60, 8 * 60)
    assert start.astimezone(LOCAL).hour == 23 and end.astimezone(LOCAL).hour == 7
    assert end - start == timedelta(hours=7)


def test_late_only_ten_minutes_after_the_start_and_started_when_both_are_on_one_unit() -> None:
    duo = planned(15 * 60, ((1, "Bakker"), (2, "Visser")))
    assert compare([duo], [], at(DAY, 15, 9)).duos[0].state == "gepland"
    late = compare([duo], [], at(DAY, 15, 10)).duos[0]
    assert late.state == "te_laat" and late.late_minutes == 10
    started = compare([duo], [running(3, (2, 1))], at(DAY, 15, 30)).duos[0]
    assert started.state == "gestart" and started.call_sign == "HH-03" and not started.other_beat


def test_a_missing_partner_and_a_stranger_on_the_unit_and_another_beat_are_named() -> None:
    duo = planned(15 * 60, ((1, "Bakker"), (2, "Visser")))
    got = compare([duo], [running(4, (1, 9), beats=(8,))], at(DAY, 15, 30)).duos[0]
    assert got.state == "partner_ontbreekt" and got.missing == ["Visser"] and got.others == ["boa 9"]
    assert got.other_beat and [m.on_shift for m in got.members] == [True, False]
    # the two planned boa's each on another unit: the first one's unit is the duo's, the other is missing
    split = compare([duo], [running(5, (1,)), running(6, (2,))], at(DAY, 15, 30))
    assert split.duos[0].call_sign == "HH-05" and split.duos[0].missing == ["Visser"]
    assert [u.call_sign for u in split.unplanned] == ["HH-06"]


def test_only_now_and_the_next_hour_and_unplanned_only_where_a_rooster_exists() -> None:
    night_before = planned(23 * 60, ((1, "Bakker"),), day=DAY - timedelta(days=1))  # until 07:00 today
    later = planned(18 * 60, ((2, "Visser"),))  # starts in more than an hour
    soon = planned(16 * 60 + 30, ((3, "Smit"),))
    shifts = [running(7, (8,)), running(9, (10,), org=2)]  # gemeente 2 has no rooster here
    got = compare([night_before, later, soon], shifts, at(DAY, 15, 45))
    assert [d.members[0].name for d in got.duos] == ["Smit"]
    assert [u.call_sign for u in got.unplanned] == ["HH-07"]
    assert [d.members[0].name for d in compare([night_before], [], at(DAY, 6, 59)).duos] == ["Bakker"]


def test_problems_come_first() -> None:
    duos = [
        planned(15 * 60, ((1, "Op tijd"), (2, "Ook"))),
        planned(15 * 60, ((3, "Te laat"),), beat=8),
        planned(15 * 60, ((4, "Half"), (5, "Weg")), beat=9),
        planned(16 * 60, ((6, "Straks"),)),
    ]
    got = compare(duos, [running(1, (1, 2)), running(2, (4,), beats=(9,))], at(DAY, 15, 20))
    assert [d.state for d in got.duos] == ["te_laat", "partner_ontbreekt", "gepland", "gestart"]
