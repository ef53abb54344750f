"""Pure checks and rules on a submission: dates, age and tariff, legal regime, the aangifte deadline, diffs.

No I/O here: every function takes plain values (the time of the check included) and is tested as such.
Messages a boa sees are Dutch.
"""

from __future__ import annotations

from collections.abc import Container, Iterable
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import msgspec
from holidays import country_holidays

from shared.feitcodes import FeitEntry
from shared.protocol import CLOCK_SKEW, MAX_AGE, check_time_window
from shared.registrations import Aggression, FieldError, Fine, Submission, Waarneming

LOCAL = ZoneInfo("Europe/Amsterdam")
MAX_AGE_OF_SUBMISSION = MAX_AGE  # a tablet offline for weeks still gets its work in
MIN_AGE_FOR_FINE = 12  # strafrechtelijke minderjarigheid: under 12 no punitive sanction
ADULT_AGE = 18
MAX_PERSON_AGE = 120


def normalise(submission: Submission) -> Submission:
    """The submission with its instants in UTC, so "+01:00" and "Z" compare equal on a retry."""
    if submission.occurred_at.tzinfo is None:
        raise FieldError(
            "occurred_at", "tijdstip zonder tijdzone; stuur bijvoorbeeld 2026-11-22T10:15:00+01:00"
        )
    changes: dict[str, object] = {"occurred_at": _utc(submission.occurred_at, "occurred_at")}
    if isinstance(submission, Aggression) and submission.reported_at is not None:
        if submission.reported_at.tzinfo is None:
            raise FieldError("reported_at", "tijdstip zonder tijdzone")
        changes["reported_at"] = _utc(submission.reported_at, "reported_at")
    return msgspec.structs.replace(submission, **changes)


def _utc(at: datetime, field: str) -> datetime:
    try:
        return at.astimezone(UTC)
    except OverflowError as exc:  # year 1 or 9999 with an offset: no such instant can be stored
        raise FieldError(field, "tijdstip buiten bereik") from exc


def check_common(submission: Submission, now: datetime) -> None:
    """Checks every kind shares: the time lies in an acceptable window, photos are listed once."""
    window = check_time_window(submission.occurred_at, now, past=MAX_AGE_OF_SUBMISSION, future=CLOCK_SKEW)
    if window is not None:
        if submission.occurred_at > now:
            raise FieldError("occurred_at", "tijdstip ligt in de toekomst")
        raise FieldError("occurred_at", "tijdstip ligt te ver in het verleden (meer dan 60 dagen)")
    if len(set(submission.photos)) != len(submission.photos):
        raise FieldError("photos", "dezelfde foto staat er twee keer in")


def age_on(birth_date: date, day: date) -> int:
    years = day.year - birth_date.year
    return years - ((day.month, day.day) < (birth_date.month, birth_date.day))


def check_birth_date(birth_date: date, occurred_at: datetime, field: str) -> int:
    """The person's age at the time of the offence; errors for impossible dates."""
    day = occurred_at.astimezone(LOCAL).date()
    if birth_date > day:
        raise FieldError(field, "geboortedatum ligt in de toekomst")
    age = age_on(birth_date, day)
    if age > MAX_PERSON_AGE:
        raise FieldError(field, f"geboortedatum ligt meer dan {MAX_PERSON_AGE} jaar terug")
    return age


def default_regime(submission: Submission) -> str:
    """A fine is investigation (opsporing, Wpg art. 8: the daily task); the rest is supervision (AVG)."""
    if submission.regime is not None:
        return submission.regime
    return "wpg8" if isinstance(submission, Fine) else "avg"


def check_regime(submission: Submission) -> str:
    regime = default_regime(submission)
    if isinstance(submission, Fine) and regime == "avg":
        raise FieldError("regime", "een boete is opsporing: kies wpg8 of wpg9")
    if regime == "wpg9" and not (submission.purpose or "").strip():
        raise FieldError("purpose", "bij Wpg art. 9 hoort het doel van het onderzoek")
    return regime


class Tariff(msgspec.Struct, frozen=True, kw_only=True):
    amount_eur: int | None
    basis: str  # which key of the catalogue entry applied, or why there is no amount
    minor: bool


def check_fine(fine: Fine, entry: FeitEntry) -> Tariff:
    """The offender's age rules and the tariff that applies (adult/minor, Mulder vehicle category)."""
    age = check_birth_date(fine.offender.birth_date, fine.occurred_at, "offender.birth_date")
    if age < MIN_AGE_FOR_FINE:
        raise FieldError("offender.birth_date", "onder de 12 jaar: geen boete mogelijk (Halt of melding)")
    minor = age < ADULT_AGE
    amounts = entry.amounts_eur
    if entry.amount_scheme == "none" or not amounts:
        return Tariff(amount_eur=None, basis="tarief niet in de catalogus", minor=minor)
    if entry.amount_scheme == "person":
        if minor and "minor" in amounts:
            return Tariff(amount_eur=amounts["minor"], basis="minor", minor=True)
        key = "adult" if "adult" in amounts else next(iter(amounts))
        return Tariff(amount_eur=amounts[key], basis=key, minor=minor)
    if fine.vehicle_category is None:
        if len(amounts) == 1:
            (key,) = amounts
            return Tariff(amount_eur=amounts[key], basis=key, minor=minor)
        raise FieldError("vehicle_category", "voertuigcategorie ontbreekt (1–8) voor dit feit")
    if fine.vehicle_category not in amounts:
        raise FieldError("vehicle_category", "geen tarief voor deze voertuigcategorie bij dit feit")
    return Tariff(amount_eur=amounts[fine.vehicle_category], basis=fine.vehicle_category, minor=minor)


