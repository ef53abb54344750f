"""The aangifte deadline counts two working days: weekends and Dutch public holidays are skipped."""

from __future__ import annotations

import uuid
from datetime import date, datetime

import msgspec
import pytest

from backend.registrations import validation
from shared.registrations import Aggression


@pytest.mark.parametrize(("occurred", "deadline_day"), [
    ("2026-04-24T15:00:00+02:00", date(2026, 4, 29)),   # Friday; Monday 27 April is Koningsdag
    ("2026-12-24T15:00:00+01:00", date(2026, 12, 29)),  # Christmas Eve; 25 Dec Friday, 26 Dec Saturday
    ("2026-04-02T15:00:00+02:00", date(2026, 4, 7)),    # Thursday; Goede Vrijdag counts, Easter Monday not
    ("2026-05-13T15:00:00+02:00", date(2026, 5, 18)),   # Wednesday; Thursday 14 May is Hemelvaartsdag
    ("2026-05-22T15:00:00+02:00", date(2026, 5, 27)),   # Friday; Monday 25 May is Pinkstermaandag
    ("2026-12-30T15:00:00+01:00", date(2027, 1, 4)),    # Wednesday; Nieuwjaarsdag 2027, a year not seen yet
    ("2025-05-02T15:00:00+02:00", date(2025, 5, 7)),    # Friday; Bevrijdingsdag 2025 (a lustrum year)
    ("2026-05-01T15:00:00+02:00", date(2026, 5, 6)),    # Friday; 5 May is a feestdag in every year
    ("2026-04-26T23:30:00Z", date(2026, 4, 29)),        # Monday 01:30 local on Koningsdag itself
])  # fmt: skip
def test_deadline_skips_dutch_public_holidays(occurred: str, deadline_day: date) -> None:
    deadline = validation.aangifte_deadline(datetime.fromisoformat(occurred))
    local = deadline.astimezone(validation.LOCAL)
    assert local.date() == deadline_day and (local.hour, local.minute) == (23, 59)


def test_no_holiday_in_the_way_still_means_two_working_days() -> None:
    deadline = validation.aangifte_deadline(datetime.fromisoformat("2026-04-28T10:00:00+02:00"))  # Tuesday
    assert deadline.astimezone(validation.LOCAL).date() == date(2026, 4, 30)


def test_an_incident_before_koningsdag_is_not_overdue_on_the_day_a_weekend_only_count_would_say() -> None:
    incident = msgspec.convert(
        {"kind": "aggression", "id": str(uuid.uuid4()), "occurred_at": "2026-04-24T15:00:00+02:00",
         "location": {"lon": 4.9, "lat": 52.37}, "types": ["fysiek"], "severity": "ernstig",
         "staff": [{"role": "boa"}]},
        Aggression,
    )  # fmt: skip
    wednesday_morning = datetime.fromisoformat("2026-04-29T09:00:00+02:00")
    assert not validation.deadline_status(incident, wednesday_morning).overdue
    thursday_morning = datetime.fromisoformat("2026-04-30T09:00:00+02:00")
    assert validation.deadline_status(incident, thursday_morning).overdue
