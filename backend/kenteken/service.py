"""The kenteken check for a boa on shift: ask the RDW open data, fall back on the cache, log the purpose.

Each lookup is a `lookup` of `kenteken` in audit_log with the purpose as the reason (like the register
queries), whether the answer came from the RDW, from the cache or not at all. The RDW open data holds no owner
data; the answer says so (`NO_OWNER_DATA`).
"""

from __future__ import annotations

import logging

from backend.auth.tokens import Principal
from backend.errors import BadInput, DomainError, Forbidden
from backend.kenteken import repository as repo
from backend.kenteken.rdw import RdwClient, RdwUnavailable
from backend.privacy import audit
from backend.services import Services
from shared.kenteken import KentekenAnswer, normalise

log = logging.getLogger(__name__)
PURPOSE_MIN, PURPOSE_MAX = 5, 300


class RdwDown(DomainError):
    status_code = 503
    code = "rdw_unavailable"


def client(services: Services) -> RdwClient:
    s = services.settings
    return RdwClient(s.rdw_url, s.rdw_timeout_s, s.rdw_app_token)


def check_input(kenteken: str, purpose: str | None) -> tuple[str, str]:
    plate = normalise(kenteken)
    if plate is None:
        raise BadInput("vul het kenteken in: zes letters en cijfers, streepjes mogen", field="kenteken")
    text = (purpose or "").strip()
    if not PURPOSE_MIN <= len(text) <= PURPOSE_MAX:
        raise BadInput(
            f"give the purpose of the check ({PURPOSE_MIN}-{PURPOSE_MAX} characters)", field="purpose"
        )
    return plate, text


async def check(
    services: Services, principal: Principal, kenteken: str, purpose: str | None, origin: str
) -> KentekenAnswer:
    plate, reason = check_input(kenteken, purpose)
    where = audit.Origin(address=origin)
    async with services.pool.acquire() as conn:
        if not await repo.on_shift(conn, principal.account_id):
            await audit.record(
                conn, principal=principal, action="lookup", object_type="kenteken", object_id=plate,
                result="denied", origin=where, reason=reason, details={"why": "not on shift"},
            )  # fmt: skip
            raise Forbidden("een kentekencontrole is voor een boa in dienst", field="kenteken")
    try:
        vehicle = await client(services).lookup(plate)
    except RdwUnavailable as exc:
        log.warning("RDW lookup of %s failed: %s", plate, exc)
        async with services.pool.acquire() as conn, conn.transaction():
            hit = await repo.cached(conn, plate)
            result = "cache" if hit is not None else "unavailable"
            await audit.record(
                conn, principal=principal, action="lookup", object_type="kenteken", object_id=plate,
                result=result, origin=where, reason=reason, details={"source": result, "rdw": str(exc)},
            )  # fmt: skip
        if hit is None:
            raise RdwDown(f"RDW niet bereikbaar en dit kenteken is niet eerder opgevraagd: {exc}") from None
        found, cached_vehicle, fetched_at = hit
        return KentekenAnswer(
            kenteken=plate, found=found, vehicle=cached_vehicle, source="cache", fetched_at=fetched_at,
            message=str(exc),
        )  # fmt: skip
    async with services.pool.acquire() as conn, conn.transaction():
        fetched_at = await repo.store(conn, plate, vehicle)
        await audit.record(
            conn, principal=principal, action="lookup", object_type="kenteken", object_id=plate,
            result="found" if vehicle is not None else "not_found", origin=where, reason=reason,
            details={"source": "rdw"},
        )  # fmt: skip
    return KentekenAnswer(
        kenteken=plate, found=vehicle is not None, vehicle=vehicle, source="rdw", fetched_at=fetched_at
    )
