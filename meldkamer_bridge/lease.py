"""One active bridge per partner: a lease in the database, renewed while the bridge is alive.

Two bridges on one database would each link to the partner (the partner keeps one connection per name, so
they knock each other off), and each would queue the status feed. The lease makes one of them active: it
holds `bridge_leases` rows for all its partners (taken together, in one transaction, so two bridges never
hold half each) and renews them every third of the lease time. Another bridge waits, polling, and takes
the lease over once it has expired, so a holder that dies (kill -9, a lost machine) is replaced within one
lease time. A holder that cannot renew before its lease runs out stops working on its own (`LeaseLost`).
Times are the database's clock, so the bridges' clocks do not matter.
"""

from __future__ import annotations

import asyncio
import logging
import os
import socket
import time
import uuid
from collections.abc import Sequence
from datetime import datetime, timedelta

import asyncpg
import msgspec

from meldkamer_bridge.outbox import Conn

log = logging.getLogger(__name__)


class LeaseLost(Exception):
    """Another bridge holds the lease now, or it expired before we could renew it: stop working."""


class LeaseView(msgspec.Struct, frozen=True, kw_only=True):
    partner: str
    holder: str
    acquired_at: datetime
    expires_at: datetime


def new_holder() -> str:
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


_TAKE = """
    INSERT INTO bridge_leases AS l (partner, holder, expires_at)
    VALUES ($1, $2, now() + $3::interval)
    ON CONFLICT (partner) DO UPDATE
        SET holder = EXCLUDED.holder, expires_at = EXCLUDED.expires_at, renewed_at = now(),
            acquired_at = CASE WHEN l.holder = EXCLUDED.holder THEN l.acquired_at ELSE now() END
        WHERE l.holder = EXCLUDED.holder OR l.expires_at < now()
    RETURNING partner"""


class Lease:
    def __init__(
        self, pool: asyncpg.Pool, partners: Sequence[str], *, ttl_s: float, holder: str | None = None
    ) -> None:
        self.pool = pool
        self.partners = sorted(set(partners))
        self.ttl = timedelta(seconds=ttl_s)
        self.holder = holder or new_holder()
        self.held = asyncio.Event()
        self._valid_until = 0.0  # monotonic: when our last successful take or renewal runs out

    async def try_take(self) -> bool:
        """Take (or renew) the lease of every partner, all or none; True when we hold them all."""
        async with self.pool.acquire() as conn, conn.transaction():
            started = time.monotonic()
            for partner in self.partners:
                if await conn.fetchval(_TAKE, partner, self.holder, self.ttl) is None:
                    raise _Busy()  # rolls back the ones taken in this pass
        self._valid_until = started + self.ttl.total_seconds()
        return True

    async def acquire(self) -> None:
        """Wait until we hold the lease of every partner (polling a few times per lease time)."""
        waited = False
        while True:
            try:
                if await self._attempt():
                    break
            except (OSError, asyncpg.PostgresError, asyncpg.InterfaceError) as exc:
                log.warning("lease: the database is away (%s); trying again", exc)
            if not waited:
                current = await self._current()
                log.warning(
                    "lease for %s held by another bridge (%s); this bridge %s waits and takes over when it "
                    "expires",
                    ", ".join(self.partners),
                    ", ".join(f"{v.partner}: {v.holder} until {v.expires_at:%H:%M:%S}" for v in current),
                    self.holder,
                )
                waited = True
            await asyncio.sleep(self.ttl.total_seconds() / 4)
        self.held.set()
        log.warning(
            "lease for %s taken by %s (%.0f s, renewed every %.0f s)%s",
            ", ".join(self.partners),
            self.holder,
            self.ttl.total_seconds(),
            self.ttl.total_seconds() / 3,
            " after waiting" if waited else "",
        )

    async def _attempt(self) -> bool:
        try:
            return await self.try_take()
        except _Busy:
            return False

    async def _current(self) -> list[LeaseView]:
        try:
            async with self.pool.acquire() as conn:
                return await current(conn, self.partners)
        except (OSError, asyncpg.PostgresError, asyncpg.InterfaceError):
            return []

    async def keep(self) -> None:
        """Renew every third of the lease time until cancelled; raises LeaseLost when it is gone."""
        while True:
            await asyncio.sleep(self.ttl.total_seconds() / 3)
            try:
                if await self._attempt():
                    continue
                self.held.clear()
                raise LeaseLost(f"another bridge took the lease of {', '.join(self.partners)}")
            except (OSError, asyncpg.PostgresError, asyncpg.InterfaceError) as exc:
                if time.monotonic() >= self._valid_until:
                    self.held.clear()
                    raise LeaseLost(f"could not renew the lease before it expired: {exc}") from exc
                log.warning("lease: renewal failed (%s); retrying before it expires", exc)

    async def release(self) -> None:
        """Give the lease up (a clean stop), so a waiting bridge takes over at once."""
        self.held.clear()
        try:
            async with self.pool.acquire() as conn:
                await conn.execute(
                    "DELETE FROM bridge_leases WHERE holder = $1 AND partner = ANY($2::text[])",
                    self.holder,
                    self.partners,
                )
        except (OSError, asyncpg.PostgresError, asyncpg.InterfaceError) as exc:
            log.warning("lease: could not release (%s); it expires by itself", exc)
        else:
            log.warning("lease for %s released by %s", ", ".join(self.partners), self.holder)


class _Busy(Exception):
    """Another bridge holds one of the partners' leases (rolls the pass back)."""


async def current(conn: Conn, partners: Sequence[str]) -> list[LeaseView]:
    rows = await conn.fetch(
        "SELECT partner, holder, acquired_at, expires_at FROM bridge_leases WHERE partner = ANY($1::text[]) "
        "ORDER BY partner",
        list(partners),
    )
    return [LeaseView(**dict(r)) for r in rows]
