"""Police area alerts on the live path, across instances.

The units inside an alert's area are stored as its targets (`area_alert_targets`); the instance that holds a
unit's tablet sends it the alert and marks it sent. It learns of a new alert by NOTIFY with the alert's id
(`LiveHub.ask_others("area", ...)`), and when a tablet connects (or the listener comes back after a gap) it
sends what the unit is still owed: alerts received within `OWED_FOR`, not yet expired, not yet sent to it.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Collection
from datetime import UTC, datetime, timedelta
from typing import Any

from backend.areaalerts import repository as repo
from backend.live.hub import LiveHub
from backend.live.links import FieldLink
from shared.protocol import AreaAlert, encoder

log = logging.getLogger(__name__)

OWED_FOR = timedelta(hours=1)  # a tablet that comes back later than this is not told an old police alert
SEND_TIMEOUT_S = 2.0


def install(hub: LiveHub) -> None:
    async def on_event(event: dict[str, Any]) -> bool:
        alert_id = event.get("id")
        return isinstance(alert_id, int) and await send_owed(hub, alert_id=alert_id) > 0

    async def on_attach(link: FieldLink) -> None:
        if link.unit_id is not None:
            await send_owed(hub, units=[link.unit_id])

    hub.cluster_handlers["area"] = on_event
    hub.attach_listeners.append(on_attach)


def local_units(hub: LiveHub) -> set[int]:
    """The units with a tablet connected to this instance."""
    units = set()
    for device_id in hub.links.device_ids():
        link = hub.links.get(device_id)
        if link is not None and link.unit_id is not None:
            units.add(link.unit_id)
    return units


async def send_owed(
    hub: LiveHub, *, alert_id: int | None = None, units: Collection[int] | None = None
) -> int:
    """Send the units with a tablet here (or just `units`) the area alerts they are owed (only `alert_id` when
    given); each is marked sent once its tablet's socket took it. Returns how many were sent."""
    here = local_units(hub) if units is None else set(units)
    if not here:
        return 0
    async with hub.pool.acquire() as conn:
        owed = await repo.owed(conn, here, datetime.now(UTC) - OWED_FOR, alert_id)
    sent = 0
    for item in owed:
        link = hub.link_for_unit(item.unit_id)
        if link is None:
            continue
        frame = AreaAlert(
            alert_id=item.alert_id,
            headline=item.headline,
            description=item.description,
            severity=item.severity,
            sent_at=item.sent_at,
        )
        try:  # a stuck tablet must not hold up the cluster events behind it; it is owed it still
            await asyncio.wait_for(link.send(encoder.encode(frame)), SEND_TIMEOUT_S)
        except Exception as exc:  # the socket just went; the reconnect sends it
            log.info("could not reach unit %s now: %s", item.unit_id, exc)
            continue
        async with hub.pool.acquire() as conn:
            await repo.mark_sent(conn, item.alert_id, item.unit_id)
        sent += 1
    return sent
