"""Incidents, tasks, timelines, unit messages, tracks and the audit log in SQL.

Functions take a connection; the caller owns the transaction. asyncpg errors become domain exceptions here.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

import asyncpg
import msgspec

from backend.db.pool import Conn
from backend.dispatch.logic import CurrentTask, task_title
from backend.errors import Conflict, NotFound
from shared.protocol import (
    IncidentView,
    MessageView,
    TaskAssigned,
    TaskCancelled,
    TaskState,
    TaskView,
    TimelineEntry,
)
from shared.tasks import ACTIVE_TASK_STATES, IMPLIED_UNIT_STATUS, TASK_STATE_LABELS, task_transition_allowed

ACTIVE = tuple(sorted(state.value for state in ACTIVE_TASK_STATES))  # as the tasks table stores them
ALL_DONE = "alle eenheden gereed — de melding blijft open tot de meldkamer haar afsluit"


class NewIncident(msgspec.Struct, frozen=True, kw_only=True):
    org_id: int
    category: str
    priority: int
    description: str
    lon: float
    lat: float
    address: str
    beat_id: int | None
    required_domain: int
    created_by: int | None
    source: str | None = None
    external_id: str | None = None
    exercise: str = ""  # "exercise" or "test": a drill, never counted in reports (migration 0025)
    # from the console's address search (lookup): stored at once; otherwise the address filler fills them
    bag_id: str | None = None
    buurtcode: str | None = None


class TaskProgress(msgspec.Struct, frozen=True, kw_only=True):
    """What a task_update from a tablet changed (the hub tells operators and the live picture)."""

    incident_id: int
    task_id: int
    unit_id: int
    state: TaskState
    at: datetime
    timeline: list[TimelineEntry]


class MessageDelivered(msgspec.Struct, frozen=True, kw_only=True):
    message: MessageView


class TrackPoint(msgspec.Struct, frozen=True, kw_only=True):
    at: datetime
    lon: float
    lat: float
    heading_deg: float | None = None
    speed_mps: float | None = None
    late: bool = False


# --- incidents ----------------------------------------------------------------------------------------------


async def create_incident(conn: Conn, new: NewIncident, actor: str) -> int | None:
    """The new melding's id; None when the organisation has a melding with this (source, external_id)."""
    return (await create_incident_with_event(conn, new, actor))[0]


async def create_incident_with_event(
    conn: Conn, new: NewIncident, actor: str
) -> tuple[int | None, TimelineEntry | None]:
    """The new melding's id and its `created` timeline line; (None, None) when the organisation has a melding
    with this (source, external_id)."""
    incident_id: int | None = await conn.fetchval(
        """INSERT INTO incidents (org_id, category, priority, description, lon, lat, address, beat_id,
                                  required_domain, created_by, source, external_id, exercise,
                                  address_text, bag_id, buurtcode, address_state, address_at)
           VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13,
                   CASE WHEN $14::text IS NULL THEN NULL ELSE $7 END, $14, $15,
                   CASE WHEN $14::text IS NULL THEN NULL ELSE 'found' END,
                   CASE WHEN $14::text IS NULL THEN NULL ELSE now() END)
           ON CONFLICT (org_id, source, external_id) DO NOTHING RETURNING id""",
        new.org_id,
        new.category,
        new.priority,
        new.description,
        new.lon,
        new.lat,
        new.address,
        new.beat_id,
        new.required_domain,
        new.created_by,
        new.source,
        new.external_id,
        new.exercise,
        new.bag_id,
        new.buurtcode,
    )
    if incident_id is None:
        return None, None
    text = f"melding aangemaakt: P{new.priority} {new.category}"
    return incident_id, await add_event(conn, incident_id, "created", text, actor)


