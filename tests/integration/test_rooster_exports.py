"""The published rooster's exports over HTTP with a real PostgreSQL: the CSV opens in Excel, the PDF holds the
boa's names, a boa's calendar app reads its shifts from a secret URL, and who may have what."""

from __future__ import annotations

import csv
import io
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import icalendar
import pytest
from pypdf import PdfReader

from tests.conftest import new_database
from tests.integration.registrations_kit import environment, world_template
from tests.integration.world import World

OUDE = "Burgwallen-Oude Zijde"
NIEUWE = "Burgwallen-Nieuwe Zijde"


@pytest.fixture(scope="module")
async def world_db(pg_server: str, template_db: str) -> tuple[str, World]:
    return await world_template(pg_server, template_db)


@pytest.fixture
async def db(pg_server: str, world_db: tuple[str, World]) -> tuple[str, World]:
    return await new_database(pg_server, world_db[0]), world_db[1]


async def seed(url: str, world: World) -> dict[str, Any]:
    """A plan of Gemeente A from today with two published versions; the second moves the first shift."""
    start = date.today()
    conn = await asyncpg.connect(url)
    try:
        ids = {r["username"]: r["id"] for r in await conn.fetch("SELECT id, username FROM accounts")}
        await conn.execute("UPDATE accounts SET display_name = 'Jansen' WHERE username = 'boa_a'")
        await conn.execute("UPDATE accounts SET display_name = 'De Vries' WHERE username = 'boa_a2'")
        types = {}
        for code, name, start_minute, minutes in (
            ("vroeg", "Vroeg", 420, 480),
            ("laat", "Laat", 900, 480),
            ("nacht", "Nacht", 1380, 480),
        ):
            types[code] = await conn.fetchval(
                """INSERT INTO rooster_shift_types (org_id, code, name, start_minute, duration_minutes)
                   VALUES ($1, $2, $3, $4, $5) RETURNING id""",
                world.org_a,
                code,
                name,
                start_minute,
                minutes,
            )
        plan = await conn.fetchval(
            """INSERT INTO rooster_plans (org_id, name, start_day, days, created_by)
               VALUES ($1, 'Vier weken', $2, 28, $3) RETURNING id""",
            world.org_a,
            start,
            ids["lead_a"],
        )
        oude, nieuwe = world.beats_a[OUDE], world.beats_a[NIEUWE]

        async def publish(number: int, first: str) -> int:
            version = await conn.fetchval(
                """INSERT INTO rooster_versions (plan_id, number, published_by) VALUES ($1, $2, $3)
                   RETURNING id""",
                plan,
                number,
                ids["lead_a"],
            )
            rows = [(0, first, oude), (1, "nacht", nieuwe), (4, "vroeg", oude)]
            for offset, code, beat in rows:
                for boa in ("boa_a", "boa_a2"):
                    await conn.execute(
                        """INSERT INTO rooster_version_assignments
                           (version_id, account_id, day, shift_type_id, beat_id, duo)
                           VALUES ($1, $2, $3, $4, $5, 0)""",
                        version,
                        ids[boa],
                        start + timedelta(days=offset),
                        types[code],
                        beat,
                    )
            return int(version)

        await publish(1, "vroeg")
        await publish(2, "laat")
        return {"plan": plan, "start": start, "ids": ids, "publish": None, "types": types}
    finally:
        await conn.close()


async def publish_third(url: str, seeded: dict[str, Any], world: World) -> None:
    """Version 3: boa_a's first day becomes a night shift (same day, so the same calendar event)."""
    conn = await asyncpg.connect(url)
    try:
        version = await conn.fetchval(
            "INSERT INTO rooster_versions (plan_id, number) VALUES ($1, 3) RETURNING id", seeded["plan"]
        )
        await conn.execute(  # a copy of version 2 with the first day's shift changed
            """INSERT INTO rooster_version_assignments
                      (version_id, account_id, day, shift_type_id, beat_id, duo)
               SELECT $1, va.account_id, va.day, CASE WHEN va.day = $3 THEN $4 ELSE va.shift_type_id END,
                      va.beat_id, va.duo
                 FROM rooster_version_assignments va JOIN rooster_versions v ON v.id = va.version_id
                WHERE v.plan_id = $2 AND v.number = 2""",
            version,
            seeded["plan"],
            seeded["start"],
            seeded["types"]["nacht"],
        )
    finally:
        await conn.close()


async def audit_rows(url: str, action: str) -> list[asyncpg.Record]:
    conn = await asyncpg.connect(url)
    try:
        return await conn.fetch(
            "SELECT org_id, actor_id, result, object_id FROM audit_log WHERE action = $1 ORDER BY id", action
        )
    finally:
        await conn.close()


