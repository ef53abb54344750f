"""Schakel -> partners: what the backend shows becomes messages in the outbox.

From the operator websocket (as the service account): unit statuses go to the meldkamer as the unit-status
feed (after the roster that registers the units), positions as coalesced AVL, safety alerts (noodknop,
assistance, man-down, missed check-in) to the police as CAP. From the API: the timeline of handed-over
meldingen as EIDO progress, and boa's register queries to the police. Each message is queued in the
bridge's own outbox, which delivers it.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable
from zoneinfo import ZoneInfo

import asyncpg
import httpx
import msgspec

from meldkamer_bridge import handover, outbox, registers
from meldkamer_bridge.adapters import cap, eido, status
from meldkamer_bridge.adapters.base import CodecError
from meldkamer_bridge.api import BackendApi, Unavailable
from meldkamer_bridge.config import BridgeConfig
from meldkamer_bridge.link import reconnecting
from meldkamer_bridge.outbox import Conn, PgStore, backoff_delay
from shared.protocol import (
    SAFETY_ALERTS,
    AlertRaised,
    AlertView,
    Delta,
    Error,
    Hello,
    Snapshot,
    UnitStatus,
    UnitView,
    encoder,
    server_decoder,
)

log = logging.getLogger(__name__)
LOCAL = ZoneInfo("Europe/Amsterdam")  # the police read times as the meldkamer does

FEED_BASE_S = 0.2  # reconnecting to the backend: 0.2 s doubling to 10 s
FEED_CAP_S = 10.0
MAX_FEED_FRAME = 16 * 1024 * 1024
PROGRESS_LOOKBACK = 200  # timeline event ids read again each time (a line committed late, under a lower id)
PROGRESS_FULL_S = 60.0  # the whole timeline is read again this often
PROGRESS_PAUSE_S = 0.25  # between two reads of the timeline (each frame of a busy feed would wake it)


def cap_msg_id(alert_id: int) -> str:
    """The CAP message id of a Schakel alert: fixed, so a restart or a snapshot never sends it twice."""
    return f"schakel:alert:{alert_id}"


class Outbound:
    def __init__(self, config: BridgeConfig, pool: asyncpg.Pool, store: PgStore) -> None:
        self.config = config
        self.pool = pool
        self.store = store
        self.api: BackendApi | None = None  # set by the wiring when a backend is configured
        self.avl = status.AvlCoalescer()
        self.backend_connected = asyncio.Event()
        self.on_backend_up: list[Callable[[], None]] = []  # called when the feed (re)connects
        self.timeline_changed = asyncio.Event()  # wakes the progress loop
        self._statuses: dict[int, UnitStatus] = {}  # unit id -> last status sent
        self._units: dict[int, status.UnitEntry] = {}  # unit id -> roster entry, as last sent
        # unit id -> its last known fix: a noodknop sent without a position of its own goes out with this one
        self._fixes: dict[int, UnitView] = {}
        self._roster_sent: list[status.UnitEntry] | None = None
        self._orgs: dict[int, tuple[str, str]] = {}  # org id -> (code, name)
        self._progress_seen: dict[str, int] = {}  # partner -> highest timeline event id read
        self._progress_full_at = -PROGRESS_FULL_S  # when the whole timeline was last read (monotonic)
        self._away: set[str] = set()  # loops whose last round found the backend away (said once)

    async def run(self, api: BackendApi) -> None:
        """Follow the backend until cancelled."""
        self.api = api
        async with asyncio.TaskGroup() as tasks:
            tasks.create_task(self._feed(api))
            tasks.create_task(self._avl_ticker())
            tasks.create_task(self._progress_loop())
            tasks.create_task(self._register_loop())

    # --- progress on handed-over incidents ----------------------------------------------------------------

    async def send_progress(
        self,
        conn: Conn,
        update: eido.IncidentUpdate,
        *,
        msg_id: str | None = None,
        partner: str | None = None,
    ) -> bool:
        """Queue our progress on a handed-over incident (accepted, unit assigned, en route, ...).

        Takes the caller's connection: call it in the transaction that records the progress, so the update
        is sent if and only if that is stored. A fixed `msg_id` is queued once (False when it was queued
        before); `partner` defaults to the meldkamer.
        """
        partner = partner or self.config.meldkamer
        body = self._progress_body(update, partner)
        queued = await outbox.enqueue(conn, partner, "eido_update", body, msg_id)
        self.store.changed(partner).set()
        return queued is not None

    def _progress_body(self, update: eido.IncidentUpdate, partner: str) -> bytes:
        if not update.exercise and self.config.exercise_of(partner):  # an exercise link marks everything
            update = msgspec.structs.replace(update, exercise=self.config.exercise_of(partner))
        return eido.encode_update(update, self.config.mapping)

    async def send_pending_progress(self) -> int:
        """Queue an eido_update for each timeline line of a handed-over melding not queued yet; how many.

        Read from the last line seen (less PROGRESS_LOOKBACK event ids: a line committed late under a lower
        id is still found), and the whole timeline every PROGRESS_FULL_S (and after a start) as the safety
        net; the message id of each line keeps a line read again from being queued twice. The new updates
        of one read are queued in one transaction."""
        assert self.api is not None
        queued = 0
        full = time.monotonic() - self._progress_full_at >= PROGRESS_FULL_S
        if full:
            self._progress_full_at = time.monotonic()
        for partner in self.config.partners:
            seen = self._progress_seen.get(partner.name, 0)
            lines = await self.api.timeline(partner.name, 0 if full else max(0, seen - PROGRESS_LOOKBACK))
            if lines:
                self._progress_seen[partner.name] = max(seen, max(line.event_id for line in lines))
            events = [handover.event_from(line) for line in lines]
            msg_ids = {handover.progress_msg_id(e.incident_id, e.event_id): e for e in events}
            async with self.pool.acquire() as conn:
                done = await outbox.queued(conn, list(msg_ids))
            updates = []
            for msg_id, event in msg_ids.items():
                update = handover.update_for(event, self.config.agency)
                if msg_id not in done and update is not None:
                    updates.append((msg_id, update))
            if updates:
                bodies = [(m, "eido_update", self._progress_body(u, partner.name)) for m, u in updates]
                async with self.pool.acquire() as conn, conn.transaction():
                    queued += len(await outbox.enqueue_many(conn, partner.name, bodies))
                self.store.changed(partner.name).set()
        return queued

    async def _progress_loop(self) -> None:
        """Timeline lines of handed-over meldingen to the meldkamer, woken by the operator feed."""
        while True:
            try:
                await self.send_pending_progress()
                self._away.discard("progress")
            except Exception as exc:  # the backend or the database is away: try again in a moment
                self._failed("progress", exc)
            await asyncio.sleep(PROGRESS_PAUSE_S)  # a busy feed wakes it at most this often
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(2.0):
                    await self.timeline_changed.wait()
            self.timeline_changed.clear()

    def _failed(self, what: str, exc: Exception) -> None:
        """A loop's round failed. The backend being away is said once per outage and without a traceback
        (the loops try several times a second); anything else is logged in full each time."""
        if isinstance(exc, Unavailable | httpx.HTTPError):
            if what not in self._away:
                self._away.add(what)
                log.warning("%s: the backend is not reachable (%s); trying again", what, exc)
            return
        log.exception("%s failed", what)

    # --- register queries ---------------------------------------------------------------------------------

    async def send_register_queries(self) -> int:
        """Boa's pending register queries to the police: queued (once, by message id), then marked sent."""
        assert self.api is not None
        pending = await self.api.pending_queries()
        if not pending:
            return 0
        async with self.pool.acquire() as conn, conn.transaction():
            for query in pending:
                body, msg_id = registers.query_body(query), registers.query_msg_id(query.query_id)
                await outbox.enqueue(conn, self.config.police, "register_query", body, msg_id)
        self.store.changed(self.config.police).set()
        await self.api.queries_sent([q.query_id for q in pending])  # committed: offered again if this fails
        return len(pending)

    async def _register_loop(self) -> None:
        """Within a fifth of a second: a boa waits for the answer."""
        while True:
            try:
                await self.send_register_queries()
                self._away.discard("register queries")
            except Exception as exc:  # the backend or the database is away: try again in a moment
                self._failed("register queries", exc)
            await asyncio.sleep(0.2)

    # --- the operator feed: statuses, positions, alerts -----------------------------------------------------

    async def _org(self, org_id: int) -> tuple[str, str]:
        if org_id not in self._orgs and self.api is not None:
            self._orgs = {o.org_id: (o.code, o.name) for o in await self.api.organisations()}
        return self._orgs.get(org_id, (str(org_id), f"organisatie {org_id}"))

    async def send_alert(self, alert: AlertView) -> bool:
        """A safety alert (noodknop, assistance, man-down, missed check-in) as CAP to the police; True when
        newly queued. An escalation of it (the same alert again, a higher level) is not sent twice.

        The alert goes out even when an operator acknowledged it before the bridge saw it (the bridge was
        down): the police must know it happened. An acknowledgement follows as a CAP Update that references
        the alert. Both have fixed message ids, so snapshots and restarts never send either twice.
        """
        if alert.kind not in SAFETY_ALERTS:
            return False
        code, name = await self._org(alert.org_id)
        lon, lat, position_at, radius_km = alert.lon, alert.lat, None, 0.05
        fix = self._fixes.get(alert.unit_id) if alert.unit_id is not None else None
        if (lon is None or lat is None) and fix is not None and fix.at is not None:
            lon, lat, position_at = fix.lon, fix.lat, fix.at
            radius_km = max(0.05, (fix.accuracy_m or 0.0) / 1000)
        out = cap.OutgoingAlert(
            message_id=cap_msg_id(alert.alert_id),
            sender=self.config.sender,
            sent=alert.at,
            kind=alert.kind,
            call_sign=alert.call_sign or "onbekend",
            organisation=name,
            lon=lon,
            lat=lat,
            radius_km=radius_km,
            position_at=position_at,
            text=alert.text,
            status=cap.EXERCISE_STATUS[self.config.exercise_of(self.config.police)],
        )
        queued = await self.store.enqueue(self.config.police, "cap", cap.encode_alert(out), out.message_id)
        try:
            await self._alarm_eidos(alert, out)
        except CodecError as exc:  # never hold up the CAP or the operator feed behind it
            log.error("alarm %d not sent as EIDO: %s", alert.alert_id, exc)
        if queued is not None:
            police = self.config.police
            log.warning("%s of %s (%s) queued for %s as CAP", alert.kind.value, alert.call_sign, code, police)
        if alert.acknowledged_at is not None:
            await self._send_acknowledged(alert, out)
        return queued is not None

    async def _alarm_eidos(self, alert: AlertView, out: cap.OutgoingAlert) -> None:
        """The alarm (and, once seen, its acknowledgement) as EIDOs to every NENA conveyance partner: they
        subscribed to Schakel's EIDOs (docs/bridge.md, section 10). Fixed ids: each is queued once."""
        for partner in self.config.partners:
            if not partner.url.startswith("nena+"):
                continue
            seen = alert.acknowledged_at is not None
            versions = [(False, alert.at)] + ([(True, alert.acknowledged_at)] if seen else [])
            for acknowledged, at in versions:
                assert at is not None
                body = eido.encode_alarm(
                    alarm_id=alert.alert_id,
                    kind=alert.kind.value,
                    headline=cap.headline(out),
                    description=cap.describe(out),
                    at=at,
                    agency=self.config.agency,
                    call_sign=out.call_sign,
                    lon=out.lon,
                    lat=out.lat,
                    acknowledged=acknowledged,
                    exercise=partner.exercise,
                )
                msg_id = f"{cap_msg_id(alert.alert_id)}:{'gezien:' if acknowledged else ''}eido"
                await self.store.enqueue(partner.name, "eido", body, msg_id)

    async def _send_acknowledged(self, alert: AlertView, original: cap.OutgoingAlert) -> None:
        """The meldkamer has seen the alert: a CAP Update referencing it (sender,identifier,sent)."""
        assert alert.acknowledged_at is not None
        seen_at = alert.acknowledged_at.astimezone(LOCAL).strftime("%H:%M:%S")
        who = f" ({alert.acknowledged_by})" if alert.acknowledged_by else ""
        update = msgspec.structs.replace(
            original,
            message_id=f"{original.message_id}:gezien",
            sent=alert.acknowledged_at,
            msg_type="Update",
            references=cap.reference_to(original),
            text=f"Gezien door de meldkamer{who} om {seen_at}." + (f" {alert.text}" if alert.text else ""),
        )
        await self.store.enqueue(self.config.police, "cap", cap.encode_alert(update), update.message_id)

    def _remember_fixes(self, units: list[UnitView]) -> None:
        for unit in units:
            if unit.lon is not None and unit.lat is not None and unit.at is not None:
                self._fixes[unit.unit_id] = unit

    async def _unit_changes(self, units: list[UnitView]) -> None:
        self._remember_fixes(units)
        for unit in units:
            code, _ = await self._org(unit.org_id)
            self._units[unit.unit_id] = status.UnitEntry(unit=unit.call_sign, organisation=code)
        await self._send_roster_if_changed()  # a new unit is registered before its first status
        for unit in units:
            if self._statuses.get(unit.unit_id) != unit.status:
                await self._send_status(unit)
                self._statuses[unit.unit_id] = unit.status
            if unit.lon is not None and unit.lat is not None and unit.at is not None:
                self.avl.offer(
                    status.AvlPosition(
                        unit=unit.call_sign,
                        lon=unit.lon,
                        lat=unit.lat,
                        at=unit.at,
                        accuracy_m=unit.accuracy_m,
                        speed_mps=unit.speed_mps,
                        heading_deg=unit.heading_deg,
                    )
                )

    async def _send_roster_if_changed(self) -> None:
        """The roster goes first (the snapshot's units, then every new or renamed unit a delta shows)."""
        roster = sorted(self._units.values(), key=lambda e: (e.organisation, e.unit))
        if roster == self._roster_sent:
            return
        body = status.encode_feed(status.UnitRoster(units=roster))
        partner = self.config.meldkamer
        async with self.pool.acquire() as conn, conn.transaction():  # the roster last queued is the state
            last = await outbox.last_of_type(conn, partner, "unit_roster")
            if last is None or last.body != body.decode():
                msg_id = outbox.stable_id("roster", body, str(last.seq if last else 0))
                await outbox.enqueue(conn, partner, "unit_roster", body, msg_id)
        self.store.changed(partner).set()
        self._roster_sent = roster

    async def _send_status(self, unit: UnitView) -> None:
        """A unit's status, once per (status, since): the id comes from the state, and what was queued last is
        in the database (bridge_feed_sent), so a restarted bridge sends an unchanged status never again."""
        organisation = self._units[unit.unit_id].organisation
        body = status.encode_status(
            unit.status,
            unit=unit.call_sign,
            organisation=organisation,
            since=unit.status_since,
            mapping=self.config.mapping,
        )
        msg_id = outbox.stable_id(
            "status", organisation, unit.call_sign, unit.status.value, unit.status_since.isoformat()
        )
        partner = self.config.meldkamer
        async with self.pool.acquire() as conn, conn.transaction():
            sent = await outbox.sent_statuses(conn, partner, [unit.call_sign])
            if sent.get(unit.call_sign) == (unit.status.value, unit.status_since):
                return
            await outbox.enqueue(conn, partner, "unit_status", body, msg_id)
            await outbox.record_status(conn, partner, unit.call_sign, unit.status.value, unit.status_since)
        self.store.changed(partner).set()

    async def send_avl(self, batch: status.AvlBatch) -> bool:
        """Coalesced positions, without those not newer than the last one queued for their unit (kept in the
        database, so a restarted bridge does not send them again); the id comes from the content."""
        partner = self.config.meldkamer
        async with self.pool.acquire() as conn, conn.transaction():
            sent = await outbox.sent_positions(conn, partner, [p.unit for p in batch.positions])
            fresh = [p for p in batch.positions if p.unit not in sent or p.at > sent[p.unit]]
            if not fresh:
                return False
            body = status.encode_feed(status.AvlBatch(positions=fresh))
            await outbox.enqueue(conn, partner, "avl", body, outbox.stable_id("avl", body))
            await outbox.record_positions(conn, partner, {p.unit: p.at for p in fresh})
        self.store.changed(partner).set()
        return True

    async def _snapshot(self, snapshot: Snapshot) -> None:
        self._units = {}  # the snapshot is the whole roster; _unit_changes sends it if it differs
        self._remember_fixes(snapshot.units)  # an open noodknop without a position goes out with the unit's
        for alert in snapshot.alerts:  # raised while we were away: idempotent by message id
            await self.send_alert(alert)
        await self._unit_changes(snapshot.units)

    async def _avl_ticker(self) -> None:
        while True:
            await asyncio.sleep(self.config.avl_interval_s)
            batch = self.avl.drain()
            if batch is not None:
                try:
                    await self.send_avl(batch)
                except (OSError, asyncpg.PostgresError, asyncpg.InterfaceError) as exc:
                    log.warning("positions not queued (the database is away): %s", exc)

    async def _frame(self, raw: str | bytes) -> bool:
        """Act on one frame of the operator feed; True for a snapshot (the feed is up)."""
        frame = server_decoder.decode(raw)
        if isinstance(frame, AlertRaised):
            await self.send_alert(frame.alert)
        elif isinstance(frame, Delta):
            await self._unit_changes(frame.units)
            for alert in frame.alerts:  # an acknowledgement rides with the tick
                if alert.kind in SAFETY_ALERTS and alert.acknowledged_at is not None:
                    await self.send_alert(alert)
            if frame.timeline or frame.incidents:
                self.timeline_changed.set()
        elif isinstance(frame, Snapshot):
            await self._snapshot(frame)
            if not self.backend_connected.is_set():
                for listener in self.on_backend_up:
                    listener()
            self.backend_connected.set()
            return True
        elif isinstance(frame, Error):
            raise Unavailable(f"backend: {frame.code} {frame.message}")
        return False

    async def _feed(self, api: BackendApi) -> None:
        """The operator socket, for as long as the bridge runs; the outbox keeps what was queued meanwhile."""
        attempt = 0
        async with reconnecting(
            api.feed_url, base=FEED_BASE_S, cap=FEED_CAP_S, max_size=MAX_FEED_FRAME, open_timeout=10
        ) as connections:
            async for ws in connections:
                try:
                    await ws.send(encoder.encode(Hello(token=await api.token())).decode())
                    async for raw in ws:
                        if await self._frame(raw):
                            attempt = 0
                except Exception as exc:  # backend down or restarting, or our database away
                    api.forget_token()
                    attempt += 1
                    log.info("backend feed down (%s); retry %d", exc, attempt)
                finally:
                    self.backend_connected.clear()
                await asyncio.sleep(backoff_delay(max(attempt, 1), base=FEED_BASE_S, cap=FEED_CAP_S))
