"""Security events in the audit log: logins and their failures, refresh, logout, password changes and resets,
device revocations (role and organisation changes are audited by a database trigger, migration 0011).

`action` is what happened, `result` how it ended: ``ok``, ``failed`` (wrong password, unknown token),
``throttled`` (429), ``refused`` (e.g. a revoked device), ``reuse`` (a rotated refresh token came back).
"""

from __future__ import annotations

from typing import Any

from backend.auth.tokens import Principal
from backend.db.pool import Conn
from backend.privacy import audit


async def record(
    conn: Conn,
    *,
    action: str,
    result: str = "ok",
    account_id: int | None = None,
    org_id: int | None = None,
    actor: Principal | None = None,
    address: str = "",
    device_id: int | None = None,
    object_type: str = "account",
    object_id: str | None = None,
    details: dict[str, Any] | None = None,
) -> None:
    """One entry; the actor is `actor`, else the account itself (a login is the account acting)."""
    if actor is None and account_id is not None:
        actor = Principal(account_id=account_id, org_id=org_id or 0, role="", visible_org_ids=frozenset())
    await audit.record(
        conn,
        principal=actor,
        action=action,
        object_type=object_type,
        object_id=object_id
        if object_id is not None
        else (str(account_id) if account_id is not None else None),
        result=result,
        origin=audit.Origin(address=address, device_id=device_id),
        org_id=org_id,
        details=details,
    )
