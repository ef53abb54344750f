"""The demo's three months of history: plausible, quick, idempotent, and what the area report shows."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta

import asyncpg
import pytest
from argon2 import PasswordHasher

from backend.demo.history import DAYS
from backend.demo.seed import seed_demo
from backend.feitcodes.catalogue import load_catalogue
from backend.orgs import repository as orgs_repository
from backend.registrations.validation import LOCAL
from backend.reports.repository import area_report

TABLES = ("shifts", "positions", "registrations", "incidents", "tasks", "incident_events", "alerts")


@pytest.fixture
def cheap_password_hashes(monkeypatch: pytest.MonkeyPatch) -> None:
    cheap = PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)
    monkeypatch.setattr(orgs_repository, "hash_password", cheap.hash)


async def _counts(conn: asyncpg.Connection) -> dict[str, int]:
    return {t: await conn.fetchval(f"SELECT count(*) FROM {t}") for t in TABLES}


@pytest.mark.usefixtures("cheap_password_hashes")
async def test_demo_seeds_three_months_quickly_and_only_once(database_url: str) -> None:
    started = time.monotonic()
    demo = await seed_demo(database_url)
    took = time.monotonic() - started
    assert demo.history.incidents > 0
    # a floor against a gross regression (a commit per row), not a timing: it takes a few seconds, and a
    # busy CI machine (3 test processes on 2 cores) may take several times that
    assert took < 120, f"seeding took {took:.1f} s"
    conn = await asyncpg.connect(database_url)
    try:
        first = await _counts(conn)
        assert first["shifts"] > 500 and first["positions"] > 50_000
        assert first["registrations"] > 2000 and first["incidents"] > 500 and first["alerts"] > 20
        oldest = await conn.fetchval("SELECT min(occurred_at) FROM registrations")
        assert datetime.now(UTC) - oldest > timedelta(days=DAYS - 2)

        again = await seed_demo(database_url)
        assert again.history.incidents == 0
        assert await _counts(conn) == first

        kinds = dict(await conn.fetch("SELECT kind, count(*) FROM registrations GROUP BY kind"))
        assert set(kinds) == {"waarneming", "fine", "aggression"}
        warnings = await conn.fetchval(
            "SELECT count(*) FROM registrations WHERE kind = 'waarneming' AND feitcode IS NOT NULL"
        )
        assert warnings > 100
        shipped = {e.code for e in load_catalogue().entries}
        used = {
            r[0]
            for r in await conn.fetch(
                "SELECT DISTINCT feitcode FROM registrations WHERE feitcode IS NOT NULL"
            )
        }
        assert used and used <= shipped

        # safety alarms acknowledged mostly within ten seconds, a few late
        delays = [
            r[0]
            for r in await conn.fetch(
                """SELECT extract(epoch FROM acknowledged_at - at)::float8 FROM alerts
                   WHERE kind IN ('noodknop', 'assistance', 'man_down', 'checkin_missed')"""
            )
        ]
        assert delays and all(d > 0 for d in delays)
        quick = sum(d < 10 for d in delays) / len(delays)
        assert 0.6 < quick < 1 and max(delays) > 30
        assert await conn.fetchval("SELECT count(*) FROM alerts WHERE acknowledged_at IS NULL") == 0

        # every melding with a unit on scene has its timeline line, after its creation
        assert (
            await conn.fetchval(
                """SELECT count(*) FROM incidents i WHERE i.source = 'demo-history' AND NOT EXISTS (
                   SELECT 1 FROM incident_events e WHERE e.incident_id = i.id AND e.text LIKE '%: ter plaatse'
                   AND e.at > i.created_at)"""
            )
            < first["incidents"] * 0.1
        )

        # the area report of last month shows all of it
        last_month = (datetime.now(LOCAL).replace(day=1) - timedelta(days=1)).strftime("%Y-%m")
        report = await area_report(conn, demo.org_id, last_month, datetime.now(UTC))
        t = report.total
        assert not report.empty
        assert t.meldingen_total > 150 and t.warnings > 30 and t.fines > 30 and t.street_hours > 1000
        assert t.police_assists > 0 or t.aggression > 0
        p1, p3 = t.response["1"], t.response["3"]
        assert p1.median_s is not None and p3.median_s is not None
        assert 4 * 60 < p1.median_s < 11 * 60 and p1.median_s < p3.median_s
        assert p1.p90_s is not None and p1.p90_s >= p1.median_s
        assert sum(b.meldingen_total for b in report.beats) == t.meldingen_total  # a melding has one beat
        assert sum(1 for p in report.trend if p.meldingen) >= 3
    finally:
        await conn.close()
