"""Dispatch use cases: each one runs the SQL in one transaction and tells the live side.

Routes call these and stay a few lines; everything here takes the services and the principal explicitly. Who
may call them at all (DISPATCH_ROLES) is a guard on their routes; which organisation's data they reach is
checked here, and so is the track replay's role, because a refused replay is logged too.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime, timedelta

import asyncpg
import msgspec
from shapely.geometry import shape

from backend.auth.guards import require_org
from backend.auth.tokens import Principal
from backend.db.pool import Conn
from backend.dispatch import live
from backend.dispatch import repository as repo
from backend.dispatch.logic import (
    Candidate,
    CurrentTask,
    IncidentSite,
    Proposal,
    propose_units,
    taken_from_text,
    taken_over_text,
    takeover_reason,
    takes_over,
)
from backend.errors import BadInput, Conflict, DomainError, Forbidden, NotFound
from backend.geocoding.client import GeocoderUnavailable
from backend.geofencing.logic import containing_beats
from backend.privacy import audit
from backend.services import Services
from shared.bridge_api import IncidentOutcome
from shared.ids import INT8_MAX
from shared.protocol import IncidentView, MessageView, TaskCancelled, TimelineEntry
from shared.tasks import ACTIVE_TASK_STATES

DISPATCH_ROLES = ("operator", "teamlead", "admin", "service")
TRACK_ROLES = ("operator", "teamlead", "admin")


class IncidentRequest(msgspec.Struct, frozen=True, kw_only=True):
    category: str
    priority: int
    description: str = ""
    lon: float | None = None
    lat: float | None = None
    address: str = ""
    required_domain: int = 1
    org_id: int | None = None
    source: str | None = None
    external_id: str | None = None
    exercise: str = ""
    bag_id: str | None = None  # the address was looked up in the console: its BAG id and buurtcode
    buurtcode: str | None = None


class IncidentDetail(msgspec.Struct, frozen=True, kw_only=True):
    incident: IncidentView
    timeline: list[TimelineEntry]


class TaskCreated(msgspec.Struct, frozen=True, kw_only=True):
    task_id: int
    incident_id: int
    unit_id: int
    sent: bool  # reached the tablet now; otherwise it goes out when the tablet reconnects


class Track(msgspec.Struct, frozen=True, kw_only=True):
    unit_id: int
    call_sign: str
    since: datetime
    points: list[repo.TrackPoint]


def _known_id(value: int, field: str, what: str) -> None:
    """Ids beyond bigint exist nowhere: 404 (not 400 as for other ids) before PostgreSQL would fail on them.

    Dispatch answers an unknown melding or task the same whether its id is in range or not.
    """
    if not 1 <= value <= INT8_MAX:
        raise NotFound(f"{what} niet gevonden", field=field)


def _actor(principal: Principal) -> str:
    return principal.username or f"account {principal.account_id}"


async def _actor_name(conn: Conn, principal: Principal) -> str:
    """Who did it, as the timeline shows it: the account's display name (else its username)."""
    name: str | None = await conn.fetchval(
        "SELECT coalesce(nullif(display_name, ''), username) FROM accounts WHERE id = $1",
        principal.account_id,
    )
    return name or _actor(principal)


# --- incidents ----------------------------------------------------------------------------------------------


async def create_incident(services: Services, principal: Principal, data: IncidentRequest) -> IncidentView:
    async with services.pool.acquire() as conn, conn.transaction():
        lon, lat, address = await _locate(services, principal, data)
        org_id, beat_id = await _place(services, principal, conn, lon, lat, data.org_id)
        new = _incident_row(principal, data, org_id, beat_id, lon, lat, address)
        incident_id = await repo.create_incident(conn, new, await _actor_name(conn, principal))
        if incident_id is None:  # a partner's incident handed over again: the melding made the first time
            return await _visible_incident(conn, principal, await _external(conn, org_id, data))
        view = await repo.require_incident(conn, incident_id)
        events = await repo.timeline(conn, incident_id)
    live.publish(services.hub, view, events)
    services.addresses.poke()  # its address (BAG id, buurtcode) is filled in the background
    return view


