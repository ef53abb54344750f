"""The rooster API against the real app and PostgreSQL: data entry, plans from templates, the draft,
publishing, the diff, the planning problem built from the tables, and what is refused (4xx naming the field).

The solve, repair and violation tests need the solver and checker (backend/rooster/solver.py, checker.py);
they skip where those are not installed.
"""

from __future__ import annotations

import asyncio
from datetime import timedelta
from pathlib import Path
from typing import Any

import asyncpg
import pytest

from backend.rooster import repository as repo
from tests.conftest import new_database
from tests.integration.registrations_kit import Env, environment, world_template
from tests.integration.rooster_kit import MONDAY, NAMES, day, new_plan, ok, shift_types, team_sql
from tests.integration.world import World


@pytest.fixture(scope="module")
async def world_db(pg_server: str, template_db: str) -> tuple[str, World]:
    return await world_template(pg_server, template_db)


@pytest.fixture
async def db(pg_server: str, world_db: tuple[str, World]) -> tuple[str, World]:
    return await new_database(pg_server, world_db[0]), world_db[1]


async def boa_ids(url: str) -> dict[str, int]:
    conn = await asyncpg.connect(url)
    try:
        rows = await conn.fetch("SELECT id, display_name FROM accounts WHERE username LIKE 'rboa%'")
        return {r["display_name"]: r["id"] for r in rows}
    finally:
        await conn.close()


def team_env(db: tuple[str, World], tmp: Path) -> Any:
    return environment(db, tmp, extra_sql=team_sql(db[1].org_a))


async def test_shift_types_default_per_gemeente_and_refusals_name_the_field(
    db: tuple[str, World], tmp_path: Path
) -> None:
    async with environment(db, tmp_path) as env:
        lead = env["lead_a"]
        assert list(await shift_types(env)) == ["vroeg", "dag", "laat", "nacht"]
        made = ok(
            await lead.post(
                "/api/rooster/shift-types",
                json={
                    "code": "avond",
                    "name": "Avonddienst",
                    "start_minute": 17 * 60,
                    "duration_minutes": 480,
                },
            ),
            201,
        )
        assert made["code"] == "avond" and made["active"]
        again = await lead.post(
            "/api/rooster/shift-types",
            json={"code": "avond", "name": "Nog een", "start_minute": 0, "duration_minutes": 480},
        )
        assert again.status_code == 409 and again.json()["field"] == "code"
        bad = await lead.post(
            "/api/rooster/shift-types",
            json={"code": "Avond!", "name": "x", "start_minute": 0, "duration_minutes": 480},
        )
        assert bad.status_code == 400 and bad.json()["field"] == "code"
        long = await lead.post(
            "/api/rooster/shift-types",
            json={"code": "lang", "name": "x", "start_minute": 0, "duration_minutes": 17 * 60},
        )
        assert long.status_code == 400 and long.json()["field"] == "duration_minutes"
        off = ok(await lead.patch(f"/api/rooster/shift-types/{made['id']}", json={"active": False}))
        assert off["active"] is False
        # the other gemeente has its own defaults and does not see ours
        assert list(await shift_types(env, "lead_b")) == ["vroeg", "dag", "laat", "nacht"]
        other = await env["lead_b"].patch(f"/api/rooster/shift-types/{made['id']}", json={"name": "x"})
        assert other.status_code == 404 and other.json()["field"] == "type_id"
        # a boa and an operator may not plan
        assert (await env["boa_a"].get("/api/rooster/shift-types")).status_code == 403
        assert (await env["operator_mk"].get("/api/rooster/plans")).status_code == 403


