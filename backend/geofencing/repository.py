"""Beats in PostgreSQL. Functions take a connection; the caller owns the transaction."""

from __future__ import annotations

import json
from collections.abc import Sequence
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
                   properties = EXCLUDED.properties, imported_at = now()
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


async def list_beats(conn: Conn, org_ids: Sequence[int]) -> list[BeatRow]:
    records = await conn.fetch(
        """
        SELECT id, org_id, code, name, geometry, properties FROM beats
        WHERE org_id = ANY($1::integer[]) ORDER BY org_id, code
        """,
        list(org_ids),
    )
    return [_row(r) for r in records]


async def get_beat(conn: Conn, beat_id: int) -> BeatRow | None:
    record = await conn.fetchrow(
        "SELECT id, org_id, code, name, geometry, properties FROM beats WHERE id = $1", beat_id
    )
    return None if record is None else _row(record)


async def load_prepared(conn: Conn) -> PreparedBeats:
    """Every beat of every organisation, indexed for point lookups (beat ids are global)."""
    records = await conn.fetch("SELECT id, geometry FROM beats ORDER BY id")
    return PreparedBeats((r["id"], shape(_json(r["geometry"]))) for r in records)


def beats_feature_collection(rows: Sequence[BeatRow]) -> dict[str, Any]:
    """A GeoJSON FeatureCollection for maps; the beat id is both the feature id and a property."""
    return {
        "type": "FeatureCollection",
        "features": [
            {
                "type": "Feature",
                "id": row.id,
                "geometry": row.geometry,
                "properties": {"id": row.id, "code": row.code, "name": row.name, "org_id": row.org_id},
            }
            for row in rows
        ],
    }


async def check_org_beats(conn: Conn, org_id: int, beat_ids: Sequence[int]) -> None:
    """Every beat id names a beat of this organisation, else a 400 on ``beat_ids``."""
    if not beat_ids:
        return
    found = await conn.fetchval(
        "SELECT count(*) FROM beats WHERE id = ANY($1) AND org_id = $2", list(beat_ids), org_id
    )
    if found != len(set(beat_ids)):
        raise BadInput("one or more beats do not exist in this organisation", field="beat_ids")
