"""The batched, durable writer of everything the field sends.

Frames are queued in arrival order. A flush writes a whole batch in one transaction: positions by COPY into
the partitioned history, other frames into field_events (plus status changes and alerts), and per device the
highest durable sequence number. Inside the transaction the devices' rows are locked and every frame whose seq
is already durable is dropped, so a frame resent after a reconnect (even to another instance) is stored once.
Only after the commit are the devices acknowledged.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Mapping, Sequence
from datetime import UTC, date, datetime, timedelta
from typing import Any

import asyncpg
import msgspec

from shared.protocol import (
    AssistanceRequested,
    NoodknopPressed,
    PositionReported,
    SequencedFrame,
    StatusChanged,
)

log = logging.getLogger(__name__)

POSITION_COLUMNS = (
    "device_id", "unit_id", "seq", "at", "lon", "lat", "accuracy_m", "speed_mps", "heading_deg", "late",
    "received_at",
)


class Pending(msgspec.Struct, kw_only=True):
    device_id: int
    unit_id: int | None
    org_id: int
    frame: SequencedFrame
    received_at: datetime


class StoredAlert(msgspec.Struct, frozen=True, kw_only=True):
    alert_id: int
    org_id: int
    unit_id: int | None
    kind: str
    at: datetime
    lon: float | None
    lat: float | None
    text: str


class FlushResult(msgspec.Struct, frozen=True, kw_only=True):
    durable: dict[int, int]  # device id -> highest durable seq
    alerts: list[StoredAlert]
    statuses: list[tuple[int, str, datetime]]  # (unit, status, at) applied
    positions: int
    outcomes: list[Any] = []  # what frame handlers of other domains returned (e.g. task progress)


DurableCallback = Callable[[FlushResult], Awaitable[None]]
FrameHandler = Callable[[asyncpg.Connection, Pending], Awaitable[Any]]
"""Handles one stored frame of a kind this module does not know, inside the batch's transaction."""


def partition_name(day: date) -> str:
    return f"positions_{day:%Y%m%d}"


async def ensure_partitions(conn: asyncpg.Connection, today: date, days_ahead: int = 2) -> None:
    """Create the daily history partitions from yesterday to days_ahead ahead (idempotent)."""
    for offset in range(-1, days_ahead + 1):
        day = today + timedelta(days=offset)
        name = partition_name(day)
        exists = await conn.fetchval("SELECT to_regclass($1)", name)
        if exists is None:
            start, end = day.isoformat(), (day + timedelta(days=1)).isoformat()
            try:
                await conn.execute(
                    f"CREATE TABLE {name} PARTITION OF positions FOR VALUES FROM ('{start}') TO ('{end}')"
                )
            except (asyncpg.DuplicateTableError, asyncpg.CheckViolationError) as exc:
                # another instance made it, or the default partition already holds rows of that day
                log.info("partition %s not created: %s", name, exc)


async def write_batch(
    conn: asyncpg.Connection, batch: Sequence[Pending], handlers: Mapping[type, FrameHandler] | None = None
) -> FlushResult:
    """Write one batch durably (the caller commits); drop frames that are already durable."""
    device_ids = sorted({p.device_id for p in batch})
    rows = await conn.fetch(
        "SELECT id, last_seq FROM devices WHERE id = ANY($1) ORDER BY id FOR UPDATE", device_ids
    )
    durable = {r["id"]: r["last_seq"] for r in rows}
    positions: list[tuple[object, ...]] = []
    events: list[Pending] = []
    for item in batch:
        last = durable.get(item.device_id)
        if last is None or item.frame.seq <= last:
            continue  # unknown device (deleted) or already durable: stored once
        durable[item.device_id] = item.frame.seq
        frame = item.frame
        if isinstance(frame, PositionReported):
            if item.unit_id is None:
                continue  # not on shift: staff are tracked only on shift; the seq still advances
            positions.append((
                item.device_id, item.unit_id, frame.seq, frame.at, frame.lon, frame.lat, frame.accuracy_m,
                frame.speed_mps, frame.heading_deg, frame.late, item.received_at,
            ))
        else:
            events.append(item)
    if positions:
        await conn.copy_records_to_table("positions", records=positions, columns=POSITION_COLUMNS)
        latest: dict[int, tuple[object, ...]] = {}
        for p in positions:
            unit_id = p[1]
            if not p[9] and (unit_id not in latest or p[3] >= latest[unit_id][3]):  # type: ignore[operator]
                latest[unit_id] = p  # type: ignore[index]
        if latest:
            # one set-based statement, not one per unit: a batch touches every connected unit
            rows = list(latest.values())  # (device, unit, seq, at, lon, lat, accuracy, speed, heading, ...)
            await conn.execute(
                """INSERT INTO unit_live (unit_id, at, lon, lat, accuracy_m, speed_mps, heading_deg, updated_at)
                   SELECT *, now() FROM unnest($1::integer[], $2::timestamptz[], $3::float8[], $4::float8[],
                                               $5::real[], $6::real[], $7::real[])
                   ON CONFLICT (unit_id) DO UPDATE SET at = EXCLUDED.at, lon = EXCLUDED.lon, lat = EXCLUDED.lat,
                     accuracy_m = EXCLUDED.accuracy_m, speed_mps = EXCLUDED.speed_mps,
                     heading_deg = EXCLUDED.heading_deg, updated_at = now()
                   WHERE unit_live.at <= EXCLUDED.at""",
                list(latest), *([p[i] for p in rows] for i in range(3, 9)),
            )
    alerts: list[StoredAlert] = []
    statuses: list[tuple[int, str, datetime]] = []
    outcomes: list[Any] = []
    for item in events:
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
    changed = [(d, s) for d, s in durable.items() if s is not None]
    if changed:
        await conn.execute(
            """UPDATE devices d SET last_seq = v.seq FROM unnest($1::integer[], $2::bigint[]) AS v(id, seq)
               WHERE d.id = v.id AND d.last_seq < v.seq""",
            [d for d, _ in changed], [s for _, s in changed],
        )
    return FlushResult(durable=dict(changed), alerts=alerts, statuses=statuses, positions=len(positions),
                       outcomes=outcomes)