async def test_a_plan_from_a_template_has_the_demand_of_its_days(
    db: tuple[str, World], tmp_path: Path
) -> None:
    async with team_env(db, tmp_path) as env:
        plan = await new_plan(env)
        assert plan["plan"]["days"] == 28 and plan["plan"]["latest_version"] is None
        # 2 shifts x 2 beats every day, and a Friday night: 28 * 4 + 4
        assert len(plan["demand"]) == 28 * 4 + 4
        assert sum(u["missing"] for u in plan["uncovered"]) == 2 * (28 * 4 + 4)
        assert len(plan["boas"]) == len(NAMES) + 2  # the team and the world's boa_a, boa_a2
        fridays = [d for d in plan["demand"] if d["shift_type_id"] == (await shift_types(env))["nacht"]]
        assert [d["day"] for d in fridays] == [day(4), day(11), day(18), day(25)]
        week = ok(
            await env["lead_a"].post(
                "/api/rooster/plans", json={"name": "Week 10", "start_day": day(0), "days": 7}
            ),
            201,
        )
        assert week["demand"] == []
        # extra demand for an evenement: 3 duos in Nieuwe Zijde on Saturday's late shift
        types = await shift_types(env)
        nieuwe = env.world.beats_a["Burgwallen-Nieuwe Zijde"]
        extra = ok(
            await env["lead_a"].put(
                f"/api/rooster/plans/{week['plan']['id']}/demand",
                json={"day": day(5), "shift_type_id": types["laat"], "beat_id": nieuwe, "duos": 3},
            )
        )
        assert [(d["duos"], d["source"]) for d in extra["demand"]] == [(3, "extra")]
        outside = await env["lead_a"].put(
            f"/api/rooster/plans/{week['plan']['id']}/demand",
            json={"day": day(9), "shift_type_id": types["laat"], "beat_id": nieuwe, "duos": 1},
        )
        assert outside.status_code == 400 and outside.json()["field"] == "day"
        for body, field in (
            ({"name": "x", "start_day": day(0), "days": 14}, "days"),
            ({"name": "", "start_day": day(0)}, "name"),
            ({"name": "x", "start_day": "2027-02-30"}, "start_day"),
            ({"name": "x", "start_day": "9999-12-31"}, "start_day"),  # a horizon past the calendar's end
            ({"name": "x", "start_day": day(0), "template_id": 999999}, "template_id"),
        ):
            r = await env["lead_a"].post("/api/rooster/plans", json=body)
            assert r.status_code in (400, 404) and r.json()["field"] == field, (body, r.text)
        assert (await env["lead_b"].get(f"/api/rooster/plans/{week['plan']['id']}")).status_code == 404