async def create_incidents_bulk(
    conn: Conn, news: Sequence[NewIncident], actor: str
) -> tuple[dict[int, TimelineEntry], dict[tuple[int, str, str], int]]:
    """Meldingen handed over by a partner, in one statement (and one for their `created` lines), in order;
    each has `source` and `external_id`. Returns the new meldingen's `created` lines by melding id, and the
    melding id of every (org, source, external id) asked for, new or made before (one missing: it is being
    made by another transaction right now)."""
    rows = await conn.fetch(
        """INSERT INTO incidents (org_id, category, priority, description, lon, lat, address, beat_id,
                                  required_domain, created_by, source, external_id, exercise,
                                  address_text, bag_id, buurtcode, address_state, address_at)
           SELECT o, c, p, d, x, y, a, b, r, $10, s, e, ex,
                  CASE WHEN bag IS NULL THEN NULL ELSE a END, bag, bc,
                  CASE WHEN bag IS NULL THEN NULL ELSE 'found' END,
                  CASE WHEN bag IS NULL THEN NULL ELSE now() END
           FROM unnest($1::int[], $2::text[], $3::smallint[], $4::text[], $5::float8[], $6::float8[],
                       $7::text[], $8::int[], $9::smallint[], $11::text[], $12::text[], $13::text[],
                       $14::text[], $15::text[])
                WITH ORDINALITY AS t(o, c, p, d, x, y, a, b, r, s, e, ex, bag, bc, n)
           ORDER BY n
           ON CONFLICT (org_id, source, external_id) DO NOTHING
           RETURNING id, org_id, source, external_id, priority, category""",
        [n.org_id for n in news],
        [n.category for n in news],
        [n.priority for n in news],
        [n.description for n in news],
        [n.lon for n in news],
        [n.lat for n in news],
        [n.address for n in news],
        [n.beat_id for n in news],
        [n.required_domain for n in news],
        news[0].created_by if news else None,
        [n.source for n in news],
        [n.external_id for n in news],
        [n.exercise for n in news],
        [n.bag_id for n in news],
        [n.buurtcode for n in news],
    )
    rows = sorted(rows, key=lambda r: r["id"])
    ids = {(r["org_id"], r["source"], r["external_id"]): r["id"] for r in rows}
    events = await conn.fetch(
        """INSERT INTO incident_events (incident_id, kind, text, actor)
           SELECT i, 'created', t, $3 FROM unnest($1::bigint[], $2::text[]) WITH ORDINALITY AS u(i, t, n)
           ORDER BY n
           RETURNING id, incident_id, at""",
        [r["id"] for r in rows],
        [f"melding aangemaakt: P{r['priority']} {r['category']}" for r in rows],
        actor,
    )
    created = {
        e["incident_id"]: TimelineEntry(
            event_id=e["id"],
            incident_id=e["incident_id"],
            kind="created",
            text=f"melding aangemaakt: P{r['priority']} {r['category']}",
            at=e["at"],
            actor=actor,
        )
        for e, r in zip(sorted(events, key=lambda e: e["incident_id"]), rows, strict=True)
    }
    missing = {(n.org_id, n.source or "", n.external_id or "") for n in news} - ids.keys()
    if missing:
        before = await conn.fetch(
            """SELECT i.id, i.org_id, i.source, i.external_id FROM incidents i
               JOIN unnest($1::int[], $2::text[], $3::text[]) AS k(o, s, e)
                 ON i.org_id = k.o AND i.source = k.s AND i.external_id = k.e""",
            [m[0] for m in missing],
            [m[1] for m in missing],
            [m[2] for m in missing],
        )
        ids.update({(r["org_id"], r["source"], r["external_id"]): r["id"] for r in before})
    return created, ids


async def external_incident(conn: Conn, org_id: int, source: str, external_id: str) -> int | None:
    """The organisation's melding made for a partner's incident, if any (partner ids are unique per org)."""
    found: int | None = await conn.fetchval(
        "SELECT id FROM incidents WHERE org_id = $1 AND source = $2 AND external_id = $3",
        org_id,
        source,
        external_id,
    )
    return found


_INCIDENT_SQL = """
    SELECT i.id, i.org_id, i.category, i.priority, i.description, i.lon, i.lat, i.address, i.beat_id, i.state,
           i.created_at, i.required_domain,
           coalesce(nullif(a.display_name, ''), a.username, '') AS created_by, i.exercise,
           i.address_text, i.bag_id, i.buurtcode, i.address_state
    FROM incidents i LEFT JOIN accounts a ON a.id = i.created_by
"""
_TASK_SQL = """
    SELECT t.id, t.incident_id, t.unit_id, u.call_sign, t.state, t.assigned_at, t.state_at
    FROM tasks t JOIN units u ON u.id = t.unit_id WHERE t.incident_id = ANY($1) ORDER BY t.id
"""


