"""A gemeente's tariff list imported as CSV: a new dated catalogue version, every bad line refused by name."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import asyncpg
import pytest

from backend.registrations.validation import LOCAL
from tests.conftest import new_database
from tests.integration.registrations_kit import environment, fine, world_template
from tests.integration.world import World

CSV = {"content-type": "text/csv"}


@pytest.fixture(scope="module")
async def world_db(pg_server: str, template_db: str) -> tuple[str, World]:
    return await world_template(pg_server, template_db)


@pytest.fixture
async def db(pg_server: str, world_db: tuple[str, World]) -> tuple[str, World]:
    return await new_database(pg_server, world_db[0]), world_db[1]


def today() -> datetime:
    return datetime.now(UTC).astimezone(LOCAL)


def day(offset: int) -> str:
    return (today() + timedelta(days=offset)).date().isoformat()


async def rows(url: str, sql: str, *args: object) -> list[asyncpg.Record]:
    conn = await asyncpg.connect(url)
    try:
        return await conn.fetch(sql, *args)
    finally:
        await conn.close()


def amount(registration: dict[str, Any]) -> int | None:
    value = registration["derived"]["tariff"]["amount_eur"]
    return None if value is None else int(value)


async def test_good_csv_sets_amounts_and_shows_in_versions_and_audit(
    db: tuple[str, World], tmp_path: Path
) -> None:
    async with environment(db, tmp_path) as env:
        before = await env["boa_a"].post("/api/registrations", json=fine())
        assert before.status_code == 201 and amount(before.json()) is None  # OM track: no tariff shipped
        text = "\ufeffFeitcode;Bedrag;Omschrijving\nBF 185;€ 110,00;wildplassen\n\nbf110a;95;bekladden\n"
        r = await env["lead_a"].post("/api/catalogues/tariffs", content=text.encode(), headers=CSV)
        assert r.status_code == 201, r.text
        answer = r.json()
        assert answer["changed"] == 2
        version = answer["version"]
        assert version["valid_from"] == day(0) and version["uploaded_by_name"] == "lead_a"
        after = await env["boa_a"].post("/api/registrations", json=fine())
        assert amount(after.json()) == 110
        assert after.json()["catalogue_version_id"] == version["id"]
        listed = (await env["admin_a"].get("/api/catalogues")).json()
        shipped = next(v for v in listed if v["builtin"])
        assert listed[0]["id"] == version["id"] and listed[0]["amounts"] == shipped["amounts"] + 2
        assert shipped["uploaded_by_name"] is None and shipped["valid_from"] == "2015-05-15"
        found = (await env["admin_a"].get("/api/catalogues/entries?q=BF 185")).json()
        assert found["entries"][0]["code"] == "BF 185" and found["entries"][0]["amounts_eur"] == {
            "adult": 110
        }
        assert found["entries"][0]["description"].startswith("binnen de bebouwde kom buiten een daarvoor")
        audit = await rows(db[0], "SELECT * FROM audit_log WHERE action = 'tariff_import'")
        assert len(audit) == 1 and audit[0]["actor_id"] == env.accounts["lead_a"]
        assert audit[0]["object_id"] == str(version["id"])
        # Comma-separated, amount quoted, the date in the file: Mulder parking needs its category.
        text = 'feitcode,bedrag,categorie,ingangsdatum\nR 397a,"€ 1.000,00",1,' + day(0) + "\n"
        r = await env["admin_a"].post("/api/catalogues/tariffs", content=text.encode(), headers=CSV)
        assert r.status_code == 201, r.text
        parking = await env["boa_a"].post(
            "/api/registrations", json=fine(feitcode="R 397a", vehicle_category="1")
        )
        assert amount(parking.json()) == 1000


@pytest.mark.parametrize(
    ("text", "query", "field", "reason"),
    [
        ("nummer;bedrag\nBF 185;110\n", "", "regel 1.feitcode", "ontbreekt"),
        ("feitcode;bedrag\nBF 185;110\nBF 110a;elf euro\n", "", "regel 3.bedrag", "geen bedrag"),
        ("feitcode;bedrag\nBF 185;110,50\n", "", "regel 2.bedrag", "hele euro"),
        ("feitcode;bedrag\nBF 185;\n", "", "regel 2.bedrag", "geen bedrag"),
        ("feitcode;bedrag\nBF 185;200000\n", "", "regel 2.bedrag", "hoger dan"),
        ("feitcode;bedrag\nXYZ;110\n", "", "regel 2.feitcode", "geen feitcode"),
        (
            "feitcode;bedrag\nBF 185;110\nZ 999;50\n",
            "",
            "regel 3.feitcode",
            "Z 999 staat niet in de catalogus",
        ),
        ("feitcode;bedrag\nBF 185;110\nBF185;120\n", "", "regel 3.feitcode", "staat al op regel 2"),
        ("feitcode;bedrag\nR 397a;90\n", "", "regel 2.categorie", "per categorie"),
        ("feitcode;bedrag;categorie\nR 397a;90;9\n", "", "regel 2.categorie", "bestaat niet"),
        ("feitcode;bedrag;ingangsdatum\nBF 185;90;morgen\n", "", "regel 2.ingangsdatum", "geen datum"),
        ("feitcode;bedrag;ingangsdatum\nBF 185;90;2020-01-01\n", "", "regel 2.ingangsdatum", "een jaar"),
        ("feitcode;bedrag\nBF 185;90\n", "?valid_from=2040-01-01", "valid_from", "een jaar"),
        ("feitcode;bedrag\n", "", "regel 2", "geen tarieven"),
        ("", "", "regel 1", "leeg"),
    ],
)
async def test_each_bad_line_is_refused_by_line_and_column_and_nothing_stored(
    db: tuple[str, World], tmp_path: Path, text: str, query: str, field: str, reason: str
) -> None:
    async with environment(db, tmp_path) as env:
        before = len((await env["admin_a"].get("/api/catalogues")).json())
        r = await env["admin_a"].post(f"/api/catalogues/tariffs{query}", content=text.encode(), headers=CSV)
        assert r.status_code == 400, r.text
        assert r.json()["field"] == field and reason in r.text
        assert len((await env["admin_a"].get("/api/catalogues")).json()) == before
        assert not await rows(db[0], "SELECT 1 FROM audit_log WHERE action = 'tariff_import'")


async def test_only_leads_import_and_the_body_is_bounded(db: tuple[str, World], tmp_path: Path) -> None:
    async with environment(db, tmp_path) as env:
        body = b"feitcode;bedrag\nBF 185;110\n"
        for user in ("boa_a", "operator_mk"):
            r = await env[user].post("/api/catalogues/tariffs", content=body, headers=CSV)
            assert r.status_code == 403, (user, r.text)
        assert (await env["boa_a"].get("/api/catalogues/entries?q=BF")).status_code == 403
        huge = b"feitcode;bedrag\n" + b"BF 185;110\n" * 200_000
        r = await env["admin_a"].post("/api/catalogues/tariffs", content=huge, headers=CSV)
        assert r.status_code == 413


async def test_the_version_in_force_on_the_registrations_own_day(
    db: tuple[str, World], tmp_path: Path
) -> None:
    async with environment(db, tmp_path) as env:
        for start, euros in ((-20, 100), (-5, 120), (30, 150)):
            text = f"feitcode;bedrag\nBF 185;{euros}\n"
            r = await env["lead_a"].post(
                f"/api/catalogues/tariffs?valid_from={day(start)}", content=text.encode(), headers=CSV
            )
            assert r.status_code == 201, r.text
            assert r.json()["version"]["valid_from"] == day(start)
        assert [
            amount((await env["boa_a"].post("/api/registrations", json=fine(occurred_at=ago))).json())
            for days, ago in ((d, (datetime.now(UTC) - timedelta(days=d)).isoformat()) for d in (30, 10, 0))
        ] == [None, 100, 120]
        found = (await env["admin_a"].get(f"/api/catalogues/entries?q=BF 185&on={day(31)}")).json()
        assert found["version"]["valid_from"] == day(30) and found["entries"][0]["amounts_eur"] == {
            "adult": 150
        }
