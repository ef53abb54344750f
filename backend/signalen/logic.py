"""Signalen's API shapes and what Schakel makes of them (pure).

Read from the Signalen source (github.com/Amsterdam/signals, `app/signals/apps/api/`):
* `GET /signals/v1/private/signals/` is a page `{"_links": {"self", "next", "previous"}, "count", "results"}`;
  filters used here: `category_slug` (repeatable; the sub category's slug), `routing_department_code`,
  `created_after` (ISO 8601, `created_at >=`), `source`, `ordering`, `page`, `page_size`.
* a signal: `id`, `created_at`, `text`, `category` {`sub`, `sub_slug`, `main`, `main_slug`, `deadline`},
  `location` {`geometrie` {"type": "Point", "coordinates": [lon, lat]}, `address_text`}, `status` {`state`,
  `state_display`, `text`}, `priority` {`priority`: high | normal | low}, `source`, `notes` [{`text`}].
* states (`signals/apps/signals/workflow.py`): m gemeld, i in afwachting, b in behandeling, ingepland,
  o afgehandeld, a geannuleerd, reopened, ...; a change is `PATCH /signals/v1/private/signals/{id}` with
  `{"status": {"state", "text"}}`, a note `{"notes": [{"text"}]}`.
* `GET /signals/v1/private/signals/{id}/history`: a list of `{identifier, when, what, action, description,
  who, _signal}`; `identifier` is `<WHAT>_<pk>` (UPDATE_STATUS_12, CREATE_NOTE_7), unique per entry.
* a new signal: `POST /signals/v1/private/signals/` with `text`, `location`, `category` {`category_url`},
  `reporter`, `incident_date_start` and `source` (a source configured in that Signalen).
"""

from __future__ import annotations

import re
from datetime import datetime
from typing import Any

import msgspec

from backend.registrations.validation import LOCAL
from shared.protocol import TaskState
from shared.tasks import TASK_STATE_LABELS

SOURCE = "signalen"  # incidents.source of meldingen made from signals (external_id: the signal id)
GEMELD, AFWACHTING, BEHANDELING, AFGEHANDELD, GEANNULEERD = "m", "i", "b", "o", "a"
CLOSED_STATES = frozenset({AFGEHANDELD, GEANNULEERD})
PRIORITY = {"high": 1, "normal": 2, "low": 3}
CATEGORY_PATH = re.compile(r"^[a-z0-9-]{1,100}/[a-z0-9-]{1,100}$")  # main_slug/sub_slug


class Malformed(ValueError):
    """Signalen answered something that is not the shape its API documents."""


class Mapping(msgspec.Struct, frozen=True, kw_only=True):
    """How a gemeente handles one Signalen category (signalen_categories)."""

    domain: int
    priority: int | None  # None: from the signal's priority


class Point(msgspec.Struct, frozen=True):
    type: str
    coordinates: tuple[float, float]


class Location(msgspec.Struct, frozen=True, kw_only=True):
    geometrie: Point
    address_text: str | None = None


class Category(msgspec.Struct, frozen=True, kw_only=True):
    sub: str
    sub_slug: str
    main: str = ""
    main_slug: str = ""
    deadline: datetime | None = None


class Status(msgspec.Struct, frozen=True, kw_only=True):
    state: str
    state_display: str = ""
    text: str | None = None


class Priority(msgspec.Struct, frozen=True, kw_only=True):
    priority: str = "normal"


class Note(msgspec.Struct, frozen=True, kw_only=True):
    text: str


class Signal(msgspec.Struct, frozen=True, kw_only=True):
    id: int
    created_at: datetime
    text: str = ""
    category: Category
    location: Location
    status: Status
    priority: Priority | None = None
    source: str = ""
    notes: list[Note] = []


class Link(msgspec.Struct, frozen=True):
    href: str | None = None


class Links(msgspec.Struct, frozen=True):
    next: Link | None = None


class Page(msgspec.Struct, frozen=True):
    results: list[Signal]
    count: int = 0
    _links: Links | None = msgspec.field(default=None, name="_links")


class HistoryEntry(msgspec.Struct, frozen=True, kw_only=True):
    identifier: str
    when: datetime
    what: str
    action: str = ""
    description: str | None = None


