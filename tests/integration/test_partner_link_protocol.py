"""The link protocol as a partner implementer sees it: raw frames against the reference partner."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import websockets

from meldkamer_bridge.adapters import status
from meldkamer_bridge.simulator import Simulator
from shared.protocol import UnitStatus
from tests.integration.harness import free_port

AT = datetime(2026, 11, 22, 19, 0, tzinfo=UTC)


@pytest.fixture
async def sim(tmp_path: Path) -> AsyncIterator[tuple[Simulator, str]]:
    s = Simulator(tmp_path / "sim.sqlite3", peers={"schakel": "geheim"})
    port = free_port()
    async with s.serving("127.0.0.1", port):
        yield s, f"ws://127.0.0.1:{port}/"
    s.close()


def envelope(seq: int, msg_id: str | None = None, body: str | None = None, type_: str = "unit_status") -> str:
    body = (
        body
        if body is not None
        else status.encode_status(UnitStatus.BUSY, unit="HH-01", organisation="a", since=AT).decode()
    )
    return json.dumps(
        {"msg_id": msg_id or f"m-{seq}", "seq": seq, "partner": "schakel", "type": type_, "body": body}
    )


async def hello(ws: websockets.ClientConnection, acked: int = 0, token: str = "geheim") -> dict[str, Any]:
    await ws.send(json.dumps({"hello": {"name": "schakel", "token": token, "acked": acked, "version": 1}}))
    return json.loads(await asyncio.wait_for(ws.recv(), 5))  # type: ignore[no-any-return]


async def until(ws: websockets.ClientConnection, key: str, value: Any = None) -> dict[str, Any]:
    async with asyncio.timeout(5):
        while True:
            frame = json.loads(await ws.recv())
            if key in frame and (value is None or frame[key] == value):
                return frame  # type: ignore[no-any-return]


async def test_a_wrong_token_is_refused(sim: tuple[Simulator, str]) -> None:
    async with websockets.connect(sim[1]) as ws:
        answer = await hello(ws, token="fout")
        assert answer["error"] == "unauthorized"
        with pytest.raises(websockets.ConnectionClosed):
            await asyncio.wait_for(ws.recv(), 5)


async def test_acks_are_cumulative_resends_are_stored_once_and_the_welcome_says_what_it_has(
    sim: tuple[Simulator, str],
) -> None:
    s, url = sim
    async with websockets.connect(url) as ws:
        assert (await hello(ws))["welcome"] == {"name": "gms-sim", "acked": 0, "version": 1}
        for seq in (1, 2, 3):
            await ws.send(envelope(seq))
        await until(ws, "ack", 3)
        await ws.send(envelope(2))  # a resend: acknowledged again, stored nothing
        assert (await until(ws, "ack"))["ack"] == 3
        await ws.send(envelope(4, msg_id="m-1"))  # a known message id under a new seq: consumed, not stored
        await until(ws, "ack", 4)
    async with websockets.connect(url) as ws:
        assert (await hello(ws, acked=0))["welcome"]["acked"] == 4
    assert [(r["seq"], r["msg_id"]) for r in reversed(s.store.received())] == [
        (1, "m-1"),
        (2, "m-2"),
        (3, "m-3"),
    ]


async def test_an_invalid_body_is_nacked_with_the_reason_and_the_stream_goes_on(
    sim: tuple[Simulator, str],
) -> None:
    s, url = sim
    async with websockets.connect(url) as ws:
        await hello(ws)
        await ws.send(envelope(1, body="<alert/>", type_="cap"))
        await ws.send(envelope(2))
        nack = await until(ws, "nack")
        assert nack["nack"] == 1 and "CAP 1.2" in nack["reason"]
        await until(ws, "ack", 2)
    rows = {r["seq"]: r["rejected"] for r in s.store.received()}
    assert rows[1] and rows[2] is None


async def test_a_gap_is_refused_and_the_connection_closed(sim: tuple[Simulator, str]) -> None:
    s, url = sim
    async with websockets.connect(url) as ws:
        await hello(ws)
        await ws.send(envelope(1))
        await ws.send(envelope(3))
        error = await until(ws, "error")
        assert error["error"] == "gap" and "expected seq 2" in error["reason"]
        with pytest.raises(websockets.ConnectionClosed):
            while True:
                await asyncio.wait_for(ws.recv(), 5)
    assert [r["seq"] for r in s.store.received()] == [1]


async def test_garbage_frames_get_an_error(sim: tuple[Simulator, str]) -> None:
    async with websockets.connect(sim[1]) as ws:
        await hello(ws)
        await ws.send("this is not json")
        assert (await until(ws, "error"))["error"] == "bad_frame"


async def test_the_partner_sends_its_queue_after_the_hello_from_what_we_have(
    sim: tuple[Simulator, str],
) -> None:
    s, url = sim
    for n in range(1, 4):
        s.send_incident(n)
    async with websockets.connect(url) as ws:
        await hello(ws, acked=1)  # we already have its message 1
        first = await until(ws, "msg_id")
        assert (first["seq"], first["msg_id"], first["type"]) == (2, "sim:incident:2", "eido")
        await ws.send(json.dumps({"ack": 2}))
        third = await until(ws, "msg_id")
        assert third["seq"] == 3
        await ws.send(json.dumps({"ack": 7}))  # never sent: a protocol error
        assert (await until(ws, "error"))["error"] == "bad_ack"
