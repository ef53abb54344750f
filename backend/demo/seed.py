"""The demo: gemeente Amsterdam with its 97 CBS buurten as beats, a meldkamer, accounts, units and tablets,
and three months of history (``backend/demo/history.py``)."""

from __future__ import annotations

from importlib import resources

import msgspec

from backend.db.pool import Conn, create_pool
from backend.demo.history import History, seed_history
from backend.demo.rooster import RoosterSeed, seed_rooster
from backend.geofencing.importer import parse_beats
from backend.geofencing.repository import upsert_beats
from backend.orgs import repository as orgs

DEMO_PASSWORD = "schakel-demo"
# Every demo tablet is enrolled with this secret (a real one gets its own, shown once: POST /api/devices);
# the tablet app's --simulate and the simulator log in with it.
DEMO_DEVICE_SECRET = "schakel-demo-tablet"
DEMO_ORG = "amsterdam"
DEMO_MELDKAMER = "gmk-amsterdam-amstelland"
DEMO_UNITS = 12
# the unit for the tablet app beside the demo: never simulated, so the boa `boa` finds it free (HH-01 … HH-12
# are on duty with the simulated duos)
TABLET_UNIT = "HH-13"
TABLET_LOGIN = "boa"
BUURTEN_FILE = "amsterdam_cbs_buurten_2014_wgs84.geojson"


class Demo(msgspec.Struct, frozen=True, kw_only=True):
    org_id: int
    meldkamer_id: int
    beats: int
    units: int
    logins: dict[str, str]  # username -> role
    history: History = History()  # what the three months of history added (nothing on a second run)
    rooster: RoosterSeed = RoosterSeed()  # the published rooster of the current 4 weeks (once)
    tablet_id: int = 0  # the device number of "demo-tablet", for the tablet app's login

    def describe(self) -> str:
        lines = [
            f"demo: gemeente {DEMO_ORG} with {self.beats} beats and {self.units} units; logins "
            f"(password {DEMO_PASSWORD!r}):"
        ]
        lines += [f"  {name:<10} {role}" for name, role in self.logins.items()]
        lines.append(f"  demo tablets are enrolled with the secret {DEMO_DEVICE_SECRET!r}")
        lines.append(
            f"  the tablet app: user {TABLET_LOGIN}, password {DEMO_PASSWORD}, tablet number "
            f"{self.tablet_id}, unit {TABLET_UNIT} (free: not simulated)"
        )
        lines.append(self.history.describe())
        lines.append(self.rooster.describe())
        return "\n".join(lines)


def buurten_geojson() -> bytes:
    return resources.files("backend.demo").joinpath("data", BUURTEN_FILE).read_bytes()


DEMO_NAMES = (
    "Jansen",
    "de Vries",
    "Bakker",
    "Visser",
    "Smit",
    "Meijer",
    "de Boer",
    "Mulder",
    "de Groot",
    "Bos",
    "Vos",
    "Peters",
    "Hendriks",
    "van Leeuwen",
    "Dekker",
    "Brouwer",
    "de Wit",
    "Dijkstra",
    "Smits",
    "de Graaf",
    "van der Meer",
    "Kok",
    "Jacobs",
    "de Haan",
)
DEMO_INITIALS = "ASMEJKLPRTNHWBDFGIOCVYZU"


def demo_name(member: int) -> str:
    """A plausible name for demo boa `member` (1-based), so banners and rosters read like the real thing."""
    i = (member - 1) % len(DEMO_NAMES)
    return f"{DEMO_INITIALS[i]}. {DEMO_NAMES[i]}"


async def _contact_details(conn: Conn, org_id: int) -> None:
    """Phone, portofoon, qualifications and contract hours of the demo boa's and units, where unset."""
    await conn.execute(
        """UPDATE accounts SET
               phone = coalesce(phone, '06-' || lpad((12000000 + id * 7919 % 8000000)::text, 8, '0')),
               portofoon = coalesce(portofoon, '2380' || lpad(id::text, 3, '0')),  -- a C2000 ISSI
               qualifications = CASE WHEN qualifications = '{}'
                   THEN (CASE WHEN id % 3 = 0 THEN ARRAY['geweldsmiddelen', 'bhv']
                              WHEN id % 3 = 1 THEN ARRAY['geweldsmiddelen']
                              ELSE ARRAY['bhv', 'anpr'] END)
                   ELSE qualifications END,
               contract_hours = coalesce(contract_hours, CASE WHEN id % 4 = 0 THEN 32 ELSE 36 END),
               experienced = experienced OR id % 2 = 1
           WHERE org_id = $1 AND role = 'boa'""",
        org_id,
    )
    await conn.execute(
        """UPDATE units SET
               phone = coalesce(phone, '020-55' || lpad((id * 37 % 100000)::text, 5, '0')),
               portofoon = coalesce(portofoon, 'Gespreksgroep HH ' || call_sign)
           WHERE org_id = $1""",
        org_id,
    )


