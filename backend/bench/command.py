"""What every load benchmark does around its run: a database (the given URL or a throw-away embedded one), a
temporary directory kept only on request, the operators' tokens, and the table plus JSON at the end."""

from __future__ import annotations

import asyncio
import contextlib
import shutil
import sys
import tempfile
from collections.abc import Callable, Coroutine, Iterator
from pathlib import Path
from typing import Any

import httpx
import msgspec

from backend.bench.world import PASSWORD

Body = Callable[[str, int | None, Path], Coroutine[Any, Any, dict[str, Any]]]


def run_in_temp(prefix: str, keep_temp: bool, database_url: str | None, body: Body) -> dict[str, Any]:
    """Run `body(url, postmaster_pid, tmp)` against a database and return its result, then clean up."""
    tmp = Path(tempfile.mkdtemp(prefix=prefix))
    try:
        with bench_database(database_url, tmp) as (url, postmaster_pid):
            return asyncio.run(body(url, postmaster_pid, tmp))
    finally:
        if keep_temp:
            print(f"kept: {tmp}", file=sys.stderr)
        else:
            shutil.rmtree(tmp, ignore_errors=True)


def report(result: dict[str, Any], table: str, json_path: str) -> int:
    """Print the table, write the JSON; 0 when every target passes, 1 when one fails."""
    print(table)
    Path(json_path).write_bytes(msgspec.json.format(msgspec.json.encode(result), indent=2) + b"\n")
    print(f"\nwritten: {json_path}")
    return 0 if result["pass"] else 1


@contextlib.contextmanager
def bench_database(url: str | None, tmp: Path) -> Iterator[tuple[str, int | None]]:
    """The given database, or an embedded one in `tmp` (with its postmaster's pid, for its CPU figure)."""
    if url:
        yield url, None
        return
    from backend.db.embedded import start_embedded

    server, url = start_embedded(tmp / "db", delete_on_exit=True)
    try:
        pid_file = tmp / "db" / "pg" / "postmaster.pid"
        pid = int(pid_file.read_text().split()[0]) if pid_file.exists() else None
        yield url, pid
    finally:
        with contextlib.suppress(Exception):
            server.cleanup()


async def operator_token(base: str, username: str) -> str:
    async with httpx.AsyncClient(base_url=base, timeout=30.0) as http:
        r = await http.post("/api/auth/login", json={"username": username, "password": PASSWORD})
        r.raise_for_status()
        return str(r.json()["access_token"])
