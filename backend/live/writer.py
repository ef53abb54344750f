"""The batched, durable writer of everything the field sends.

Frames are queued in arrival order. A flush writes a whole batch in one transaction: positions by COPY into
the partitioned history, other frames into field_events (plus status changes and alerts), and per device the
highest durable sequence number. Inside the transaction the devices' rows are locked and every frame whose seq
is already durable is dropped, so a frame resent after a reconnect (even to another instance) is stored once.
Only after the commit are the devices acknowledged. The other instances hear of the alerts a batch raised by a
NOTIFY sent in that same transaction (the `in_transaction` hook, `LiveHub._notify_alerts`), so it reaches them
even if this instance dies right after the commit, and never for a batch that rolled back.

One bad frame must never stop storage for everyone. A batch whose transaction fails for a reason that is not
the database being away (see `is_transient`) is split in halves and each half retried, down to the one frame
at fault: that frame is refused (its device is told, a tracker's request answered with a 4xx) and every other
frame commits and is acknowledged. The writer's task is supervised: if it dies anyway it is restarted, and
the log and `/health` say so.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Any

import asyncpg
import msgspec

from backend.alerts import repository as alerts_repo
from backend.alerts.logic import RAISING_FRAMES, StoredAlert, field_alert
from backend.db.pool import Conn
from backend.live import repository as repo
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
    ahead: int = 0  # frames queued before it when it was added (for the safety trace)


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
TransactionHook = Callable[[Conn, "FlushResult"], Awaitable[None]]
"""Runs inside a batch's transaction after it is written (e.g. NOTIFY the other instances of its alerts)."""
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


def _ms(later: datetime, earlier: datetime) -> float:
    return (later - earlier).total_seconds() * 1000


def _trace_safety(lane: str, batch: Sequence[Pending], taken_at: datetime, acquired_at: datetime) -> None:
    """One log line per safety frame made durable: where its time went between the socket and the commit
    (in the queue behind how many frames, waiting for a connection, writing its batch)."""
    now = datetime.now(UTC)
    for item in batch:
        if isinstance(item.frame, RAISING_FRAMES):
            log.info(
                "safety frame durable: kind=%s device=%d seq=%d lane=%s arrival_to_commit_ms=%.0f "
                "queued_ms=%.0f ahead=%d pool_ms=%.0f write_ms=%.0f batch=%d",
                type(item.frame).__name__,
                item.device_id,
                item.frame.seq,
                lane,
                _ms(now, item.received_at),
                _ms(taken_at, item.received_at),
                item.ahead,
                _ms(acquired_at, taken_at),
                _ms(now, acquired_at),
                len(batch),
            )


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


@dataclass(eq=False)
class _Lane:
    """One of the writer's two lanes: its connections, the devices whose frames it is writing now, and what of
    its batch is not committed yet (sub-batches in order: a failing batch is split in place)."""

    name: str
    pool: asyncpg.Pool
    wake: asyncio.Event = field(default_factory=asyncio.Event)
    devices: set[int] = field(default_factory=set)
    pending: list[list[Pending]] = field(default_factory=list)
    taken_at: datetime = field(default_factory=lambda: datetime.now(UTC))
    acquired_at: datetime = field(default_factory=lambda: datetime.now(UTC))
    task: asyncio.Task[None] | None = None

    def uncommitted(self) -> list[Pending]:
        return [item for part in self.pending for item in part]


