"""Rapportage per gebied: the gemeente's figures per beat and month, computed from plain values.

The SQL that gathers the raw rows lives in ``backend/reports/repository.py``; everything here is pure and
unit-tested (``tests/unit/test_area_report.py``). The definitions are in ``docs/reports.md``:

* meldingen per category: incidents created in the month, by the beat the melding lies in;
* enforcement per feitcode group: warnings (a waarneming that names a feitcode) against fines, split into
  PV (OM-strafbeschikking), BSB (bestuurlijke boete) and Mulder (WAHV), grouped by the catalogue category;
* aggression incidents and police assists (assistance requests from a tablet);
* street hours: boa-hours on shift with positions inside the beat (see :func:`street_seconds`);
* response time melding → ter plaatse: from the melding's creation to the first unit on scene, median and
  p90 (nearest rank) per priority;
* SLA: meldingen with a partner's deadline (Signalen's category deadline) and how many of them were closed
  after it, or are still open past it.
"""

from __future__ import annotations

import math
import statistics
from collections import defaultdict
from collections.abc import Iterable, Sequence
from datetime import datetime

import msgspec

from backend.registrations.validation import LOCAL
from backend.reports.months import parse_month

STREET_GAP_S = 300.0
"""A position sample counts until the unit's next sample, but for at most five minutes (a lost signal or a
tablet in a pocket is not five hours on the street)."""
TREND_MONTHS = 12
PRIORITIES = (1, 2, 3)
OUTCOMES = ("waarschuwing", "pv", "bsb", "mulder")
OUTCOME_LABELS = {"waarschuwing": "Waarschuwing", "pv": "PV (OM)", "bsb": "BSB", "mulder": "Mulder"}
OUTSIDE = "buiten de gebieden"
TIMEZONE: str = LOCAL.key  # months are local calendar months


class ResponseTimes(msgspec.Struct, frozen=True, kw_only=True):
    count: int
    median_s: float | None
    p90_s: float | None


class BeatFigures(msgspec.Struct, frozen=True, kw_only=True):
    beat_id: int | None  # None: the total of the gemeente; 0: outside every beat
    code: str
    name: str
    meldingen: dict[str, int]  # category -> count
    meldingen_total: int
    enforcement: dict[str, dict[str, int]]  # feitcode group -> outcome (OUTCOMES) -> count
    warnings: int
    pv: int
    bsb: int
    mulder: int
    aggression: int
    police_assists: int
    street_hours: float
    response: dict[str, ResponseTimes]  # priority ("1", "2", "3") -> times
    sla_total: int = 0  # meldingen with a deadline (Signalen)
    sla_breached: int = 0  # of those: closed after the deadline, or still open past it

    @property
    def fines(self) -> int:
        return self.pv + self.bsb + self.mulder


class TrendPoint(msgspec.Struct, frozen=True, kw_only=True):
    month: str
    meldingen: int
    warnings: int
    fines: int
    aggression: int
    police_assists: int
    street_hours: float
    response_p1_median_s: float | None


class AreaReport(msgspec.Struct, frozen=True, kw_only=True):
    month: str
    org_name: str
    generated_at: datetime
    empty: bool  # nothing at all happened in the month: the page says "geen gegevens"
    beats: list[BeatFigures]
    total: BeatFigures
    trend: list[TrendPoint]


# --- months -------------------------------------------------------------------------------------------------


def month_start(month: str) -> datetime:
    """The first instant of `month` (YYYY-MM) in local time; a bad text is a 400 naming ``month``."""
    return parse_month(month).start


def month_range(month: str, now: datetime) -> tuple[datetime, datetime]:
    """UTC bounds [since, until) of a month that has begun; a future month is a 400 naming ``month``."""
    return parse_month(month, now=now).bounds()


def trend_months(month: str, count: int = TREND_MONTHS) -> list[str]:
    """The `count` months ending with `month`, oldest first."""
    last = parse_month(month)
    return [last.shift(-i).key for i in range(count - 1, -1, -1)]


def month_of(at: datetime) -> str:
    return at.astimezone(LOCAL).strftime("%Y-%m")


# --- figures ------------------------------------------------------------------------------------------------


def percentile(values: Sequence[float], q: float) -> float | None:
    """Nearest-rank percentile (the smallest value with at least q % of the values at or below it)."""
    if not values:
        return None
    ordered = sorted(values)
    rank = max(1, math.ceil(q / 100 * len(ordered)))
    return ordered[rank - 1]


def response_times(seconds: Iterable[float]) -> ResponseTimes:
    values = list(seconds)
    if not values:
        return ResponseTimes(count=0, median_s=None, p90_s=None)
    return ResponseTimes(
        count=len(values), median_s=float(statistics.median(values)), p90_s=percentile(values, 90)
    )


def beat_seconds(weights: Sequence[float], beats_of: Sequence[frozenset[int]]) -> dict[int, float]:
    """Boa-seconds per beat: each sample's weight goes to every beat that contains it (0: outside them all).

    A sample's weight (the SQL computes it, ``repository.STREET_SAMPLES``) is the time to the unit's next
    sample in the same shift, at most STREET_GAP_S, times the boa's on the shift; a shift's last sample
    weighs nothing.
    """
    out: dict[int, float] = defaultdict(float)
    for weight, beats in zip(weights, beats_of, strict=True):
        if weight <= 0:
            continue
        for beat in beats or (0,):
            out[beat] += weight
    return dict(out)


class Counts(msgspec.Struct, kw_only=True):
    """What the SQL gathered for one beat (or the total) in one month."""

    meldingen: dict[str, int] = {}
    enforcement: dict[str, dict[str, int]] = {}
    aggression: int = 0
    police_assists: int = 0
    street_s: float = 0.0
    response: dict[int, list[float]] = {}
    sla_total: int = 0
    sla_breached: int = 0


def figures(beat_id: int | None, code: str, name: str, counts: Counts) -> BeatFigures:
    per_outcome = {o: sum(groups.get(o, 0) for groups in counts.enforcement.values()) for o in OUTCOMES}
    return BeatFigures(
        beat_id=beat_id,
        code=code,
        name=name,
        meldingen=dict(sorted(counts.meldingen.items())),
        meldingen_total=sum(counts.meldingen.values()),
        enforcement={g: dict(v) for g, v in sorted(counts.enforcement.items())},
        warnings=per_outcome["waarschuwing"],
        pv=per_outcome["pv"],
        bsb=per_outcome["bsb"],
        mulder=per_outcome["mulder"],
        aggression=counts.aggression,
        police_assists=counts.police_assists,
        street_hours=round(counts.street_s / 3600, 1),
        response={str(p): response_times(counts.response.get(p, [])) for p in PRIORITIES},
        sla_total=counts.sla_total,
        sla_breached=counts.sla_breached,
    )


def has_data(f: BeatFigures) -> bool:
    return bool(
        f.meldingen_total or f.warnings or f.fines or f.aggression or f.police_assists or f.street_hours
    )


def trend_point(month: str, f: BeatFigures) -> TrendPoint:
    return TrendPoint(
        month=month,
        meldingen=f.meldingen_total,
        warnings=f.warnings,
        fines=f.fines,
        aggression=f.aggression,
        police_assists=f.police_assists,
        street_hours=f.street_hours,
        response_p1_median_s=f.response["1"].median_s,
    )


def minutes(seconds: float | None) -> str:
    """A response time as people read it: ``7:05`` (minutes:seconds), ``–`` when there is none."""
    if seconds is None:
        return "–"
    whole = round(seconds)
    return f"{whole // 60}:{whole % 60:02d}"
