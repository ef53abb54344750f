"""Security headers on every HTTP answer (pages, API, static files, errors), as one ASGI middleware.

- ``Content-Security-Policy``: scripts, styles, fonts and connections only from Schakel itself (the console
  is ES modules and vendored Leaflet, no CDN); images also from the configured map tile server; no plugins,
  no framing by anyone (``frame-ancestors 'none'``, with ``X-Frame-Options: DENY`` for old browsers). The
  OpenAPI viewer under ``/schema`` (its UI served from ``/web/swagger-ui``, no CDN) gets no CSP; it shows no
  personal data.
- ``X-Content-Type-Options: nosniff``, ``Referrer-Policy: no-referrer`` (URLs may carry ids), and a
  ``Permissions-Policy`` that turns off what no page uses.
- ``Cache-Control: no-store`` on every ``/api`` answer that does not set its own: tokens (login, refresh,
  password change) and personal data must not stay in a browser's or a proxy's cache.

HSTS is the TLS terminator's header (see docs/security.md): the app does not know whether it was reached over
TLS, and an HSTS header sent over plain HTTP is ignored anyway.
"""

from __future__ import annotations

from collections.abc import Callable
from urllib.parse import urlsplit

from litestar.enums import ScopeType
from litestar.types import ASGIApp, Message, Receive, Scope, Send


def content_security_policy(tile_url: str) -> str:
    tiles = urlsplit(tile_url)
    tile_origin = (
        f"{tiles.scheme}://{tiles.netloc}" if tiles.scheme in ("http", "https") and tiles.netloc else ""
    )
    return "; ".join(
        [
            "default-src 'self'",
            "script-src 'self'",
            # Leaflet positions tiles and markers through element.style, which style-src does not govern
            "style-src 'self'",
            # blob: photos are fetched with the bearer token and shown from memory (the team lead's pages)
            f"img-src 'self' data: blob: {tile_origin}".strip(),
            "connect-src 'self'",  # CSP 3: 'self' covers ws:// and wss:// to the same host
            "font-src 'self'",
            "object-src 'none'",
            "base-uri 'none'",
            "form-action 'self'",
            "frame-ancestors 'none'",
        ]
    )


def security_headers(tile_url: str) -> Callable[[ASGIApp], ASGIApp]:
    """The middleware factory for ``Litestar(middleware=[...])``."""
    csp = content_security_policy(tile_url).encode()
    common = [
        (b"x-content-type-options", b"nosniff"),
        (b"referrer-policy", b"no-referrer"),
        (b"x-frame-options", b"DENY"),
        (b"permissions-policy", b"camera=(), microphone=(), geolocation=(), payment=(), usb=()"),
    ]

    def middleware(app: ASGIApp) -> ASGIApp:
        async def wrapped(scope: Scope, receive: Receive, send: Send) -> None:
            if scope["type"] != ScopeType.HTTP:
                await app(scope, receive, send)
                return
            path: str = scope["path"]

            async def send_with_headers(message: Message) -> None:
                if message["type"] == "http.response.start":
                    headers = list(message.get("headers", []))
                    present = {name.lower() for name, _ in headers}
                    extra = [h for h in common if h[0] not in present]
                    if not path.startswith("/schema") and b"content-security-policy" not in present:
                        extra.append((b"content-security-policy", csp))
                    if path.startswith("/api/") and b"cache-control" not in present:
                        extra.append((b"cache-control", b"no-store"))
                    message = {**message, "headers": headers + extra}
                await send(message)

            await app(scope, receive, send_with_headers)

        return wrapped

    return middleware
