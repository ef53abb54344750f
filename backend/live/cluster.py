"""Instances of one Schakel on one PostgreSQL: the low-rate events between them, and who raises tick alerts.

Each instance holds ONE long-lived connection of its own (outside the pool) that LISTENs on one channel.
An instance that changed something another instance must act on (an alert raised, escalated or
acknowledged; a device revoked; a task or message for a tablet it does not hold) sends a NOTIFY with ids
only; the receiver reads the rows itself. Events are handled one at a time in the order they arrive.
An alert's NOTIFY is sent inside the transaction that stores (or acknowledges, escalates) it
(`notify_alerts`): PostgreSQL delivers it exactly when the row commits, so an instance that dies right after
its commit cannot leave the other instances' consoles without that alert, and a rolled-back write sends none.

When the listener connection is lost, the bus reconnects with backoff and hands `on_gap(since)` the moment
it was lost, so the hub catches up from the tables (an instance that missed a NOTIFY reads what changed).

The same connection holds a session advisory lock: the instance that holds it is the *leader* and alone
raises tick-driven alerts and escalation steps. When the leader dies, its connection ends, PostgreSQL
releases the lock, and the next instance that asks takes it over (every tick, via `lead()`).

Positions do not travel here: each instance reads the changed `unit_live` rows once per tick.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import uuid
from collections.abc import Awaitable, Callable, Collection
from datetime import UTC, datetime
from typing import Any

import asyncpg

log = logging.getLogger(__name__)

CHANNEL = "schakel_cluster"
# pg_try_advisory_lock(key): one key per database, so test databases on one server do not share a leader
LEADER_KEY = 0x5C4A4B45  # "SCKE"
# the listener connection's application_name (with the instance id after it): pg_stat_activity then shows
# which instances are listening on this database right now (`others_listening`)
APPLICATION = "schakel-cluster"
BACKOFF_START_S = 0.1
BACKOFF_MAX_S = 5.0

OnEvent = Callable[[dict[str, Any]], Awaitable[None]]
OnGap = Callable[[datetime], Awaitable[None]]


def event_payload(instance: str, kind: str, **ids: int | str | list[int] | list[float | None]) -> str:
    return json.dumps({"k": kind, "i": instance, **ids}, separators=(",", ":"))


async def notify_alerts(conn: Any, instance: str, alert_ids: Collection[int]) -> None:
    """Tell the other instances about these alerts, through `conn` INSIDE the transaction that stored them:
    the NOTIFY goes out at that commit and not at all on a rollback. A failure here fails the transaction
    (the caller retries it), so a stored alert is never left unannounced."""
    for alert_id in alert_ids:
        await conn.execute("SELECT pg_notify($1, $2)", CHANNEL, event_payload(instance, "alert", id=alert_id))


class ClusterBus:
    def __init__(self, url: str, on_event: OnEvent, on_gap: OnGap) -> None:
        self.url = url
        self.instance = uuid.uuid4().hex[:12]
        self.on_event = on_event
        self.on_gap = on_gap
        self.leader = False
        self.connected = asyncio.Event()
        self._conn: asyncpg.Connection | None = None
        self._conn_lock = asyncio.Lock()  # the listener connection runs one statement at a time
        self._queue: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
        self._tasks: list[asyncio.Task[None]] = []

    async def start(self) -> None:
        self._tasks = [
            asyncio.create_task(self._listen(), name="cluster-listener"),
            asyncio.create_task(self._consume(), name="cluster-events"),
        ]
        with contextlib.suppress(TimeoutError):  # a database that is slow to answer: the loop keeps trying
            await asyncio.wait_for(self.connected.wait(), 10)

    async def stop(self) -> None:
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        conn, self._conn = self._conn, None
        self.leader = False
        if conn is not None:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(conn.close(), 2)

    # --- sending ------------------------------------------------------------------------------------------

    async def publish(self, conn: Any, kind: str, **ids: int | str | list[int] | list[float | None]) -> None:
        """Tell the other instances (ids only). Sent through `conn` (a pool connection): inside a transaction
        it goes out at commit, so the receiver finds the row. A failure is logged; the gap catch-up and
        reconnects make up for it."""
        payload = event_payload(self.instance, kind, **ids)
        try:
            await conn.execute("SELECT pg_notify($1, $2)", CHANNEL, payload)
        except Exception:
            log.exception("cluster: could not publish %s", kind)

    async def publish_in_transaction(
        self, conn: Any, kind: str, **ids: int | str | list[int] | list[float | None]
    ) -> None:
        """`publish` inside the caller's transaction (it goes out at the commit). In a savepoint of its own: a
        failing NOTIFY is logged and never fails the caller's transaction."""
        payload = json.dumps({"k": kind, "i": self.instance, **ids}, separators=(",", ":"))
        try:
            async with conn.transaction():
                await conn.execute("SELECT pg_notify($1, $2)", CHANNEL, payload)
        except Exception:
            log.exception("cluster: could not publish %s", kind)

    async def others_listening(self, conn: Any) -> bool:
        """Whether another instance listens on this database now (its listener connection is open), read
        through `conn` (a pool connection). True when it cannot tell (a query that fails): the caller then
        waits its bounded time as before. An instance whose listener is away catches up when it is back
        (`on_gap`), so one that is not listening at this moment misses nothing by not being waited for."""
        try:
            found: bool = await conn.fetchval(
                """SELECT EXISTS (SELECT 1 FROM pg_stat_activity
                                  WHERE datname = current_database() AND application_name LIKE $1
                                    AND application_name <> $2)""",
                f"{APPLICATION} %",
                f"{APPLICATION} {self.instance}",
            )
        except Exception:
            log.exception("cluster: could not tell whether other instances listen")
            return True
        return bool(found)

    # --- leadership ---------------------------------------------------------------------------------------

    async def lead(self) -> bool:
        """True if this instance raises the tick-driven alerts now (it holds the lock or just took it)."""
        conn = self._conn
        if conn is None or conn.is_closed():
            self.leader = False
            return False
        if self.leader:
            return True
        try:
            async with self._conn_lock:
                self.leader = bool(await conn.fetchval("SELECT pg_try_advisory_lock($1)", LEADER_KEY))
        except Exception:
            self.leader = False
        if self.leader:
            log.info("cluster: instance %s raises the tick alerts now", self.instance)
        return self.leader

    # --- receiving ----------------------------------------------------------------------------------------

    def _on_notify(self, _conn: Any, _pid: int, _channel: str, payload: object) -> None:
        try:
            event = json.loads(str(payload))
        except ValueError:
            log.warning("cluster: unreadable notification %r", str(payload)[:200])
            return
        if isinstance(event, dict) and event.get("i") != self.instance:
            self._queue.put_nowait(event)

    async def _consume(self) -> None:
        while True:
            event = await self._queue.get()
            try:
                await self.on_event(event)
            except Exception:
                log.exception("cluster: event %s failed", event.get("k"))

    async def _listen(self) -> None:
        backoff = BACKOFF_START_S
        lost_at: datetime | None = None
        while True:
            closed = asyncio.Event()
            try:
                conn = await asyncpg.connect(
                    self.url, server_settings={"application_name": f"{APPLICATION} {self.instance}"}
                )
                conn.add_termination_listener(lambda _c, ended=closed: ended.set())
                await conn.add_listener(CHANNEL, self._on_notify)
                self._conn = conn
                self.connected.set()
                backoff = BACKOFF_START_S
                if lost_at is not None:
                    log.info("cluster: listener back; catching up from %s", lost_at.isoformat())
                    await self.on_gap(lost_at)
                lost_at = None
                while not closed.is_set():  # a dead socket is only noticed when used: look every second
                    with contextlib.suppress(TimeoutError):
                        await asyncio.wait_for(closed.wait(), 1.0)
                    if not closed.is_set():
                        async with self._conn_lock:
                            await asyncio.wait_for(conn.fetchval("SELECT 1"), 5)
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                log.warning("cluster: listener connection lost (%s); retrying in %.1f s", exc, backoff)
            if lost_at is None:
                lost_at = datetime.now(UTC)
            self.leader = False
            self.connected.clear()
            old, self._conn = self._conn, None
            if old is not None:
                old.terminate()
            await asyncio.sleep(backoff)
            backoff = min(backoff * 2, BACKOFF_MAX_S)
