"""The web pages' shared files: the API client with its login, the login form, Dutch labels, vendored Leaflet.

Each page lives in its own folder beside this module (``console/`` is the meldkamer) and imports these from
``/web/static/...``, so a second page reuses the same session handling and wording.
"""

from __future__ import annotations

from pathlib import Path

from litestar import Router, get
from litestar.response import Redirect
from litestar.static_files import create_static_files_router

from backend.web.console import routes as console
from backend.web.workspace import page_router

HERE = Path(__file__).parent

STATIC = Path(__file__).parent / "static"

# The workspace pages (backend/web/workspace.py) each add one `page_router(...)` below; the menu that links
# them is PAGES in static/js/workspace.js.
shared_static = create_static_files_router(
    path="/web/static", directories=[STATIC], include_in_schema=False, cache_control=None
)

# Every page: the shared files, then one router per page folder (each keeps its own URL, e.g. /meldkamer).
# The team lead's pages: the API behind them is teamlead/admin only.
teamlead_pages = [
    page_router("/teamleider", HERE / "vandaag", tag="teamlead-today"),
    page_router("/teamleider/registraties", HERE / "registraties", tag="teamlead-registrations"),
    page_router("/teamleider/gebieden", HERE / "gebieden", tag="teamlead-beats"),
    page_router("/teamleider/team", HERE / "team", tag="teamlead-team"),
    page_router("/teamleider/rooster", HERE / "rooster", tag="teamlead-rooster"),
    page_router("/teamleider/rapportage", HERE / "areareport", tag="areareport"),
    page_router("/teamleider/alarmen", HERE / "alarmreport", tag="alarm-report"),
]
admin_pages = [
    page_router("/start", HERE / "start", tag="start"),
    page_router("/beheer", HERE / "admin", tag="beheer"),
    page_router("/privacy", HERE / "privacy", tag="privacy"),
]


@get("/", include_in_schema=False)
async def front_door() -> Redirect:
    """Whoever opens the server's address signs in once and lands on the page of their role."""
    return Redirect("/start/")


router = Router(
    path="/", route_handlers=[front_door, shared_static, console.router, *teamlead_pages, *admin_pages]
)