async def create_incidents(
    services: Services, principal: Principal, items: Sequence[IncidentRequest | DomainError]
) -> list[IncidentOutcome]:
    """A partner's batch of handed-over incidents (POST /api/bridge/incidents), in order, in one transaction:
    each item is made as POST /api/incidents would make it, or refused alone with the 4xx that route would
    answer. The common case writes the whole batch with two statements (the meldingen, their `created`
    lines); when those fail the transaction rolls back and the batch is made again item by item, each under
    a savepoint of its own, so only the failing item is refused."""
    try:
        async with services.pool.acquire() as conn, conn.transaction():
            made, outcomes = await _create_bulk(services, principal, conn, items)
    except asyncpg.PostgresError:
        async with services.pool.acquire() as conn, conn.transaction():
            made, outcomes = await _create_one_by_one(services, principal, conn, items)
    for view, event in made:
        live.publish(services.hub, view, [event])
    if made:
        services.addresses.poke()
    return outcomes


Made = list[tuple[IncidentView, TimelineEntry]]


def _refusal(exc: DomainError) -> IncidentOutcome:
    return IncidentOutcome(status=exc.status_code, field=exc.field, reason=exc.message)


async def _create_bulk(
    services: Services, principal: Principal, conn: Conn, items: Sequence[IncidentRequest | DomainError]
) -> tuple[Made, list[IncidentOutcome]]:
    actor = await _actor_name(conn, principal)
    owners_seen: dict[tuple[int, ...], dict[int, int]] = {}
    outcomes: list[IncidentOutcome | None] = []
    news: list[tuple[int, repo.NewIncident]] = []  # (index in outcomes, the melding to make)
    for item in items:
        try:
            if isinstance(item, DomainError):
                raise item
            news.append((len(outcomes), await _new_incident(services, principal, conn, item, owners_seen)))
            outcomes.append(None)
        except DomainError as exc:
            outcomes.append(_refusal(exc))
    created, ids = await repo.create_incidents_bulk(conn, [n for _, n in news], actor) if news else ({}, {})
    first: set[int] = set()
    for index, new in news:
        incident_id = ids.get((new.org_id, new.source or "", new.external_id or ""))
        if incident_id is None:
            busy = Conflict("deze externe melding wordt net aangemaakt", field="external_id")
            outcomes[index] = _refusal(busy)
        elif incident_id in created and incident_id not in first:
            first.add(incident_id)
            outcomes[index] = IncidentOutcome(status=201, incident_id=incident_id)
        else:  # made before, or earlier in this batch
            outcomes[index] = IncidentOutcome(status=200, incident_id=incident_id)
    views = await repo.incident_views(conn, sorted(created))
    return [(v, created[v.incident_id]) for v in views], [o for o in outcomes if o is not None]


async def _create_one_by_one(
    services: Services, principal: Principal, conn: Conn, items: Sequence[IncidentRequest | DomainError]
) -> tuple[Made, list[IncidentOutcome]]:
    actor = await _actor_name(conn, principal)
    owners_seen: dict[tuple[int, ...], dict[int, int]] = {}
    outcomes: list[IncidentOutcome] = []
    created: list[tuple[int, TimelineEntry]] = []
    for item in items:
        try:
            if isinstance(item, DomainError):
                raise item
            try:
                async with conn.transaction():  # a savepoint: a failing item rolls back alone
                    new = await _new_incident(services, principal, conn, item, owners_seen)
                    incident_id, event = await repo.create_incident_with_event(conn, new, actor)
                    if incident_id is None:  # handed over before: the melding made then
                        incident_id = await _external(conn, new.org_id, item)
            except (asyncpg.DataError, asyncpg.IntegrityConstraintViolationError) as exc:
                raise BadInput(f"deze melding kan niet worden opgeslagen: {exc}"[:300]) from exc
            except asyncpg.PostgresError as exc:  # e.g. a deadlock: the bridge tries it again
                raise Conflict(f"deze melding kon nu niet worden opgeslagen: {exc}"[:300]) from exc
        except DomainError as exc:
            outcomes.append(_refusal(exc))
            continue
        outcomes.append(IncidentOutcome(status=201 if event else 200, incident_id=incident_id))
        if event is not None:
            created.append((incident_id, event))
    views = {v.incident_id: v for v in await repo.incident_views(conn, [i for i, _ in created])}
    return [(views[i], event) for i, event in created], outcomes


async def _new_incident(
    services: Services,
    principal: Principal,
    conn: Conn,
    data: IncidentRequest,
    owners_seen: dict[tuple[int, ...], dict[int, int]],
) -> repo.NewIncident:
    """One item of a batch, placed (or refused: BadInput, Forbidden) as POST /api/incidents places it."""
    if data.source is None or data.external_id is None:
        raise BadInput("een overgedragen melding heeft een source en external_id", field="external_id")
    lon, lat, address = await _locate(services, principal, data)
    org_id, beat_id = await _place(services, principal, conn, lon, lat, data.org_id, owners_seen)
    return _incident_row(principal, data, org_id, beat_id, lon, lat, address)


