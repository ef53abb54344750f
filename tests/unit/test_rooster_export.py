"""The rooster's files as a reader gets them: Excel-safe CSV, a PDF for any team size, calendar events that a
calendar app updates instead of duplicating (pure functions, no server)."""

from __future__ import annotations

import csv
import io
from datetime import UTC, date, datetime, timedelta

import icalendar
from pypdf import PdfReader

from backend.rooster.export import (
    FeedVersion,
    PlanExport,
    PlanRow,
    boa_calendar,
    event_uid,
    plan_csv,
    plan_pdf,
    summary,
    with_partners,
)

START = date(2026, 3, 23)  # the clocks go forward in the night of Saturday 28 to Sunday 29 March 2026


def row(staff: int, name: str, offset: int, code: str = "laat", **over: object) -> PlanRow:
    times = {"vroeg": ("Vroeg", 420, 480), "laat": ("Laat", 900, 480), "nacht": ("Nacht", 1380, 480)}
    shift_name, start_minute, minutes = times[code]
    values: dict[str, object] = dict(
        plan_id=7,
        staff_id=staff,
        staff_name=name,
        day=START + timedelta(days=offset),
        shift_code=code,
        shift_name=shift_name,
        start_minute=start_minute,
        duration_minutes=minutes,
        beat_code="BU1",
        beat_name="Centrum",
        duo=0,
    )
    values.update(over)
    return PlanRow(**values)  # type: ignore[arg-type]


def export(rows: list[PlanRow], boas: list[tuple[int, str]] | None = None) -> PlanExport:
    return PlanExport(
        org_name="Gemeente Test",
        plan_id=7,
        plan_name="Voorjaar",
        start=START,
        days=28,
        version=2,
        published_at=datetime(2026, 3, 20, 9, 30, tzinfo=UTC),
        rows=rows,
        boas=boas or [],
    )


def test_partners_are_the_other_boa_of_the_same_duo() -> None:
    rows = with_partners([row(1, "Jansen", 0), row(2, "De Vries", 0), row(3, "Bakker", 0, duo=1)])
    assert [r.partners for r in rows] == [["De Vries"], ["Jansen"], []]
    assert summary(rows[0]) == "Dienst laat — Centrum (duo met De Vries)"
    assert summary(rows[2]) == "Dienst laat — Centrum"


def test_csv_neutralises_formulas_in_names_and_uses_local_times() -> None:
    body = plan_csv(export([row(1, "=HYPERLINK(1)", 0, "nacht"), row(2, "De Vries", 0, "nacht")]))
    assert body.startswith("\ufeff")
    rows = list(csv.reader(io.StringIO(body.lstrip("\ufeff")), delimiter=";"))
    assert rows[1] == ["Gepubliceerd op", "20-03-2026 10:30"]  # 09:30 UTC is 10:30 in Amsterdam (winter)
    data = rows[4:]
    assert {r[2] for r in data} == {"'=HYPERLINK(1)", "De Vries"}
    assert data[0][4:7] == ["23:00", "07:00", "8"]


def test_pdf_holds_every_boa_even_without_shifts_and_pages_a_large_team() -> None:
    team = [(i, f"Boa {i:03d}") for i in range(1, 186)]
    rows = [row(i, f"Boa {i:03d}", i % 28) for i in range(1, 186)]
    reader = PdfReader(io.BytesIO(plan_pdf(export(rows, team))))
    assert len(reader.pages) == 10  # 185 boa's, 20 per page
    text = "\n".join(p.extract_text() for p in reader.pages)
    assert "Boa 001" in text and "Boa 185" in text
    empty = PdfReader(io.BytesIO(plan_pdf(export([], [(1, "Jansen")]))))
    assert "Jansen" in empty.pages[0].extract_text()


def test_calendar_events_keep_their_uid_and_local_times_across_the_clock_change() -> None:
    night = row(1, "Jansen", 5, "nacht")  # Saturday 28 March 23:00 to Sunday 07:00 (summer time)
    rows = [night, row(2, "De Vries", 5, "nacht"), row(1, "Jansen", 0, "vroeg")]
    v2 = FeedVersion(
        plan_id=7, plan_name="Voorjaar", version=2, published_at=datetime(2026, 3, 20, tzinfo=UTC), rows=rows
    )
    cal = icalendar.Calendar.from_ical(boa_calendar(1, "Jansen", "Gemeente Test", [v2]))
    events = {str(e.get("uid")): e for e in cal.walk("VEVENT")}
    assert set(events) == {event_uid(night), event_uid(rows[2])}
    e = events[event_uid(night)]
    start, end = e.decoded("dtstart"), e.decoded("dtend")
    assert (start.hour, end.hour, end.date()) == (23, 7, date(2026, 3, 29))  # the wall clock as planned
    assert end.astimezone(UTC) - start.astimezone(UTC) == timedelta(hours=7)  # the skipped hour is not worked
    assert str(e.get("summary")) == "Dienst nacht — Centrum (duo met De Vries)"
    moved = [row(1, "Jansen", 5, "laat"), row(1, "Jansen", 0, "vroeg")]
    v3 = FeedVersion(
        plan_id=7, plan_name="Voorjaar", version=3, published_at=datetime(2026, 3, 21, tzinfo=UTC), rows=moved
    )
    again = {
        str(x.get("uid")): x
        for x in icalendar.Calendar.from_ical(boa_calendar(1, "Jansen", "Gemeente Test", [v3])).walk("VEVENT")
    }
    assert set(again) == set(events)  # the changed shift is the same event
    assert int(again[event_uid(night)].get("sequence")) == 3
