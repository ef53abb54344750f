"""FieldClient bookkeeping: what it keeps until acknowledged, what it resends, how it numbers. No network:
the websocket is a scripted stand-in."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import websockets

from shared.client import FieldClient, FieldClientError
from shared.protocol import (
    PROTOCOL_VERSION,
    Ack,
    Error,
    Hello,
    Message,
    PositionReported,
    UnitStatus,
    Welcome,
    encoder,
    field_decoder,
)

T0 = datetime(2026, 3, 14, 9, 0, tzinfo=UTC)


def offline_client(next_seq: int = 1) -> FieldClient:
    return FieldClient("ws://nowhere.invalid/ws/field", "token", next_seq=next_seq)


def queue_positions(client: FieldClient, n: int) -> None:
    for i in range(n):
        client.position(4.9, 52.37, T0 + timedelta(seconds=i))


def seqs(client: FieldClient) -> list[int]:
    return [f.seq for f in client.unacked]


def welcome(acked: int) -> Welcome:
    return Welcome(protocol=PROTOCOL_VERSION, device_id=1, unit_id=7, acked=acked, server_time=T0)


class ScriptedSocket:
    """Plays back server frames and records what the client sends."""

    def __init__(self, incoming: list[Message]) -> None:
        self.incoming = [encoder.encode(f).decode() for f in incoming]
        self.sent: list[Any] = []

    async def send(self, data: str) -> None:
        self.sent.append(field_decoder.decode(data))

    async def recv(self) -> str:
        return self.incoming.pop(0)

    def __aiter__(self) -> ScriptedSocket:
        return self

    async def __anext__(self) -> str:
        if not self.incoming:
            raise StopAsyncIteration  # the connection drops
        return self.incoming.pop(0)

    async def close(self) -> None:
        return None


@pytest.fixture
def sockets(monkeypatch: pytest.MonkeyPatch) -> list[ScriptedSocket]:
    """Each `connect_once` takes the next scripted socket from this list."""
    script: list[ScriptedSocket] = []

    @asynccontextmanager
    async def connect(url: str, **_: Any) -> AsyncIterator[ScriptedSocket]:
        yield script.pop(0)

    monkeypatch.setattr(websockets, "connect", connect)
    return script


def test_frames_are_numbered_in_order_from_next_seq() -> None:
    client = offline_client(next_seq=10)
    queue_positions(client, 2)
    client.status(UnitStatus.BUSY, T0)
    client.noodknop(T0)
    client.assistance(T0, "hulp")
    assert seqs(client) == [10, 11, 12, 13, 14]
    assert client.next_seq == 15


def test_ack_drops_acknowledged_frames_in_order() -> None:
    client = offline_client()
    queue_positions(client, 5)
    client._on_ack(2)
    assert seqs(client) == [3, 4, 5] and client.acked == 2
    client._on_ack(1)  # a stale ack (an older one overtaken) changes nothing
    assert seqs(client) == [3, 4, 5] and client.acked == 2
    client._on_ack(4)
    assert seqs(client) == [5]
    client._on_ack(9)  # beyond what was sent: everything is durable
    assert seqs(client) == [] and client.acked == 9


async def test_wait_acked_returns_when_the_ack_arrives() -> None:
    client = offline_client()
    queue_positions(client, 3)
    waiting = asyncio.create_task(client.wait_acked(3, timeout=2))
    await asyncio.sleep(0)
    client._on_ack(2)
    await asyncio.sleep(0)
    assert not waiting.done()
    client._on_ack(3)
    await waiting


async def test_wait_acked_times_out_when_no_ack_comes() -> None:
    client = offline_client()
    queue_positions(client, 1)
    with pytest.raises(TimeoutError):
        await client.wait_acked(1, timeout=0.01)


async def test_after_reconnect_the_unacknowledged_frames_are_resent_in_order(
    sockets: list[ScriptedSocket],
) -> None:
    client = offline_client()
    queue_positions(client, 5)  # buffered while offline
    queued = list(client.unacked)
    # first connection: the server acknowledges up to 3 of the five, then the connection drops
    first = ScriptedSocket([welcome(acked=0), Ack(upto=3)])
    sockets.append(first)
    await client.connect_once()
    assert isinstance(first.sent[0], Hello) and first.sent[0].token == "token"
    assert first.sent[1:] == queued  # 1..5: the very same frames (same seq, same time), in order
    assert seqs(client) == [4, 5]
    # second connection: 4 became durable before the drop (its ack was lost); only 5 is resent
    second = ScriptedSocket([welcome(acked=4), Ack(upto=5)])
    sockets.append(second)
    await client.connect_once()
    assert second.sent[1:] == [queued[4]]
    assert seqs(client) == [] and client.acked == 5


async def test_frames_queued_before_the_first_welcome_are_numbered_after_the_durable_ones(
    sockets: list[ScriptedSocket],
) -> None:
    """A new client (a restarted simulator, a reinstalled tablet) on a device that already sent 50 frames:
    what it queued before it knew that must not be taken for frames 1..5 of an earlier life and dropped."""
    client = offline_client()
    queue_positions(client, 5)
    queued = list(client.unacked)
    first = ScriptedSocket([welcome(acked=50), Ack(upto=55)])
    sockets.append(first)
    await client.connect_once()
    assert [f.seq for f in first.sent[1:]] == [51, 52, 53, 54, 55]
    assert [f.at for f in first.sent[1:]] == [f.at for f in queued]  # the same positions, renumbered
    assert seqs(client) == [] and client.next_seq == 56


async def test_frame_queued_while_connected_is_sent_at_once_and_kept_until_acked(
    sockets: list[ScriptedSocket],
) -> None:
    client = offline_client()
    socket = ScriptedSocket([welcome(acked=0), Ack(upto=0)])
    sockets.append(socket)
    queued: list[Any] = []

    def on_frame(frame: Any) -> None:  # runs while connected, as the app would on a button press
        if not queued:
            queued.append(client.status(UnitStatus.BUSY, T0))

    client.on_frame = on_frame
    await client.connect_once()
    await asyncio.sleep(0)  # let the send task run
    assert socket.sent[1:] == queued
    assert seqs(client) == [1]  # not acknowledged: resent on the next connection
    again = ScriptedSocket([welcome(acked=0)])
    sockets.append(again)
    await client.connect_once()
    assert again.sent[1:] == queued


async def test_welcome_with_a_higher_acked_moves_next_seq_past_it(sockets: list[ScriptedSocket]) -> None:
    """A client that starts from 1 (state lost) must not reuse numbers the server already holds."""
    client = offline_client(next_seq=1)
    sockets.append(ScriptedSocket([welcome(acked=41)]))
    await client.connect_once()
    assert client.next_seq == 42 and client.acked == 41
    frame = client.position(4.9, 52.37, T0)
    assert isinstance(frame, PositionReported) and frame.seq == 42
    # a lower acked (another, older server state) never moves the numbering back
    sockets.append(ScriptedSocket([welcome(acked=3)]))
    await client.connect_once()
    assert client.next_seq == 43 and seqs(client) == [42]


async def test_a_fatal_error_instead_of_welcome_is_a_refusal(sockets: list[ScriptedSocket]) -> None:
    client = offline_client()
    queue_positions(client, 2)
    refusal = Error(code="revoked", message="this device was revoked", fatal=True)
    sockets.append(ScriptedSocket([refusal]))
    with pytest.raises(FieldClientError, match="revoked"):
        await client.connect_once()
    assert client.errors == [refusal]
    assert seqs(client) == [1, 2]  # kept: nothing was acknowledged
