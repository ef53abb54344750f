"""Three months of plausible demo history, so the reports and the team lead's pages show something at once.

Shifts of the demo duos with their walks (positions every two minutes inside and around their beat),
registrations made on those walks (waarnemingen, warnings and fines with real feitcodes from the shipped
catalogue, aggression incidents), meldingen with a task that goes assigned → ter plaatse → afgerond with
response times per priority, and alarms that the meldkamer acknowledged (safety alarms mostly within ten
seconds, some late).

Everything is drawn from one seeded random generator, so the history is the same on every machine, and
written in bulk (COPY). Idempotent: the meldingen carry ``source = 'demo-history'``; when the gemeente has
one, nothing is added.
"""

from __future__ import annotations

import json
import math
import random
import uuid
from collections.abc import Sequence
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

import msgspec
import shapely
from shapely.geometry import shape
from shapely.geometry.base import BaseGeometry

from backend.db.pool import Conn
from backend.feitcodes import repository as feitcodes
from backend.geofencing.logic import PreparedBeats, containing_beats_many
from backend.geofencing.repository import list_beats
from backend.live.repository import ensure_partitions
from backend.registrations import validation
from backend.registrations.validation import LOCAL
from shared.feitcodes import FeitEntry
from shared.protocol import TaskState
from shared.registrations import Aggression, FieldError, Fine, Waarneming, canonical
from shared.tasks import TASK_STATE_LABELS

SOURCE = "demo-history"
DAYS = 91
SAMPLE_S = 240  # a position every four minutes (a real tablet sends more; the report weighs by time)
STEP_M = 70.0  # how far a duo walks between two samples, at most
SEED = 20261201

INCIDENT_CATEGORIES = (
    ("Overlast jeugd", 14), ("Afval", 16), ("Geluidsoverlast", 10), ("Parkeeroverlast", 12),
    ("Verward gedrag", 6), ("Hondenoverlast", 5), ("Fietsen en wrakken", 5), ("Drugsoverlast", 4),
)  # fmt: skip
OBSERVATION_TEXTS = {
    "afval": ("Vuilniszakken naast de container", "Grofvuil op de stoep", "Volle afvalbak bij de halte"),
    "overlast": ("Luidruchtige groep bij het plein", "Bewoners klagen over muziek", "Wildplassen in portiek"),
    "parkeren": ("Fietsen voor de nooduitgang", "Auto op de stoep geparkeerd", "Scooter op het trottoir"),
    "jeugd": ("Groep jongeren bij de speeltuin", "Jongeren op scooters in het park"),
    "verward_gedrag": ("Man spreekt voorbijgangers aan, verward", "Vrouw zonder jas in de kou, verward"),
    "ondermijning": ("Veel wisselende bezoekers bij pand", "Winkel zonder klanten, laat open"),
    "honden": ("Loslopende hond in het park", "Hondenpoep op het speelveld"),
    "openbare_ruimte": ("Lantaarnpaal kapot", "Losliggende stoeptegels", "Bank in het park vernield"),
    "overig": ("Fietswrak aan de brugleuning", "Graffiti op de gevel"),
}
OBSERVATION_WEIGHTS = {
    "afval": 22, "overlast": 18, "parkeren": 16, "jeugd": 10, "verward_gedrag": 5, "ondermijning": 3,
    "honden": 8, "openbare_ruimte": 12, "overig": 6,
}  # fmt: skip
FIRST_NAMES = ("Jan", "Sanne", "Mohamed", "Lisa", "Kevin", "Fatima", "Tom", "Eva", "Yusuf", "Noah", "Emma")
LAST_NAMES = ("de Jong", "Bakker", "El Amrani", "Visser", "Yilmaz", "Smit", "Pinas", "Mulder", "Kok")
STREETS = ("Damstraat", "Warmoesstraat", "Nieuwmarkt", "Kinkerstraat", "Javastraat", "Ferdinand Bolstraat",
           "Albert Cuypstraat", "Bos en Lommerweg", "Osdorpplein", "Buikslotermeerplein")  # fmt: skip
AGGRESSION_TEXTS = (
    "Uitgescholden bij het aanspreken op afval", "Bedreigd na een waarschuwing",
    "Geduwd tijdens een controle", "Nageroepen en bespuugd",
)  # fmt: skip
ALARM_KINDS = (("noodknop", 3), ("assistance", 6), ("man_down", 1), ("checkin_missed", 1))


