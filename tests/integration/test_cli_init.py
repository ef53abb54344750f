"""`schakel init`: a real gemeente starts without the demo — its organisation, an admin with a strong password
shown once (or read from a file), the migrations applied; a second run for the same gemeente is refused."""

from __future__ import annotations

import asyncio
import os
import re
import sys
from pathlib import Path

import asyncpg
import httpx

from backend.db.pool import with_database
from tests.integration.harness import make_settings, running


async def _schakel(db_url: str, data_dir: Path, *args: str) -> tuple[int, str, str]:
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
    return int(proc.returncode or 0), out.decode(), err.decode()


async def _empty_database(pg_server: str, name: str) -> str:
    admin = await asyncpg.connect(pg_server)
    try:
        await admin.execute(f"DROP DATABASE IF EXISTS {name}")
        await admin.execute(f"CREATE DATABASE {name}")
    finally:
        await admin.close()
    return with_database(pg_server, name)


async def _login(base: str, username: str, password: str) -> httpx.Response:
    async with httpx.AsyncClient(base_url=base) as http:
        return await http.post("/api/auth/login", json={"username": username, "password": password})


async def test_init_sets_up_a_gemeente_once_with_an_admin_who_can_sign_in(
    pg_server: str, tmp_path: Path
) -> None:
    url = await _empty_database(pg_server, f"schakel_init_{os.getpid()}")  # not even migrated
    code, out, err = await _schakel(
        url, tmp_path, "init", "--org", "Gemeente Zaanstad", "--admin", "beheerder"
    )
    assert code == 0, out + err
    password = re.search(r"password \(shown this once[^)]*\): (\S+)", out)
    assert password is not None, out
    assert len(password.group(1)) >= 20 and "zaanstad" in out

    conn = await asyncpg.connect(url)
    try:
        org = await conn.fetchrow("SELECT id, code, name, kind FROM organisations")
        account = await conn.fetchrow(
            "SELECT org_id, role, password_hash FROM accounts WHERE username = 'beheerder'"
        )
        audited = await conn.fetchval("SELECT count(*) FROM audit_log WHERE action = 'init'")
        demo = await conn.fetchval("SELECT count(*) FROM units")
    finally:
        await conn.close()
    assert dict(org) == {"id": org["id"], "code": "zaanstad", "name": "Gemeente Zaanstad", "kind": "gemeente"}
    assert account["org_id"] == org["id"] and account["role"] == "admin" and audited == 1 and demo == 0
    assert password.group(1) not in account["password_hash"]

    async with running(make_settings(url, tmp_path)) as server:
        signed_in = await _login(server.base, "beheerder", password.group(1))
        assert signed_in.status_code == 200 and signed_in.json()["role"] == "admin"
        async with httpx.AsyncClient(
            base_url=server.base, headers={"Authorization": f"Bearer {signed_in.json()['access_token']}"}
        ) as http:
            orgs = (await http.get("/api/admin/organisations")).json()
        assert [(o["name"], o["managed"]) for o in orgs] == [("Gemeente Zaanstad", True)]

    # twice for the same gemeente (by name or by code): refused, nothing written
    for args in (
        ("--org", "Gemeente Zaanstad", "--admin", "ander"),
        ("--org", "zaanstad", "--admin", "ander"),
    ):
        code, out, err = await _schakel(url, tmp_path, "init", *args)
        assert code == 1 and "already exists" in err and "password" not in out, out + err
    code, out, err = await _schakel(
        url, tmp_path, "init", "--org", "Gemeente Wormerland", "--admin", "beheerder"
    )
    assert code == 1 and "username 'beheerder' is taken" in err
    conn = await asyncpg.connect(url)
    try:
        assert await conn.fetchval("SELECT count(*) FROM organisations") == 1
        assert await conn.fetchval("SELECT count(*) FROM accounts") == 1
    finally:
        await conn.close()


async def test_init_reads_the_password_from_a_file_and_holds_it_to_the_policy(
    pg_server: str, tmp_path: Path
) -> None:
    url = await _empty_database(pg_server, f"schakel_init_file_{os.getpid()}")
    weak = tmp_path / "weak"
    weak.write_text("welkom123456\n")
    code, out, err = await _schakel(
        url,
        tmp_path,
        "init",
        "--org",
        "Gemeente Purmerend",
        "--admin",
        "pbeheer",
        "--password-file",
        str(weak),
    )
    assert code == 2 and "refused" in err and "te bekend" in err
    missing = await _schakel(
        url, tmp_path, "init", "--org", "X Y", "--admin", "a", "--password-file", "/nonexistent"
    )
    assert missing[0] == 2 and "cannot read --password-file" in missing[2]

    chosen = "een-eigen-lange-wachtzin-42"
    good = tmp_path / "good"
    good.write_text(chosen + "\n")
    code, out, err = await _schakel(
        url,
        tmp_path,
        "init",
        "--org",
        "Gemeente Purmerend",
        "--admin",
        "pbeheer",
        "--password-file",
        str(good),
    )
    assert code == 0 and chosen not in out, out + err
    async with running(make_settings(url, tmp_path)) as server:
        assert (await _login(server.base, "pbeheer", chosen)).status_code == 200