async def _views(conn: Conn, rows: Sequence[asyncpg.Record]) -> list[IncidentView]:
    tasks: dict[int, list[TaskView]] = {}
    for t in await conn.fetch(_TASK_SQL, [r["id"] for r in rows]):
        tasks.setdefault(t["incident_id"], []).append(
            TaskView(
                task_id=t["id"],
                incident_id=t["incident_id"],
                unit_id=t["unit_id"],
                call_sign=t["call_sign"],
                state=TaskState(t["state"]),
                assigned_at=t["assigned_at"],
                state_at=t["state_at"],
            )
        )
    return [
        IncidentView(
            incident_id=r["id"],
            org_id=r["org_id"],
            category=r["category"],
            priority=r["priority"],
            description=r["description"],
            lon=r["lon"],
            lat=r["lat"],
            address=r["address"],
            beat_id=r["beat_id"],
            state=r["state"],
            created_at=r["created_at"],
            created_by=r["created_by"],
            required_domain=r["required_domain"],
            tasks=tasks.get(r["id"], []),
            exercise=r["exercise"],
            address_text=r["address_text"],
            bag_id=r["bag_id"],
            buurtcode=r["buurtcode"],
            address_state=r["address_state"],
        )
        for r in rows
    ]


async def get_incident(conn: Conn, incident_id: int) -> IncidentView | None:
    rows = await conn.fetch(_INCIDENT_SQL + " WHERE i.id = $1", incident_id)
    views = await _views(conn, rows)
    return views[0] if views else None


async def incident_views(conn: Conn, incident_ids: Sequence[int]) -> list[IncidentView]:
    """The meldingen with these ids (in one statement, and one for their tasks)."""
    if not incident_ids:
        return []
    return await _views(conn, await conn.fetch(_INCIDENT_SQL + " WHERE i.id = ANY($1)", list(incident_ids)))


async def open_incidents(conn: Conn, org_ids: Sequence[int]) -> list[IncidentView]:
    rows = await conn.fetch(
        _INCIDENT_SQL
        + " WHERE i.org_id = ANY($1) AND i.state = 'open' ORDER BY i.priority, i.created_at LIMIT 500",
        list(org_ids),
    )
    return await _views(conn, rows)


async def close_incident(conn: Conn, incident_id: int, actor: str, reason: str) -> list[int]:
    """Close a melding; its active tasks are cancelled. Returns the ids of the cancelled tasks."""
    closed = await conn.fetchval(
        """UPDATE incidents SET state = 'closed', closed_at = now() WHERE id = $1 AND state = 'open'
           RETURNING id""",
        incident_id,
    )
    if closed is None:
        raise Conflict("deze melding is al afgesloten", field="incident_id")
    cancelled = await conn.fetch(
        """UPDATE tasks SET state = 'cancelled', state_at = now(), cancel_reason = $3
           WHERE incident_id = $1 AND state = ANY($2) RETURNING id, unit_id""",
        incident_id,
        list(ACTIVE),
        reason,
    )
    await add_event(
        conn, incident_id, "closed", "melding afgesloten" + (f": {reason}" if reason else ""), actor
    )
    return [r["id"] for r in cancelled]


# --- timeline -----------------------------------------------------------------------------------------------


async def add_event(
    conn: Conn,
    incident_id: int,
    kind: str,
    text: str,
    actor: str = "",
    *,
    task_id: int | None = None,
    unit_id: int | None = None,
    at: datetime | None = None,
) -> TimelineEntry:
    row = await conn.fetchrow(
        """INSERT INTO incident_events (incident_id, task_id, unit_id, kind, text, actor, at)
           VALUES ($1, $2, $3, $4, $5, $6, coalesce($7, now())) RETURNING id, at""",
        incident_id,
        task_id,
        unit_id,
        kind,
        text,
        actor,
        at,
    )
    assert row is not None  # INSERT … RETURNING always answers
    return TimelineEntry(
        event_id=row["id"],
        incident_id=incident_id,
        kind=kind,
        text=text,
        at=row["at"],
        task_id=task_id,
        unit_id=unit_id,
        actor=actor,
    )


async def timeline(conn: Conn, incident_id: int) -> list[TimelineEntry]:
    rows = await conn.fetch(
        """SELECT id, incident_id, kind, text, at, task_id, unit_id, actor FROM incident_events
           WHERE incident_id = $1 ORDER BY at, id""",
        incident_id,
    )
    return [
        TimelineEntry(
            event_id=r["id"],
            incident_id=r["incident_id"],
            kind=r["kind"],
            text=r["text"],
            at=r["at"],
            task_id=r["task_id"],
            unit_id=r["unit_id"],
            actor=r["actor"],
        )
        for r in rows
    ]


