"""Pure registration rules: decoding with field paths, age and tariff, regime, aangifte deadline, diffs."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime, timedelta

import msgspec
import pytest

from backend.registrations import validation
from backend.reports import excel_csv
from shared.feitcodes import FeitEntry
from shared.registrations import Aggression, FieldError, Fine, decode_submission

NOW = datetime(2026, 11, 18, 12, 0, tzinfo=UTC)  # a Wednesday


def fine_json(**over: object) -> dict[str, object]:
    body: dict[str, object] = {
        "kind": "fine",
        "id": str(uuid.uuid4()),
        "occurred_at": "2026-11-18T11:00:00Z",
        "location": {"lon": 4.9, "lat": 52.37},
        "feitcode": "R 397a",
        "offender": {
            "name": "A",
            "birth_date": "2010-11-18",
            "id_document_type": "paspoort",
            "id_document_number": "NX1234567",
            "address": {"street": "Dam", "house_number": "1", "city": "Amsterdam"},
        },
    }
    body.update(over)
    return body


def decoded(**over: object) -> Fine:
    submission = decode_submission(msgspec.json.encode(fine_json(**over)))
    assert isinstance(submission, Fine)
    return validation.normalise(submission)  # type: ignore[return-value]


ENTRY_PERSON = FeitEntry(
    code="BF 185",
    description="wildplassen",
    track="bestuurlijke_boete",
    amounts_eur={"adult": 90, "minor": 45},
    amount_scheme="person",
    category="overlast",
)
ENTRY_ROAD = FeitEntry(
    code="R 397a",
    description="parkeren",
    track="mulder",
    amounts_eur={"1": 90, "6": 35},
    amount_scheme="road_user",
    category="parkeren",
)
ENTRY_NONE = FeitEntry(
    code="BF 185",
    description="wildplassen",
    track="om_strafbeschikking",
    amounts_eur={},
    amount_scheme="none",
    category="overlast",
)


@pytest.mark.parametrize(("raw", "field"), [
    (b"{", "body"),
    (msgspec.json.encode(fine_json(kind="x")), "kind"),
    (msgspec.json.encode({**fine_json(), "location": {"lon": 4.9}}), "location.lat"),
    (msgspec.json.encode(fine_json(photos=["ab"])), "photos.0"),
    (msgspec.json.encode(fine_json(nonsense=1)), "nonsense"),
])  # fmt: skip
def test_decoding_errors_name_the_field(raw: bytes, field: str) -> None:
    with pytest.raises(FieldError) as caught:
        decode_submission(raw)
    assert caught.value.field == field


@pytest.mark.parametrize(("birth", "age"), [
    (date(2008, 11, 18), 18), (date(2008, 11, 19), 17), (date(2000, 2, 29), 26), (date(2026, 11, 18), 0),
])  # fmt: skip
def test_age_is_counted_on_the_day_of_the_offence(birth: date, age: int) -> None:
    assert validation.check_birth_date(birth, NOW, "b") == age


def test_birth_date_in_the_future_is_refused_in_dutch() -> None:
    with pytest.raises(FieldError, match="geboortedatum ligt in de toekomst"):
        validation.check_birth_date(date(2026, 11, 19), NOW, "offender.birth_date")


@pytest.mark.parametrize(("birth", "entry", "category", "amount", "minor"), [
    ("1990-01-01", ENTRY_PERSON, None, 90, False),
    ("2010-01-01", ENTRY_PERSON, None, 45, True),   # 16 at the time: the minor tariff
    ("2008-11-19", ENTRY_PERSON, None, 45, True),   # turns 18 the day after the offence
    ("2008-11-18", ENTRY_PERSON, None, 90, False),  # 18 on the day
    ("1990-01-01", ENTRY_ROAD, "6", 35, False),
    ("1990-01-01", ENTRY_NONE, None, None, False),
])  # fmt: skip
def test_tariff_follows_age_and_vehicle_category(
    birth: str, entry: FeitEntry, category: str | None, amount: int | None, minor: bool
) -> None:
    fine = decoded(offender={**fine_json()["offender"], "birth_date": birth}, vehicle_category=category)  # type: ignore[dict-item]
    tariff = validation.check_fine(fine, entry)
    assert (tariff.amount_eur, tariff.minor) == (amount, minor)


def test_under_twelve_gets_no_fine_and_mulder_needs_a_vehicle_category() -> None:
    with pytest.raises(FieldError, match="onder de 12"):
        validation.check_fine(
            decoded(offender={**fine_json()["offender"], "birth_date": "2015-01-01"}), ENTRY_PERSON
        )  # type: ignore[dict-item]
    with pytest.raises(FieldError) as caught:
        validation.check_fine(decoded(), ENTRY_ROAD)
    assert caught.value.field == "vehicle_category"
    with pytest.raises(FieldError):
        validation.check_fine(decoded(vehicle_category="3"), ENTRY_ROAD)


def test_time_window_and_regime() -> None:
    with pytest.raises(FieldError, match="toekomst"):
        validation.check_common(decoded(occurred_at="2026-11-18T12:30:00Z"), NOW)
    with pytest.raises(FieldError, match="verleden"):
        validation.check_common(decoded(occurred_at="2026-08-01T12:00:00Z"), NOW)
    validation.check_common(decoded(occurred_at="2026-11-18T12:04:00Z"), NOW)  # clock skew is tolerated
    assert validation.check_regime(decoded()) == "wpg8"
    with pytest.raises(FieldError) as caught:
        validation.check_regime(decoded(regime="wpg9"))
    assert caught.value.field == "purpose"
    assert (
        validation.check_regime(decoded(regime="wpg9", purpose="onderzoek drugsoverlast Zeedijk")) == "wpg9"
    )


@pytest.mark.parametrize(("occurred", "deadline_day"), [
    ("2026-11-16T10:00:00+01:00", date(2026, 11, 18)),  # Monday -> Wednesday
    ("2026-11-19T10:00:00+01:00", date(2026, 11, 23)),  # Thursday -> Monday
    ("2026-11-20T23:30:00+01:00", date(2026, 11, 24)),  # Friday night -> Tuesday
    ("2026-11-20T23:30:00Z", date(2026, 11, 24)),       # Saturday 00:30 local -> Tuesday
    ("2026-11-22T12:00:00+01:00", date(2026, 11, 24)),  # Sunday -> Tuesday
])  # fmt: skip
def test_aangifte_deadline_is_two_working_days_skipping_weekends(occurred: str, deadline_day: date) -> None:
    deadline = validation.aangifte_deadline(datetime.fromisoformat(occurred))
    local = deadline.astimezone(validation.LOCAL)
    assert local.date() == deadline_day and (local.hour, local.minute) == (23, 59)


def test_holidays_are_skipped_when_given() -> None:
    assert validation.add_working_days(date(2026, 12, 24), 2, frozenset({date(2026, 12, 25)})) == date(
        2026, 12, 29
    )


def test_deadline_status_reminds_of_vpt_until_reported_with_it() -> None:
    base = {"kind": "aggression", "id": str(uuid.uuid4()), "occurred_at": "2026-11-16T10:00:00+01:00",
            "location": {"lon": 4.9, "lat": 52.37}, "types": ["fysiek"], "severity": "ernstig",
            "staff": [{"role": "boa"}]}  # fmt: skip
    incident = validation.normalise(msgspec.convert(base, Aggression))
    status = validation.deadline_status(incident, NOW + timedelta(days=1))  # type: ignore[arg-type]
    assert status.overdue and "VPT" in status.reminder
    reported = msgspec.structs.replace(incident, report="aangifte", vpt_code_used=True)  # type: ignore[type-var]
    assert validation.deadline_status(reported, NOW).reminder == ""  # type: ignore[arg-type]


def test_differences_lists_dotted_paths() -> None:
    a = {"x": 1, "o": {"name": "A", "n": [1, 2]}, "gone": 1}
    b = {"x": 1, "o": {"name": "B", "n": [1, 3]}, "new": 1}
    assert validation.differences(a, b) == ["gone", "new", "o.n.1", "o.name"]
    assert validation.differences(a, a) == []


def test_csv_cells_cannot_start_a_formula() -> None:
    assert excel_csv.safe("=HYPERLINK(1)") == "'=HYPERLINK(1)"
    assert excel_csv.safe("Jan") == "Jan"


@pytest.mark.parametrize(("now", "expected"), [
    (datetime(2026, 11, 18, 1, 0, tzinfo=UTC), 5400.0),
    (datetime(2026, 11, 18, 2, 30, tzinfo=UTC), 86400.0),  # exactly at the hour: the next day
    (datetime(2026, 11, 18, 23, 30, tzinfo=UTC), 10800.0),
])  # fmt: skip
def test_daily_retention_waits_for_the_next_half_past_two(now: datetime, expected: float) -> None:
    from backend.privacy.retention import DAILY_AT, seconds_until

    assert seconds_until(now, DAILY_AT) == expected
