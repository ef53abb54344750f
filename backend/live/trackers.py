"""Standard trackers (OsmAnd) on the live path: their fixes become numbered position frames.

A tracker has no sequence numbers and no outbox: it repeats a fix it got no answer for, and sends what it
buffered when it comes back. So the server numbers the fixes itself, drops an exact repeat, and marks a fix
that is older than the newest one taken (or more than LATE_AFTER_S old) as late: history, not news.
"""

from __future__ import annotations

from datetime import datetime

from backend.live.osmand import TrackerReport
from shared.protocol import PositionReported

LATE_AFTER_S = 300


class TrackerFixes:
    """The newest fix time per tracker (memory only)."""

    def __init__(self) -> None:
        self._last_at: dict[int, datetime] = {}

    def position(
        self, device_id: int, seq: int, report: TrackerReport, now: datetime
    ) -> PositionReported | None:
        """The frame for this fix, numbered seq; None when it repeats the newest fix of this tracker."""
        last_at = self._last_at.get(device_id)
        if last_at is not None and report.at == last_at:
            return None
        older = last_at is not None and report.at < last_at
        late = older or (now - report.at).total_seconds() > LATE_AFTER_S
        self._last_at[device_id] = max(report.at, last_at or report.at)
        return PositionReported(
            seq=seq,
            lon=report.lon,
            lat=report.lat,
            at=report.at,
            accuracy_m=report.accuracy_m,
            speed_mps=report.speed_mps,
            heading_deg=report.heading_deg,
            late=late,
        )
