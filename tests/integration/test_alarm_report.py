"""The alarm acknowledgement report over HTTP: figures from stored alarms, month checks, who may read it."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import asyncpg
import httpx

from backend.alarmreport.logic import LOCAL
from tests.integration.harness import bearer, login, make_settings, running
from tests.integration.world import World, build_world

# noodknop alarms acknowledged after these seconds, then a man-down after 25 s and a noodknop nobody saw:
# 8 of 10 within 10 s (80 %: met), 9 of 10 within 40 s (90 %: not met), median 6 s, p90 12.2 s
NOODKNOP_DELAYS = [2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0, 9.0]


@dataclass
class Seeded:
    now: datetime
    month: str
    previous_month: str


def local_month(at: datetime) -> str:
    return at.astimezone(LOCAL).strftime("%Y-%m")


async def seed_alarms(url: str, world: World) -> Seeded:
    """Safety alarms of this month for unit A-01 acknowledged after known delays by "Operator Jansen"; one in
    the month before; a routine alert and another organisation's alarm, which the report must leave out."""
    now = datetime.now(UTC).replace(microsecond=0)
    start_of_month = now.astimezone(LOCAL).replace(day=1, hour=0, minute=0, second=0)
    # spread over the part of the month that has passed (at least the last minutes)
    span = max(60.0, (now - start_of_month).total_seconds() - 60.0)
    conn = await asyncpg.connect(url)
    try:
        operator = await conn.fetchval("SELECT id FROM accounts WHERE username = 'operator_mk'")
        await conn.execute("UPDATE accounts SET display_name = 'Operator Jansen' WHERE id = $1", operator)

        async def add(org: int, unit: int, kind: str, at: datetime, delay: float | None) -> None:
            await conn.execute(
                """INSERT INTO alerts (org_id, unit_id, kind, at, payload, acknowledged_at, acknowledged_by)
                   VALUES ($1, $2, $3, $4, '{}', $5, $6)""",
                org,
                unit,
                kind,
                at,
                None if delay is None else at + timedelta(seconds=delay),
                None if delay is None else operator,
            )

        step = span / 12
        for i, delay in enumerate(NOODKNOP_DELAYS):
            await add(world.org_a, world.unit_a, "noodknop", now - timedelta(seconds=span - i * step), delay)
        await add(world.org_a, world.unit_a, "man_down", now - timedelta(seconds=3 * step), 25.0)
        await add(world.org_a, world.unit_a, "noodknop", now - timedelta(seconds=2 * step), None)
        await add(world.org_a, world.unit_a, "outside_assigned_beat", now - timedelta(seconds=step), None)
        await add(world.org_b, world.unit_b, "noodknop", now - timedelta(seconds=step), None)
        before = start_of_month - timedelta(days=3)
        await add(world.org_a, world.unit_a, "noodknop", before.astimezone(UTC), 3.0)
        await add(world.org_a, world.unit_a, "man_down", before.astimezone(UTC) + timedelta(hours=1), 4.0)
    finally:
        await conn.close()
    return Seeded(now=now, month=local_month(now), previous_month=local_month(before))


async def test_the_report_shows_this_months_figures_against_bs8484(database_url: str, tmp_path: Path) -> None:
    world = await build_world(database_url)
    seeded = await seed_alarms(database_url, world)
    async with running(make_settings(database_url, tmp_path)) as server:
        lead = await login(server.base, "lead_a")
        async with httpx.AsyncClient(base_url=server.base, headers=bearer(lead)) as http:
            r = await http.get("/api/reports/alarm-response", params={"month": seeded.month})
            assert r.status_code == 200, r.text
            report = r.json()
            csv = await http.get("/api/reports/alarm-response.csv", params={"month": seeded.month})
    f = report["figures"]
    assert (f["count"], f["acknowledged"], f["unacknowledged"]) == (10, 9, 1)
    assert (f["within_10s_pct"], f["within_40s_pct"]) == (80.0, 90.0)
    assert (f["met_10s"], f["met_40s"], f["met"]) == (True, False, False)
    assert (f["median_s"], f["p90_s"]) == (6.0, 12.2)
    kinds = {k["kind"]: k["figures"] for k in report["by_kind"]}
    assert set(kinds) == {"noodknop", "man_down"} and kinds["man_down"]["median_s"] == 25.0
    missed = report["missed"]
    assert [(m["kind"], m["ack_text"], m["acknowledged_by"]) for m in missed] == [
        ("man_down", "25,0 s", "Operator Jansen"),
        ("noodknop", "niet bevestigd", None),
    ]
    assert all(m["call_sign"] == "A-01" for m in missed)
    rolling = report["rolling"]
    assert rolling["count"] == 12 and rolling["within_10s"] == 10
    months = {m["month"]: m["figures"]["count"] for m in report["months"]}
    assert len(months) == 12 and months[seeded.month] == 10 and months[seeded.previous_month] == 2

    assert csv.status_code == 200 and csv.headers["content-type"].startswith("text/csv")
    assert "attachment" in csv.headers["content-disposition"]
    text = csv.content.decode("utf-8")
    assert text.startswith("\ufeffEenheid;Soort;Tijdstip (lokale tijd);Bevestigd na (s);")
    lines = text.lstrip("\ufeff").strip().split("\r\n")
    assert len(lines) == 11  # header + the month's 10 safety alarms, not B's, not the routine one
    assert lines[1].startswith("A-01;Noodknop;") and lines[1].endswith(";2,0;ja;ja;Operator Jansen")
    assert any(line.endswith(";niet bevestigd;nee;nee;") for line in lines)


async def test_a_bad_or_future_month_is_refused_naming_month(database_url: str, tmp_path: Path) -> None:
    await build_world(database_url)
    future = datetime.now(UTC).astimezone(LOCAL).replace(day=28) + timedelta(days=10)
    async with running(make_settings(database_url, tmp_path)) as server:
        lead = await login(server.base, "lead_a")
        async with httpx.AsyncClient(base_url=server.base, headers=bearer(lead)) as http:
            for path in ("/api/reports/alarm-response", "/api/reports/alarm-response.csv"):
                for month in ("2026-13", "maart", future.strftime("%Y-%m")):
                    r = await http.get(path, params={"month": month})
                    assert r.status_code == 400, (path, month, r.text)
                    assert r.json()["field"] == "month"
                r = await http.get(path)
                assert r.status_code == 400


async def test_only_leads_read_it_and_only_for_their_own_organisation(
    database_url: str, tmp_path: Path
) -> None:
    world = await build_world(database_url)
    seeded = await seed_alarms(database_url, world)
    async with running(make_settings(database_url, tmp_path)) as server:
        for username, status in [("boa_a", 403), ("operator_mk", 403), ("admin_a", 200)]:
            session = await login(server.base, username)
            async with httpx.AsyncClient(base_url=server.base, headers=bearer(session)) as http:
                r = await http.get("/api/reports/alarm-response", params={"month": seeded.month})
                assert r.status_code == status, (username, r.text)
        lead_b = await login(server.base, "lead_b")
        async with httpx.AsyncClient(base_url=server.base, headers=bearer(lead_b)) as http:
            r = await http.get("/api/reports/alarm-response", params={"month": seeded.month})
        assert r.json()["figures"]["count"] == 1  # B's own noodknop, none of A's
