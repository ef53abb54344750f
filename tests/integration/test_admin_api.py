"""The administrator's API: organisations and links, accounts, tablets and trackers, retention over HTTP —
each change audited, each refusal naming its field, nothing of another gemeente within reach."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import unquote

import asyncpg
import httpx
import pytest
import websockets

from backend.orgs import repository as orgs
from shared.protocol import Welcome
from tests.conftest import new_database
from tests.integration.harness import PASSWORD, Server, bearer, login, make_settings, running, socket_to
from tests.integration.registrations_kit import waarneming
from tests.integration.world import OUDE_ZIJDE, World, build_world

STRONG = "lange-zin-als-wachtwoord-7"


@pytest.fixture(scope="module")
async def app(
    pg_server: str, template_db: str, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[tuple[Server, World]]:
    url = await new_database(pg_server, template_db)
    world = await build_world(url)
    conn = await asyncpg.connect(url)
    for name, role, org in (
        ("privacy_a", "privacy_officer", world.org_a),
        ("admin_b", "admin", world.org_b),
        ("admin_mk", "admin", world.meldkamer),
    ):
        await orgs.create_account(conn, org_id=org, username=name, password=PASSWORD, role=role)
    await conn.close()
    async with running(make_settings(url, tmp_path_factory.mktemp("admin"))) as server:
        yield server, world


async def call(
    server: Server, who: str | dict[str, Any], method: str, path: str, body: Any = None
) -> httpx.Response:
    session = await login(server.base, who) if isinstance(who, str) else who
    async with httpx.AsyncClient(base_url=server.base, headers=bearer(session), timeout=30) as http:
        return await http.request(method, path, json=body)


async def audit_rows(server: Server, action: str) -> list[asyncpg.Record]:
    conn = await asyncpg.connect(server.settings.database_url)
    try:
        return await conn.fetch("SELECT * FROM audit_log WHERE action = $1 ORDER BY id", action)
    finally:
        await conn.close()


async def test_only_an_admin_reaches_the_admin_api(app: tuple[Server, World]) -> None:
    server, _ = app
    for who in ("boa_a", "operator_mk", "lead_a", "privacy_a"):
        session = await login(server.base, who)
        for method, path in (("GET", "/api/admin/accounts"), ("POST", "/api/admin/tablets")):
            r = await call(server, session, method, path, {"name": "x"})
            assert r.status_code == 403, (who, path, r.text)


async def test_an_account_is_created_with_a_password_the_policy_accepts(app: tuple[Server, World]) -> None:
    server, world = app
    admin = await login(server.base, "admin_a")
    for password, field in (
        ("kort", "password"),
        ("wachtwoord1234", "password"),
        ("nieuwe_boa_1x", "password"),
    ):
        r = await call(
            server,
            admin,
            "POST",
            "/api/admin/accounts",
            {"username": "nieuwe_boa_1x", "role": "boa", "password": password},
        )
        assert (r.status_code, r.json()["field"]) == (400, field), r.text
    r = await call(
        server,
        admin,
        "POST",
        "/api/admin/accounts",
        {"username": "nieuwe_boa", "role": "boa", "password": STRONG, "display_name": "Nieuwe Boa"},
    )
    assert r.status_code == 201, r.text
    again = await call(
        server,
        admin,
        "POST",
        "/api/admin/accounts",
        {"username": "nieuwe_boa", "role": "boa", "password": STRONG},
    )
    assert (again.status_code, again.json()["field"]) == (409, "username")
    # the new account logs in with its initial password; the creation is a security event by the admin
    async with httpx.AsyncClient(base_url=server.base) as http:
        ok = await http.post("/api/auth/login", json={"username": "nieuwe_boa", "password": STRONG})
    assert ok.status_code == 200 and ok.json()["org_id"] == world.org_a
    (row,) = await audit_rows(server, "account_create")
    assert row["actor_id"] == admin["account_id"] and row["object_id"] == str(r.json()["id"])
    # another gemeente's organisation is out of reach
    other = await call(
        server,
        admin,
        "POST",
        "/api/admin/accounts",
        {"username": "indringer", "role": "admin", "password": STRONG, "org_id": world.org_b},
    )
    assert (other.status_code, other.json()["field"]) == (404, "org_id")


async def test_a_role_change_or_deactivation_ends_the_sessions_and_is_audited(
    app: tuple[Server, World],
) -> None:
    server, _ = app
    admin = await login(server.base, "admin_a")
    made = await call(
        server,
        admin,
        "POST",
        "/api/admin/accounts",
        {"username": "wisselaar", "role": "boa", "password": STRONG},
    )
    account_id = made.json()["id"]
    async with httpx.AsyncClient(base_url=server.base) as http:
        theirs = (
            await http.post("/api/auth/login", json={"username": "wisselaar", "password": STRONG})
        ).json()
    assert (await call(server, theirs, "GET", "/api/me")).status_code == 200

    changed = await call(server, admin, "PATCH", f"/api/admin/accounts/{account_id}", {"role": "teamlead"})
    assert changed.status_code == 200 and changed.json()["role"] == "teamlead", changed.text
    assert (await call(server, theirs, "GET", "/api/me")).status_code == 401  # the old token no longer works
    off = await call(server, admin, "PATCH", f"/api/admin/accounts/{account_id}", {"active": False})
    assert off.json()["active"] is False
    async with httpx.AsyncClient(base_url=server.base) as http:
        refused = await http.post("/api/auth/login", json={"username": "wisselaar", "password": STRONG})
    assert refused.status_code == 401
    changes = [r for r in await audit_rows(server, "account_change") if r["object_id"] == str(account_id)]
    assert len(changes) == 2 and all(r["actor_id"] == admin["account_id"] for r in changes)

    # no admin locks himself out; another gemeente's account does not exist for him
    me = await call(server, admin, "PATCH", f"/api/admin/accounts/{admin['account_id']}", {"active": False})
    assert (me.status_code, me.json()["field"]) == (409, "active")
    boa_b = await call(server, "admin_b", "GET", "/api/admin/accounts")
    foreign = boa_b.json()[0]["id"]
    r = await call(server, admin, "PATCH", f"/api/admin/accounts/{foreign}", {"role": "admin"})
    assert (r.status_code, r.json()["field"]) == (404, "account_id")
    listed = {a["username"] for a in (await call(server, admin, "GET", "/api/admin/accounts")).json()}
    assert "wisselaar" in listed and "boa_b" not in listed


async def test_organisations_are_created_renamed_and_linked_by_whom_manages_them(
    app: tuple[Server, World],
) -> None:
    server, world = app
    admin = await login(server.base, "admin_a")
    made = await call(server, admin, "POST", "/api/admin/organisations", {"name": "Gemeente Zaanstad"})
    assert made.status_code == 201, made.text
    new_id = made.json()["id"]
    dup = await call(server, admin, "POST", "/api/admin/organisations", {"name": "Zaanstad"})
    assert (dup.status_code, dup.json()["field"]) == (409, "code")
    renamed = await call(
        server, admin, "PATCH", f"/api/admin/organisations/{new_id}", {"name": "Gemeente Zaanstad-Noord"}
    )
    assert renamed.status_code == 200, renamed.text
    # admin B manages neither gemeente A nor the one A created
    for org in (world.org_a, new_id):
        r = await call(server, "admin_b", "PATCH", f"/api/admin/organisations/{org}", {"name": "Overgenomen"})
        assert (r.status_code, r.json()["field"]) == (404, "org_id")

    # A links its new gemeente to meldkamer A; B may not link gemeente A anywhere
    linked = await call(
        server, admin, "POST", f"/api/admin/organisations/{world.meldkamer}/links", {"gemeente_id": new_id}
    )
    assert linked.status_code == 204, linked.text
    r = await call(
        server,
        "admin_b",
        "POST",
        f"/api/admin/organisations/{world.meldkamer}/links",
        {"gemeente_id": world.org_b},
    )
    assert r.status_code == 204  # B's own gemeente: its own decision
    r = await call(
        server,
        "admin_mk",
        "POST",
        f"/api/admin/organisations/{world.meldkamer}/links",
        {"gemeente_id": world.org_b + 1000},
    )
    assert (r.status_code, r.json()["field"]) == (404, "gemeente_id")
    not_mk = await call(
        server, admin, "POST", f"/api/admin/organisations/{world.org_a}/links", {"gemeente_id": new_id}
    )
    assert (not_mk.status_code, not_mk.json()["field"]) == (404, "meldkamer_id")
    listing = {o["id"]: o for o in (await call(server, admin, "GET", "/api/admin/organisations")).json()}
    assert listing[new_id]["name"] == "Gemeente Zaanstad-Noord" and listing[new_id]["managed"]
    assert (
        new_id in listing[world.meldkamer]["serves"] and world.org_b not in listing
    )  # B is not A's business
    # the meldkamer's admin ends a link from his side
    r = await call(
        server, "admin_mk", "POST", f"/api/admin/organisations/{world.meldkamer}/links/{world.org_b}/remove"
    )
    assert r.status_code == 204
    r = await call(
        server, "admin_b", "POST", f"/api/admin/organisations/{world.meldkamer}/links/{world.org_a}/remove"
    )
    assert r.status_code == 404
    for action in ("organisation_create", "organisation_rename", "meldkamer_link", "meldkamer_unlink"):
        assert await audit_rows(server, action), action


async def test_a_tablet_is_enrolled_with_a_qr_code_and_a_revoked_one_is_cut_off_at_once(
    app: tuple[Server, World],
) -> None:
    server, world = app
    admin = await login(server.base, "admin_a")
    r = await call(server, admin, "POST", "/api/admin/tablets", {"name": "Tablet 7", "unit_id": world.unit_a})
    assert r.status_code == 201, r.text
    issued = r.json()
    secret, device_id = issued["device_secret"], issued["id"]
    assert issued["qr_payload"] == f"schakel:enrol?device={device_id}&code={secret}"
    assert issued["qr_svg"].startswith("data:image/svg+xml")
    assert "<svg" in unquote(issued["qr_svg"].split(",", 1)[1])
    listed = await call(server, admin, "GET", "/api/admin/devices")
    assert secret not in listed.text  # shown once
    (row,) = [d for d in listed.json() if d["id"] == device_id]
    assert row["enrolled"] and row["last_contact_at"] is None and not row["connected"]

    boa = await login(server.base, "boa_a", device_id, secret)
    async with socket_to(server.ws + "/ws/field", boa["access_token"]) as field:
        assert isinstance(await field.recv(), Welcome)
        seen = {d["id"]: d for d in (await call(server, admin, "GET", "/api/admin/devices")).json()}[
            device_id
        ]
        assert seen["connected"] and seen["last_contact_at"] is not None
        revoke = await call(server, admin, "POST", f"/api/devices/{device_id}/revoke")
        assert revoke.status_code == 204
        # the server closes the tablet's socket at once: no frame of it is taken any more
        with pytest.raises(websockets.ConnectionClosed):
            async with asyncio.timeout(10):
                while True:
                    await field.ws.recv()
    async with httpx.AsyncClient(base_url=server.base) as http:
        again = await http.post(
            "/api/auth/login",
            json={"username": "boa_a", "password": PASSWORD, "device_id": device_id, "device_secret": secret},
        )
    assert again.status_code == 401
    after = {d["id"]: d for d in (await call(server, admin, "GET", "/api/admin/devices")).json()}[device_id]
    assert after["revoked_at"] is not None and not after["connected"]
    reissue = await call(server, admin, "POST", f"/api/admin/devices/{device_id}/reissue")
    assert (reissue.status_code, reissue.json()["field"]) == (409, "device_id")
    assert [r for r in await audit_rows(server, "device_enrol") if r["object_id"] == str(device_id)]
    assert [r for r in await audit_rows(server, "device_revoke") if r["object_id"] == str(device_id)]
    # another gemeente's admin neither sees nor re-enrols it
    assert device_id not in {
        d["id"] for d in (await call(server, "admin_b", "GET", "/api/admin/devices")).json()
    }


async def test_a_tracker_key_is_shown_once_stored_hashed_and_reports(app: tuple[Server, World]) -> None:
    server, world = app
    admin = await login(server.base, "admin_a")
    r = await call(
        server, admin, "POST", "/api/admin/trackers", {"name": "Tracker scooter", "unit_id": world.unit_a}
    )
    assert r.status_code == 201, r.text
    key, device_id = r.json()["tracker_key"], r.json()["id"]
    assert len(key) >= 40 and r.json()["device_secret"] is None
    assert key not in (await call(server, admin, "GET", "/api/admin/devices")).text
    conn = await asyncpg.connect(server.settings.database_url)
    try:
        row = await conn.fetchrow("SELECT * FROM devices WHERE id = $1", device_id)
    finally:
        await conn.close()
    assert key.encode() not in b"".join(str(v).encode() for v in row.values())
    at = int((datetime.now(UTC) - timedelta(seconds=5)).timestamp())
    async with httpx.AsyncClient(base_url=server.base) as http:
        fix = await http.get(
            "/osmand", params={"id": key, "lat": OUDE_ZIJDE[1], "lon": OUDE_ZIJDE[0], "timestamp": at}
        )
        assert fix.status_code == 200, fix.text
        new = await call(server, admin, "POST", f"/api/admin/devices/{device_id}/reissue")
        assert new.json()["tracker_key"] != key
        old = await http.get("/osmand", params={"id": key, "lat": OUDE_ZIJDE[1], "lon": OUDE_ZIJDE[0]})
        assert old.status_code == 400
    unknown = await call(server, admin, "POST", "/api/admin/trackers", {"name": "x", "unit_id": world.unit_b})
    assert (unknown.status_code, unknown.json()["field"]) == (404, "unit_id")


async def test_retention_periods_preview_and_run(app: tuple[Server, World]) -> None:
    server, world = app
    admin = await login(server.base, "admin_a")
    boa = await login(server.base, "boa_a", world.tablet_a)
    ids = []
    for _ in range(2):
        body = waarneming()
        r = await call(server, boa, "POST", "/api/registrations", body)
        assert r.status_code in (200, 201), r.text
        ids.append(body["id"])
    conn = await asyncpg.connect(server.settings.database_url)
    try:  # one is four years old (AVG: archived after 3), one is new
        await conn.execute(
            "UPDATE registrations SET received_at = now() - interval '4 years' WHERE id = $1", ids[0]
        )
    finally:
        await conn.close()

    for body, field in (
        ({"archive_after": "vijf", "delete_after": "2 years"}, "archive_after"),
        ({"archive_after": "3 years", "delete_after": "0 days"}, "delete_after"),
    ):
        r = await call(server, admin, "PUT", "/api/retention/periods/avg", body)
        assert (r.status_code, r.json()["field"]) == (400, field), r.text
    r = await call(
        server,
        admin,
        "PUT",
        "/api/retention/periods/nope",
        {"archive_after": "1 year", "delete_after": "1 year"},
    )
    assert (r.status_code, r.json()["field"]) == (404, "regime")
    r = await call(
        server,
        "privacy_a",
        "PUT",
        "/api/retention/periods/avg",
        {"archive_after": "1 year", "delete_after": "1 year"},
    )
    assert r.status_code == 403
    ok = await call(
        server,
        admin,
        "PUT",
        "/api/retention/periods/avg",
        {"archive_after": "3 years", "delete_after": "2 years", "listed_for": "none"},
    )
    assert ok.status_code == 200 and {p["regime"]: p for p in ok.json()}["avg"]["archive_after"] == "3 years"
    assert await audit_rows(server, "retention_config")

    privacy = await login(server.base, "privacy_a")
    preview = await call(server, privacy, "POST", "/api/retention/preview", {})
    assert preview.status_code == 200, preview.text
    assert [a["id"] for a in preview.json()["archived"]] == [ids[0]] and preview.json()["dry_run"]
    later = await call(
        server,
        privacy,
        "POST",
        "/api/retention/preview",
        {"now": (datetime.now(UTC) + timedelta(days=6 * 366)).isoformat()},
    )
    assert {a["id"] for a in later.json()["archived"]} == set(ids)
    # a preview changes nothing; a run does, and is listed with its counts and who ran it
    run = await call(server, privacy, "POST", "/api/retention/run")
    assert run.status_code == 200 and [a["id"] for a in run.json()["archived"]] == [ids[0]], run.text
    again = await call(server, privacy, "POST", "/api/retention/preview", {})
    assert again.json()["archived"] == []
    runs = (await call(server, privacy, "GET", "/api/retention/runs")).json()
    assert runs[0]["archived"] == 1 and runs[0]["actor_id"] == privacy["account_id"]
    naive = await call(server, privacy, "POST", "/api/retention/preview", {"now": "2030-01-01T00:00:00"})
    assert naive.status_code == 400
    for who in ("boa_a", "lead_a", "operator_mk"):
        assert (await call(server, who, "POST", "/api/retention/run")).status_code == 403


async def test_the_audit_search_filters_denied_reads_and_names_the_actor(app: tuple[Server, World]) -> None:
    server, world = app
    boa_b = await login(server.base, "boa_b", world.tablet_b)
    boa = await login(server.base, "boa_a", world.tablet_a)
    body = waarneming()
    assert (await call(server, boa, "POST", "/api/registrations", body)).status_code in (200, 201)
    probe = await call(server, boa_b, "GET", f"/api/registrations/{body['id']}")
    assert probe.status_code == 404
    r = await call(server, "privacy_a", "GET", "/api/audit?result=denied")
    assert r.status_code == 200
    denied = [e for e in r.json() if e["object_id"] == body["id"]]
    assert denied and denied[0]["actor_name"] == "boa_b" and {e["result"] for e in r.json()} == {"denied"}


async def test_a_team_lead_enrolling_a_device_is_audited_too(app: tuple[Server, World]) -> None:
    server, _ = app
    lead = await login(server.base, "lead_a")
    made = await call(server, lead, "POST", "/api/devices", {"name": "tablet-teamleider"})
    assert made.status_code == 201, made.text
    again = await call(server, lead, "POST", f"/api/devices/{made.json()['id']}/enrolment")
    assert again.status_code == 200
    for action in ("device_enrol", "device_reenrol"):
        rows = [r for r in await audit_rows(server, action) if r["object_id"] == str(made.json()["id"])]
        assert len(rows) == 1 and rows[0]["actor_id"] == lead["account_id"], action