async def test_the_draft_set_move_pin_remove_publish_and_the_diff(
    db: tuple[str, World], tmp_path: Path
) -> None:
    url, world = db
    async with team_env(db, tmp_path) as env:
        lead = env["lead_a"]
        ids = await boa_ids(url)
        jansen, boer = ids["A. Jansen"], ids["B. de Boer"]
        types = await shift_types(env)
        oude = world.beats_a["Burgwallen-Oude Zijde"]
        plan = await new_plan(env, days=7)
        base = f"/api/rooster/plans/{plan['plan']['id']}"
        cell = {"day": day(0), "shift_type_id": types["dag"], "beat_id": oude}
        ok(await lead.put(base + "/assignments", json={"account_id": jansen, **cell}))
        draft = ok(await lead.put(base + "/assignments", json={"account_id": boer, **cell, "duo": 0}))
        assert len(draft) == 2
        view = ok(await lead.get(base))
        short_oude = [u for u in view["uncovered"] if u["day"] == day(0) and u["beat_id"] == oude]
        assert [u["shift_type_id"] for u in short_oude] == [types["laat"]]  # the dag duo is complete
        # drag Jansen's Monday to Tuesday
        draft = ok(
            await lead.post(
                base + "/assignments/move",
                json={"account_id": jansen, "day": day(0), "to_account_id": jansen, "to_day": day(1)},
            )
        )
        assert {(a["account_id"], a["day"]) for a in draft} == {(jansen, day(1)), (boer, day(0))}
        # drag onto a filled cell swaps the two shifts
        ok(
            await lead.put(
                base + "/assignments", json={**cell, "account_id": boer, "shift_type_id": types["laat"]}
            )
        )

        async def move(who: int, offset: int, to: int, to_offset: int) -> dict[tuple[int, str], int]:
            body = {"account_id": who, "day": day(offset), "to_account_id": to, "to_day": day(to_offset)}
            found = ok(await lead.post(base + "/assignments/move", json=body))
            return {(a["account_id"], a["day"]): a["shift_type_id"] for a in found}

        assert await move(jansen, 1, boer, 0) == {
            (boer, day(0)): types["dag"],
            (jansen, day(1)): types["laat"],
        }
        await move(boer, 0, jansen, 0)
        assert await move(jansen, 1, boer, 1) == {
            (jansen, day(0)): types["dag"],
            (boer, day(1)): types["laat"],
        }
        draft = ok(
            await lead.post(
                base + "/assignments/pin", json={"account_id": jansen, "day": day(0), "pinned": True}
            )
        )
        assert [a["pinned"] for a in draft if a["account_id"] == jansen] == [True]
        published = ok(await lead.post(base + "/publish", json={"note": "Eerste versie"}), 201)
        assert published == {"number": 1, "assignments": 2}
        assert ok(await lead.get(base + "/diff")) == []
        # after publishing: Boer's Tuesday goes, Jansen moves to the late shift
        ok(await lead.post(base + "/assignments/remove", json={"account_id": boer, "day": day(1)}))
        ok(
            await lead.put(
                base + "/assignments",
                json={**cell, "account_id": jansen, "shift_type_id": types["laat"], "pinned": True},
            )
        )
        changes = ok(await lead.get(base + "/diff"))
        assert [(c["account_id"], c["day"], c["after"] is None) for c in changes] == [
            (jansen, day(0), False),
            (boer, day(1), True),
        ]
        assert changes[0]["before"]["shift_type_id"] == types["dag"]
        view = ok(await lead.get(base))
        assert len(view["changes"]) == 2 and view["versions"][0]["note"] == "Eerste versie"
        assert ok(await lead.post(base + "/publish", json={}), 201)["number"] == 2
        assert ok(await lead.get(base + "/diff")) == []
        versions = ok(await lead.get(base + "/versions"))
        assert [(v["number"], v["assignments"]) for v in versions] == [(2, 1), (1, 2)]
        # refusals
        for path, body, status, field in (
            ("/assignments", {"account_id": jansen, **cell, "day": day(7)}, 400, "day"),
            ("/assignments", {"account_id": env.accounts["boa_b"], **cell}, 404, "account_id"),
            ("/assignments", {"account_id": jansen, **cell, "beat_id": 999999}, 400, "beat_id"),
            (
                "/assignments/move",
                {"account_id": boer, "day": day(3), "to_account_id": jansen, "to_day": day(4)},
                404,
                "day",
            ),
            ("/assignments/pin", {"account_id": boer, "day": day(3), "pinned": True}, 404, "day"),
            ("/assignments/remove", {"account_id": boer, "day": day(3)}, 404, "day"),
        ):
            method = lead.put if path == "/assignments" else lead.post
            r = await method(base + path, json=body)
            assert (r.status_code, r.json().get("field")) == (status, field), (path, r.text)
        other = await env["lead_b"].post(base + "/publish", json={})
        assert other.status_code == 404 and other.json()["field"] == "plan_id"


