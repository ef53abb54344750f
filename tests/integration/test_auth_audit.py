"""Security events reach the audit log: logins and failures, throttling, refresh and its reuse, logout,
password changes and resets, device revocation, and role changes however they are made."""

from __future__ import annotations

from pathlib import Path

import asyncpg
import httpx

from tests.integration.harness import PASSWORD, bearer, login, make_settings, running
from tests.integration.world import build_world

NEW = "paard-batterij-nietje"


async def test_security_events_are_audited(database_url: str, tmp_path: Path) -> None:
    world = await build_world(database_url)
    settings = make_settings(database_url, tmp_path, login_failures_per_account=2)
    async with running(settings) as server, httpx.AsyncClient(base_url=server.base) as http:
        boa = await login(server.base, "boa_a", world.tablet_a)
        admin = await login(server.base, "admin_a")
        lead = await login(server.base, "lead_a")
        for _ in range(3):  # two failures, then throttled
            await http.post("/api/auth/login", json={"username": "boa_b", "password": "wrong-password"})
        first = boa["refresh_token"]
        second = (await http.post("/api/auth/refresh", json={"refresh_token": first})).json()
        await http.post("/api/auth/refresh", json={"refresh_token": first})  # reuse
        await http.post("/api/auth/logout", json={"refresh_token": lead["refresh_token"]})
        changed = await http.post(
            "/api/auth/password", json={"old_password": PASSWORD, "new_password": NEW}, headers=bearer(admin)
        )
        assert changed.status_code == 200
        r = await http.post(
            f"/api/accounts/{second['account_id']}/password",
            json={"new_password": NEW},
            headers=bearer(changed.json()),
        )
        assert r.status_code == 204
        r = await http.post(f"/api/devices/{world.tablet_a}/revoke", headers=bearer(changed.json()))
        assert r.status_code == 204

    conn = await asyncpg.connect(database_url)
    try:
        await conn.execute("UPDATE accounts SET role = 'admin' WHERE username = 'lead_a'")
        rows = await conn.fetch(
            "SELECT action, result, actor_id, object_id, origin, details FROM audit_log ORDER BY id"
        )
        ids = {r["username"]: r["id"] for r in await conn.fetch("SELECT id, username FROM accounts")}
    finally:
        await conn.close()
    seen = {(r["action"], r["result"]) for r in rows}
    assert {
        ("login", "ok"),
        ("login", "failed"),
        ("login", "throttled"),
        ("refresh", "ok"),
        ("refresh", "reuse"),
        ("logout", "ok"),
        ("password_change", "ok"),
        ("password_reset", "ok"),
        ("device_revoke", "ok"),
        ("account_change", "ok"),
    } <= seen, seen
    failed = [r for r in rows if r["action"] == "login" and r["result"] == "failed"]
    assert failed[0]["object_id"] == str(ids["boa_b"]) and "127.0.0.1" in failed[0]["origin"]
    reset = next(r for r in rows if r["action"] == "password_reset")
    assert reset["actor_id"] == ids["admin_a"] and reset["object_id"] == str(ids["boa_a"])
    role = next(r for r in rows if r["action"] == "account_change")
    assert role["object_id"] == str(ids["lead_a"]) and '"teamlead", "admin"' in role["details"]
