"""What the running app holds: settings, the pool, the live hub. Built once in the app's lifespan."""

from __future__ import annotations

from dataclasses import dataclass

import asyncpg

from backend.live.hub import LiveHub
from backend.settings import Settings


@dataclass(slots=True)
class Services:
    settings: Settings
    pool: asyncpg.Pool
    hub: LiveHub
    revoked_devices: set[int]
