"""The live hub: field connections, the live picture, the batched writer and the operator fan-out."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import asyncpg

from backend.geofencing.logic import OutsideAssignedBeat, PreparedBeats
from backend.geofencing.repository import load_prepared
from backend.live.picture import BeatEntered, BeatLeft, LivePicture, UnitLive
from backend.live.writer import FieldWriter, FlushResult, Pending, StoredAlert
from backend.settings import Settings
from shared.protocol import (
    SAFETY_ALERTS,
    Ack,
    AlertAcknowledged,
    AlertKind,
    AlertRaised,
    AlertView,
    AreaAlertView,
    AssistanceRequested,
    Delta,
    IncidentView,
    Message,
    MessageView,
    NoodknopPressed,
    PartnerFix,
    PartnerPositions,
    PositionReported,
    SequencedFrame,
    StatusChanged,
    TimelineEntry,
    UnitStatus,
    UnitView,
    encoder,
)

log = logging.getLogger(__name__)

SendBytes = Callable[[bytes], Awaitable[None]]
SEEN_RESEND = timedelta(hours=1)
SEEN_SEND_TIMEOUT_S = 2.0


@dataclass(slots=True, eq=False)
class FieldLink:
    """One connected device."""

    device_id: int
    org_id: int
    unit_id: int | None
    send: SendBytes
    close: Callable[..., Awaitable[None]]  # close(code="revoked" | "replaced")
    received: int = 0  # highest seq accepted into the writer queue
    protocol: int = 1  # the version the device said hello with: only frame kinds of that version go to it
    partners_sent: tuple[PartnerFix, ...] = ()  # the partner fixes this device was last told
    partners_task: asyncio.Task[None] | None = None
    # Acks go out from the link's own task, coalesced to the latest: a slow tablet never holds up the writer.
    ack_upto: int = 0
    ack_sent: int = 0
    ack_wake: asyncio.Event = field(default_factory=asyncio.Event)
    ack_task: asyncio.Task[None] | None = None

    def post_ack(self, upto: int) -> None:
        if upto > self.ack_upto:
            self.ack_upto = upto
            self.ack_wake.set()

    async def send_acks(self) -> None:
        while True:
            await self.ack_wake.wait()
            self.ack_wake.clear()
            upto = self.ack_upto
            if upto > self.ack_sent:
                try:
                    await self.send(encoder.encode(Ack(upto=upto)))
                except Exception:  # the socket is gone; its handler detaches the link
                    return
                self.ack_sent = upto


@dataclass(slots=True, eq=False)
class OperatorMailbox:
    """What one operator has not yet been sent; a slow operator gets it merged, never queued up."""

    org_ids: frozenset[int]
    send: SendBytes
    units: dict[int, UnitView] = field(default_factory=dict)
    alerts: list[AlertView] = field(default_factory=list)
    urgent: list[AlertView] = field(default_factory=list)
    incidents: dict[int, IncidentView] = field(default_factory=dict)
    timeline: list[TimelineEntry] = field(default_factory=list)
    messages: dict[int, MessageView] = field(default_factory=dict)
    area_alerts: list[AreaAlertView] = field(default_factory=list)
    wake: asyncio.Event = field(default_factory=asyncio.Event)
    task: asyncio.Task[None] | None = None
    frames_sent: int = 0

    def has_news(self) -> bool:
        return bool(self.units or self.alerts or self.incidents or self.timeline or self.messages
                    or self.area_alerts)


class LiveHub:
    def __init__(self, pool: asyncpg.Pool, settings: Settings) -> None:
        self.pool = pool
        self.settings = settings
        self.picture = LivePicture(PreparedBeats([]))
        self.writer = FieldWriter(
            pool, self._on_durable, flush_interval_s=settings.flush_interval_s, max_rows=settings.flush_max_rows
        )
        self.links: dict[int, FieldLink] = {}
        self.received: dict[int, int] = {}  # device -> highest seq queued (survives reconnects)
        self.durable: dict[int, int] = {}  # device -> highest seq known durable
        self.operators: set[OperatorMailbox] = set()
        self.call_signs: dict[int, str] = {}
        self._tick_task: asyncio.Task[None] | None = None
        self.tracker_last_at: dict[int, datetime] = {}
        self._waiters: dict[int, list[tuple[int, asyncio.Future[None]]]] = {}
        # hooks for other domains (dispatch): a device connected, a batch became durable, a snapshot is built
        self.attach_listeners: list[Callable[[FieldLink], Awaitable[None]]] = []
        self.flush_listeners: list[Callable[[FlushResult], Awaitable[None]]] = []
        self.snapshot_providers: list[Callable[[frozenset[int]], Awaitable[dict[str, Any]]]] = []
        # the latest `alert_ack` per ("unit" | "device", id), resent when a tablet (re)connects within the hour
        self.seen_alerts: dict[tuple[str, int], tuple[datetime, bytes]] = {}

    # --- lifecycle ----------------------------------------------------------------------------------------

    async def start(self) -> None:
        await self.reload()
        self.writer.start()
        self._tick_task = asyncio.create_task(self._tick_loop(), name="operator-tick")

    async def stop(self) -> None:
        if self._tick_task is not None:
            self._tick_task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._tick_task
        for box in list(self.operators):
            self.remove_operator(box)
        await self.writer.stop()

    async def reload(self) -> None:
        """Load beats and units (with their last known positions) from the database."""
        async with self.pool.acquire() as conn:
            self.picture.beats = await load_prepared(conn)
            rows = await conn.fetch(
                """SELECT u.id, u.org_id, u.call_sign, u.status, u.status_since, u.assigned_beat_ids,
                          l.lon, l.lat, l.at, l.accuracy_m, l.speed_mps, l.heading_deg
                   FROM units u LEFT JOIN unit_live l ON l.unit_id = u.id WHERE u.active"""
            )
        for r in rows:
            self.picture.put_unit(_unit_from_row(r))
            unit = self.picture.units[r["id"]]
            unit.fence_due = unit.lon is not None
            self.call_signs[r["id"]] = r["call_sign"]
        self.picture.run_geofence()

    async def refresh_unit(self, unit_id: int) -> None:
        """Re-read one unit after an HTTP change (new unit, shift started or ended, beats assigned)."""
        async with self.pool.acquire() as conn:
            r = await conn.fetchrow(
                """SELECT u.id, u.org_id, u.call_sign, u.status, u.status_since, u.assigned_beat_ids,
                          NULL::float8 AS lon, NULL::float8 AS lat, NULL::timestamptz AS at,
                          NULL::real AS accuracy_m, NULL::real AS speed_mps, NULL::real AS heading_deg
                   FROM units u WHERE u.id = $1""",
                unit_id,
            )
            devices = await conn.fetch("SELECT id, unit_id FROM devices WHERE id = ANY($1)", list(self.links))
        if r is not None:
            self.picture.put_unit(_unit_from_row(r))
            self.call_signs[unit_id] = r["call_sign"]
        for d in devices:
            self.links[d["id"]].unit_id = d["unit_id"]

    async def reload_beats(self) -> None:
        async with self.pool.acquire() as conn:
            self.picture.beats = await load_prepared(conn)

    # --- field side ---------------------------------------------------------------------------------------

    def attach(self, link: FieldLink, durable_seq: int) -> FieldLink | None:
        """Register a device's socket; returns the link it replaces (to be closed)."""
        old = self.links.get(link.device_id)
        self.received[link.device_id] = max(self.received.get(link.device_id, 0), durable_seq)
        self.durable[link.device_id] = max(self.durable.get(link.device_id, 0), durable_seq)
        self.links[link.device_id] = link
        link.ack_task = asyncio.create_task(link.send_acks(), name=f"acks-{link.device_id}")
        return old

    async def device_attached(self, link: FieldLink) -> None:
        """After the welcome: let listeners resend what the device is owed (open tasks, unread messages)."""
        await self._resend_seen(link)
        for listener in self.attach_listeners:
            try:
                await listener(link)
            except Exception:
                log.exception("attach listener failed")

    async def _resend_seen(self, link: FieldLink) -> None:
        """A tablet that was away when its alert was acknowledged hears it now (for an hour; memory only)."""
        if link.protocol < 2:
            return
        since = datetime.now(UTC) - SEEN_RESEND
        keys = [("device", link.device_id)] + ([("unit", link.unit_id)] if link.unit_id is not None else [])
        frames = {frame for at, frame in (self.seen_alerts.get(k, (since, b"")) for k in keys) if at > since}
        with contextlib.suppress(Exception):
            for frame in frames:
                await link.send(frame)

    def link_for_unit(self, unit_id: int) -> FieldLink | None:
        """The connected tablet of a unit (the most recently attached one if there are several)."""
        found = None
        for link in self.links.values():
            if link.unit_id == unit_id:
                found = link
        return found

    def detach(self, link: FieldLink) -> None:
        if link.ack_task is not None:
            link.ack_task.cancel()
        if self.links.get(link.device_id) is link:
            del self.links[link.device_id]

    def accept(self, link: FieldLink, frame: SequencedFrame, now: datetime) -> bool:
        """Take a sequenced frame from a device. False if it was a resend of one already taken."""
        if frame.seq <= self.received.get(link.device_id, 0):
            return False
        self.received[link.device_id] = frame.seq
        urgent = isinstance(frame, NoodknopPressed | AssistanceRequested)
        self.writer.add(
            Pending(device_id=link.device_id, unit_id=link.unit_id, org_id=link.org_id, frame=frame,
                    received_at=now),
            urgent=urgent,
        )
        if link.unit_id is not None:
            if isinstance(frame, PositionReported):
                self.picture.apply_position(link.unit_id, frame, link.device_id)
            elif isinstance(frame, StatusChanged):  # a late one only if it is still the newest
                self.picture.apply_status(link.unit_id, frame.status, frame.at)
        return True

    async def wait_durable(self, device_id: int, seq: int, timeout: float) -> None:
        """Wait until the frame with this seq of this device is durable (for trackers' HTTP reply)."""
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._waiters.setdefault(device_id, []).append((seq, future))
        await asyncio.wait_for(future, timeout)

    async def _on_durable(self, result: FlushResult) -> None:
        for device_id, upto in result.durable.items():
            self.durable[device_id] = max(self.durable.get(device_id, 0), upto)
            waiting = self._waiters.get(device_id)
            if waiting:
                for seq, future in waiting:
                    if seq <= upto and not future.done():
                        future.set_result(None)
                self._waiters[device_id] = [(s, f) for s, f in waiting if s > upto and not f.done()]
            link = self.links.get(device_id)
            if link is not None:
                link.post_ack(upto)
        for alert in result.alerts:
            view = self._alert_view(alert)
            if alert.unit_id is not None and AlertKind(alert.kind) == AlertKind.NOODKNOP:
                self.picture.apply_status(alert.unit_id, UnitStatus.EMERGENCY, alert.at)
            self.push_alert(view)
        for flushed in self.flush_listeners:
            try:
                await flushed(result)
            except Exception:
                log.exception("flush listener failed")

    def _alert_view(self, alert: StoredAlert) -> AlertView:
        return AlertView(
            alert_id=alert.alert_id, kind=AlertKind(alert.kind), org_id=alert.org_id, unit_id=alert.unit_id,
            call_sign=self.call_signs.get(alert.unit_id or -1), at=alert.at, lon=alert.lon, lat=alert.lat,
            text=alert.text,
        )

    # --- operator side ------------------------------------------------------------------------------------

    def add_operator(self, org_ids: frozenset[int], send: SendBytes) -> OperatorMailbox:
        """Collect changes for a new operator at once; nothing is sent until `activate` (after the snapshot)."""
        box = OperatorMailbox(org_ids=org_ids, send=send)
        self.operators.add(box)
        return box

    def activate(self, box: OperatorMailbox) -> None:
        box.task = asyncio.create_task(self._operator_sender(box), name="operator-sender")

    def remove_operator(self, box: OperatorMailbox) -> None:
        self.operators.discard(box)
        if box.task is not None:
            box.task.cancel()

    async def snapshot_extra(self, org_ids: frozenset[int]) -> dict[str, Any]:
        """Extra snapshot fields from other domains (e.g. open incidents)."""
        extra: dict[str, Any] = {}
        for provider in self.snapshot_providers:
            extra.update(await provider(org_ids))
        return extra

    def push_dispatch(
        self, org_id: int, *, incident: IncidentView | None = None, timeline: list[TimelineEntry] | None = None,
        message: MessageView | None = None,
    ) -> None:
        """Incident, timeline and message changes ride with the next tick to operators who may see org_id."""
        for box in self.operators:
            if org_id in box.org_ids:
                if incident is not None:
                    box.incidents[incident.incident_id] = incident
                if timeline:
                    box.timeline.extend(timeline)
                if message is not None:
                    box.messages[message.message_id] = message

    def push_area_alert(self, org_ids: frozenset[int], view: AreaAlertView) -> None:
        """A partner's area alert rides with the next tick to operators who see any of org_ids."""
        for box in self.operators:
            if box.org_ids & org_ids:
                box.area_alerts.append(view)

    def visible_units(self, org_ids: frozenset[int]) -> list[UnitView]:
        return [u.view() for u in self.picture.units.values() if u.org_id in org_ids]

    def push_alert(self, view: AlertView) -> None:
        """Safety alerts go out at once; others ride with the next tick."""
        for box in self.operators:
            if view.org_id in box.org_ids:
                if view.kind in SAFETY_ALERTS and view.acknowledged_at is None:
                    box.urgent.append(view)
                    box.wake.set()
                else:
                    box.alerts.append(view)

    async def _operator_sender(self, box: OperatorMailbox) -> None:
        while True:
            await box.wake.wait()
            box.wake.clear()
            frames: list[Message] = [AlertRaised(alert=a) for a in box.urgent]
            box.urgent = []
            if box.has_news():
                frames.append(Delta(units=list(box.units.values()), alerts=box.alerts,
                                    server_time=datetime.now(UTC), incidents=list(box.incidents.values()),
                                    timeline=box.timeline, messages=list(box.messages.values()),
                                    area_alerts=box.area_alerts))
                box.units, box.alerts, box.area_alerts = {}, [], []
                box.incidents, box.timeline, box.messages = {}, [], {}
            for frame in frames:
                try:
                    await box.send(encoder.encode(frame))
                    box.frames_sent += 1
                except Exception:  # the socket is gone; its handler removes the mailbox
                    return

    async def _tick_loop(self) -> None:
        while True:
            await asyncio.sleep(self.settings.operator_tick_s)
            try:
                await self.tick(datetime.now(UTC))
            except Exception:
                log.exception("operator tick failed")

    async def tick(self, now: datetime) -> None:
        """One tick: geofence the moved units, detect stale ones, send every operator one merged delta."""
        events = self.picture.run_geofence()
        stale = self.picture.mark_stale(now, self.settings.stale_after_s)
        apart = self.picture.find_partners_apart(now, self.settings.partners_apart_m, self.settings.stale_after_s)
        if events or stale or apart:
            await self._store_fence_events(events, stale, now, apart)
        self._send_partner_positions(now)
        views = [u.view() for u in self.picture.take_dirty()]
        for box in self.operators:
            box.units.update((v.unit_id, v) for v in views if v.org_id in box.org_ids)
            if box.has_news():
                box.wake.set()

    def _send_partner_positions(self, now: datetime) -> None:
        """Tell each tablet where the other devices of its unit are: once per tick at most, only on change."""
        by_unit: dict[int, list[PartnerFix]] = {}
        for device_id, (unit_id, lon, lat, at) in self.picture.device_fixes.items():
            if (now - at).total_seconds() <= self.settings.stale_after_s:
                by_unit.setdefault(unit_id, []).append(PartnerFix(device_id=device_id, lon=lon, lat=lat, at=at))
        for link in self.links.values():
            if link.protocol < 2 or link.unit_id is None:
                continue
            if link.partners_task is not None and not link.partners_task.done():
                continue  # the previous one is still on its way: this tablet gets the news next tick
            others = tuple(f for f in by_unit.get(link.unit_id, ()) if f.device_id != link.device_id)
            if others == link.partners_sent:
                continue
            link.partners_sent = others
            link.partners_task = asyncio.create_task(
                _send_quietly(link.send, encoder.encode(PartnerPositions(fixes=list(others))))
            )

    async def _store_fence_events(
        self, events: list[object], stale: list[UnitLive], now: datetime, apart: Sequence[UnitLive] = ()
    ) -> None:
        moves = [(e.unit_id, e.beat_id, "entered" if isinstance(e, BeatEntered) else "left", e.at)
                 for e in events if isinstance(e, BeatEntered | BeatLeft)]
        raised = [(e.unit_id, AlertKind.OUTSIDE_ASSIGNED_BEAT, e.at) for e in events
                  if isinstance(e, OutsideAssignedBeat)]
        raised += [(u.unit_id, AlertKind.POSITION_STALE, now) for u in stale]
        raised += [(u.unit_id, AlertKind.PARTNERS_APART, now) for u in apart]
        async with self.pool.acquire() as conn, conn.transaction():
            if moves:
                await conn.executemany(
                    "INSERT INTO geofence_events (unit_id, beat_id, kind, at) VALUES ($1, $2, $3, $4)", moves
                )
            for unit_id, kind, at in raised:
                unit = self.picture.units.get(unit_id)
                if unit is None:
                    continue
                alert_id = await conn.fetchval(
                    """INSERT INTO alerts (org_id, unit_id, kind, at, payload) VALUES ($1, $2, $3, $4, $5)
                       RETURNING id""",
                    unit.org_id, unit_id, kind.value, at, {"lon": unit.lon, "lat": unit.lat},
                )
                self.push_alert(AlertView(
                    alert_id=alert_id, kind=kind, org_id=unit.org_id, unit_id=unit_id, call_sign=unit.call_sign,
                    at=at, lon=unit.lon, lat=unit.lat,
                ))

    async def open_alerts(self, org_ids: frozenset[int]) -> list[AlertView]:
        async with self.pool.acquire() as conn:
            rows = await conn.fetch(
                """SELECT a.id, a.kind, a.org_id, a.unit_id, u.call_sign, a.at, a.payload, a.acknowledged_at,
                          acc.display_name AS acknowledged_by
                   FROM alerts a LEFT JOIN units u ON u.id = a.unit_id
                   LEFT JOIN accounts acc ON acc.id = a.acknowledged_by
                   WHERE a.org_id = ANY($1) AND a.resolved_at IS NULL
                     AND (a.acknowledged_at IS NULL OR a.acknowledged_at > now() - interval '1 hour')
                   ORDER BY a.at DESC LIMIT 500""",
                list(org_ids),
            )
        return [_alert_from_row(r) for r in rows]

    async def acknowledge_alert(self, alert_id: int, account_id: int, org_ids: frozenset[int]) -> AlertView | None:
        async with self.pool.acquire() as conn:
            row = await conn.fetchrow(
                """WITH a AS (UPDATE alerts SET acknowledged_at = coalesce(acknowledged_at, now()),
                                   acknowledged_by = coalesce(acknowledged_by, $2)
                              WHERE id = $1 AND org_id = ANY($3) RETURNING *)
                   SELECT a.id, a.kind, a.org_id, a.unit_id, u.call_sign, a.at, a.payload, a.acknowledged_at,
                          acc.display_name AS acknowledged_by
                   FROM a LEFT JOIN units u ON u.id = a.unit_id LEFT JOIN accounts acc ON acc.id = a.acknowledged_by""",
                alert_id, account_id, list(org_ids),
            )
        if row is None:
            return None
        view = _alert_from_row(row)
        self.push_alert(view)
        await self._tell_device_seen(view, (row["payload"] or {}).get("device_id"))
        for box in self.operators:
            if view.org_id in box.org_ids:
                box.wake.set()
        return view

    async def _tell_device_seen(self, view: AlertView, device_id: int | None) -> None:
        """A safety alert was acknowledged: the tablet(s) of its unit (and the device that raised it) see
        that the meldkamer has it on screen. Only devices that speak protocol 2 know the frame."""
        if view.kind not in SAFETY_ALERTS or view.acknowledged_at is None:
            return
        frame = encoder.encode(AlertAcknowledged(
            alert_id=view.alert_id, alert_kind=view.kind, raised_at=view.at, by=view.acknowledged_by or "",
            at=view.acknowledged_at,
        ))
        if view.unit_id is not None:
            self.seen_alerts[("unit", view.unit_id)] = (view.acknowledged_at, frame)
        if device_id is not None:
            self.seen_alerts[("device", device_id)] = (view.acknowledged_at, frame)
        for link in list(self.links.values()):
            mine = (view.unit_id is not None and link.unit_id == view.unit_id) or link.device_id == device_id
            if mine and link.protocol >= 2:
                # a stuck tablet must not hold up the operator's socket; it hears it again when it reconnects
                with contextlib.suppress(Exception):
                    await asyncio.wait_for(link.send(frame), SEEN_SEND_TIMEOUT_S)

    def kick_device(self, device_id: int) -> Awaitable[None] | None:
        link = self.links.get(device_id)
        return None if link is None else link.close()


async def _send_quietly(send: SendBytes, data: bytes) -> None:
    with contextlib.suppress(Exception):  # the socket is gone; its handler detaches the link
        await send(data)


def _unit_from_row(r: asyncpg.Record) -> UnitLive:
    return UnitLive(
        unit_id=r["id"], org_id=r["org_id"], call_sign=r["call_sign"], status=UnitStatus(r["status"]),
        status_since=r["status_since"], assigned=frozenset(r["assigned_beat_ids"]), lon=r["lon"], lat=r["lat"],
        at=r["at"], accuracy_m=r["accuracy_m"], speed_mps=r["speed_mps"], heading_deg=r["heading_deg"],
    )


def _alert_from_row(r: asyncpg.Record) -> AlertView:
    payload = r["payload"] or {}
    return AlertView(
        alert_id=r["id"], kind=AlertKind(r["kind"]), org_id=r["org_id"], unit_id=r["unit_id"],
        call_sign=r["call_sign"], at=r["at"], lon=payload.get("lon"), lat=payload.get("lat"),
        text=payload.get("text") or "", acknowledged_at=r["acknowledged_at"], acknowledged_by=r["acknowledged_by"],
    )
