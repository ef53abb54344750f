"""The bridge's wiring and its pure helpers: a transport per URL scheme, register query messages, backoff."""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, datetime
from itertools import islice
from typing import Any, cast

import asyncpg
import pytest

from meldkamer_bridge import app, handover, registers
from meldkamer_bridge.adapters.base import OnReceived, Store, Transport, Validator
from meldkamer_bridge.app import Bridge
from meldkamer_bridge.config import BridgeConfig, Partner
from meldkamer_bridge.link import PartnerLink
from meldkamer_bridge.outbox import backoff_delays
from shared.bridge_api import PendingQuery, TimelineLine

NO_POOL = cast(asyncpg.Pool, None)  # the wiring does not touch the database


class QueueTransport:
    """A partner on another transport: the shape is all the wiring needs."""

    def __init__(
        self, url: str, store: Store, *, me: str, peer: str, token: str = "",
        validate: Validator | None = None, on_received: OnReceived | None = None,
    ) -> None:  # fmt: skip
        self.url, self.validate = url, validate
        self._name, self._connected = peer, asyncio.Event()

    @property
    def name(self) -> str:
        return self._name

    @property
    def connected(self) -> asyncio.Event:
        return self._connected

    async def run(self) -> None:
        await asyncio.Event().wait()


def config(*urls: str) -> BridgeConfig:
    partners = tuple(Partner(name=f"p{i}", url=url) for i, url in enumerate(urls))
    return BridgeConfig(database_url="", partners=partners, meldkamer="p0", police="p0")


def test_each_partner_gets_the_transport_of_its_url_scheme(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(app.TRANSPORTS, "amqp", QueueTransport)
    bridge = Bridge(config("ws://127.0.0.1:8765/", "amqp://broker/schakel"), NO_POOL)
    assert isinstance(bridge.links["p0"], PartnerLink) and isinstance(bridge.links["p1"], QueueTransport)
    transport: Transport = bridge.links["p1"]
    assert transport.name == "p1" and bridge.links_connected["p1"] is transport.connected
    # the inbound table validates for every transport alike
    assert cast(QueueTransport, transport).validate is not None
    with pytest.raises(ValueError, match="no transport"):
        Bridge(config("smtp://mail/"), NO_POOL)


def test_a_register_query_goes_out_under_a_fixed_message_id_and_its_answer_comes_back_to_it() -> None:
    query = PendingQuery(query_id=17, request={"kind": "vehicle", "subject": "12ABC1", "purpose": "controle"})
    body = json.loads(registers.query_body(query))
    assert body == {"type": "register_query", "query_id": "schakel:query:17", "kind": "vehicle",
                    "subject": "12ABC1", "purpose": "controle"}  # fmt: skip
    assert registers.query_msg_id(17) == "schakel:query:17"
    raw = b'{"query_id": "schakel:query:17", "status": "found", "result": {"a": 1}}'
    answer = registers.decode_answer(raw)
    query_id, stored = registers.answer_for(answer, "politie-sim")
    assert query_id == 17
    assert (stored.status, stored.result, stored.source) == ("found", {"a": 1}, "politie-sim")


def test_a_timeline_line_from_the_api_is_the_event_the_progress_mapping_reads() -> None:
    at = datetime(2026, 11, 22, 19, 3, 4, tzinfo=UTC)
    line = TimelineLine(event_id=7, incident_id=3, external_id="urn:x", kind="closed",
                        text="melding afgerond", at=at, units=["HH-03", "HH-04"])  # fmt: skip
    event = handover.event_from(line)
    assert event.units == ("HH-03", "HH-04") and event.call_sign is None
    update = handover.update_for(event, "handhaving.nl")
    assert update is not None and update.units == ("HH-03", "HH-04")


@pytest.mark.parametrize(("base", "cap"), [(0.1, 10.0), (0.2, 10.0)])
def test_reconnect_delays_double_from_the_base_to_the_cap_with_jitter(base: float, cap: float) -> None:
    delays: list[Any] = list(islice(backoff_delays(base=base, cap=cap), 12))
    for n, delay in enumerate(delays):
        nominal = min(cap, base * 2**n)
        assert nominal * 0.8 <= delay <= nominal * 1.2
    assert max(delays) <= cap * 1.2