async def test_csv_of_the_latest_version_opens_in_excel(db: tuple[str, World], tmp_path: Path) -> None:
    seeded = await seed(*db)
    async with environment(db, tmp_path) as env:
        r = await env["lead_a"].get(f"/api/rooster/plans/{seeded['plan']}/rooster.csv")
        assert r.status_code == 200, r.text
        assert (
            r.headers["content-type"].startswith("text/csv")
            and "attachment" in r.headers["content-disposition"]
        )
        assert r.content.startswith(b"\xef\xbb\xbf")  # UTF-8 BOM: Dutch Excel reads the accents
        rows = list(csv.reader(io.StringIO(r.content.decode("utf-8-sig")), delimiter=";"))
        assert rows[0] == ["Rooster", "Gemeente A", "Vier weken", "versie 2"]
        header = rows[3]
        assert header == [
            "Datum",
            "Dag",
            "Boa",
            "Dienst",
            "Begin",
            "Einde",
            "Uren",
            "Gebied",
            "Buurtcode",
            "Duo",
            "Duo met",
        ]
        data = [dict(zip(header, row, strict=True)) for row in rows[4:]]
        assert len(data) == 6
        first = [d for d in data if d["Boa"] == "Jansen"][0]
        assert first["Datum"] == seeded["start"].strftime("%d-%m-%Y")
        assert (first["Dienst"], first["Begin"], first["Einde"]) == ("Laat", "15:00", "23:00")  # version 2
        assert first["Gebied"] == OUDE and first["Duo met"] == "De Vries"
        night = [d for d in data if d["Dienst"] == "Nacht" and d["Boa"] == "De Vries"][0]
        assert (night["Begin"], night["Einde"], night["Uren"]) == ("23:00", "07:00", "8")
        logged = await audit_rows(db[0], "export_rooster_csv")
        assert [(x["org_id"], x["result"]) for x in logged] == [(db[1].org_a, "ok")]


async def test_pdf_grid_holds_the_names(db: tuple[str, World], tmp_path: Path) -> None:
    seeded = await seed(*db)
    async with environment(db, tmp_path) as env:
        r = await env["admin_a"].get(f"/api/rooster/plans/{seeded['plan']}/rooster.pdf")
        assert r.status_code == 200, r.text
        assert r.headers["content-type"] == "application/pdf"
        reader = PdfReader(io.BytesIO(r.content))
        text = "\n".join(page.extract_text() for page in reader.pages)
        assert "Jansen" in text and "De Vries" in text and "versie 2" in text
        assert "laat" in text and "nacht" in text
        assert (tmp_path / "x").parent.exists()


async def test_another_gemeente_and_other_roles_get_nothing(db: tuple[str, World], tmp_path: Path) -> None:
    seeded = await seed(*db)
    plan = seeded["plan"]
    async with environment(db, tmp_path) as env:
        for what in ("csv", "pdf"):
            r = await env["lead_b"].get(f"/api/rooster/plans/{plan}/rooster.{what}")
            assert r.status_code == 404, r.text
            assert r.json()["field"] == "plan_id"
        denied = await audit_rows(db[0], "export_rooster_csv")
        lead_b = seeded["ids"]["lead_b"]
        assert {(x["org_id"], x["actor_id"], x["result"]) for x in denied} == {
            (db[1].org_a, lead_b, "denied"),
            (db[1].org_b, lead_b, "not_found"),
        }
        assert (await env["boa_a"].get(f"/api/rooster/plans/{plan}/rooster.csv")).status_code == 403
        assert (await env["operator_mk"].get(f"/api/rooster/plans/{plan}/rooster.pdf")).status_code == 403
        assert (await env["lead_a"].get("/api/rooster/plans/999999/rooster.csv")).status_code == 404
        async with httpx.AsyncClient(base_url=env.server.base) as anonymous:
            assert (await anonymous.get(f"/api/rooster/plans/{plan}/rooster.csv")).status_code == 401


async def test_unpublished_plan_has_no_download(db: tuple[str, World], tmp_path: Path) -> None:
    conn = await asyncpg.connect(db[0])
    try:
        plan = await conn.fetchval(
            """INSERT INTO rooster_plans (org_id, name, start_day, days)
               VALUES ($1, 'Concept', $2, 7) RETURNING id""",
            db[1].org_a,
            date.today(),
        )
    finally:
        await conn.close()
    async with environment(db, tmp_path) as env:
        r = await env["lead_a"].get(f"/api/rooster/plans/{plan}/rooster.csv")
        assert r.status_code == 404 and "nog geen gepubliceerde versie" in r.json()["detail"]


