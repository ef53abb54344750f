"""The team lead's APIs on the real database: Vandaag, registration filters and "seen", beats, the team."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import asyncpg
import pytest

from tests.conftest import new_database
from tests.integration.registrations_kit import (
    aggression,
    environment,
    fine,
    in_today,
    waarneming,
    world_template,
)
from tests.integration.world import OUDE_ZIJDE, World


@pytest.fixture(scope="module")
async def world_db(pg_server: str, template_db: str) -> tuple[str, World]:
    return await world_template(pg_server, template_db)


@pytest.fixture
async def db(pg_server: str, world_db: tuple[str, World]) -> tuple[str, World]:
    return await new_database(pg_server, world_db[0]), world_db[1]


async def sql(url: str, statement: str, *args: object) -> Any:
    conn = await asyncpg.connect(url)
    try:
        return await conn.fetchval(statement, *args)
    finally:
        await conn.close()


def ago(**delta: float) -> str:
    return (datetime.now(UTC) - timedelta(**delta)).isoformat()


async def test_today_shows_duty_meldingen_registrations_alarms_and_aangiftes(
    db: tuple[str, World], tmp_path: Path
) -> None:
    url, world = db
    boa = await sql(url, "SELECT id FROM accounts WHERE username = 'boa_a'")
    await sql(url, "UPDATE accounts SET display_name = 'S. de Vries' WHERE id = $1", boa)
    await sql(url, "UPDATE shifts SET account_ids = ARRAY[$1::int] WHERE unit_id = $2", boa, world.unit_a)
    await sql(
        url,
        "INSERT INTO incidents (org_id, category, priority, lon, lat, address) "
        "VALUES ($1, 'overlast', 1, $2, $3, 'Oudekerksplein 1')",
        world.org_a,
        *OUDE_ZIJDE,
    )
    await sql(url, "INSERT INTO alerts (org_id, unit_id, kind, at) VALUES ($1, $2, 'noodknop', now())",
              world.org_a, world.unit_a)  # fmt: skip
    async with environment((url, world), tmp_path) as env:
        for body in (
            waarneming(occurred_at=in_today(0.5, minutes=10).isoformat()),
            fine(occurred_at=in_today(0.5, minutes=10).isoformat()),
            aggression(occurred_at=in_today(0.5, minutes=10).isoformat()),
        ):
            r = await env["boa_a"].post("/api/registrations", json=body)
            assert r.status_code == 201, r.text
        # ten days ago, no aangifte: the deadline (two working days) has passed
        old = aggression(occurred_at=ago(days=10))
        assert (await env["boa_a"].post("/api/registrations", json=old)).status_code == 201
        reported = aggression(
            occurred_at=in_today(0.66, hours=2).isoformat(),
            report="aangifte",
            reported_at=in_today(0.33, hours=1).isoformat(),
        )
        assert (await env["boa_a"].post("/api/registrations", json=reported)).status_code == 201

        r = await env["lead_a"].get("/api/teamlead/today")
        assert r.status_code == 200, r.text
        today = r.json()
        duty = {d["call_sign"]: d for d in today["on_duty"]}
        assert duty["A-01"]["crew"] == ["S. de Vries"]
        assert duty["A-01"]["beats"] == ["Burgwallen-Oude Zijde"]
        assert [i["address"] for i in today["open_incidents"]] == ["Oudekerksplein 1"]
        assert today["registration_counts"] == {"waarneming": 1, "fine": 1, "aggression": 2}
        assert all(r["author"] == "S. de Vries" for r in today["registrations"])
        assert today["alert_counts"] == {"noodknop": 1}
        by_id = {a["registration_id"]: a for a in today["aangiftes"]}
        assert by_id[old["id"]]["urgency"] == "overdue"
        assert "VPT" in by_id[old["id"]]["reminder"]
        assert by_id[reported["id"]]["urgency"] == "no_vpt"  # reported, but without the VPT code
        assert today["aangiftes"][0]["registration_id"] == old["id"]  # the overdue one first

        for who in ("boa_a", "operator_mk"):
            assert (await env[who].get("/api/teamlead/today")).status_code == 403
        # another gemeente's lead sees none of it
        other = (await env["lead_b"].get("/api/teamlead/today")).json()
        assert other["registrations"] == [] and other["aangiftes"] == []


async def test_new_aggression_is_flagged_until_a_team_lead_has_seen_it(
    db: tuple[str, World], tmp_path: Path
) -> None:
    async with environment(db, tmp_path) as env:
        incident = aggression(occurred_at=in_today(0.5, minutes=10).isoformat())
        assert (await env["boa_a"].post("/api/registrations", json=incident)).status_code == 201
        listed = (await env["lead_a"].get("/api/registrations?kind=aggression")).json()
        assert [(r["id"], r["seen"]) for r in listed] == [(incident["id"], False)]
        assert (await env["boa_a"].post(f"/api/registrations/{incident['id']}/seen")).status_code == 403
        r = await env["lead_a"].post(f"/api/registrations/{incident['id']}/seen")
        assert r.status_code == 200, r.text
        assert r.json()["seen_by"] == env.accounts["lead_a"]
        listed = (await env["lead_a"].get("/api/registrations?kind=aggression")).json()
        assert listed[0]["seen"] is True
        assert (await env["lead_a"].get("/api/teamlead/today")).json()["registrations"][0]["new"] is False
        other = waarneming()
        await env["boa_a"].post("/api/registrations", json=other)
        r = await env["lead_a"].post(f"/api/registrations/{other['id']}/seen")
        assert r.status_code == 400 and r.json()["field"] == "registration_id"


async def test_list_filters_by_unit_and_refuses_unknown_kind_status_and_backwards_period(
    db: tuple[str, World], tmp_path: Path
) -> None:
    url, world = db
    async with environment(db, tmp_path) as env:
        mine = waarneming()
        await env["boa_a"].post("/api/registrations", json=mine)
        lead = env["lead_a"]
        assert [r["id"] for r in (await lead.get(f"/api/registrations?unit_id={world.unit_a}")).json()] == [
            mine["id"]
        ]
        assert (await lead.get(f"/api/registrations?unit_id={world.unit_b}")).json() == []
        for query, field in (
            ("kind=boete", "kind"),
            ("status=archived", "status"),
            ("since=2026-02-01T00:00:00Z&until=2026-01-01T00:00:00Z", "until"),
            ("unit_id=0", "unit_id"),
        ):
            r = await lead.get(f"/api/registrations?{query}")
            assert r.status_code == 400 and r.json()["field"] == field, (query, r.text)


async def test_beats_rename_retire_and_default_beats(db: tuple[str, World], tmp_path: Path) -> None:
    url, world = db
    oude = world.beats_a["Burgwallen-Oude Zijde"]
    nieuwe = world.beats_a["Burgwallen-Nieuwe Zijde"]
    async with environment(db, tmp_path) as env:
        lead = env["lead_a"]
        r = await lead.patch(f"/api/beats/{nieuwe}", json={"name": "  Nieuwmarkt e.o. "})
        assert r.status_code == 200 and r.json()["properties"]["name"] == "Nieuwmarkt e.o."
        r = await lead.patch(f"/api/team/units/{world.unit_a}", json={"assigned_beat_ids": [nieuwe, oude]})
        assert r.status_code == 200 and r.json()["assigned_beat_ids"] == sorted([nieuwe, oude])
        r = await lead.patch(f"/api/beats/{oude}", json={"retired": True})
        assert r.status_code == 200 and r.json()["properties"]["retired_at"]
        in_use = (await lead.get("/api/beats")).json()["features"]
        assert oude not in [f["id"] for f in in_use]
        everything = (await lead.get("/api/beats?retired=true")).json()["features"]
        assert oude in [f["id"] for f in everything]
        assert (await lead.get(f"/api/beats/{oude}")).status_code == 200  # history keeps it
        # no longer a default beat, and not to be assigned again
        assert await sql(url, "SELECT assigned_beat_ids FROM units WHERE id = $1", world.unit_a) == [nieuwe]
        r = await lead.patch(f"/api/team/units/{world.unit_a}", json={"assigned_beat_ids": [oude]})
        assert r.status_code == 400 and r.json()["field"] == "beat_ids"
        # a registration there no longer lands in it (the geofence does not know it)
        reg = waarneming()
        await env["boa_a"].post("/api/registrations", json=reg)
        got = (await env["boa_a"].get(f"/api/registrations/{reg['id']}")).json()["registration"]
        assert oude not in got["beat_ids"]
        for body, field in (({}, "name"), ({"name": ""}, "name"), ({"colour": "red"}, "colour")):
            r = await lead.patch(f"/api/beats/{nieuwe}", json=body)
            assert r.status_code == 400 and r.json()["field"] == field, (body, r.text)
        assert (await env["boa_a"].patch(f"/api/beats/{nieuwe}", json={"name": "x"})).status_code == 403
        other_org_beat = await sql(url, "SELECT id FROM beats WHERE org_id = $1", world.org_b)
        assert (await lead.patch(f"/api/beats/{other_org_beat}", json={"name": "x"})).status_code == 404
        r = await lead.patch(f"/api/beats/{oude}", json={"retired": False})
        assert "retired_at" not in r.json()["properties"]


async def test_team_lists_and_edits_boas_and_units_with_validation(
    db: tuple[str, World], tmp_path: Path
) -> None:
    url, world = db
    async with environment(db, tmp_path) as env:
        lead = env["lead_a"]
        team = (await lead.get("/api/team")).json()
        names = [m["username"] for m in team["members"]]
        assert "boa_a" in names and "lead_a" not in names and "boa_b" not in names
        boa = env.accounts["boa_a"]
        r = await lead.patch(
            f"/api/team/members/{boa}",
            json={
                "domains": [1, 2],
                "qualifications": ["geweldsmiddelen", "ANPR"],
                "contract_hours": 36.5,
                "experienced": True,
                "phone": "06 - 12345678",
                "portofoon": "2380017",
            },
        )
        assert r.status_code == 200, r.text
        assert r.json() | {"id": 0} == r.json() | {
            "id": 0,
            "domains": [1, 2],
            "qualifications": ["anpr", "geweldsmiddelen"],
            "contract_hours": 36.5,
            "experienced": True,
            "phone": "06 - 12345678",
            "portofoon": "2380017",
        }
        r = await lead.patch(f"/api/team/members/{boa}", json={"phone": ""})
        assert r.json()["phone"] is None and r.json()["contract_hours"] == 36.5  # others unchanged
        for body, field in (
            ({"phone": "12"}, "phone"),
            ({"phone": "06-1234abcd"}, "phone"),
            ({"contract_hours": 61}, "contract_hours"),
            ({"contract_hours": -1}, "contract_hours"),
            ({"domains": [1, 2, 3]}, "domains"),
            ({"domains": [7]}, "domains"),
            ({"qualifications": ["geen spaties"]}, "qualifications"),
            ({"nickname": "x"}, "nickname"),
        ):
            r = await lead.patch(f"/api/team/members/{boa}", json=body)
            assert r.status_code == 400 and r.json()["field"] == field, (body, r.text)
        lead_id = env.accounts["lead_a"]
        assert (await lead.patch(f"/api/team/members/{lead_id}", json={"phone": None})).status_code == 404
        assert (await lead.patch(f"/api/team/members/{env.accounts['boa_b']}", json={})).status_code == 404
        r = await lead.patch(
            f"/api/team/units/{world.unit_a}",
            json={"phone": "020-5551234", "portofoon": "Gespreksgroep HH 1"},
        )
        assert r.status_code == 200 and r.json()["portofoon"] == "Gespreksgroep HH 1"
        assert (await lead.patch(f"/api/team/units/{world.unit_b}", json={"phone": None})).status_code == 404
        for who in ("boa_a", "operator_mk"):
            assert (await env[who].get("/api/team")).status_code == 403
