"""Helpers for the rooster tests: a team of named boa's, a demand template and a plan made through the API."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

from tests.integration.registrations_kit import Env

# Twelve boa's with Dutch names (one long), inserted before the server starts (`environment(extra_sql)`).
NAMES = [
    "A. Jansen", "B. de Boer", "C. Visser", "D. Bakker", "E. Smit", "F. Meijer",
    "G. de Vries", "H. van Dijk", "I. Mulder", "J. de Groot", "K. Bos",
    "Mohammed El Amrani-van der Heijden",
]  # fmt: skip
MONDAY = date(2027, 3, 1)  # a Monday: plans in the tests start here


def team_sql(org_id: int, names: list[str] = NAMES) -> str:
    """SQL that adds the named boa's to a gemeente (usernames rboa0, rboa1, ...), half of them experienced."""
    values = ",\n".join(
        f"({org_id}, 'rboa{i}', '{name}', 'x', 'boa', {'true' if i % 2 == 0 else 'false'}, "
        f"'{{{'anpr' if i % 3 == 0 else 'bhv'}}}', {[36, 32, 24][i % 3]})"
        for i, name in enumerate(names)
    )
    return f"""INSERT INTO accounts (org_id, username, display_name, password_hash, role, experienced,
                                     qualifications, contract_hours) VALUES {values};"""


def ok(response: Any, status: int = 200) -> Any:
    assert response.status_code == status, response.text
    return response.json()


async def shift_types(env: Env, user: str = "lead_a") -> dict[str, int]:
    types = ok(await env[user].get("/api/rooster/shift-types"))
    return {t["code"]: t["id"] for t in types}


async def weekday_template(env: Env, name: str = "Weekdag", duos: int = 1) -> dict[str, Any]:
    """Every day a dag and a laat duo in each of the world's two beats (a Friday night in Oude Zijde too)."""
    types = await shift_types(env)
    beats = sorted(env.world.beats_a.values())
    rows = [
        {"weekday": wd, "shift_type_id": types[code], "beat_id": beat, "duos": duos}
        for wd in range(7)
        for code in ("dag", "laat")
        for beat in beats
    ]
    rows.append({"weekday": 4, "shift_type_id": types["nacht"], "beat_id": beats[0], "duos": 1})
    return ok(await env["lead_a"].post("/api/rooster/templates", json={"name": name, "rows": rows}), 201)


async def new_plan(
    env: Env, *, days: int = 28, start: date = MONDAY, template: bool = True
) -> dict[str, Any]:
    body: dict[str, Any] = {"name": f"Maart {start.year}", "start_day": start.isoformat(), "days": days}
    if template:
        body["template_id"] = (await weekday_template(env))["id"]
    return ok(await env["lead_a"].post("/api/rooster/plans", json=body), 201)


def day(offset: int, start: date = MONDAY) -> str:
    return (start + timedelta(days=offset)).isoformat()
