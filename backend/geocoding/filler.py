"""Fills in the address of registrations, meldingen and alarms after they are written, in the background.

Nothing waits for it: a noodknop or a registration is acknowledged when it is stored, and this task looks for
rows without an address (``address_state IS NULL``) every `geocoder_poll_s` (or at once when poked), asks the
geocoder for the nearest address to the row's position (reverse), and stores the address text, the BAG id and
the CBS buurtcode. When the geocoder cannot be asked the row gets the buurtcode of the buurt its position lies
in (the shipped buurt polygons, the beats whose code is a CBS code) and state 'unreachable'; it is tried again
after `geocoder_retry_s`. It only fills what is missing: an address text, BAG id or buurtcode the row already
holds (chosen in the console, or stored by another instance's filler while this one waited for its geocoder)
is never overwritten, and never with NULL. Rows older than a day are left alone (a restored backup is not
geocoded in bulk).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import asyncpg

from backend.geocoding.client import Address, Geocoder, GeocoderUnavailable
from backend.geofencing.logic import containing_beats
from backend.live.hub import LiveHub

log = logging.getLogger(__name__)

BATCH = 20
MAX_AGE = "1 day"


@dataclass(frozen=True, slots=True)
class Table:
    name: str
    key: str  # the primary key column
    position: str  # SQL for (lon, lat) of the row, aliased lon and lat
    since: str  # the time column the age limit reads
    join: str = ""


TABLES = (
    Table("registrations", "id", "r.lon AS lon, r.lat AS lat", "r.received_at"),
    Table("incidents", "id", "r.lon AS lon, r.lat AS lat", "r.created_at"),
    Table(
        "alerts",
        "id",
        "coalesce((r.payload->>'lon')::float8, ul.lon) AS lon,"
        " coalesce((r.payload->>'lat')::float8, ul.lat) AS lat",
        "r.at",
        "LEFT JOIN unit_live ul ON ul.unit_id = r.unit_id",
    ),
)


@dataclass(slots=True)
class Filled:
    table: str
    key: Any
    state: str  # what the row says now ('found' when it already held an address), or what this pass found
    address: Address | None  # the geocoder's answer (None: none, or not asked)
    kept: bool = False  # the row was filled meanwhile (another instance, an earlier pass): left as it was


@dataclass
class AddressFiller:
    pool: asyncpg.Pool
    geocoder: Geocoder
    hub: LiveHub
    poll_s: float = 1.0
    retry_s: float = 300.0
    listeners: list[Callable[[Filled], Any]] = field(default_factory=list)  # told after each stored row
    _wake: asyncio.Event = field(default_factory=asyncio.Event)
    _down: bool = False  # the geocoder failed earlier in this pass

    def poke(self) -> None:
        """Look now rather than at the next poll (after a write that wants its address soon)."""
        self._wake.set()

    async def run(self) -> None:
        while True:
            try:
                while await self.fill_once() >= BATCH:
                    pass
            except asyncio.CancelledError:
                raise
            except Exception:  # a database hiccup: the next poll tries again
                log.exception("address filler pass failed")
            self._wake.clear()
            try:
                await asyncio.wait_for(self._wake.wait(), self.poll_s)
            except TimeoutError:
                pass

    async def fill_once(self) -> int:
        """One pass over every table; the number of rows it handled.

        Once the geocoder fails in a pass, the rest of the pass does not ask it again (a geocoder that times
        out would otherwise hold the pass for a timeout per row): those rows get the buurt and a retry."""
        handled = 0
        self._down = False
        for table in TABLES:
            async with self.pool.acquire() as conn:
                rows = await conn.fetch(
                    f"""SELECT r.{table.key} AS key, {table.position} FROM {table.name} r {table.join}
                        WHERE (r.address_state IS NULL
                               OR (r.address_state = 'unreachable'
                                   AND r.address_at < now() - $1 * interval '1 s'))
                          AND {table.since} > now() - interval '{MAX_AGE}'
                        ORDER BY {table.since} LIMIT {BATCH}""",  # noqa: S608  # names from TABLES only
                    self.retry_s,
                )
            for row in rows:
                filled = await self._fill(table, row["key"], row["lon"], row["lat"])
                handled += 1
                for listener in self.listeners:
                    try:
                        result = listener(filled)
                        if asyncio.iscoroutine(result):
                            await result
                    except Exception:
                        log.exception("address listener failed")
        return handled

    async def _fill(self, table: Table, key: Any, lon: float | None, lat: float | None) -> Filled:
        address: Address | None = None
        if lon is None or lat is None:
            state, buurtcode = "none", None
        else:
            try:
                if self._down:
                    raise GeocoderUnavailable("eerder in deze ronde niet bereikbaar")
                address = await self.geocoder.reverse(lon, lat)
                state = "found" if address is not None else "none"
            except GeocoderUnavailable as exc:
                state = "unreachable" if self.geocoder.configured else "off"
                if not self._down:
                    log.info("geocoder: %s", exc)
                self._down = True
            buurtcode = address.buurtcode if address is not None else None
            if buurtcode is None:
                buurtcode = await self.buurtcode_at(lon, lat)
        # Only what is missing is filled: a known address text, BAG id or buurtcode (chosen in the console,
        # or stored meanwhile by another instance's filler or an earlier pass) is never overwritten, least of
        # all with NULL when the geocoder could not be asked; only an address filled in now brings its own
        # buurtcode, over the polygon's fallback an earlier 'unreachable' pass stored. The row is updated only
        # while it still wants an address (the state the SELECT read: another instance may have filled it
        # since), and a row that holds an address text is 'found' whatever this answer was. A melding shows
        # the address when nothing was typed (the same statement: readers see both at once).
        shown = ", address = CASE WHEN address = '' THEN coalesce(address_text, $2, '') ELSE address END"
        async with self.pool.acquire() as conn:
            stored = await conn.fetchrow(
                f"""UPDATE {table.name} SET address_text = coalesce(address_text, $2),
                           bag_id = coalesce(bag_id, $3),
                           buurtcode = CASE WHEN address_text IS NULL AND $2 IS NOT NULL
                                            THEN coalesce($4, buurtcode) ELSE coalesce(buurtcode, $4) END,
                           address_state = CASE WHEN coalesce(address_text, $2) IS NOT NULL THEN 'found'
                                                ELSE $5 END,
                           address_at = now(){shown if table.name == "incidents" else ""}
                    WHERE {table.key} = $1 AND (address_state IS NULL OR address_state = 'unreachable')
                    RETURNING address_state""",  # noqa: S608  # names from TABLES
                key,
                address.weergavenaam if address else None,
                address.bag_id if address else None,
                buurtcode,
                state,
            )
        if stored is None:  # filled meanwhile (another instance, a chosen address): left as it is
            return Filled(table=table.name, key=key, state=state, address=address, kept=True)
        return Filled(table=table.name, key=key, state=stored["address_state"], address=address)

    async def buurtcode_at(self, lon: float, lat: float) -> str | None:
        """The CBS code of the buurt the point lies in, from the beats (their code is the buurtcode)."""
        beat_ids = sorted(containing_beats(lon, lat, self.hub.picture.beats))
        if not beat_ids:
            return None
        async with self.pool.acquire() as conn:
            code: str | None = await conn.fetchval(
                "SELECT code FROM beats WHERE id = ANY($1) AND code LIKE 'BU%' ORDER BY id LIMIT 1", beat_ids
            )
        return code
