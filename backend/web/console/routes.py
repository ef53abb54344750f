"""The meldkamer console: one HTML page and its ES modules (shared ones and Leaflet come from backend/web)."""

from __future__ import annotations

from pathlib import Path

import msgspec
from litestar import Router, get
from litestar.di import NamedDependency
from litestar.response import Response
from litestar.static_files import create_static_files_router

from backend.settings import Settings

STATIC = Path(__file__).parent / "static"


class ConsoleConfig(msgspec.Struct, frozen=True, kw_only=True):
    tile_url: str  # background map tiles ({z}/{x}/{y}); the console works without them
    tile_attribution: str
    stale_after_s: float


@get("/", include_in_schema=False)
async def console_page() -> Response[bytes]:
    html = (STATIC / "index.html").read_bytes()
    return Response(html, media_type="text/html; charset=utf-8", headers={"Cache-Control": "no-cache"})


@get("/config.json")
async def console_config(settings: NamedDependency[Settings]) -> ConsoleConfig:
    return ConsoleConfig(
        tile_url=settings.tile_url,
        tile_attribution=settings.tile_attribution,
        stale_after_s=settings.stale_after_s,
    )


static = create_static_files_router(
    path="/static", directories=[STATIC], include_in_schema=False, cache_control=None
)

router = Router(path="/meldkamer", tags=["console"], route_handlers=[console_page, console_config, static])
