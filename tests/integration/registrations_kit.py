"""Helpers for registration tests: valid submissions of each kind, photos, a logged-in client per account."""

from __future__ import annotations

import hashlib
import os
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import asyncpg
import httpx

from backend.auth.tokens import Principal, issue_access_token
from backend.teamlead.logic import day_window
from tests.conftest import new_database
from tests.integration.harness import Server, make_settings, running
from tests.integration.world import OUDE_ZIJDE, World, build_world


def jpeg(seed: bytes = b"") -> bytes:
    return b"\xff\xd8\xff\xe0" + (seed or os.urandom(32)) + b"\xff\xd9"


def sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def when(minutes_ago: int = 10) -> str:
    return (datetime.now(UTC) - timedelta(minutes=minutes_ago)).isoformat()


def in_today(share: float, **delta: float) -> datetime:
    """`delta` ago, but inside today in Amsterdam (what the team lead's "Vandaag" shows): shortly after
    midnight, `share` of the time since midnight ago instead, so a test holds whatever the hour it runs at."""
    now = datetime.now(UTC)
    start, _ = day_window(now)
    return now - min(timedelta(**delta), (now - start) * share)


def waarneming(**over: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "kind": "waarneming",
        "id": str(uuid.uuid4()),
        "occurred_at": when(),
        "location": {"lon": OUDE_ZIJDE[0], "lat": OUDE_ZIJDE[1], "accuracy_m": 8},
        "category": "afval",
        "text": "Zakken naast de container",
    }
    body.update(over)
    return body


def fine(**over: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "kind": "fine",
        "id": str(uuid.uuid4()),
        "occurred_at": when(),
        "location": {"lon": OUDE_ZIJDE[0], "lat": OUDE_ZIJDE[1], "address": "Oudekerksplein 1"},
        "feitcode": "BF 185",
        "offender": {
            "name": "Jan Jansen",
            "birth_date": "1990-04-01",
            "id_document_type": "identiteitskaart",
            "id_document_number": "IX12345678",
            "address": {
                "street": "Damstraat",
                "house_number": "1",
                "postcode": "1012 JL",
                "city": "Amsterdam",
            },
        },
        "statement": "Ik moest nodig",
    }
    body.update(over)
    return body


def aggression(**over: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "kind": "aggression",
        "id": str(uuid.uuid4()),
        "occurred_at": when(),
        "location": {"lon": OUDE_ZIJDE[0], "lat": OUDE_ZIJDE[1]},
        "types": ["verbaal", "bedreiging"],
        "severity": "middel",
        "staff": [{"role": "boa"}],
        "description": "Uitgescholden en bedreigd bij controle",
    }
    body.update(over)
    return body


@dataclass
class Env:
    server: Server
    world: World
    clients: dict[str, httpx.AsyncClient]
    accounts: dict[str, int]

    def __getitem__(self, username: str) -> httpx.AsyncClient:
        return self.clients[username]


async def world_template(pg_server: str, template_db: str) -> tuple[str, World]:
    """A database with the test world and two extra accounts, built once, copied per test (Argon2 is slow)."""
    url = await new_database(pg_server, template_db)
    world = await build_world(url)
    conn = await asyncpg.connect(url)
    try:
        for username, role, source in (
            ("privacy_a", "privacy_officer", "admin_a"),
            ("boa_a2", "boa", "boa_a"),
        ):
            await conn.execute(
                """INSERT INTO accounts (org_id, username, display_name, password_hash, role)
                   SELECT org_id, $1, $1, password_hash, $2 FROM accounts WHERE username = $3""",
                username,
                role,
                source,
            )
    finally:
        await conn.close()
    return urlsplit(url).path.lstrip("/"), world


@asynccontextmanager
async def environment(db: tuple[str, World], tmp: Path, extra_sql: str = "") -> AsyncIterator[Env]:
    database_url, world = db
    conn = await asyncpg.connect(database_url)
    try:
        if extra_sql:
            await conn.execute(extra_sql)
        accounts = {
            r["username"]: (r["id"], r["org_id"], r["role"])
            for r in await conn.fetch("SELECT id, username, org_id, role FROM accounts")
        }
    finally:
        await conn.close()
    async with running(make_settings(database_url, tmp)) as server:
        # Tokens are minted directly (login's Argon2 check costs ~0.5 s per account and is tested elsewhere).
        devices = {"boa_a": world.tablet_a, "boa_b": world.tablet_b}
        clients = {}
        for user, (account_id, org_id, role) in accounts.items():
            principal = Principal(
                account_id=account_id,
                org_id=org_id,
                role=role,
                visible_org_ids=frozenset({org_id}),
                device_id=devices.get(user),
                username=user,
            )
            token = issue_access_token(principal, server.settings.secret_key, 60)
            clients[user] = httpx.AsyncClient(
                base_url=server.base, headers={"Authorization": f"Bearer {token}"}, timeout=30
            )
        try:
            yield Env(
                server=server,
                world=world,
                clients=clients,
                accounts={user: values[0] for user, values in accounts.items()},
            )
        finally:
            for client in clients.values():
                await client.aclose()
