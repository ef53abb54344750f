"""The batched, durable writer of everything the field sends.

Frames are queued in arrival order. A flush writes a whole batch in one transaction: positions by COPY into
the partitioned history, other frames into field_events (plus status changes and alerts), and per device the
highest durable sequence number. Inside the transaction the devices' rows are locked and every frame whose seq
is already durable is dropped, so a frame resent after a reconnect (even to another instance) is stored once.
Only after the commit are the devices acknowledged. The other instances hear of the alerts a batch raised by a
NOTIFY sent in that same transaction (`cluster.notify_alerts`), so it reaches them even if this instance dies
right after the commit, and never for a batch that rolled back.

One bad frame must never stop storage for everyone. A batch whose transaction fails for a reason that is not
the database being away (see `is_transient`) is split in halves and each half retried, down to the one frame
at fault: that frame is refused (its device is told, a tracker's request answered with a 4xx) and every other
frame commits and is acknowledged. The writer's task is supervised: if it dies anyway it is restarted, and
the log and `/health` say so.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Mapping, Sequence
from datetime import UTC, date, datetime
from typing import Any

import asyncpg
import msgspec

from backend.alerts import repository as alerts_repo
from backend.alerts.logic import RAISING_FRAMES, StoredAlert, field_alert
from backend.db.pool import Conn
from backend.live import repository as repo
from backend.live.cluster import notify_alerts
from shared.protocol import (
    CheckIn,
    PositionReported,
    SequencedFrame,
    StatusChanged,
)

log = logging.getLogger(__name__)


class Pending(msgspec.Struct, kw_only=True):
    device_id: int
    unit_id: int | None
    org_id: int
    frame: SequencedFrame
    received_at: datetime


class FlushResult(msgspec.Struct, frozen=True, kw_only=True):
    durable: dict[int, int]  # device id -> highest durable seq
    alerts: list[StoredAlert]
    statuses: list[tuple[int, str, datetime]]  # (unit, status, at) applied
    positions: int
    outcomes: list[Any] = []  # what frame handlers of other domains returned (e.g. task progress)


DurableCallback = Callable[[FlushResult], Awaitable[None]]
RefusedCallback = Callable[[Pending, str], Awaitable[None]]
"""A frame the database would not take, and why (in words fit for its device)."""
FrameHandler = Callable[[Conn, Pending], Awaitable[Any]]
"""Handles one stored frame of a kind this module does not know, inside the batch's transaction."""


class NewFrames(msgspec.Struct, frozen=True, kw_only=True):
    """What of a batch is to be stored, and the last seq per device once it is."""

    positions: list[Pending]  # of units on shift, in arrival order
    events: list[Pending]  # every other frame, in arrival order
    last_seq: dict[int, int]  # device -> highest durable seq after the batch (every known device)


def new_frames(batch: Sequence[Pending], last_seq: Mapping[int, int]) -> NewFrames:
    """Pick the frames of a batch that are not yet durable, given each device's durable last seq.

    A frame whose seq is not above its device's last seq (so far, in this batch included) is a resend and is
    dropped, so it is stored once; frames of an unknown (deleted) device are dropped too. A position of a
    device that is not on a shift is not stored (staff are tracked only on shift), but its seq still counts.
    """
    seqs = dict(last_seq)
    positions: list[Pending] = []
    events: list[Pending] = []
    for item in batch:
        last = seqs.get(item.device_id)
        if last is None or item.frame.seq <= last:
            continue
        seqs[item.device_id] = item.frame.seq
        if isinstance(item.frame, PositionReported):
            if item.unit_id is not None:
                positions.append(item)
        else:
            events.append(item)
    return NewFrames(positions=positions, events=events, last_seq=seqs)


def latest_live(positions: Sequence[Pending]) -> dict[int, PositionReported]:
    """Per unit the newest live (not late) position of the batch: what `unit_live` shows."""
    latest: dict[int, PositionReported] = {}
    for item in positions:
        frame = item.frame
        assert isinstance(frame, PositionReported) and item.unit_id is not None
        known = latest.get(item.unit_id)
        if not frame.late and (known is None or frame.at >= known.at):
            latest[item.unit_id] = frame
    return latest


