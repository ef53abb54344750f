"""The bridge process, wired: one transport per partner, the backend's feed and API, the outbox in between.

Partner side: one Transport per partner (TRANSPORTS picks it by the URL's scheme) moves the bridge's
PostgreSQL outbox to the partner and what the partner sends into the inbox, validated by the inbound table
(meldkamer_bridge.inbound). Backend side: with a backend configured, meldkamer_bridge.outbound follows the
operator websocket and the API as the service account (meldkamer_bridge.api); the bridge touches none of
the backend's tables, only its own (bridge_partners, bridge_outbox, bridge_inbox, bridge_dead_letters).
The one place where bridge things are wired together.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from datetime import timedelta

import asyncpg

from meldkamer_bridge import link, outbox
from meldkamer_bridge.adapters.base import Transport, TransportFactory
from meldkamer_bridge.adapters.nena_conveyance import NenaConveyance
from meldkamer_bridge.api import BackendApi
from meldkamer_bridge.config import BridgeConfig, Partner
from meldkamer_bridge.inbound import Inbound
from meldkamer_bridge.lease import Lease, LeaseLost
from meldkamer_bridge.outbound import Outbound
from meldkamer_bridge.outbox import PgStore

log = logging.getLogger(__name__)

# How a partner is reached, by the scheme of its URL: a partner on another transport is one more module.
TRANSPORTS: dict[str, TransportFactory] = {
    "ws": link.PartnerLink,
    "wss": link.PartnerLink,
    "nena+ws": NenaConveyance,  # NENA-STA-024 subscribe/notify (loopback, the demo)
    "nena+wss": NenaConveyance,  # the same over mutual TLS
}


class Bridge:
    def __init__(self, config: BridgeConfig, pool: asyncpg.Pool) -> None:
        self.config = config
        self.pool = pool
        self.store = PgStore(pool)
        self.outbound = Outbound(config, pool, self.store)
        self.inbound = Inbound(config, pool, self.outbound)
        self.outbound.on_backend_up.append(self.inbound.wake)  # the backend is back: hand the inbox over
        self.links = {p.name: self._transport(p) for p in config.partners}
        self.links_connected = {name: t.connected for name, t in self.links.items()}
        self.backend_connected = self.outbound.backend_connected
        # one active bridge per partner: this one works only while it holds the lease of all its partners
        self.lease = Lease(pool, [p.name for p in config.partners], ttl_s=config.lease_s)

    def _transport(self, partner: Partner) -> Transport:
        scheme = partner.url.partition("://")[0].lower()
        if scheme not in TRANSPORTS:
            known = ", ".join(TRANSPORTS)
            raise ValueError(f"partner {partner.name}: no transport for {partner.url!r} (known: {known})")
        # mutual TLS only when configured, so a transport without TLS needs no `tls` parameter
        tls = {"tls": self.config.tls} if self.config.tls is not None else {}
        return TRANSPORTS[scheme](
            partner.url,
            self.store,
            me=self.config.me,
            peer=partner.name,
            token=partner.token,
            validate=self.inbound.validate,
            on_received=self.inbound.received,
            **tls,
        )

    async def _retention_loop(self) -> None:
        """Prune what partners acknowledged and Schakel processed, once an interval (docs/bridge.md, §8)."""
        keep = timedelta(days=self.config.retention_days)
        while True:
            try:
                async with self.pool.acquire() as conn:
                    pruned = await outbox.prune(conn, keep)
                if pruned.outbox or pruned.inbox:
                    log.info(
                        "retention: pruned %d outbound and %d inbound messages", pruned.outbox, pruned.inbox
                    )
            except (OSError, asyncpg.PostgresError, asyncpg.InterfaceError) as exc:
                log.warning(
                    "retention pass failed, next one in %.0f s: %s", self.config.retention_interval_s, exc
                )
            await asyncio.sleep(self.config.retention_interval_s)

    async def run(self) -> None:
        """Wait for the lease, work while it is held; a lost lease stops the work and waits again."""
        try:
            while True:
                await self.lease.acquire()
                try:
                    await self._run_active()
                except* LeaseLost as lost:
                    log.error("%s: this bridge stops and waits for the lease again", lost.exceptions[0])
        finally:
            await self.lease.release()

    async def _run_active(self) -> None:
        async with contextlib.AsyncExitStack() as stack:
            api = None
            if self.config.backend_url:
                api = BackendApi(self.config.backend_url, self.config.username, self.config.password)
                stack.push_async_callback(api.aclose)
                self.inbound.use_backend(api)
            async with asyncio.TaskGroup() as tasks:
                for transport in self.links.values():
                    tasks.create_task(transport.run())
                if api is not None:
                    tasks.create_task(self.outbound.run(api))
                tasks.create_task(self.inbound.run())
                tasks.create_task(self._retention_loop())
                tasks.create_task(self.lease.keep())
