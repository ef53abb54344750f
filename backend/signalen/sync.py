"""The Signalen worker: poll signals into meldingen, write the boa's progress back, file and follow
observations. One cycle at a time per gemeente across instances (an advisory lock), every step idempotent.

Nothing here is on the field's path: a tablet's task update is stored by the dispatch as always, and the
write-back reads it later from the melding's timeline (one `signalen_updates` row per line, retried with
backoff until Signalen took it). A failing Signalen leaves the trouble in `signalen_sync.last_error` and on
the row, visible at `GET /api/signalen/status`, and loses nothing: the next cycle tries again.
"""

from __future__ import annotations

import asyncio
import logging
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from backend.dispatch import live
from backend.dispatch import repository as dispatch
from backend.geofencing.logic import containing_beats
from backend.services import Services
from backend.settings import Settings, SettingsError, variable
from backend.signalen import logic
from backend.signalen import repository as repo
from backend.signalen.client import SignalenClient, SignalenError

log = logging.getLogger(__name__)
LOCK = 0x5165_6E61  # pg advisory lock key of the Signalen worker ("Sgna")
ACTOR = "Signalen"
OVERLAP = timedelta(minutes=5)  # polls look back this far past the newest signal seen (late commits there)
MAX_BACKOFF_S = 300.0


def backoff_s(attempts: int, retry_after: float | None, base_s: float = 1.0) -> float:
    """2, 4, 8, … seconds (times `base_s`) up to five minutes; a Retry-After the partner gave wins."""
    if retry_after is not None:
        return min(MAX_BACKOFF_S, retry_after)
    return min(MAX_BACKOFF_S, base_s * 2.0 ** min(attempts + 1, 10))


def check_settings(settings: Settings) -> None:
    """Signalen on (a URL) needs its token endpoint, client and gemeente: name what is missing at start."""
    if not settings.signalen_url:
        return
    for name in ("signalen_token_url", "signalen_client_id", "signalen_client_secret", "signalen_org"):
        if not getattr(settings, name):
            raise SettingsError(f"{variable(name)} is required when {variable('signalen_url')} is set")


@dataclass
class CycleReport:
    created: list[int] = field(default_factory=list)  # melding ids made from signals this cycle
    updates_sent: int = 0
    observations_filed: int = 0
    errors: list[str] = field(default_factory=list)