def _decode(raw: bytes, type_: Any) -> Any:
    try:
        return msgspec.json.decode(raw, type=type_)
    except (msgspec.DecodeError, msgspec.ValidationError) as exc:
        raise Malformed(str(exc)) from None


def decode_page(raw: bytes) -> tuple[list[Signal], str | None]:
    """The signals of a list page and the next page's URL (None on the last page)."""
    page: Page = _decode(raw, Page)
    link = page._links.next if page._links is not None else None
    return page.results, (link.href if link is not None else None)


def decode_signal(raw: bytes) -> Signal:
    signal: Signal = _decode(raw, Signal)
    return signal


def decode_history(raw: bytes) -> list[HistoryEntry]:
    entries: list[HistoryEntry] = _decode(raw, list[HistoryEntry])
    return entries


def decode_created_id(raw: bytes) -> int:
    class Created(msgspec.Struct):
        id: int

    created: Created = _decode(raw, Created)
    return created.id


class Melding(msgspec.Struct, frozen=True, kw_only=True):
    """What a signal becomes in Schakel."""

    external_id: str
    category: str
    priority: int
    required_domain: int
    description: str
    lon: float
    lat: float
    address: str
    deadline: datetime | None


def melding(signal: Signal, mapping: Mapping) -> Melding:
    """What the signal becomes; Malformed when its point cannot be a place (not WGS84 lon/lat)."""
    lon, lat = signal.location.geometrie.coordinates
    if not (-180 <= lon <= 180 and -90 <= lat <= 90) or (lon, lat) == (0.0, 0.0):
        raise Malformed(f"location {lon}, {lat} is not a WGS84 point")
    priority = mapping.priority or PRIORITY.get(signal.priority.priority if signal.priority else "", 2)
    lines = [f"Signalen {signal.id}: {signal.text.strip()}".strip()]
    if signal.category.deadline is not None:
        local = signal.category.deadline.astimezone(LOCAL).strftime("%d-%m-%Y %H:%M")
        lines.append(f"Afhandelen vóór {local} (termijn Signalen)")
    return Melding(
        external_id=str(signal.id),
        category=signal.category.sub or signal.category.sub_slug,
        priority=priority,
        required_domain=mapping.domain,
        description="\n".join(lines),
        lon=lon,
        lat=lat,
        address=(signal.location.address_text or "").strip(),
        deadline=signal.category.deadline,
    )


_LABEL_STATE = {label: state for state, label in TASK_STATE_LABELS.items()}


def task_state_of(line: str) -> TaskState | None:
    """The task state a timeline line names ("HH-03: geaccepteerd — note"), as the dispatch writes it."""
    _, _, rest = line.partition(": ")
    for label, state in _LABEL_STATE.items():
        if rest == label or rest.startswith(label + " "):
            return state
    return None


class Update(msgspec.Struct, frozen=True, kw_only=True):
    """One write-back to a signal: a status change (state set) or a note (state None)."""

    state: str | None
    text: str


def update_for(kind: str, text: str) -> Update | None:
    """What a melding's timeline line means for its signal (None: nothing to tell Signalen).

    A task accepted puts the signal in behandeling; a unit on scene, declining or finishing while others
    still work is a note; the melding closed is afgehandeld.
    """
    if kind == "closed":
        return Update(state=AFGEHANDELD, text="Afgehandeld door handhaving (Schakel).")
    if kind != "task_state":
        return None
    state = task_state_of(text)
    if state == TaskState.ACCEPTED:
        return Update(state=BEHANDELING, text=f"In behandeling bij handhaving: {text}")
    if state in (TaskState.ON_SCENE, TaskState.DONE, TaskState.DECLINED):
        return Update(state=None, text=f"Handhaving: {text}")
    return None


def marked(text: str, event_id: object) -> str:
    """The text with Schakel's marker, so a write-back or a filed signal is recognised when retried."""
    return f"{text} [schakel:{event_id}]"


def has_marker(texts: list[str], event_id: object) -> bool:
    tag = f"[schakel:{event_id}]"
    return any(tag in t for t in texts)
