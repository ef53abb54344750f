"""The web pages' shared files: the API client with its login, the login form, Dutch labels, vendored Leaflet.

Each page lives in its own folder beside this module (``console/`` is the meldkamer) and imports these from
``/web/static/...``, so a second page reuses the same session handling and wording.
"""

from __future__ import annotations

from pathlib import Path

from litestar.static_files import create_static_files_router

STATIC = Path(__file__).parent / "static"

shared_static = create_static_files_router(
    path="/web/static", directories=[STATIC], include_in_schema=False, cache_control=None
)

ROUTES = [shared_static]