async def seed_demo(url: str) -> Demo:
    """Idempotent: a second run leaves what is there and adds what is missing."""
    pool = await create_pool(url, min_size=1, max_size=2)
    try:
        async with pool.acquire() as conn, conn.transaction():
            org_id = await orgs.create_org(conn, DEMO_ORG, "Gemeente Amsterdam")
            mk_id = await orgs.create_org(conn, DEMO_MELDKAMER, "Meldkamer Amsterdam-Amstelland", "meldkamer")
            await orgs.link_meldkamer(conn, mk_id, org_id)
            beat_ids = await upsert_beats(conn, org_id, parse_beats(buurten_geojson()))
            logins = {
                "boa": ("boa", org_id),
                "teamlead": ("teamlead", org_id),
                "admin": ("admin", org_id),
                "operator": ("operator", mk_id),
                "bridge": ("service", mk_id),
            }
            existing = {r["username"] for r in await conn.fetch("SELECT username FROM accounts")}
            for username, (role, account_org) in logins.items():
                if username not in existing:
                    await orgs.create_account(
                        conn,
                        org_id=account_org,
                        username=username,
                        password=DEMO_PASSWORD,
                        role=role,
                        display_name=f"Demo {role}",
                    )
            units = {u.call_sign: u.id for u in await orgs.list_units(conn, [org_id])}
            devices = {d.name for d in await orgs.list_devices(conn, [org_id])}
            for i in range(1, DEMO_UNITS + 1):
                call_sign = f"HH-{i:02d}"
                if call_sign not in units:
                    beat = beat_ids[(i * 7) % len(beat_ids)]
                    units[call_sign] = await orgs.create_unit(
                        conn, org_id=org_id, call_sign=call_sign, assigned_beat_ids=[beat]
                    )
                for member in (2 * i - 1, 2 * i):
                    username = f"boa{member:02d}"
                    if username not in existing:
                        await orgs.create_account(
                            conn,
                            org_id=org_id,
                            username=username,
                            password=DEMO_PASSWORD,
                            role="boa",
                            display_name=demo_name(member),
                        )
                name = f"demo-tablet-{i:02d}"
                if name not in devices:
                    await orgs.create_device(conn, org_id=org_id, name=name)
            if TABLET_UNIT not in units:
                units[TABLET_UNIT] = await orgs.create_unit(
                    conn, org_id=org_id, call_sign=TABLET_UNIT, assigned_beat_ids=[beat_ids[0]]
                )
            await _contact_details(conn, org_id)
            if "demo-tablet" not in devices:
                await orgs.create_device(conn, org_id=org_id, name="demo-tablet")
            tablet_id = 0
            for device in await orgs.list_devices(conn, [org_id]):
                if device.kind == "tablet" and device.name.startswith("demo-tablet"):
                    await orgs.set_device_secret(conn, device.id, DEMO_DEVICE_SECRET)
                if device.name == "demo-tablet":
                    tablet_id = device.id
            if "demo-tracker" not in devices:
                await orgs.create_device(
                    conn,
                    org_id=org_id,
                    name="demo-tracker",
                    kind="tracker",
                    tracker_key="demo-traccar",
                    unit_id=units["HH-01"],
                )
        async with pool.acquire() as conn, conn.transaction():
            history = await seed_history(conn, org_id)
        async with pool.acquire() as conn, conn.transaction():
            rooster = await seed_rooster(conn, org_id)
        return Demo(
            history=history,
            rooster=rooster,
            org_id=org_id,
            meldkamer_id=mk_id,
            beats=len(beat_ids),
            units=len(units),
            logins={k: v[0] for k, v in logins.items()},
            tablet_id=tablet_id,
        )
    finally:
        await pool.close()