async def _external(conn: Conn, org_id: int, data: IncidentRequest) -> int:
    assert data.source is not None and data.external_id is not None  # only these can conflict
    found = await repo.external_incident(conn, org_id, data.source, data.external_id)
    if found is None:
        raise Conflict("deze externe melding wordt net aangemaakt", field="external_id")
    return found


async def _locate(
    services: Services, principal: Principal, data: IncidentRequest
) -> tuple[float, float, str]:
    """Lon/lat when given; else the address through the geocoder (free text); else the beat (buurt) named in
    the address text. A geocoder that cannot be asked falls back to the buurt at once (short timeout)."""
    if (data.lon is None) != (data.lat is None):
        raise BadInput("geef lon en lat samen, of geen van beide", field="lat" if data.lat is None else "lon")
    if data.lon is not None and data.lat is not None:
        return data.lon, data.lat, data.address
    if not data.address.strip():
        raise BadInput("geef een plaats: klik op de kaart of zoek een adres", field="address")
    try:
        found = await services.geocoder.free(data.address.strip())
    except GeocoderUnavailable:
        found = None
    if found is not None:
        return found.lon, found.lat, data.address.strip()
    async with services.pool.acquire() as conn:
        rows = await repo.beats_named_in(conn, sorted(principal.visible_org_ids), data.address.strip())
    if not rows:
        raise BadInput("adres niet gevonden: noem de buurt of klik op de kaart", field="address")
    point = shape(rows[0]["geometry"]).representative_point()
    return point.x, point.y, data.address.strip()


def _incident_row(
    principal: Principal,
    data: IncidentRequest,
    org_id: int,
    beat_id: int | None,
    lon: float,
    lat: float,
    address: str,
) -> repo.NewIncident:
    """The melding's row from a located and placed request (one build for POST /api/incidents and the batch).
    The geocoder's BAG id and buurtcode count only when the address is the one the request gave."""
    return repo.NewIncident(
        org_id=org_id,
        category=data.category,
        priority=data.priority,
        description=data.description,
        lon=lon,
        lat=lat,
        address=address,
        beat_id=beat_id,
        required_domain=data.required_domain,
        created_by=principal.account_id,
        source=data.source,
        external_id=data.external_id,
        exercise=data.exercise,
        bag_id=data.bag_id if address == data.address else None,
        buurtcode=data.buurtcode if address == data.address else None,
    )


async def _place(
    services: Services,
    principal: Principal,
    conn: Conn,
    lon: float,
    lat: float,
    org_id: int | None,
    owners_seen: dict[tuple[int, ...], dict[int, int]] | None = None,
) -> tuple[int, int | None]:
    """The organisation that handles the melding and the beat it lies in (`owners_seen`: the beats' owners
    already read in this transaction, by the beats a point lies in)."""
    beats = tuple(sorted(containing_beats(lon, lat, services.hub.picture.beats)))
    owners = None if owners_seen is None else owners_seen.get(beats)
    if owners is None:
        owners = await repo.beat_orgs(conn, beats)
        if owners_seen is not None:
            owners_seen[beats] = owners
    visible = {b: o for b, o in owners.items() if principal.can_see_org(o)}
    if org_id is not None:
        require_org(principal, org_id, "organisation")
        in_org = sorted(b for b, o in visible.items() if o == org_id)
        return org_id, (in_org[0] if in_org else None)
    if visible:
        beat_id = min(visible)
        return visible[beat_id], beat_id
    others = principal.visible_org_ids - {principal.org_id}
    if len(others) > 1:
        raise BadInput("de plaats ligt in geen bekend gebied: kies de gemeente", field="org_id")
    return (next(iter(others)) if others else principal.org_id), None


async def open_incidents(services: Services, principal: Principal) -> list[IncidentView]:
    async with services.pool.acquire() as conn:
        return await repo.open_incidents(conn, sorted(principal.visible_org_ids))


async def incident_detail(services: Services, principal: Principal, incident_id: int) -> IncidentDetail:
    async with services.pool.acquire() as conn:
        view = await _visible_incident(conn, principal, incident_id)
        return IncidentDetail(incident=view, timeline=await repo.timeline(conn, incident_id))


async def _visible_incident(conn: Conn, principal: Principal, incident_id: int) -> IncidentView:
    _known_id(incident_id, "incident_id", "melding")
    view = await repo.get_incident(conn, incident_id)
    if view is None or not principal.can_see_org(view.org_id):
        raise NotFound("melding niet gevonden", field="incident_id")
    return view


