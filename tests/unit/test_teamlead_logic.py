"""The team lead's pure rules: which aangiftes need action, the day's window, what the team page accepts."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from backend.team import logic as team
from backend.teamlead import logic
from shared.registrations import FieldError

FRIDAY_EVENING = datetime(2026, 11, 27, 20, 0, tzinfo=UTC)  # deadline: end of Tuesday 1 December (local)


def test_an_aangifte_is_open_then_near_then_overdue() -> None:
    assert (
        logic.aangifte_urgency(FRIDAY_EVENING, "geen", False, FRIDAY_EVENING + timedelta(hours=1)) == "open"
    )
    monday_noon = datetime(2026, 11, 30, 11, 0, tzinfo=UTC)
    assert logic.aangifte_urgency(FRIDAY_EVENING, "melding", False, monday_noon) == "open"
    tuesday_morning = datetime(2026, 12, 1, 8, 0, tzinfo=UTC)
    assert logic.aangifte_urgency(FRIDAY_EVENING, "geen", False, tuesday_morning) == "near"
    wednesday = datetime(2026, 12, 2, 8, 0, tzinfo=UTC)
    assert logic.aangifte_urgency(FRIDAY_EVENING, "geen", False, wednesday) == "overdue"
    assert "verstreken" in logic.reminder("overdue") and "VPT" in logic.reminder("overdue")


def test_a_reported_incident_needs_only_the_vpt_code() -> None:
    late = FRIDAY_EVENING + timedelta(days=30)
    assert logic.aangifte_urgency(FRIDAY_EVENING, "aangifte", True, late) is None
    assert logic.aangifte_urgency(FRIDAY_EVENING, "aangifte", False, late) == "no_vpt"
    assert "VPT-code" in logic.reminder("no_vpt")


def test_today_is_the_local_day() -> None:
    start, end = logic.day_window(datetime(2026, 7, 1, 22, 30, tzinfo=UTC))  # 00:30 on 2 July in Amsterdam
    assert start == datetime(2026, 7, 1, 22, 0, tzinfo=UTC) and end == datetime(2026, 7, 2, 22, 0, tzinfo=UTC)


@pytest.mark.parametrize("number", ["06-12345678", "020 555 1234", "+31 6 1234 5678", "(020) 5551234"])
def test_phone_numbers_as_people_type_them(number: str) -> None:
    assert team.phone(f"  {number} ", "phone") == number


@pytest.mark.parametrize("number", ["12", "06-1234abcd", "+", "06--", "0" * 16, "-0612345678"])
def test_what_is_not_a_phone_number(number: str) -> None:
    with pytest.raises(FieldError) as refused:
        team.phone(number, "phone")
    assert refused.value.field == "phone"


def test_empty_clears_and_limits_hold() -> None:
    assert team.phone("", "phone") is None and team.portofoon("  ") is None
    assert team.contract_hours(0) == 0 and team.contract_hours(60) == 60 and team.contract_hours(36.5) == 36.5
    for hours in (-0.5, 60.5, 36.25):
        with pytest.raises(FieldError):
            team.contract_hours(hours)
    assert team.domains([2, 1, 1]) == [1, 2]
    for domains in ([], [1, 2, 3], [0], [7]):
        with pytest.raises(FieldError):
            team.domains(domains)
    assert team.qualifications(["ANPR", " bhv ", ""]) == ["anpr", "bhv"]
    with pytest.raises(FieldError):
        team.qualifications(["geen spaties"])
