"""Positions from standard trackers (OsmAnd protocol, as Traccar Client sends it)."""

from __future__ import annotations

from datetime import UTC, datetime

import asyncpg
import msgspec
from litestar import Request, Response, Router, route
from litestar.di import NamedDependency

from backend.errors import BadInput, TooLarge
from backend.live.hub import LiveHub
from backend.live.osmand import MAX_BODY_BYTES, OsmAndError, check_fix_time, decode_osmand
from backend.live.sequences import FrameRefused
from backend.openapi import OSMAND_FORM, OSMAND_JSON, raw_body
from backend.orgs import repository as orgs
from backend.shifts import repository as shifts

DURABLE_TIMEOUT_S = 10.0


@route(
    ["/osmand", "/api/trackers/osmand"],
    http_method=["GET", "POST"],
    opt={"public": True},
    status_code=200,
    request_max_body_size=MAX_BODY_BYTES,  # public: a stranger's large body is a 413 before it is read
    operation_class=raw_body(
        {"application/x-www-form-urlencoded": OSMAND_FORM, "application/json": OSMAND_JSON},
        description="One fix; a GET (or a POST without a body) carries the form's keys in the query.",
        required=False,
        public=True,
    ),
)
async def osmand(
    request: Request,  # type: ignore[type-arg]
    pool: NamedDependency[asyncpg.Pool],
    hub: NamedDependency[LiveHub],
) -> Response[bytes]:
    """One position from a registered tracker; 200 with an empty body once it is durable.

    The device id in the request is its credential (that is the protocol): the key the server issued for the
    tracker, found by its hash; unknown keys get 400. A tracker whose unit has no open shift is answered 200
    but its fix is not stored.
    """
    body = await request.body()
    if len(body) > MAX_BODY_BYTES:
        raise TooLarge("request body too large", field="body")
    now = datetime.now(UTC)
    try:
        report = decode_osmand(
            query=dict(request.query_params),
            body=body,
            content_type=request.headers.get("content-type"),
            now=now,
        )
    except OsmAndError as exc:
        raise BadInput(str(exc), field=exc.field) from exc
    async with pool.acquire() as conn:
        device = await orgs.device_by_tracker_key(conn, report.device_key)
        off_shift = (
            device is not None
            and device.unit_id is not None
            and (await shifts.open_shift(conn, device.unit_id) is None)
        )
    if device is None or device.revoked:
        raise BadInput(f"unknown device {report.device_key!r}", field="id")
    try:
        check_fix_time(report, content_type=request.headers.get("content-type"), clock=now)
    except OsmAndError as exc:
        raise BadInput(str(exc), field=exc.field) from exc
    if off_shift:  # staff are tracked only on shift: the fix is answered (and numbered) but not stored
        device = msgspec.structs.replace(device, unit_id=None)
    try:
        await hub.take_tracker_fix(device, report, now, DURABLE_TIMEOUT_S)
    except FrameRefused as exc:  # the database would not take it: the tracker must not repeat it for ever
        raise BadInput(f"position not stored: {exc}") from exc
    return Response(b"", status_code=200)


router = Router(path="/", tags=["trackers"], route_handlers=[osmand])
