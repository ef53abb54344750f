"""What the OpenAPI document says beyond what Litestar infers from the handlers' signatures.

- the bearer token (``securitySchemes``), required everywhere except on public routes;
- the bodies that handlers read by hand (registrations, photos, catalogues, GeoJSON imports, OsmAnd), so a
  client can be generated and a fuzzer gets past parsing: a handler names its body with
  ``operation_class=raw_body(...)`` on its decorator and keeps reading the raw bytes;
- every error answer with its body (:class:`shared.http.ErrorBody`), added to every route in one place by
  :func:`document_errors` from what the route takes (a token, parameters, a body).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

import msgspec
from litestar import Litestar
from litestar.handlers.http_handlers import HTTPRouteHandler
from litestar.openapi.datastructures import ResponseSpec
from litestar.openapi.spec import (
    Components,
    OpenAPIMediaType,
    Operation,
    RequestBody,
    SecurityRequirement,
    SecurityScheme,
)
from litestar.routes import HTTPRoute

from shared.http import ErrorBody

BEARER = "BearerToken"
COMPONENTS = Components(
    security_schemes={
        BEARER: SecurityScheme(
            type="http",
            scheme="bearer",
            bearer_format="JWT",
            description="The access token of POST /api/auth/login or /api/auth/refresh.",
        )
    }
)
SECURITY: list[SecurityRequirement] = [{BEARER: []}]

# Names a handler's signature takes from Litestar's dependency injection, not from the request.
_INJECTED = {"request", "principal", "pool", "hub", "settings", "services", "state", "scope", "socket"}

_ERRORS = {
    400: "Bad input: `field` names the parameter or body field at fault (`body` for the document).",
    401: "No valid bearer token.",
    403: "The caller's role or organisation may not do this.",
    404: "What the path or body refers to does not exist, or the caller may not see it.",
    409: "Conflicts with what is stored (a duplicate, or an id that holds other content).",
    413: "The body is larger than this route takes.",
    415: "The body's content type is not one this route takes.",
    429: "Too many failed attempts: wait the seconds Retry-After says (login, password change).",
    503: "A partner this answer needs (the RDW) could not be asked, and nothing is known from before.",
}


def inline_schema(type_: Any) -> dict[str, Any]:
    """The JSON schema msgspec decodes ``type_`` by, with its ``$defs`` inlined (the types are not recursive),
    so it sits in an operation without touching the document's components."""
    schema = msgspec.json.schema(type_)
    defs: dict[str, Any] = schema.pop("$defs", {})

    def resolve(node: Any) -> Any:
        if isinstance(node, dict):
            ref = node.get("$ref")
            if isinstance(ref, str) and ref.startswith("#/$defs/"):
                return resolve(defs[ref.removeprefix("#/$defs/")])
            return {key: resolve(value) for key, value in node.items()}
        if isinstance(node, list):
            return [resolve(value) for value in node]
        return node

    resolved: dict[str, Any] = resolve(schema)
    return resolved


def raw_body(
    content: dict[str, Any],
    *,
    description: str,
    required: bool = True,
    public: bool = False,
) -> type[Operation]:
    """An operation class that documents a body the handler reads itself: media type -> msgspec type (or a
    JSON schema). Litestar does not decode it; the handler's own decoder stays the one that judges it."""
    # Operation.to_schema() copies a plain dict as it is: msgspec's schema goes into the document unchanged.
    media = {
        name: OpenAPIMediaType(schema=value if isinstance(value, dict) else inline_schema(value))  # type: ignore[arg-type]
        for name, value in content.items()
    }

    @dataclass
    class RawBodyOperation(Operation):
        reads_raw_body = True

        def __post_init__(self) -> None:
            self.request_body = RequestBody(content=media, description=description, required=required)
            if public:
                self.security = []

    return RawBodyOperation


def binary(description: str) -> dict[str, Any]:
    return {"type": "string", "format": "binary", "description": description}


def _public(handler: HTTPRouteHandler, path: str) -> bool:
    """As backend.auth.guards.authenticate_api decides: /api routes need a token unless marked public."""
    return bool(handler.opt.get("public")) or not path.startswith("/api/")


def _takes_body(handler: HTTPRouteHandler) -> bool:
    return "data" in handler.parsed_fn_signature.parameters or getattr(
        handler.operation_class, "reads_raw_body", False
    )


def _takes_input(handler: HTTPRouteHandler, path: str) -> bool:
    return (
        "{" in path
        or _takes_body(handler)
        or any(name not in _INJECTED for name in handler.parsed_fn_signature.parameters)
    )


_PATH_PARAM = re.compile(r"\{[^}]+\}")


def error_statuses(handler: HTTPRouteHandler, path: str) -> list[int]:
    """The error answers a route can give, from what it takes."""
    statuses: set[int] = set()
    public = _public(handler, path)
    body = _takes_body(handler)
    if _takes_input(handler, path) or body:
        statuses.add(400)
    if not public:
        statuses |= {401, 403}
        if _PATH_PARAM.search(path) or body:
            statuses.add(404)
    if body:
        statuses |= {409, 413} if not public else {413}
    return sorted(statuses)


@dataclass
class PublicOperation(Operation):
    """A route anyone may call: the document-wide bearer requirement does not apply."""

    def __post_init__(self) -> None:
        self.security = []


