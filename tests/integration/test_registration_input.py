"""Bad input gets a field-level 4xx and stores nothing; random submit/retry/conflict sequences store each once."""

from __future__ import annotations

import copy
import uuid
from typing import Any

import asyncpg
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.conftest import new_database
from tests.integration.registrations_kit import (
    Env,
    aggression,
    environment,
    fine,
    waarneming,
    when,
    world_template,
)
from tests.integration.world import World


@pytest.fixture(scope="module")
async def world_db(pg_server: str, template_db: str) -> tuple[str, World]:
    return await world_template(pg_server, template_db)


@pytest.fixture(scope="module")
async def env(pg_server: str, world_db: tuple[str, World], tmp_path_factory: pytest.TempPathFactory) -> Any:
    db = await new_database(pg_server, world_db[0]), world_db[1]
    async with environment(db, tmp_path_factory.mktemp("uploads")) as env:
        yield env


def _set(body: dict[str, Any], path: str, value: Any) -> dict[str, Any]:
    body = copy.deepcopy(body)
    *parents, last = path.split(".")
    target = body
    for key in parents:
        target = target[key]
    if value is _DROP:
        del target[last]
    else:
        target[last] = value
    return body


_DROP = object()

CASES = [
    (waarneming(), "kind", "boete", "kind"),
    (waarneming(), "id", "not-a-uuid", "id"),
    (waarneming(), "occurred_at", when(-120), "occurred_at"),  # two hours in the future
    (waarneming(), "occurred_at", "2026-11-22T10:00:00", "occurred_at"),  # no time zone
    (waarneming(), "occurred_at", "gisteren", "occurred_at"),
    (waarneming(), "location.lon", 200, "location.lon"),
    (waarneming(), "location.lat", "52", "location.lat"),
    (waarneming(), "location", _DROP, "location"),
    (waarneming(), "category", "onbekend", "category"),
    (waarneming(), "photos", ["abc"], "photos.0"),
    (waarneming(), "photos", ["a" * 64, "a" * 64], "photos"),
    (waarneming(), "boa_ids", [999_999], "boa_ids"),
    (waarneming(), "unit_id", 999_999, "unit_id"),
    (waarneming(), "extra", 1, "extra"),
    (waarneming(), "regime", "wpg9", "purpose"),
    (fine(), "offender.birth_date", "2999-01-01", "offender.birth_date"),
    (fine(), "offender.birth_date", "2020-01-01", "offender.birth_date"),  # under 12
    (fine(), "offender.birth_date", "1800-01-01", "offender.birth_date"),
    (fine(), "offender.name", "", "offender.name"),
    (fine(), "offender.id_document_number", "ab 12", "offender.id_document_number"),
    (fine(), "offender.id_document_type", "bibliotheekpas", "offender.id_document_type"),
    (fine(), "offender.address.city", _DROP, "offender.address.city"),
    (fine(), "feitcode", "F185", "feitcode"),
    (fine(), "feitcode", "BF 999", "feitcode"),
    (fine(), "feitcode", "S 005", "feitcode"),  # speeding is not a domain I code
    (fine(), "regime", "avg", "regime"),
    (aggression(), "types", [], "types"),
    (aggression(), "types", ["gezellig"], "types.0"),
    (aggression(), "staff", [], "staff"),
    (aggression(), "reported_at", when(5), "reported_at"),
    (aggression(), "severity", 3, "severity"),
]


@pytest.mark.parametrize(
    ("base", "path", "value", "field"), CASES, ids=[f"{c[0]['kind']}-{c[1]}-{i}" for i, c in enumerate(CASES)]
)
async def test_bad_input_gets_a_field_level_error(
    env: Env, base: dict[str, Any], path: str, value: Any, field: str
) -> None:
    body = _set({**base, "id": str(uuid.uuid4())}, path, value) if path != "id" else _set(base, path, value)
    r = await env["boa_a"].post("/api/registrations", json=body)
    assert r.status_code == 400, r.text
    assert r.json()["field"] == field, r.json()


