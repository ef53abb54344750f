"""Escalation of a safety alert nobody acknowledged, and the check-in timer: pure rules, no I/O.

An open safety alert (noodknop, assistance, man-down, missed check-in) that no operator acknowledged within
the organisation's `escalate_after_s` escalates to level 1, then one level more every `repeat_after_s`.
Each step is pushed to the consoles again and a `colleague_alarm` goes to the duo partner's other devices and
to the tablets of the nearest units (by live position). On acknowledgement those who were told hear it is
resolved.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Annotated

import msgspec

from shared.geo import distance_m
from shared.protocol import AlertView, ColleagueAlarm, UnitStatus

MAX_CHECKIN_AHEAD = timedelta(hours=12)


class AlarmSettings(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """How an organisation escalates (the body of `PUT /api/organisations/{org_id}/alarm-settings`)."""

    escalate_after_s: Annotated[int, msgspec.Meta(ge=5, le=600)] = 20
    repeat_after_s: Annotated[int, msgspec.Meta(ge=10, le=3600)] = 60
    notify_partner: bool = True  # the duo partner's other devices of the same unit
    nearest_units: Annotated[int, msgspec.Meta(ge=0, le=20)] = 3  # this many nearest units' tablets
    notify_teamlead: bool = True  # consoles of team lead accounts hear the escalation too


DEFAULT_SETTINGS = AlarmSettings()


def due_level(since: datetime, now: datetime, settings: AlarmSettings) -> int:
    """The escalation level an alert raised at `since` should have now (0: not yet)."""
    elapsed = (now - since).total_seconds()
    if elapsed < settings.escalate_after_s:
        return 0
    return 1 + int((elapsed - settings.escalate_after_s) // settings.repeat_after_s)


@dataclass(slots=True)
class Escalating:
    """A safety alert the hub watches until it is acknowledged."""

    view: AlertView
    device_id: int | None  # the device that raised it (not told as a colleague)
    since: datetime  # server time it became known: the escalation clock
    # every device sent a colleague_alarm -> its unit
    told: dict[int, int] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class UnitPlace:
    """What the nearest-unit search needs of a unit."""

    unit_id: int
    org_id: int
    call_sign: str
    status: UnitStatus
    lon: float | None
    lat: float | None
    live_at: datetime | None


@dataclass(frozen=True, slots=True)
class Recipient:
    unit_id: int
    call_sign: str
    reason: str  # "partner" or "nearby"
    distance_m: float | None


def recipients(
    alert: AlertView,
    origin: tuple[float, float] | None,
    units: Iterable[UnitPlace],
    settings: AlarmSettings,
    now: datetime,
    max_age_s: float,
) -> list[Recipient]:
    """Who hears an escalation: the alert's own unit (its partner's devices) and the nearest units of the
    same organisation on duty with a current live position, nearest first."""
    found: list[Recipient] = []
    # a silent noodknop is not sounded on the partner's tablet: he is at the scene, and it would give it away
    if settings.notify_partner and alert.unit_id is not None and not alert.silent:
        found.append(Recipient(alert.unit_id, alert.call_sign or "", "partner", None))
    if origin is None or settings.nearest_units == 0:
        return found
    near: list[tuple[float, UnitPlace]] = []
    for unit in units:
        if (
            unit.unit_id == alert.unit_id
            or unit.org_id != alert.org_id
            or unit.status == UnitStatus.OFF_DUTY
            or unit.lon is None
            or unit.lat is None
            or unit.live_at is None
            or (now - unit.live_at).total_seconds() > max_age_s
        ):
            continue
        near.append((distance_m(origin[0], origin[1], unit.lon, unit.lat), unit))
    near.sort(key=lambda pair: (pair[0], pair[1].unit_id))
    found += [Recipient(u.unit_id, u.call_sign, "nearby", d) for d, u in near[: settings.nearest_units]]
    return found


def colleague_alarm(
    alert: AlertView, level: int, distance: float | None, *, resolved: bool = False
) -> ColleagueAlarm:
    return ColleagueAlarm(
        alert_id=alert.alert_id,
        alert_kind=alert.kind,
        call_sign=alert.call_sign or "",
        at=alert.at,
        lon=alert.lon,
        lat=alert.lat,
        distance_m=None if distance is None else round(distance, 1),
        escalation_level=level,
        resolved=resolved,
    )


def checkin_refusal(next_due: datetime | None, now: datetime) -> str | None:
    """Why a check-in's `next_due` cannot be taken (in the past, or more than 12 h ahead), or None."""
    if next_due is None:
        return None
    if next_due <= now:
        return "`next_due` is in the past"
    if next_due - now > MAX_CHECKIN_AHEAD:
        return "`next_due` is more than 12 h ahead"
    return None


@dataclass(slots=True)
class CheckinTimer:
    device_id: int
    org_id: int
    unit_id: int | None
    next_due: datetime
    set_at: datetime  # the `at` of the check-in that set it: an older check-in never moves it
    fired: bool = False


def missed(timers: Iterable[CheckinTimer], now: datetime, grace_s: float) -> list[CheckinTimer]:
    """The timers that ran out (past next_due plus the grace) and have not raised their alert yet."""
    return [t for t in timers if not t.fired and (now - t.next_due).total_seconds() > grace_s]
