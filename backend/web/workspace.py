"""The workspace pages (team lead, administrator, privacy officer): one HTML page per folder, same shell.

Every page folder under ``backend/web/`` that is not the console holds an ``index.html`` and its ES modules
in ``static/``; `page_router` serves them at the page's Dutch URL. The shell (header, navigation per role,
login and refusal) is ``/web/static/js/workspace.js`` with ``/web/static/css/workspace.css``, so every page
looks and signs in the same way.
"""

from __future__ import annotations

from pathlib import Path

from litestar import Router, get
from litestar.response import Response
from litestar.static_files import create_static_files_router


def page_router(path: str, folder: Path, *, tag: str) -> Router:
    """Serve ``folder/index.html`` at `path` and ``folder/static`` below ``path/static``."""
    html_file = folder / "index.html"

    @get("/", include_in_schema=False, name=f"{tag}-page")
    async def page() -> Response[bytes]:
        return Response(
            html_file.read_bytes(),
            media_type="text/html; charset=utf-8",
            headers={"Cache-Control": "no-cache"},
        )

    handlers: list[object] = [page]
    if (folder / "static").is_dir():
        handlers.append(
            create_static_files_router(
                path="/static",
                directories=[folder / "static"],
                include_in_schema=False,
                cache_control=None,
                name=f"{tag}-static",
            )
        )
    return Router(path=path, tags=[tag], route_handlers=handlers)  # type: ignore[arg-type]
