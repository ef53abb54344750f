"""Which timeline lines of a handed-over melding become which EIDO progress; the handover's request body."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from meldkamer_bridge import handover
from meldkamer_bridge.adapters import eido
from shared.protocol import TaskState
from shared.tasks import TASK_STATE_LABELS

AT = datetime(2026, 11, 22, 19, 3, 4, tzinfo=UTC)


def event(kind: str, text: str, call_sign: str | None = "HH-03") -> handover.Event:
    return handover.Event(
        event_id=7, incident_id=3, external_id="urn:x", kind=kind, text=text, at=AT, call_sign=call_sign,
        units=("HH-03", "HH-04"),
    )  # fmt: skip


REPORTED = [s for s in TaskState if s not in (TaskState.ASSIGNED, TaskState.CANCELLED)]


@pytest.mark.parametrize("state", REPORTED)
def test_the_task_state_is_read_back_from_the_timeline_labels_the_backend_writes(state: TaskState) -> None:
    """The backend writes "HH-03: <label>[ — note]"; if a label changes, this breaks before the feed does."""
    text = f"HH-03: {TASK_STATE_LABELS[state]}"
    assert handover.task_state(event("task_state", text)) == state
    assert handover.task_state(event("task_state", text + " — groep vertrokken")) == state


def test_timeline_lines_map_to_progress_and_the_rest_is_not_sent() -> None:
    P = eido.Progress
    cases = [
        (event("created", "melding aangemaakt: P2 Afval", None), P.ACCEPTED, ()),
        (event("assigned", "HH-03: opdracht verstrekt"), P.ASSIGNED, ("HH-03",)),
        (event("task_state", "HH-03: geaccepteerd"), P.ASSIGNED, ("HH-03",)),
        (event("task_state", "HH-03: aanrijdend"), P.EN_ROUTE, ("HH-03",)),
        (event("task_state", "HH-03: ter plaatse"), P.ON_SCENE, ("HH-03",)),
        (event("closed", "melding afgerond", None), P.DONE, ("HH-03", "HH-04")),
    ]
    for line, progress, units in cases:
        update = handover.update_for(line, "handhaving.amsterdam.nl")
        assert update is not None and (update.progress, update.units) == (progress, units)
        assert update.melding_id == 3 and update.external_id == "urn:x" and update.at == AT
        eido.encode_update(update)  # valid against the NENA schema
    silent = [
        event("task_state", "HH-03: afgerond"),
        event("task_state", "HH-03: geweigerd"),
        event("cancelled", "HH-03: geannuleerd"),
        event("cancelled", "HH-03 overgenomen voor P1-melding #12 (Vechtpartij)"),  # a P1 took the unit
        event("note", "tablet niet verbonden"),
    ]
    for line in silent:
        assert handover.update_for(line, "handhaving.amsterdam.nl") is None
    assert handover.progress_msg_id(3, 7) == "schakel:progress:3:7"


def test_a_handover_without_a_position_asks_the_backend_by_address() -> None:
    h = eido.IncidentHandover(
        external_id="urn:x", issued_by="gms", category="Afval", priority=1, partner_priority="A1", at=AT,
        address="Dam 1, Amsterdam", description="grofvuil", partner_incident_id="GMS-7",
    )  # fmt: skip
    body = handover.incident_request("gms-sim", h)
    assert "lon" not in body and body["address"] == "Dam 1, Amsterdam" and body["priority"] == 1
    assert body["source"] == "gms-sim" and body["external_id"] == "urn:x"
    assert body["description"] == "grofvuil\nMeldkamer-incident GMS-7 (prio A1)"
