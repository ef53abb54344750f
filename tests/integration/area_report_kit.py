"""One month of known activity in gemeente A, for the area report's API, export and browser tests.

Registrations (a warning among them) go through the real API as boa_a; meldingen with their task timeline,
alarms and a shift with its positions are written in SQL with exact times, so every expected figure is known.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime, timedelta

import asyncpg

from backend.registrations.validation import LOCAL
from tests.integration.registrations_kit import Env, aggression, fine, waarneming
from tests.integration.world import NIEUWE_ZIJDE, OUDE_ZIJDE

OZ_NAME = "Burgwallen-Oude Zijde"
NZ_NAME = "Burgwallen-Nieuwe Zijde"


@dataclass
class Month:
    month: str  # YYYY-MM: last month (registrations may be up to 60 days old)
    base: datetime  # the 15th at 10:00 local


def last_month(now: datetime) -> Month:
    first = now.astimezone(LOCAL).replace(day=1, hour=0, minute=0, second=0, microsecond=0)
    prev = (first - timedelta(days=1)).replace(day=15, hour=10)
    return Month(month=prev.strftime("%Y-%m"), base=prev)


def _at(base: datetime, minutes: float) -> str:
    return (base + timedelta(minutes=minutes)).isoformat()


def _loc(point: tuple[float, float]) -> dict[str, float]:
    return {"lon": point[0], "lat": point[1]}


async def create_activity(env: Env, url: str, m: Month) -> None:
    """Oude Zijde: 2 fines (a third voided), 1 warning, 1 aggression incident, 3 meldingen prio 1 + 1 prio 3,
    2 assistance requests, 2.2 street hours; Nieuwe Zijde: 1 fine, 1 melding prio 2, 1.0 street hours."""
    boa = env["boa_a"]
    made = []
    for body in (
        fine(occurred_at=_at(m.base, 0), location=_loc(OUDE_ZIJDE)),
        fine(occurred_at=_at(m.base, 5), location=_loc(OUDE_ZIJDE)),
        fine(occurred_at=_at(m.base, 6), location=_loc(OUDE_ZIJDE)),  # voided below: not counted
        fine(occurred_at=_at(m.base, 10), location=_loc(NIEUWE_ZIJDE)),
        aggression(occurred_at=_at(m.base, 20), location=_loc(OUDE_ZIJDE)),
        waarneming(occurred_at=_at(m.base, 30), location=_loc(OUDE_ZIJDE), warning_feitcode="BF 185"),
        waarneming(occurred_at=_at(m.base, 31), location=_loc(OUDE_ZIJDE)),  # a plain waarneming: not counted
    ):
        r = await boa.post("/api/registrations", json=body)
        assert r.status_code == 201, r.text
        made.append(body["id"])
    conn = await asyncpg.connect(url)
    try:
        await conn.execute(
            "UPDATE registrations SET state = 'voided', void_reason = 'test' WHERE id = $1", made[2]
        )
        org, unit = env.world.org_a, env.world.unit_a
        oz = env.world.beats_a[OZ_NAME]
        nz = env.world.beats_a[NZ_NAME]
        # meldingen: (beat, priority, category, minutes to on scene or None)
        incidents = [
            (oz, 1, "Afval", 5.0),
            (oz, 1, "Afval", 7.0),
            (oz, 1, "Overlast jeugd", 15.0),
            (oz, 3, "Overlast jeugd", None),
            (nz, 2, "Afval", 10.0),
        ]
        for n, (beat, priority, category, on_scene) in enumerate(incidents):
            created = m.base + timedelta(hours=1, minutes=n * 20)
            point = OUDE_ZIJDE if beat == oz else NIEUWE_ZIJDE
            incident_id = await conn.fetchval(
                """INSERT INTO incidents (org_id, category, priority, lon, lat, beat_id, created_at, state)
                   VALUES ($1, $2, $3, $4, $5, $6, $7, 'closed') RETURNING id""",
                org, category, priority, point[0], point[1], beat, created,
            )  # fmt: skip
            events = [("created", "melding aangemaakt", created)]
            events.append(
                ("task_state", "A-01: aanrijdend — bijna ter plaatse", created + timedelta(minutes=1))
            )
            if on_scene is not None:
                arrived = created + timedelta(minutes=on_scene)
                events.append(("task_state", "A-01: ter plaatse", arrived))
                events.append(
                    ("task_state", "A-02: ter plaatse", arrived + timedelta(minutes=3))
                )  # second unit
            await conn.executemany(
                "INSERT INTO incident_events (incident_id, kind, text, at) VALUES ($1, $2, $3, $4)",
                [(incident_id, kind, text, at) for kind, text, at in events],
            )
        for n, (kind, point) in enumerate(
            (("assistance", OUDE_ZIJDE), ("assistance", OUDE_ZIJDE), ("noodknop", OUDE_ZIJDE))
        ):
            await conn.execute(
                """INSERT INTO alerts (org_id, unit_id, kind, at, payload, acknowledged_at)
                   VALUES ($1, $2, $3, $4, $5::text::jsonb, $4)""",
                org, unit, kind, m.base + timedelta(hours=3, minutes=n), json.dumps(_loc(point)),
            )  # fmt: skip
        # a duo's shift 10:00–12:00: Oude Zijde every minute for an hour, 20 minutes without a fix (counts 5),
        # then Nieuwe Zijde every minute for half an hour; a position after the shift does not count
        boas = [env.accounts["boa_a"], env.accounts["boa_a2"]]
        start = m.base
        await conn.execute(
            """INSERT INTO shifts (unit_id, account_ids, started_at, ended_at) VALUES ($1, $2, $3, $4)""",
            unit, boas, start, start + timedelta(hours=2),
        )  # fmt: skip
        samples = [(start + timedelta(minutes=i), OUDE_ZIJDE) for i in range(61)]
        samples += [(start + timedelta(minutes=80 + i), NIEUWE_ZIJDE) for i in range(31)]
        samples += [(start + timedelta(minutes=150), OUDE_ZIJDE)]
        await conn.executemany(
            "INSERT INTO positions (device_id, unit_id, seq, at, lon, lat) VALUES ($1, $2, $3, $4, $5, $6)",
            [(env.world.tablet_a, unit, i, at, p[0], p[1]) for i, (at, p) in enumerate(samples)],
        )
    finally:
        await conn.close()


EXPECTED_OZ = {
    "meldingen_total": 4,
    "meldingen": {"Afval": 2, "Overlast jeugd": 2},
    "warnings": 1,
    "pv": 2,
    "bsb": 0,
    "mulder": 0,
    "aggression": 1,
    "police_assists": 2,
    "street_hours": 2.2,  # (60 min + 5 min) x 2 boa's
}
EXPECTED_NZ = {
    "meldingen_total": 1,
    "warnings": 0,
    "pv": 1,
    "aggression": 0,
    "police_assists": 0,
    "street_hours": 1.0,
}
EXPECTED_TOTAL = {
    "meldingen_total": 5,
    "warnings": 1,
    "pv": 3,
    "aggression": 1,
    "police_assists": 2,
    "street_hours": 3.2,
}
# prio 1 in Oude Zijde: 5, 7 and 15 minutes to the first unit on scene
EXPECTED_P1 = {"count": 3, "median_s": 420.0, "p90_s": 900.0}
