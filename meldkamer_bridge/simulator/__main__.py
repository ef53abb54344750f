"""`python -m meldkamer_bridge.simulator`: run the reference partner (a meldkamer and police side in one)."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import signal
import sys
from pathlib import Path

from meldkamer_bridge.simulator import Simulator


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="python -m meldkamer_bridge.simulator", description=__doc__)
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, default=8765)
    p.add_argument(
        "--db",
        type=Path,
        default=Path("data/partner-sim.sqlite3"),
        help="SQLite file with its outbox, inbox and de-duplication state",
    )
    p.add_argument("--name", default="gms-sim", help="its name on the link")
    p.add_argument(
        "--peer",
        action="append",
        default=[],
        metavar="NAME[=TOKEN]",
        help="a peer it accepts (default: schakel, any token)",
    )
    p.add_argument(
        "--incidents", type=int, default=0, help="queue sample incidents 1..N at start (idempotent)"
    )
    p.add_argument("--police-alerts", type=int, default=0, help="queue sample police alerts 1..N at start")
    p.add_argument(
        "--every",
        type=float,
        default=0.0,
        help="then queue one more incident every so many seconds (0: never)",
    )
    p.add_argument("--max-incidents", type=int, default=0, help="stop queueing after this many (0: no limit)")
    p.add_argument("--quiet", action="store_true", help="do not print every message received")
    return p.parse_args(argv)


async def main(args: argparse.Namespace) -> None:
    peers = dict((p.split("=", 1) + [""])[:2] for p in args.peer) or {"schakel": ""}
    args.db.parent.mkdir(parents=True, exist_ok=True)
    sim = Simulator(args.db, name=args.name, peers=peers)
    first_peer = next(iter(peers))
    for n in range(1, args.incidents + 1):
        sim.send_incident(n, first_peer)
    for n in range(1, args.police_alerts + 1):
        sim.send_police_alert(n, first_peer)

    async def show(env: object) -> None:
        if not args.quiet:
            e = env  # an Envelope
            print(f"ontvangen {e.type:<12} #{e.seq:<6} van {e.partner}: {e.body[:100]!r}", flush=True)  # type: ignore[attr-defined]

    sim.on_received = show
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError):
            loop.add_signal_handler(sig, stop.set)
    with contextlib.suppress(NotImplementedError, AttributeError):  # SIGUSR1: not on Windows
        # another process (a test, the bench) queued messages in the SQLite file: send them now rather than
        # at the next half-second look
        loop.add_signal_handler(signal.SIGUSR1, sim.store.look_again)
    async with sim.serving(args.host, args.port):
        print(
            f"reference partner {args.name} on ws://{args.host}:{args.port}/ "
            f"(page: http://{args.host}:{args.port}/), state in {args.db}",
            flush=True,
        )
        n = max(args.incidents, sim.incidents_queued(first_peer))  # after a restart: go on where it was
        while not stop.is_set():
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), args.every if args.every > 0 else 3600)
            if args.every > 0 and not stop.is_set() and not (args.max_incidents and n >= args.max_incidents):
                n += 1
                sim.send_incident(n, first_peer)
    sim.close()


if __name__ == "__main__":
    logging.basicConfig(level=logging.WARNING, format="%(asctime)s %(name)s %(message)s")
    asyncio.run(main(parse_args(sys.argv[1:])))