async def events_since(conn: Conn, incident_id: int, after_id: int) -> list[TimelineEntry]:
    return [e for e in await timeline(conn, incident_id) if e.event_id > after_id]


# --- tasks --------------------------------------------------------------------------------------------------


async def units_with_active_task(conn: Conn, unit_ids: Sequence[int]) -> set[int]:
    rows = await conn.fetch(
        "SELECT DISTINCT unit_id FROM tasks WHERE unit_id = ANY($1) AND state = ANY($2)",
        list(unit_ids),
        list(ACTIVE),
    )
    return {r["unit_id"] for r in rows}


async def current_tasks(conn: Conn, unit_ids: Sequence[int]) -> dict[int, CurrentTask]:
    """Each unit's most urgent active task (lowest priority number, then the newest): what it is doing now."""
    rows = await conn.fetch(
        """SELECT DISTINCT ON (t.unit_id) t.unit_id, t.id, t.state, i.id AS incident_id, i.priority,
                  i.category, i.description, i.address
           FROM tasks t JOIN incidents i ON i.id = t.incident_id
           WHERE t.unit_id = ANY($1) AND t.state = ANY($2)
           ORDER BY t.unit_id, i.priority, t.assigned_at DESC, t.id DESC""",
        list(unit_ids),
        list(ACTIVE),
    )
    return {r["unit_id"]: _current_task(r) for r in rows}


def _current_task(r: asyncpg.Record) -> CurrentTask:
    return CurrentTask(
        task_id=r["id"],
        incident_id=r["incident_id"],
        priority=r["priority"],
        category=r["category"],
        description=r["description"],
        address=r["address"],
        state=TaskState(r["state"]),
    )


async def unit_domains(conn: Conn, unit_ids: Sequence[int]) -> dict[int, tuple[int, ...]]:
    rows = await conn.fetch("SELECT id, domains FROM units WHERE id = ANY($1)", list(unit_ids))
    return {r["id"]: tuple(r["domains"]) for r in rows}


async def create_task(
    conn: Conn, incident_id: int, unit_id: int, assigned_by: int, actor: str, call_sign: str
) -> int:
    try:
        task_id: int = await conn.fetchval(
            "INSERT INTO tasks (incident_id, unit_id, assigned_by) VALUES ($1, $2, $3) RETURNING id",
            incident_id,
            unit_id,
            assigned_by,
        )
    except asyncpg.UniqueViolationError as exc:
        raise Conflict(f"{call_sign} heeft deze melding al", field="unit_id") from exc
    await add_event(
        conn,
        incident_id,
        "assigned",
        f"{call_sign}: opdracht verstrekt",
        actor,
        task_id=task_id,
        unit_id=unit_id,
    )
    return task_id


async def get_task(conn: Conn, task_id: int) -> asyncpg.Record | None:
    return await conn.fetchrow(
        """SELECT t.id, t.incident_id, t.unit_id, t.state, u.call_sign, i.org_id
           FROM tasks t JOIN units u ON u.id = t.unit_id JOIN incidents i ON i.id = t.incident_id
           WHERE t.id = $1""",
        task_id,
    )


async def unit_active_tasks(conn: Conn, unit_id: int) -> list[CurrentTask]:
    """The unit's active tasks with their meldingen, locked until the transaction ends: a take-over for a P1
    decides on them, and a tablet's progress on one waits for it (apply_task_update locks the row too)."""
    rows = await conn.fetch(
        """SELECT t.id, t.state, i.id AS incident_id, i.priority, i.category, i.description, i.address
           FROM tasks t JOIN incidents i ON i.id = t.incident_id
           WHERE t.unit_id = $1 AND t.state = ANY($2) ORDER BY t.id FOR UPDATE OF t""",
        unit_id,
        list(ACTIVE),
    )
    return [_current_task(r) for r in rows]


