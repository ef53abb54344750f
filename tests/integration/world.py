"""A small world for integration tests: two gemeenten, a meldkamer linked to the first, accounts and units."""

from __future__ import annotations

from dataclasses import dataclass

from backend.db.pool import create_pool
from backend.demo.seed import buurten_geojson
from backend.geofencing.importer import parse_beats
from backend.geofencing.repository import upsert_beats
from backend.orgs import repository as orgs
from backend.shifts import repository as shifts
from tests.integration.harness import PASSWORD, tablet_secret

# Two real Amsterdam buurten (CBS 2014): Burgwallen-Oude Zijde and Burgwallen-Nieuwe Zijde.
OUDE_ZIJDE = (4.8970, 52.3745)  # near the Oude Kerk
NIEUWE_ZIJDE = (4.8925, 52.3765)
FAR_AWAY = (4.9600, 52.3300)  # Amsterdam-Zuidoost, outside both


@dataclass
class World:
    org_a: int
    org_b: int
    meldkamer: int
    beats_a: dict[str, int]  # buurtcode -> beat id
    unit_a: int
    unit_b: int
    tablet_a: int
    tablet_b: int
    tracker_a: int


async def build_world(url: str) -> World:
    pool = await create_pool(url, min_size=1, max_size=1)
    try:
        async with pool.acquire() as conn, conn.transaction():
            a = await orgs.create_org(conn, "gemeente-a", "Gemeente A")
            b = await orgs.create_org(conn, "gemeente-b", "Gemeente B")
            mk = await orgs.create_org(conn, "meldkamer-a", "Meldkamer A", "meldkamer")
            await orgs.link_meldkamer(conn, mk, a)
            features = [f for f in parse_beats(buurten_geojson()) if f.name.startswith("Burgwallen")]
            ids = await upsert_beats(conn, a, features)
            beats_a = {f.name: i for f, i in zip(features, ids, strict=True)}
            await upsert_beats(conn, b, features[:1])
            for name, role, org in [
                ("boa_a", "boa", a),
                ("boa_b", "boa", b),
                ("lead_a", "teamlead", a),
                ("lead_b", "teamlead", b),
                ("admin_a", "admin", a),
                ("operator_mk", "operator", mk),
            ]:
                await orgs.create_account(conn, org_id=org, username=name, password=PASSWORD, role=role)
            oude = beats_a["Burgwallen-Oude Zijde"]
            unit_a = await orgs.create_unit(conn, org_id=a, call_sign="A-01", assigned_beat_ids=[oude])
            unit_b = await orgs.create_unit(conn, org_id=b, call_sign="B-01")
            tablet_a = await orgs.create_device(conn, org_id=a, name="tablet-a")
            tablet_b = await orgs.create_device(conn, org_id=b, name="tablet-b")
            for tablet in (tablet_a, tablet_b):  # enrolled: a test logs in as it with tablet_secret(id)
                await orgs.set_device_secret(conn, tablet, tablet_secret(tablet))
            tracker_a = await orgs.create_device(
                conn, org_id=a, name="tracker-a", kind="tracker", tracker_key="123456", unit_id=unit_a
            )
            await shifts.start_shift(
                conn, unit_id=unit_a, device_id=tablet_a, account_ids=[], beat_ids=[oude]
            )
            await shifts.start_shift(conn, unit_id=unit_b, device_id=tablet_b, account_ids=[], beat_ids=[])
            # the tracker reports for unit A too (start_shift unlinked other tablets, not trackers)
        return World(
            org_a=a,
            org_b=b,
            meldkamer=mk,
            beats_a=beats_a,
            unit_a=unit_a,
            unit_b=unit_b,
            tablet_a=tablet_a,
            tablet_b=tablet_b,
            tracker_a=tracker_a,
        )
    finally:
        await pool.close()
