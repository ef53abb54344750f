"""Registrations on the real database via the real API: never lost, never doubled, only for who may see."""

from __future__ import annotations

import asyncio
import os
import sys
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import asyncpg
import pytest

from backend.db.pool import create_pool
from backend.privacy import retention
from tests.conftest import new_database
from tests.integration.registrations_kit import (
    aggression,
    environment,
    fine,
    jpeg,
    sha,
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


async def scalar(url: str, sql: str, *args: object) -> Any:
    conn = await asyncpg.connect(url)
    try:
        return await conn.fetchval(sql, *args)
    finally:
        await conn.close()


async def test_retry_stores_once_and_other_content_conflicts(db: tuple[str, World], tmp_path: Path) -> None:
    async with environment(db, tmp_path) as env:
        body = waarneming()
        first = await env["boa_a"].post("/api/registrations", json=body)
        assert first.status_code == 201, first.text
        again = await env["boa_a"].post("/api/registrations", json=body)
        assert again.status_code == 200
        assert again.json() == first.json()
        changed = await env["boa_a"].post("/api/registrations", json={**body, "text": "iets anders"})
        assert changed.status_code == 409
        assert changed.json()["differences"] == ["text"]
        stored = first.json()
        assert stored["beat_ids"] == [env.world.beats_a["Burgwallen-Oude Zijde"]]
        assert (
            stored["regime"] == "avg" and stored["complete"] is True and stored["unit_id"] == env.world.unit_a
        )
    assert await scalar(db[0], "SELECT count(*) FROM registrations") == 1


async def test_same_instant_in_another_offset_is_the_same_content(
    db: tuple[str, World], tmp_path: Path
) -> None:
    async with environment(db, tmp_path) as env:
        at = datetime.now(UTC).replace(microsecond=0) - timedelta(hours=1)
        body = waarneming(occurred_at=at.isoformat())
        assert (await env["boa_a"].post("/api/registrations", json=body)).status_code == 201
        shifted = at.astimezone(__import__("zoneinfo").ZoneInfo("Europe/Amsterdam")).isoformat()
        assert (
            await env["boa_a"].post("/api/registrations", json={**body, "occurred_at": shifted})
        ).status_code == 200


async def test_missing_photo_keeps_registration_incomplete_until_uploaded(
    db: tuple[str, World], tmp_path: Path
) -> None:
    async with environment(db, tmp_path) as env:
        one, two = jpeg(), jpeg()
        boa = env["boa_a"]
        put = await boa.put(f"/api/photos/{sha(one)}", content=one, headers={"content-type": "image/jpeg"})
        assert put.status_code == 201 and put.json()["created"] is True
        body = fine(photos=[sha(one), sha(two)])
        created = await boa.post("/api/registrations", json=body)
        assert created.status_code == 201, created.text
        assert created.json()["complete"] is False and created.json()["missing_photos"] == [sha(two)]
        missing = await boa.post("/api/photos/missing", json={"hashes": [sha(one), sha(two)]})
        assert missing.json() == {"missing": [sha(two)]}
        assert (
            await boa.put(f"/api/photos/{sha(two)}", content=two, headers={"content-type": "image/jpeg"})
        ).status_code == 201
        again = await boa.put(f"/api/photos/{sha(two)}", content=two, headers={"content-type": "image/jpeg"})
        assert again.status_code == 200 and again.json()["created"] is False
        read = await boa.get(f"/api/registrations/{body['id']}")
        assert read.json()["registration"]["complete"] is True
        photo = await env["lead_a"].get(f"/api/photos/{sha(two)}")
        assert photo.status_code == 200 and photo.content == two
        assert (await env["lead_b"].get(f"/api/photos/{sha(two)}")).status_code == 404
    assert await scalar(db[0], "SELECT count(*) FROM photos") == 2
    assert (tmp_path / "uploads" / sha(two)[:2] / sha(two)).read_bytes() == two


@pytest.mark.parametrize(("headers", "mutate", "status", "field"), [
    ({"content-type": "image/gif"}, None, 415, "content-type"),
    ({"content-type": "image/jpeg"}, "hash", 400, "sha256"),
    ({"content-type": "image/png"}, None, 415, "body"),
])  # fmt: skip
async def test_bad_photos_are_refused(
    db: tuple[str, World],
    tmp_path: Path,
    headers: dict[str, str],
    mutate: str | None,
    status: int,
    field: str,
) -> None:
    async with environment(db, tmp_path) as env:
        data = jpeg()
        digest = sha(b"other") if mutate == "hash" else sha(data)
        r = await env["boa_a"].put(f"/api/photos/{digest}", content=data, headers=headers)
        assert r.status_code == status and r.json()["field"] == field
        big = b"\xff\xd8\xff" + bytes(10 * 1024 * 1024)
        r = await env["boa_a"].put(
            f"/api/photos/{sha(big)}", content=big, headers={"content-type": "image/jpeg"}
        )
        assert r.status_code == 413
        assert (
            await env["boa_a"].put("/api/photos/xyz", content=data, headers={"content-type": "image/jpeg"})
        ).status_code == 400


async def test_another_gemeente_sees_nothing(db: tuple[str, World], tmp_path: Path) -> None:
    async with environment(db, tmp_path) as env:
        body = fine()
        assert (await env["boa_a"].post("/api/registrations", json=body)).status_code == 201
        for user in ("boa_b", "lead_b"):
            assert (await env[user].get(f"/api/registrations/{body['id']}")).status_code == 404
            assert (await env[user].get("/api/registrations")).json() == []
            assert (await env[user].get(f"/api/registrations/{body['id']}/receipt")).status_code == 404
        assert (await env["lead_b"].get("/api/reports/registrations.csv")).text.count("\n") == 1
        # the same id from the other gemeente is a conflict that reveals nothing
        other = await env["boa_b"].post("/api/registrations", json=body)
        assert other.status_code == 409 and other.json()["differences"] == ["id"]
        assert (await env["lead_a"].get(f"/api/registrations/{body['id']}")).status_code == 200


async def test_boa_sees_own_and_duo_work_but_not_other_colleagues(
    db: tuple[str, World], tmp_path: Path
) -> None:
    async with environment(db, tmp_path) as env:
        mine = waarneming()
        assert (await env["boa_a"].post("/api/registrations", json=mine)).status_code == 201
        assert (await env["boa_a2"].get(f"/api/registrations/{mine['id']}")).status_code == 404
        shared = waarneming(boa_ids=[env.accounts["boa_a2"]])
        assert (await env["boa_a"].post("/api/registrations", json=shared)).status_code == 201
        assert (await env["boa_a2"].get(f"/api/registrations/{shared['id']}")).status_code == 200
        listed = (await env["lead_a"].get("/api/registrations")).json()
        assert {r["id"] for r in listed} == {mine["id"], shared["id"]}
        assert "details" not in listed[0]  # lists carry no personal data


async def test_reads_and_exports_are_in_the_audit_log(db: tuple[str, World], tmp_path: Path) -> None:
    async with environment(db, tmp_path) as env:
        body = fine()
        assert (await env["boa_a"].post("/api/registrations", json=body)).status_code == 201
        r = await env["lead_a"].get(f"/api/registrations/{body['id']}", headers={"x-reason": "controle"})
        assert r.status_code == 200
        assert (await env["lead_a"].get("/api/reports/registrations.csv?reason=cjib")).status_code == 200
        assert (await env["lead_b"].get(f"/api/registrations/{body['id']}")).status_code == 404
        log = (await env["admin_a"].get(f"/api/audit?object_id={body['id']}")).json()
        actions = [(e["action"], e["actor_id"], e["result"], e["reason"]) for e in log]
        assert ("read", env.accounts["lead_a"], "ok", "controle") in actions
        assert ("export_csv", env.accounts["lead_a"], "ok", "cjib") in actions
        assert ("create", env.accounts["boa_a"], "ok", None) in actions
        assert all(e["origin"].startswith("127.0.0.1") for e in log)
        assert (await env["boa_a"].get("/api/audit")).status_code == 403
        # gemeente B's admin cannot search A's log; B's refused read is in B's log
        refused = (await env["privacy_a"].get("/api/audit?action=read")).json()
        assert all(e["org_id"] == env.world.org_a for e in refused)
    with pytest.raises(asyncpg.PostgresError, match="append-only"):
        await scalar(db[0], "UPDATE audit_log SET result = 'x'")
    with pytest.raises(asyncpg.PostgresError, match="append-only"):
        await scalar(db[0], "DELETE FROM audit_log")


async def test_retention_archives_due_records_and_later_deletes_them(
    db: tuple[str, World], tmp_path: Path
) -> None:
    async with environment(db, tmp_path) as env:
        boa = env["boa_a"]
        photo = jpeg()
        await boa.put(f"/api/photos/{sha(photo)}", content=photo, headers={"content-type": "image/jpeg"})
        old_fine = fine(photos=[sha(photo)])
        observation = waarneming()
        for body in (old_fine, observation):
            assert (await boa.post("/api/registrations", json=body)).status_code == 201
        pool = await create_pool(db[0], min_size=1, max_size=1)
        try:
            now = datetime.now(UTC)
            uploads = tmp_path / "uploads"
            assert (uploads / sha(photo)[:2] / sha(photo)).exists()
            async with pool.acquire() as conn:
                # avg (3 years) is due before wpg8 (5 years): at 4 years only the waarneming is archived
                result = await retention.run(conn, uploads, now + timedelta(days=4 * 365))
                assert result.archived == [uuid.UUID(observation["id"])] and result.deleted == []
                assert (await boa.get(f"/api/registrations/{observation['id']}")).status_code == 404
                assert (await boa.get(f"/api/registrations/{old_fine['id']}")).status_code == 200
                result = await retention.run(conn, uploads, now + timedelta(days=5 * 365 + 2))
                assert result.archived == [uuid.UUID(old_fine["id"])]
                assert (await env["lead_a"].get("/api/registrations")).json() == []
                result = await retention.run(conn, uploads, now + timedelta(days=10 * 365 + 5))
                assert set(result.deleted) == {uuid.UUID(old_fine["id"]), uuid.UUID(observation["id"])}
                assert result.photos_deleted == [sha(photo)]
                assert not (uploads / sha(photo)[:2] / sha(photo)).exists()
        finally:
            await pool.close()
    assert await scalar(db[0], "SELECT count(*) FROM registrations") == 0
    assert await scalar(db[0], "SELECT count(*) FROM audit_log WHERE action = 'retention'") == 3


async def test_team_lead_corrects_and_voids_with_a_reason_keeping_versions(
    db: tuple[str, World], tmp_path: Path
) -> None:
    async with environment(db, tmp_path) as env:
        body = fine()
        assert (await env["boa_a"].post("/api/registrations", json=body)).status_code == 201
        fixed = {**body, "offender": {**body["offender"], "name": "Jan Janssen"}}
        assert (
            await env["boa_a"].post(
                f"/api/registrations/{body['id']}/correct", json={"reason": "typfout", "registration": fixed}
            )
        ).status_code == 403
        r = await env["lead_a"].post(
            f"/api/registrations/{body['id']}/correct",
            json={"reason": "typfout in naam", "registration": fixed},
        )
        assert r.status_code == 200, r.text
        assert r.json()["version"] == 2 and r.json()["details"]["offender"]["name"] == "Jan Janssen"
        r = await env["lead_a"].post(
            f"/api/registrations/{body['id']}/void", json={"reason": "dubbel ingevoerd"}
        )
        assert r.json()["state"] == "voided" and r.json()["version"] == 3
        versions = (await env["lead_a"].get(f"/api/registrations/{body['id']}/versions")).json()
        assert [(v["version"], v["action"], v["reason"]) for v in versions] == [
            (1, "correct", "typfout in naam"),
            (2, "void", "dubbel ingevoerd"),
        ]
        assert versions[0]["details"]["offender"]["name"] == "Jan Jansen"
        # a retry of the original submission is still recognised as the same registration
        assert (await env["boa_a"].post("/api/registrations", json=body)).status_code == 200
        assert (
            await env["lead_a"].post(f"/api/registrations/{body['id']}/void", json={"reason": "nogmaals"})
        ).status_code == 400


async def test_fine_gets_tariff_receipt_and_export(db: tuple[str, World], tmp_path: Path) -> None:
    extra = "UPDATE organisations SET fine_track = 'bestuurlijke_boete' WHERE code = 'gemeente-a'"
    async with environment(db, tmp_path, extra) as env:
        body = fine(licence_plate="AB-123-C")
        r = await env["boa_a"].post("/api/registrations", json=body)
        assert r.status_code == 201, r.text
        assert r.json()["derived"]["tariff"]["amount_eur"] == 90
        receipt = await env["boa_a"].get(f"/api/registrations/{body['id']}/receipt")
        assert receipt.status_code == 200 and "Aankondiging van bestuurlijke boete" in receipt.text
        assert "€ 90,00" in receipt.text and "Jan Jansen" in receipt.text
        parking = fine(feitcode="R 397a")
        r = await env["boa_a"].post("/api/registrations", json=parking)
        assert r.status_code == 400 and r.json()["field"] == "vehicle_category"
        r = await env["boa_a"].post("/api/registrations", json={**parking, "vehicle_category": "1"})
        assert r.json()["derived"]["tariff"]["amount_eur"] == 90
        csv_text = (await env["lead_a"].get("/api/reports/registrations.csv?kind=fine")).text
        assert csv_text.count("\r\n") == 3 and "IX12345678" in csv_text


async def test_receipt_escapes_what_the_boa_and_offender_typed(db: tuple[str, World], tmp_path: Path) -> None:
    async with environment(db, tmp_path) as env:
        body = fine(
            statement="<script>alert('x')</script> & meer",
            location={
                "lon": OUDE_ZIJDE[0],
                "lat": OUDE_ZIJDE[1],
                "address": '<img src=x onerror="alert(1)">',
            },
        )
        assert (await env["boa_a"].post("/api/registrations", json=body)).status_code == 201
        receipt = await env["boa_a"].get(f"/api/registrations/{body['id']}/receipt")
        assert receipt.status_code == 200 and receipt.headers["content-type"].startswith("text/html")
        assert "<script>" not in receipt.text and "<img" not in receipt.text
        assert "&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt; &amp; meer" in receipt.text
        assert "&lt;img src=x onerror=&#34;alert(1)&#34;&gt;" in receipt.text


async def test_aggression_deadline_and_gir_export(db: tuple[str, World], tmp_path: Path) -> None:
    async with environment(db, tmp_path) as env:
        body = aggression()
        assert (await env["boa_a"].post("/api/registrations", json=body)).status_code == 201
        view = (await env["boa_a"].get(f"/api/registrations/{body['id']}")).json()
        assert view["deadline"]["reported"] is False and "VPT" in view["deadline"]["reminder"]
        gir = await env["lead_a"].get("/api/reports/gir.csv")
        assert gir.status_code == 200 and "verbaal bedreiging" in gir.text


async def test_feitcode_search_puts_apv_zone_codes_first(db: tuple[str, World], tmp_path: Path) -> None:
    zone = {"type": "FeatureCollection", "features": [{"type": "Feature",
            "properties": {"code": "HOND-1", "name": "Hondenlosloopgebied", "tags": "hond"},
            "geometry": {"type": "Polygon", "coordinates": [[[4.89, 52.37], [4.90, 52.37], [4.90, 52.38],
                                                              [4.89, 52.38], [4.89, 52.37]]]}}]}  # fmt: skip
    async with environment(db, tmp_path) as env:
        r = await env["lead_a"].post("/api/apv-zones/import", json=zone)
        assert r.status_code == 201, r.text
        inside = (await env["boa_a"].get("/api/feitcodes?q=&lon=4.897&lat=52.3745&limit=5")).json()
        assert inside["zone_tags"] == ["hond"] and inside["hits"][0]["applies_here"] is True
        assert "hond" in inside["hits"][0]["tags"]
        outside = (await env["boa_a"].get("/api/feitcodes?q=&lon=4.96&lat=52.33&limit=5")).json()
        assert outside["zone_tags"] == [] and not outside["hits"][0]["applies_here"]
        assert (await env["boa_b"].get("/api/feitcodes?lon=4.897&lat=52.3745")).json()["zone_tags"] == []


async def test_admin_replaces_catalogue_and_old_fines_keep_their_version(
    db: tuple[str, World], tmp_path: Path
) -> None:
    import msgspec

    from backend.feitcodes.catalogue import load_catalogue

    async with environment(db, tmp_path) as env:
        first = fine()
        old = (await env["boa_a"].post("/api/registrations", json=first)).json()
        catalogue = load_catalogue()
        newer = msgspec.structs.replace(
            catalogue,
            version="2026-01-01.1",
            valid_from=datetime(2026, 1, 1).date(),
            entries=tuple(e for e in catalogue.entries if e.code != "BF 185"),
        )
        assert (
            await env["boa_a"].post("/api/catalogues", content=msgspec.json.encode(newer))
        ).status_code == 403
        bad = await env["admin_a"].post("/api/catalogues", content=b'{"version": "x", "entries": []}')
        assert bad.status_code == 400 and bad.json()["field"]
        r = await env["admin_a"].post("/api/catalogues", content=msgspec.json.encode(newer))
        assert r.status_code == 201, r.text
        assert r.json()["version"] == "2026-01-01.1"
        r = await env["boa_a"].post("/api/registrations", json=fine())
        assert r.status_code == 400 and r.json()["field"] == "feitcode"
        still = (await env["boa_a"].get(f"/api/registrations/{first['id']}")).json()["registration"]
        assert still["catalogue_version_id"] == old["catalogue_version_id"] != int(r.json().get("x", 0) or -1)


async def test_access_request_returns_registrations_and_disclosures(
    db: tuple[str, World], tmp_path: Path
) -> None:
    async with environment(db, tmp_path) as env:
        body = fine()
        assert (await env["boa_a"].post("/api/registrations", json=body)).status_code == 201
        assert (
            await env["lead_a"].get(f"/api/registrations/{body['id']}", headers={"x-reason": "review"})
        ).is_success
        request = {"name": "  jan   JANSEN ", "birth_date": "1990-04-01", "reason": "inzageverzoek 2026-17"}
        assert (await env["lead_a"].post("/api/inzage", json=request)).status_code == 403
        answer = (await env["privacy_a"].post("/api/inzage", json=request)).json()
        assert [r["id"] for r in answer["registrations"]] == [body["id"]]
        assert any(
            d["action"] == "read" and d["actor_id"] == env.accounts["lead_a"] for d in answer["disclosures"]
        )
        other = (
            await env["privacy_a"].post("/api/inzage", json={**request, "birth_date": "1991-04-01"})
        ).json()
        assert other["registrations"] == []


async def test_monthly_overview_counts_per_beat_and_category(db: tuple[str, World], tmp_path: Path) -> None:
    async with environment(db, tmp_path) as env:
        for body in (waarneming(), waarneming(), waarneming(category="jeugd"), fine()):
            assert (await env["boa_a"].post("/api/registrations", json=body)).status_code == 201
        month = datetime.now(UTC).strftime("%Y-%m")
        rows = (await env["lead_a"].get(f"/api/reports/overview?month={month}")).json()["rows"]
        counts = {(r["beat_name"], r["category"]): r["count"] for r in rows}
        assert counts[("Burgwallen-Oude Zijde", "afval")] == 2
        assert counts[("Burgwallen-Oude Zijde", "jeugd")] == 1
        page = await env["lead_a"].get(f"/api/reports/overview.html?month={month}")
        assert page.status_code == 200 and "<svg" in page.text
        assert (await env["lead_a"].get("/api/reports/overview?month=2026-13")).status_code == 400


async def test_wpg8_data_leaves_lists_after_a_year_but_stays_reachable_by_id(
    db: tuple[str, World], tmp_path: Path
) -> None:
    from backend.auth.tokens import Principal
    from backend.registrations import repository as repo

    async with environment(db, tmp_path) as env:
        a_fine, observation = fine(), waarneming()
        for body in (a_fine, observation):
            assert (await env["boa_a"].post("/api/registrations", json=body)).status_code == 201
        lead = Principal(account_id=env.accounts["lead_a"], org_id=env.world.org_a, role="teamlead",
                         visible_org_ids=frozenset({env.world.org_a}))  # fmt: skip
        pool = await create_pool(db[0], min_size=1, max_size=1)
        try:
            async with pool.acquire() as conn:
                later = datetime.now(UTC) + timedelta(days=366)
                listed = await repo.list_visible(conn, lead, repo.Filters(), now=later)
                assert [str(r.id) for r in listed] == [observation["id"]]
                assert len(await repo.list_visible(conn, lead, repo.Filters())) == 2
                assert await repo.get_visible(conn, lead, uuid.UUID(a_fine["id"])) is not None
        finally:
            await pool.close()


async def test_concurrent_identical_submits_store_one(db: tuple[str, World], tmp_path: Path) -> None:
    async with environment(db, tmp_path) as env:
        body = fine()
        answers = await asyncio.gather(
            *(env["boa_a"].post("/api/registrations", json=body) for _ in range(6))
        )
        assert sorted(a.status_code for a in answers) == [200] * 5 + [201]
    assert await scalar(db[0], "SELECT count(*) FROM registrations") == 1


async def test_duo_partner_sees_the_units_work_during_the_shared_shift(
    db: tuple[str, World], tmp_path: Path
) -> None:
    partners = "UPDATE shifts SET account_ids = ARRAY[(SELECT id FROM accounts WHERE username = 'boa_a'), (SELECT id FROM accounts WHERE username = 'boa_a2')], started_at = now() - interval '1 hour' WHERE ended_at IS NULL AND unit_id = (SELECT id FROM units WHERE call_sign = 'A-01')"  # noqa: E501
    async with environment(db, tmp_path, partners) as env:
        during = aggression()
        before = waarneming(occurred_at=(datetime.now(UTC) - timedelta(hours=3)).isoformat())
        for body in (during, before):
            assert (await env["boa_a"].post("/api/registrations", json=body)).status_code == 201
        assert (await env["boa_a2"].get(f"/api/registrations/{during['id']}")).status_code == 200
        assert (await env["boa_a2"].get(f"/api/registrations/{before['id']}")).status_code == 404
        listed = (await env["boa_a2"].get("/api/registrations")).json()
        assert [r["id"] for r in listed] == [during["id"]]
        assert listed[0]["reported"] == "geen" and listed[0]["aangifte_deadline"]


async def _schakel(db_url: str, data_dir: Path, *args: str) -> tuple[int, str]:
    env = {**os.environ, "SCHAKEL_DATABASE_URL": db_url, "SCHAKEL_DATA_DIR": str(data_dir)}
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "backend.cli", *args, env=env,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip
    try:
        out, err = await proc.communicate()
    finally:
        if proc.returncode is None:  # cancelled or timed out: the command must not outlive the test
            proc.kill()
            await proc.wait()
    return int(proc.returncode or 0), (out + err).decode()


async def test_retention_command_sets_periods_and_runs(db: tuple[str, World], tmp_path: Path) -> None:
    async with environment(db, tmp_path) as env:
        body = waarneming()
        assert (await env["boa_a"].post("/api/registrations", json=body)).status_code == 201
    code, out = await _schakel(db[0], tmp_path, "retention", "set", "--regime", "avg",
                               "--archive-after", "vier jaar", "--delete-after", "1 year")  # fmt: skip
    assert code == 2 and "not a period" in out
    code, out = await _schakel(db[0], tmp_path, "retention", "set", "--regime", "avg",
                               "--archive-after", "1 day", "--delete-after", "1 year")  # fmt: skip
    assert code == 0 and '"archive_after":"1 day"' in out
    later = (datetime.now(UTC) + timedelta(days=2)).isoformat()
    code, out = await _schakel(db[0], tmp_path, "retention", "run", "--now", later)
    assert code == 0 and body["id"] in out
    assert await scalar(db[0], "SELECT state FROM registrations") == "archived"
    assert await scalar(db[0], "SELECT count(*) FROM audit_log WHERE action = 'retention_config'") == 1
