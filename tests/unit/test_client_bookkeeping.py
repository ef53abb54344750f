"""FieldClient bookkeeping: what it keeps until acknowledged, what it resends, how it numbers. No network:
the websocket is a scripted stand-in, except for `run`, which reconnects to a server on the loopback."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from websockets.asyncio.server import ServerConnection, serve

from shared.client import FieldClient, FieldClientError, backoff
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


async def test_after_reconnect_the_unacknowledged_frames_are_resent_in_order() -> None:
    client = offline_client()
    queue_positions(client, 5)  # buffered while offline
    queued = list(client.unacked)
    # first connection: the server acknowledges up to 3 of the five, then the connection drops
    first = ScriptedSocket([welcome(acked=0), Ack(upto=3)])
    await client.serve(first)
    assert isinstance(first.sent[0], Hello) and first.sent[0].token == "token"
    assert first.sent[1:] == queued  # 1..5: the very same frames (same seq, same time), in order
    assert seqs(client) == [4, 5]
    # second connection: 4 became durable before the drop (its ack was lost); only 5 is resent
    second = ScriptedSocket([welcome(acked=4), Ack(upto=5)])
    await client.serve(second)
    assert second.sent[1:] == [queued[4]]
    assert seqs(client) == [] and client.acked == 5


async def test_frames_queued_before_the_first_welcome_are_numbered_after_the_durable_ones() -> None:
    """A new client (a restarted simulator, a reinstalled tablet) on a device that already sent 50 frames:
    what it queued before it knew that must not be taken for frames 1..5 of an earlier life and dropped."""
    client = offline_client()
    queue_positions(client, 5)
    queued = list(client.unacked)
    first = ScriptedSocket([welcome(acked=50), Ack(upto=55)])
    await client.serve(first)
    assert [f.seq for f in first.sent[1:]] == [51, 52, 53, 54, 55]
    assert [f.at for f in first.sent[1:]] == [f.at for f in queued]  # the same positions, renumbered
    assert seqs(client) == [] and client.next_seq == 56


async def test_frame_queued_while_connected_is_sent_at_once_and_kept_until_acked() -> None:
    client = offline_client()
    socket = ScriptedSocket([welcome(acked=0), Ack(upto=0)])
    queued: list[Any] = []

    def on_frame(frame: Any) -> None:  # runs while connected, as the app would on a button press
        if not queued:
            queued.append(client.status(UnitStatus.BUSY, T0))

    client.on_frame = on_frame
    await client.serve(socket)
    await asyncio.sleep(0)  # let the send task run
    assert socket.sent[1:] == queued
    assert seqs(client) == [1]  # not acknowledged: resent on the next connection
    again = ScriptedSocket([welcome(acked=0)])
    await client.serve(again)
    assert again.sent[1:] == queued


async def test_welcome_with_a_higher_acked_moves_next_seq_past_it() -> None:
    """A client that starts from 1 (state lost) must not reuse numbers the server already holds."""
    client = offline_client(next_seq=1)
    await client.serve(ScriptedSocket([welcome(acked=41)]))
    assert client.next_seq == 42 and client.acked == 41
    frame = client.position(4.9, 52.37, T0)
    assert isinstance(frame, PositionReported) and frame.seq == 42
    # a lower acked (another, older server state) never moves the numbering back
    await client.serve(ScriptedSocket([welcome(acked=3)]))
    assert client.next_seq == 43 and seqs(client) == [42]


async def test_a_fatal_error_instead_of_welcome_is_a_refusal() -> None:
    client = offline_client()
    queue_positions(client, 2)
    refusal = Error(code="revoked", message="this device was revoked", fatal=True)
    with pytest.raises(FieldClientError, match="revoked"):
        await client.serve(ScriptedSocket([refusal]))
    assert client.errors == [refusal]
    assert seqs(client) == [1, 2]  # kept: nothing was acknowledged


def test_backoff_doubles_up_to_its_maximum() -> None:
    delays = backoff(minimum=0.2, maximum=1.0)
    assert [next(delays) for _ in range(6)] == [0.2, 0.4, 0.8, 1.0, 1.0, 1.0]


async def test_run_reconnects_after_a_drop_and_resends_what_was_not_acknowledged() -> None:
    """`run` on websockets' reconnecting iterator: the server drops the first connection after acknowledging
    two of three frames; on the next one it says (welcome) it has three durable, and only the fourth,
    queued while offline, comes again. A fatal error frame then ends `run` with a refusal."""
    received: list[list[Any]] = []

    async def handler(ws: ServerConnection) -> None:
        frames = [field_decoder.decode(await ws.recv())]  # the hello
        if not received:
            await ws.send(encoder.encode(welcome(acked=0)).decode())
            while len(frames) < 4:
                frames.append(field_decoder.decode(await ws.recv()))
            received.append(frames)
            await ws.send(encoder.encode(Ack(upto=2)).decode())
            return  # the connection drops: the ack of 3 never goes out
        await ws.send(encoder.encode(welcome(acked=3)).decode())
        frames.append(field_decoder.decode(await ws.recv()))
        received.append(frames)
        await ws.send(encoder.encode(Ack(upto=4)).decode())
        await ws.send(encoder.encode(Error(code="revoked", message="weg", fatal=True)).decode())
        await ws.close()  # as the server does after a fatal error

    async with serve(handler, "127.0.0.1", 0) as server:
        port = server.sockets[0].getsockname()[1]
        client = FieldClient(f"ws://127.0.0.1:{port}/ws/field", "token")
        queue_positions(client, 3)
        ups: list[bool] = []
        client.on_connected = ups.append

        def on_frame(frame: Any) -> None:
            if isinstance(frame, Ack) and frame.upto == 2:
                client.position(4.9, 52.37, T0 + timedelta(seconds=9))  # queued as the link goes down

        client.on_frame = on_frame
        with pytest.raises(FieldClientError, match="revoked"):
            await asyncio.wait_for(client.run(), 10)
    first, second = received
    assert isinstance(first[0], Hello) and [f.seq for f in first[1:]] == [1, 2, 3]
    assert isinstance(second[0], Hello) and [f.seq for f in second[1:]] == [4]
    assert client.acked == 4 and seqs(client) == [] and ups == [True, False, True, False]
