"""create_app(settings) -> Litestar: the only place where Schakel is wired together."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager, suppress
from os import PathLike
from pathlib import Path

import asyncpg
from litestar import Litestar, get
from litestar.di import NamedDependency, Provide
from litestar.openapi import OpenAPIConfig
from litestar.plugins.jinja import JinjaTemplateEngine
from litestar.response import Response
from litestar.template.config import TemplateConfig

from backend.admin import routes as admin_routes
from backend.alarmreport import routes as alarm_report_routes
from backend.alerts import routes as alert_routes
from backend.alerts import timeline as alert_timeline_routes
from backend.areaalerts import live as area_live
from backend.areaalerts import routes as area_alert_routes
from backend.auth import routes as auth_routes
from backend.auth.guards import authenticate_api, provide_principal
from backend.auth.headers import security_headers
from backend.auth.sessions import SessionWatch
from backend.bridge import routes as bridge_routes
from backend.db.migrate import migrate
from backend.db.pool import create_pool
from backend.dispatch import live as dispatch_live
from backend.dispatch import routes as dispatch_routes
from backend.errors import EXCEPTION_HANDLERS
from backend.feitcodes import routes as feitcode_routes
from backend.geocoding import routes as geocoding_routes
from backend.geocoding.client import Geocoder
from backend.geocoding.filler import AddressFiller
from backend.geofencing import routes as beat_routes
from backend.kenteken import routes as kenteken_routes
from backend.live import osmand_routes, sockets
from backend.live.hub import LiveHub
from backend.openapi import COMPONENTS, SECURITY, document_errors, swagger_assets, swagger_plugin
from backend.orgs import repository as orgs
from backend.orgs import routes as org_routes
from backend.photos import routes as photo_routes
from backend.privacy import retention, retention_routes
from backend.privacy import routes as privacy_routes
from backend.registerqueries import routes as register_query_routes
from backend.registrations import routes as registration_routes
from backend.reports import routes as report_routes
from backend.request_input import bound_json_depth
from backend.rooster import export_routes as rooster_export_routes
from backend.rooster import field_routes as rooster_field_routes
from backend.rooster import routes as rooster_routes
from backend.services import DEPENDENCIES, Services
from backend.settings import Settings
from backend.shifts import routes as shift_routes
from backend.signalen import routes as signalen_routes
from backend.signalen.sync import SignalenSync
from backend.team import routes as team_routes
from backend.teamlead import routes as teamlead_routes
from backend.web import routes as web_routes

log = logging.getLogger(__name__)

# Server-rendered documents (receipt, monthly overview); Litestar's Jinja engine escapes every value.
TEMPLATE_DIRS: list[Path | PathLike[str] | str] = [
    Path(__file__).parent / "registrations" / "templates",
    Path(__file__).parent / "reports" / "templates",
]


@get("/health", tags=["meta"])
async def health(
    pool: NamedDependency[asyncpg.Pool], hub: NamedDependency[LiveHub]
) -> Response[dict[str, str]]:
    """Answers 200 when the service and its database are up and the field writer runs (it says whether it had
    to be restarted)."""
    writer = hub.writer.status
    try:
        async with pool.acquire(timeout=2) as conn:
            await conn.fetchval("SELECT 1")
    except Exception as exc:  # the database is down: say so, do not crash
        return Response({"status": "unavailable", "database": str(exc), "writer": writer}, status_code=503)
    if writer == "stopped":
        return Response({"status": "unavailable", "writer": writer}, status_code=503)
    return Response({"status": "ok", "writer": writer})


def create_app(settings: Settings) -> Litestar:
    if settings.database_url is None:
        raise ValueError("create_app needs a database URL; the CLI starts the embedded PostgreSQL")

    @asynccontextmanager
    async def lifespan(app: Litestar) -> AsyncIterator[None]:
        pool = await create_pool(settings.database_url)  # type: ignore[arg-type]
        async with pool.acquire() as conn:
            applied = await migrate(conn)
            if applied:
                log.info("applied migrations: %s", ", ".join(applied))
            revoked = await orgs.revoked_device_ids(conn)
        hub = LiveHub(pool, settings)
        hub.revoke_listeners.append(revoked.add)  # a device revoked on any instance is refused here too
        dispatch_live.install(hub)
        area_live.install(hub)
        await hub.start()
        # an ended session is remembered as long as an access token issued from it may still be valid
        sessions = SessionWatch(remember_s=settings.access_token_minutes * 60 + 60)
        async with pool.acquire() as conn:
            await sessions.look(conn)
        geocoder = Geocoder(
            settings.geocoder_url, timeout_s=settings.geocoder_timeout_s, cache_s=settings.geocoder_cache_s
        )
        addresses = AddressFiller(
            pool, geocoder, hub, poll_s=settings.geocoder_poll_s, retry_s=settings.geocoder_retry_s
        )
        addresses.listeners.append(dispatch_live.address_filled(hub, pool))
        app.state.services = Services(
            settings=settings,
            pool=pool,
            hub=hub,
            revoked_devices=revoked,
            sessions=sessions,
            geocoder=geocoder,
            addresses=addresses,
        )
        retention_task = asyncio.create_task(retention.daily(pool, settings.uploads_dir))
        sessions_task = asyncio.create_task(sessions.follow(pool, settings.session_check_s), name="sessions")
        addresses_task = asyncio.create_task(addresses.run(), name="addresses")
        tasks = [retention_task, sessions_task, addresses_task]
        if settings.signalen_url:  # the gemeente's Signalen (docs/partners.md)
            signalen = SignalenSync.from_settings(app.state.services)
            tasks.append(asyncio.create_task(signalen.run(), name="signalen"))
        try:
            yield
        finally:
            for task in tasks:
                task.cancel()
                with suppress(asyncio.CancelledError):
                    await task
            await sessions.stop()
            await geocoder.close()
            await hub.stop()
            await pool.close()

    app = Litestar(
        route_handlers=[
            health,
            auth_routes.router,
            org_routes.router,
            shift_routes.router,
            beat_routes.router,
            osmand_routes.router,
            sockets.router,
            registration_routes.router,
            photo_routes.router,
            feitcode_routes.router,
            report_routes.router,
            alarm_report_routes.router,
            privacy_routes.router,
            retention_routes.router,
            admin_routes.router,
            dispatch_routes.router,
            alert_routes.router,
            web_routes.router,
            bridge_routes.router,
            area_alert_routes.router,
            register_query_routes.router,
            kenteken_routes.router,
            signalen_routes.router,
            alert_timeline_routes.router,
            team_routes.router,
            teamlead_routes.router,
            rooster_export_routes.router,
            rooster_export_routes.feed_router,
            rooster_routes.router,
            rooster_field_routes.router,
            geocoding_routes.router,
            swagger_assets(),
        ],
        dependencies={"principal": Provide(provide_principal), **DEPENDENCIES},
        guards=[authenticate_api],  # app-wide: a valid token before anything is parsed (401, never a 400)
        exception_handlers=EXCEPTION_HANDLERS,  # type: ignore[arg-type]
        lifespan=[lifespan],
        before_request=bound_json_depth,  # every JSON body: at most MAX_JSON_DEPTH deep (400 naming `body`)
        openapi_config=OpenAPIConfig(
            title="Schakel",
            version="0.1.0",
            path="/schema",
            render_plugins=[swagger_plugin()],  # its assets from this server: works offline
            components=COMPONENTS,
            security=SECURITY,  # every operation needs the bearer token unless it says otherwise (public)
        ),
        template_config=TemplateConfig(directory=TEMPLATE_DIRS, engine=JinjaTemplateEngine),
        # the largest body any route takes (a GeoJSON import, a photo); routes with less check their own
        request_max_body_size=20 * 1024 * 1024,
    )
    # CSP, nosniff, no-store on /api, ...: around the whole app, not as route middleware, so that answers no
    # route makes (404 for an unknown path, 405 for a wrong method) carry them too
    app.asgi_handler = security_headers(settings.tile_url)(app.asgi_handler)
    document_errors(app)
    return app
