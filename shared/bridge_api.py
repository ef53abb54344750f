"""The backend's HTTP API for the meldkamer bridge (role `service`): the bodies both sides speak.

The bridge reaches Schakel's data only through these calls (and the operator websocket); it keeps its own
outbox and inbox in tables of its own. Paths, all under /api/bridge/ (docs/bridge.md, "The boundary"):

    GET  organisations                      -> list[Organisation]
    GET  timeline?source=&after=&limit=     -> list[TimelineLine]
    GET  register-queries                   -> list[PendingQuery]
    POST register-queries/sent   QueriesSent -> Count
    POST register-queries/{id}/answer  QueryAnswer -> AnswerTaken
    POST incidents               IncidentBatch -> IncidentOutcomes (a batch of handed-over incidents)
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

import msgspec

QueryId = Annotated[int, msgspec.Meta(ge=1, le=2**62)]


class Organisation(msgspec.Struct, frozen=True, kw_only=True):
    """An organisation the service account may see: its code goes in the status feed, its name in CAP."""

    org_id: int
    code: str
    name: str


class TimelineLine(msgspec.Struct, frozen=True, kw_only=True):
    """One line of the timeline of a melding a partner handed over (kinds the meldkamer hears of)."""

    event_id: int
    incident_id: int
    external_id: str
    kind: str  # created | assigned | task_state | closed
    text: str
    at: datetime
    call_sign: str | None = None
    units: list[str] = []  # call signs of all tasks of the melding, in task order (for `closed`)
    exercise: str = ""  # "exercise" / "test": the melding is a drill, and its updates say so


class PendingQuery(msgspec.Struct, frozen=True, kw_only=True):
    """A boa's register query waiting to go to the police; `request` is what the police get."""

    query_id: int
    request: dict[str, Any]


class QueriesSent(msgspec.Struct, frozen=True, kw_only=True):
    """These queries are in the bridge's outbox now (committed): the backend stops offering them."""

    query_ids: Annotated[list[QueryId], msgspec.Meta(min_length=1, max_length=500)]


class Count(msgspec.Struct, frozen=True, kw_only=True):
    count: int


class QueryAnswer(msgspec.Struct, frozen=True, kw_only=True):
    """The police register's answer to one query, held by the backend only until the boa takes it."""

    status: Literal["found", "not_found", "refused"]
    result: Annotated[dict[str, Any], msgspec.Meta(max_length=200)] = {}
    source: Annotated[str, msgspec.Meta(max_length=100)] = ""


class AnswerTaken(msgspec.Struct, frozen=True, kw_only=True):
    """`taken` is False when nobody waits for the answer any more (the boa gave up): it is dropped."""

    query_id: int
    taken: bool


# --- what the bridge's own tables hold, for the administrators' status page (GET /api/bridge/status) --


class DeadLetter(msgspec.Struct, frozen=True, kw_only=True):
    partner: str
    seq: int
    msg_id: str
    type: str
    reason: str
    attempts: int
    created_at: datetime
    dead_at: datetime


class PartnerMetrics(msgspec.Struct, frozen=True, kw_only=True):
    partner: str
    queue_depth: int  # outbound messages not yet acknowledged
    oldest_age_s: float  # age of the oldest of them (0 when the queue is empty)
    delivered: int
    failed: int  # failed delivery attempts
    rejected: int  # dead letters
    acked_seq: int
    next_seq: int
    inbound_seq: int
    inbox_unprocessed: int
    last_error: str | None = None
    lease_holder: str | None = None  # the one active bridge for this partner (host:pid:random), if any
    lease_expires_at: datetime | None = None  # it renews the lease before this; another takes over after


HANDOVER_BATCH = 500  # the most incidents one POST /api/bridge/incidents takes


class IncidentBatch(msgspec.Struct, frozen=True, kw_only=True):
    """Incidents a partner handed over, each a POST /api/incidents body with `source` and `external_id`; the
    backend takes them in this order, each on its own: one it refuses does not hold up the others."""

    items: Annotated[list[dict[str, Any]], msgspec.Meta(min_length=1, max_length=HANDOVER_BATCH)]


class IncidentOutcome(msgspec.Struct, frozen=True, kw_only=True):
    """What became of one item: 201 a melding made, 200 the melding made for it before (a retry), else the
    4xx the single POST /api/incidents would have answered, with its field and reason (409: try again)."""

    status: int
    incident_id: int | None = None
    field: str | None = None
    reason: str = ""


class IncidentOutcomes(msgspec.Struct, frozen=True, kw_only=True):
    results: list[IncidentOutcome]  # one per item, in the items' order
