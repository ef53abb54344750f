"""The login throttle: failed logins per account and per client address get 429 with Retry-After."""

from __future__ import annotations

import asyncio
from pathlib import Path

import httpx

from tests.integration.harness import PASSWORD, make_settings, running
from tests.integration.world import build_world


async def _login(http: httpx.AsyncClient, username: str, password: str) -> httpx.Response:
    return await http.post("/api/auth/login", json={"username": username, "password": password})


async def test_an_account_is_locked_after_five_failures_and_a_success_resets_the_count(
    database_url: str, tmp_path: Path
) -> None:
    await build_world(database_url)
    async with (
        running(make_settings(database_url, tmp_path)) as server,
        httpx.AsyncClient(base_url=server.base) as http,
    ):
        # four failures, then the right password: the count starts over
        for _ in range(4):
            assert (await _login(http, "boa_a", "wrong-password")).status_code == 401
        assert (await _login(http, "boa_a", PASSWORD)).status_code == 200
        for _ in range(5):
            assert (await _login(http, "boa_a", "wrong-password")).status_code == 401
        # the sixth attempt is refused before the password is looked at, even the right one
        for password in ("wrong-password", PASSWORD):
            r = await _login(http, "boa_a", password)
            assert r.status_code == 429, r.text
            assert r.json()["field"] == "username"
            assert r.json()["code"] == "too_many_requests"
            assert 1 <= int(r.headers["Retry-After"]) <= 300
        # another account from the same address is not locked
        assert (await _login(http, "lead_a", PASSWORD)).status_code == 200


async def test_an_address_is_throttled_across_accounts(database_url: str, tmp_path: Path) -> None:
    await build_world(database_url)
    settings = make_settings(database_url, tmp_path, login_failures_per_address=6)
    async with running(settings) as server, httpx.AsyncClient(base_url=server.base) as http:
        # a guesser spreads his guesses over usernames (two each, under the account limit)
        for name in ("boa_a", "boa_b", "lead_a"):
            for _ in range(2):
                assert (await _login(http, name, "wrong-password")).status_code == 401
        r = await _login(http, "lead_b", PASSWORD)
        assert r.status_code == 429
        assert r.json()["field"] == "address"
        assert int(r.headers["Retry-After"]) >= 1


async def test_parallel_guesses_cannot_slip_past_the_count(database_url: str, tmp_path: Path) -> None:
    await build_world(database_url)
    async with (
        running(make_settings(database_url, tmp_path)) as server,
        httpx.AsyncClient(base_url=server.base, timeout=60) as http,
    ):
        answers = await asyncio.gather(*(_login(http, "boa_a", f"guess-{i}") for i in range(20)))
        codes = sorted(r.status_code for r in answers)
        assert codes.count(401) <= 5, codes
        assert codes.count(429) >= 15, codes
