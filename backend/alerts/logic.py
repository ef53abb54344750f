"""Alert rules without I/O: which field frames raise an alert, which alerts skip the tick, and what a tablet
is told when an operator has seen its noodknop.

Alerts are raised in two places: the writer stores the safety alerts a tablet sends (noodknop, assistance),
and the operator tick raises the ones the live picture finds (outside the assigned beat, position stale,
partners apart). Both end up as an `AlertView` for the operators.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import msgspec

from shared.protocol import (
    SAFETY_ALERTS,
    AlertAcknowledged,
    AlertKind,
    AlertView,
    AssistanceRequested,
    ManDown,
    NoodknopPressed,
    SequencedFrame,
    encoder,
)

SEEN_RESEND = timedelta(hours=1)
"""How long a tablet that was away when its alert was acknowledged still hears it on reconnect."""


class FieldAlert(msgspec.Struct, frozen=True, kw_only=True):
    """What a safety frame from a tablet raises, before it is stored."""

    kind: AlertKind
    text: str
    silent: bool = False


class StoredAlert(msgspec.Struct, frozen=True, kw_only=True):
    """A safety alert the writer stored with the frame that raised it (in the same transaction)."""

    alert_id: int
    org_id: int
    unit_id: int | None
    kind: str
    at: datetime
    lon: float | None
    lat: float | None
    text: str
    silent: bool = False
    device_id: int | None = None  # the device that raised it


class NewAlert(msgspec.Struct, frozen=True, kw_only=True):
    """An alert the live picture raised for a unit, before it has an id."""

    org_id: int
    unit_id: int
    call_sign: str
    kind: AlertKind
    at: datetime
    lon: float | None
    lat: float | None

    def payload(self) -> dict[str, Any]:
        return {"lon": self.lon, "lat": self.lat}

    def view(self, alert_id: int) -> AlertView:
        return AlertView(
            alert_id=alert_id,
            kind=self.kind,
            org_id=self.org_id,
            unit_id=self.unit_id,
            call_sign=self.call_sign,
            at=self.at,
            lon=self.lon,
            lat=self.lat,
        )


def field_alert(frame: SequencedFrame) -> FieldAlert | None:
    """The alert a frame from the field raises: the noodknop and a request for assistance (with its text)."""
    if isinstance(frame, NoodknopPressed):
        return FieldAlert(kind=AlertKind.NOODKNOP, text="", silent=frame.silent)
    if isinstance(frame, AssistanceRequested):
        return FieldAlert(kind=AlertKind.ASSISTANCE, text=frame.text)
    if isinstance(frame, ManDown):  # travels like a noodknop; the text says what the tablet saw
        return FieldAlert(kind=AlertKind.MAN_DOWN, text=frame.trigger.value)
    return None


RAISING_FRAMES = (NoodknopPressed, AssistanceRequested, ManDown)
"""The field frames that raise a safety alert: the writer flushes them at once."""


def stored_view(alert: StoredAlert, call_sign: str | None) -> AlertView:
    return AlertView(
        alert_id=alert.alert_id,
        kind=AlertKind(alert.kind),
        org_id=alert.org_id,
        unit_id=alert.unit_id,
        call_sign=call_sign,
        at=alert.at,
        lon=alert.lon,
        lat=alert.lat,
        text=alert.text,
        silent=alert.silent,
    )


def sets_emergency(alert: StoredAlert) -> bool:
    """A noodknop or man-down puts its unit in the emergency status at once (the tablet's status frame may
    come later)."""
    return alert.unit_id is not None and AlertKind(alert.kind) in (AlertKind.NOODKNOP, AlertKind.MAN_DOWN)


def is_urgent(view: AlertView) -> bool:
    """An open safety alert goes to operators at once; everything else rides with the next tick."""
    return view.kind in SAFETY_ALERTS and view.acknowledged_at is None


def seen_frame(view: AlertView) -> bytes | None:
    """The `alert_ack` frame that tells the tablet(s) an operator has its safety alert on screen, or None
    when there is nothing to tell (not a safety alert, or not acknowledged)."""
    if view.kind not in SAFETY_ALERTS or view.acknowledged_at is None:
        return None
    return encoder.encode(
        AlertAcknowledged(
            alert_id=view.alert_id,
            alert_kind=view.kind,
            raised_at=view.at,
            by=view.acknowledged_by or "",
            at=view.acknowledged_at,
        )
    )
