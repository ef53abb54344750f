"""What the team lead's "Vandaag" needs to decide (pure): the day's window and which aangiftes need action."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta
from typing import Literal

from backend.registrations.validation import LOCAL, VPT_REMINDER, aangifte_deadline

NEAR = timedelta(hours=24)  # a deadline this close is "near": the aangifte must be planned today
LOOK_BACK = timedelta(days=14)  # older unreported incidents are the registrations page's business

Urgency = Literal["overdue", "near", "open", "no_vpt"]


def day_window(now: datetime) -> tuple[datetime, datetime]:
    """Today in the gemeente's time (Europe/Amsterdam), as UTC bounds [start, end)."""
    local = now.astimezone(LOCAL).date()
    start = datetime.combine(local, time(0), LOCAL)
    end = datetime.combine(local + timedelta(days=1), time(0), LOCAL)
    return start.astimezone(UTC), end.astimezone(UTC)


def aangifte_urgency(
    occurred_at: datetime, report: str, vpt_code_used: bool, now: datetime
) -> Urgency | None:
    """Why an aggression incident is on the list, or None when nothing is left to do.

    Not reported with an aangifte: overdue after the deadline (end of the second working day), near within
    ``NEAR`` of it, otherwise open. Reported without the VPT code: the police should still add it."""
    if report == "aangifte":
        return None if vpt_code_used else "no_vpt"
    deadline = aangifte_deadline(occurred_at)
    if now > deadline:
        return "overdue"
    return "near" if deadline - now <= NEAR else "open"


def reminder(urgency: Urgency) -> str:
    if urgency == "no_vpt":
        return "Aangifte gedaan zonder VPT-code: vraag de politie die alsnog toe te voegen."
    if urgency == "overdue":
        return OVERDUE_REMINDER
    return VPT_REMINDER


OVERDUE_REMINDER = (
    "De termijn van twee werkdagen is verstreken: doe alsnog aangifte, met het adres van de werkgever als "
    "domicilie, en vraag de politie de VPT-code (Veilige Publieke Taak) op het proces-verbaal te zetten."
)
