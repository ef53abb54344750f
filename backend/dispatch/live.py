"""Dispatch on the live path: tasks and messages to tablets, progress from tablets, changes to operators.

`install(hub)` hooks dispatch into the live hub once, in the app's lifespan:
- the writer stores `task_update` and `message_read` frames and hands them to the repository in the same
  transaction, so a task's state is durable when the tablet gets its ack;
- after each durable batch, operators get the changed melding and timeline in their next delta, and the live
  picture takes the unit status the task state implies;
- when a tablet connects, it gets again every task it has not yet accepted and every undelivered message, and
  the cancellations of the last 12 hours (it may have been offline when one went out).
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Awaitable, Callable, Sequence
from typing import Any

import asyncpg

from backend.db.pool import Conn
from backend.dispatch import repository as repo
from backend.geocoding.filler import Filled
from backend.live.hub import LiveHub
from backend.live.links import FieldLink
from backend.live.writer import FlushResult, Pending
from shared.protocol import (
    IncidentView,
    Message,
    MessageRead,
    MessageView,
    TaskAssigned,
    TaskCancelled,
    TaskUpdated,
    TextMessage,
    TimelineEntry,
    encoder,
)
from shared.tasks import IMPLIED_UNIT_STATUS

log = logging.getLogger(__name__)

MAX_ID = 2**63 - 1


def install(hub: LiveHub) -> None:
    hub.writer.frame_handlers[TaskUpdated] = _store_task_update
    hub.writer.frame_handlers[MessageRead] = _store_message_read

    async def on_flush(result: FlushResult) -> None:
        await _publish_outcomes(hub, result.outcomes)

    async def on_attach(link: FieldLink) -> None:
        if link.unit_id is not None:
            await resend_owed(hub, link)

    async def snapshot(org_ids: frozenset[int]) -> dict[str, Any]:
        async with hub.pool.acquire() as conn:
            return {"incidents": await repo.open_incidents(conn, sorted(org_ids))}

    hub.flush_listeners.append(on_flush)
    hub.attach_listeners.append(on_attach)
    hub.snapshot_providers.append(snapshot)


async def _store_task_update(conn: Conn, item: Pending) -> repo.TaskProgress | None:
    frame = item.frame
    assert isinstance(frame, TaskUpdated)
    if not 1 <= frame.task_id <= MAX_ID:  # no such task; never let one frame fail the whole batch
        return None
    actor = await crew_names(conn, item.unit_id) if item.unit_id is not None else None
    return await repo.apply_task_update(
        conn, item.unit_id, frame.task_id, frame.state, frame.at, frame.note, actor=actor or "tablet"
    )


async def crew_names(conn: Conn, unit_id: int) -> str | None:
    """The boa's on the unit's open shift, as the timeline names them ("J. de Vries, A. Bakker"); the unit's
    call sign when its shift names nobody."""
    names: str | None = await conn.fetchval(
        """SELECT coalesce(
               (SELECT string_agg(coalesce(nullif(a.display_name, ''), a.username), ', ' ORDER BY m.n)
                FROM shifts s CROSS JOIN LATERAL unnest(s.account_ids) WITH ORDINALITY AS m(account_id, n)
                JOIN accounts a ON a.id = m.account_id
                WHERE s.unit_id = $1 AND s.ended_at IS NULL),
               (SELECT call_sign FROM units WHERE id = $1))""",
        unit_id,
    )
    return names


def address_filled(hub: LiveHub, pool: asyncpg.Pool) -> Callable[[list[Filled]], Awaitable[None]]:
    """When the background filler stored meldingen's addresses, their operators see them at the next tick
    (one read for the filler's whole pass)."""

    async def tell(filled: list[Filled]) -> None:
        ids = [f.key for f in filled if f.table == "incidents"]
        if not ids:
            return
        async with pool.acquire() as conn:
            views = await repo.incident_views(conn, ids)
        for view in views:
            publish(hub, view, [])

    return tell


async def _store_message_read(conn: Conn, item: Pending) -> repo.MessageDelivered | None:
    frame = item.frame
    assert isinstance(frame, MessageRead)
    if not 1 <= frame.message_id <= MAX_ID:
        return None
    return await repo.mark_delivered(conn, item.unit_id, frame.message_id, frame.at)


async def _publish_outcomes(hub: LiveHub, outcomes: Sequence[object]) -> None:
    progress = [o for o in outcomes if isinstance(o, repo.TaskProgress)]
    for o in outcomes:
        if isinstance(o, repo.MessageDelivered):
            unit = hub.picture.units.get(o.message.unit_id)
            if unit is not None:
                hub.push_dispatch(unit.org_id, message=o.message)
    if not progress:
        return
    for p in progress:
        status = IMPLIED_UNIT_STATUS.get(p.state)
        if status is not None:
            hub.picture.apply_status(p.unit_id, status, p.at)
    async with hub.pool.acquire() as conn:
        for p in progress:
            incident = await repo.get_incident(conn, p.incident_id)
            if incident is not None:
                publish(hub, incident, p.timeline)


def publish(hub: LiveHub, incident: IncidentView, timeline: list[TimelineEntry]) -> None:
    """The melding and its new timeline lines go to its operators with the next tick."""
    hub.push_dispatch(incident.org_id, incident=incident, timeline=timeline)


async def send_to_unit(hub: LiveHub, unit_id: int, frames: Sequence[Message]) -> bool:
    """Send frames to the unit's tablet now. When it is connected to another instance, that one sends it
    what it is owed from the tables. False when it is connected nowhere (it gets them on reconnect)."""
    if not frames:
        return False
    link = hub.link_for_unit(unit_id)
    if link is None:  # only what the tablet's instance can read back from the tables crosses instances
        covered = all(isinstance(f, TaskAssigned | TaskCancelled | TextMessage) for f in frames)
        return covered and await hub.owed_elsewhere(unit_id)
    try:
        for frame in frames:
            await link.send(encoder.encode(frame))
    except Exception as exc:  # the socket just went; the reconnect resends
        log.info("could not reach unit %s now: %s", unit_id, exc)
        return False
    return True


async def send_tasks(hub: LiveHub, unit_id: int, task_ids: Sequence[int] | None = None) -> bool:
    if hub.link_for_unit(unit_id) is None:
        return await hub.owed_elsewhere(unit_id)
    async with hub.pool.acquire() as conn:
        frames = await repo.tasks_to_send(conn, unit_id, task_ids)
    return await send_to_unit(hub, unit_id, frames)


async def resend_owed(hub: LiveHub, link: FieldLink) -> None:
    assert link.unit_id is not None
    async with hub.pool.acquire() as conn:
        tasks = await repo.tasks_to_send(conn, link.unit_id)
        messages = await repo.undelivered_messages(conn, link.unit_id)
        cancelled = await repo.recently_cancelled(conn, link.unit_id)
    frames: list[Message] = [
        *tasks,
        *(text_frame(m) for m in messages),
        *cancelled,  # with their reasons (a P1 took the unit over); the tablet ignores ones it has closed
    ]
    with contextlib.suppress(Exception):
        for frame in frames:
            await link.send(encoder.encode(frame))


def text_frame(m: MessageView) -> TextMessage:
    return TextMessage(message_id=m.message_id, text=m.text, sender=m.sender, sent_at=m.sent_at)
