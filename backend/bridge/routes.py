"""What administrators see of the meldkamer bridge: delivery metrics per partner and the dead-letter list."""

from __future__ import annotations

import asyncpg
import msgspec
from litestar import Router, get
from litestar.di import NamedDependency

from backend.auth.guards import requires
from meldkamer_bridge import outbox


class BridgeStatus(msgspec.Struct, frozen=True, kw_only=True):
    partners: list[outbox.PartnerMetrics]
    dead_letters: list[outbox.DeadLetter]


@get("/status")
async def bridge_status(pool: NamedDependency[asyncpg.Pool]) -> BridgeStatus:
    """Queue depth, oldest message age, deliveries and failures per partner; refused messages and why."""
    async with pool.acquire() as conn:
        return BridgeStatus(partners=await outbox.metrics(conn), dead_letters=await outbox.dead_letters(conn))


router = Router(
    path="/api/bridge", tags=["bridge"], guards=[requires("admin")], route_handlers=[bridge_status]
)