def events(body: bytes) -> list[Any]:
    cal = icalendar.Calendar.from_ical(body)
    assert any(tz.get("tzid") == "Europe/Amsterdam" for tz in cal.walk("VTIMEZONE"))
    return sorted(cal.walk("VEVENT"), key=lambda e: e.decoded("dtstart"))


async def test_a_boas_calendar_feed_from_a_secret_url(db: tuple[str, World], tmp_path: Path) -> None:
    seeded = await seed(*db)
    boa = seeded["ids"]["boa_a"]
    async with environment(db, tmp_path) as env, httpx.AsyncClient() as calendar_app:
        r = await env["lead_a"].post(f"/api/rooster/feeds/{boa}")
        assert r.status_code == 201, r.text
        url = r.json()["url"]
        assert url.startswith(env.server.base + "/rooster/feed/") and url.endswith(".ics")

        r = await calendar_app.get(url)  # no login header: the URL is the credential
        assert r.status_code == 200, r.text
        assert r.headers["content-type"].startswith("text/calendar")
        found = events(r.content)
        assert len(found) == 3  # only Jansen's own shifts
        first = found[0]
        assert str(first.get("summary")) == f"Dienst laat — {OUDE} (duo met De Vries)"
        start = first.decoded("dtstart")
        assert str(start.tzinfo) == "Europe/Amsterdam" and (start.date(), start.hour) == (seeded["start"], 15)
        assert first.get("dtstart").params["TZID"] == "Europe/Amsterdam"
        night = found[1]
        assert night.decoded("dtend") - night.decoded("dtstart") == timedelta(hours=8)
        assert night.decoded("dtend").hour == 7
        uid = str(first.get("uid"))

        # a new version changes the shift: the same event (UID) with a higher SEQUENCE, not a second one
        await publish_third(db[0], seeded, db[1])
        again = events((await calendar_app.get(url)).content)
        assert len(again) == 3
        moved = [e for e in again if str(e.get("uid")) == uid]
        assert len(moved) == 1 and str(moved[0].get("summary")).startswith("Dienst nacht")
        assert int(moved[0].get("sequence")) == 3

        # a wrong secret, a revoked one, a replaced one: 404
        assert (
            await calendar_app.get(env.server.base + "/rooster/feed/" + "x" * 43 + ".ics")
        ).status_code == 404
        r = await env["boa_a"].post(f"/api/rooster/feeds/{boa}")  # the boa issues his own: the old URL stops
        assert r.status_code == 201
        assert (await calendar_app.get(url)).status_code == 404
        newer = r.json()["url"]
        assert (await calendar_app.get(newer)).status_code == 200
        assert (await env["lead_a"].delete(f"/api/rooster/feeds/{boa}")).status_code == 204
        assert (await calendar_app.get(newer)).status_code == 404
        assert (await env["lead_a"].delete(f"/api/rooster/feeds/{boa}")).status_code == 404


async def test_feed_secrets_are_only_for_the_own_gemeente(db: tuple[str, World], tmp_path: Path) -> None:
    seeded = await seed(*db)
    ids = seeded["ids"]
    async with environment(db, tmp_path) as env:
        r = await env["lead_b"].post(f"/api/rooster/feeds/{ids['boa_a']}")
        assert r.status_code == 404 and r.json()["field"] == "account_id"
        refused = await audit_rows(db[0], "rooster_feed_issue")
        assert (db[1].org_a, ids["lead_b"], "denied") in {
            (x["org_id"], x["actor_id"], x["result"]) for x in refused
        }
        assert (await env["boa_a"].post(f"/api/rooster/feeds/{ids['boa_a2']}")).status_code == 403
        assert (await env["operator_mk"].post(f"/api/rooster/feeds/{ids['boa_a']}")).status_code == 403
        conn = await asyncpg.connect(db[0])
        try:
            stored = await conn.fetch("SELECT secret_hash FROM rooster_feed_keys")
        finally:
            await conn.close()
        assert stored == []  # nothing was issued
        r = await env["lead_a"].post(f"/api/rooster/feeds/{ids['boa_a']}")
        secret = r.json()["secret"]
        conn = await asyncpg.connect(db[0])
        try:
            (row,) = await conn.fetch("SELECT secret_hash FROM rooster_feed_keys")
        finally:
            await conn.close()
        assert secret.encode() not in bytes(row["secret_hash"]) and len(bytes(row["secret_hash"])) == 32