class SignalenSync:
    def __init__(
        self,
        services: Services,
        client: SignalenClient,
        *,
        org_code: str,
        source: str = "Schakel",
        department: str = "",
        poll_s: float = 30.0,
    ) -> None:
        self.services = services
        self.client = client
        self.org_code = org_code
        self.source = source
        self.department = department
        self.poll_s = poll_s
        self._org: int | None = None
        self.retry_base_s = 1.0

    @classmethod
    def from_settings(cls, services: Services) -> SignalenSync:
        s = services.settings
        check_settings(s)
        client = SignalenClient(
            s.signalen_url,
            s.signalen_token_url,
            s.signalen_client_id,
            s.signalen_client_secret,
            s.signalen_timeout_s,
        )
        return cls(
            services,
            client,
            org_code=s.signalen_org,
            source=s.signalen_source,
            department=s.signalen_department,
            poll_s=s.signalen_poll_s,
        )

    async def run(self) -> None:
        """Cycle every `poll_s` until cancelled; a failed cycle is logged and the next one tries again."""
        try:
            while True:
                try:
                    await self.cycle()
                except Exception:  # a bug or the database away: log, keep the worker alive
                    log.exception("Signalen cycle failed")
                await asyncio.sleep(self.poll_s)
        finally:
            await self.client.close()

    async def _org_id(self) -> int | None:
        if self._org is None:
            async with self.services.pool.acquire() as conn:
                self._org = await repo.org_id(conn, self.org_code)
            if self._org is None:
                log.error("Signalen: no organisation with code %r (SCHAKEL_SIGNALEN_ORG)", self.org_code)
        return self._org

    async def cycle(self) -> CycleReport:
        report = CycleReport()
        org = await self._org_id()
        if org is None:
            report.errors.append(f"no organisation {self.org_code!r}")
            return report
        async with self.services.pool.acquire() as lock_conn:
            if not await lock_conn.fetchval("SELECT pg_try_advisory_lock($1)", LOCK):
                return report  # another instance runs this cycle
            try:
                for step in (
                    self.poll,
                    self.queue_updates,
                    self.push_updates,
                    self.file_observations,
                    self.follow_observations,
                ):
                    try:
                        await step(org, report)
                    except SignalenError as exc:
                        report.errors.append(exc.message)
                        log.warning("Signalen %s: %s", step.__name__, exc.message)
                        async with self.services.pool.acquire() as conn:
                            await repo.trouble(conn, org, f"{step.__name__}: {exc.message}")
            finally:
                await lock_conn.execute("SELECT pg_advisory_unlock($1)", LOCK)
        return report

    # --- signals in ---------------------------------------------------------------------------------------

    async def poll(self, org: int, report: CycleReport) -> None:
        async with self.services.pool.acquire() as conn:
            mappings = await repo.mappings(conn, org)
            created_after = await repo.cursor(conn, org)
        if not mappings:
            return
        params = [("category_slug", slug) for slug in mappings]
        params += [
            ("created_after", created_after.isoformat()),
            ("ordering", "created_at"),
            ("page_size", "100"),
        ]
        if self.department:
            params.append(("routing_department_code", self.department))
        signals = await self.client.signals(params)
        newest = created_after
        for signal in signals:
            newest = max(newest, signal.created_at)
            mapping = mappings.get(signal.category.sub_slug)
            if mapping is None or signal.status.state in logic.CLOSED_STATES:
                continue
            try:
                incident_id = await self._melding(org, logic.melding(signal, mapping))
            except logic.Malformed as exc:  # one bad signal must not hold up the others, poll after poll
                message = f"signal {signal.id} skipped: {exc}"
                report.errors.append(message)
                log.warning("Signalen: %s", message)
                async with self.services.pool.acquire() as conn:
                    await repo.trouble(conn, org, f"poll: {message}")
                continue
            if incident_id is not None:
                report.created.append(incident_id)
        async with self.services.pool.acquire() as conn:
            await repo.polled(conn, org, max(created_after, newest - OVERLAP))

    async def _melding(self, org: int, m: logic.Melding) -> int | None:
        """The melding for a signal, made once (one per org, source and signal id); None when it existed."""
        beats = containing_beats(m.lon, m.lat, self.services.hub.picture.beats)
        async with self.services.pool.acquire() as conn, conn.transaction():
            owners = await dispatch.beat_orgs(conn, sorted(beats))
            in_org = sorted(b for b, o in owners.items() if o == org)
            new = dispatch.NewIncident(
                org_id=org,
                category=m.category,
                priority=m.priority,
                description=m.description,
                lon=m.lon,
                lat=m.lat,
                address=m.address,
                beat_id=in_org[0] if in_org else None,
                required_domain=m.required_domain,
                created_by=None,
                source=logic.SOURCE,
                external_id=m.external_id,
            )
            incident_id = await dispatch.create_incident(conn, new, ACTOR)
            if incident_id is None:
                return None
            await repo.set_deadline(conn, incident_id, m.deadline)
            view = await dispatch.require_incident(conn, incident_id)
            events = await dispatch.timeline(conn, incident_id)
        live.publish(self.services.hub, view, events)
        return incident_id

    # --- progress out -------------------------------------------------------------------------------------

    async def queue_updates(self, org: int, report: CycleReport) -> None:
        async with self.services.pool.acquire() as conn, conn.transaction():
            for line in await repo.new_timeline_lines(conn, org):
                update = logic.update_for(line["kind"], line["text"])
                await repo.queue_update(
                    conn,
                    line["id"],
                    org,
                    int(line["external_id"]),
                    update.state if update else None,
                    update.text if update else line["text"],
                    skip=update is None,
                )

    async def push_updates(self, org: int, report: CycleReport) -> None:
        async with self.services.pool.acquire() as conn:
            due = await repo.due_updates(conn, org)
        held: set[int] = set()  # a signal whose earlier update failed: its later ones wait (order per signal)
        for row in due:
            if row["signal_id"] in held:
                continue
            try:
                note = await self._write_back(row["signal_id"], row["event_id"], row["state"], row["text"])
            except SignalenError as exc:
                held.add(row["signal_id"])
                delay = None if exc.final else backoff_s(row["attempts"], exc.retry_after, self.retry_base_s)
                async with self.services.pool.acquire() as conn:
                    await repo.update_failed(conn, row["event_id"], exc.message, delay)
                if not exc.final:
                    raise  # Signalen is in trouble: the cycle's other steps get their turn, this one stops
                continue
            async with self.services.pool.acquire() as conn:
                await repo.update_sent(conn, row["event_id"], note)
            report.updates_sent += 1

    async def _write_back(self, signal_id: int, event_id: int, state: str | None, text: str) -> str:
        """Send one update unless the signal has it (its marker in the history: sent before a crash)."""
        history = await self.client.history(signal_id)
        if logic.has_marker([h.description or "" for h in history], event_id):
            return "already in Signalen"
        body_text = logic.marked(text, event_id)
        if state is not None:
            current = await self.client.signal(signal_id)
            if (
                current.status.state in logic.CLOSED_STATES
            ):  # closed in Signalen meanwhile: tell, do not reopen
                await self.client.patch(signal_id, {"notes": [{"text": body_text}]})
                return f"as a note: the signal is {current.status.state_display or current.status.state}"
            await self.client.patch(signal_id, {"status": {"state": state, "text": body_text}})
            return ""
        await self.client.patch(signal_id, {"notes": [{"text": body_text}]})
        return ""

    # --- observations for another department ----------------------------------------------------------------

    async def file_observations(self, org: int, report: CycleReport) -> None:
        async with self.services.pool.acquire() as conn:
            rows = await repo.observations_to_file(conn, org)
        for row in rows:
            try:
                signal_id = await self._file(row)
            except SignalenError as exc:
                delay = None if exc.final else backoff_s(row["attempts"], exc.retry_after, self.retry_base_s)
                async with self.services.pool.acquire() as conn:
                    await repo.observation_failed(conn, row["event_id"], exc.message, delay)
                if not exc.final:
                    raise
                continue
            async with self.services.pool.acquire() as conn:
                await repo.observation_filed(conn, row["event_id"], signal_id)
            report.observations_filed += 1

    async def _file(self, row: Any) -> int:
        event_id: uuid.UUID = row["event_id"]
        text = logic.marked(row["text"], event_id)
        if row["attempts"] > 0:  # an earlier try may have reached Signalen before its answer was lost
            since = (row["created_at"] - timedelta(minutes=1)).astimezone(UTC)
            mine = await self.client.signals([("source", self.source), ("created_after", since.isoformat())])
            for signal in mine:
                if logic.has_marker([signal.text], event_id):
                    return signal.id
        main, sub = row["category_slug"].split("/", 1)
        body = {
            "text": text,
            "location": {"geometrie": {"type": "Point", "coordinates": [row["lon"], row["lat"]]}},
            "category": {
                "category_url": self.client.url(
                    f"/signals/v1/public/terms/categories/{main}/sub_categories/{sub}"
                )
            },
            "reporter": {},
            "incident_date_start": row["created_at"].astimezone(UTC).isoformat(),
            "source": self.source,
        }
        return await self.client.create(body)

    async def follow_observations(self, org: int, report: CycleReport) -> None:
        async with self.services.pool.acquire() as conn:
            rows = await repo.observations_to_follow(conn, org)
        for row in rows:
            signal = await self.client.signal(row["signal_id"])
            history = await self.client.history(row["signal_id"])
            entries = [(h.identifier, h.when, h.action, h.description or "") for h in history]
            async with self.services.pool.acquire() as conn:
                await repo.observation_state(
                    conn, row["event_id"], signal.status.state, signal.status.state_display, entries
                )


def now() -> datetime:
    return datetime.now(UTC)
