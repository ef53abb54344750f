"""Bad input: a field-level 4xx and nothing stored; random submit/retry/conflict sequences store each once."""

from __future__ import annotations

import copy
import json
import uuid
from typing import Any

import asyncpg
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from backend.registrations.validation import normalise
from shared.registrations import canonical, decode_submission
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
    (waarneming(), "occurred_at", "0001-01-01T00:00:00+14:00", "occurred_at"),  # not representable in UTC
    (waarneming(), "occurred_at", "9999-12-31T23:59:59-14:00", "occurred_at"),
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
    (aggression(), "reported_at", "9999-12-31T23:59:59-14:00", "reported_at"),
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
    ("/api/registrations?limit=abc", 400), ("/api/feitcodes?lon=4.9", 400),
    ("/api/feitcodes?lon=999&lat=1", 400), ("/api/reports/overview?month=xx", 403),
    ("/api/photos/" + "g" * 64, 400), ("/api/audit", 403),
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

# A step: which registration (0-5), and which variant of it (0 = the original; 1-3 change one field).
Step = tuple[int, int]
VARIANTS: dict[int, tuple[str, Any]] = {
    1: ("text", "gewijzigd"),
    2: ("location", {"lon": 4.8925, "lat": 52.3765}),
    3: ("occurred_at", when(30)),
}


def _variant(body: dict[str, Any], variant: int) -> dict[str, Any]:
    if variant == 0:
        return body
    field, value = VARIANTS[variant]
    if field == "text" and body["kind"] == "fine":
        field, value = "statement", "gewijzigd"
    return {**body, field: value}


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(st.tuples(st.integers(0, 5), st.integers(0, 3)), min_size=1, max_size=14))
async def test_stored_state_is_the_set_of_distinct_registrations(env: Env, steps: list[Step]) -> None:
    originals = [waarneming(text=f"waarneming {i}") for i in range(3)] + [fine() for _ in range(3)]
    first_seen: dict[int, dict[str, Any]] = {}
    for index, variant in steps:
        body = _variant(originals[index], variant)
        r = await env["boa_a"].post("/api/registrations", json=body)
        if index not in first_seen:
            assert r.status_code == 201, r.text
            first_seen[index] = body
        elif body == first_seen[index]:
            assert r.status_code == 200
            assert (
                r.json()["details"]
                == (await env["boa_a"].get(f"/api/registrations/{body['id']}")).json()["registration"][
                    "details"
                ]
            )
        else:
            assert r.status_code == 409, r.text
            assert r.json()["differences"]
    conn = await asyncpg.connect(env.server.settings.database_url)
    try:
        rows = await conn.fetch(
            "SELECT id::text, submitted FROM registrations WHERE id = ANY($1::uuid[])",
            [o["id"] for o in originals],
        )
    finally:
        await conn.close()
    stored = {r["id"]: json.loads(r["submitted"]) for r in rows}
    expected = {
        b["id"]: canonical(normalise(decode_submission(json.dumps(b).encode()))) for b in first_seen.values()
    }
    assert stored == expected


async def test_openapi_document_lists_the_registration_routes(env: Env) -> None:
    r = await env["boa_a"].get("/schema/openapi.json")
    assert r.status_code == 200
    assert {"/api/registrations", "/api/photos/{sha256}", "/api/inzage"} <= set(r.json()["paths"])


async def test_a_gemeente_adds_its_own_waarneming_category(env: Env) -> None:
    assert (
        await env["boa_a"].post("/api/registrations", json=waarneming(category="graffiti"))
    ).status_code == 400
    new = {"code": "graffiti", "label": "Graffiti"}
    assert (await env["boa_a"].post("/api/observation-categories", json=new)).status_code == 403
    r = await env["admin_a"].post("/api/observation-categories", json=new)
    assert r.status_code == 201 and "graffiti" in r.json()
    assert (
        await env["boa_a"].post("/api/registrations", json=waarneming(category="graffiti"))
    ).status_code == 201
    assert "graffiti" not in (await env["boa_b"].get("/api/observation-categories")).json()
    bad = await env["admin_a"].post("/api/observation-categories", json={"code": "Graffiti!", "label": "x"})
    assert bad.status_code == 400


