"""The bridge process: the backend's live picture in, partner links out, the outbox in between.

Backend side: it logs in with a service account and watches the operator socket (/ws/operator): unit statuses
go to the meldkamer as the unit-status feed, positions as coalesced AVL, noodknop and assistance alerts to the
police as CAP. Partner side: one link per partner (meldkamer_bridge.link) fed from the PostgreSQL outbox;
what partners send (EIDO incidents, CAP police alerts) lands in the inbox, validated.
The one place where bridge things are wired together.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime

import asyncpg
import httpx
import msgspec
import websockets

from meldkamer_bridge import handover, link, outbox, registers
from meldkamer_bridge.adapters import cap, eido, status
from meldkamer_bridge.adapters.base import CodecError
from meldkamer_bridge.outbox import Envelope, InboxMessage, PgStore, backoff_delay
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


class Partner(msgspec.Struct, frozen=True, kw_only=True):
    name: str  # its name on the link (the simulator's default: gms-sim)
    url: str  # ws://host:port/
    token: str = ""


class BridgeConfig(msgspec.Struct, frozen=True, kw_only=True):
    database_url: str
    partners: tuple[Partner, ...]
    meldkamer: str  # which partner gets unit status, AVL and incident updates
    police: str  # which partner gets CAP alerts
    me: str = "schakel"  # our name on the links
    backend_url: str | None = None  # e.g. http://127.0.0.1:8000; None: links only
    username: str = "bridge"
    password: str = ""
    avl_interval_s: float = 1.0
    sender: str = "schakel@handhaving.nl"  # CAP sender
    agency: str = "handhaving.nl"  # our agency id in EIDO updates
    mapping: status.PartnerMapping = status.GMS_DEFAULT


def cap_msg_id(alert_id: int) -> str:
    """The CAP message id of a Schakel alert: fixed, so a restart or a snapshot never sends it twice."""
    return f"schakel:alert:{alert_id}"


def validate_inbound(env: Envelope) -> str | None:
    """What the bridge accepts from partners: EIDO incidents and CAP alerts, valid against their schemas."""
    try:
        if env.type == "eido":
            eido.decode_incident(env.body.encode("utf-8"))
        elif env.type == "cap":
            cap.decode_alert(env.body.encode("utf-8"))
        elif env.type == "register_answer":
            registers.decode_answer(env.body.encode("utf-8"))
        else:
            return f"the bridge does not take {env.type!r} messages"
    except CodecError as exc:
        return f"{exc.field}: {exc.reason}"
    except (msgspec.ValidationError, msgspec.DecodeError, ValueError) as exc:
        return str(exc)[:300]
    return None


# Where handed-over incidents go: the console plugs in "create a melding". It runs in the transaction that
# marks the inbox message processed (so each incident becomes a melding exactly once), returns what it did (as
# the inbox row's result), or raises to roll back and leave the message for a later try.
IncidentSink = Callable[[asyncpg.Connection, InboxMessage, eido.IncidentHandover], Awaitable[str]]


class Bridge:
    def __init__(self, config: BridgeConfig, pool: asyncpg.Pool) -> None:
        self.config = config
        self.pool = pool
        self.store = PgStore(pool)
        self.avl = status.AvlCoalescer()
        self.incident_sink: IncidentSink | None = None
        self.backend_connected = asyncio.Event()
        self.links_connected = {p.name: asyncio.Event() for p in config.partners}
        self._statuses: dict[int, UnitStatus] = {}  # unit id -> last status sent
        self._units: dict[int, status.UnitEntry] = {}  # unit id -> roster entry, as last sent
        self._roster_sent: list[status.UnitEntry] | None = None
        self._orgs: dict[int, tuple[str, str]] = {}  # org id -> (code, name)
        self._http: httpx.AsyncClient | None = None  # to the backend, when configured
        self._token: str | None = None  # the service account's access token
        self.timeline_changed = asyncio.Event()  # wakes the progress loop
        self.inbox_changed = asyncio.Event()  # wakes the inbox loop

    async def run(self) -> None:
        async with contextlib.AsyncExitStack() as stack:
            if self.config.backend_url:
                self._http = await stack.enter_async_context(
                    httpx.AsyncClient(base_url=self.config.backend_url, timeout=10)
                )
                if self.incident_sink is None:
                    self.incident_sink = self.create_melding
            await self._run()

    async def _run(self) -> None:
        async with asyncio.TaskGroup() as tasks:
            for partner in self.config.partners:
                tasks.create_task(
                    link.connect(
                        partner.url,
                        self.store,
                        me=self.config.me,
                        peer=partner.name,
                        token=partner.token,
                        validate=validate_inbound,
                        on_received=self._received,
                        connected=self.links_connected[partner.name],
                    )
                )
            if self.config.backend_url:
                tasks.create_task(self._backend_feed())
                tasks.create_task(self._avl_ticker())
                tasks.create_task(self._progress_loop())
                tasks.create_task(self._register_loop())
            tasks.create_task(self._inbox_loop())

    # --- partner -> Schakel -------------------------------------------------------------------------------

    async def _received(self, env: Envelope) -> None:
        log.info("from %s: %s #%d %s", env.partner, env.type, env.seq, env.msg_id)
        self.inbox_changed.set()

    async def _inbox_loop(self) -> None:
        """Hand stored incidents to the sink (when one is set) and police alerts to the backend (when there is
        one); the inbox keeps them until that succeeds."""
        while True:
            self.inbox_changed.clear()
            try:
                if self.incident_sink is not None:
                    await self.process_incidents()
                if self._http is not None:
                    await self.process_area_alerts()
                await self.process_register_answers()
            except Exception:  # the database is away: try again in a moment
                log.exception("handing the inbox over failed")
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(1.0):
                    await self.inbox_changed.wait()

    async def process_register_answers(self) -> int:
        """Register answers from the police onto their queries; the inbox keeps no copy."""
        async with self.pool.acquire() as conn:
            messages = await outbox.unprocessed(conn, types=["register_answer"])
        done = 0
        for message in messages:
            async with self.pool.acquire() as conn, conn.transaction():
                done += await outbox.mark_processed(conn, message.id, await registers.take_in(conn, message))
        return done

    async def _register_loop(self) -> None:
        """Boa's register queries (queued by the backend) to the police, within a fifth of a second."""
        while True:
            try:
                async with self.pool.acquire() as conn, conn.transaction():
                    sent = await registers.send_pending(conn, self.config.police)
                if sent:
                    self.store.changed(self.config.police).set()
            except Exception:  # the database is away: try again in a moment
                log.exception("sending register queries failed")
            await asyncio.sleep(0.2)

    async def process_area_alerts(self) -> int:
        """Police CAP alerts to the backend (POST /api/area-alerts), each marked processed once posted."""
        assert self._http is not None
        async with self.pool.acquire() as conn:
            messages = await outbox.unprocessed(conn, types=["cap"])
        done = 0
        for message in messages:
            alert = cap.decode_alert(message.body.encode("utf-8"))  # valid: checked on arrival
            body = handover.area_alert_request(message.partner, alert)
            try:
                token = await self._service_token()
                stored = await handover.post(self._http, token, "/api/area-alerts", body)
                result = f"area alert {stored['alert_id']} to units {stored['unit_ids']}"
            except handover.Refused as exc:
                result = f"refused: {exc}"
            except Exception:
                self._token = None
                log.exception("police alert %s not handed over yet", message.msg_id)
                continue
            async with self.pool.acquire() as conn:
                done += await outbox.mark_processed(conn, message.id, result)
        return done

    async def process_incidents(self) -> int:
        assert self.incident_sink is not None
        async with self.pool.acquire() as conn:
            messages = await outbox.unprocessed(conn, types=["eido"])
        done = 0
        for message in messages:
            handover = eido.decode_incident(message.body.encode("utf-8"))  # valid: checked on arrival
            try:
                async with self.pool.acquire() as conn, conn.transaction():
                    result = await self.incident_sink(conn, message, handover)
                    done += await outbox.mark_processed(conn, message.id, result)
            except Exception:
                log.exception("incident %s not handled yet", message.msg_id)
        return done

    async def _service_token(self) -> str:
        assert self._http is not None
        if self._token is None:
            self._token = await self._login(self._http)
        return self._token

    async def create_melding(
        self, conn: asyncpg.Connection, message: InboxMessage, incident: eido.IncidentHandover
    ) -> str:
        """The incident sink with a backend: the melding is made (once) through POST /api/incidents."""
        assert self._http is not None
        body = handover.incident_request(message.partner, incident)
        try:
            melding = await handover.post(self._http, await self._service_token(), "/api/incidents", body)
        except handover.Refused as exc:
            declined = eido.IncidentUpdate(
                external_id=incident.external_id,
                agency=self.config.agency,
                progress=eido.Progress.DECLINED,
                at=datetime.now(UTC),
                note=f"Niet overgenomen door handhaving: {exc}"[:500],
            )
            await self.send_progress(conn, declined, msg_id=f"schakel:declined:{message.msg_id}")
            return f"refused: {exc}"
        except RuntimeError:
            self._token = None  # perhaps expired: log in again on the next try
            raise
        return f"melding {melding['incident_id']}"

    async def _progress_loop(self) -> None:
        """Timeline lines of handed-over meldingen to the meldkamer, woken by the operator feed."""
        while True:
            try:
                await self.send_pending_progress()
            except Exception:  # the database is away: try again in a moment
                log.exception("sending progress failed")
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(2.0):
                    await self.timeline_changed.wait()
            self.timeline_changed.clear()

    async def send_pending_progress(self) -> int:
        """Queue an eido_update for each new timeline line of a handed-over melding; how many were queued."""
        queued = 0
        for partner in self.config.partners:
            async with self.pool.acquire() as conn:
                events = await handover.unsent_events(conn, partner.name)
            for event in events:
                update = handover.update_for(event, self.config.agency)
                if update is None:
                    continue
                async with self.pool.acquire() as conn, conn.transaction():
                    msg_id = handover.progress_msg_id(event.incident_id, event.event_id)
                    queued += await self.send_progress(conn, update, msg_id=msg_id, partner=partner.name)
            if events:
                self.store.changed(partner.name).set()  # committed now: the link may send them
        return queued

    # --- Schakel -> partners ------------------------------------------------------------------------------

    async def _org(self, org_id: int) -> tuple[str, str]:
        if org_id not in self._orgs:
            async with self.pool.acquire() as conn:
                rows = await conn.fetch("SELECT id, code, name FROM organisations")
            self._orgs = {r["id"]: (r["code"], r["name"]) for r in rows}
        return self._orgs.get(org_id, (str(org_id), f"organisatie {org_id}"))

    async def send_progress(
        self,
        conn: asyncpg.Connection,
        update: eido.IncidentUpdate,
        *,
        msg_id: str | None = None,
        partner: str | None = None,
    ) -> bool:
        """Queue our progress on a handed-over incident (accepted, unit assigned, en route, ...).

        Takes the caller's connection: call it in the transaction that records the progress in Schakel, so the
        update is sent if and only if the change is stored. A fixed `msg_id` is queued once (False when it was
        queued before); `partner` defaults to the meldkamer.
        """
        partner = partner or self.config.meldkamer
        body = eido.encode_update(update, self.config.mapping)
        queued = await outbox.enqueue(conn, partner, "eido_update", body, msg_id)
        self.store.changed(partner).set()
        return queued is not None

    async def send_alert(self, alert: AlertView) -> bool:
        """A noodknop or assistance request as CAP to the police; True when newly queued."""
        if alert.kind not in SAFETY_ALERTS or alert.acknowledged_at is not None:
            return False
        code, name = await self._org(alert.org_id)
        out = cap.OutgoingAlert(
            message_id=cap_msg_id(alert.alert_id),
            sender=self.config.sender,
            sent=alert.at,
            kind=alert.kind,
            call_sign=alert.call_sign or "onbekend",
            organisation=name,
            lon=alert.lon,
            lat=alert.lat,
            text=alert.text,
        )
        queued = await self.store.enqueue(self.config.police, "cap", cap.encode_alert(out), out.message_id)
        if queued is not None:
            log.warning(
                "%s of %s (%s) queued for %s as CAP",
                alert.kind.value,
                alert.call_sign,
                code,
                self.config.police,
            )
        return queued is not None

    async def _unit_changes(self, units: list[UnitView]) -> None:
        for unit in units:
            code, _ = await self._org(unit.org_id)
            self._units[unit.unit_id] = status.UnitEntry(unit=unit.call_sign, organisation=code)
        await self._send_roster_if_changed()  # a new unit is registered before its first status
        for unit in units:
            if self._statuses.get(unit.unit_id) != unit.status:
                body = status.encode_status(
                    unit.status,
                    unit=unit.call_sign,
                    organisation=self._units[unit.unit_id].organisation,
                    since=unit.status_since,
                    mapping=self.config.mapping,
                )
                await self.store.enqueue(self.config.meldkamer, "unit_status", body)
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
        if roster != self._roster_sent:
            await self.store.enqueue(
                self.config.meldkamer, "unit_roster", status.encode_feed(status.UnitRoster(units=roster))
            )
            self._roster_sent = roster

    async def _snapshot(self, snapshot: Snapshot) -> None:
        self._units = {}  # the snapshot is the whole roster; _unit_changes sends it if it differs
        for alert in snapshot.alerts:  # raised while we were away: idempotent by message id
            await self.send_alert(alert)
        await self._unit_changes(snapshot.units)

    async def _avl_ticker(self) -> None:
        while True:
            await asyncio.sleep(self.config.avl_interval_s)
            batch = self.avl.drain()
            if batch is not None:
                await self.store.enqueue(self.config.meldkamer, "avl", status.encode_feed(batch))

    async def _login(self, http: httpx.AsyncClient) -> str:
        r = await http.post(
            "/api/auth/login", json={"username": self.config.username, "password": self.config.password}
        )
        if r.status_code != 200:
            raise link.LinkError(f"login as {self.config.username!r} refused: {r.status_code} {r.text[:200]}")
        return str(r.json()["access_token"])

    async def _backend_feed(self) -> None:
        base = self.config.backend_url
        assert base is not None
        ws_url = base.replace("http", "ws", 1).rstrip("/") + "/ws/operator"
        attempt = 0
        async with httpx.AsyncClient(base_url=base, timeout=10) as http:
            while True:
                try:
                    token = await self._login(http)
                    async with websockets.connect(ws_url, max_size=16 * 1024 * 1024, open_timeout=10) as ws:
                        await ws.send(encoder.encode(Hello(token=token)).decode())
                        async for raw in ws:
                            frame = server_decoder.decode(raw)
                            if isinstance(frame, AlertRaised):
                                await self.send_alert(frame.alert)
                            elif isinstance(frame, Delta):
                                await self._unit_changes(frame.units)
                                if frame.timeline or frame.incidents:
                                    self.timeline_changed.set()
                            elif isinstance(frame, Snapshot):
                                await self._snapshot(frame)
                                attempt = 0
                                self.backend_connected.set()
                            elif isinstance(frame, Error):
                                raise link.LinkError(f"backend: {frame.code} {frame.message}")
                except asyncio.CancelledError:
                    raise
                except Exception as exc:  # backend down or restarting: the outbox keeps what was queued
                    attempt += 1
                    log.info("backend feed down (%s); retry %d", exc, attempt)
                finally:
                    self.backend_connected.clear()
                await asyncio.sleep(backoff_delay(max(attempt, 1), base=0.2, cap=10.0))
