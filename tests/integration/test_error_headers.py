"""Error answers carry the security headers too: a 404 (API and page), a 405, a 400 and a 413."""

from __future__ import annotations

from pathlib import Path

import httpx

from tests.integration.harness import make_settings, running


async def test_not_found_and_method_not_allowed_carry_the_security_headers(
    database_url: str, tmp_path: Path
) -> None:
    async with (
        running(make_settings(database_url, tmp_path)) as server,
        httpx.AsyncClient(base_url=server.base) as http,
    ):
        answers = {
            "api 404": await http.get("/api/no-such-thing"),
            "page 404": await http.get("/no-such-page"),
            "405": await http.delete("/api/auth/login"),
            "400": await http.post(
                "/api/auth/login", content=b"{not json", headers={"content-type": "application/json"}
            ),
        }
    for what, r in answers.items():
        assert r.status_code == int(what.split()[-1]), (what, r.status_code, r.text)
        assert r.headers.get("x-content-type-options") == "nosniff", what
        assert r.headers.get("referrer-policy") == "no-referrer", what
        assert r.headers.get("x-frame-options") == "DENY", what
        assert "frame-ancestors 'none'" in r.headers.get("content-security-policy", ""), what
    for what in ("api 404", "405", "400"):
        assert answers[what].headers.get("cache-control") == "no-store", what