async def write_batch(
    conn: Conn, batch: Sequence[Pending], handlers: Mapping[type, FrameHandler] | None = None
) -> FlushResult:
    """Write one batch durably (the caller commits); drop frames that are already durable."""
    new = new_frames(batch, await repo.lock_devices(conn, {p.device_id for p in batch}))
    if new.positions:
        await repo.copy_positions(conn, [_position(p) for p in new.positions])
        await repo.upsert_unit_live(conn, latest_live(new.positions))
    alerts: list[StoredAlert] = []
    statuses: list[tuple[int, str, datetime]] = []
    outcomes: list[Any] = []
    for item in new.events:
        alert, status = await _write_event(conn, item)
        if alert is not None:
            alerts.append(alert)
        if status is not None:
            statuses.append(status)
        handler = (handlers or {}).get(type(item.frame))
        if handler is not None:
            outcome = await handler(conn, item)
            if outcome is not None:
                outcomes.append(outcome)
    await repo.advance_last_seq(conn, new.last_seq)
    return FlushResult(
        durable=new.last_seq,
        alerts=alerts,
        statuses=statuses,
        positions=len(new.positions),
        outcomes=outcomes,
    )


def _position(item: Pending) -> tuple[int, int, PositionReported, datetime]:
    assert isinstance(item.frame, PositionReported) and item.unit_id is not None
    return item.device_id, item.unit_id, item.frame, item.received_at


async def _write_event(
    conn: Conn, item: Pending
) -> tuple[StoredAlert | None, tuple[int, str, datetime] | None]:
    frame = item.frame
    payload = msgspec.to_builtins(frame)
    event_id = await repo.insert_field_event(
        conn,
        device_id=item.device_id,
        unit_id=item.unit_id,
        seq=frame.seq,
        kind=payload["kind"],
        at=frame.at,
        payload=payload,
        late=bool(getattr(frame, "late", False)),
        received_at=item.received_at,
    )
    if event_id is None:
        return None, None
    if isinstance(frame, StatusChanged):
        if item.unit_id is None:
            return None, None
        await repo.set_unit_status(conn, item.unit_id, frame.status.value, frame.at)
        return None, (item.unit_id, frame.status.value, frame.at)
    if isinstance(frame, CheckIn):  # the timer lives in the database, so it survives a restart
        await alerts_repo.set_checkin(
            conn,
            device_id=item.device_id,
            org_id=item.org_id,
            unit_id=item.unit_id,
            next_due=frame.next_due,
            at=frame.at,
        )
        return None, None
    raised = field_alert(frame)
    if raised is None:
        return None, None
    assert isinstance(frame, RAISING_FRAMES)
    alert_id = await alerts_repo.insert_alert(
        conn,
        org_id=item.org_id,
        unit_id=item.unit_id,
        kind=raised.kind.value,
        at=frame.at,
        payload={
            "lon": frame.lon,
            "lat": frame.lat,
            "text": raised.text,
            "device_id": item.device_id,
            "silent": raised.silent,
        },
        source_event_id=event_id,
    )
    alert = StoredAlert(
        alert_id=alert_id,
        org_id=item.org_id,
        unit_id=item.unit_id,
        kind=raised.kind.value,
        at=frame.at,
        lon=frame.lon,
        lat=frame.lat,
        text=raised.text,
        silent=raised.silent,
        device_id=item.device_id,
    )
    return alert, None


def is_transient(exc: BaseException) -> bool:
    """True when a failed write says the database is away or busy (retry the same batch later), False when
    something in the batch is at fault (split it to find the frame)."""
    if isinstance(exc, asyncpg.InterfaceError):
        return not isinstance(exc, ValueError)  # asyncpg's client-side data errors are ValueErrors
    return isinstance(
        exc,
        OSError
        | asyncpg.PostgresConnectionError
        | asyncpg.OperatorInterventionError
        | asyncpg.InsufficientResourcesError
        | asyncpg.TransactionRollbackError,
    )


async def _refuse_nothing(_: Pending, __: str) -> None:
    return None


