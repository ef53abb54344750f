"""Beats in PostgreSQL. Functions take a connection; the caller owns the transaction."""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import datetime
from typing import Any

import asyncpg
import msgspec
from shapely.geometry import shape

from backend.db.pool import Conn
from backend.errors import BadInput
from backend.geofencing.importer import BeatFeature
from backend.geofencing.logic import PreparedBeats


class BeatRow(msgspec.Struct, frozen=True, kw_only=True):
    id: int
    org_id: int
    code: str
    name: str
    geometry: dict[str, Any]
    properties: dict[str, Any]
    retired_at: datetime | None = None  # retired: kept for history, not used for assignments or the fence


class UnknownOrganisation(Exception):
    """Beats were stored for an organisation that does not exist."""

    def __init__(self, org_id: int) -> None:
        super().__init__(f"organisation {org_id} does not exist")
        self.org_id = org_id


def _json(value: Any) -> Any:
    # The pool decodes jsonb to dicts; a bare connection without the codec hands back text.
    return json.loads(value) if isinstance(value, str) else value


def _row(record: asyncpg.Record) -> BeatRow:
    return BeatRow(
        id=record["id"],
        org_id=record["org_id"],
        code=record["code"],
        name=record["name"],
        geometry=_json(record["geometry"]),
        properties=_json(record["properties"]),
        retired_at=record["retired_at"],
    )


async def upsert_beats(conn: Conn, org_id: int, features: Sequence[BeatFeature]) -> list[int]:
    """Insert beats or update them by (org_id, code); their ids in the order of ``features``."""
    if not features:
        return []
    codes = [f.code for f in features]
    if len(set(codes)) != len(codes):
        # ON CONFLICT cannot update one row twice in a statement; say so before PostgreSQL does.
        raise ValueError("beat codes must be unique within one upsert")
    try:
        records = await conn.fetch(
            """
            INSERT INTO beats (org_id, code, name, geometry, properties)
            SELECT $1, u.code, u.name, u.geometry::jsonb, u.properties::jsonb
            FROM unnest($2::text[], $3::text[], $4::text[], $5::text[]) AS u(code, name, geometry, properties)
            ON CONFLICT (org_id, code) DO UPDATE
               SET name = EXCLUDED.name, geometry = EXCLUDED.geometry,
                   properties = EXCLUDED.properties, imported_at = now(), retired_at = NULL
            RETURNING id, code
            """,
            org_id,
            codes,
            [f.name for f in features],
            # Sent as text and cast in SQL, so this works whatever jsonb codec the connection has.
            [json.dumps(f.geometry) for f in features],
            [json.dumps(f.properties) for f in features],
        )
    except asyncpg.ForeignKeyViolationError:
        raise UnknownOrganisation(org_id) from None
    # RETURNING order is not guaranteed to follow the input rows; codes are unique, so map back by code.
    ids = {r["code"]: r["id"] for r in records}
    return [ids[code] for code in codes]


_BEAT_COLUMNS = "id, org_id, code, name, geometry, properties, retired_at"


async def list_beats(conn: Conn, org_ids: Sequence[int], *, retired: bool = False) -> list[BeatRow]:
    """The organisations' beats in use; with ``retired`` the retired ones too."""
    records = await conn.fetch(
        f"""
        SELECT {_BEAT_COLUMNS} FROM beats
        WHERE org_id = ANY($1::integer[]) AND ($2 OR retired_at IS NULL) ORDER BY org_id, code
        """,
        list(org_ids),
        retired,
    )
    return [_row(r) for r in records]


async def get_beat(conn: Conn, beat_id: int) -> BeatRow | None:
    record = await conn.fetchrow(f"SELECT {_BEAT_COLUMNS} FROM beats WHERE id = $1", beat_id)
    return None if record is None else _row(record)


async def update_beat(conn: Conn, beat_id: int, *, name: str | None, retired: bool | None) -> list[int]:
    """Rename and/or retire (or bring back) one beat; None leaves that part as it is. Retiring takes it out
    of the units' default beats too; the ids of those units are returned (their picture must be refreshed)."""
    await conn.execute(
        """UPDATE beats SET name = coalesce($2, name),
               retired_at = CASE WHEN $3::boolean IS NULL THEN retired_at
                                 WHEN $3 THEN coalesce(retired_at, now()) ELSE NULL END
           WHERE id = $1""",
        beat_id,
        name,
        retired,
    )
    if not retired:
        return []
    rows = await conn.fetch(
        """UPDATE units SET assigned_beat_ids = array_remove(assigned_beat_ids, $1)
           WHERE $1 = ANY(assigned_beat_ids) RETURNING id""",
        beat_id,
    )
    return [r["id"] for r in rows]


async def load_prepared(conn: Conn) -> PreparedBeats:
    """Every beat in use of every organisation, indexed for point lookups (beat ids are global); a retired
    beat is left out, so the geofence and new registrations no longer place anything in it."""
    records = await conn.fetch("SELECT id, geometry FROM beats WHERE retired_at IS NULL ORDER BY id")
    return PreparedBeats((r["id"], shape(_json(r["geometry"]))) for r in records)


def _properties(row: BeatRow) -> dict[str, Any]:
    found: dict[str, Any] = {"id": row.id, "code": row.code, "name": row.name, "org_id": row.org_id}
    if row.retired_at is not None:  # only a retired beat carries it
        found["retired_at"] = row.retired_at.isoformat()
    return found


def beats_feature_collection(rows: Sequence[BeatRow]) -> dict[str, Any]:
    """A GeoJSON FeatureCollection for maps; the beat id is both the feature id and a property."""
    return {
        "type": "FeatureCollection",
        "features": [
            {
                "type": "Feature",
                "id": row.id,
                "geometry": row.geometry,
                "properties": _properties(row),
            }
            for row in rows
        ],
    }


async def check_org_beats(conn: Conn, org_id: int, beat_ids: Sequence[int]) -> None:
    """Every beat id names a beat in use of this organisation, else a 400 on ``beat_ids`` (a retired beat is
    not assigned any more)."""
    if not beat_ids:
        return
    rows = await conn.fetch(
        "SELECT id, retired_at IS NOT NULL AS retired FROM beats WHERE id = ANY($1) AND org_id = $2",
        list(beat_ids),
        org_id,
    )
    if len(rows) != len(set(beat_ids)):
        raise BadInput("one or more beats do not exist in this organisation", field="beat_ids")
    retired = sorted(r["id"] for r in rows if r["retired"])
    if retired:
        raise BadInput(f"gebied {retired[0]} is buiten gebruik gesteld", field="beat_ids")