def document_errors(app: Litestar) -> None:
    """Give every HTTP route its error answers (the ones a handler names itself win) and mark public routes.

    The app holds its own copies of the handlers (Litestar copies them on registration), so this changes
    only this app's document.
    """
    for route in app.routes:
        if not isinstance(route, HTTPRoute):
            continue
        for handler in route.route_handlers:
            if not handler.resolve_include_in_schema():
                continue
            specs = {status: _spec(status) for status in error_statuses(handler, route.path)}
            handler.responses = {**specs, **(handler.responses or {})}
            if _public(handler, route.path) and handler.operation_class is Operation:
                handler.operation_class = PublicOperation


# The hand-read bodies that are not one of our Structs.
_POSITION = {"type": "number"}
GEOJSON_FEATURES: dict[str, Any] = {
    "type": "object",
    "description": "A GeoJSON FeatureCollection of Polygon or MultiPolygon features (WGS84, or RD New: crs).",
    "required": ["type", "features"],
    "properties": {
        "type": {"const": "FeatureCollection"},
        "features": {
            "type": "array",
            "items": {
                "type": "object",
                "required": ["type", "geometry", "properties"],
                "properties": {
                    "type": {"const": "Feature"},
                    "properties": {"type": "object"},
                    "geometry": {
                        "type": "object",
                        "required": ["type", "coordinates"],
                        "properties": {
                            "type": {"enum": ["Polygon", "MultiPolygon"]},
                            "coordinates": {"type": "array"},
                        },
                    },
                },
            },
        },
    },
}
GEOJSON_BODY: dict[str, type[Any] | dict[str, Any]] = {
    "application/geo+json": GEOJSON_FEATURES,
    "application/json": GEOJSON_FEATURES,
}
OSMAND_FORM: dict[str, Any] = {
    "type": "object",
    "description": "The OsmAnd protocol as Traccar Client sends it (the same keys may come in the query).",
    "required": ["id"],
    "properties": {
        "id": {"type": "string", "description": "the tracker's key (deviceid is taken too)"},
        "lat": {"type": "number", "minimum": -90, "maximum": 90},
        "lon": {"type": "number", "minimum": -180, "maximum": 180},
        "location": {"type": "string", "description": "'lat,lon' instead of lat and lon"},
        "timestamp": {"type": "string", "description": "Unix seconds or ISO 8601; now when absent"},
        "speed": {"type": "number", "description": "knots"},
        "bearing": _POSITION,
        "altitude": _POSITION,
        "accuracy": _POSITION,
        "hdop": _POSITION,
        "batt": _POSITION,
    },
}
OSMAND_JSON: dict[str, Any] = {
    "type": "object",
    "description": "Traccar Client's JSON form: one location per request.",
    "required": ["device_id", "location"],
    "properties": {
        "device_id": {"type": "string"},
        "location": {
            "type": "object",
            "required": ["coords"],
            "properties": {
                "timestamp": {"type": "string", "description": "ISO 8601; now when absent"},
                "coords": {
                    "type": "object",
                    "required": ["latitude", "longitude"],
                    "properties": {
                        "latitude": {"type": "number", "minimum": -90, "maximum": 90},
                        "longitude": {"type": "number", "minimum": -180, "maximum": 180},
                        "speed": _POSITION,
                        "heading": _POSITION,
                        "accuracy": _POSITION,
                        "altitude": _POSITION,
                    },
                },
                "battery": {
                    "type": "object",
                    "properties": {"level": _POSITION, "is_charging": {"type": "boolean"}},
                },
                "extras": {"type": "object"},
            },
        },
    },
}


def errors(*statuses: int) -> dict[int, ResponseSpec]:
    """Error answers a handler names on its decorator (``responses=errors(401)``), beyond the usual ones
    :func:`document_errors` infers: a public login that refuses a password, a photo of the wrong type."""
    return {status: _spec(status) for status in statuses}


def _spec(status: int) -> ResponseSpec:
    return ResponseSpec(data_container=ErrorBody, description=_ERRORS[status], generate_examples=False)


# --- the Swagger UI, served by us ---------------------------------------------------------------------------

SWAGGER_ASSETS = "/web/swagger-ui"  # the swagger-ui-py package's files: /schema/swagger works offline


def swagger_plugin() -> Any:
    """Litestar's Swagger UI page with its JavaScript and CSS from this server, not from a CDN (a demo on a
    laptop without internet, a locked-down network), from the ``swagger-ui-py`` package's copy of Swagger UI 5
    (4.x cannot read OpenAPI 3.1, which Litestar writes)."""
    from litestar.openapi.plugins import SwaggerRenderPlugin

    return SwaggerRenderPlugin(
        js_url=f"{SWAGGER_ASSETS}/swagger-ui-bundle.js",
        css_url=f"{SWAGGER_ASSETS}/swagger-ui.css",
        standalone_preset_js_url=f"{SWAGGER_ASSETS}/swagger-ui-standalone-preset.js",
        favicon=f"<link rel='icon' type='image/png' href='{SWAGGER_ASSETS}/favicon-32x32.png'>",
    )


def swagger_assets() -> Any:
    from pathlib import Path

    import swagger_ui  # type: ignore[import-untyped]
    from litestar.static_files import create_static_files_router

    return create_static_files_router(
        path=SWAGGER_ASSETS,
        directories=[Path(swagger_ui.__file__).parent / "static"],
        include_in_schema=False,
    )
