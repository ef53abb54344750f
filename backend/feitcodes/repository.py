"""Feitcode catalogue versions and APV zones in PostgreSQL (the caller owns the transaction)."""

from __future__ import annotations

import functools
import json
from collections.abc import Sequence
from datetime import date, datetime
from typing import Any

import msgspec
from shapely.geometry import shape

from backend.db.pool import Conn
from backend.feitcodes.catalogue import CATALOGUE_PATH, load_catalogue
from backend.geofencing.importer import BeatFeature
from backend.geofencing.logic import PreparedBeats, containing_beats
from shared.feitcodes import Catalogue


def _json(value: Any) -> Any:
    return json.loads(value) if isinstance(value, str) else value


def _dumps(value: Any) -> str:
    return msgspec.json.encode(value).decode()


# --- catalogue ---------------------------------------------------------------------------------------------

# (version id, upload time) -> decoded catalogue. A stored version never changes; the upload time keeps two
# databases served by one process (tests, a restored copy) from sharing an entry by id alone.
_catalogues: dict[tuple[int, datetime], Catalogue] = {}


@functools.cache
def _shipped() -> Catalogue:
    return load_catalogue(CATALOGUE_PATH)


async def _builtin_catalogue_id(conn: Conn) -> int:
    catalogue = _shipped()
    found = await conn.fetchval(
        "SELECT id FROM catalogue_versions WHERE org_id IS NULL AND version = $1", catalogue.version
    )
    if found is not None:
        return int(found)
    new_id = await conn.fetchval(
        """INSERT INTO catalogue_versions (org_id, version, valid_from, content)
           VALUES (NULL, $1, $2, $3::text::jsonb)
           ON CONFLICT (version) WHERE org_id IS NULL
           DO UPDATE SET version = EXCLUDED.version RETURNING id""",
        catalogue.version,
        catalogue.valid_from,
        _dumps(catalogue),
    )
    return int(new_id)


async def active_catalogue(conn: Conn, org_id: int, on: date | None = None) -> tuple[int, Catalogue]:
    """The organisation's newest uploaded catalogue valid on ``on`` (default: any), else the shipped one."""
    version_id = await conn.fetchval(
        """SELECT id FROM catalogue_versions WHERE org_id = $1 AND ($2::date IS NULL OR valid_from <= $2)
           ORDER BY valid_from DESC, id DESC LIMIT 1""",
        org_id,
        on,
    )
    if version_id is None:
        version_id = await _builtin_catalogue_id(conn)
    return int(version_id), await catalogue_by_id(conn, int(version_id))


async def catalogue_by_id(conn: Conn, version_id: int) -> Catalogue:
    uploaded_at = await conn.fetchval("SELECT uploaded_at FROM catalogue_versions WHERE id = $1", version_id)
    key = (version_id, uploaded_at)
    if key not in _catalogues:
        raw = await conn.fetchval("SELECT content::text FROM catalogue_versions WHERE id = $1", version_id)
        _catalogues[key] = load_catalogue(raw.encode())
    return _catalogues[key]


async def store_catalogue(conn: Conn, org_id: int, catalogue: Catalogue, account_id: int) -> int:
    new_id = await conn.fetchval(
        """INSERT INTO catalogue_versions (org_id, version, valid_from, content, uploaded_by)
           VALUES ($1, $2, $3, $4::text::jsonb, $5) RETURNING id""",
        org_id,
        catalogue.version,
        catalogue.valid_from,
        _dumps(catalogue),
        account_id,
    )
    return int(new_id)


class CatalogueVersion(msgspec.Struct, frozen=True, kw_only=True):
    id: int
    version: str
    valid_from: date
    uploaded_at: datetime
    uploaded_by: int | None
    uploaded_by_name: str | None  # who uploaded or imported it (None: shipped with Schakel)
    builtin: bool
    entries: int
    amounts: int  # entries that carry an amount


async def list_catalogues(conn: Conn, org_id: int) -> list[CatalogueVersion]:
    await _builtin_catalogue_id(conn)
    rows = await conn.fetch(
        """SELECT c.id, c.version, c.valid_from, c.uploaded_at, c.uploaded_by,
                  coalesce(a.display_name, a.username) AS uploaded_by_name, c.org_id IS NULL AS builtin,
                  jsonb_array_length(c.content->'entries') AS entries,
                  (SELECT count(*) FROM jsonb_array_elements(c.content->'entries') e
                   WHERE e->'amounts_eur' <> '{}'::jsonb)::int AS amounts
           FROM catalogue_versions c LEFT JOIN accounts a ON a.id = c.uploaded_by
           WHERE c.org_id = $1 OR c.org_id IS NULL ORDER BY c.valid_from DESC, c.id DESC""",
        org_id,
    )
    return [CatalogueVersion(**dict(r)) for r in rows]


async def org_track(conn: Conn, org_id: int) -> str:
    return str(await conn.fetchval("SELECT fine_track FROM organisations WHERE id = $1", org_id))


async def account_domains(conn: Conn, account_id: int) -> tuple[int, ...]:
    domains = await conn.fetchval("SELECT domains FROM accounts WHERE id = $1", account_id)
    return tuple(domains or (1,))


# --- APV zones ---------------------------------------------------------------------------------------------

_zones: dict[int, tuple[Any, PreparedBeats, dict[int, tuple[str, ...]]]] = {}


async def upsert_zones(
    conn: Conn, org_id: int, features: Sequence[BeatFeature], tags: Sequence[tuple[str, ...]]
) -> list[int]:
    rows = await conn.fetch(
        """INSERT INTO apv_zones (org_id, code, name, tags, geometry)
           SELECT $1, u.code, u.name, string_to_array(u.tags, ','), u.geometry::jsonb
           FROM unnest($2::text[], $3::text[], $4::text[], $5::text[]) AS u(code, name, tags, geometry)
           ON CONFLICT (org_id, code) DO UPDATE SET name = EXCLUDED.name, tags = EXCLUDED.tags,
              geometry = EXCLUDED.geometry, imported_at = clock_timestamp()
           RETURNING id, code""",
        org_id,
        [f.code for f in features],
        [f.name for f in features],
        [",".join(t) for t in tags],
        [json.dumps(f.geometry) for f in features],
    )
    ids = {r["code"]: r["id"] for r in rows}
    return [ids[f.code] for f in features]


async def zone_tags_at(conn: Conn, org_id: int, lon: float, lat: float) -> frozenset[str]:
    """Tags of the organisation's APV zones containing the point (the prepared index is cached per change)."""
    stamp = await conn.fetchrow(
        "SELECT count(*) AS n, max(imported_at) AS at FROM apv_zones WHERE org_id = $1", org_id
    )
    assert stamp is not None  # an aggregate always answers one row
    key = (stamp["n"], stamp["at"])
    cached = _zones.get(org_id)
    if cached is None or cached[0] != key:
        rows = await conn.fetch("SELECT id, tags, geometry FROM apv_zones WHERE org_id = $1", org_id)
        prepared = PreparedBeats((r["id"], shape(_json(r["geometry"]))) for r in rows)
        cached = (key, prepared, {r["id"]: tuple(r["tags"]) for r in rows})
        _zones[org_id] = cached
    _, prepared, tags = cached
    if len(prepared) == 0:
        return frozenset()
    return frozenset(tag for zone in containing_beats(lon, lat, prepared) for tag in tags[zone])