def check_aggression(incident: Aggression) -> None:
    if incident.offender is not None and incident.offender.birth_date is not None:
        check_birth_date(incident.offender.birth_date, incident.occurred_at, "offender.birth_date")
    for index, witness in enumerate(incident.witnesses):
        if witness.birth_date is not None:
            check_birth_date(witness.birth_date, incident.occurred_at, f"witnesses.{index}.birth_date")
    if incident.report == "geen" and incident.reported_at is not None:
        raise FieldError("reported_at", "tijdstip van melding/aangifte zonder melding of aangifte")
    if incident.reported_at is not None and incident.reported_at < incident.occurred_at:
        raise FieldError("reported_at", "melding/aangifte ligt voor het incident")


def check_category(waarneming: Waarneming, allowed: Iterable[str]) -> None:
    if waarneming.category not in set(allowed):
        raise FieldError("category", f"onbekende categorie {waarneming.category!r}")


# --- aggression: the aangifte deadline -----------------------------------------------------------------


class _TermijnenwetHolidays:
    """The "algemeen erkende feestdagen" of the Algemene termijnenwet (art. 3): Nieuwjaarsdag, Easter and Whit
    Monday, Hemelvaartsdag, both Christmas days, Koningsdag and 5 May in every year. Good Friday is a public
    holiday to the `holidays` package but not to the law, so it counts as a working day here."""

    def __init__(self) -> None:
        self._calendar = country_holidays("NL")

    def __contains__(self, day: object) -> bool:
        if not isinstance(day, date):
            return False
        if (day.month, day.day) == (5, 5):
            return True
        name = self._calendar.get(day)
        return name is not None and "Goede Vrijdag" not in name and "Good Friday" not in name


NL_HOLIDAYS: Container[date] = _TermijnenwetHolidays()


def add_working_days(day: date, days: int, holidays: Container[date] = frozenset()) -> date:
    """The date ``days`` working days after ``day`` (weekends and ``holidays`` skipped)."""
    current = day
    left = days
    while left > 0:
        current += timedelta(days=1)
        if current.weekday() < 5 and current not in holidays:
            left -= 1
    return current


def aangifte_deadline(occurred_at: datetime, holidays: Container[date] = NL_HOLIDAYS) -> datetime:
    """End of the second working day after the incident (local time; weekends and Dutch public holidays
    skipped), as an aware datetime in UTC."""
    day = add_working_days(occurred_at.astimezone(LOCAL).date(), 2, holidays)
    return datetime.combine(day, time(23, 59, 59), LOCAL).astimezone(UTC)


class DeadlineStatus(msgspec.Struct, frozen=True, kw_only=True):
    deadline: datetime
    reported: bool
    overdue: bool
    reminder: str


VPT_REMINDER = (
    "Doe aangifte binnen twee werkdagen, met het adres van de werkgever als domicilie, en vraag de politie "
    "de VPT-code (Veilige Publieke Taak) op het proces-verbaal te zetten."
)


def deadline_status(incident: Aggression, now: datetime) -> DeadlineStatus:
    deadline = aangifte_deadline(incident.occurred_at)
    reported = incident.report == "aangifte"
    reminder = VPT_REMINDER
    if reported and not incident.vpt_code_used:
        reminder = "Aangifte gedaan zonder VPT-code: vraag de politie die alsnog toe te voegen."
    elif reported:
        reminder = ""
    return DeadlineStatus(
        deadline=deadline, reported=reported, overdue=not reported and now > deadline, reminder=reminder
    )


# --- idempotency: what differs between two submissions with the same id --------------------------------


def differences(stored: object, offered: object, path: str = "") -> list[str]:
    """Dotted paths where two JSON values differ (sorted), so a 409 can show the conflict."""
    if isinstance(stored, dict) and isinstance(offered, dict):
        found: list[str] = []
        for key in sorted(set(stored) | set(offered)):
            sub = f"{path}.{key}" if path else str(key)
            if key not in stored or key not in offered:
                found.append(sub)
            else:
                found.extend(differences(stored[key], offered[key], sub))
        return found
    if isinstance(stored, list) and isinstance(offered, list) and len(stored) == len(offered):
        found = []
        for index, (a, b) in enumerate(zip(stored, offered, strict=True)):
            found.extend(differences(a, b, f"{path}.{index}" if path else str(index)))
        return found
    return [] if stored == offered else [path or "body"]
