"""Alert rules: which frames raise one, which go to operators at once, and what a tablet hears when an
operator has seen its noodknop (what it is owed when it was away at the time is read from the database:
tests/integration/test_cluster_seen.py)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from backend.alerts.logic import (
    FieldAlert,
    StoredAlert,
    field_alert,
    is_urgent,
    seen_frame,
    sets_emergency,
    stored_view,
)
from shared.protocol import (
    AlertAcknowledged,
    AlertKind,
    AlertView,
    AssistanceRequested,
    NoodknopPressed,
    PositionReported,
    StatusChanged,
    UnitStatus,
    server_decoder,
)

T0 = datetime(2024, 5, 1, 12, 0, tzinfo=UTC)


def _view(kind: AlertKind, *, acknowledged: bool, unit_id: int | None = 4) -> AlertView:
    return AlertView(
        alert_id=9,
        kind=kind,
        org_id=1,
        unit_id=unit_id,
        call_sign="A-01",
        at=T0,
        acknowledged_at=T0 + timedelta(seconds=20) if acknowledged else None,
        acknowledged_by="Meldkamer Noord" if acknowledged else None,
    )


def test_noodknop_and_assistance_raise_alerts_other_frames_do_not() -> None:
    assert field_alert(NoodknopPressed(seq=1, at=T0)) == FieldAlert(kind=AlertKind.NOODKNOP, text="")
    assert field_alert(AssistanceRequested(seq=2, at=T0, text="Agressie")) == FieldAlert(
        kind=AlertKind.ASSISTANCE, text="Agressie"
    )
    assert field_alert(PositionReported(seq=3, lon=4.9, lat=52.37, at=T0)) is None
    assert field_alert(StatusChanged(seq=4, status=UnitStatus.EMERGENCY, at=T0)) is None


@pytest.mark.parametrize(
    ("kind", "acknowledged", "urgent"),
    [
        (AlertKind.NOODKNOP, False, True),
        (AlertKind.ASSISTANCE, False, True),
        (AlertKind.NOODKNOP, True, False),  # the acknowledgement rides with the delta
        (AlertKind.POSITION_STALE, False, False),
        (AlertKind.PARTNERS_APART, False, False),
        (AlertKind.OUTSIDE_ASSIGNED_BEAT, False, False),
    ],
)
def test_only_open_safety_alerts_skip_the_tick(kind: AlertKind, acknowledged: bool, urgent: bool) -> None:
    assert is_urgent(_view(kind, acknowledged=acknowledged)) is urgent


def test_a_noodknop_of_a_unit_sets_it_to_emergency() -> None:
    def stored(kind: str, unit_id: int | None) -> StoredAlert:
        return StoredAlert(
            alert_id=1, org_id=1, unit_id=unit_id, kind=kind, at=T0, lon=None, lat=None, text=""
        )

    assert sets_emergency(stored("noodknop", 4))
    assert not sets_emergency(stored("noodknop", None))  # a device off shift: no unit to set
    assert not sets_emergency(stored("assistance", 4))
    view = stored_view(stored("assistance", 4), "A-01")
    assert (view.kind, view.call_sign, view.acknowledged_at) == (AlertKind.ASSISTANCE, "A-01", None)


def test_the_seen_frame_says_who_acknowledged_which_press() -> None:
    frame = seen_frame(_view(AlertKind.NOODKNOP, acknowledged=True))
    assert frame is not None
    assert server_decoder.decode(frame) == AlertAcknowledged(
        alert_id=9,
        alert_kind=AlertKind.NOODKNOP,
        raised_at=T0,
        by="Meldkamer Noord",
        at=T0 + timedelta(seconds=20),
    )


def test_no_seen_frame_for_other_alerts_or_before_acknowledgement() -> None:
    assert seen_frame(_view(AlertKind.PARTNERS_APART, acknowledged=True)) is None
    assert seen_frame(_view(AlertKind.NOODKNOP, acknowledged=False)) is None
