"""What the running app holds: settings, the pool, the live hub. Built once in the app's lifespan.

Route handlers get them as Litestar dependencies (``pool``, ``hub``, ``settings``; ``services`` for the
service layers that take the bundle), so no handler reaches into the app's state itself.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import asyncpg
from litestar.datastructures import State
from litestar.di import Provide

from backend.auth.sessions import SessionWatch
from backend.geocoding.client import Geocoder
from backend.geocoding.filler import AddressFiller
from backend.live.hub import LiveHub
from backend.settings import Settings


@dataclass(slots=True)
class Services:
    settings: Settings
    pool: asyncpg.Pool
    hub: LiveHub
    revoked_devices: set[int]
    sessions: SessionWatch
    geocoder: Geocoder
    addresses: AddressFiller  # fills addresses in after writes; poke() it to look at once


def provide_services(state: State) -> Services:
    services: Services = state.services
    return services


def provide_pool(state: State) -> asyncpg.Pool:
    return provide_services(state).pool


def provide_hub(state: State) -> LiveHub:
    return provide_services(state).hub


def provide_settings(state: State) -> Settings:
    return provide_services(state).settings


DEPENDENCIES: dict[str, Any] = {
    "services": Provide(provide_services, sync_to_thread=False),
    "pool": Provide(provide_pool, sync_to_thread=False),
    "hub": Provide(provide_hub, sync_to_thread=False),
    "settings": Provide(provide_settings, sync_to_thread=False),
}
