"""The benchmark's world: one gemeente with the Amsterdam beats, a meldkamer, N units on shift with a tablet.

Names carry a run suffix, so a benchmark against a configured database (SCHAKEL_DATABASE_URL) can run more
than once without colliding with earlier runs or with the demo.
"""

from __future__ import annotations

import msgspec
import shapely.geometry

from backend.auth.tokens import Principal, issue_access_token
from backend.db.migrate import migrate
from backend.db.pool import create_pool
from backend.demo.seed import buurten_geojson
from backend.geofencing.importer import parse_beats
from backend.geofencing.repository import upsert_beats
from backend.orgs import repository as orgs
from backend.shifts import repository as shifts

PASSWORD = "schakel-bench-password"
OPERATOR_ACCOUNTS_MAX = 5  # operator sockets share these accounts: a login costs an Argon2 hash


class BenchDevice(msgspec.Struct, frozen=True, kw_only=True):
    device_id: int
    unit_id: int
    lon: float  # a point inside the unit's assigned beat
    lat: float


class BenchWorld(msgspec.Struct, frozen=True, kw_only=True):
    org_id: int
    meldkamer_id: int
    boa_account_id: int
    boa_username: str
    operator_usernames: list[str]
    beats: int
    devices: list[BenchDevice]

    def device_token(self, device: BenchDevice, secret_key: str, minutes: int = 60) -> str:
        """What `POST /api/auth/login` with this device id would hand the tablet (without N Argon2 checks)."""
        principal = Principal(
            account_id=self.boa_account_id,
            org_id=self.org_id,
            role="boa",
            visible_org_ids=frozenset({self.org_id}),
            device_id=device.device_id,
            username=self.boa_username,
        )
        return issue_access_token(principal, secret_key, minutes)


async def build_world(url: str, *, devices: int, operators: int, suffix: str) -> BenchWorld:
    """Migrate, then create everything in one transaction."""
    features = parse_beats(buurten_geojson())
    inside = [shapely.geometry.shape(f.geometry).representative_point() for f in features]
    pool = await create_pool(url, min_size=1, max_size=1)
    try:
        async with pool.acquire() as conn:
            await migrate(conn)
            async with conn.transaction():
                org_id = await orgs.create_org(conn, f"bench-{suffix}", f"Benchmark gemeente {suffix}")
                mk_id = await orgs.create_org(
                    conn, f"bench-mk-{suffix}", f"Benchmark meldkamer {suffix}", "meldkamer"
                )
                await orgs.link_meldkamer(conn, mk_id, org_id)
                beat_ids = await upsert_beats(conn, org_id, features)
                boa_username = f"bench-boa-{suffix}"
                boa_id = await orgs.create_account(
                    conn, org_id=org_id, username=boa_username, password=PASSWORD, role="boa"
                )
                operator_usernames = [
                    f"bench-op-{suffix}-{i}" for i in range(min(operators, OPERATOR_ACCOUNTS_MAX))
                ]
                for username in operator_usernames:
                    await orgs.create_account(
                        conn, org_id=mk_id, username=username, password=PASSWORD, role="operator"
                    )
                made: list[BenchDevice] = []
                for i in range(devices):
                    k = (i * 7) % len(beat_ids)
                    unit_id = await orgs.create_unit(
                        conn, org_id=org_id, call_sign=f"BENCH-{i:04d}", assigned_beat_ids=[beat_ids[k]]
                    )
                    device_id = await orgs.create_device(
                        conn, org_id=org_id, name=f"bench-tablet-{suffix}-{i:04d}"
                    )
                    await shifts.start_shift(
                        conn,
                        unit_id=unit_id,
                        device_id=device_id,
                        account_ids=[boa_id],
                        beat_ids=[beat_ids[k]],
                    )
                    made.append(
                        BenchDevice(device_id=device_id, unit_id=unit_id, lon=inside[k].x, lat=inside[k].y)
                    )
        return BenchWorld(
            org_id=org_id,
            meldkamer_id=mk_id,
            boa_account_id=boa_id,
            boa_username=boa_username,
            operator_usernames=operator_usernames,
            beats=len(beat_ids),
            devices=made,
        )
    finally:
        await pool.close()
