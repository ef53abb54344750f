"""The published rooster over HTTP: a boa's own shifts, and planned against actual for the meldkamer."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import asyncpg
import httpx

from backend.orgs import repository as orgs
from backend.rooster.published import LOCAL
from backend.shifts import repository as shifts
from tests.integration.harness import bearer, login, make_settings, running
from tests.integration.rooster_kit import boa, local_start, publish, shift_type
from tests.integration.world import build_world

OZ, NZ = "Burgwallen-Oude Zijde", "Burgwallen-Nieuwe Zijde"


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
    conn = await asyncpg.connect(database_url)
    try:
        oz, nz = world.beats_a[OZ], world.beats_a[NZ]
        names = [
            "A. Bakker",
            "B. Visser",
            "C. Smit",
            "D. Mulder",
            "E. de Boer",
            "F. Bos",
            "H. Jacobs",
            "I. Vos",
        ]
        a, b, c, d, e, f, h, i = [await boa(conn, world.org_a, f"boa_{k}", n) for k, n in enumerate(names)]
        day, minute = local_start(now, -30)
        started = await shift_type(conn, world.org_a, "laat", minute, 8 * 60)
        day_soon, minute_soon = local_start(now, 40)
        soon = await shift_type(conn, world.org_a, "avond", minute_soon, 8 * 60)
        old_day, old_minute = local_start(now, -10 * 60)
        over = await shift_type(conn, world.org_a, "vroeg", old_minute, 8 * 60)  # ended 2 h ago
        await publish(
            conn,
            world.org_a,
            [
                (a, day, started, oz, 0),
                (b, day, started, oz, 0),  # late: no shift
                (c, day, started, nz, 1),
                (d, day, started, nz, 1),  # on time: both on A-01
                (e, day, started, oz, 2),
                (f, day, started, oz, 2),  # F started without his planned partner E
                (h, day_soon, soon, nz, 0),
                (i, old_day, over, nz, 0),
            ],
        )
        a02 = await orgs.create_unit(conn, org_id=world.org_a, call_sign="A-02")
        a03 = await orgs.create_unit(conn, org_id=world.org_a, call_sign="A-03")
        await shifts.start_shift(
            conn, unit_id=world.unit_a, device_id=None, account_ids=[c, d], beat_ids=[nz]
        )
        await shifts.start_shift(conn, unit_id=a02, device_id=None, account_ids=[f], beat_ids=[nz])
        ongepland = await boa(conn, world.org_a, "boa_los", "G. Los")
        await shifts.start_shift(conn, unit_id=a03, device_id=None, account_ids=[ongepland], beat_ids=[])
    finally:
        await conn.close()
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
        # gemeente B's team lead sees only his gemeente, which has no rooster
        lead_b = await login(server.base, "lead_b")
        async with httpx.AsyncClient(base_url=server.base, headers=bearer(lead_b)) as http:
            assert (await http.get("/api/rooster/planned-now")).json()["duos"] == []