@pytest.mark.parametrize(
    "raw", [b"", b"{", b"[]", b"null", b"[" * 100_000, b'{"kind": "waarneming"}', "é".encode("latin-1")]
)
async def test_garbage_bodies_are_400_not_500(env: Env, raw: bytes) -> None:
    r = await env["boa_a"].post("/api/registrations", content=raw)
    assert r.status_code == 400, r.text


async def test_dutch_message_for_future_birth_date(env: Env) -> None:
    body = _set(fine(), "offender.birth_date", "2999-01-01")
    r = await env["boa_a"].post("/api/registrations", json=body)
    assert r.json()["detail"] == "geboortedatum ligt in de toekomst"


@pytest.mark.parametrize(("url", "status"), [
    ("/api/registrations/not-a-uuid", 404), ("/api/registrations?since=gisteren", 400),
    ("/api/registrations?limit=abc", 400), ("/api/feitcodes?lon=4.9", 400), ("/api/feitcodes?lon=999&lat=1", 400),
    ("/api/reports/overview?month=xx", 403), ("/api/photos/" + "g" * 64, 400), ("/api/audit", 403),
])  # fmt: skip
async def test_bad_queries_are_4xx(env: Env, url: str, status: int) -> None:
    r = await env["boa_a"].get(url)
    assert r.status_code == status, r.text


async def test_operator_and_anonymous_cannot_register(env: Env) -> None:
    assert (await env["lead_a"].post("/api/registrations", json=waarneming())).status_code == 201
    assert (await env["admin_a"].post("/api/registrations", json=waarneming())).status_code == 403
    anonymous = env["boa_a"].build_request("POST", "/api/registrations", json=waarneming())
    del anonymous.headers["authorization"]
    assert (await env["boa_a"].send(anonymous)).status_code == 401


# --- property: whatever the order of submits, retries and conflicting resubmits, each id is stored once ----

Step = tuple[int, bool]  # (which registration, submit a conflicting variant instead of the original)


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(st.tuples(st.integers(0, 4), st.booleans()), min_size=1, max_size=12))
async def test_stored_state_is_the_set_of_distinct_registrations(env: Env, steps: list[Step]) -> None:
    originals = [waarneming(text=f"waarneming {i}") for i in range(5)]
    first_seen: dict[int, dict[str, Any]] = {}
    for index, conflicting in steps:
        body = originals[index]
        if conflicting:
            body = {**body, "text": body["text"] + " (gewijzigd)"}
        r = await env["boa_a"].post("/api/registrations", json=body)
        if index not in first_seen:
            assert r.status_code == 201, r.text
            first_seen[index] = body
        elif body == first_seen[index]:
            assert r.status_code == 200
        else:
            assert r.status_code == 409 and r.json()["differences"] == ["text"]
    conn = await asyncpg.connect(env.server.settings.database_url)
    try:
        rows = await conn.fetch(
            "SELECT id::text, details->>'text' AS text FROM registrations WHERE id = ANY($1::uuid[])",
            [o["id"] for o in originals],
        )
    finally:
        await conn.close()
    assert {r["id"]: r["text"] for r in rows} == {b["id"]: b["text"] for b in first_seen.values()}


async def test_openapi_document_lists_the_registration_routes(env: Env) -> None:
    r = await env["boa_a"].get("/schema/openapi.json")
    assert r.status_code == 200
    assert {"/api/registrations", "/api/photos/{sha256}", "/api/inzage"} <= set(r.json()["paths"])


async def test_a_gemeente_adds_its_own_waarneming_category(env: Env) -> None:
    assert (await env["boa_a"].post("/api/registrations", json=waarneming(category="graffiti"))).status_code == 400
    new = {"code": "graffiti", "label": "Graffiti"}
    assert (await env["boa_a"].post("/api/observation-categories", json=new)).status_code == 403
    r = await env["admin_a"].post("/api/observation-categories", json=new)
    assert r.status_code == 201 and "graffiti" in r.json()
    assert (await env["boa_a"].post("/api/registrations", json=waarneming(category="graffiti"))).status_code == 201
    assert "graffiti" not in (await env["boa_b"].get("/api/observation-categories")).json()
    bad = await env["admin_a"].post("/api/observation-categories", json={"code": "Graffiti!", "label": "x"})
    assert bad.status_code == 400
