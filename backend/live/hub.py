"""The live hub: wires the field links, the live picture, the batched writer and the operator mailboxes
together, and runs the operator tick.

It keeps no rules of its own: the picture decides what a position or a tick changes (`picture.py`), the
writer what of a batch is new (`writer.py`), `backend/alerts` what an alert means for whom, and the SQL
lives in the repositories. The hub says in which order these happen.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import logging
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import asyncpg
import msgspec

from backend.alerts import repository as alerts_repo
from backend.alerts.escalation import (
    DEFAULT_SETTINGS,
    AlarmSettings,
    CheckinTimer,
    Escalating,
    UnitPlace,
    colleague_alarm,
    due_level,
    missed,
    recipients,
)
from backend.alerts.logic import (
    RAISING_FRAMES,
    SEEN_RESEND,
    is_urgent,
    seen_frame,
    sets_emergency,
    stored_view,
)
from backend.db.pool import Conn, create_pool
from backend.geofencing.logic import PreparedBeats
from backend.geofencing.repository import load_prepared
from backend.live import repository as repo
from backend.live.cluster import ClusterBus, notify_alerts
from backend.live.links import FieldLink, FieldLinks, SendBytes
from backend.live.mailboxes import Mailboxes, OperatorMailbox
from backend.live.osmand import TrackerReport
from backend.live.picture import LivePicture, PictureTick, RoutineRules
from backend.live.sequences import DeviceSequences
from backend.live.trackers import TrackerFixes
from backend.live.writer import FieldWriter, FlushResult, Pending
from backend.orgs import repository as orgs_repo
from backend.orgs.repository import Device
from backend.settings import Settings
from shared.protocol import (
    SAFETY_ALERTS,
    AlertKind,
    AlertView,
    AreaAlertView,
    CheckIn,
    Error,
    IncidentView,
    MessageView,
    PositionReported,
    SequencedFrame,
    StatusChanged,
    TimelineEntry,
    UnitStatus,
    UnitView,
    encoder,
)

log = logging.getLogger(__name__)

SEEN_SEND_TIMEOUT_S = 2.0
OWED_ANSWER_S = 0.5  # how long a push waits for the instance that holds the tablet to say it sent it
LOCAL = ZoneInfo("Europe/Amsterdam")  # the time a boa reads in the alert's text


async def _discard(_: bytes) -> None:
    return None


async def _nothing(code: str = "revoked") -> None:
    return None


class LiveHub:
    def __init__(self, pool: asyncpg.Pool, settings: Settings) -> None:
        self.pool = pool
        self.settings = settings
        self.picture = LivePicture(
            PreparedBeats([]),
            RoutineRules(
                outside_min_s=settings.outside_min_s,
                outside_min_m=settings.outside_min_m,
                stale_min_s=settings.stale_min_s,
                apart_min_s=settings.apart_min_s,
                clear_s=settings.routine_clear_s,
            ),
        )
        # connections of their own, never waiting behind logins, pages and exports on the shared pool: the
        # writer's two lanes (one each) and the alarm work of the tick and the consoles (`start`)
        self.alarm_pool = pool
        self._own_pools: list[asyncpg.Pool] = []
        self._listeners_tail: asyncio.Task[None] | None = None
        self.writer = FieldWriter(
            pool,
            self._on_durable,
            on_refused=self._on_refused,
            in_transaction=self._notify_alerts,
            flush_interval_s=settings.flush_interval_s,
            max_rows=settings.flush_max_rows,
        )
        self.links = FieldLinks()
        self.sequences = DeviceSequences()
        self.mailboxes = Mailboxes()
        self.trackers = TrackerFixes()
        self.escalating: dict[int, Escalating] = {}  # open safety alerts nobody acknowledged yet
        self.checkins: dict[int, CheckinTimer] = {}  # device -> its running check-in timer
        self.alarm_settings: dict[int, AlarmSettings] = {}  # org -> how it escalates (absent: defaults)
        self._tick_task: asyncio.Task[None] | None = None
        # hooks for other domains (dispatch): a device connected, a batch became durable, a snapshot is built
        self.attach_listeners: list[Callable[[FieldLink], Awaitable[None]]] = []
        self.flush_listeners: list[Callable[[FlushResult], Awaitable[None]]] = []
        self.snapshot_providers: list[Callable[[frozenset[int]], Awaitable[dict[str, Any]]]] = []
        self.revoke_listeners: list[Callable[[int], None]] = []  # a device was revoked (maybe elsewhere)
        # the other instances on this database: low-rate events by NOTIFY, the tick-alert lease
        self.cluster = ClusterBus(settings.database_url or "", self._on_cluster_event, self._catch_up)
        self._live_since: datetime | None = None  # the database time of the last unit_live read
        self._was_leader = False
        self._owed_asks = itertools.count(1)
        self._owed_waiting: dict[int, asyncio.Future[None]] = {}  # ask -> answered by the tablet's instance
        # other domains' low-rate events between instances: kind -> handler (True: it acted, answer the asker)
        self.cluster_handlers: dict[str, Callable[[dict[str, Any]], Awaitable[bool]]] = {}
        self._asked: dict[int, asyncio.Event] = {}  # ask -> set by each instance that answers it
        self._waiters: dict[str, set[asyncio.Event]] = {}  # key -> requests here waiting for a row to change

    # --- lifecycle ----------------------------------------------------------------------------------------

    async def start(self) -> None:
        await self.reload()
        await self.cluster.start()
        if self.settings.database_url:
            writer_pool = await create_pool(self.settings.database_url, min_size=2, max_size=2)
            self.alarm_pool = await create_pool(self.settings.database_url, min_size=1, max_size=2)
            self._own_pools = [writer_pool, self.alarm_pool]
            self.writer.use_pools(writer_pool, writer_pool)  # each lane holds one connection at a time
        self.writer.start()
        self._tick_task = asyncio.create_task(self._tick_loop(), name="operator-tick")

    async def stop(self) -> None:
        if self._tick_task is not None:
            self._tick_task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._tick_task
        self.mailboxes.remove_all()
        await self.writer.stop()
        if self._listeners_tail is not None:
            with contextlib.suppress(Exception):
                await self._listeners_tail
        await self.cluster.stop()
        for own in self._own_pools:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(own.close(), 5)
        self._own_pools = []
        self.alarm_pool = self.pool

    async def reload(self) -> None:
        """Load beats and units (with their last known positions) from the database."""
        async with self.pool.acquire() as conn:
            self.picture.beats = await load_prepared(conn)
            units = await repo.active_units(conn)
            open_routine = await alerts_repo.open_routine(conn)
            unacknowledged = await alerts_repo.unacknowledged_safety(conn)
            timers = await alerts_repo.checkin_timers(conn)
            org_settings = await alerts_repo.all_alarm_settings(conn)
        self.picture.load(units)
        for unit_id, kind in open_routine:
            self.picture.mark_open(unit_id, AlertKind(kind))
        now = datetime.now(UTC)
        # an alert from before a restart: its escalation clock counts from when it was raised
        for view, device_id in unacknowledged:
            known = self.escalating.get(view.alert_id)
            since = known.since if known is not None else min(view.at, now)
            self.escalating[view.alert_id] = Escalating(
                view=view, device_id=device_id, since=since, told=known.told if known else {}
            )
        self.checkins = {
            t["device_id"]: CheckinTimer(
                device_id=t["device_id"],
                org_id=t["org_id"],
                unit_id=t["unit_id"],
                next_due=t["next_due"],
                set_at=t["set_at"],
                fired=t["fired"],
            )
            for t in timers
        }
        self.alarm_settings = {org: AlarmSettings(**values) for org, values in org_settings.items()}

    def settings_for(self, org_id: int) -> AlarmSettings:
        return self.alarm_settings.get(org_id, DEFAULT_SETTINGS)

    def set_alarm_settings(self, org_id: int, settings: AlarmSettings) -> None:
        """An organisation changed how it escalates (`PUT .../alarm-settings`): the next tick uses it."""
        self.alarm_settings[org_id] = settings

    async def refresh_unit(self, unit_id: int) -> None:
        """Re-read one unit after an HTTP change (new unit, shift started or ended, beats assigned)."""
        async with self.pool.acquire() as conn:
            unit = await repo.unit_without_position(conn, unit_id)
            on_unit = await repo.device_units(conn, self.links.device_ids())
        if unit is not None:
            self.picture.put_unit(unit)
        for device_id, device_unit in on_unit.items():
            link = self.links.get(device_id)
            if link is not None:
                link.unit_id = device_unit

    async def reload_beats(self) -> None:
        async with self.pool.acquire() as conn:
            self.picture.beats = await load_prepared(conn)

    # --- field side ---------------------------------------------------------------------------------------

    def attach(self, link: FieldLink, durable_seq: int) -> FieldLink | None:
        """Register a device's socket; returns the link it replaces (to be closed)."""
        self.sequences.connected(link.device_id, durable_seq)
        return self.links.attach(link)

    async def device_attached(self, link: FieldLink) -> None:
        """After the welcome: the device hears again what it is owed (seen alerts, open tasks, unread
        messages)."""
        if link.protocol >= 2:
            with contextlib.suppress(Exception):  # from the alerts table: whichever instance acknowledged it
                async with self.pool.acquire() as conn:
                    owed = await alerts_repo.seen_owed(
                        conn, link.device_id, link.unit_id, datetime.now(UTC) - SEEN_RESEND
                    )
                for view in owed:
                    frame = seen_frame(view)
                    if frame is not None:
                        await link.send(frame)
        for listener in self.attach_listeners:
            try:
                await listener(link)
            except Exception:
                log.exception("attach listener failed")

    def link_for_unit(self, unit_id: int) -> FieldLink | None:
        return self.links.for_unit(unit_id)

    def detach(self, link: FieldLink) -> None:
        self.links.detach(link)

    def durable_seq(self, device_id: int) -> int:
        return self.sequences.durable(device_id)

    def accept(self, link: FieldLink, frame: SequencedFrame, now: datetime) -> bool:
        """Take a sequenced frame from a device. False if it was a resend of one already taken."""
        if not self.sequences.take(link.device_id, frame.seq):
            return False
        self.writer.add(
            Pending(
                device_id=link.device_id,
                unit_id=link.unit_id,
                org_id=link.org_id,
                frame=frame,
                received_at=now,
            ),
            urgent=isinstance(frame, RAISING_FRAMES),
        )
        if link.unit_id is not None:
            if isinstance(frame, PositionReported):
                self.picture.apply_position(link.unit_id, frame, link.device_id)
            elif isinstance(frame, StatusChanged):  # a late one only if it is still the newest
                self.picture.apply_status(link.unit_id, frame.status, frame.at)
        if isinstance(frame, CheckIn):
            self._take_checkin(link, frame)
        return True

    def _take_checkin(self, link: FieldLink, frame: CheckIn) -> None:
        """The timer in memory follows the check-in at once (the writer stores it): a check-in that is still
        on its way to the database already stops the alarm."""
        known = self.checkins.get(link.device_id)
        if known is not None and frame.at < known.set_at:
            return  # an older check-in, resent
        if frame.next_due is None:
            self.checkins.pop(link.device_id, None)
            return
        self.checkins[link.device_id] = CheckinTimer(
            device_id=link.device_id,
            org_id=link.org_id,
            unit_id=link.unit_id,
            next_due=frame.next_due,
            set_at=frame.at,
        )

    async def take_tracker_fix(
        self, device: Device, report: TrackerReport, now: datetime, timeout_s: float
    ) -> None:
        """A tracker's fix goes the way of a tablet's position; returns once it is durable (the tracker's HTTP
        answer waits for that). An exact repeat of the newest fix is dropped."""
        link = self.links.get(device.id) or FieldLink(
            device_id=device.id, org_id=device.org_id, unit_id=device.unit_id, send=_discard, close=_nothing
        )
        link.unit_id = device.unit_id
        seq = self.sequences.next_seq(device.id, device.last_seq)
        frame = self.trackers.position(device.id, seq, report, now)
        if frame is None:
            return
        self.accept(link, frame, now)
        await self.sequences.wait_durable(device.id, frame.seq, timeout_s)

    async def _on_durable(self, result: FlushResult) -> None:
        self.sequences.made_durable(result.durable)
        self.links.post_acks(result.durable)
        for alert in result.alerts:
            if sets_emergency(alert):
                assert alert.unit_id is not None
                self.picture.apply_status(alert.unit_id, UnitStatus.EMERGENCY, alert.at)
            view = stored_view(alert, self.picture.call_sign(alert.unit_id))
            self.mailboxes.push_alert(view)
            self._watch(view, alert.device_id)
        if self.flush_listeners:
            # other domains' follow-ups (they read from the shared pool) run after the writer has moved on,
            # one flush after the other
            previous = self._listeners_tail
            self._listeners_tail = asyncio.create_task(self._run_flush_listeners(previous, result))

    async def _run_flush_listeners(self, previous: asyncio.Task[None] | None, result: FlushResult) -> None:
        if previous is not None:
            with contextlib.suppress(BaseException):
                await previous
        for flushed in self.flush_listeners:
            try:
                await flushed(result)
            except Exception:
                log.exception("flush listener failed")

    async def _notify_alerts(self, conn: Conn, result: FlushResult) -> None:
        """Inside the writer's transaction: the other instances hear of its alerts at its commit."""
        for alert in result.alerts:
            await self.cluster.publish_in_transaction(conn, "alert", id=alert.alert_id)

    async def _on_refused(self, item: Pending, reason: str) -> None:
        """The writer could not store one frame: its device hears so (the rest of its batch is stored)."""
        self.sequences.refused(item.device_id, item.frame.seq, reason)
        self.links.tell(
            item.device_id, encoder.encode(Error(code="not_stored", message=reason, seq=item.frame.seq))
        )

    def kick_device(self, device_id: int) -> Awaitable[None] | None:
        link = self.links.get(device_id)
        return None if link is None else link.close()

    # --- other instances ----------------------------------------------------------------------------------

    async def revoke_device(self, device_id: int) -> None:
        """A device is cut off here and on every other instance (its tokens are revoked in the database)."""
        for listener in self.revoke_listeners:
            listener(device_id)
        async with self.pool.acquire() as conn:
            await self.cluster.publish(conn, "revoke", device=device_id)
        closing = self.kick_device(device_id)
        if closing is not None:
            await closing

    async def owed_elsewhere(self, unit_id: int, wait_s: float = OWED_ANSWER_S) -> bool:
        """Dispatch has something for a unit whose tablet is not connected here: the instance that holds it
        sends what the unit is owed (it reads the rows). True if one said so within `wait_s`; False at once
        when no other instance listens on this database."""
        ask = next(self._owed_asks)
        answered = asyncio.get_running_loop().create_future()
        self._owed_waiting[ask] = answered
        try:
            async with self.pool.acquire() as conn:
                if not await self.cluster.others_listening(conn):
                    return False  # no other instance: connected nowhere (it gets everything when it connects)
                await self.cluster.publish(conn, "owed", unit=unit_id, ask=ask)
            await asyncio.wait_for(answered, wait_s)
            return True
        except TimeoutError:
            return False  # connected nowhere (it gets everything when it connects)
        finally:
            self._owed_waiting.pop(ask, None)

    async def ask_others(
        self,
        kind: str,
        settled: Callable[[], Awaitable[bool]],
        wait_s: float = OWED_ANSWER_S,
        **ids: int | str | list[int],
    ) -> bool:
        """Tell the other instances (`cluster_handlers[kind]` there reads the rows and acts), then wait until
        `settled()` says the rows show it done (re-read whenever one answers), at most `wait_s`. Returns at
        once, without telling anyone, when no other instance listens on this database now. Returns whether
        the others were asked."""
        ask = next(self._owed_asks)
        answered = self._asked[ask] = asyncio.Event()
        loop = asyncio.get_running_loop()
        deadline = loop.time() + wait_s
        try:
            async with self.pool.acquire() as conn:
                if not await self.cluster.others_listening(conn):
                    return False  # nobody to wait for (one that starts later sends what is owed itself)
                await self.cluster.publish(conn, kind, ask=ask, **ids)
            while not await settled():
                left = deadline - loop.time()
                if left <= 0:
                    return True
                answered.clear()
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(answered.wait(), left)
            return True
        finally:
            self._asked.pop(ask, None)

    def waiter(self, key: str) -> asyncio.Event:
        """An event set when `wake_everywhere(key)` is called on any instance (a request here waits for a row
        another instance changes); `unwait` it when done."""
        event = asyncio.Event()
        self._waiters.setdefault(key, set()).add(event)
        return event

    def unwait(self, key: str, event: asyncio.Event) -> None:
        found = self._waiters.get(key)
        if found is not None:
            found.discard(event)
            if not found:
                del self._waiters[key]

    async def wake_everywhere(self, key: str) -> None:
        """Wake whoever waits for `key`, here and on every other instance (call it after the commit)."""
        self._wake(key)
        async with self.pool.acquire() as conn:
            await self.cluster.publish(conn, "wake", key=key)

    def _wake(self, key: str) -> None:
        for event in self._waiters.get(key, ()):
            event.set()

    async def _on_cluster_event(self, event: dict[str, Any]) -> None:
        kind = event.get("k")
        handler = self.cluster_handlers.get(kind) if isinstance(kind, str) else None
        if handler is not None:
            acted = await handler(event)
            if acted and isinstance(event.get("ask"), int):
                async with self.pool.acquire() as conn:
                    await self.cluster.publish(conn, "answered", ask=event["ask"], to=event["i"])
            return
        if kind == "wake" and isinstance(event.get("key"), str):
            self._wake(event["key"])
        elif kind == "answered" and event.get("to") == self.cluster.instance:
            asked = self._asked.get(event.get("ask"))  # type: ignore[arg-type]
            if asked is not None:
                asked.set()
        elif kind == "alert" and isinstance(event.get("id"), int):
            await self._remote_alert(event["id"])
        elif kind == "revoke" and isinstance(event.get("device"), int):
            for listener in self.revoke_listeners:
                listener(event["device"])
            closing = self.kick_device(event["device"])
            if closing is not None:
                await closing
        elif kind == "colleague" and isinstance(event.get("id"), int):
            await self._remote_colleague_alarm(event)
        elif kind == "owed" and isinstance(event.get("unit"), int):
            link = self.links.for_unit(event["unit"])
            if link is not None:
                await self._run_attach_listeners(link)
                if isinstance(event.get("ask"), int):
                    async with self.pool.acquire() as conn:
                        await self.cluster.publish(conn, "owed_sent", ask=event["ask"], to=event["i"])
        elif kind == "owed_sent" and event.get("to") == self.cluster.instance:
            answered = self._owed_waiting.get(event.get("ask"))  # type: ignore[arg-type]
            if answered is not None and not answered.done():
                answered.set_result(None)

    async def _remote_alert(self, alert_id: int) -> None:
        """Another instance raised, escalated, acknowledged or resolved an alert: our consoles see it, our
        tablets hear "gezien", and we watch (or stop watching) its escalation."""
        async with self.pool.acquire() as conn:
            found = await alerts_repo.alert_by_id(conn, alert_id)
        if found is None:
            return
        view, device_id = found
        if view.call_sign is None:
            view = msgspec.structs.replace(view, call_sign=self.picture.call_sign(view.unit_id))
        if view.unit_id is not None and view.kind not in SAFETY_ALERTS and view.resolved_at is None:
            self.picture.mark_open(view.unit_id, view.kind)
        self.mailboxes.push_alert(view)
        if view.acknowledged_at is not None:
            await self._tell_seen(view, device_id)
            self.mailboxes.wake(view.org_id)
            watched = self.escalating.pop(view.alert_id, None)
            if watched is not None and watched.told:
                await self._tell_resolved(watched, view)
        elif is_urgent(view) and view.resolved_at is None:
            watched = self.escalating.get(view.alert_id)
            if watched is None:
                self._watch(view, device_id)
            else:
                watched.view = view

    async def _remote_colleague_alarm(self, event: dict[str, Any]) -> None:
        """The leader escalated an alert to units some of whose tablets are connected here: they hear the
        colleague_alarm from us (and the "resolved" once it is acknowledged)."""
        watched = self.escalating.get(event["id"])
        units, dist, level = event.get("units") or [], event.get("dist") or [], event.get("level")
        if watched is None or not isinstance(level, int) or len(units) != len(dist):
            return
        for unit_id, distance in zip(units, dist, strict=True):
            frame = encoder.encode(colleague_alarm(watched.view, level, distance))
            for link in self.links.of(unit_id, None, min_protocol=2):
                if link.device_id != watched.device_id:
                    watched.told[link.device_id] = unit_id
                    self.links.tell(link.device_id, frame)

    async def _catch_up(self, since: datetime) -> None:
        """After the listener was away: act on every alert that changed since, cut off devices revoked
        since, and send our tablets what they are owed (a task or message may have been announced)."""
        from_ = since - timedelta(seconds=5)
        async with self.pool.acquire() as conn:
            alert_ids = await alerts_repo.alerts_changed_since(conn, from_)
            revoked = await orgs_repo.revoked_device_ids(conn)
        for alert_id in alert_ids:
            await self._remote_alert(alert_id)
        for device_id in revoked:
            for listener in self.revoke_listeners:
                listener(device_id)
            closing = self.kick_device(device_id)
            if closing is not None:
                await closing
        for device_id in self.links.device_ids():
            link = self.links.get(device_id)
            if link is not None and link.unit_id is not None:
                await self._run_attach_listeners(link)

    async def _run_attach_listeners(self, link: FieldLink) -> None:
        for listener in self.attach_listeners:
            try:
                await listener(link)
            except Exception:
                log.exception("attach listener failed")

    async def _merge_live(self) -> None:
        """Positions and statuses other instances stored since the last tick (one read per tick, never a
        message per position); the picture keeps only what is newer than it has."""
        since = self._live_since
        async with self.pool.acquire() as conn:
            if since is None:
                since = await conn.fetchval("SELECT clock_timestamp()") - timedelta(seconds=1)
            positions, statuses, now = await repo.live_changed_since(conn, since)
        # a writer's transaction stamps updated_at when it begins: read a second back again next time
        self._live_since = now - timedelta(seconds=1)
        for unit_id, frame in positions:
            self.picture.apply_position(unit_id, frame)
        for unit_id, status, at in statuses:
            with contextlib.suppress(ValueError):
                self.picture.apply_status(unit_id, UnitStatus(status), at)

    async def _merge_partners(self, now: datetime) -> None:
        """The duo view: our protocol-2 tablets hear where the other devices of their unit are, also when
        those report through another instance (one read per tick of the positions table, never a message per
        position)."""
        here = self.links.device_ids()
        units = {
            link.unit_id
            for device_id in here
            if (link := self.links.get(device_id)) is not None
            and link.unit_id is not None
            and link.protocol >= 2
        }
        if not units:
            return
        since = now - timedelta(seconds=self.settings.stale_after_s)
        known = {
            d: fix[3] for d, fix in self.picture.device_fixes.items() if fix[0] in units and fix[3] >= since
        }
        async with self.pool.acquire() as conn:
            fixes = await repo.partner_fixes_elsewhere(conn, units, here, since, known)
        for device_id, unit_id, lon, lat, at in fixes:
            self.picture.device_fix(device_id, unit_id, lon, lat, at)

    async def _lead(self) -> bool:
        """Whether this instance raises tick alerts and escalation steps now; on taking over, the picture
        learns which routine alerts the database really has open."""
        leader = await self.cluster.lead()
        if leader and not self._was_leader:
            async with self.pool.acquire() as conn:
                open_routine = set(await alerts_repo.open_routine(conn))
            for unit in self.picture.units.values():
                for kind, episode in unit.episodes.items():
                    episode.open = (unit.unit_id, kind.value) in open_routine
        self._was_leader = leader
        return leader

    # --- operator side ------------------------------------------------------------------------------------

    def add_operator(
        self, org_ids: frozenset[int], send: SendBytes, role: str = "operator"
    ) -> OperatorMailbox:
        """Collect changes for a new operator at once; nothing is sent until `activate` (after the
        snapshot)."""
        return self.mailboxes.add(org_ids, send, role)

    def activate(self, box: OperatorMailbox) -> None:
        self.mailboxes.activate(box)

    def remove_operator(self, box: OperatorMailbox) -> None:
        self.mailboxes.remove(box)

    def visible_units(self, org_ids: frozenset[int]) -> list[UnitView]:
        return [u.view() for u in self.picture.units.values() if u.org_id in org_ids]

    async def open_alerts(self, org_ids: frozenset[int]) -> list[AlertView]:
        async with self.pool.acquire() as conn:
            return await alerts_repo.open_alerts(conn, org_ids)

    async def snapshot_extra(self, org_ids: frozenset[int]) -> dict[str, Any]:
        """Extra snapshot fields from other domains (e.g. open incidents)."""
        extra: dict[str, Any] = {}
        for provider in self.snapshot_providers:
            extra.update(await provider(org_ids))
        return extra

    def push_dispatch(
        self,
        org_id: int,
        *,
        incident: IncidentView | None = None,
        timeline: list[TimelineEntry] | None = None,
        message: MessageView | None = None,
    ) -> None:
        self.mailboxes.push_dispatch(org_id, incident=incident, timeline=timeline, message=message)

    def push_area_alert(self, org_ids: frozenset[int], view: AreaAlertView) -> None:
        self.mailboxes.push_area_alert(org_ids, view)

    async def acknowledge_alert(
        self, alert_id: int, account_id: int, org_ids: frozenset[int]
    ) -> AlertView | None:
        """An operator has seen an alert: every operator of its organisation hears it now, and so does the
        tablet that raised a safety alert (and its unit's other tablets)."""
        async with self.alarm_pool.acquire() as conn, conn.transaction():
            acknowledged = await alerts_repo.acknowledge(conn, alert_id, account_id, org_ids)
            if acknowledged is not None:  # the other instances hear it when it commits
                await notify_alerts(conn, self.cluster.instance, [alert_id])
        if acknowledged is None:
            return None
        view, device_id = acknowledged
        self.mailboxes.push_alert(view)
        await self._tell_seen(view, device_id)
        self.mailboxes.wake(view.org_id)
        watched = self.escalating.pop(view.alert_id, None)
        if watched is not None and watched.told:
            await self._tell_resolved(watched, view)
        return view

    async def _tell_resolved(self, watched: Escalating, view: AlertView) -> None:
        """Everyone who was sent a colleague_alarm hears that an operator has it now."""
        frame = encoder.encode(colleague_alarm(view, view.escalation_level, None, resolved=True))
        for device_id in watched.told:
            self.links.tell(device_id, frame)
        with contextlib.suppress(Exception):
            async with self.alarm_pool.acquire() as conn:
                await alerts_repo.add_event(
                    conn,
                    view.alert_id,
                    "told_resolved",
                    datetime.now(UTC),
                    detail={"devices": sorted(watched.told)},
                )

    def _watch(self, view: AlertView, device_id: int | None) -> None:
        """An open safety alert: escalate it if nobody acknowledges it in time."""
        if is_urgent(view) and view.alert_id not in self.escalating:
            self.escalating[view.alert_id] = Escalating(
                view=view, device_id=device_id, since=datetime.now(UTC)
            )

    async def _tell_seen(self, view: AlertView, device_id: int | None) -> None:
        frame = seen_frame(view)
        if frame is None:
            return
        for link in self.links.of(view.unit_id, device_id, min_protocol=2):
            # a stuck tablet must not hold up the operator's socket; it hears it again when it reconnects
            with contextlib.suppress(Exception):
                await asyncio.wait_for(link.send(frame), SEEN_SEND_TIMEOUT_S)

    # --- the tick -----------------------------------------------------------------------------------------

    async def _tick_loop(self) -> None:
        while True:
            await asyncio.sleep(self.settings.operator_tick_s)
            try:
                await self.tick(datetime.now(UTC))
            except Exception:
                log.exception("operator tick failed")

    async def tick(self, now: datetime) -> None:
        """One tick: geofence the moved units, detect stale and apart ones and store what that raises, tell
        tablets where their partners are, send every operator one merged delta."""
        try:  # first, on its own connections: nothing routine below can hold up a missed check-in
            await self._missed_checkins(now)
        except Exception:
            log.exception("operator tick: _missed_checkins failed")
        try:
            await self._merge_live()
        except Exception:
            log.exception("operator tick: reading other instances' positions failed")
        try:
            await self._merge_partners(now)
        except Exception:
            log.exception("operator tick: reading partners' positions from other instances failed")
        leader = await self._lead()
        step = self.picture.tick(
            now, stale_after_s=self.settings.stale_after_s, partners_apart_m=self.settings.partners_apart_m
        )
        if leader:  # one instance stores beat moves and routine alerts; the others hear of them
            stored = await self._store_tick(step, now)
            for view in stored:
                self.mailboxes.push_alert(view)
        if leader:
            try:  # a failing safety step is logged and retried next tick; the units still go out
                await self._escalate(now)
            except Exception:
                log.exception("operator tick: _escalate failed")
        self.links.tell_partners(self.picture.partner_fixes(now, self.settings.stale_after_s))
        self.mailboxes.push_units([u.view() for u in self.picture.take_dirty()])

    async def _store_tick(self, step: PictureTick, now: datetime) -> list[AlertView]:
        """The beats entered and left and the alerts raised, in one transaction; the alerts as operators see
        them."""
        if not (step.moves or step.raised or step.resolved):
            return []
        views: list[AlertView] = []
        async with self.pool.acquire() as conn, conn.transaction():
            await repo.insert_beat_moves(conn, step.moves)
            for unit_id, kind in step.resolved:  # first: the one open alert per unit and kind
                resolved = await alerts_repo.resolve_routine(conn, unit_id, kind.value, now)
                if resolved is not None:
                    views.append(resolved)
            for a in step.raised:
                alert_id = await alerts_repo.insert_routine(
                    conn, org_id=a.org_id, unit_id=a.unit_id, kind=a.kind.value, at=a.at, payload=a.payload()
                )
                if alert_id is not None:  # None: the database already has it open (another instance)
                    views.append(a.view(alert_id))
            await notify_alerts(conn, self.cluster.instance, [view.alert_id for view in views])
        return views

    async def _missed_checkins(self, now: datetime) -> None:
        """A check-in timer that ran out raises one `checkin_missed` safety alert, sent at once."""
        for timer in missed(self.checkins.values(), now, self.settings.checkin_grace_s):
            unit = None if timer.unit_id is None else self.picture.units.get(timer.unit_id)
            lon, lat = (unit.live_lon, unit.live_lat) if unit is not None else (None, None)
            text = f"check-in verwacht om {timer.next_due.astimezone(LOCAL):%H:%M}"
            async with self.alarm_pool.acquire() as conn, conn.transaction():
                if not await alerts_repo.claim_missed_checkin(conn, timer.device_id, timer.next_due):
                    timer.fired = True  # a newer check-in, or another instance raised it
                    continue
                alert_id = await alerts_repo.insert_alert(
                    conn,
                    org_id=timer.org_id,
                    unit_id=timer.unit_id,
                    kind=AlertKind.CHECKIN_MISSED.value,
                    at=now,
                    payload={"lon": lon, "lat": lat, "text": text, "device_id": timer.device_id},
                )
                await alerts_repo.mark_checkin_missed(conn, timer.device_id, alert_id)
                await notify_alerts(conn, self.cluster.instance, [alert_id])
            timer.fired = True  # only once it is stored: a failed attempt is tried again next tick
            view = AlertView(
                alert_id=alert_id,
                kind=AlertKind.CHECKIN_MISSED,
                org_id=timer.org_id,
                unit_id=timer.unit_id,
                call_sign=self.picture.call_sign(timer.unit_id),
                at=now,
                lon=lon,
                lat=lat,
                text=text,
            )
            self.mailboxes.push_alert(view)
            self._watch(view, timer.device_id)

    async def _escalate(self, now: datetime) -> None:
        """Every safety alert nobody acknowledged in time goes one level up: stored with who is told, pushed
        to the consoles again at once, and a colleague_alarm to the partner's devices and nearby units."""
        for alert_id, watched in list(self.escalating.items()):
            settings = self.settings_for(watched.view.org_id)
            level = due_level(watched.since, now, settings)
            if level <= watched.view.escalation_level:
                continue
            told = self._colleagues(watched, settings, now)
            async with self.alarm_pool.acquire() as conn, conn.transaction():
                view = await alerts_repo.escalate(conn, alert_id, level, now, [t[0] for t in told])
                if view is not None:  # the other instances hear it when it commits
                    await notify_alerts(conn, self.cluster.instance, [alert_id])
            if view is None:  # acknowledged meanwhile (maybe on another instance)
                self.escalating.pop(alert_id, None)
                continue
            watched.view = view
            self.mailboxes.push_alert(
                view, skip_roles=frozenset() if settings.notify_teamlead else frozenset({"teamlead"})
            )
            for entry, links in told:
                frame = encoder.encode(colleague_alarm(view, level, entry["distance_m"]))
                for link in links:
                    watched.told[link.device_id] = entry["unit_id"]
                    self.links.tell(link.device_id, frame)
            if told:  # the recipients' tablets on other instances hear it from theirs
                async with self.alarm_pool.acquire() as conn:
                    await self.cluster.publish(
                        conn,
                        "colleague",
                        id=alert_id,
                        level=level,
                        units=[entry["unit_id"] for entry, _ in told],
                        dist=[entry["distance_m"] for entry, _ in told],
                    )

    def _colleagues(
        self, watched: Escalating, settings: AlarmSettings, now: datetime
    ) -> list[tuple[dict[str, Any], list[FieldLink]]]:
        """Who hears this escalation: per unit what the timeline stores, and its connected tablets."""
        alert = watched.view
        own = None if alert.unit_id is None else self.picture.units.get(alert.unit_id)
        origin: tuple[float, float] | None = None
        if own is not None and own.live_lon is not None and own.live_lat is not None:
            origin = (own.live_lon, own.live_lat)
        elif alert.lon is not None and alert.lat is not None:
            origin = (alert.lon, alert.lat)
        places = [
            UnitPlace(u.unit_id, u.org_id, u.call_sign, u.status, u.live_lon, u.live_lat, u.live_at)
            for u in self.picture.units.values()
        ]
        told: list[tuple[dict[str, Any], list[FieldLink]]] = []
        for r in recipients(alert, origin, places, settings, now, self.settings.stale_after_s):
            links = [
                link
                for link in self.links.of(r.unit_id, None, min_protocol=2)
                if link.device_id != watched.device_id
            ]
            entry = {
                "unit_id": r.unit_id,
                "call_sign": r.call_sign,
                "reason": r.reason,
                "distance_m": None if r.distance_m is None else round(r.distance_m, 1),
                "devices": [link.device_id for link in links],
            }
            told.append((entry, links))
        return told