async def test_absences_pair_rules_and_planning_fields(db: tuple[str, World], tmp_path: Path) -> None:
    url, _ = db
    async with team_env(db, tmp_path) as env:
        lead = env["lead_a"]
        ids = await boa_ids(url)
        smit, bos = ids["E. Smit"], ids["K. Bos"]
        count = ok(
            await lead.post(
                "/api/rooster/absences",
                json={"account_id": smit, "from_day": day(7), "to_day": day(11), "kind": "verlof"},
            ),
            201,
        )
        assert count == {"count": 5}
        ok(
            await lead.post(
                "/api/rooster/absences",
                json={"account_id": bos, "from_day": day(2), "kind": "niet_beschikbaar"},
            ),
            201,
        )
        found = ok(await lead.get("/api/rooster/absences", params={"from_day": day(0), "to_day": day(27)}))
        assert [(a["account_id"], a["kind"]) for a in found][0] == (bos, "niet_beschikbaar")
        verlof = [a for a in found if a["kind"] == "verlof"]
        assert len(verlof) == 5 and verlof[0]["hours"] == 6.4  # 32 h / 5: counts as worked (ATW 5:2)
        assert found[0]["hours"] == 0
        backwards = await lead.post(
            "/api/rooster/absences",
            json={"account_id": smit, "from_day": day(3), "to_day": day(1), "kind": "ziek"},
        )
        assert backwards.status_code == 400 and backwards.json()["field"] == "to_day"
        ancient = await lead.post(
            "/api/rooster/absences", json={"account_id": smit, "from_day": "0001-01-01", "kind": "ziek"}
        )
        assert ancient.status_code == 400 and ancient.json()["field"] == "from_day"
        kind = await lead.post(
            "/api/rooster/absences", json={"account_id": smit, "from_day": day(3), "kind": "vakantie"}
        )
        assert kind.status_code == 400 and kind.json()["field"] == "kind"
        ok(await lead.delete(f"/api/rooster/absences/{found[0]['id']}"))
        assert (await lead.delete(f"/api/rooster/absences/{found[0]['id']}")).status_code == 404
        rules = ok(await lead.put("/api/rooster/pair-rules", json={"a": bos, "b": smit, "kind": "nooit"}))
        assert rules == [{"a": min(bos, smit), "b": max(bos, smit), "kind": "nooit"}]
        same = await lead.put("/api/rooster/pair-rules", json={"a": bos, "b": bos, "kind": "altijd"})
        assert same.status_code == 400 and same.json()["field"] == "b"
        foreign = await lead.put(
            "/api/rooster/pair-rules", json={"a": bos, "b": env.accounts["boa_b"], "kind": "altijd"}
        )
        assert foreign.status_code == 404 and foreign.json()["field"] == "b"
        assert ok(await lead.post("/api/rooster/pair-rules/remove", json={"a": smit, "b": bos})) == []
        boa = ok(
            await lead.patch(
                f"/api/rooster/boas/{smit}",
                json={
                    "night_exempt": True,
                    "fixed_days_off": [6, 5, 6],
                    "preferences": [{"weekday": 0, "shift_code": "vroeg", "want": False, "weight": 3}],
                },
            )
        )
        assert boa["night_exempt"] and boa["fixed_days_off"] == [5, 6]
        assert boa["preferences"][0]["shift_code"] == "vroeg"
        bad = await lead.patch(f"/api/rooster/boas/{smit}", json={"fixed_days_off": [7]})
        assert bad.status_code == 400 and bad.json()["field"].startswith("fixed_days_off")
        unknown = await lead.patch(
            f"/api/rooster/boas/{smit}", json={"preferences": [{"shift_code": "ochtend"}]}
        )
        assert unknown.status_code == 400 and unknown.json()["field"] == "preferences[0].shift_code"


