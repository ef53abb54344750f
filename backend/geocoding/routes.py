"""Address search for the console: suggest as you type, lookup of a chosen suggestion, reverse of a map click.

Every answer is 200 with `available`: when the geocoder cannot be asked the console shows `message`
("adres onbekend — geocoder niet bereikbaar …") and, for a point, the buurt it lies in; it never blocks.
"""

from __future__ import annotations

from typing import Annotated

import msgspec
from litestar import Router, get
from litestar.di import NamedDependency
from litestar.params import FromQuery

from backend.auth.guards import requires
from backend.auth.tokens import Principal
from backend.errors import BadInput
from backend.geocoding.client import Address, GeocoderUnavailable, Suggestion
from backend.geofencing.logic import containing_beats
from backend.services import Services

SEARCHERS = requires("operator", "teamlead", "admin", "service")
MAX_QUERY = 200


class Buurt(msgspec.Struct, frozen=True, kw_only=True):
    code: str
    name: str


class Suggestions(msgspec.Struct, frozen=True, kw_only=True):
    available: bool
    message: str = ""
    results: list[Suggestion] = []


class Found(msgspec.Struct, frozen=True, kw_only=True):
    available: bool
    message: str = ""
    address: Address | None = None
    buurt: Buurt | None = None  # the shipped buurt the point lies in (a fallback when no address is known)


Lon = Annotated[float, msgspec.Meta(ge=-180.0, le=180.0)]
Lat = Annotated[float, msgspec.Meta(ge=-90.0, le=90.0)]


def _text(value: str, field: str) -> str:
    value = value.strip()
    if not value or len(value) > MAX_QUERY:
        raise BadInput(f"geef 1 tot {MAX_QUERY} tekens", field=field)
    return value


@get("/suggest", guards=[SEARCHERS])
async def suggest(services: NamedDependency[Services], q: FromQuery[str] = "") -> Suggestions:
    """Addresses that start with what was typed (PDOK Locatieserver suggest)."""
    text = _text(q, "q")
    try:
        return Suggestions(available=True, results=await services.geocoder.suggest(text))
    except GeocoderUnavailable as exc:
        return Suggestions(available=False, message=str(exc))


@get("/lookup", guards=[SEARCHERS])
async def lookup(services: NamedDependency[Services], id: FromQuery[str] = "") -> Found:  # noqa: A002
    """One suggestion in full: its point, BAG id and buurtcode."""
    object_id = _text(id, "id")
    try:
        address = await services.geocoder.lookup(object_id)
    except GeocoderUnavailable as exc:
        return Found(available=False, message=str(exc))
    return Found(available=True, address=address, message="" if address else "adres niet gevonden")


@get("/reverse", guards=[SEARCHERS])
async def reverse(
    services: NamedDependency[Services],
    principal: NamedDependency[Principal],
    lon: FromQuery[Lon],
    lat: FromQuery[Lat],
) -> Found:
    """The nearest address to a point, and the buurt it lies in."""
    buurt = await _buurt(services, principal, lon, lat)
    try:
        address = await services.geocoder.reverse(lon, lat)
    except GeocoderUnavailable as exc:
        return Found(available=False, message=str(exc), buurt=buurt)
    return Found(
        available=True, address=address, buurt=buurt, message="" if address else "geen adres in de buurt"
    )


async def _buurt(services: Services, principal: Principal, lon: float, lat: float) -> Buurt | None:
    beat_ids = sorted(containing_beats(lon, lat, services.hub.picture.beats))
    if not beat_ids:
        return None
    async with services.pool.acquire() as conn:
        row = await conn.fetchrow(
            "SELECT code, name FROM beats WHERE id = ANY($1) AND org_id = ANY($2) ORDER BY id LIMIT 1",
            beat_ids,
            sorted(principal.visible_org_ids),
        )
    return None if row is None else Buurt(code=row["code"], name=row["name"])


router = Router(path="/api/geocoding", tags=["geocoding"], route_handlers=[suggest, lookup, reverse])