async def cancel_task(
    conn: Conn, task_id: int, actor: str, reason: str, *, text: str | None = None
) -> TimelineEntry:
    """Cancel an active task; returns the `cancelled` line it adds to its melding's timeline: "HH-03:
    opdracht geannuleerd (reason)", or `text` when given (a take-over for a P1 writes its own)."""
    row = await conn.fetchrow(
        """UPDATE tasks t SET state = 'cancelled', state_at = now(), cancel_reason = $3 FROM units u
           WHERE t.id = $1 AND u.id = t.unit_id AND t.state = ANY($2)
           RETURNING t.incident_id, t.unit_id, u.call_sign""",
        task_id,
        list(ACTIVE),
        reason,
    )
    if row is None:
        raise Conflict("deze taak is niet meer actief", field="task_id")
    if text is None:
        text = f"{row['call_sign']}: opdracht geannuleerd" + (f" ({reason})" if reason else "")
    return await add_event(
        conn, row["incident_id"], "cancelled", text, actor, task_id=task_id, unit_id=row["unit_id"]
    )


async def recently_cancelled(conn: Conn, unit_id: int, hours: float = 12.0) -> list[TaskCancelled]:
    """A unit's tasks cancelled in the last hours, with their reasons: a tablet that was offline then has not
    heard it."""
    rows = await conn.fetch(
        """SELECT id, cancel_reason FROM tasks WHERE unit_id = $1 AND state = 'cancelled'
           AND state_at > now() - make_interval(secs => $2) ORDER BY id""",
        unit_id,
        hours * 3600.0,
    )
    return [TaskCancelled(task_id=r["id"], reason=r["cancel_reason"]) for r in rows]


async def tasks_to_send(
    conn: Conn, unit_id: int, task_ids: Sequence[int] | None = None
) -> list[TaskAssigned]:
    """Task frames for a unit's tablet: the given tasks, or every task it has not yet accepted."""
    rows = await conn.fetch(
        """SELECT t.id, t.incident_id, t.assigned_at, i.category, i.priority, i.description, i.lon, i.lat,
                  i.address
           FROM tasks t JOIN incidents i ON i.id = t.incident_id
           WHERE t.unit_id = $1 AND t.state = 'assigned' AND ($2::bigint[] IS NULL OR t.id = ANY($2))
           ORDER BY t.id""",
        unit_id,
        None if task_ids is None else list(task_ids),
    )
    if rows:
        await conn.execute("UPDATE tasks SET sent_at = now() WHERE id = ANY($1)", [r["id"] for r in rows])
    return [
        TaskAssigned(
            task_id=r["id"],
            incident_id=r["incident_id"],
            title=task_title(r["category"], r["address"], r["priority"]),
            priority=r["priority"],
            category=r["category"],
            description=r["description"],
            lon=r["lon"],
            lat=r["lat"],
            address=r["address"],
            assigned_at=r["assigned_at"],
        )
        for r in rows
    ]


async def apply_task_update(
    conn: Conn,
    unit_id: int | None,
    task_id: int,
    state: TaskState,
    at: datetime,
    note: str,
    actor: str,
) -> TaskProgress | None:
    """A tablet's progress on a task: update it and the timeline; when the last active task ends, a note says
    so, but the melding stays open until an operator closes it (a unit's "afgerond" is not the meldkamer's).

    Returns None (and changes nothing) for a task of another unit or a transition that is not allowed, such
    as an update on a cancelled task; the frame itself is kept in field_events either way.
    """
    row = await conn.fetchrow(
        "SELECT incident_id, unit_id, state FROM tasks WHERE id = $1 FOR UPDATE", task_id
    )
    if row is None or unit_id is None or row["unit_id"] != unit_id:
        return None
    if not task_transition_allowed(TaskState(row["state"]), state):
        return None
    await conn.execute("UPDATE tasks SET state = $2, state_at = $3 WHERE id = $1", task_id, state.value, at)
    call_sign = await conn.fetchval("SELECT call_sign FROM units WHERE id = $1", unit_id)
    text = f"{call_sign}: {TASK_STATE_LABELS[state]}" + (f" — {note}" if note else "")
    events = [
        await add_event(
            conn, row["incident_id"], "task_state", text, actor, task_id=task_id, unit_id=unit_id, at=at
        )
    ]
    if state == TaskState.DONE:
        still_active = await conn.fetchval(
            "SELECT count(*) FROM tasks WHERE incident_id = $1 AND state = ANY($2)",
            row["incident_id"],
            list(ACTIVE),
        )
        if still_active == 0:  # the melding stays open: the operator closes it (the caller may call back)
            events.append(await add_event(conn, row["incident_id"], "note", ALL_DONE, actor, at=at))
    status = IMPLIED_UNIT_STATUS.get(state)
    if status is not None:
        await conn.execute(
            """UPDATE units SET status = $2, status_since = $3
               WHERE id = $1 AND status_since <= $3 AND status IS DISTINCT FROM $2""",
            unit_id,
            status.value,
            at,
        )
    return TaskProgress(
        incident_id=row["incident_id"], task_id=task_id, unit_id=unit_id, state=state, at=at, timeline=events
    )