async def test_build_problem_reads_pins_published_history_and_absences(
    db: tuple[str, World], tmp_path: Path
) -> None:
    url, world = db
    async with team_env(db, tmp_path) as env:
        lead = env["lead_a"]
        ids = await boa_ids(url)
        jansen, smit = ids["A. Jansen"], ids["E. Smit"]
        types = await shift_types(env)
        oude = world.beats_a["Burgwallen-Oude Zijde"]
        earlier = MONDAY - timedelta(days=28)
        before = await new_plan(env, start=earlier, template=False)
        base = f"/api/rooster/plans/{before['plan']['id']}"
        for offset in (0, 27):
            ok(
                await lead.put(
                    base + "/assignments",
                    json={
                        "account_id": jansen,
                        "day": day(offset, earlier),
                        "shift_type_id": types["nacht"],
                        "beat_id": oude,
                    },
                )
            )
        ok(await lead.post(base + "/publish", json={}), 201)
        plan = await new_plan(env, days=7)
        base = f"/api/rooster/plans/{plan['plan']['id']}"
        cell = {"day": day(2), "shift_type_id": types["vroeg"], "beat_id": oude}
        ok(await lead.put(base + "/assignments", json={"account_id": jansen, **cell, "pinned": True}))
        ok(await lead.put(base + "/assignments", json={"account_id": smit, **cell, "duo": 0}))
        ok(await lead.post(base + "/publish", json={}), 201)
        ok(await lead.post(base + "/assignments/remove", json={"account_id": smit, "day": day(2)}))
        ok(
            await lead.post(
                "/api/rooster/absences",
                json={"account_id": smit, "from_day": day(3), "kind": "ziek", "hours": 8},
            ),
            201,
        )
        conn = await asyncpg.connect(url)
        try:
            problem = await repo.build_problem(conn, plan["plan"]["id"], time_limit_s=3)
        finally:
            await conn.close()
        assert problem.start == MONDAY and problem.days == 7 and problem.time_limit_s == 3
        assert [t.code for t in problem.shift_types] == ["vroeg", "dag", "laat", "nacht"]
        assert len(problem.boas) == len(NAMES) + 2
        jansen_boa = next(b for b in problem.boas if b.staff_id == str(jansen))
        assert jansen_boa.experienced and jansen_boa.qualifications == ["anpr"]
        assert len(problem.demand) == 7 * 4 + 1 and all(d.duos == 1 for d in problem.demand)
        assert [(p.staff_id, p.day.isoformat(), p.shift_code, p.pinned) for p in problem.pins] == [
            (str(jansen), day(2), "vroeg", True)
        ]
        assert {(p.staff_id, p.shift_code) for p in problem.published} == {
            (str(jansen), "vroeg"),
            (str(smit), "vroeg"),
        }
        assert [(h.staff_id, h.day.isoformat(), h.shift_code) for h in problem.history] == [
            (str(jansen), day(0, earlier), "nacht"),
            (str(jansen), day(27, earlier), "nacht"),
        ]
        assert [(a.staff_id, a.kind, a.hours) for a in problem.absences] == [(str(smit), "ziek", 8.0)]


async def wait_job(env: Env, job_id: str, timeout: float = 60) -> dict[str, Any]:
    async with asyncio.timeout(timeout):
        while True:
            job = ok(await env["lead_a"].get(f"/api/rooster/jobs/{job_id}"))
            if job["state"] != "bezig":
                return job  # type: ignore[no-any-return]
            await asyncio.sleep(0.2)


async def test_solve_fills_the_draft_keeps_pins_one_job_per_plan(
    db: tuple[str, World], tmp_path: Path
) -> None:
    url, world = db
    async with team_env(db, tmp_path) as env:
        lead = env["lead_a"]
        ids = await boa_ids(url)
        types = await shift_types(env)
        oude = world.beats_a["Burgwallen-Oude Zijde"]
        plan = await new_plan(env, days=7)
        base = f"/api/rooster/plans/{plan['plan']['id']}"
        pin = {
            "account_id": ids["C. Visser"],
            "day": day(1),
            "shift_type_id": types["laat"],
            "beat_id": oude,
            "pinned": True,
        }
        ok(await lead.put(base + "/assignments", json=pin))
        started = ok(await lead.post(base + "/solve", json={"time_limit_s": 5}))
        assert started["job"]["state"] == "bezig" and started["job"]["time_limit_s"] == 5
        busy = await lead.post(base + "/solve", json={"time_limit_s": 5})
        assert busy.status_code == 409 and busy.json()["field"] == "plan_id"
        too_long = await lead.post(base + "/solve", json={"time_limit_s": 3600})
        assert too_long.status_code == 400 and too_long.json()["field"] == "time_limit_s"
        job = await wait_job(env, started["job_id"])
        assert job["state"] == "klaar", job
        assert job["status"] in ("optimaal", "haalbaar") and job["objective"] is not None
        # the time limit holds (with room for building the model on a busy machine)
        assert job["bound"] is not None and job["elapsed_s"] <= 5 + 10
        view = ok(await lead.get(base))
        assert len(view["draft"]) == job["assignments"] > 0
        kept = [a for a in view["draft"] if a["account_id"] == pin["account_id"] and a["day"] == day(1)]
        assert [(a["shift_type_id"], a["beat_id"], a["pinned"]) for a in kept] == [
            (types["laat"], oude, True)
        ]
        assert (await env["lead_b"].get(f"/api/rooster/jobs/{started['job_id']}")).status_code == 404


