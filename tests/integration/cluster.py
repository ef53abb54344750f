"""Two real Schakel instances (two apps, each with its own uvicorn on its own loopback port), ONE database."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager
from pathlib import Path
from typing import Any

from tests.integration.harness import Server, make_settings, running


@asynccontextmanager
async def instances(
    database_url: str, tmp: Path, n: int = 2, **overrides: Any
) -> AsyncIterator[list[Server]]:
    """`n` instances started one after the other (the first applies migrations), stopped in reverse."""
    async with AsyncExitStack() as stack:
        servers = [
            await stack.enter_async_context(running(make_settings(database_url, tmp, **overrides)))
            for _ in range(n)
        ]
        yield servers