class FieldWriter:
    """Queues field frames and writes them in two lanes, each with connections of its own.

    The routine lane flushes batches every flush_interval_s or max_rows. The safety lane writes a device's
    frames the moment a safety frame of it (noodknop, assistance, man_down) is queued: that device's queued
    frames up to and including it, in a small transaction on its own reserved connection, so a noodknop never
    waits for a routine batch to gather, for a big batch of other devices' positions, for a batch being split
    around a bad frame, or for a pool emptied by other work.

    A device's frames are in at most one lane at a time and in seq order (its durable `last_seq` is a high
    mark: a later frame made durable first would make the earlier ones look like resends). So the routine lane
    leaves the frames of a device with a safety frame waiting in the queue; a routine batch already being
    written with such a device in it lets go of that device's frames at its next step (before a retry or the
    next half of a split), and the safety lane takes them over; only a routine transaction already running is
    waited for.
    """

    def __init__(
        self,
        pool: asyncpg.Pool,
        on_durable: DurableCallback,
        *,
        on_refused: RefusedCallback = _refuse_nothing,
        safety_pool: asyncpg.Pool | None = None,
        in_transaction: TransactionHook | None = None,
        flush_interval_s: float = 0.25,
        max_rows: int = 1000,
    ) -> None:
        self._on_durable = on_durable
        self._on_refused = on_refused
        self._in_transaction = in_transaction
        self._interval = flush_interval_s
        self._max_rows = max_rows
        self._queue: list[Pending] = []
        self._routine = _Lane("field-writer", pool)
        self._safety = _Lane("field-writer-safety", safety_pool or pool)
        self._urgent: set[int] = set()  # devices with a safety frame waiting (queued or in a routine batch)
        self._safety_quiet = asyncio.Event()  # set while the safety lane writes nothing
        self._safety_quiet.set()
        self._supervisor: asyncio.Task[None] | None = None
        self._stopping = False
        self._partitions_day: date | None = None
        self.flushes = 0
        self.restarts = 0
        self.refused = 0
        self.frame_handlers: dict[type, FrameHandler] = {}

    def use_pools(self, routine: asyncpg.Pool, safety: asyncpg.Pool) -> None:
        """The connections of each lane (before `start`): the hub gives the writer pools of its own."""
        self._routine.pool = routine
        self._safety.pool = safety

    def add(self, item: Pending, *, urgent: bool = False) -> None:
        item.ahead = len(self._queue)
        self._queue.append(item)
        if urgent:
            self._urgent.add(item.device_id)
            self._safety.wake.set()
        elif len(self._queue) >= self._max_rows:
            self._routine.wake.set()

    @property
    def queued(self) -> int:
        return len(self._queue)

    @property
    def status(self) -> str:
        """For `/health`: "running", "restarted N times" or "stopped"."""
        if self._supervisor is None or self._supervisor.done():
            return "stopped"
        return "running" if self.restarts == 0 else f"restarted {self.restarts} times"

    def start(self) -> None:
        self._supervisor = asyncio.create_task(self._supervise(), name="field-writer-supervisor")

    async def stop(self) -> None:
        """Flush what is queued, then stop."""
        self._stopping = True
        self._routine.wake.set()
        self._safety.wake.set()
        if self._supervisor is not None:
            await self._supervisor

    # --- supervision --------------------------------------------------------------------------------------

    async def _supervise(self) -> None:
        """Run both lanes; when a lane's task dies (an error nobody foresaw, or it was cancelled by someone
        else) start it again, so the field's frames keep being stored. What it was writing goes back to the
        queue, so nothing is lost (what it had committed is recognised as durable on the retry)."""
        runs = {self._routine: self._run_routine, self._safety: self._run_safety}
        for lane, body in runs.items():
            lane.task = asyncio.create_task(body(), name=lane.name)
        try:
            while True:
                live = {lane.task for lane in runs if lane.task is not None and not lane.task.done()}
                if not live:
                    return
                await asyncio.wait(live, return_when=asyncio.FIRST_COMPLETED)
                for lane, body in runs.items():
                    run = lane.task
                    if run is None or not run.done():
                        continue
                    if not run.cancelled() and run.exception() is None:
                        lane.task = None  # stopped as asked
                        continue
                    self._give_back(lane)
                    if self._stopping and not self._queue:
                        lane.task = None
                        continue
                    self.restarts += 1
                    error = None if run.cancelled() else run.exception()
                    log.error(
                        "field writer died (%s); restarting it (restart %d)",
                        "cancelled" if error is None else f"{type(error).__name__}: {error}",
                        self.restarts,
                        exc_info=error,
                    )
                    await asyncio.sleep(min(0.05 * self.restarts, 1.0))
                    lane.task = asyncio.create_task(body(), name=lane.name)
        except asyncio.CancelledError:
            for lane in runs:
                if lane.task is not None:
                    lane.task.cancel()
            raise

    def _give_back(self, lane: _Lane) -> None:
        """What a lane took and did not commit goes back to the front of the queue (it is older than
        everything queued since), and its devices are free again."""
        self._queue[:0] = lane.uncommitted()
        lane.pending = []
        lane.devices = set()
        if self._urgent:
            self._safety.wake.set()

    # --- the routine lane ---------------------------------------------------------------------------------

    async def _run_routine(self) -> None:
        lane = self._routine
        backoff = 0.1
        while True:
            # a backlog of a full batch or more (the previous flush could not keep up) is written at once:
            # the rows that would have woken us arrived while we were flushing
            if self._routine_rows() < self._max_rows and not self._stopping:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(lane.wake.wait(), self._interval)
            lane.wake.clear()
            if self._routine_rows():
                try:
                    await self._flush(lane, self._take_routine())
                    backoff = 0.1
                except (OSError, asyncpg.PostgresError, asyncpg.InterfaceError) as exc:
                    # keep the batch; it is retried: nothing acknowledged is ever lost
                    log.warning("flush failed, retrying in %.1fs: %s", backoff, exc)
                    await asyncio.sleep(backoff)
                    backoff = min(backoff * 2, 5.0)
                    if self._stopping and backoff >= 5.0:
                        return
                    continue
            if self._stopping and not self._queue and self._safety_idle():
                return
            if self._stopping and not self._routine_rows():
                await asyncio.sleep(0.01)  # the safety lane is writing the rest

    def _safety_idle(self) -> bool:
        return not self._safety.devices and (self._safety.task is None or self._safety.task.done())

    def _held(self) -> set[int]:
        """Devices whose queued frames the routine lane leaves alone: the safety lane has them or will."""
        if self._stopping and self._safety_idle():
            return set()  # stopping: the routine lane writes whatever is left
        return self._urgent | self._safety.devices

    def _routine_rows(self) -> int:
        """How many queued frames the routine lane may take now."""
        held = self._held()
        if not held:
            return len(self._queue)
        return sum(1 for item in self._queue if item.device_id not in held)

    def _take_routine(self) -> list[Pending]:
        """The next routine batch: the oldest frames, up to 5 × max_rows, of devices no safety frame waits
        for; the rest stays queued in order."""
        cap = max(self._max_rows * 5, 1)
        held = self._held()
        if not held:
            head = self._queue[:cap]
            del self._queue[:cap]
            return head
        batch: list[Pending] = []
        rest: list[Pending] = []
        for item in self._queue:
            (batch if len(batch) < cap and item.device_id not in held else rest).append(item)
        self._queue = rest
        return batch

    def _let_go(self, lane: _Lane) -> None:
        """A routine batch lets go of the frames of devices a safety frame now waits for (at a step between
        transactions): they go back to the queue, in order, for the safety lane."""
        if lane is not self._routine or not (self._urgent & lane.devices) or self._stopping:
            return
        released = self._urgent & lane.devices
        keep: list[list[Pending]] = []
        back: list[Pending] = []
        for part in lane.pending:
            back += [item for item in part if item.device_id in released]
            rest = [item for item in part if item.device_id not in released]
            if rest:
                keep.append(rest)
        lane.pending = keep
        lane.devices -= released
        self._queue[:0] = back
        self._safety.wake.set()

    # --- the safety lane ----------------------------------------------------------------------------------

    async def _run_safety(self) -> None:
        lane = self._safety
        backoff = 0.1
        while True:
            if self._stopping:
                return  # the routine lane writes what is left, in order
            await lane.wake.wait()
            lane.wake.clear()
            # a device whose frames a routine transaction is writing right now waits for its commit (the
            # routine lane wakes us when it lets go of them)
            devices = self._urgent - self._routine.devices
            if not devices or self._stopping:
                continue
            batch = [item for item in self._queue if item.device_id in devices]
            self._queue = [item for item in self._queue if item.device_id not in devices]
            try:
                await self._flush(lane, batch)
                backoff = 0.1
            except (OSError, asyncpg.PostgresError, asyncpg.InterfaceError) as exc:
                log.warning("safety flush failed, retrying in %.1fs: %s", backoff, exc)
                await asyncio.sleep(backoff)
                backoff = min(backoff * 2, 5.0)
                lane.wake.set()
                continue
            # a device stays urgent while another safety frame of it came in meanwhile
            still = {
                item.device_id
                for item in self._queue
                if item.device_id in devices and isinstance(item.frame, RAISING_FRAMES)
            }
            self._urgent = (self._urgent - devices) | still
            if still:
                lane.wake.set()

    # --- writing ------------------------------------------------------------------------------------------

    async def _flush(self, lane: _Lane, batch: list[Pending]) -> None:
        """Write a lane's batch; whatever is not committed when this fails goes back to the queue."""
        if not batch:
            return
        lane.pending = [batch]
        lane.devices = {item.device_id for item in batch}
        lane.taken_at = datetime.now(UTC)
        if lane is self._safety:
            self._safety_quiet.clear()
        try:
            async with lane.pool.acquire() as conn:
                lane.acquired_at = datetime.now(UTC)
                today = lane.acquired_at.date()
                if self._partitions_day != today:
                    await repo.ensure_partitions(conn, today)
                    self._partitions_day = today
                await self._write(conn, lane)
        finally:
            if lane is self._safety:
                self._safety_quiet.set()
            self._give_back(lane)  # nothing, when all went well

    async def flush(self) -> None:
        """Write everything queued now (in the routine lane)."""
        await self._flush(self._routine, self._take_routine())

    async def _write(self, conn: Conn, lane: _Lane) -> None:
        """Write the lane's batch in one transaction; if something in it is at fault, write each half in turn
        (in order, so every device's frames stay in seq order) until the one frame at fault is refused."""
        while True:
            if lane is self._routine and not self._stopping:
                # a safety transaction running now has the database to itself: routine work waits for it
                await self._safety_quiet.wait()
            self._let_go(lane)
            if not lane.pending:
                return
            part = lane.pending[0]
            try:
                async with conn.transaction():
                    result = await write_batch(conn, part, self.frame_handlers)
                    if self._in_transaction is not None:
                        await self._in_transaction(conn, result)
            except Exception as exc:
                if is_transient(exc):
                    raise
                if len(part) > 1:
                    half = len(part) // 2
                    lane.pending[:1] = [part[:half], part[half:]]
                    continue
                lane.pending.pop(0)
                await self._refuse(part[0], exc)
                continue
            lane.pending.pop(0)
            self.flushes += 1
            _trace_safety(lane.name, part, lane.taken_at, lane.acquired_at)
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
