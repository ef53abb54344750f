"""`schakel` — serve, migrate, init (a new gemeente), seed the demo, import beats, simulate, benchmarks."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import signal
import sys
from collections.abc import Iterator
from pathlib import Path
from types import FrameType

import msgspec

from backend.db.migrate import MigrationError
from backend.settings import Settings, SettingsError, load_settings


@contextlib.contextmanager
def database(settings: Settings) -> Iterator[Settings]:
    """Settings with a database URL: the configured one, or the embedded server's for as long as we run."""
    if settings.database_url:
        yield settings
        return
    from backend.db.embedded import start_embedded

    # SIGTERM's default action ends the process on the spot (uvicorn re-raises it after its graceful
    # shutdown), which would leave the embedded PostgreSQL running: exit through the cleanup below instead,
    # as SIGINT does
    previous = signal.signal(signal.SIGTERM, _exit_on_signal)
    try:
        server, url = start_embedded(settings.data_dir)
        try:
            yield msgspec.structs.replace(settings, database_url=url)
        finally:
            with contextlib.suppress(Exception):
                server.cleanup()
    finally:
        signal.signal(signal.SIGTERM, previous)


def _exit_on_signal(signum: int, _: FrameType | None) -> None:
    raise SystemExit(128 + signum)


async def _migrate(url: str) -> list[str]:
    from backend.db.migrate import migrate
    from backend.db.pool import create_pool

    pool = await create_pool(url, min_size=1, max_size=1)
    try:
        async with pool.acquire() as conn:
            return await migrate(conn)
    finally:
        await pool.close()


def cmd_serve(args: argparse.Namespace) -> int:
    import uvicorn

    from backend.app import create_app
    from backend.serving import uvicorn_config

    if args.instances > 1:
        return _serve_instances(args)
    with database(load_settings()) as settings:
        app = create_app(settings)
        config = uvicorn_config(app, settings, args.host or settings.host, args.port or settings.port)
        server = uvicorn.Server(config)
        server.run()
    return 0 if server.started else 3  # as uvicorn.run: 3 when the server could not start


def _serve_instances(args: argparse.Namespace) -> int:
    """N `schakel serve` processes on consecutive ports (`--port`, `--port`+1, ...) on one database (the
    embedded one, started here once, unless SCHAKEL_DATABASE_URL names one). Migrations are applied once
    before they start; a stop signal goes to all of them; one that dies is not restarted (run a process
    supervisor, docs/deploy.md, when that matters)."""
    import os
    import subprocess

    base = load_settings()
    host, port = args.host or base.host, args.port or base.port
    with database(base) as settings:
        assert settings.database_url is not None
        asyncio.run(_migrate(settings.database_url))
        env = {**os.environ, "SCHAKEL_DATABASE_URL": settings.database_url}
        env["SCHAKEL_DATA_DIR"] = str(settings.data_dir)
        env["SCHAKEL_SECRET_KEY"] = settings.secret_key  # one key: a token from one instance holds on all
        children = [
            subprocess.Popen(
                [sys.executable, "-m", "backend.cli", "serve", "--host", host, "--port", str(port + i)],
                env=env,
            )
            for i in range(args.instances)
        ]
        print(f"{args.instances} instances on {host}:{port}..{port + args.instances - 1}", flush=True)
        try:
            codes = [child.wait() for child in children]
        except (KeyboardInterrupt, SystemExit):
            for child in children:
                if child.poll() is None:
                    child.terminate()
            codes = [child.wait(30) for child in children]
    return max((c for c in codes if c > 0), default=0)


def cmd_migrate(_: argparse.Namespace) -> int:
    with database(load_settings()) as settings:
        applied = asyncio.run(_migrate(settings.database_url))  # type: ignore[arg-type]
    print("applied:", ", ".join(applied) if applied else "nothing (up to date)")
    return 0


def cmd_seed_demo(_: argparse.Namespace) -> int:
    from backend.demo.seed import seed_demo

    with database(load_settings()) as settings:
        asyncio.run(_migrate(settings.database_url))  # type: ignore[arg-type]
        demo = asyncio.run(seed_demo(settings.database_url))  # type: ignore[arg-type]
    print(demo.describe())
    return 0