async def close_incident(
    services: Services, principal: Principal, incident_id: int, reason: str
) -> IncidentView:
    async with services.pool.acquire() as conn, conn.transaction():
        view = await _visible_incident(conn, principal, incident_id)
        before = {e.event_id for e in await repo.timeline(conn, incident_id)}
        cancelled = await repo.close_incident(conn, incident_id, await _actor_name(conn, principal), reason)
        view = await repo.require_incident(conn, incident_id)
        events = [e for e in await repo.timeline(conn, incident_id) if e.event_id not in before]
    for task in view.tasks:
        if task.task_id in cancelled:
            await live.send_to_unit(
                services.hub, task.unit_id, [TaskCancelled(task_id=task.task_id, reason=reason)]
            )
    live.publish(services.hub, view, events)
    return view


# --- proposals and tasks ------------------------------------------------------------------------------------


async def proposals(services: Services, principal: Principal, incident_id: int, limit: int) -> list[Proposal]:
    picture = services.hub.picture
    async with services.pool.acquire() as conn:
        view = await _visible_incident(conn, principal, incident_id)
        units = [u for u in picture.units.values() if u.org_id == view.org_id]
        ids = [u.unit_id for u in units]
        domains = await repo.unit_domains(conn, ids)
        busy = await repo.units_with_active_task(conn, ids)
        current = await repo.current_tasks(conn, ids)
    on_this = {t.unit_id for t in view.tasks if t.state in ACTIVE_TASK_STATES}
    candidates = [
        Candidate(
            unit_id=u.unit_id,
            call_sign=u.call_sign,
            status=u.status,
            status_since=u.status_since,
            lon=u.lon,
            lat=u.lat,
            beat_ids=tuple(u.fence.beats),
            domains=domains.get(u.unit_id, (1,)),
            stale=u.stale,
            busy_with_task=u.unit_id in busy,
            current_task=current.get(u.unit_id),
            on_this_incident=u.unit_id in on_this,
        )
        for u in units
    ]
    site = IncidentSite(
        lon=view.lon,
        lat=view.lat,
        beat_id=view.beat_id,
        required_domain=view.required_domain,
        priority=view.priority,
    )
    return propose_units(site, candidates, limit)


async def assign(services: Services, principal: Principal, incident_id: int, unit_id: int) -> TaskCreated:
    """Give the unit a task for the melding. For a P1, a unit on a lower-priority task is taken over: that
    task is cancelled in the same transaction, its melding needs a unit again and its timeline says so
    ("HH-03 overgenomen voor P1-melding #12 (Vechtpartij)"), the P1's timeline notes where the unit came
    from, and the tablet hears the cancellation before it gets the P1."""
    async with services.pool.acquire() as conn, conn.transaction():
        view = await _visible_incident(conn, principal, incident_id)
        if view.state != "open":
            raise BadInput("deze melding is afgesloten", field="incident_id")
        unit = services.hub.picture.units.get(unit_id)
        if unit is None or unit.org_id != view.org_id:
            raise NotFound("eenheid niet gevonden in de gemeente van deze melding", field="unit_id")
        actor = await _actor_name(conn, principal)
        task_id = await repo.create_task(
            conn, incident_id, unit_id, principal.account_id, actor, unit.call_sign
        )
        released = await _take_over(conn, view, task_id, unit_id, unit.call_sign, actor)
        view = await repo.require_incident(conn, incident_id)
        events = [e for e in await repo.timeline(conn, incident_id) if e.task_id == task_id]
        others = [
            (await repo.require_incident(conn, old.incident_id), event, reason)
            for old, event, reason in released
        ]
    for old, _, reason in released:  # first the old task goes, then the P1 comes (and rings)
        await live.send_to_unit(services.hub, unit_id, [TaskCancelled(task_id=old.task_id, reason=reason)])
    sent = await live.send_tasks(services.hub, unit_id, [task_id])
    if not sent:
        async with services.pool.acquire() as conn:
            events.append(
                await repo.add_event(
                    conn,
                    incident_id,
                    "note",
                    f"{unit.call_sign}: tablet niet verbonden, opdracht volgt bij verbinding",
                    task_id=task_id,
                    unit_id=unit_id,
                )
            )
    for other, event, _ in others:
        live.publish(services.hub, other, [event])
    live.publish(services.hub, view, events)
    return TaskCreated(task_id=task_id, incident_id=incident_id, unit_id=unit_id, sent=sent)


