"""The demo's partners: the Signalen and RDW simulators on loopback ports next to the backend.

`make run` starts both (Signalen on the backend's port + 92, RDW on + 91) unless SCHAKEL_SIGNALEN_URL or
SCHAKEL_RDW_URL point elsewhere, and maps two Signalen categories to handhaving for the demo gemeente.
"""

from __future__ import annotations

from contextlib import AsyncExitStack

import asyncpg
import msgspec

from backend.kenteken.simulator import RdwSimulator
from backend.partnersim import serving
from backend.settings import Settings
from backend.signalen import repository as repo
from backend.signalen.simulator import demo_simulator

DEMO_CATEGORIES = [("fietswrak", 1, None), ("parkeeroverlast", 4, 2), ("geluidsoverlast-muziek", 1, 1)]
REAL_RDW = Settings().rdw_url


async def start_partners(stack: AsyncExitStack, settings: Settings, org_code: str) -> tuple[Settings, str]:
    """The settings pointed at the simulators that were started, and a line for the demo's banner."""
    changes: dict[str, object] = {}
    lines = []
    if (
        settings.rdw_url == REAL_RDW
    ):  # no network in the demo: the RDW simulator (12-ABC-1, G-921-GS, XX-99-XX)
        url = await stack.enter_async_context(serving(RdwSimulator().app, settings.host, settings.port + 91))
        changes["rdw_url"] = url
        lines.append(f"  RDW simulator: {url}/resource/m9d7-ebf2.json?kenteken=G921GS")
    if not settings.signalen_url:
        sim = demo_simulator()
        url = await stack.enter_async_context(serving(sim.app, settings.host, settings.port + 92))
        changes.update(
            signalen_url=url,
            signalen_token_url=f"{url}/oidc/token",
            signalen_client_id=sim.client_id,
            signalen_client_secret=sim.client_secret,
            signalen_org=org_code,
            signalen_poll_s=5.0,
        )
        lines.append(f"  Signalen simulator: {url}/signals/v1/private/signals/ (polled every 5 s)")
        pool = await asyncpg.connect(settings.database_url)
        try:
            org = await repo.org_id(pool, org_code)
            if org is not None and not await repo.mappings(pool, org):
                await repo.set_mappings(pool, org, DEMO_CATEGORIES)
        finally:
            await pool.close()
    return msgspec.structs.replace(settings, **changes), "\n".join(lines)
