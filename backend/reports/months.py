"""Calendar months as the reports take them: ``YYYY-MM`` in, local (Europe/Amsterdam) months out.

Every report that is asked for "a month" parses it here, so a bad or future month is refused the same way
everywhere: a 400 naming the field (``month``), in Dutch.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime

from backend.errors import BadInput
from backend.registrations.validation import LOCAL

_SHAPE = re.compile(r"\d{4}-\d{2}")
FORMAT = "maand als JJJJ-MM, bijvoorbeeld 2026-03"


@dataclass(frozen=True, order=True)
class Month:
    year: int
    month: int

    @property
    def key(self) -> str:
        return f"{self.year:04d}-{self.month:02d}"

    @property
    def start(self) -> datetime:
        """The month's first instant, local time."""
        return datetime(self.year, self.month, 1, tzinfo=LOCAL)

    def shift(self, by: int) -> Month:
        index = self.year * 12 + (self.month - 1) + by
        return Month(index // 12, index % 12 + 1)

    def bounds(self) -> tuple[datetime, datetime]:
        """The local calendar month as a half-open UTC interval."""
        return self.start.astimezone(UTC), self.shift(1).start.astimezone(UTC)


def parse_month(text: str, *, now: datetime | None = None, field: str = "month") -> Month:
    """``YYYY-MM`` → Month (2000–2200); with ``now``, a month that has not begun is refused too."""
    if not _SHAPE.fullmatch(text) or not 1 <= int(text[5:]) <= 12:
        raise BadInput(FORMAT, field=field)
    month = Month(int(text[:4]), int(text[5:]))
    if not 2000 <= month.year <= 2200:
        raise BadInput("maand buiten 2000–2200", field=field)
    if now is not None and month.start > now.astimezone(LOCAL):
        raise BadInput("deze maand is nog niet begonnen", field=field)
    return month
