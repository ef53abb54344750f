"""Processes a test starts (`schakel serve`, the bridge, proxies) and a stop that leaves none of them behind.

`start` puts each in a process group of its own; `stop_all` ends the process and everything it started, also
when the test failed or timed out before its own orderly stop: SIGTERM first (the process's own clean-up,
e.g. `serve --instances` stopping its instances and its embedded PostgreSQL), then SIGKILL to its process
group and to every descendant it had. An embedded PostgreSQL is not among them (pg_ctl starts the
postmaster in a session of its own, and it outlives a killed parent): pass its data directory and it is
stopped too.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
from collections.abc import Sequence
from pathlib import Path
from typing import IO

import psutil

ROOT = Path(__file__).resolve().parents[2]


def start(
    args: Sequence[str],
    *,
    env: dict[str, str] | None = None,
    stdout: IO[bytes] | int | None = None,
    stderr: IO[bytes] | int | None = subprocess.STDOUT,
) -> subprocess.Popen[bytes]:
    """Start a process in a process group of its own (so `stop_all` can reach all it starts)."""
    return subprocess.Popen(
        list(args), cwd=ROOT, env=env, stdout=stdout, stderr=stderr, start_new_session=True
    )


def family(process: subprocess.Popen[bytes]) -> list[psutil.Process]:
    """The processes `process` started (and they started), as far as they are still alive."""
    with contextlib.suppress(psutil.Error):
        return psutil.Process(process.pid).children(recursive=True)
    return []


def stop_all(process: subprocess.Popen[bytes], *, grace: float = 30.0, pgdata: Path | None = None) -> None:
    """Stop `process` and everything it started: SIGTERM, `grace` seconds for its own clean-up, then SIGKILL
    to its group and every descendant still alive; then the embedded PostgreSQL in `pgdata` if it still
    runs. Never raises for a process that is already gone."""
    seen = family(process)
    if process.poll() is None:
        with contextlib.suppress(ProcessLookupError):
            process.terminate()
        with contextlib.suppress(subprocess.TimeoutExpired):
            process.wait(grace)
    seen += [p for p in family(process) if p not in seen]  # started during the stop
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(process.pid, signal.SIGKILL)  # its group: `start` made it the leader
    for child in seen:
        with contextlib.suppress(psutil.Error):
            child.kill()  # psutil checks it is still the same process (not a reused pid)
    if process.poll() is None:
        process.kill()
    process.wait()
    if pgdata is not None:
        stop_postgres(pgdata, grace)


def stop_postgres(pgdata: Path, grace: float = 30.0) -> None:
    """Stop the PostgreSQL whose data is in `pgdata` if it still runs (its owner was killed before it could
    stop it): a fast shutdown, and SIGKILL to it and its backends if that takes longer than `grace`."""
    try:
        pid = int((pgdata / "postmaster.pid").read_text().split()[0])
        postmaster = psutil.Process(pid)
        if "postgres" not in postmaster.name():
            return  # the pid file is stale and the pid belongs to someone else now
        backends = postmaster.children(recursive=True)
    except (OSError, ValueError, IndexError, psutil.Error):
        return
    with contextlib.suppress(psutil.Error):
        postmaster.send_signal(signal.SIGINT)  # PostgreSQL's fast shutdown
    _, alive = psutil.wait_procs([postmaster], timeout=grace)
    for p in [*alive, *backends]:
        with contextlib.suppress(psutil.Error):
            p.kill()
    psutil.wait_procs([*alive, *backends], timeout=5)


def still_running(processes: Sequence[psutil.Process], timeout: float) -> list[psutil.Process]:
    """Wait up to `timeout` for `processes` to exit; the ones that have not."""
    _, alive = psutil.wait_procs(list(processes), timeout=timeout)
    return list(alive)
