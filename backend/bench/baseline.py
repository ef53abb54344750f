"""The baseline: a bare websockets server that only decodes field frames and acknowledges them.

It answers hello with a welcome, decodes every frame with the same msgspec decoder as Schakel
(`shared.protocol.field_decoder`) and sends a cumulative ack every 100 frames or every 10 ms, whichever
comes first. No database, no picture, no geofence: what Python, websockets and msgspec cost on this machine
for the same traffic, so Schakel's ingest figure can be read as a fraction of it.

Run as `python -m backend.bench.baseline --port P`; prints `ready` once listening; stops on SIGTERM.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import signal
import sys
from datetime import UTC, datetime

import msgspec
import websockets
from websockets.asyncio.server import ServerConnection, serve

from shared.protocol import PROTOCOL_VERSION, Ack, Hello, Welcome, encoder, field_decoder

ACK_EVERY = 100
ACK_INTERVAL_S = 0.01


class Peer:
    __slots__ = ("ws", "upto", "pending")

    def __init__(self, ws: ServerConnection) -> None:
        self.ws = ws
        self.upto = 0
        self.pending = 0


class Baseline:
    def __init__(self) -> None:
        self.peers: set[Peer] = set()

    async def handle(self, ws: ServerConnection) -> None:
        try:
            hello = field_decoder.decode(await ws.recv())
        except (msgspec.DecodeError, websockets.ConnectionClosed):
            return
        if not isinstance(hello, Hello):
            return
        await ws.send(
            encoder.encode(
                Welcome(
                    protocol=PROTOCOL_VERSION,
                    device_id=0,
                    unit_id=None,
                    acked=0,
                    server_time=datetime.now(UTC),
                )
            ),
            text=True,
        )
        peer = Peer(ws)
        self.peers.add(peer)
        try:
            async for raw in ws:
                try:
                    frame = field_decoder.decode(raw)
                except msgspec.DecodeError:
                    continue
                seq = getattr(frame, "seq", None)
                if seq is None:
                    continue
                peer.upto = max(peer.upto, seq)
                peer.pending += 1
                if peer.pending >= ACK_EVERY:
                    peer.pending = 0
                    await ws.send(encoder.encode(Ack(upto=peer.upto)), text=True)
        except websockets.ConnectionClosed:
            pass
        finally:
            self.peers.discard(peer)

    async def ack_timer(self) -> None:
        while True:
            await asyncio.sleep(ACK_INTERVAL_S)
            for peer in list(self.peers):
                if peer.pending:
                    peer.pending = 0
                    with contextlib.suppress(websockets.ConnectionClosed):
                        await peer.ws.send(encoder.encode(Ack(upto=peer.upto)), text=True)


async def serve_baseline(port: int) -> None:
    baseline = Baseline()
    stop = asyncio.get_running_loop().create_future()
    asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, stop.set_result, None)
    timer = asyncio.create_task(baseline.ack_timer())
    async with serve(baseline.handle, "127.0.0.1", port, max_size=2**20):
        print("ready", flush=True)
        await stop
    timer.cancel()


def main() -> int:
    parser = argparse.ArgumentParser(prog="python -m backend.bench.baseline")
    parser.add_argument("--port", type=int, required=True)
    args = parser.parse_args()
    asyncio.run(serve_baseline(args.port))
    return 0


if __name__ == "__main__":
    sys.exit(main())
