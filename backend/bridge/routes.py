"""What administrators see of the meldkamer bridge: delivery metrics per partner and the dead-letter list."""

from __future__ import annotations

import msgspec
from litestar import Request, get
from litestar.di import NamedDependency

from backend.auth.guards import require_role, services_of
from backend.auth.tokens import Principal
from meldkamer_bridge import outbox


class BridgeStatus(msgspec.Struct, frozen=True, kw_only=True):
    partners: list[outbox.PartnerMetrics]
    dead_letters: list[outbox.DeadLetter]


@get("/api/bridge/status", tags=["bridge"])
async def bridge_status(
    request: Request,  # type: ignore[type-arg]
    principal: NamedDependency[Principal],
) -> BridgeStatus:
    """Queue depth, oldest message age, deliveries and failures per partner; refused messages and why."""
    require_role(principal, ("admin",))
    async with services_of(request).pool.acquire() as conn:
        return BridgeStatus(partners=await outbox.metrics(conn), dead_letters=await outbox.dead_letters(conn))


ROUTES = [bridge_status]
