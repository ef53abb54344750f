"""The demo's published rooster: the twelve demo duos planned by the solver for the current 4 weeks."""

from __future__ import annotations

from collections import defaultdict
from datetime import date, timedelta

import asyncpg
import pytest
from argon2 import PasswordHasher

from backend.demo.seed import seed_demo
from backend.orgs import repository as orgs_repository


@pytest.fixture
def cheap_password_hashes(monkeypatch: pytest.MonkeyPatch) -> None:
    cheap = PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)
    monkeypatch.setattr(orgs_repository, "hash_password", cheap.hash)


@pytest.mark.usefixtures("cheap_password_hashes")
async def test_the_demo_has_a_published_rooster_for_its_twelve_duos(database_url: str) -> None:
    demo = await seed_demo(database_url)
    assert demo.rooster.plan_id is not None and demo.rooster.status in ("optimaal", "haalbaar")
    conn = await asyncpg.connect(database_url)
    try:
        plan = await conn.fetchrow(
            "SELECT id, start_day, days FROM rooster_plans WHERE id = $1", demo.rooster.plan_id
        )
        assert plan["days"] == 28 and plan["start_day"].weekday() == 0
        assert plan["start_day"] <= date.today() < plan["start_day"] + timedelta(days=28)
        version = await conn.fetchrow(
            "SELECT id, number FROM rooster_versions WHERE plan_id = $1", plan["id"]
        )
        assert version["number"] == 1
        rows = await conn.fetch(
            """SELECT a.username, v.day, t.code, v.beat_id, v.duo
                 FROM rooster_version_assignments v JOIN accounts a ON a.id = v.account_id
                 JOIN rooster_shift_types t ON t.id = v.shift_type_id
                WHERE v.version_id = $1""",
            version["id"],
        )
        draft = await conn.fetchval("SELECT count(*) FROM rooster_assignments WHERE plan_id = $1", plan["id"])
        assert draft == len(rows) == demo.rooster.assignments

        duos: dict[tuple[date, str, int, int], set[str]] = defaultdict(set)
        for r in rows:
            duos[(r["day"], r["code"], r["beat_id"], r["duo"])].add(r["username"])
        assert all(len(m) == 2 for m in duos.values())
        # the two boa's of a demo unit patrol together: boa01 with boa02, boa03 with boa04, ...
        for members in duos.values():
            numbers = sorted(int(u.removeprefix("boa")) for u in members)
            assert numbers[0] % 2 == 1 and numbers[1] == numbers[0] + 1, members
        planned_duos = {min(m) for m in duos.values()}
        assert len(planned_duos) == 12  # every duo has shifts
        per_week = len(rows) / 24 / 4
        assert 3.0 <= per_week <= 5.0  # a boa works three to five shifts a week
        assert {r["code"] for r in rows} >= {"vroeg", "laat"}

        again = await seed_demo(database_url)
        assert again.rooster.plan_id is None
        assert await conn.fetchval("SELECT count(*) FROM rooster_versions") == 1
    finally:
        await conn.close()
