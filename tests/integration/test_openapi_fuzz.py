"""A schema-driven fuzz run over the whole OpenAPI document: no input gives a server error, and every answer
is one the document describes (status, content type, body schema).

schemathesis generates the requests from the document the app serves (`/schema/openapi.json`), so an
operation whose body or answers are undocumented is one it cannot reach or judge. The real app runs on a
loopback port in a thread of its own (schemathesis calls it synchronously), on a seeded world; half of the
examples go as a team lead, half as a boa. Bounded (examples per operation, derandomized) to fit CI.
"""

from __future__ import annotations

import asyncio
import json
import threading
import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import requests
import schemathesis
from hypothesis import HealthCheck, Phase, settings
from litestar.serialization import encode_json
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from backend.app import create_app
from backend.settings import Settings
from tests.conftest import new_database
from tests.integration.harness import bearer, login, make_settings, running
from tests.integration.world import build_world

EXAMPLES = 15  # per operation (~80 operations): bounded so the suite stays well under 20 minutes


def _document() -> dict[str, Any]:
    """The document as the app serves it; building it needs no database."""
    settings = Settings(
        database_url="postgresql://nobody@127.0.0.1/none",
        data_dir=Path("/nonexistent"),
        secret_key="fuzz-secret-key-that-is-long-enough-0123456789",
    )
    document: dict[str, Any] = json.loads(encode_json(create_app(settings).openapi_schema.to_schema()))
    return document


# Left out, each because it would spoil the rest of the run, not because it may fail:
schema = (
    schemathesis.openapi.from_dict(_document())
    .exclude(path="/api/auth/logout")  # ends the session the run authenticates with
    .exclude(path_regex=r"^/api/devices/\{device_id\}/revoke$")  # revokes the seeded tablets
    .exclude(path_regex=r"^/api/shifts/\{shift_id\}/end$")  # ends the seeded shifts the other routes need
)


@dataclass
class Live:
    base: str
    lead: dict[str, str]
    boa: dict[str, str]


@pytest.fixture(scope="module")
def live(pg_server: str, template_db: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Live]:
    """The real app on a loopback port, in its own thread and event loop (the fuzzer's calls block)."""
    ready: dict[str, Live] = {}
    started = threading.Event()
    stop = threading.Event()
    failed: list[BaseException] = []
    tmp = tmp_path_factory.mktemp("fuzz")

    async def serve() -> None:
        url = await new_database(pg_server, template_db)
        await build_world(url)
        async with running(make_settings(url, tmp)) as server:
            lead = await login(server.base, "lead_a")
            boa = await login(server.base, "boa_a")
            ready["live"] = Live(base=server.base, lead=bearer(lead), boa=bearer(boa))
            started.set()
            while not stop.is_set():
                await asyncio.sleep(0.05)

    def run() -> None:
        try:
            asyncio.run(serve())
        except BaseException as exc:  # reported by the fixture below
            failed.append(exc)
            started.set()

    thread = threading.Thread(target=run, name="fuzzed-app", daemon=True)
    thread.start()
    assert started.wait(60), "the app did not start"
    if failed:
        raise failed[0]
    try:
        yield ready["live"]
    finally:
        stop.set()
        thread.join(30)


@pytest.fixture(scope="module")
def http() -> Iterator[requests.Session]:
    with requests.Session() as session:
        yield session


CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance]


@schema.parametrize()
@settings(
    max_examples=EXAMPLES,
    deadline=None,
    derandomize=True,  # the same examples every run
    database=None,
    phases=[Phase.explicit, Phase.generate],  # no shrinking: a failure is reported as found
    suppress_health_check=list(HealthCheck),
)
def test_no_input_gives_a_server_error(case: Any, live: Live, http: requests.Session) -> None:
    who = live.boa if zlib.crc32(repr(case.body).encode()) % 2 else live.lead  # as reproducible as the cases
    case.call_and_validate(base_url=live.base, session=http, headers=dict(who), checks=CHECKS, timeout=30)
