"""How fast safety alarms were acknowledged, against BS 8484 — pure: no I/O, no clock of its own.

BS 8484 (lone-worker devices and their alarm-receiving centre) asks that 80 % of alarms are acknowledged
within 10 s and 98.5 % within 40 s. An alarm nobody acknowledged counts as missing both. The time of an
alarm is ``alerts.at`` (when the tablet raised it), its acknowledgement ``alerts.acknowledged_at`` (the
first operator's). Months are calendar months in local time (Europe/Amsterdam).
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from datetime import datetime
from zoneinfo import ZoneInfo

import msgspec

from backend.reports import excel_csv
from backend.reports.months import Month

LOCAL = ZoneInfo("Europe/Amsterdam")
WITHIN_FAST_S = 10.0
WITHIN_SLOW_S = 40.0
TARGET_FAST_PCT = 80.0
TARGET_SLOW_PCT = 98.5
ROLLING_MONTHS = 12

KIND_LABELS = {
    "noodknop": "Noodknop",
    "assistance": "Assistentieverzoek",
    "man_down": "Man-down",
    "checkin_missed": "Check-in gemist",
}


class Alarm(msgspec.Struct, frozen=True, kw_only=True):
    alert_id: int
    kind: str
    call_sign: str | None
    at: datetime
    acknowledged_at: datetime | None
    acknowledged_by: str | None

    @property
    def ack_s(self) -> float | None:
        if self.acknowledged_at is None:
            return None
        return max(0.0, (self.acknowledged_at - self.at).total_seconds())


class Figures(msgspec.Struct, frozen=True, kw_only=True):
    """One period (and optionally one kind): the counts, the shares within 10 s and 40 s, the verdict."""

    count: int
    acknowledged: int
    unacknowledged: int
    within_10s: int
    within_40s: int
    within_10s_pct: float | None  # None: no alarms, nothing to judge
    within_40s_pct: float | None
    median_s: float | None  # of the acknowledged alarms
    p90_s: float | None
    met_10s: bool | None
    met_40s: bool | None
    met: bool | None  # both


class KindFigures(msgspec.Struct, frozen=True, kw_only=True):
    kind: str
    label: str
    figures: Figures


class MonthFigures(msgspec.Struct, frozen=True, kw_only=True):
    month: str  # YYYY-MM
    figures: Figures


class MissedAlarm(msgspec.Struct, frozen=True, kw_only=True):
    """An alarm not acknowledged within 10 s: who, what, when (local), how late, by whom."""

    alert_id: int
    call_sign: str | None
    kind: str
    label: str
    at: datetime
    at_local: str  # dd-mm-jjjj hh:mm:ss
    ack_s: float | None
    ack_text: str  # "12,3 s" or "niet bevestigd"
    acknowledged_by: str | None


class Standard(msgspec.Struct, frozen=True, kw_only=True):
    name: str = "BS 8484"
    within_10s_pct: float = TARGET_FAST_PCT
    within_40s_pct: float = TARGET_SLOW_PCT


class Report(msgspec.Struct, frozen=True, kw_only=True):
    month: str
    timezone: str
    standard: Standard
    figures: Figures  # the month
    by_kind: list[KindFigures]
    rolling_from: str  # first month of the rolling window
    rolling: Figures  # the 12 months ending with `month`
    rolling_by_kind: list[KindFigures]
    months: list[MonthFigures]  # the 12 months, oldest first (the bar chart)
    missed: list[MissedAlarm]  # this month, oldest first


def percentile(values: Sequence[float], q: float) -> float | None:
    """Linearly interpolated percentile (q in 0..100) of unsorted values; None when there are none.

    Between the two nearest ranks, as spreadsheets compute it: the median of 4 s and 6 s is 5 s.
    """
    if not values:
        return None
    if not 0.0 <= q <= 100.0:
        raise ValueError("q must lie in 0..100")
    ordered = sorted(values)
    pos = (len(ordered) - 1) * q / 100.0
    lo = math.floor(pos)
    hi = min(lo + 1, len(ordered) - 1)
    frac = pos - lo
    return float(ordered[lo] + (ordered[hi] - ordered[lo]) * frac)


def _pct(part: int, whole: int) -> float | None:
    return None if whole == 0 else round(100.0 * part / whole, 1)


def figures(alarms: Iterable[Alarm]) -> Figures:
    """The figures of a set of alarms; an unacknowledged alarm misses both limits."""
    items = list(alarms)
    times = [t for t in (a.ack_s for a in items) if t is not None]
    fast = sum(1 for t in times if t <= WITHIN_FAST_S)
    slow = sum(1 for t in times if t <= WITHIN_SLOW_S)
    count = len(items)
    # the verdict on exact shares, the shown percentages are rounded
    met_fast = None if count == 0 else 100.0 * fast >= TARGET_FAST_PCT * count
    met_slow = None if count == 0 else 100.0 * slow >= TARGET_SLOW_PCT * count
    median, p90 = percentile(times, 50), percentile(times, 90)
    return Figures(
        count=count,
        acknowledged=len(times),
        unacknowledged=count - len(times),
        within_10s=fast,
        within_40s=slow,
        within_10s_pct=_pct(fast, count),
        within_40s_pct=_pct(slow, count),
        median_s=None if median is None else round(median, 1),
        p90_s=None if p90 is None else round(p90, 1),
        met_10s=met_fast,
        met_40s=met_slow,
        met=None if count == 0 else bool(met_fast and met_slow),
    )


def by_kind(alarms: Iterable[Alarm]) -> list[KindFigures]:
    """Figures per kind, in the order of KIND_LABELS (kinds without alarms left out)."""
    groups: dict[str, list[Alarm]] = {}
    for a in alarms:
        groups.setdefault(a.kind, []).append(a)
    order = {k: i for i, k in enumerate(KIND_LABELS)}
    return [
        KindFigures(kind=k, label=KIND_LABELS.get(k, k), figures=figures(groups[k]))
        for k in sorted(groups, key=lambda k: (order.get(k, len(order)), k))
    ]


def month_bounds(year: int, month: int) -> tuple[datetime, datetime]:
    """The local calendar month as a half-open UTC interval."""
    return Month(year, month).bounds()


def rolling_bounds(year: int, month: int) -> tuple[datetime, datetime]:
    """The 12 local months ending with (year, month), as a half-open UTC interval."""
    return Month(year, month).shift(1 - ROLLING_MONTHS).bounds()[0], Month(year, month).bounds()[1]


def local_text(at: datetime) -> str:
    return at.astimezone(LOCAL).strftime("%d-%m-%Y %H:%M:%S")


def seconds_text(seconds: float | None) -> str:
    if seconds is None:
        return "niet bevestigd"
    return f"{seconds:.1f}".replace(".", ",") + " s"


def missed(alarms: Iterable[Alarm]) -> list[MissedAlarm]:
    """The alarms not acknowledged within 10 s, oldest first."""
    out = []
    for a in sorted(alarms, key=lambda a: (a.at, a.alert_id)):
        t = a.ack_s
        if t is not None and t <= WITHIN_FAST_S:
            continue
        out.append(
            MissedAlarm(
                alert_id=a.alert_id,
                call_sign=a.call_sign,
                kind=a.kind,
                label=KIND_LABELS.get(a.kind, a.kind),
                at=a.at,
                at_local=local_text(a.at),
                ack_s=None if t is None else round(t, 1),
                ack_text=seconds_text(t),
                acknowledged_by=a.acknowledged_by,
            )
        )
    return out


def _local_month(at: datetime) -> str:
    local = at.astimezone(LOCAL)
    return Month(local.year, local.month).key


def report(year: int, month: int, alarms: Iterable[Alarm]) -> Report:
    """The whole report for (year, month) from the alarms of the 12 months ending with it."""
    items = list(alarms)
    key = Month(year, month).key
    keys = [Month(year, month).shift(-i).key for i in range(ROLLING_MONTHS - 1, -1, -1)]
    per_month: dict[str, list[Alarm]] = {k: [] for k in keys}
    for a in items:
        k = _local_month(a.at)
        if k in per_month:
            per_month[k].append(a)
    rolling = [a for k in keys for a in per_month[k]]
    this = per_month[key]
    return Report(
        month=key,
        timezone="Europe/Amsterdam",
        standard=Standard(),
        figures=figures(this),
        by_kind=by_kind(this),
        rolling_from=keys[0],
        rolling=figures(rolling),
        rolling_by_kind=by_kind(rolling),
        months=[MonthFigures(month=k, figures=figures(per_month[k])) for k in keys],
        missed=missed(this),
    )


CSV_HEADER = (
    "Eenheid", "Soort", "Tijdstip (lokale tijd)", "Bevestigd na (s)", "Binnen 10 s", "Binnen 40 s",
    "Bevestigd door",
)  # fmt: skip


def csv_document(alarms: Iterable[Alarm]) -> str:
    """Every safety alarm of the month, oldest first: semicolons, decimal commas, local time, UTF-8 BOM."""
    rows: list[Sequence[str]] = [CSV_HEADER]
    for a in sorted(alarms, key=lambda a: (a.at, a.alert_id)):
        t = a.ack_s
        row = [
            a.call_sign or "",
            KIND_LABELS.get(a.kind, a.kind),
            local_text(a.at),
            "niet bevestigd" if t is None else f"{t:.1f}".replace(".", ","),
            "ja" if t is not None and t <= WITHIN_FAST_S else "nee",
            "ja" if t is not None and t <= WITHIN_SLOW_S else "nee",
            a.acknowledged_by or "",
        ]
        rows.append(row)
    return excel_csv.document(rows)