# --- messages -----------------------------------------------------------------------------------------------


def _message(r: asyncpg.Record) -> MessageView:
    return MessageView(
        message_id=r["id"],
        unit_id=r["unit_id"],
        text=r["text"],
        sender=r["sender"],
        sent_at=r["sent_at"],
        delivered_at=r["delivered_at"],
    )


async def create_message(conn: Conn, unit_id: int, text: str, sender_id: int, sender: str) -> MessageView:
    row = await conn.fetchrow(
        """INSERT INTO unit_messages (unit_id, text, sender_id, sender) VALUES ($1, $2, $3, $4)
           RETURNING id, unit_id, text, sender, sent_at, delivered_at""",
        unit_id,
        text,
        sender_id,
        sender,
    )
    assert row is not None  # INSERT … RETURNING always answers
    return _message(row)


async def undelivered_messages(conn: Conn, unit_id: int) -> list[MessageView]:
    rows = await conn.fetch(
        """SELECT id, unit_id, text, sender, sent_at, delivered_at FROM unit_messages
           WHERE unit_id = $1 AND delivered_at IS NULL AND sent_at > now() - interval '1 day' ORDER BY id""",
        unit_id,
    )
    return [_message(r) for r in rows]


async def unit_messages(conn: Conn, unit_id: int, limit: int = 50) -> list[MessageView]:
    rows = await conn.fetch(
        """SELECT id, unit_id, text, sender, sent_at, delivered_at FROM unit_messages WHERE unit_id = $1
           ORDER BY id DESC LIMIT $2""",
        unit_id,
        limit,
    )
    return [_message(r) for r in reversed(rows)]


async def mark_delivered(
    conn: Conn, unit_id: int | None, message_id: int, at: datetime
) -> MessageDelivered | None:
    """The tablet has the message. Only the addressed unit's device can confirm it; the first time counts."""
    row = await conn.fetchrow(
        """UPDATE unit_messages SET delivered_at = $3, read_at = $3
           WHERE id = $1 AND unit_id = $2 AND delivered_at IS NULL
           RETURNING id, unit_id, text, sender, sent_at, delivered_at""",
        message_id,
        unit_id,
        at,
    )
    return None if row is None else MessageDelivered(message=_message(row))


# --- track replay ---------------------------------------------------------------------------------


async def track(conn: Conn, unit_id: int, since: datetime, limit: int = 20_000) -> list[TrackPoint]:
    rows = await conn.fetch(
        """SELECT at, lon, lat, heading_deg, speed_mps, late FROM positions
           WHERE unit_id = $1 AND at >= $2 ORDER BY at LIMIT $3""",
        unit_id,
        since,
        limit,
    )
    return [
        TrackPoint(
            at=r["at"],
            lon=r["lon"],
            lat=r["lat"],
            heading_deg=r["heading_deg"],
            speed_mps=r["speed_mps"],
            late=r["late"],
        )
        for r in rows
    ]


# --- places -------------------------------------------------------------------------------------------------


async def beat_orgs(conn: Conn, beat_ids: Sequence[int]) -> dict[int, int]:
    rows = await conn.fetch("SELECT id, org_id FROM beats WHERE id = ANY($1)", list(beat_ids))
    return {r["id"]: r["org_id"] for r in rows}


async def beats_named_in(conn: Conn, org_ids: Sequence[int], text: str) -> list[asyncpg.Record]:
    """Beats whose name or code occurs in the text, longest name first (the most specific match)."""
    rows: list[asyncpg.Record] = await conn.fetch(
        """SELECT id, org_id, name, geometry FROM beats
           WHERE org_id = ANY($1) AND (position(lower(name) IN lower($2)) > 0 OR lower(code) = lower($2))
           ORDER BY length(name) DESC LIMIT 1""",
        list(org_ids),
        text,
    )
    return rows


async def require_incident(conn: Conn, incident_id: int) -> IncidentView:
    view = await get_incident(conn, incident_id)
    if view is None:
        raise NotFound("melding niet gevonden", field="incident_id")
    return view