# --- no input gives a 500 ----------------------------------------------------------------------------------

_json = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(-(2**70), 2**70)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=10), inner, max_size=4),
    max_leaves=12,
)
_fields = st.sampled_from(["kind", "id", "occurred_at", "location", "photos", "boa_ids", "unit_id",
                           "category", "text", "feitcode", "offender", "types", "severity", "staff",
                           "regime", "purpose"])  # fmt: skip


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(base=st.sampled_from(["waarneming", "fine", "aggression"]), field=_fields, value=_json)
async def test_no_submission_gives_a_server_error(env: Env, base: str, field: str, value: Any) -> None:
    body = {"waarneming": waarneming, "fine": fine, "aggression": aggression}[base]()
    body[field] = value
    r = await env["boa_a"].post("/api/registrations", json=body)
    assert r.status_code < 500, r.text


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    path=st.sampled_from([
        "/api/registrations?category={}", "/api/registrations?feitcode={}", "/api/registrations?beat_id={}",
        "/api/registrations?boa_id={}", "/api/registrations?since={}", "/api/registrations?status={}",
        "/api/feitcodes?q={}", "/api/reports/overview?month={}", "/api/reports/registrations.csv?kind={}",
        "/api/audit?object_id={}", "/api/audit?actor_id={}", "/api/audit?action={}", "/api/photos/{}",
        "/api/registrations/{}",
    ]),
    value=st.text(max_size=30) | st.integers(-(2**70), 2**70).map(str),
)  # fmt: skip
async def test_no_query_gives_a_server_error(env: Env, path: str, value: str) -> None:
    from urllib.parse import quote

    for user in ("boa_a", "admin_a"):
        r = await env[user].get(path.format(quote(value, safe="")))
        assert r.status_code < 500, (path, value, r.text)


@pytest.mark.parametrize("text", ["a\x00b", "\ud800" * 0 + "nul \x00"])
async def test_nul_characters_are_refused(env: Env, text: str) -> None:
    r = await env["boa_a"].post("/api/registrations", json=waarneming(text=text))
    assert r.status_code == 400
    r = await env["privacy_a"].post(
        "/api/inzage", json={"name": text, "birth_date": "1990-01-01", "reason": "abc"}
    )
    assert r.status_code == 400


@pytest.mark.parametrize("url", [
    "/api/registrations?since=2026-01-01T00:00:00", "/api/registrations?beat_id=99999999999999",
    "/api/registrations?boa_id=-99999999999999", "/api/audit?actor_id=99999999999999",
    "/api/registrations?beat_id=9223372036854775808",
    "/api/reports/registrations.csv?boa_id=9223372036854775808",
    "/api/registrations?since=0001-01-01T00:00:00Z&until=9999-12-31T23:59:59Z", "/api/feitcodes?q=%00",
    "/api/registrations?category=%00", "/api/reports/overview?month=0001-01",
    "/api/reports/overview?month=9999-12",
    "/api/feitcodes?limit=-5&q=(((", "/api/registrations?limit=99999999999999",
])  # fmt: skip
async def test_edge_queries_do_not_fail(env: Env, url: str) -> None:
    for user in ("boa_a", "admin_a", "lead_a"):
        r = await env[user].get(url)
        assert r.status_code < 500, (user, r.text)


async def test_nul_in_uploaded_files_is_refused(env: Env) -> None:
    zone = {"type": "Feature", "properties": {"code": "Z\u0000", "name": "x", "tags": "hond"},
            "geometry": {"type": "Polygon", "coordinates": [[[4.89, 52.37], [4.9, 52.37], [4.9, 52.38],
                                                             [4.89, 52.37]]]}}  # fmt: skip
    assert (await env["admin_a"].post("/api/apv-zones/import", json=zone)).status_code == 400
    r = await env["admin_a"].post("/api/catalogues", content=b'{"version": "a\\u0000"}')
    assert r.status_code == 400
