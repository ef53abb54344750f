"""Registrations in PostgreSQL.

Functions take a connection; the caller owns the transaction. Visibility (who may read what) is decided
here, in SQL, so no route can forget it:

* a boa sees the registrations of his organisation that he wrote or is named in (``boa_ids``), and those
  written for a unit during a shift he was on (his duo partner's work);
* a team lead, admin or privacy officer sees all registrations of his own organisation;
* nobody sees another gemeente's registrations (they do not exist for him: 404 / empty lists);
* archived registrations (retention) are not readable in normal use at all.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Sequence
from datetime import UTC, date, datetime
from typing import Any

import asyncpg
import msgspec

from backend.auth.tokens import Principal
from backend.db.pool import Conn
from backend.errors import BadInput, Forbidden

READERS_OF_ORG = ("teamlead", "admin", "privacy_officer")


def _json(value: Any) -> Any:
    return json.loads(value) if isinstance(value, str) else value


def _dumps(value: Any) -> str:
    return msgspec.json.encode(value).decode()


# --- who may see what --------------------------------------------------------------------------------------


def visibility(principal: Principal, first: int) -> tuple[str, list[Any]]:
    """A SQL condition on ``r`` (registrations) and its parameters, numbered from ``$first``."""
    if principal.role == "boa":
        me, org = f"${first}", f"${first + 1}"
        return (
            f"""r.org_id = {org} AND r.state <> 'archived' AND ({me} = ANY(r.boa_ids) OR r.author_id = {me}
                OR EXISTS (SELECT 1 FROM shifts s WHERE s.unit_id = r.unit_id AND {me} = ANY(s.account_ids)
                           AND r.occurred_at >= s.started_at
                           AND (s.ended_at IS NULL OR r.occurred_at <= s.ended_at)))""",
            [principal.account_id, principal.org_id],
        )
    if principal.role in READERS_OF_ORG:
        return f"r.org_id = ${first} AND r.state <> 'archived'", [principal.org_id]
    raise Forbidden(f"role {principal.role!r} does not read registrations")


async def categories(conn: Conn, org_id: int) -> list[str]:
    rows = await conn.fetch(
        "SELECT code FROM observation_categories WHERE org_id IS NULL OR org_id = $1 ORDER BY code", org_id
    )
    return [r["code"] for r in rows]


async def add_category(conn: Conn, org_id: int, code: str, label: str) -> None:
    await conn.execute(
        """INSERT INTO observation_categories (org_id, code, label) VALUES ($1, $2, $3)
           ON CONFLICT (coalesce(org_id, 0), code) DO UPDATE SET label = EXCLUDED.label""",
        org_id,
        code,
        label,
    )


# --- registrations -----------------------------------------------------------------------------------------


class Registration(msgspec.Struct, frozen=True, kw_only=True):
    id: uuid.UUID
    org_id: int
    kind: str
    regime: str
    purpose: str | None
    state: str
    author_id: int
    boa_ids: list[int]
    unit_id: int | None
    occurred_at: datetime
    lon: float
    lat: float
    beat_ids: list[int]
    category: str
    feitcode: str | None
    catalogue_version_id: int | None
    photos: list[str]
    missing_photos: list[str]
    complete: bool
    details: dict[str, Any]
    derived: dict[str, Any]
    version: int
    received_at: datetime
    void_reason: str | None


class Summary(msgspec.Struct, frozen=True, kw_only=True):
    """A registration without personal data: what lists show (so listing needs no disclosure log)."""

    id: uuid.UUID
    kind: str
    state: str
    regime: str
    category: str
    feitcode: str | None
    occurred_at: datetime
    beat_ids: list[int]
    author_id: int
    unit_id: int | None
    complete: bool
    version: int
    aangifte_deadline: str | None = None  # aggression: end of the second working day after the incident
    reported: str | None = None  # aggression: geen, melding or aangifte
    seen: bool | None = None  # aggression: a team lead has opened it (new ones are flagged until then)


_MISSING = """ARRAY(SELECT h FROM unnest(r.photo_hashes) AS h WHERE NOT EXISTS
                 (SELECT 1 FROM photos p WHERE p.org_id = r.org_id AND p.sha256 = h)) AS missing_photos"""
_COLUMNS = f"""r.id, r.org_id, r.kind, r.regime, r.purpose, r.state, r.author_id, r.boa_ids, r.unit_id,
               r.occurred_at, r.lon, r.lat, r.beat_ids, r.category, r.feitcode, r.catalogue_version_id,
               r.photo_hashes, r.details, r.derived, r.version, r.received_at, r.void_reason, {_MISSING}"""


def _registration(r: asyncpg.Record) -> Registration:
    values = dict(r)
    values["photos"] = list(values.pop("photo_hashes"))
    values["missing_photos"] = list(values["missing_photos"])
    values["complete"] = not values["missing_photos"]
    values["details"] = _json(values["details"])
    values["derived"] = _json(values["derived"])
    values["boa_ids"] = list(values["boa_ids"])
    values["beat_ids"] = list(values["beat_ids"])
    return Registration(**values)


class NewRow(msgspec.Struct, frozen=True, kw_only=True):
    """Everything ``insert`` stores; built by the service from a checked submission."""

    id: uuid.UUID
    org_id: int
    kind: str
    regime: str
    purpose: str | None
    author_id: int
    boa_ids: list[int]
    unit_id: int | None
    occurred_at: datetime
    lon: float
    lat: float
    accuracy_m: float | None
    beat_ids: list[int]
    category: str
    feitcode: str | None
    catalogue_version_id: int | None
    photo_hashes: list[str]
    person_name: str | None
    person_birth_date: date | None
    details: dict[str, Any]
    derived: dict[str, Any]


async def insert(conn: Conn, row: NewRow) -> bool:
    """Store a new registration; False when its id exists already (the caller compares contents)."""
    inserted = await conn.fetchval(
        """INSERT INTO registrations (id, org_id, kind, regime, purpose, author_id, boa_ids, unit_id,
               occurred_at, lon, lat, accuracy_m, beat_ids, category, feitcode, catalogue_version_id,
               photo_hashes, person_name, person_birth_date, submitted, details, derived)
           VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19,
                   $20::text::jsonb, $20::text::jsonb, $21::text::jsonb)
           ON CONFLICT (id) DO NOTHING RETURNING true""",
        row.id,
        row.org_id,
        row.kind,
        row.regime,
        row.purpose,
        row.author_id,
        row.boa_ids,
        row.unit_id,
        row.occurred_at,
        row.lon,
        row.lat,
        row.accuracy_m,
        row.beat_ids,
        row.category,
        row.feitcode,
        row.catalogue_version_id,
        row.photo_hashes,
        row.person_name,
        row.person_birth_date,
        _dumps(row.details),
        _dumps(row.derived),
    )
    return bool(inserted)


async def submitted_content(conn: Conn, registration_id: uuid.UUID) -> tuple[int, Any] | None:
    row = await conn.fetchrow("SELECT org_id, submitted FROM registrations WHERE id = $1", registration_id)
    return None if row is None else (row["org_id"], _json(row["submitted"]))


async def get_raw(conn: Conn, registration_id: uuid.UUID) -> Registration | None:
    """No visibility check: for the service after it has decided the caller may see it."""
    row = await conn.fetchrow(f"SELECT {_COLUMNS} FROM registrations r WHERE r.id = $1", registration_id)
    return None if row is None else _registration(row)


async def get_visible(
    conn: Conn, principal: Principal, registration_id: uuid.UUID, *, for_update: bool = False
) -> Registration | None:
    condition, params = visibility(principal, 2)
    lock = " FOR UPDATE OF r" if for_update else ""
    row = await conn.fetchrow(
        f"SELECT {_COLUMNS} FROM registrations r WHERE r.id = $1 AND {condition}{lock}",
        registration_id,
        *params,
    )
    return None if row is None else _registration(row)


async def owner_orgs(conn: Conn, registration_id: uuid.UUID) -> list[int]:
    """The organisation of a registration, whoever asks ([] when there is none): for the audit log only."""
    rows = await conn.fetch("SELECT org_id FROM registrations WHERE id = $1", registration_id)
    return [r["org_id"] for r in rows]


class Filters(msgspec.Struct, frozen=True, kw_only=True):
    since: datetime | None = None
    until: datetime | None = None
    beat_id: int | None = None
    category: str | None = None
    feitcode: str | None = None
    boa_id: int | None = None
    kind: str | None = None
    state: str | None = None
    unit_id: int | None = None
    limit: int = 500


async def list_visible(
    conn: Conn, principal: Principal, filters: Filters, now: datetime | None = None
) -> list[Registration]:
    """Registrations the caller may see that are still listed (Wpg art. 8: a year; later only by id)."""
    condition, params = visibility(principal, 12)
    rows = await conn.fetch(
        f"""SELECT {_COLUMNS} FROM registrations r
            LEFT JOIN retention_periods rp ON rp.regime = r.regime
            WHERE ($1::timestamptz IS NULL OR r.occurred_at >= $1)
              AND ($2::timestamptz IS NULL OR r.occurred_at < $2)
              AND ($3::bigint IS NULL OR $3 = ANY(r.beat_ids)) AND ($4::text IS NULL OR r.category = $4)
              AND ($5::text IS NULL OR r.feitcode = $5) AND ($6::bigint IS NULL OR $6 = ANY(r.boa_ids))
              AND ($7::text IS NULL OR r.kind = $7) AND ($8::text IS NULL OR r.state = $8)
              AND (rp.listed_for IS NULL OR r.received_at + rp.listed_for > $10)
              AND ($11::bigint IS NULL OR r.unit_id = $11)
              AND {condition}
            ORDER BY r.occurred_at DESC, r.id LIMIT $9""",
        filters.since,
        filters.until,
        filters.beat_id,
        filters.category,
        filters.feitcode,
        filters.boa_id,
        filters.kind,
        filters.state,
        filters.limit,
        now or datetime.now(UTC),
        filters.unit_id,
        *params,
    )
    return [_registration(r) for r in rows]


def summary(r: Registration, seen: bool | None = None) -> Summary:
    return Summary(
        id=r.id,
        kind=r.kind,
        state=r.state,
        regime=r.regime,
        category=r.category,
        feitcode=r.feitcode,
        occurred_at=r.occurred_at,
        beat_ids=r.beat_ids,
        author_id=r.author_id,
        unit_id=r.unit_id,
        complete=r.complete,
        version=r.version,
        aangifte_deadline=r.derived.get("aangifte_deadline"),
        reported=r.details.get("report") if r.kind == "aggression" else None,
        seen=seen if r.kind == "aggression" else None,
    )


# --- "seen by a team lead" (new aggression incidents are flagged until then) ------------------------------


class Seen(msgspec.Struct, frozen=True, kw_only=True):
    seen_by: int
    seen_at: datetime


async def seen_ids(conn: Conn, registration_ids: Sequence[uuid.UUID]) -> set[uuid.UUID]:
    rows = await conn.fetch(
        "SELECT registration_id FROM registration_seen WHERE registration_id = ANY($1::uuid[])",
        list(registration_ids),
    )
    return {r["registration_id"] for r in rows}


async def mark_seen(conn: Conn, registration_id: uuid.UUID, account_id: int) -> Seen:
    """The first team lead to open it is kept; later ones change nothing."""
    await conn.execute(
        """INSERT INTO registration_seen (registration_id, seen_by) VALUES ($1, $2)
           ON CONFLICT (registration_id) DO NOTHING""",
        registration_id,
        account_id,
    )
    row = await conn.fetchrow(
        "SELECT seen_by, seen_at FROM registration_seen WHERE registration_id = $1", registration_id
    )
    assert row is not None  # inserted above, or there already
    return Seen(seen_by=row["seen_by"], seen_at=row["seen_at"])


async def replace(
    conn: Conn, current: Registration, *, account_id: int, action: str, reason: str,
    new_details: dict[str, Any] | None = None, new_derived: dict[str, Any] | None = None,
    columns: dict[str, Any] | None = None,
) -> None:  # fmt: skip
    """Correct or void: the current version goes to registration_versions first, then the row changes."""
    await conn.execute(
        """INSERT INTO registration_versions (registration_id, version, details, derived, state, replaced_by,
                                              action, reason)
           VALUES ($1, $2, $3::text::jsonb, $4::text::jsonb, $5, $6, $7, $8)""",
        current.id,
        current.version,
        _dumps(current.details),
        _dumps(current.derived),
        current.state,
        account_id,
        action,
        reason,
    )
    if action == "void":
        await conn.execute(
            "UPDATE registrations SET state = 'voided', void_reason = $2, version = version + 1 "
            "WHERE id = $1",
            current.id,
            reason,
        )
        return
    cols = columns or {}
    await conn.execute(
        """UPDATE registrations SET details = $2::text::jsonb, derived = $3::text::jsonb,
               version = version + 1, category = $4, feitcode = $5, occurred_at = $6, lon = $7, lat = $8,
               beat_ids = $9, photo_hashes = $10, person_name = $11, person_birth_date = $12, regime = $13,
               purpose = $14, boa_ids = $15, unit_id = $16, catalogue_version_id = $17
           WHERE id = $1""",
        current.id,
        _dumps(new_details),
        _dumps(new_derived),
        cols["category"],
        cols["feitcode"],
        cols["occurred_at"],
        cols["lon"],
        cols["lat"],
        cols["beat_ids"],
        cols["photo_hashes"],
        cols["person_name"],
        cols["person_birth_date"],
        cols["regime"],
        cols["purpose"],
        cols["boa_ids"],
        cols["unit_id"],
        cols["catalogue_version_id"],
    )


class Version(msgspec.Struct, frozen=True, kw_only=True):
    version: int
    details: dict[str, Any]
    state: str
    replaced_at: datetime
    replaced_by: int
    action: str
    reason: str


async def versions(conn: Conn, registration_id: uuid.UUID) -> list[Version]:
    rows = await conn.fetch(
        """SELECT version, details, state, replaced_at, replaced_by, action, reason FROM registration_versions
           WHERE registration_id = $1 ORDER BY version""",
        registration_id,
    )
    return [Version(**{**dict(r), "details": _json(r["details"])}) for r in rows]


async def check_colleagues(conn: Conn, org_id: int, account_ids: Sequence[int]) -> None:
    if not account_ids:
        return
    found = await conn.fetchval(
        "SELECT count(*) FROM accounts WHERE id = ANY($1::int[]) AND org_id = $2 AND active",
        list(account_ids),
        org_id,
    )
    if found != len(set(account_ids)):
        raise BadInput("onbekende collega in boa_ids", field="boa_ids")


async def unit_for(conn: Conn, principal: Principal, unit_id: int | None) -> int | None:
    """The named unit (it must be the caller's organisation's), else the unit of the caller's device."""
    if unit_id is not None:
        org = await conn.fetchval("SELECT org_id FROM units WHERE id = $1", unit_id)
        if org != principal.org_id:
            raise BadInput("onbekende eenheid", field="unit_id")
        return unit_id
    if principal.device_id is None:
        return None
    found = await conn.fetchval("SELECT unit_id FROM devices WHERE id = $1", principal.device_id)
    return None if found is None else int(found)


async def org_beats(conn: Conn, org_id: int, beat_ids: frozenset[int]) -> list[int]:
    if not beat_ids:
        return []
    rows = await conn.fetch(
        "SELECT id FROM beats WHERE id = ANY($1::int[]) AND org_id = $2 ORDER BY id", sorted(beat_ids), org_id
    )
    return [r["id"] for r in rows]


# --- access requests --------------------------------------------------------------------------------------


async def of_person(conn: Conn, org_id: int, name: str, birth_date: date) -> list[Registration]:
    """Every registration about the person, archived ones included (an access request covers all we hold)."""
    rows = await conn.fetch(
        f"""SELECT {_COLUMNS} FROM registrations r WHERE r.org_id = $1 AND r.person_name = $2
              AND r.person_birth_date = $3 ORDER BY r.occurred_at""",
        org_id,
        person_key(name),
        birth_date,
    )
    return [_registration(r) for r in rows]


def person_key(name: str) -> str:
    return " ".join(name.lower().split())
