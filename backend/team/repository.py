"""The team in PostgreSQL: a gemeente's boa's with their contact details, and its units' (caller owns tx)."""

from __future__ import annotations

from typing import Any

import msgspec

from backend.db.pool import Conn


class Member(msgspec.Struct, frozen=True, kw_only=True):
    id: int
    username: str
    display_name: str
    role: str
    active: bool
    domains: list[int]
    qualifications: list[str]
    contract_hours: float | None
    experienced: bool
    phone: str | None
    portofoon: str | None


class UnitContact(msgspec.Struct, frozen=True, kw_only=True):
    id: int
    call_sign: str
    kind: str
    phone: str | None
    portofoon: str | None
    assigned_beat_ids: list[int]


_MEMBER = """id, username, display_name, role, active, domains, qualifications, contract_hours::float8
             AS contract_hours, experienced, phone, portofoon"""


def _member(row: Any) -> Member:
    return Member(
        **{**dict(row), "domains": list(row["domains"]), "qualifications": list(row["qualifications"])}
    )


async def members(conn: Conn, org_id: int) -> list[Member]:
    """The boa's of one organisation (also inactive ones, marked), by name."""
    rows = await conn.fetch(
        f"""SELECT {_MEMBER} FROM accounts WHERE org_id = $1 AND role = 'boa'
            ORDER BY NOT active, display_name, username""",
        org_id,
    )
    return [_member(r) for r in rows]


async def member(conn: Conn, org_id: int, account_id: int) -> Member | None:
    row = await conn.fetchrow(
        f"SELECT {_MEMBER} FROM accounts WHERE id = $1 AND org_id = $2 AND role = 'boa'", account_id, org_id
    )
    return None if row is None else _member(row)


async def update_member(conn: Conn, account_id: int, changes: dict[str, Any]) -> None:
    """Set the given columns (only names from ``Member``'s editable fields reach here)."""
    columns = [c for c in ("domains", "qualifications", "contract_hours", "experienced", "phone", "portofoon")
               if c in changes]  # fmt: skip
    if not columns:
        return
    assignments = ", ".join(f"{c} = ${i + 2}" for i, c in enumerate(columns))
    await conn.execute(
        f"UPDATE accounts SET {assignments} WHERE id = $1", account_id, *(changes[c] for c in columns)
    )


_UNIT = "id, call_sign, kind, phone, portofoon, assigned_beat_ids"


def _unit(row: Any) -> UnitContact:
    return UnitContact(**{**dict(row), "assigned_beat_ids": list(row["assigned_beat_ids"])})


async def units(conn: Conn, org_id: int) -> list[UnitContact]:
    rows = await conn.fetch(
        f"SELECT {_UNIT} FROM units WHERE org_id = $1 AND active ORDER BY call_sign", org_id
    )
    return [_unit(r) for r in rows]


async def unit(conn: Conn, org_id: int, unit_id: int) -> UnitContact | None:
    row = await conn.fetchrow(
        f"SELECT {_UNIT} FROM units WHERE id = $1 AND org_id = $2 AND active", unit_id, org_id
    )
    return None if row is None else _unit(row)


async def update_unit(conn: Conn, unit_id: int, changes: dict[str, Any]) -> None:
    columns = [c for c in ("phone", "portofoon", "assigned_beat_ids") if c in changes]
    if not columns:
        return
    assignments = ", ".join(f"{c} = ${i + 2}" for i, c in enumerate(columns))
    await conn.execute(
        f"UPDATE units SET {assignments} WHERE id = $1", unit_id, *(changes[c] for c in columns)
    )
