"""Incidents handed over by the meldkamer become meldingen; their progress goes back as EIDO updates.
Police area alerts (CAP) go to the backend, which pushes them to the tablets in the area.

In: the bridge's incident sink posts each EIDO incident to the backend (POST /api/incidents with
source=<partner>, external_id=<EIDO $id>); the backend returns the existing melding for a repeated pair, so a
retry after a crash never makes a second one. A handover the backend refuses for good (no usable location, a
4xx) is consumed with the reason and answered with `declined`.

Out: the melding's timeline is the source of truth. Each timeline line of a melding made for a partner becomes
at most one `eido_update`, queued with the fixed message id `schakel:progress:<melding>:<event>`: the outbox
refuses a message id it already has, so scanning the timeline again (after a restart, on every tick) never
sends anything twice.
"""

from __future__ import annotations

import logging
from datetime import datetime

import asyncpg
import httpx
import msgspec

from meldkamer_bridge.adapters import cap, eido
from shared.protocol import TaskState
from shared.tasks import DEVICE_TASK_STATES, TASK_STATE_LABELS

log = logging.getLogger(__name__)

# How long after closing a melding its timeline is still scanned for progress to send.
RECENT = "1 day"

# the states a unit reports, by the label the timeline writes them with ("HH-03: aanrijdend")
_LABELS = {TASK_STATE_LABELS[state]: state for state in sorted(DEVICE_TASK_STATES)}


class Refused(Exception):
    """The backend will never take this handover (a 4xx): consume it with the reason."""


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
    if handover.lon is not None and handover.lat is not None:
        body["lon"], body["lat"] = handover.lon, handover.lat
    return body


def area_alert_request(partner: str, alert: cap.PartnerAlert) -> dict[str, object]:
    """The POST /api/area-alerts body for a police CAP alert (coordinates as lon, lat)."""
    return {
        "source": partner[:40],
        "identifier": alert.identifier[:300],
        "event": alert.event[:300],
        "headline": alert.headline[:300],
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


async def post(http: httpx.AsyncClient, token: str, path: str, body: dict[str, object]) -> dict[str, object]:
    """POST to the backend; raises Refused for a 4xx that will not change, other errors to try again."""
    r = await http.post(path, json=body, headers={"Authorization": f"Bearer {token}"})
    if r.status_code in (200, 201):
        return dict(r.json())
    if 400 <= r.status_code < 500 and r.status_code not in (401, 408, 409, 429):
        raise Refused(f"{r.status_code} {r.text[:300]}")
    raise RuntimeError(f"backend answered {r.status_code}: {r.text[:200]}")


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


def progress_msg_id(incident_id: int, event_id: int) -> str:
    return f"schakel:progress:{incident_id}:{event_id}"


async def unsent_events(conn: asyncpg.Connection, partner: str) -> list[Event]:
    """Timeline lines of the partner's meldingen (open or closed recently) not yet queued, oldest first."""
    rows = await conn.fetch(
        f"""SELECT e.id, e.incident_id, i.external_id, e.kind, e.text, e.at, u.call_sign,
                   array(SELECT u2.call_sign FROM tasks t JOIN units u2 ON u2.id = t.unit_id
                         WHERE t.incident_id = i.id ORDER BY t.id) AS units
            FROM incidents i JOIN incident_events e ON e.incident_id = i.id
            LEFT JOIN units u ON u.id = e.unit_id
            WHERE i.source = $1 AND (i.closed_at IS NULL OR i.closed_at > now() - interval '{RECENT}')
              AND e.kind IN ('created', 'assigned', 'task_state', 'closed')
              AND NOT EXISTS (SELECT 1 FROM bridge_outbox o
                              WHERE o.msg_id = 'schakel:progress:' || e.incident_id || ':' || e.id)
            ORDER BY e.id""",
        partner,
    )
    return [
        Event(
            event_id=r["id"],
            incident_id=r["incident_id"],
            external_id=r["external_id"],
            kind=r["kind"],
            text=r["text"],
            at=r["at"],
            call_sign=r["call_sign"],
            units=tuple(dict.fromkeys(r["units"])),
        )
        for r in rows
    ]


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
    )