async def _take_over(
    conn: Conn, view: IncidentView, task_id: int, unit_id: int, call_sign: str, actor: str
) -> list[tuple[CurrentTask, TimelineEntry, str]]:
    """Release the unit's lower-priority tasks for the melding `view` (logic.takes_over): each is cancelled
    with a line on its own melding, and the melding `view` notes it. Returns each released task, the line on
    its melding and the reason the tablet shows."""
    released: list[tuple[CurrentTask, TimelineEntry, str]] = []
    for old in await repo.unit_active_tasks(conn, unit_id):
        if old.incident_id == view.incident_id or not takes_over(view.priority, old.priority):
            continue
        reason = takeover_reason(view.priority, view.category)
        text = taken_over_text(call_sign, view.incident_id, view.priority, view.category)
        line = await repo.cancel_task(conn, old.task_id, actor, reason, text=text)
        await repo.add_event(
            conn,
            view.incident_id,
            "note",
            taken_from_text(call_sign, old.incident_id, old.priority, old.category),
            actor,
            task_id=task_id,
            unit_id=unit_id,
        )
        released.append((old, line, reason))
    return released


async def cancel_task(services: Services, principal: Principal, task_id: int, reason: str) -> IncidentView:
    _known_id(task_id, "task_id", "taak")
    async with services.pool.acquire() as conn, conn.transaction():
        row = await repo.get_task(conn, task_id)
        if row is None or not principal.can_see_org(row["org_id"]):
            raise NotFound("taak niet gevonden", field="task_id")
        await repo.cancel_task(conn, task_id, await _actor_name(conn, principal), reason)
        view = await repo.require_incident(conn, row["incident_id"])
        events = [e for e in await repo.timeline(conn, row["incident_id"]) if e.task_id == task_id][-1:]
    await live.send_to_unit(services.hub, row["unit_id"], [TaskCancelled(task_id=task_id, reason=reason)])
    live.publish(services.hub, view, events)
    return view


# --- messages and tracks ------------------------------------------------------------------------------------


def _visible_unit(services: Services, principal: Principal, unit_id: int) -> str:
    unit = services.hub.picture.units.get(unit_id)
    if unit is None or not principal.can_see_org(unit.org_id):
        raise NotFound("eenheid niet gevonden", field="unit_id")
    return unit.call_sign


async def send_message(services: Services, principal: Principal, unit_id: int, text: str) -> MessageView:
    _visible_unit(services, principal, unit_id)
    async with services.pool.acquire() as conn:
        message = await repo.create_message(conn, unit_id, text, principal.account_id, _actor(principal))
    await live.send_to_unit(services.hub, unit_id, [live.text_frame(message)])
    services.hub.push_dispatch(services.hub.picture.units[unit_id].org_id, message=message)
    return message


async def messages(services: Services, principal: Principal, unit_id: int) -> list[MessageView]:
    _visible_unit(services, principal, unit_id)
    async with services.pool.acquire() as conn:
        return await repo.unit_messages(conn, unit_id)


async def track(
    services: Services, principal: Principal, unit_id: int, hours: float, reason: str, origin: str
) -> Track:
    """A unit's track: personal data of the boa's in it, so only some roles, and every read is logged."""
    allowed = principal.role in TRACK_ROLES
    since = datetime.now(UTC) - timedelta(hours=hours)
    unit = services.hub.picture.units.get(unit_id)
    if allowed and (unit is None or not principal.can_see_org(unit.org_id)):
        async with services.pool.acquire() as conn, conn.transaction():  # another gemeente's unit: in its log
            await audit.record_refused(
                conn,
                principal=principal,
                action="read_track",
                object_type="unit",
                object_id=str(unit_id),
                owner_org_ids=[] if unit is None else [unit.org_id],
                origin=audit.Origin(address=origin),
                reason=reason or None,
                details={"since": since.isoformat(timespec="seconds"), "hours": hours},
            )
        raise NotFound("eenheid niet gevonden", field="unit_id")
    call_sign = unit.call_sign if allowed and unit is not None else str(unit_id)
    async with services.pool.acquire() as conn, conn.transaction():
        points = await repo.track(conn, unit_id, since) if allowed else []
        await audit.record(
            conn,
            principal=principal,
            action="read_track",
            object_type="unit",
            object_id=str(unit_id),
            result="granted" if allowed else "denied",
            origin=audit.Origin(address=origin),
            reason=reason or None,
            org_id=unit.org_id if unit is not None else None,
            details={"since": since.isoformat(timespec="seconds"), "hours": hours, "points": len(points)},
        )
    if not allowed:
        raise Forbidden(f"de rol {principal.role!r} mag geen sporen afspelen")
    return Track(unit_id=unit_id, call_sign=call_sign, since=since, points=points)
