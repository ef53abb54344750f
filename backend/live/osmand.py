"""Decoder for the OsmAnd tracker protocol, as spoken by Traccar Client and the OsmAnd app.

Sans-I/O: the HTTP edge hands over the parsed query string, the raw body and its Content-Type, and gets back a
:class:`TrackerReport` or an :class:`OsmAndError` that names the offending field (the edge answers 400). No
other exception escapes for any input, so a misbehaving phone can never crash the endpoint.

Two variants exist:

* key/value parameters, in the query string (GET, or POST with an empty body) or in an
  ``application/x-www-form-urlencoded`` body (merged with the query; the form wins). Speed is in **knots**.
* JSON (``application/json``), the format of Traccar Client 9 (transistorsoft background-geolocation):
  ``{"device_id": ..., "location": {"timestamp", "coords": {...}, "battery": {...}, ...}}``. Speed is in m/s.

Phones send -1 for "unknown" speed, heading, accuracy and battery level; those become ``None``. What the
database could not hold is refused here by the wire contract's rules (`shared/protocol.py`): speed and
accuracy up to ``MAX_MEASURE``, a timestamp inside ``check_time_window`` around the server's clock.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any
from urllib.parse import parse_qsl

import msgspec

from shared.protocol import MAX_MEASURE, check_time_window

MAX_BODY_BYTES = 64 * 1024
MAX_DEVICE_KEY_LENGTH = 128
KNOT_MPS = 0.514444
_SECONDS_LIMIT = 2**31  # integer timestamps below this are epoch seconds, others epoch milliseconds

_NUMBER = re.compile(r"[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?")
_INTEGER = re.compile(r"\d+")
_KNOWN_PARAMS = frozenset(
    {"id", "deviceid", "lat", "lon", "location", "timestamp", "speed", "bearing", "heading",
     "altitude", "accuracy", "hdop", "batt", "charge", "valid"}
)  # fmt: skip


class TrackerReport(msgspec.Struct, frozen=True, kw_only=True):
    """One position from a standard tracker, normalised to SI units and UTC."""

    device_key: str
    lon: float
    lat: float
    at: datetime
    speed_mps: float | None
    heading_deg: float | None
    altitude_m: float | None
    accuracy_m: float | None
    battery_pct: float | None
    charging: bool | None
    valid: bool
    extras: dict[str, str]


class OsmAndError(Exception):
    """A request the decoder rejects; ``field`` names the parameter at fault."""

    def __init__(self, field: str, reason: str) -> None:
        super().__init__(f"{field}: {reason}")
        self.field = field
        self.reason = reason


def decode_osmand(
    *, query: Mapping[str, str], body: bytes, content_type: str | None, now: datetime
) -> TrackerReport:
    """Decode one OsmAnd request; ``now`` is used when the request carries no timestamp.

    Any representable time is taken here, so captured messages of any date decode; the HTTP edge then holds
    the fix's time against the server clock with `check_fix_time`.
    """
    if len(body) > MAX_BODY_BYTES:
        raise OsmAndError("body", f"larger than {MAX_BODY_BYTES} bytes")
    now = _utc(now)
    if _is_json(content_type):
        return _decode_json(body, now)
    params = dict(query)
    # Traccar also reads a body without a Content-Type as a form, so a bare POST from a simple client works.
    if _media_type(content_type) == "application/x-www-form-urlencoded" or (
        not _media_type(content_type) and body.strip()
    ):
        params.update(_parse_form(body))
    return _decode_params(params, now)


def check_fix_time(report: TrackerReport, *, content_type: str | None, clock: datetime) -> None:
    """Refuse a fix whose time is outside `check_time_window` around the server's clock, naming the field the
    time came in (as `decode_osmand` read the same request)."""
    reason = check_time_window(report.at, _utc(clock))
    if reason is not None:
        field = "location.timestamp" if _is_json(content_type) else "timestamp"
        raise OsmAndError(field, f"timestamp {reason}")


def _media_type(content_type: str | None) -> str:
    return (content_type or "").split(";", 1)[0].strip().lower()


def _is_json(content_type: str | None) -> bool:
    return _media_type(content_type) == "application/json"


def _utc(at: datetime) -> datetime:
    return at.replace(tzinfo=UTC) if at.tzinfo is None else at.astimezone(UTC)


# --- key/value variant --------------------------------------------------------------------------------------


def _parse_form(body: bytes) -> dict[str, str]:
    try:
        text = body.decode("utf-8")
        return dict(parse_qsl(text, keep_blank_values=True, errors="strict"))
    except ValueError as exc:  # UnicodeDecodeError is a ValueError
        raise OsmAndError("body", "form body is not valid UTF-8") from exc


def _decode_params(params: dict[str, str], now: datetime) -> TrackerReport:
    device_key = _device_key("id", params.get("id") or params.get("deviceid"))
    if params.get("lat", "").strip() or params.get("lon", "").strip() or "location" not in params:
        lat = _coordinate("lat", params.get("lat"), 90.0)
        lon = _coordinate("lon", params.get("lon"), 180.0)
    else:
        parts = params["location"].split(",")
        if len(parts) != 2:
            raise OsmAndError("location", "expected 'lat,lon'")
        lat = _coordinate("location", parts[0], 90.0)
        lon = _coordinate("location", parts[1], 180.0)
    raw_time = params.get("timestamp", "").strip()
    speed_kn = _optional_number("speed", params.get("speed"))
    heading_key = "bearing" if params.get("bearing", "").strip() else "heading"
    extras = {key: value for key, value in params.items() if key not in _KNOWN_PARAMS}
    hdop = _optional_number("hdop", params.get("hdop"))
    if hdop is not None:
        extras["hdop"] = repr(hdop)
    return TrackerReport(
        device_key=device_key,
        lon=lon,
        lat=lat,
        at=_parse_timestamp("timestamp", raw_time) if raw_time else now,
        speed_mps=_measure("speed", None if speed_kn is None or speed_kn < 0 else speed_kn * KNOT_MPS),
        heading_deg=_heading(_optional_number(heading_key, params.get(heading_key))),
        altitude_m=_optional_number("altitude", params.get("altitude")),
        accuracy_m=_measure("accuracy", _non_negative(_optional_number("accuracy", params.get("accuracy")))),
        battery_pct=_non_negative(_optional_number("batt", params.get("batt"))),
        charging=_optional_bool("charge", params.get("charge")),
        valid=_optional_bool("valid", params.get("valid")) is not False,
        extras=extras,
    )


def _parse_number(field: str, text: str) -> float:
    text = text.strip()
    if not _NUMBER.fullmatch(text):
        raise OsmAndError(field, f"not a number: {text[:40]!r}")
    value = float(text)
    if not math.isfinite(value):
        raise OsmAndError(field, "not a finite number")
    return value


def _optional_number(field: str, text: str | None) -> float | None:
    if text is None or not text.strip():
        return None
    return _parse_number(field, text)


def _coordinate(field: str, text: str | None, limit: float) -> float:
    if text is None or not text.strip():
        raise OsmAndError(field, "missing")
    value = _parse_number(field, text)
    if not -limit <= value <= limit:
        raise OsmAndError(field, f"out of range -{limit:g}..{limit:g}: {value}")
    return value


def _optional_bool(field: str, text: str | None) -> bool | None:
    if text is None or not text.strip():
        return None
    lowered = text.strip().lower()
    if lowered in ("true", "1"):
        return True
    if lowered in ("false", "0"):
        return False
    raise OsmAndError(field, f"expected true or false, got {text[:40]!r}")


def _parse_timestamp(field: str, text: str) -> datetime:
    """Integer < 2**31: epoch s, other integer: epoch ms; with 'T': ISO 8601; else yyyy-MM-dd HH:mm:ss."""
    try:
        if _INTEGER.fullmatch(text):
            number = int(text)
            seconds = number if number < _SECONDS_LIMIT else number / 1000
            return datetime.fromtimestamp(seconds, UTC)
        if "T" in text:
            parsed = datetime.fromisoformat(text)
        else:
            parsed = datetime.strptime(text, "%Y-%m-%d %H:%M:%S")
    except (ValueError, OverflowError, OSError) as exc:
        raise OsmAndError(field, f"unparseable timestamp {text[:40]!r}") from exc
    # Local time without an offset is read as UTC, as Traccar does.
    if parsed.tzinfo is None:
        return parsed.replace(tzinfo=UTC)
    try:
        return parsed.astimezone(UTC)
    except (ValueError, OverflowError) as exc:  # e.g. 0001-01-01T00:00+01:00
        raise OsmAndError(field, f"timestamp out of range {text[:40]!r}") from exc


# --- shared helpers -----------------------------------------------------------------------------------------


def _device_key(field: str, raw: object) -> str:
    if isinstance(raw, bool) or not isinstance(raw, str | int):
        raise OsmAndError(field, "missing device id")
    key = str(raw).strip()
    if not key:
        raise OsmAndError(field, "missing device id")
    if len(key) > MAX_DEVICE_KEY_LENGTH:
        raise OsmAndError(field, f"device id longer than {MAX_DEVICE_KEY_LENGTH} characters")
    if "\x00" in key:  # PostgreSQL text cannot hold it: it could never match a registered tracker
        raise OsmAndError(field, "device id contains a NUL character")
    return key


def _measure(field: str, value: float | None) -> float | None:
    """A speed (m/s) or accuracy (m) the position columns can hold."""
    if value is not None and value > MAX_MEASURE:
        raise OsmAndError(field, f"larger than {MAX_MEASURE:g}: {value:g}")
    return value


def _heading(value: float | None) -> float | None:
    return None if value is None or value < 0 else value % 360.0


def _non_negative(value: float | None) -> float | None:
    return None if value is None or value < 0 else value


# --- JSON variant -------------------------------------------------------------------------------------------

_COORD_KEYS = frozenset({"latitude", "longitude", "accuracy", "speed", "heading", "altitude"})
_LOCATION_KEYS = frozenset({"timestamp", "coords", "battery", "extras"})


def _decode_json(body: bytes, now: datetime) -> TrackerReport:
    try:
        root = msgspec.json.decode(body)
    except (msgspec.DecodeError, RecursionError) as exc:  # RecursionError: absurdly deep nesting
        raise OsmAndError("body", f"invalid JSON ({exc})") from exc
    if not isinstance(root, dict):
        raise OsmAndError("body", "expected a JSON object")
    device_key = _device_key("device_id", root.get("device_id"))
    location = root.get("location")
    if isinstance(location, list):
        raise OsmAndError("location", "a list of locations is not supported; send one per request")
    if not isinstance(location, dict):
        raise OsmAndError("location", "missing or not an object")
    coords = _object(location, "coords", "location.coords")
    battery = _object(location, "battery", "location.battery") if "battery" in location else {}

    lat = _json_coordinate(coords, "latitude", 90.0)
    lon = _json_coordinate(coords, "longitude", 180.0)
    raw_time = location.get("timestamp")
    if raw_time is None:
        at = now
    elif isinstance(raw_time, str):
        at = _parse_timestamp("location.timestamp", raw_time.strip())
    elif isinstance(raw_time, int) and not isinstance(raw_time, bool) and raw_time >= 0:
        at = _parse_timestamp("location.timestamp", str(raw_time))
    else:
        raise OsmAndError("location.timestamp", "expected an ISO 8601 string")
    level = _json_number(battery, "level", "location.battery.level")
    charging = battery.get("is_charging")
    if charging is not None and not isinstance(charging, bool):
        raise OsmAndError("location.battery.is_charging", "expected true or false")

    extras: dict[str, str] = {}
    for key, value in location.items():
        if key not in _LOCATION_KEYS:
            extras[str(key)] = _text(value)
    for key, value in coords.items():
        if key not in _COORD_KEYS:
            extras[f"coords.{key}"] = _text(value)
    user_extras = location.get("extras")
    if isinstance(user_extras, dict):
        extras.update((str(key), _text(value)) for key, value in user_extras.items())
    elif user_extras is not None:
        extras["extras"] = _text(user_extras)
    speed = _json_number(coords, "speed", "location.coords.speed")
    return TrackerReport(
        device_key=device_key,
        lon=lon,
        lat=lat,
        at=at,
        speed_mps=_measure("location.coords.speed", None if speed is None or speed < 0 else speed),
        heading_deg=_heading(_json_number(coords, "heading", "location.coords.heading")),
        altitude_m=_json_number(coords, "altitude", "location.coords.altitude"),
        accuracy_m=_measure(
            "location.coords.accuracy",
            _non_negative(_json_number(coords, "accuracy", "location.coords.accuracy")),
        ),
        battery_pct=None if level is None or not 0 <= level <= 1 else level * 100.0,
        charging=charging,
        valid=True,
        extras=extras,
    )


def _object(parent: dict[str, Any], key: str, field: str) -> dict[str, Any]:
    value = parent.get(key)
    if not isinstance(value, dict):
        raise OsmAndError(field, "missing or not an object")
    return value


def _json_number(parent: dict[str, Any], key: str, field: str) -> float | None:
    value = parent.get(key)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise OsmAndError(field, "not a number")
    try:
        number = float(value)
    except OverflowError as exc:  # an integer literal beyond float range
        raise OsmAndError(field, "not a finite number") from exc
    if not math.isfinite(number):
        raise OsmAndError(field, "not a finite number")
    return number


def _json_coordinate(coords: dict[str, Any], key: str, limit: float) -> float:
    field = f"location.coords.{key}"
    value = _json_number(coords, key, field)
    if value is None:
        raise OsmAndError(field, "missing")
    if not -limit <= value <= limit:
        raise OsmAndError(field, f"out of range -{limit:g}..{limit:g}: {value}")
    return value


def _text(value: object) -> str:
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    try:
        if isinstance(value, int | float):
            return repr(value)
        return msgspec.json.encode(value).decode()
    except (ValueError, OverflowError, TypeError):  # ints beyond 4300 digits or 64 bits
        return "<unrepresentable>"
