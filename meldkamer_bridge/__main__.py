"""`python -m meldkamer_bridge`: run the bridge between Schakel and its partner systems.

Configuration from arguments or the environment (arguments win):
  SCHAKEL_DATABASE_URL   the Schakel database (outbox and inbox live there); unset: the embedded PostgreSQL in
                         SCHAKEL_DATA_DIR, as the backend uses it
  BRIDGE_BACKEND_URL     the Schakel backend, e.g. http://127.0.0.1:8000 (unset: partner links only)
  BRIDGE_USERNAME / BRIDGE_PASSWORD   the service account (the demo seeds `bridge` / schakel-demo)
  BRIDGE_PARTNERS        NAME=URL[#TOKEN], comma-separated (default gms-sim=ws://127.0.0.1:8765/)
  BRIDGE_MELDKAMER / BRIDGE_POLICE   which partner gets status/AVL and which gets CAP (default: the first)
  BRIDGE_MAPPING         a JSON file with the meldkamer's status codes and priorities (default: GMS table)
  BRIDGE_LEASE_S         the partner lease (default 15 s): one active bridge per partner, another one waits
  BRIDGE_EXERCISE        NAME[=test],… exercise links: CAP status Exercise (or Test), EIDOs marked the same
  BRIDGE_TLS_CERT / BRIDGE_TLS_KEY / BRIDGE_TLS_CA   mutual TLS for wss:// and nena+wss:// partners: our
                         certificate chain and key (PEM) and the CA bundle partners' certificates chain to
  A NENA EIDO conveyance partner (NENA-STA-024): NAME=nena+wss://HOST:PORT/PATH[?listen=HOST:PORT] (Schakel
  subscribes at the URL; with listen= it also notifies the partner on that address)
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import sys
from pathlib import Path

import msgspec

from meldkamer_bridge.adapters.base import CodecError
from meldkamer_bridge.adapters.status import GMS_DEFAULT, load_mapping
from meldkamer_bridge.adapters.tls import TlsConfig
from meldkamer_bridge.app import TRANSPORTS, Bridge
from meldkamer_bridge.config import BridgeConfig, Partner


def parse_partners(text: str) -> tuple[Partner, ...]:
    partners = []
    for item in filter(None, (i.strip() for i in text.split(","))):
        name, _, rest = item.partition("=")
        url, _, token = rest.partition("#")
        if not name or not url:
            raise SystemExit(f"bad partner {item!r}: expected NAME=URL[#TOKEN]")
        if url.partition("://")[0].lower() not in TRANSPORTS:
            raise SystemExit(
                f"bad partner {item!r}: the URL must start with one of {', '.join(TRANSPORTS)}://"
            )
        partners.append(Partner(name=name, url=url, token=token))
    return tuple(partners)


def parse_args(argv: list[str], env: dict[str, str]) -> argparse.Namespace:
    p = argparse.ArgumentParser(
        prog="python -m meldkamer_bridge",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("--database-url", default=env.get("SCHAKEL_DATABASE_URL"))
    p.add_argument("--backend-url", default=env.get("BRIDGE_BACKEND_URL"))
    p.add_argument("--username", default=env.get("BRIDGE_USERNAME", "bridge"))
    p.add_argument("--password", default=env.get("BRIDGE_PASSWORD", ""))
    p.add_argument("--partners", default=env.get("BRIDGE_PARTNERS", "gms-sim=ws://127.0.0.1:8765/"))
    p.add_argument("--meldkamer", default=env.get("BRIDGE_MELDKAMER"))
    p.add_argument("--police", default=env.get("BRIDGE_POLICE"))
    p.add_argument("--mapping", type=Path, default=env.get("BRIDGE_MAPPING"))
    p.add_argument("--avl-interval", type=float, default=float(env.get("BRIDGE_AVL_INTERVAL_S", "1.0")))
    p.add_argument(
        "--retention-days",
        type=float,
        default=float(env.get("BRIDGE_RETENTION_DAYS", "30")),
        help="keep delivered and processed messages this many days (default 30), then prune them",
    )
    p.add_argument(
        "--lease-s",
        type=float,
        default=float(env.get("BRIDGE_LEASE_S", "15")),
        help="one active bridge per partner: the lease time (default 15 s); a second bridge on the same "
        "database waits and takes over within this time after the active one dies",
    )
    p.add_argument("--me", default=env.get("BRIDGE_NAME", "schakel"))
    p.add_argument(
        "--exercise",
        default=env.get("BRIDGE_EXERCISE", ""),
        metavar="NAME[=test],…",
        help="exercise links: everything to these partners is marked (CAP status Exercise, or Test)",
    )
    p.add_argument("--tls-cert", default=env.get("BRIDGE_TLS_CERT"), help="our certificate chain (PEM)")
    p.add_argument("--tls-key", default=env.get("BRIDGE_TLS_KEY"), help="our private key (PEM)")
    p.add_argument("--tls-ca", default=env.get("BRIDGE_TLS_CA"), help="the CA bundle of partners (PEM)")
    p.add_argument("-v", "--verbose", action="store_true")
    return p.parse_args(argv)


def links(args: argparse.Namespace) -> tuple[tuple[Partner, ...], TlsConfig | None]:
    """The partners (with their exercise setting) and the mutual TLS settings; SystemExit naming what is
    wrong."""
    partners = parse_partners(args.partners)
    if not partners:
        raise SystemExit("no partners configured")
    drills = dict((d.split("=", 1) + ["exercise"])[:2] for d in filter(None, args.exercise.split(",")))
    if any(kind not in ("exercise", "test") for kind in drills.values()) or set(drills) - {
        p.name for p in partners
    }:
        raise SystemExit(f"bad --exercise {args.exercise!r}: NAME[=test] of configured partners")
    partners = tuple(msgspec.structs.replace(p, exercise=drills.get(p.name, "")) for p in partners)
    tls_parts = (args.tls_cert, args.tls_key, args.tls_ca)
    if any(tls_parts) and not all(tls_parts):
        raise SystemExit("mutual TLS needs all three: --tls-cert, --tls-key and --tls-ca")
    tls = TlsConfig(cert=args.tls_cert, key=args.tls_key, ca=args.tls_ca) if all(tls_parts) else None
    return partners, tls


async def serve(config: BridgeConfig) -> None:
    from backend.cli import _migrate
    from backend.db.pool import create_pool

    await _migrate(config.database_url)  # the outbox tables (0004) come with the backend's migrations
    pool = await create_pool(config.database_url, min_size=1, max_size=4)
    try:
        names = ", ".join(f"{p.name} ({p.url})" for p in config.partners)
        bridge = Bridge(config, pool)
        print(
            f"meldkamer bridge {config.me} ({bridge.lease.holder}): partners {names}; "
            f"backend {config.backend_url or '(none)'}",
            flush=True,
        )
        await bridge.run()
    finally:
        await pool.close()


def main(argv: list[str] | None = None) -> int:
    args = parse_args(sys.argv[1:] if argv is None else argv, dict(os.environ))
    logging.basicConfig(
        level=logging.INFO if args.verbose else logging.WARNING,
        format="%(asctime)s %(name)s %(levelname)s %(message)s",
    )
    partners, tls = links(args)
    try:
        mapping = load_mapping(args.mapping) if args.mapping else GMS_DEFAULT
    except (CodecError, OSError) as exc:
        raise SystemExit(f"cannot use the partner mapping {args.mapping}: {exc}") from None

    def config(url: str) -> BridgeConfig:
        return BridgeConfig(
            database_url=url,
            partners=partners,
            meldkamer=args.meldkamer or partners[0].name,
            police=args.police or partners[0].name,
            me=args.me,
            backend_url=args.backend_url,
            username=args.username,
            password=args.password,
            avl_interval_s=args.avl_interval,
            retention_days=args.retention_days,
            lease_s=args.lease_s,
            mapping=mapping,
            tls=tls,
        )

    try:
        if args.database_url:
            asyncio.run(serve(config(args.database_url)))
        else:
            from backend.cli import database
            from backend.settings import load_settings

            with database(load_settings()) as settings:
                asyncio.run(serve(config(settings.database_url)))  # type: ignore[arg-type]
    except KeyboardInterrupt:
        pass
    return 0


if __name__ == "__main__":
    sys.exit(main())