class History(msgspec.Struct, frozen=True, kw_only=True):
    shifts: int = 0
    positions: int = 0
    registrations: int = 0
    incidents: int = 0
    alerts: int = 0

    def describe(self) -> str:
        if not self.incidents:
            return "demo history: already there (nothing added)"
        return (
            f"demo history: {self.shifts} shifts, {self.positions} positions, {self.registrations} "
            f"registrations, {self.incidents} meldingen, {self.alerts} alarms over {DAYS} days"
        )


class _Walk(msgspec.Struct, kw_only=True):
    """One shift's positions, kept to place the registrations and alarms made during it."""

    shift_id: int
    unit_id: int
    call_sign: str
    device_id: int | None
    boa_ids: list[int]
    start: datetime
    end: datetime
    points: list[tuple[datetime, float, float]]

    def where(self, at: datetime) -> tuple[float, float]:
        i = min(int((at - self.start).total_seconds() // SAMPLE_S), len(self.points) - 1)
        _, lon, lat = self.points[max(i, 0)]
        return lon, lat


def _weighted(rng: random.Random, table: Sequence[tuple[str, int]]) -> str:
    return rng.choices([k for k, _ in table], weights=[w for _, w in table])[0]


def _walk(
    rng: random.Random, area: BaseGeometry, start: datetime, end: datetime
) -> list[tuple[datetime, float, float]]:
    """A duo strolling through its beat: small steps, mostly staying inside (sometimes across the edge)."""
    shapely.prepare(area)
    p = area.representative_point()
    lon, lat = p.x, p.y
    per_deg_lat = 111_320.0
    per_deg_lon = per_deg_lat * math.cos(math.radians(lat))
    out = []
    at = start
    while at < end:
        for _ in range(6):
            d = rng.uniform(0, STEP_M)
            bearing = rng.uniform(0, 2 * math.pi)
            nlon = lon + d * math.sin(bearing) / per_deg_lon
            nlat = lat + d * math.cos(bearing) / per_deg_lat
            if shapely.contains_xy(area, nlon, nlat) or rng.random() < 0.05:
                lon, lat = nlon, nlat
                break
        else:  # cornered: back towards the middle of the beat
            lon, lat = (lon + p.x) / 2, (lat + p.y) / 2
        out.append((at, lon, lat))
        at += timedelta(seconds=SAMPLE_S)
    return out


def _local(day: date, hour: float) -> datetime:
    return datetime.combine(day, time(0), tzinfo=LOCAL) + timedelta(hours=hour)


def _response_s(rng: random.Random, priority: int) -> float:
    """Melding → ter plaatse: lognormal around 7, 14 and 28 minutes for prio 1, 2, 3."""
    median = {1: 7 * 60, 2: 14 * 60, 3: 28 * 60}[priority]
    return min(max(rng.lognormvariate(math.log(median), 0.45), 90.0), 3 * 3600)


def _ack_delay_s(rng: random.Random, safety: bool) -> float:
    if not safety:
        return rng.uniform(20, 600)
    roll = rng.random()
    if roll < 0.82:
        return rng.uniform(1.5, 9.5)
    if roll < 0.95:
        return rng.uniform(10, 35)
    return rng.uniform(45, 240)  # late: the banner escalated before someone answered


async def seed_history(conn: Conn, org_id: int, now: datetime | None = None, days: int = DAYS) -> History:
    """Add the history of the `days` before `now` for the demo gemeente; nothing when it is there already."""
    if await conn.fetchval(
        "SELECT 1 FROM incidents WHERE org_id = $1 AND source = $2 LIMIT 1", org_id, SOURCE
    ):
        return History()
    now = now or datetime.now(UTC)
    rng = random.Random(SEED)
    beats = await list_beats(conn, [org_id])
    geometry = {b.id: shape(b.geometry) for b in beats}
    prepared = PreparedBeats(geometry.items())
    units = await conn.fetch(
        "SELECT id, call_sign, assigned_beat_ids FROM units WHERE org_id = $1 AND active ORDER BY call_sign",
        org_id,
    )
    boas = [r["id"] for r in await conn.fetch(
        "SELECT id FROM accounts WHERE org_id = $1 AND role = 'boa' AND active ORDER BY username", org_id
    )]  # fmt: skip
    devices = {
        r["name"]: r["id"] for r in await conn.fetch("SELECT id, name FROM devices WHERE org_id = $1", org_id)
    }
    operator = await conn.fetchval(
        """SELECT a.id FROM accounts a JOIN meldkamer_links l ON l.meldkamer_id = a.org_id
           WHERE l.gemeente_id = $1 AND a.role = 'operator' ORDER BY a.id LIMIT 1""",
        org_id,
    )
    if not beats or not units or not boas:
        return History()
    version_id, catalogue = await feitcodes.active_catalogue(conn, org_id)
    track = await feitcodes.org_track(conn, org_id)
    usable = [e for e in catalogue.entries if e.domain == 1 and e.track in (track, "mulder")]
    fine_entries = [e for e in usable if e.track == track and e.category != "parkeren"][:60] + [
        e for e in usable if e.track == "mulder" and e.amounts_eur
    ][:30]

    first_day = (now - timedelta(days=days)).astimezone(LOCAL).date()
    last_day = (now - timedelta(hours=12)).astimezone(LOCAL).date()
    for offset in range((last_day - first_day).days + 1):  # each day its own partition, as the writer makes
        await ensure_partitions(conn, first_day + timedelta(days=offset), days_ahead=0)

    # --- shifts and walks
    walks: list[_Walk] = []
    n_shifts = (last_day - first_day).days * len(units) * 2
    shift_ids = [r[0] for r in await conn.fetch(
        "SELECT nextval('shifts_id_seq') FROM generate_series(1, $1)", n_shifts
    )]  # fmt: skip
    day = first_day
    while day <= last_day:
        weekend = day.weekday() >= 5
        for index, unit in enumerate(units):
            for start_h, chance in ((8.0, 0.55), (15.0, 0.45 if not weekend else 0.6)):
                if rng.random() > chance:
                    continue
                start = _local(day, start_h + rng.uniform(-0.25, 0.25))
                end = start + timedelta(hours=rng.uniform(7.5, 8.5))
                if end > now - timedelta(hours=1):
                    continue
                beat_id = (unit["assigned_beat_ids"] or [beats[index % len(beats)].id])[0]
                pair = [boas[(2 * index) % len(boas)], boas[(2 * index + 1) % len(boas)]]
                walks.append(
                    _Walk(
                        shift_id=shift_ids[len(walks)],
                        unit_id=unit["id"],
                        call_sign=unit["call_sign"],
                        device_id=devices.get(f"demo-tablet-{index + 1:02d}"),
                        boa_ids=pair,
                        start=start,
                        end=end,
                        points=_walk(rng, geometry.get(beat_id, geometry[beats[0].id]), start, end),
                    )
                )
        day += timedelta(days=1)
    await conn.copy_records_to_table(
        "shifts",
        records=[
            (w.shift_id, w.unit_id, w.device_id, w.boa_ids, _beats_of(units, w.unit_id), w.start, w.end)
            for w in walks
        ],
        columns=["id", "unit_id", "device_id", "account_ids", "beat_ids", "started_at", "ended_at"],
    )
    positions = [
        (w.device_id or 0, w.unit_id, 0, at, lon, lat, rng.uniform(4, 15), 1.2, None, False, at)
        for w in walks
        for at, lon, lat in w.points
        if w.device_id is not None
    ]
    await conn.copy_records_to_table(
        "positions",
        records=positions,
        columns=[
            "device_id",
            "unit_id",
            "seq",
            "at",
            "lon",
            "lat",
            "accuracy_m",
            "speed_mps",
            "heading_deg",
            "late",
            "received_at",
        ],  # fmt: skip
    )

    # --- registrations made on the walks
    registrations: list[tuple[Any, ...]] = []

    def moment(walk: _Walk) -> tuple[datetime, float, float]:
        at = walk.start + timedelta(seconds=rng.uniform(600, (walk.end - walk.start).total_seconds() - 600))
        at = at.replace(microsecond=0)
        lon, lat = walk.where(at)
        return at, lon, lat

    for walk in walks:
        for _ in range(rng.choice((1, 2, 2, 3, 3, 4))):
            registrations.append(_observation(rng, walk, *moment(walk)))
        if rng.random() < 0.55:
            entry = rng.choice(fine_entries)
            registrations.append(_warning(rng, walk, *moment(walk), entry, version_id))
        for _ in range(rng.choice((0, 0, 1, 1, 2))):
            row = _fine(rng, walk, *moment(walk), rng.choice(fine_entries), version_id)
            if row is not None:
                registrations.append(row)
        if rng.random() < 0.06:
            registrations.append(_aggression(rng, walk, *moment(walk)))
    inside = containing_beats_many([r[8] for r in registrations], [r[9] for r in registrations], prepared)
    await _insert_json_rows(
        conn,
        "registrations",
        ["id", "org_id", "kind", "regime", "author_id", "boa_ids", "unit_id", "occurred_at", "lon", "lat",
         "accuracy_m", "category", "feitcode", "catalogue_version_id", "person_name", "person_birth_date",
         "submitted", "details", "derived", "received_at", "beat_ids"],
        ("submitted", "details", "derived"),
        [(r[0], org_id, *r[2:], sorted(b)) for r, b in zip(registrations, inside, strict=True)],
    )  # fmt: skip

    # --- meldingen with a task each (most of them handled by a duo on shift then)
    incidents: list[tuple[Any, ...]] = []
    tasks: list[tuple[Any, ...]] = []
    events: list[tuple[Any, ...]] = []
    by_day: dict[date, list[_Walk]] = {}
    for w in walks:
        by_day.setdefault(w.start.astimezone(LOCAL).date(), []).append(w)
    n_incidents = sum(rng.randint(6, 13) for _ in range((last_day - first_day).days + 1))
    incident_ids = [r[0] for r in await conn.fetch(
        "SELECT nextval('incidents_id_seq') FROM generate_series(1, $1)", n_incidents
    )]  # fmt: skip
    task_ids = [r[0] for r in await conn.fetch(
        "SELECT nextval('tasks_id_seq') FROM generate_series(1, $1)", n_incidents
    )]  # fmt: skip
    day_list = sorted(by_day)
    for n, incident_id in enumerate(incident_ids):
        walk = rng.choice(by_day[rng.choice(day_list)])
        created = walk.start + timedelta(
            seconds=rng.uniform(0, (walk.end - walk.start).total_seconds() - 3600)
        )
        created = created.replace(microsecond=0)
        lon, lat = walk.where(created)
        lon += rng.uniform(-0.004, 0.004)
        lat += rng.uniform(-0.0025, 0.0025)
        priority = rng.choices((1, 2, 3), weights=(2, 5, 3))[0]
        category = _weighted(rng, INCIDENT_CATEGORIES)
        address = f"{rng.choice(STREETS)} {rng.randint(1, 180)}"
        found = containing_beats_many([lon], [lat], prepared)[0]
        beat_id = min(found) if found else None
        timeline: list[tuple[datetime, str, int | None, int | None, str]] = [
            (created, "created", None, None, f"melding aangemaakt: P{priority} {category}")
        ]
        if rng.random() < 0.06:  # solved by phone or cancelled: no unit sent
            closed = created + timedelta(minutes=rng.uniform(5, 40))
            timeline.append((closed, "closed", None, None, "melding afgerond"))
        else:
            assigned = created + timedelta(seconds=rng.uniform(20, 150))
            on_scene = created + timedelta(seconds=_response_s(rng, priority))
            accepted = assigned + timedelta(seconds=rng.uniform(5, 40))
            en_route = accepted + timedelta(seconds=rng.uniform(5, 60))
            on_scene = max(on_scene, en_route + timedelta(seconds=30))
            closed = on_scene + timedelta(minutes=rng.uniform(8, 45))
            task_id = task_ids[n]
            tasks.append((task_id, incident_id, walk.unit_id, "done", operator, assigned, assigned, closed))
            sign = walk.call_sign
            timeline += [
                (
                    assigned,
                    "assigned",
                    task_id,
                    walk.unit_id,
                    f"{sign}: {TASK_STATE_LABELS[TaskState.ASSIGNED]}",
                ),
                (
                    accepted,
                    "task_state",
                    task_id,
                    walk.unit_id,
                    f"{sign}: {TASK_STATE_LABELS[TaskState.ACCEPTED]}",
                ),
                (
                    en_route,
                    "task_state",
                    task_id,
                    walk.unit_id,
                    f"{sign}: {TASK_STATE_LABELS[TaskState.EN_ROUTE]}",
                ),
                (
                    on_scene,
                    "task_state",
                    task_id,
                    walk.unit_id,
                    f"{sign}: {TASK_STATE_LABELS[TaskState.ON_SCENE]}",
                ),
                (closed, "task_state", task_id, walk.unit_id, f"{sign}: {TASK_STATE_LABELS[TaskState.DONE]}"),
                (closed, "closed", None, None, "melding afgerond"),
            ]
        incidents.append((
            incident_id, org_id, category, priority, f"{category} gemeld bij {address}", lon, lat, address,
            beat_id, "closed", operator, created, closed, SOURCE, f"h{n + 1}",
        ))  # fmt: skip
        events += [(incident_id, t, u, kind, text, "meldkamer", at) for at, kind, t, u, text in timeline]
    await conn.copy_records_to_table(
        "incidents",
        records=incidents,
        columns=[
            "id",
            "org_id",
            "category",
            "priority",
            "description",
            "lon",
            "lat",
            "address",
            "beat_id",
            "state",
            "created_by",
            "created_at",
            "closed_at",
            "source",
            "external_id",
        ],  # fmt: skip
    )
    await conn.copy_records_to_table(
        "tasks",
        records=tasks,
        columns=[
            "id",
            "incident_id",
            "unit_id",
            "state",
            "assigned_by",
            "assigned_at",
            "sent_at",
            "state_at",
        ],
    )
    await conn.copy_records_to_table(
        "incident_events",
        records=events,
        columns=["incident_id", "task_id", "unit_id", "kind", "text", "actor", "at"],
    )

    # --- alarms, acknowledged by the meldkamer
    alerts = []
    for walk in walks:
        if rng.random() < 0.035:
            kind = _weighted(rng, ALARM_KINDS)
            at, lon, lat = moment(walk)
            ack = at + timedelta(seconds=_ack_delay_s(rng, True))
            text = {"assistance": "Assistentie politie gevraagd", "man_down": "tilt"}.get(kind, "")
            silent = kind == "noodknop" and rng.random() < 0.2
            payload = {"kind": kind, "at": at.isoformat(), "lon": lon, "lat": lat, "text": text,
                       "device_id": walk.device_id, "silent": silent}  # fmt: skip
            alerts.append((org_id, walk.unit_id, kind, at, json.dumps(payload), ack, operator,
                           ack + timedelta(minutes=rng.uniform(3, 30))))  # fmt: skip
        if rng.random() < 0.12:
            at, lon, lat = moment(walk)
            kind = rng.choice(("outside_assigned_beat", "position_stale"))
            ack = at + timedelta(seconds=_ack_delay_s(rng, False))
            payload = {"lon": lon, "lat": lat, "text": ""}
            alerts.append((org_id, walk.unit_id, kind, at, json.dumps(payload), ack, operator, ack))
    await _insert_json_rows(
        conn,
        "alerts",
        ["org_id", "unit_id", "kind", "at", "payload", "acknowledged_at", "acknowledged_by", "resolved_at"],
        ("payload",),
        alerts,
    )
    return History(
        shifts=len(walks),
        positions=len(positions),
        registrations=len(registrations),
        incidents=len(incidents),
        alerts=len(alerts),
    )


async def _insert_json_rows(
    conn: Conn, table: str, columns: Sequence[str], json_columns: Sequence[str], rows: Sequence[Sequence[Any]]
) -> None:
    """Bulk insert where COPY cannot go: the pool reads and writes jsonb as text (``db/pool.py``)."""
    values = ", ".join(
        f"${i}::text::jsonb" if c in json_columns else f"${i}" for i, c in enumerate(columns, 1)
    )
    await conn.executemany(f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({values})", rows)


def _beats_of(units: Sequence[Any], unit_id: int) -> list[int]:
    for u in units:
        if u["id"] == unit_id:
            return list(u["assigned_beat_ids"])
    return []


def _row(
    walk: _Walk,
    at: datetime,
    lon: float,
    lat: float,
    kind: str,
    regime: str,
    category: str,
    details: dict[str, Any],
    *,
    feitcode: str | None = None,
    version_id: int | None = None,
    person: tuple[str | None, date | None] = (None, None),
    derived: dict[str, Any] | None = None,
) -> tuple[Any, ...]:
    text = json.dumps(details, default=str)
    return (
        uuid.UUID(details["id"]), None, kind, regime, walk.boa_ids[0], sorted(walk.boa_ids), walk.unit_id, at,
        lon, lat, 6.0, category, feitcode, version_id, person[0], person[1], text, text,
        json.dumps(derived or {}, default=str), at + timedelta(seconds=40),
    )  # fmt: skip


def _base(rng: random.Random, walk: _Walk, at: datetime, lon: float, lat: float) -> dict[str, Any]:
    return {
        "id": str(uuid.UUID(int=rng.getrandbits(128), version=4)),
        "occurred_at": at,
        "location": {"lon": lon, "lat": lat, "accuracy_m": 6.0},
        "boa_ids": [b for b in walk.boa_ids if b != walk.boa_ids[0]],
        "unit_id": walk.unit_id,
    }


def _observation(rng: random.Random, walk: _Walk, at: datetime, lon: float, lat: float) -> tuple[Any, ...]:
    category = _weighted(rng, tuple(OBSERVATION_WEIGHTS.items()))
    sub = msgspec.convert({**_base(rng, walk, at, lon, lat), "kind": "waarneming", "category": category,
                           "text": rng.choice(OBSERVATION_TEXTS[category])}, Waarneming)  # fmt: skip
    return _row(walk, at, lon, lat, "waarneming", "avg", category, canonical(sub))


def _warning(
    rng: random.Random, walk: _Walk, at: datetime, lon: float, lat: float, entry: FeitEntry, version_id: int
) -> tuple[Any, ...]:
    """A warning instead of a fine: a waarneming that names the feitcode (docs/reports.md)."""
    category = entry.category if entry.category in OBSERVATION_WEIGHTS else "overig"
    sub = msgspec.convert({**_base(rng, walk, at, lon, lat), "kind": "waarneming", "category": category,
                           "text": f"Waarschuwing gegeven ({entry.code}): {entry.description[:160]}",
                           "warning_feitcode": entry.code},
                          Waarneming)  # fmt: skip
    derived = {"warning": True, "entry": msgspec.to_builtins(entry), "catalogue_version_id": version_id}
    return _row(walk, at, lon, lat, "waarneming", "avg", category, canonical(sub),
                feitcode=entry.code, version_id=version_id, derived=derived)  # fmt: skip


def _fine(
    rng: random.Random, walk: _Walk, at: datetime, lon: float, lat: float, entry: FeitEntry, version_id: int
) -> tuple[Any, ...] | None:
    name = f"{rng.choice(FIRST_NAMES)} {rng.choice(LAST_NAMES)}"
    birth = date(rng.randint(1960, 2006), rng.randint(1, 12), rng.randint(1, 28))
    vehicle = None
    if entry.amount_scheme == "road_user":
        vehicle = rng.choice(sorted(entry.amounts_eur))
    sub = msgspec.convert({
        **_base(rng, walk, at, lon, lat),
        "kind": "fine",
        "feitcode": entry.code,
        "offender": {
            "name": name, "birth_date": birth, "id_document_type": "identiteitskaart",
            "id_document_number": f"I{rng.randint(10**8, 10**9 - 1)}",
            "address": {"street": rng.choice(STREETS), "house_number": str(rng.randint(1, 200)),
                        "postcode": f"10{rng.randint(10, 99)} {rng.choice('ABCDEHJKLMNPRST')}"
                                    f"{rng.choice('ABCDEHJKLMNPRST')}", "city": "Amsterdam"},
        },
        "vehicle_category": vehicle,
    }, Fine)  # fmt: skip
    try:
        tariff = validation.check_fine(sub, entry)
    except FieldError:
        return None
    derived = {"tariff": msgspec.to_builtins(tariff), "entry": msgspec.to_builtins(entry),
               "catalogue_version_id": version_id}  # fmt: skip
    regime = validation.check_regime(sub)
    return _row(walk, at, lon, lat, "fine", regime, entry.category, canonical(sub), feitcode=entry.code,
                version_id=version_id, person=(name.lower(), birth), derived=derived)  # fmt: skip


def _aggression(rng: random.Random, walk: _Walk, at: datetime, lon: float, lat: float) -> tuple[Any, ...]:
    severity = rng.choices(("licht", "middel", "ernstig"), weights=(5, 3, 1))[0]
    types = sorted(set(rng.sample(("verbaal", "bedreiging", "fysiek", "discriminatie"), rng.randint(1, 2))))
    report = "aangifte" if severity != "licht" or rng.random() < 0.4 else "melding"
    sub = msgspec.convert({
        **_base(rng, walk, at, lon, lat),
        "kind": "aggression",
        "types": types,
        "severity": severity,
        "staff": [{"role": "boa", "account_id": b} for b in walk.boa_ids],
        "description": rng.choice(AGGRESSION_TEXTS),
        "report": report,
        "reported_at": at + timedelta(hours=rng.uniform(2, 30)) if report == "aangifte" else None,
        "vpt_code_used": report == "aangifte",
        "follow_up_care": "Nazorggesprek met de teamleider gevoerd",
    }, Aggression)  # fmt: skip
    derived = {"aangifte_deadline": validation.aangifte_deadline(at).isoformat()}
    return _row(walk, at, lon, lat, "aggression", validation.check_regime(sub), "agressie", canonical(sub),
                derived=derived)  # fmt: skip