async def test_herplan_after_a_sick_call_changes_little(db: tuple[str, World], tmp_path: Path) -> None:
    url, _ = db
    async with team_env(db, tmp_path) as env:
        lead = env["lead_a"]
        ids = await boa_ids(url)
        plan = await new_plan(env, days=7)
        base = f"/api/rooster/plans/{plan['plan']['id']}"
        first = await wait_job(env, ok(await lead.post(base + "/solve", json={"time_limit_s": 5}))["job_id"])
        assert first["state"] == "klaar"
        ok(await lead.post(base + "/publish", json={"note": "v1"}), 201)
        before = ok(await lead.get(base))["draft"]
        sick = next(a["account_id"] for a in before if a["day"] == day(3))
        started = ok(
            await lead.post(
                base + "/herplan", json={"account_id": sick, "from_day": day(3), "days": 2, "time_limit_s": 5}
            )
        )
        job = await wait_job(env, started["job_id"])
        assert job["state"] == "klaar" and job["kind"] == "herplan"
        view = ok(await lead.get(base))
        assert not [a for a in view["draft"] if a["account_id"] == sick and a["day"] in (day(3), day(4))]
        assert {(a["account_id"], a["day"]) for a in before if a["day"] < day(3)} == {
            (a["account_id"], a["day"]) for a in view["draft"] if a["day"] < day(3)
        }
        assert 0 < len(view["changes"]) <= 3 * 4  # his shifts moved to others, not a new rooster
        assert [a["kind"] for a in view["absences"] if a["account_id"] == sick] == ["ziek", "ziek"]
        assert ids


async def test_violations_name_the_article_boa_and_days(db: tuple[str, World], tmp_path: Path) -> None:
    url, world = db
    async with team_env(db, tmp_path) as env:
        lead = env["lead_a"]
        ids = await boa_ids(url)
        types = await shift_types(env)
        oude = world.beats_a["Burgwallen-Oude Zijde"]
        plan = await new_plan(env, days=7)
        base = f"/api/rooster/plans/{plan['plan']['id']}"
        jansen = ids["A. Jansen"]
        for offset in range(3):  # three nights, then an early shift the morning after: ATW 5:8 lid 5
            ok(
                await lead.put(
                    base + "/assignments",
                    json={
                        "account_id": jansen,
                        "day": day(offset),
                        "shift_type_id": types["nacht"],
                        "beat_id": oude,
                    },
                )
            )
        ok(
            await lead.put(
                base + "/assignments",
                json={"account_id": jansen, "day": day(3), "shift_type_id": types["vroeg"], "beat_id": oude},
            )
        )
        found = ok(await lead.get(base + "/violations"))
        assert found["available"] is True
        mine = [v for v in found["violations"] if str(jansen) in v["staff_ids"] and v["hard"]]
        # the rest after three nights, named with its article and the days; the lone boa's duo and the
        # shift nobody asked for are reported too, under the rooster's own rules
        rest = [v for v in mine if v["article"] == "ATW 5:8 lid 5"]
        assert rest and {day(0), day(1), day(2), day(3)} & set(rest[0]["days"]), mine
        assert "A. Jansen" in rest[0]["text"]
        assert {v["article"] for v in mine} >= {"ATW 5:8 lid 5", "Duo"}