class FieldWriter:
    """Queues field frames and flushes them in batches (every flush_interval_s or max_rows)."""

    def __init__(
        self,
        pool: asyncpg.Pool,
        on_durable: DurableCallback,
        *,
        on_refused: RefusedCallback = _refuse_nothing,
        flush_interval_s: float = 0.25,
        max_rows: int = 1000,
    ) -> None:
        self._pool = pool
        self._on_durable = on_durable
        self._on_refused = on_refused
        self._interval = flush_interval_s
        self._max_rows = max_rows
        self._queue: list[Pending] = []
        self._wake = asyncio.Event()
        self._urgent = False
        self._task: asyncio.Task[None] | None = None  # the supervisor
        self._stopping = False
        self._partitions_day: date | None = None
        self.flushes = 0
        self.restarts = 0
        self.refused = 0
        self.frame_handlers: dict[type, FrameHandler] = {}
        # this instance's id on the cluster bus: alerts a batch raises are announced in its transaction
        self.cluster_instance: str | None = None

    def add(self, item: Pending, *, urgent: bool = False) -> None:
        self._queue.append(item)
        if urgent:
            self._urgent = True
            self._wake.set()
        elif len(self._queue) >= self._max_rows:
            self._wake.set()

    @property
    def queued(self) -> int:
        return len(self._queue)

    @property
    def status(self) -> str:
        """For `/health`: "running", "restarted N times" or "stopped"."""
        if self._task is None or self._task.done():
            return "stopped"
        return "running" if self.restarts == 0 else f"restarted {self.restarts} times"

    def start(self) -> None:
        self._task = asyncio.create_task(self._supervise(), name="field-writer-supervisor")

    async def stop(self) -> None:
        """Flush what is queued, then stop."""
        self._stopping = True
        self._wake.set()
        if self._task is not None:
            await self._task

    async def _supervise(self) -> None:
        """Run the writer; when its task dies (an error nobody foresaw, or it was cancelled by someone else)
        start it again, so the field's frames keep being stored. What was queued stays queued."""
        while True:
            run = asyncio.create_task(self._run(), name="field-writer")
            try:
                await asyncio.wait({run})
            except asyncio.CancelledError:
                run.cancel()
                raise
            if not run.cancelled() and run.exception() is None:
                return  # stopped as asked
            if self._stopping and not self._queue:
                return
            self.restarts += 1
            error = None if run.cancelled() else run.exception()
            log.error(
                "field writer died (%s); restarting it (restart %d)",
                "cancelled" if error is None else f"{type(error).__name__}: {error}",
                self.restarts,
                exc_info=error,
            )
            await asyncio.sleep(min(0.05 * self.restarts, 1.0))

    async def _run(self) -> None:
        backoff = 0.1
        while True:
            # a backlog of a full batch or more (the previous flush could not keep up) is written at once:
            # the rows that would have woken us arrived while we were flushing
            if not self._urgent and len(self._queue) < self._max_rows:
                try:
                    await asyncio.wait_for(self._wake.wait(), self._interval)
                except TimeoutError:
                    pass
            self._wake.clear()
            self._urgent = False
            if self._queue:
                try:
                    await self.flush()
                    backoff = 0.1
                except (OSError, asyncpg.PostgresError, asyncpg.InterfaceError) as exc:
                    # keep the batch; it is retried: nothing acknowledged is ever lost
                    log.warning("flush failed, retrying in %.1fs: %s", backoff, exc)
                    await asyncio.sleep(backoff)
                    backoff = min(backoff * 2, 5.0)
                    if self._stopping and backoff >= 5.0:
                        return
                    continue
            if self._stopping and not self._queue:
                return

    async def flush(self) -> None:
        batch = self._queue[: max(self._max_rows * 5, 1)]
        today = datetime.now(UTC).date()
        async with self._pool.acquire() as conn:
            if self._partitions_day != today:
                await repo.ensure_partitions(conn, today)
                self._partitions_day = today
            await self._write(conn, batch)
        del self._queue[: len(batch)]

    async def _write(self, conn: Conn, batch: Sequence[Pending]) -> None:
        """Write a batch in one transaction; if something in it is at fault, write each half in turn (in
        order, so every device's frames stay in seq order) until the one frame at fault is refused."""
        try:
            async with conn.transaction():
                result = await write_batch(conn, batch, self.frame_handlers)
                if result.alerts and self.cluster_instance is not None:
                    await notify_alerts(conn, self.cluster_instance, [a.alert_id for a in result.alerts])
        except Exception as exc:
            if is_transient(exc):
                raise
            if len(batch) > 1:
                half = len(batch) // 2
                await self._write(conn, batch[:half])
                await self._write(conn, batch[half:])
                return
            await self._refuse(batch[0], exc)
            return
        self.flushes += 1
        await self._on_durable(result)

    async def _refuse(self, item: Pending, exc: Exception) -> None:
        self.refused += 1
        log.warning(
            "refused frame seq %d of device %d: %s: %s",
            item.frame.seq,
            item.device_id,
            type(exc).__name__,
            exc,
        )
        await self._on_refused(item, f"the server could not store this frame ({type(exc).__name__})")
