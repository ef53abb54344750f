"""The small hardening cases of issue 16: an area alert with an extreme date is refused naming the field,
and enrolling a device (a tablet's secret, a tracker's key) is a security event in the audit log."""

from __future__ import annotations

from pathlib import Path

import asyncpg
import httpx

from backend.orgs import repository as orgs
from tests.integration.harness import PASSWORD, bearer, login, make_settings, running
from tests.integration.world import build_world

RING = [[4.888, 52.369], [4.902, 52.369], [4.902, 52.379], [4.888, 52.379], [4.888, 52.369]]


async def test_an_area_alert_with_an_extreme_date_is_refused_naming_the_field(
    database_url: str, tmp_path: Path
) -> None:
    world = await build_world(database_url)
    conn = await asyncpg.connect(database_url)
    try:
        await orgs.create_account(
            conn, org_id=world.meldkamer, username="bridge_mk", password=PASSWORD, role="service"
        )
    finally:
        await conn.close()
    body = {"source": "politie", "identifier": "p-1", "headline": "Vermist", "polygons": [RING]}
    async with running(make_settings(database_url, tmp_path)) as server:
        service = await login(server.base, "bridge_mk")
        async with httpx.AsyncClient(base_url=server.base, headers=bearer(service)) as http:
            for field, value in (
                ("sent", "0001-01-01T00:00:00+14:00"),
                ("sent", "9999-12-31T23:59:59-14:00"),
                ("expires", "9999-12-31T23:59:59-14:00"),
                ("expires", "0001-01-01T00:00:00+14:00"),
            ):
                r = await http.post("/api/area-alerts", json={**body, field: value})
                assert r.status_code == 400, (field, value, r.status_code, r.text)
                assert r.json()["field"] == field, r.text
            ok = await http.post("/api/area-alerts", json=body)
            assert ok.status_code == 201, ok.text


async def test_enrolling_a_device_is_audited_as_a_security_event(database_url: str, tmp_path: Path) -> None:
    world = await build_world(database_url)
    async with running(make_settings(database_url, tmp_path)) as server:
        lead = await login(server.base, "lead_a")
        async with httpx.AsyncClient(base_url=server.base, headers=bearer(lead)) as http:
            tablet = (await http.post("/api/devices", json={"name": "tablet-nieuw"})).json()
            tracker = (await http.post("/api/devices", json={"name": "gps-1", "kind": "tracker"})).json()
            again = await http.post(f"/api/devices/{world.tablet_a}/enrolment")
            assert again.status_code == 200, again.text
    conn = await asyncpg.connect(database_url)
    try:
        rows = await conn.fetch(
            "SELECT action, result, actor_id, object_type, object_id, details::text AS details, origin::text "
            "AS origin FROM audit_log WHERE object_type = 'device' ORDER BY id"
        )
        lead_id = await conn.fetchval("SELECT id FROM accounts WHERE username = 'lead_a'")
    finally:
        await conn.close()
    got = [(r["action"], r["object_id"]) for r in rows]
    assert got == [
        ("device_enrol", str(tablet["id"])),
        ("tracker_key_issue", str(tracker["id"])),
        ("device_reenrol", str(world.tablet_a)),  # a new secret for a tablet that had one
    ]
    assert all(r["actor_id"] == lead_id and r["result"] == "ok" for r in rows)
    # the secret and the key are never in the log
    for r in rows:
        for secret in (tablet["device_secret"], tracker["tracker_key"], again.json()["device_secret"]):
            assert secret not in (r["details"] or "") and secret not in (r["origin"] or "")
