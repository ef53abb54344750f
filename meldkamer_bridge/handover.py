"""Incidents handed over by the meldkamer become meldingen; their progress goes back as EIDO updates.
Police area alerts (CAP) go to the backend, which pushes them to the tablets in the area.

In: the bridge's incident sink posts each EIDO incident to the backend (POST /api/incidents with
source=<partner>, external_id=<EIDO $id>); the backend returns the existing melding for a repeated pair, so a
retry after a crash never makes a second one. A handover the backend refuses for good (no usable location, a
4xx) is consumed with the reason and answered with `declined`.

Out: the melding's timeline is the source of truth (GET /api/bridge/timeline). Each timeline line of a melding
made for a partner becomes at most one `eido_update`, queued with the fixed message id
`schakel:progress:<melding>:<event>`: the outbox refuses a message id it already has, so reading the timeline
again (after a restart, on every tick) never sends anything twice.

Pure: these functions build request bodies and read timeline lines; the I/O is in meldkamer_bridge.api.
"""

from __future__ import annotations

from datetime import datetime

import msgspec

from meldkamer_bridge.adapters import cap, eido
from shared.bridge_api import TimelineLine
from shared.protocol import TaskState
from shared.tasks import DEVICE_TASK_STATES, TASK_STATE_LABELS

# the states a unit reports, by the label the timeline writes them with ("HH-03: aanrijdend")
_LABELS = {TASK_STATE_LABELS[state]: state for state in sorted(DEVICE_TASK_STATES)}


def incident_request(partner: str, handover: eido.IncidentHandover) -> dict[str, object]:
    """The POST /api/incidents body for a handover."""
    lines = [handover.description.strip(), handover.location_text.strip()]
    if handover.partner_incident_id:
        prio = handover.partner_priority or "?"
        lines.append(f"Meldkamer-incident {handover.partner_incident_id} (prio {prio})")
    body: dict[str, object] = {
        "category": (handover.category or handover.incident_type or "melding meldkamer")[:80],
        "priority": handover.priority,
        "description": "\n".join(line for line in lines if line)[:2000],
        "address": handover.address[:300],
        "source": partner[:40],
        "external_id": handover.external_id[:200],
    }
    if handover.exercise:
        body["exercise"] = handover.exercise
    if handover.lon is not None and handover.lat is not None:
        body["lon"], body["lat"] = handover.lon, handover.lat
    return body


# A police alert marked Exercise or Test reaches the tablets visibly as such, never as a real one.
_EXERCISE_PREFIX = {"Exercise": "OEFENING: ", "Test": "TEST: "}


def area_alert_request(partner: str, alert: cap.PartnerAlert) -> dict[str, object]:
    """The POST /api/area-alerts body for a police CAP alert (coordinates as lon, lat)."""
    return {
        "source": partner[:40],
        "identifier": alert.identifier[:300],
        "event": alert.event[:300],
        "headline": (_EXERCISE_PREFIX.get(alert.status, "") + alert.headline)[:300],
        "description": alert.description[:2000],
        "instruction": alert.instruction[:2000],
        "severity": alert.severity[:40],
        "urgency": alert.urgency[:40],
        "area_desc": alert.area_desc[:300],
        "polygons": [[list(xy) for xy in polygon.exterior.coords] for polygon in alert.polygons[:50]],
        "circles": [{"lon": c.lon, "lat": c.lat, "radius_km": c.radius_km} for c in alert.circles[:50]],
        "sent": alert.sent.isoformat(),
        "expires": alert.expires.isoformat() if alert.expires else None,
    }


# --- progress -----------------------------------------------------------------------------------------------


class Event(msgspec.Struct, frozen=True, kw_only=True):
    event_id: int
    incident_id: int
    external_id: str
    kind: str
    text: str
    at: datetime
    call_sign: str | None
    units: tuple[str, ...]  # call signs of all tasks of the melding (for `closed`)
    exercise: str = ""


def progress_msg_id(incident_id: int, event_id: int) -> str:
    return f"schakel:progress:{incident_id}:{event_id}"


def event_from(line: TimelineLine) -> Event:
    return Event(
        event_id=line.event_id,
        incident_id=line.incident_id,
        external_id=line.external_id,
        kind=line.kind,
        text=line.text,
        at=line.at,
        call_sign=line.call_sign,
        units=tuple(line.units),
        exercise=line.exercise,
    )


def task_state(event: Event) -> TaskState | None:
    """The task state a `task_state` line records ("HH-03: ter plaatse — note")."""
    label = event.text.removeprefix(f"{event.call_sign}: ") if event.call_sign else event.text
    for text, state in _LABELS.items():
        if label == text or label.startswith(text + " — "):
            return state
    return None


_PROGRESS = {
    TaskState.ACCEPTED: eido.Progress.ASSIGNED,
    TaskState.EN_ROUTE: eido.Progress.EN_ROUTE,
    TaskState.ON_SCENE: eido.Progress.ON_SCENE,
}


def update_for(event: Event, agency: str) -> eido.IncidentUpdate | None:
    """The EIDO update a timeline line means for the meldkamer; None for lines it does not hear of."""
    units: tuple[str, ...] = (event.call_sign,) if event.call_sign else ()
    progress: eido.Progress | None = None
    if event.kind == "created":
        progress, units = eido.Progress.ACCEPTED, ()
    elif event.kind == "assigned":
        progress = eido.Progress.ASSIGNED
    elif event.kind == "task_state":
        progress = _PROGRESS.get(task_state(event))  # type: ignore[arg-type]
    elif event.kind == "closed":
        progress, units = eido.Progress.DONE, event.units
    if progress is None:
        return None
    return eido.IncidentUpdate(
        external_id=event.external_id,
        agency=agency,
        progress=progress,
        at=event.at,
        melding_id=event.incident_id,
        units=units,
        note=event.text[:500],
        exercise=event.exercise,
    )