async def _write_event(
    conn: asyncpg.Connection, item: Pending
) -> tuple[StoredAlert | None, tuple[int, str, datetime] | None]:
    frame = item.frame
    payload = msgspec.to_builtins(frame)
    late = bool(getattr(frame, "late", False))
    event_id = await conn.fetchval(
        """INSERT INTO field_events (device_id, unit_id, seq, kind, at, payload, late, received_at)
           VALUES ($1, $2, $3, $4, $5, $6, $7, $8) ON CONFLICT (device_id, seq) DO NOTHING RETURNING id""",
        item.device_id, item.unit_id, frame.seq, payload["kind"], frame.at, payload, late, item.received_at,
    )
    if event_id is None:
        return None, None
    if isinstance(frame, StatusChanged):
        if item.unit_id is None:
            return None, None
        # a late status older than the current one is history, not the unit's status now
        await conn.execute(
            """UPDATE units SET status = $2, status_since = $3
               WHERE id = $1 AND status_since <= $3 AND status IS DISTINCT FROM $2""",
            item.unit_id, frame.status.value, frame.at,
        )
        return None, (item.unit_id, frame.status.value, frame.at)
    if isinstance(frame, NoodknopPressed | AssistanceRequested):
        kind = "noodknop" if isinstance(frame, NoodknopPressed) else "assistance"
        text = frame.text if isinstance(frame, AssistanceRequested) else ""
        alert_id = await conn.fetchval(
            """INSERT INTO alerts (org_id, unit_id, kind, at, payload, source_event_id)
               VALUES ($1, $2, $3, $4, $5, $6) RETURNING id""",
            item.org_id, item.unit_id, kind, frame.at,
            {"lon": frame.lon, "lat": frame.lat, "text": text, "device_id": item.device_id}, event_id,
        )
        alert = StoredAlert(
            alert_id=alert_id, org_id=item.org_id, unit_id=item.unit_id, kind=kind, at=frame.at,
            lon=frame.lon, lat=frame.lat, text=text,
        )
        return alert, None
    return None, None


class FieldWriter:
    """Queues field frames and flushes them in batches (every flush_interval_s or max_rows)."""

    def __init__(
        self, pool: asyncpg.Pool, on_durable: DurableCallback, *, flush_interval_s: float = 0.25,
        max_rows: int = 1000,
    ) -> None:
        self._pool = pool
        self._on_durable = on_durable
        self._interval = flush_interval_s
        self._max_rows = max_rows
        self._queue: list[Pending] = []
        self._wake = asyncio.Event()
        self._urgent = False
        self._task: asyncio.Task[None] | None = None
        self._stopping = False
        self._partitions_day: date | None = None
        self.flushes = 0
        self.frame_handlers: dict[type, FrameHandler] = {}

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

    def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="field-writer")

    async def stop(self) -> None:
        """Flush what is queued, then stop."""
        self._stopping = True
        self._wake.set()
        if self._task is not None:
            await self._task

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
                await ensure_partitions(conn, today)
                self._partitions_day = today
            async with conn.transaction():
                result = await write_batch(conn, batch, self.frame_handlers)
        del self._queue[: len(batch)]
        self.flushes += 1
        await self._on_durable(result)