def cmd_import_beats(args: argparse.Namespace) -> int:
    from backend.db.pool import create_pool
    from backend.geofencing.importer import BeatImportError, parse_beats
    from backend.geofencing.repository import upsert_beats
    from backend.orgs.repository import org_id_by_code

    try:
        features = parse_beats(
            Path(args.file).read_bytes(),
            code_property=args.code_property,
            name_property=args.name_property,
            source_crs=args.crs,
        )
    except (OSError, BeatImportError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2

    async def run(url: str) -> int:
        await _migrate(url)
        pool = await create_pool(url, min_size=1, max_size=1)
        try:
            async with pool.acquire() as conn, conn.transaction():
                org_id = await org_id_by_code(conn, args.org)
                return len(await upsert_beats(conn, org_id, features))
        finally:
            await pool.close()

    with database(load_settings()) as settings:
        count = asyncio.run(run(settings.database_url))  # type: ignore[arg-type]
    repaired = [f.code for f in features if f.repaired]
    print(
        f"imported {count} beats into {args.org}" + (f"; repaired: {', '.join(repaired)}" if repaired else "")
    )
    return 0


def _default_url() -> str:
    """The server `schakel serve` or `make run` starts with the same environment (SCHAKEL_HOST/PORT)."""
    import os

    host = os.environ.get("SCHAKEL_HOST") or "127.0.0.1"
    port = os.environ.get("SCHAKEL_PORT") or "8000"
    return f"http://{host}:{port}"


def cmd_simulate(args: argparse.Namespace) -> int:
    import httpx

    from backend.simulate import simulate

    url = args.url or _default_url()
    try:
        asyncio.run(simulate(url, units=args.units, org=args.org, speed=args.speed, duration_s=args.duration))
    except httpx.TransportError as exc:
        print(
            f"schakel simulate: no server answers at {url} ({type(exc).__name__}); start one with `make run` "
            "or `schakel serve`, or give --url (SCHAKEL_PORT sets the default port)",
            file=sys.stderr,
        )
        return 1
    except httpx.HTTPStatusError as exc:
        print(
            f"schakel simulate: {url} refused {exc.request.method} {exc.request.url.path} "
            f"({exc.response.status_code}); is the demo seeded (`schakel seed-demo`)?",
            file=sys.stderr,
        )
        return 1
    return 0


def cmd_demo(args: argparse.Namespace) -> int:
    from backend.demo.run import run_demo

    return run_demo(load_settings(), units=args.units)


def cmd_retention(args: argparse.Namespace) -> int:
    from datetime import datetime

    from backend.privacy.retention import run_with_url

    try:
        now = datetime.fromisoformat(args.now) if args.now else None
    except ValueError:
        now = datetime.min  # naive: reported below
    if now is not None and now.tzinfo is None:
        print("error: --now needs a time zone, e.g. 2031-01-01T00:00:00+00:00", file=sys.stderr)
        return 2
    with database(load_settings()) as settings:
        if args.action == "run":
            result: object = asyncio.run(run_with_url(settings.database_url, settings.uploads_dir, now))  # type: ignore[arg-type]
        else:
            from backend.errors import DomainError
            from backend.privacy.retention import periods_with_url

            change = None
            if args.action == "set":
                if not (args.regime and args.archive_after and args.delete_after):
                    print("error: set needs --regime, --archive-after and --delete-after", file=sys.stderr)
                    return 2
                change = (args.regime, args.listed_for, args.archive_after, args.delete_after)
            try:
                result = asyncio.run(periods_with_url(settings.database_url, change))  # type: ignore[arg-type]
            except DomainError as exc:
                print(f"error: {exc.message}", file=sys.stderr)
                return 2
    print(msgspec.json.encode(result).decode())
    return 0


class InitRefused(Exception):
    """`schakel init` would do something twice or with a bad value: nothing was written."""


async def _init(url: str, name: str, code: str, username: str, password: str) -> int:
    from backend.admin import repository as admin_repo
    from backend.auth import events
    from backend.auth.passwords import hash_password_off_loop
    from backend.db.pool import create_pool

    await _migrate(url)
    password_hash = await hash_password_off_loop(password)
    pool = await create_pool(url, min_size=1, max_size=1)
    try:
        async with pool.acquire() as conn, conn.transaction():
            taken = await conn.fetchrow(
                "SELECT code, name FROM organisations WHERE code = $1 OR lower(name) = lower($2)", code, name
            )
            if taken is not None:
                raise InitRefused(
                    f"organisation {taken['name']!r} (code {taken['code']!r}) already exists; "
                    "`schakel init` sets up a new organisation once — manage it on /beheer/"
                )
            if await conn.fetchval("SELECT 1 FROM accounts WHERE username = $1", username):
                raise InitRefused(f"username {username!r} is taken; choose another with --admin")
            org_id = await admin_repo.create_org(conn, code=code, name=name, kind="gemeente", created_by=None)
            account_id = await admin_repo.create_account(
                conn, org_id=org_id, username=username, display_name=username, password_hash=password_hash,
                role="admin",
            )  # fmt: skip
            await events.record(
                conn, action="init", org_id=org_id, account_id=account_id, object_type="organisation",
                object_id=str(org_id), address="schakel init", details={"code": code, "admin": username},
            )  # fmt: skip
        return org_id
    finally:
        await pool.close()


def cmd_init(args: argparse.Namespace) -> int:
    import secrets

    from backend.admin.routes import code_from_name
    from backend.auth import password_policy
    from backend.errors import DomainError

    name = " ".join(args.org.split())
    try:
        code = args.code or code_from_name(name)
    except DomainError as exc:
        print(f"error: {exc.message}; give one with --code", file=sys.stderr)
        return 2
    import re

    if not re.fullmatch(r"[a-z0-9][a-z0-9\-]{1,39}", code):
        print("error: --code: 2 to 40 lower-case letters, digits and dashes", file=sys.stderr)
        return 2
    if not name or "\x00" in name or len(name) > 100:
        print("error: --org needs a name of 1 to 100 characters", file=sys.stderr)
        return 2
    generated = args.password_file is None
    if generated:
        password = secrets.token_urlsafe(18)  # 24 characters, 144 random bits
    else:
        try:
            password = Path(args.password_file).read_text(encoding="utf-8").rstrip("\r\n")
        except (OSError, UnicodeDecodeError) as exc:
            print(f"error: cannot read --password-file: {exc}", file=sys.stderr)
            return 2
    why = password_policy.problem(password, args.admin)
    if why is not None:
        print(f"error: the password in --password-file is refused: {why}", file=sys.stderr)
        return 2
    try:
        with database(load_settings()) as settings:
            asyncio.run(_init(settings.database_url, name, code, args.admin, password))  # type: ignore[arg-type]
    except InitRefused as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    print(f"created gemeente {name!r} (code {code!r}) with administrator {args.admin!r}")
    if generated:
        print(f"password (shown this once; change it after the first login): {password}")
    print("sign in on /beheer/ to add accounts, tablets and trackers")
    return 0


def cmd_bench(args: argparse.Namespace) -> int:
    if args.name == "registrations":
        from backend.registrations.bench import run_registrations_bench

        return run_registrations_bench(args.rest)
    from backend.bench import run_bench

    return run_bench(args.name, args.rest)


def main(argv: list[str] | None = None) -> int:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    logging.getLogger("httpx").setLevel(logging.WARNING)
    parser = argparse.ArgumentParser(prog="schakel", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("serve", help="run the backend (applies pending migrations first)")
    p.add_argument("--host")
    p.add_argument("--port", type=int)
    p.add_argument(
        "--instances", type=int, default=1, help="run N instances on ports PORT..PORT+N-1, one database"
    )
    p.set_defaults(func=cmd_serve)

    sub.add_parser("migrate", help="apply pending database migrations").set_defaults(func=cmd_migrate)
    sub.add_parser("seed-demo", help="load the demo gemeente, beats, accounts and units").set_defaults(
        func=cmd_seed_demo
    )

    p = sub.add_parser("import-beats", help="import beats from a GeoJSON file (WGS84 or RD New)")
    p.add_argument("file")
    p.add_argument("--org", required=True, help="organisation code, e.g. amsterdam")
    p.add_argument("--code-property")
    p.add_argument("--name-property")
    p.add_argument("--crs", help="source CRS when the file does not say, e.g. EPSG:28992")
    p.set_defaults(func=cmd_import_beats)

    p = sub.add_parser("simulate", help="drive N simulated boa units through the field protocol")
    p.add_argument(
        "--url",
        default=None,
        help="the server (default http://SCHAKEL_HOST:SCHAKEL_PORT, else 127.0.0.1:8000)",
    )
    p.add_argument("--units", type=int, default=12)
    p.add_argument("--org", default="amsterdam")
    p.add_argument("--speed", type=float, default=1.0, help="time factor for walking speed")
    p.add_argument("--duration", type=float, default=None, help="seconds; default: until Ctrl-C")
    p.set_defaults(func=cmd_simulate)

    p = sub.add_parser("demo", help="serve + demo data + simulated units (what `make run` does)")
    p.add_argument("--units", type=int, default=12)
    p.set_defaults(func=cmd_demo)

    p = sub.add_parser("retention", help="retention of registrations: run the job, show or set the periods")
    p.add_argument("action", choices=["run", "show", "set"], help="run the job, show or set the periods")
    p.add_argument("--now", help="run: evaluate at this ISO time instead of now")
    p.add_argument("--regime", choices=["avg", "wpg8", "wpg9"])
    p.add_argument("--listed-for", help="set: e.g. '1 year', or 'none'")
    p.add_argument("--archive-after", help="set: e.g. '5 years'")
    p.add_argument("--delete-after", help="set: e.g. '5 years' (counted from archiving)")
    p.set_defaults(func=cmd_retention)

    p = sub.add_parser("init", help="first-run setup of a real gemeente: the organisation and its admin")
    p.add_argument("--org", required=True, help='the gemeente\'s name, e.g. "Gemeente Zaanstad"')
    p.add_argument("--admin", required=True, help="username of its first administrator")
    p.add_argument("--code", help="the organisation's code (default: made from the name)")
    p.add_argument("--password-file", help="read the admin's password from this file (default: generate one)")
    p.set_defaults(func=cmd_init)

    names = ["ingest", "alarms", "chaos", "cluster", "registrations", "bridge", "rooster"]
    p = sub.add_parser("bench", help="benchmarks: " + ", ".join(names))
    p.add_argument("name", choices=names)
    p.add_argument("rest", nargs=argparse.REMAINDER)
    p.set_defaults(func=cmd_bench)

    args = parser.parse_args(argv)
    try:
        return int(args.func(args))
    except (SettingsError, MigrationError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
