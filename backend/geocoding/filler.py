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

BATCH = 100  # rows per table per pass: one UPDATE and one call of each listener for all of them
MAX_AGE = "1 day"


@dataclass(frozen=True, slots=True)
class Table:
    name: str
    key: str  # the primary key column
    key_type: str  # its SQL type
    position: str  # SQL for (lon, lat) of the row, aliased lon and lat
    since: str  # the time column the age limit reads
    join: str = ""


TABLES = (
    Table("registrations", "id", "uuid", "r.lon AS lon, r.lat AS lat", "r.received_at"),
    Table("incidents", "id", "bigint", "r.lon AS lon, r.lat AS lat", "r.created_at"),
    Table(
        "alerts",
        "id",
        "bigint",
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
    # told after each pass over a table, with every row it handled (stored or kept)
    listeners: list[Callable[[list[Filled]], Any]] = field(default_factory=list)
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
            if not rows:
                continue
            filled = await self._fill(table, rows)
            handled += len(filled)
            for listener in self.listeners:
                try:
                    result = listener(filled)
                    if asyncio.iscoroutine(result):
                        await result
                except Exception:
                    log.exception("address listener failed")
        return handled

    async def _answer(self, lon: float | None, lat: float | None) -> tuple[Address | None, str]:
        """The geocoder's address for a position and the row's state."""
        if lon is None or lat is None:
            return None, "none"
        try:
            if self._down:
                raise GeocoderUnavailable("eerder in deze ronde niet bereikbaar")
            address = await self.geocoder.reverse(lon, lat)
        except GeocoderUnavailable as exc:
            if not self._down:
                log.info("geocoder: %s", exc)
            self._down = True
            return None, "unreachable" if self.geocoder.configured else "off"
        return address, "found" if address is not None else "none"

    async def _fill(self, table: Table, rows: list[asyncpg.Record]) -> list[Filled]:
        """Ask the geocoder for each row (one after the other: it is a shared service), then store the
        whole pass in one statement."""
        answers = [await self._answer(row["lon"], row["lat"]) for row in rows]
        polygons = await self._buurtcodes(
            [
                (row["lon"], row["lat"])
                if address is None or address.buurtcode is None
                else (None, None)  # the geocoder named it
                for row, (address, _) in zip(rows, answers, strict=True)
            ]
        )
        buurtcodes = [
            address.buurtcode if address is not None and address.buurtcode else polygon
            for (address, _), polygon in zip(answers, polygons, strict=True)
        ]
        # Only what is missing is filled: a known address text, BAG id or buurtcode (chosen in the console,
        # or stored meanwhile by another instance's filler or an earlier pass) is never overwritten, least of
        # all with NULL when the geocoder could not be asked; only an address filled in now brings its own
        # buurtcode, over the polygon's fallback an earlier 'unreachable' pass stored. A row is updated only
        # while it still wants an address (the state the SELECT read: another instance may have filled it
        # since), and a row that holds an address text is 'found' whatever this answer was. A melding shows
        # the address when nothing was typed (the same statement: readers see both at once).
        shown = (
            ", address = CASE WHEN t.address = ''"
            " THEN coalesce(t.address_text, a.text, '') ELSE t.address END"
        )
        async with self.pool.acquire() as conn:
            stored = await conn.fetch(
                f"""UPDATE {table.name} t SET address_text = coalesce(t.address_text, a.text),
                           bag_id = coalesce(t.bag_id, a.bag_id),
                           buurtcode = CASE WHEN t.address_text IS NULL AND a.text IS NOT NULL
                                            THEN coalesce(a.buurtcode, t.buurtcode)
                                            ELSE coalesce(t.buurtcode, a.buurtcode) END,
                           address_state = CASE WHEN coalesce(t.address_text, a.text) IS NOT NULL THEN 'found'
                                                ELSE a.state END,
                           address_at = now(){shown if table.name == "incidents" else ""}
                    FROM unnest($1::{table.key_type}[], $2::text[], $3::text[], $4::text[], $5::text[])
                         AS a(key, text, bag_id, buurtcode, state)
                    WHERE t.{table.key} = a.key
                      AND (t.address_state IS NULL OR t.address_state = 'unreachable')
                    RETURNING t.{table.key} AS key, t.address_state""",  # noqa: S608  # names from TABLES
                [row["key"] for row in rows],
                [address.weergavenaam if address else None for address, _ in answers],
                [address.bag_id if address else None for address, _ in answers],
                buurtcodes,
                [state for _, state in answers],
            )
        now = {r["key"]: r["address_state"] for r in stored}
        return [
            Filled(table=table.name, key=row["key"], state=now[row["key"]], address=address)
            if row["key"] in now
            # filled meanwhile (another instance, a chosen address): left as it is
            else Filled(table=table.name, key=row["key"], state=state, address=address, kept=True)
            for row, (address, state) in zip(rows, answers, strict=True)
        ]

    async def _buurtcodes(self, points: list[tuple[float | None, float | None]]) -> list[str | None]:
        """For each point, the CBS code of the buurt it lies in (None for a point of (None, None)), read in
        one statement for the whole pass."""
        beats = self.hub.picture.beats
        inside = [
            sorted(containing_beats(lon, lat, beats)) if lon is not None and lat is not None else []
            for lon, lat in points
        ]
        wanted = sorted({beat_id for ids in inside for beat_id in ids})
        if not wanted:
            return [None] * len(points)
        async with self.pool.acquire() as conn:
            rows = await conn.fetch(
                "SELECT id, code FROM beats WHERE id = ANY($1) AND code LIKE 'BU%'", wanted
            )
        codes = {r["id"]: r["code"] for r in rows}
        return [next((codes[i] for i in ids if i in codes), None) for ids in inside]
