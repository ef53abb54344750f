"""Police area alerts on the live path, across instances.

The units inside an alert's area are stored as its targets (`area_alert_targets`); the instance that holds a
unit's tablet sends it the alert and marks it sent. It learns of a new alert by NOTIFY with the alert's id
(`LiveHub.ask_others("area", ...)`), and when a tablet connects (or the listener comes back after a gap) it
sends what the unit is still owed: alerts received within `OWED_FOR`, not yet expired, not yet sent to it.

Operators see an alert and the units it reached ("bereikt") in their deltas (`area_alerts`, an
`AreaAlertView`): when the POST stored it, and again whenever a tablet is sent it later (it connects within
the hour, or another instance reached it). `show_operators` pushes the stored row to the consoles here and
tells the other instances (NOTIFY "area_shown" with the id), which push it to theirs. A console that connects
later finds the alerts still in force in its snapshot (`Snapshot.area_alerts`, `repo.in_force`).
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

    async def on_shown(event: dict[str, Any]) -> bool:
        alert_id = event.get("id")
        if isinstance(alert_id, int):
            await show_operators(hub, alert_id, everywhere=False)
        return False  # nobody waits for this one

    async def snapshot(org_ids: frozenset[int]) -> dict[str, Any]:
        async with hub.pool.acquire() as conn:
            return {"area_alerts": await repo.in_force(conn, org_ids)}

    hub.cluster_handlers["area"] = on_event
    hub.cluster_handlers["area_shown"] = on_shown
    hub.attach_listeners.append(on_attach)
    hub.snapshot_providers.append(snapshot)


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
    reached: set[int] = set()  # alerts whose unit_ids changed: their operators are shown them again
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
            if await repo.mark_sent(conn, item.alert_id, item.unit_id):
                reached.add(item.alert_id)
        sent += 1
    for reached_id in sorted(reached):
        await show_operators(hub, reached_id)
    return sent


async def show_operators(hub: LiveHub, alert_id: int, *, everywhere: bool = True) -> None:
    """The operators who see the alert get it as stored now (with the units it reached) in their next delta:
    those connected here, and (`everywhere`) those on the other instances, which read the row themselves."""
    async with hub.pool.acquire() as conn:
        view = await repo.get(conn, alert_id)
        org_ids = await repo.audience(conn, alert_id) if view is not None else frozenset()
        if view is not None and everywhere:
            await hub.cluster.publish(conn, "area_shown", id=alert_id)
    if view is not None and org_ids:
        hub.push_area_alert(org_ids, view)
