"""The published rooster over HTTP: a boa's own shifts, and planned against actual for the meldkamer."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import asyncpg
import httpx

from backend.rooster.published import LOCAL
from tests.integration.harness import bearer, login, make_settings, running
from tests.integration.rooster_published_kit import NZ, OZ, boa, field_scenario, publish, shift_type
from tests.integration.world import build_world


async def test_a_boa_sees_his_published_shifts_with_partner_and_the_latest_version(
    database_url: str, tmp_path: Path
) -> None:
    world = await build_world(database_url)
    today = datetime.now(UTC).astimezone(LOCAL).date()
    conn = await asyncpg.connect(database_url)
    try:
        me = await conn.fetchval("SELECT id FROM accounts WHERE username = 'boa_a'")
        partner = await boa(conn, world.org_a, "boa_jansen", "M. Jansen")
        other = await boa(conn, world.org_a, "boa_vries", "S. de Vries")
        dag = await shift_type(conn, world.org_a, "dag", 7 * 60, 8 * 60)
        nacht = await shift_type(conn, world.org_a, "nacht", 23 * 60, 8 * 60)
        oz, nz = world.beats_a[OZ], world.beats_a[NZ]
        plan, _ = await publish(
            conn,
            world.org_a,
            [
                (me, today, dag, oz, 0),
                (partner, today, dag, oz, 0),
                (other, today, dag, oz, 1),  # another duo on the same beat: not my partner
                (me, today + timedelta(days=2), nacht, oz, 0),
                (me, today + timedelta(days=20), dag, oz, 0),  # beyond the 14 days asked
            ],
        )
        # version 2 moves the night to Nieuwe Zijde with De Vries: the latest version counts
        await publish(
            conn,
            world.org_a,
            [
                (me, today, dag, oz, 0),
                (partner, today, dag, oz, 0),
                (me, today + timedelta(days=2), nacht, nz, 0),
                (other, today + timedelta(days=2), nacht, nz, 0),
            ],
            plan_id=plan,
        )
    finally:
        await conn.close()
    async with running(make_settings(database_url, tmp_path)) as server:
        session = await login(server.base, "boa_a", world.tablet_a)
        async with httpx.AsyncClient(base_url=server.base, headers=bearer(session)) as http:
            r = await http.get("/api/me/rooster", params={"from": today.isoformat(), "days": 14})
            assert r.status_code == 200, r.text
            got = r.json()
            assert [(s["day"], s["shift_code"], s["beat_name"], s["partner_name"]) for s in got] == [
                (today.isoformat(), "dag", OZ, "M. Jansen"),
                ((today + timedelta(days=2)).isoformat(), "nacht", NZ, "S. de Vries"),
            ]
            assert got[1]["version"] == 2
            start = datetime.fromisoformat(got[1]["starts_at"]).astimezone(LOCAL)
            end = datetime.fromisoformat(got[1]["ends_at"]).astimezone(LOCAL)
            assert (start.hour, end.hour, (end.date() - start.date()).days) == (23, 7, 1)  # past midnight
            assert (await http.get("/api/me/rooster")).json() == got  # today and 14 days by default
            for params, field in (
                ({"days": 0}, "days"),
                ({"days": 63}, "days"),
                ({"from": "gisteren"}, "from"),
            ):
                bad = await http.get("/api/me/rooster", params=params)
                assert bad.status_code == 400 and field in bad.text, bad.text
            assert (
                await http.get("/api/rooster/planned-now")
            ).status_code == 403  # the console's, not a boa's
        lead_b = await login(server.base, "lead_b")
        async with httpx.AsyncClient(base_url=server.base, headers=bearer(lead_b)) as http:
            assert (await http.get("/api/me/rooster")).json() == []  # nothing of gemeente A's rooster


async def test_the_meldkamer_sees_who_is_late_whose_partner_is_missing_and_who_started(
    database_url: str, tmp_path: Path
) -> None:
    world = await build_world(database_url)
    now = datetime.now(UTC)
    await field_scenario(database_url, world, now)
    async with running(make_settings(database_url, tmp_path)) as server:
        operator = await login(server.base, "operator_mk")
        async with httpx.AsyncClient(base_url=server.base, headers=bearer(operator)) as http:
            r = await http.get("/api/rooster/planned-now")
            assert r.status_code == 200, r.text
            body = r.json()
        duos = [(x["state"], [m["name"] for m in x["members"]], x["call_sign"]) for x in body["duos"]]
        assert duos == [
            ("te_laat", ["A. Bakker", "B. Visser"], None),
            ("partner_ontbreekt", ["E. de Boer", "F. Bos"], "A-02"),
            ("gepland", ["H. Jacobs"], None),  # starts in 40 minutes: not late yet
            ("gestart", ["C. Smit", "D. Mulder"], "A-01"),
        ]
        late, missing, _, on_time = body["duos"]
        assert 29 <= late["late_minutes"] <= 31 and late["gemeente"] == "Gemeente A"
        assert (
            missing["missing"] == ["E. de Boer"] and missing["other_beat"] is True
        )  # F went to Nieuwe Zijde
        assert on_time["other_beat"] is False and on_time["missing"] == []
        assert [(u["call_sign"], u["crew"]) for u in body["unplanned"]] == [("A-03", ["G. Los"])]
        # gemeente A's team lead sees the same; gemeente B's only his own gemeente, which has no rooster
        lead_a = await login(server.base, "lead_a")
        async with httpx.AsyncClient(base_url=server.base, headers=bearer(lead_a)) as http:
            seen = (await http.get("/api/rooster/planned-now")).json()
        assert [(x["state"], [m["name"] for m in x["members"]], x["call_sign"]) for x in seen["duos"]] == duos
        lead_b = await login(server.base, "lead_b")
        async with httpx.AsyncClient(base_url=server.base, headers=bearer(lead_b)) as http:
            assert (await http.get("/api/rooster/planned-now")).json()["duos"] == []
