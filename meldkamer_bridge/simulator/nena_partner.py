"""`python -m meldkamer_bridge.simulator.nena_partner`: a reference partner on the NENA EIDO conveyance
(NENA-STA-024 WebSocket subscribe/notify; docs/bridge.md, section 10).

Both roles over real WebSockets, with the conveyance code of the bridge (meldkamer_bridge.adapters.
nena_conveyance) on a SQLite store: as a notifier it serves its sample incidents (EIDOs) to the subscriber
`schakel` on `--port`; with `--subscribe URL` it subscribes to Schakel's notifier and keeps the progress
EIDOs it gets. A kill -9 loses nothing: what it queued stays in its outbox until Schakel answered 200, what
it stored is committed before it answers.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import signal
import sys
from pathlib import Path

from meldkamer_bridge.adapters.nena_conveyance import Notifier, Subscriber
from meldkamer_bridge.adapters.tls import TlsConfig
from meldkamer_bridge.simulator import sample_incident
from meldkamer_bridge.simulator.store import SqliteStore


class NenaPartner:
    """The partner: a notifier of incidents for `peer` and, optionally, a subscriber to its progress."""

    def __init__(
        self,
        db: Path,
        *,
        listen: str,
        peer: str = "schakel",
        subscribe: str | None = None,
        tls: TlsConfig | None = None,
        exercise: str = "",
    ) -> None:
        self.store = SqliteStore(db)
        self.peer = peer
        self.exercise = exercise  # "exercise" or "test": its incidents are marked so (docs/bridge.md, §11)
        self.notifier = Notifier(listen, self.store, peer=peer, tls=tls)
        self.subscriber = Subscriber(subscribe, self.store, peer=peer, tls=tls) if subscribe else None

    def send_incident(self, n: int) -> int | None:
        msg_id, body = sample_incident(n, exercise=self.exercise)
        return self.store.enqueue(self.peer, "eido", body, msg_id)

    def incidents_queued(self) -> int:
        return self.store.count_outbox(self.peer, "sim:incident:")

    async def run(self) -> None:
        async with asyncio.TaskGroup() as tasks:
            tasks.create_task(self.notifier.run())
            if self.subscriber is not None:
                tasks.create_task(self.subscriber.run())

    def close(self) -> None:
        self.store.close()


def parse_args(argv: list[str]) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="python -m meldkamer_bridge.simulator.nena_partner", description=__doc__)
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, default=8766)
    p.add_argument("--db", type=Path, default=Path("data/nena-sim.sqlite3"))
    p.add_argument("--peer", default="schakel", help="the subscriber it serves (its certificate's name)")
    p.add_argument("--subscribe", help="Schakel's notifier to subscribe to, e.g. ws://127.0.0.1:8767/")
    p.add_argument("--incidents", type=int, default=0, help="queue sample incidents 1..N at start")
    p.add_argument("--every", type=float, default=0.0, help="then one more every so many seconds")
    p.add_argument("--max-incidents", type=int, default=0, help="stop queueing after this many")
    p.add_argument("--exercise", choices=["", "exercise", "test"], default="", help="mark its incidents")
    p.add_argument("--tls-cert")
    p.add_argument("--tls-key")
    p.add_argument("--tls-ca")
    return p.parse_args(argv)


async def main(args: argparse.Namespace) -> None:
    tls = None
    if args.tls_cert:
        tls = TlsConfig(cert=args.tls_cert, key=args.tls_key, ca=args.tls_ca)
    args.db.parent.mkdir(parents=True, exist_ok=True)
    partner = NenaPartner(
        args.db,
        listen=f"{args.host}:{args.port}",
        peer=args.peer,
        subscribe=args.subscribe,
        tls=tls,
        exercise=args.exercise,
    )
    for n in range(1, args.incidents + 1):
        partner.send_incident(n)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError):
            loop.add_signal_handler(sig, stop.set)
    runner = asyncio.create_task(partner.run())
    scheme = "wss" if tls else "ws"
    print(f"NENA partner: notifier on {scheme}://{args.host}:{args.port}/ for {args.peer}", flush=True)
    n = max(args.incidents, partner.incidents_queued())
    try:
        while not stop.is_set() and not runner.done():
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), args.every if args.every > 0 else 3600)
            if args.every > 0 and not stop.is_set() and not (args.max_incidents and n >= args.max_incidents):
                n += 1
                partner.send_incident(n)
    finally:
        runner.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await runner
        partner.close()


if __name__ == "__main__":
    logging.basicConfig(level=logging.WARNING, format="%(asctime)s %(name)s %(message)s")
    asyncio.run(main(parse_args(sys.argv[1:])))
