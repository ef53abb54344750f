"""The test world with what an alarm banner needs: a named crew with phone and portofoon on unit A-01, the
unit's own numbers, and other units around it (available ones of gemeente A at known distances, a busy one, an
available one of gemeente B that a meldkamer of A must never be offered)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

import asyncpg

from backend.orgs import repository as orgs
from tests.integration.harness import PASSWORD
from tests.integration.world import OUDE_ZIJDE, World, build_world

CREW = [
    ("boa_jan", "Jan de Vries", "06-12345678", "TG-Noord 3"),
    ("boa_fatima", "Fatima el Amrani", "06-87654321", "TG-Noord 4"),
]
UNIT_PHONE, UNIT_PORTOFOON = "020-5550101", "Kanaal 12"
# (call sign, status, metres north of the Oude Kerk) of gemeente A
NEIGHBOURS = [
    ("A-02", "available", 300),
    ("A-03", "available", 120),
    ("A-04", "available", 900),
    ("A-05", "available", 2500),
    ("A-06", "busy", 50),
]
OTHER_ORG = ("B-02", "available", 80)
METRE_LAT = 1 / 111_195  # degrees of latitude per metre (mean earth radius)


@dataclass
class AlarmWorld:
    world: World
    neighbours: dict[str, int]  # call sign -> unit id
    other_org_unit: int


async def build_alarm_world(url: str) -> AlarmWorld:
    world = await build_world(url)
    conn = await asyncpg.connect(url)
    try:
        async with conn.transaction():
            crew = []
            for username, name, phone, portofoon in CREW:
                account = await orgs.create_account(
                    conn,
                    org_id=world.org_a,
                    username=username,
                    password=PASSWORD,
                    role="boa",
                    display_name=name,
                )
                await conn.execute(
                    "UPDATE accounts SET phone = $2, portofoon = $3 WHERE id = $1", account, phone, portofoon
                )
                crew.append(account)
            await conn.execute(
                "UPDATE shifts SET account_ids = $2 WHERE unit_id = $1 AND ended_at IS NULL",
                world.unit_a,
                crew,
            )
            await conn.execute(
                "UPDATE units SET phone = $2, portofoon = $3, status = 'available' WHERE id = $1",
                world.unit_a,
                UNIT_PHONE,
                UNIT_PORTOFOON,
            )
            neighbours = {}
            for call_sign, status, north in NEIGHBOURS:
                neighbours[call_sign] = await _placed_unit(conn, world.org_a, call_sign, status, north)
            other = await _placed_unit(conn, world.org_b, *OTHER_ORG)
    finally:
        await conn.close()
    return AlarmWorld(world=world, neighbours=neighbours, other_org_unit=other)


async def _placed_unit(
    conn: asyncpg.Connection, org_id: int, call_sign: str, status: str, north: float
) -> int:
    unit_id = await orgs.create_unit(conn, org_id=org_id, call_sign=call_sign)
    await conn.execute("UPDATE units SET status = $2 WHERE id = $1", unit_id, status)
    await conn.execute(
        "INSERT INTO unit_live (unit_id, at, lon, lat, accuracy_m) VALUES ($1, $2, $3, $4, 8)",
        unit_id,
        datetime.now(UTC),
        OUDE_ZIJDE[0],
        OUDE_ZIJDE[1] + north * METRE_LAT,
    )
    return unit_id
