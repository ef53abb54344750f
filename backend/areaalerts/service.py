"""A partner's alert for an area (police CAP, posted by the bridge): stored once, pushed at once to the
tablets of the units whose last position lies in the area (on whichever instance they are connected; a tablet
connected nowhere gets it when it connects within the hour, `areaalerts/live.py`), and shown to operators in
their next delta, on every instance, and again whenever a tablet is sent it later."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Annotated

import msgspec
from shapely.geometry import Polygon

from backend.areaalerts import live as area_live
from backend.areaalerts import repository as repo
from backend.areaalerts.area import Circle, units_in_area
from backend.auth.tokens import Principal
from backend.errors import BadInput
from backend.services import Services
from shared.protocol import (
    AreaAlertView,
    Latitude,
    Longitude,
    Timestamp,
    check_time_window,
)

Text = Annotated[str, msgspec.Meta(max_length=2000)]
Short = Annotated[str, msgspec.Meta(max_length=300)]
Word = Annotated[str, msgspec.Meta(max_length=40)]
Ring = Annotated[list[tuple[Longitude, Latitude]], msgspec.Meta(min_length=4, max_length=5000)]


class AreaCircle(msgspec.Struct, frozen=True, kw_only=True):
    lon: Longitude
    lat: Latitude
    radius_km: Annotated[float, msgspec.Meta(gt=0, le=1000)]


class AreaAlertRequest(msgspec.Struct, frozen=True, kw_only=True):
    """A partner's alert for an area (the bridge posts each police CAP alert this way)."""

    source: Annotated[str, msgspec.Meta(min_length=1, max_length=40)]  # the partner
    identifier: Annotated[str, msgspec.Meta(min_length=1, max_length=300)]  # the CAP identifier
    event: Short = ""
    headline: Short = ""
    description: Text = ""
    instruction: Text = ""
    severity: Word = ""
    urgency: Word = ""
    area_desc: Short = ""
    polygons: Annotated[list[Ring], msgspec.Meta(max_length=50)] = []  # rings of (lon, lat)
    circles: Annotated[list[AreaCircle], msgspec.Meta(max_length=50)] = []
    sent: Timestamp | None = None
    expires: Timestamp | None = None


MAX_EXPIRY = timedelta(days=366)  # how far ahead a police alert may say it expires


def _check_times(data: AreaAlertRequest, now: datetime) -> None:
    """The shared rule for times (shared.protocol.check_time_window): `sent` around the server clock, and
    `expires` at most a year ahead; year 1 or 9999 (PostgreSQL cannot hold them with an offset) never pass."""
    for field, at, future in (("sent", data.sent, None), ("expires", data.expires, MAX_EXPIRY)):
        if at is None:
            continue
        reason = check_time_window(at, now) if future is None else check_time_window(at, now, future=future)
        if reason is not None:
            raise BadInput(f"{field}: {reason}", field=field)


def _area(data: AreaAlertRequest) -> tuple[tuple[Polygon, ...], tuple[Circle, ...]]:
    try:
        polygons = tuple(Polygon(ring) for ring in data.polygons)
    except (ValueError, TypeError) as exc:
        raise BadInput(f"not a polygon: {exc}", field="polygons") from exc
    return polygons, tuple(Circle(c.lon, c.lat, c.radius_km) for c in data.circles)


async def receive(services: Services, principal: Principal, data: AreaAlertRequest) -> AreaAlertView:
    """Store the alert (once per source and identifier) and push it to the units inside its area.

    Only the bridge (role service) reaches this: the route's guard says so.
    """
    _check_times(data, datetime.now(UTC))
    polygons, circles = _area(data)
    new = repo.NewAreaAlert(
        source=data.source,
        external_id=data.identifier,
        event=data.event,
        headline=data.headline,
        description=data.description,
        instruction=data.instruction,
        severity=data.severity,
        urgency=data.urgency,
        area_desc=data.area_desc,
        area={"polygons": data.polygons, "circles": [msgspec.to_builtins(c) for c in data.circles]},
        sent_at=data.sent,
        expires_at=data.expires,
        received_by=principal.account_id,
    )
    async with services.pool.acquire() as conn:
        view = await repo.insert(conn, new)
        if view is None:  # the bridge posts again after a crash: it was pushed the first time
            again = await repo.by_external(conn, data.source, data.identifier)
            assert again is not None
            return again
    positions = {
        u.unit_id: (u.lon, u.lat)
        for u in services.hub.picture.units.values()
        if u.lon is not None and u.lat is not None and principal.can_see_org(u.org_id)
    }
    inside = sorted(units_in_area(polygons, circles, positions))
    async with services.pool.acquire() as conn:
        await repo.add_targets(conn, view.alert_id, inside)
    if inside:  # the tablets here at once; those on other instances from theirs (NOTIFY with the id)
        await area_live.send_owed(services.hub, alert_id=view.alert_id)

        async def settled() -> bool:
            async with services.pool.acquire() as conn:
                return await repo.unsent(conn, view.alert_id) == 0

        if not await settled():  # a unit connected nowhere gets it when its tablet connects (within the hour)
            await services.hub.ask_others("area", settled, id=view.alert_id)
    async with services.pool.acquire() as conn:
        found = await repo.get(conn, view.alert_id)
    assert found is not None
    await area_live.show_operators(services.hub, view.alert_id)  # the consoles here and on other instances
    return found
