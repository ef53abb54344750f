"""CAP 1.2 (OASIS Common Alerting Protocol) for the police adapter.

Out: a boa unit's safety alert as a CAP alert (category Security, urgency Immediate): the noodknop, an
assistance request, a man-down (the tablet's automatic alarm) and a missed check-in of a boa working alone.
In: a police alert (wanted vehicle, missing person, ...) with its area as shapely geometries.
Both directions are validated against the official OASIS XSD (`schemas/cap/CAP-v1.2.xsd`).
CAP coordinates are "lat,lon" (WGS84); Schakel's geometries are shapely x = lon, y = lat.
"""

from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta
from typing import Literal

import msgspec
from lxml import etree
from shapely.geometry import Polygon

from meldkamer_bridge.adapters.base import SCHEMAS, CodecError, load_xsd, parse_xml, xsd_errors
from shared.protocol import SAFETY_ALERTS, AlertKind

NS = "urn:oasis:names:tc:emergency:cap:1.2"
_Q = "{" + NS + "}"
_SCHEMA = load_xsd(SCHEMAS / "cap" / "CAP-v1.2.xsd")

MsgType = Literal["Alert", "Update", "Cancel"]
Scope = Literal["Restricted", "Private"]


# CAP 1.2 <status>: Actual for real work; Exercise (a drill) and Test are never acted on as real.
CapStatus = Literal["Actual", "Exercise", "Test"]
EXERCISE_STATUS: dict[str, CapStatus] = {"": "Actual", "exercise": "Exercise", "test": "Test"}


class OutgoingAlert(msgspec.Struct, frozen=True, kw_only=True):
    """What Schakel tells the police about a unit in need."""

    message_id: str  # CAP identifier: our outbox message id
    sender: str  # e.g. "schakel@amsterdam.handhaving.nl"
    sent: datetime
    kind: AlertKind  # a safety alert: noodknop, assistance, man_down, checkin_missed
    call_sign: str
    organisation: str
    lon: float | None = None
    lat: float | None = None
    radius_km: float = 0.05
    position_at: datetime | None = None  # when the position was taken, if older than the alert itself
    text: str = ""
    msg_type: MsgType = "Alert"
    scope: Scope = "Restricted"
    restriction: str = "Alleen voor politie en meldkamer"
    addresses: str = ""  # required by CAP for scope Private
    references: str = ""  # "sender,identifier,sent" of the alert an Update/Cancel refers to
    status: CapStatus = "Actual"  # Exercise or Test on an exercise link (docs/bridge.md, section 11)


class Circle(msgspec.Struct, frozen=True):
    lon: float
    lat: float
    radius_km: float


class PartnerAlert(msgspec.Struct, frozen=True, kw_only=True):
    """A decoded CAP alert from a partner. Geometry is lon/lat."""

    identifier: str
    sender: str
    sent: datetime
    status: str
    msg_type: str
    scope: str
    event: str = ""
    category: tuple[str, ...] = ()
    urgency: str = ""
    severity: str = ""
    certainty: str = ""
    headline: str = ""
    description: str = ""
    instruction: str = ""
    expires: datetime | None = None
    area_desc: str = ""
    polygons: tuple[Polygon, ...] = ()
    circles: tuple[Circle, ...] = ()
    parameters: dict[str, str] = {}
    references: str = ""


# --- encode -----------------------------------------------------------------------------------------------


def cap_time(at: datetime) -> str:
    """CAP's dateTime: seconds precision, explicit offset, never "Z"."""
    if at.tzinfo is None:
        raise CodecError("sent", "a time without a timezone")
    return at.astimezone(UTC).replace(microsecond=0).isoformat()


def reference_to(alert: OutgoingAlert) -> str:
    """The CAP `references` entry naming `alert`, for an Update or Cancel of it."""
    return f"{alert.sender},{alert.message_id},{cap_time(alert.sent)}"


class KindText(msgspec.Struct, frozen=True):
    event: str
    severity: str
    certainty: str  # Observed: a boa pressed; Likely / Possible: the system inferred it
    headline: str
    what: str


KINDS = {
    AlertKind.NOODKNOP: KindText(
        "Noodknop handhaving",
        "Extreme",
        "Observed",
        "NOODKNOP handhaving {call_sign} ({organisation})",
        "De noodknop is ingedrukt: de eenheid heeft direct hulp nodig.",
    ),
    AlertKind.ASSISTANCE: KindText(
        "Assistentieverzoek handhaving",
        "Severe",
        "Observed",
        "Assistentieverzoek handhaving {call_sign} ({organisation})",
        "De eenheid vraagt assistentie van de politie.",
    ),
    AlertKind.MAN_DOWN: KindText(
        "Man-down handhaving",
        "Extreme",
        "Likely",
        "MAN-DOWN handhaving {call_sign} ({organisation})",
        "Automatisch alarm: het apparaat van de boa meldt een val of geen beweging en het vooralarm is niet"
        " geannuleerd. De boa kan mogelijk niet zelf om hulp vragen.",
    ),
    AlertKind.CHECKIN_MISSED: KindText(
        "Gemiste check-in handhaving",
        "Severe",
        "Possible",
        "GEMISTE CHECK-IN handhaving {call_sign} ({organisation})",
        "Een boa die alleen werkt heeft zich niet op de afgesproken tijd gemeld.",
    ),
}
_TRIGGERS = {"tilt": "val (apparaat gekanteld)", "no_motion": "geen beweging"}


def _describe(alert: OutgoingAlert) -> str:
    what = KINDS[alert.kind].what
    if alert.lon is None or alert.lat is None:
        where = "Positie onbekend."
    else:
        where = f"Laatst bekende positie: {alert.lat:.6f}, {alert.lon:.6f} (WGS84)"
        if alert.position_at is not None:
            where += f", {_age(alert.sent - alert.position_at)} vóór de melding"
        where += "."
    lines = [what, f"Eenheid: {alert.call_sign}, {alert.organisation}.", where]
    if alert.text:
        text = _TRIGGERS.get(alert.text, alert.text) if alert.kind is AlertKind.MAN_DOWN else alert.text
        lines.append(f"Toelichting: {text}")
    if alert.msg_type == "Cancel":
        lines.insert(0, "INGETROKKEN:")
    return "\n".join(lines)


def describe(alert: OutgoingAlert) -> str:
    """The alert's Dutch description (what, who, where, the boa's note), as CAP and EIDO carry it."""
    return _describe(alert)


def headline(alert: OutgoingAlert) -> str:
    return KINDS[alert.kind].headline.format(call_sign=alert.call_sign, organisation=alert.organisation)


def _age(delta: timedelta) -> str:
    seconds = max(0, round(delta.total_seconds()))
    minutes, seconds = divmod(seconds, 60)
    return f"{minutes} min {seconds} s" if minutes else f"{seconds} s"


def add(parent: etree._Element, name: str, text: str) -> etree._Element:
    el = etree.SubElement(parent, _Q + name)
    try:
        el.text = text
    except ValueError:
        raise CodecError(name, "contains characters XML cannot carry (NUL or control characters)") from None
    return el


def _serialise(root: etree._Element) -> bytes:
    problem = xsd_errors(_SCHEMA, root)
    if problem is not None:  # e.g. control characters in a text: never send what a partner must refuse
        raise CodecError(*problem)
    return bytes(etree.tostring(root, xml_declaration=True, encoding="UTF-8"))


def encode_alert(alert: OutgoingAlert) -> bytes:
    """The CAP 1.2 XML of a safety alert; always valid against the OASIS schema."""
    if alert.kind not in SAFETY_ALERTS or alert.kind not in KINDS:
        raise CodecError("kind", f"only safety alerts go to the police, not {alert.kind.value}")
    texts = KINDS[alert.kind]
    if alert.msg_type != "Alert" and not alert.references:
        raise CodecError("references", f"a {alert.msg_type} must reference the alert it updates")
    if alert.scope == "Private" and not alert.addresses:
        raise CodecError("addresses", "scope Private needs addresses")
    if (alert.lon is None) != (alert.lat is None):
        raise CodecError("lon", "give both lon and lat, or neither")
    if (
        alert.lon is not None
        and alert.lat is not None
        and not (
            -180 <= alert.lon <= 180
            and -90 <= alert.lat <= 90
            and math.isfinite(alert.radius_km)
            and alert.radius_km >= 0
        )
    ):
        raise CodecError("lon", "position out of range")

    root = etree.Element(_Q + "alert", nsmap={None: NS})
    add(root, "identifier", alert.message_id)
    add(root, "sender", alert.sender)
    add(root, "sent", cap_time(alert.sent))
    add(root, "status", alert.status)
    add(root, "msgType", alert.msg_type)
    add(root, "scope", alert.scope)
    if alert.scope == "Restricted":
        add(root, "restriction", alert.restriction)
    else:
        add(root, "addresses", alert.addresses)
    if alert.references:
        add(root, "references", alert.references)
    info = etree.SubElement(root, _Q + "info")
    add(info, "language", "nl-NL")
    add(info, "category", "Security")
    add(info, "event", texts.event)
    add(info, "urgency", "Immediate")
    add(info, "severity", texts.severity)
    add(info, "certainty", texts.certainty)
    add(info, "senderName", alert.organisation)
    add(
        info,
        "headline",
        texts.headline.format(call_sign=alert.call_sign, organisation=alert.organisation),
    )
    add(info, "description", _describe(alert))
    for name, value in (
        ("unit_call_sign", alert.call_sign),
        ("organisation", alert.organisation),
        ("alert_kind", alert.kind.value),
    ):
        parameter = etree.SubElement(info, _Q + "parameter")
        add(parameter, "valueName", name)
        add(parameter, "value", value)
    if alert.lon is not None and alert.lat is not None:
        area = etree.SubElement(info, _Q + "area")
        add(area, "areaDesc", f"Positie van {alert.call_sign}")
        add(area, "circle", f"{alert.lat:.6f},{alert.lon:.6f} {alert.radius_km:g}")
    return _serialise(root)


def encode_area_alert(
    *,
    identifier: str,
    sender: str,
    sent: datetime,
    event: str,
    headline: str,
    description: str,
    area_desc: str,
    polygon: Polygon,
    severity: str = "Moderate",
    expires: datetime | None = None,
    status: str = "Actual",
) -> bytes:
    """A police alert for an area (wanted vehicle, missing person), as the police side sends it to us."""
    root = etree.Element(_Q + "alert", nsmap={None: NS})
    for name, text in (
        ("identifier", identifier),
        ("sender", sender),
        ("sent", cap_time(sent)),
        ("status", status),
        ("msgType", "Alert"),
        ("scope", "Restricted"),
        ("restriction", "Alleen voor handhaving en politie"),
    ):
        add(root, name, text)
    info = etree.SubElement(root, _Q + "info")
    for name, text in (
        ("language", "nl-NL"),
        ("category", "Rescue" if "vermist" in event.lower() else "Security"),
        ("event", event),
        ("urgency", "Immediate"),
        ("severity", severity),
        ("certainty", "Likely"),
    ):
        add(info, name, text)
    if expires is not None:
        add(info, "expires", cap_time(expires))
    add(info, "headline", headline)
    add(info, "description", description)
    area = etree.SubElement(info, _Q + "area")
    add(area, "areaDesc", area_desc)
    add(area, "polygon", " ".join(f"{y:.6f},{x:.6f}" for x, y in polygon.exterior.coords))
    return _serialise(root)


# --- decode -----------------------------------------------------------------------------------------------


def _text(parent: etree._Element, name: str) -> str:
    el = parent.find(_Q + name)
    return (el.text or "").strip() if el is not None else ""


def _time(value: str, field: str) -> datetime:
    try:
        return datetime.fromisoformat(value)
    except ValueError:
        raise CodecError(field, f"not a CAP time: {value!r}") from None


def _lat_lon(pair: str, field: str) -> tuple[float, float]:
    """A CAP "lat,lon" pair as (lon, lat)."""
    try:
        lat_s, lon_s = pair.split(",")
        lat, lon = float(lat_s), float(lon_s)
    except ValueError:
        raise CodecError(field, f"expected 'lat,lon', got {pair[:40]!r}") from None
    if not (-90 <= lat <= 90 and -180 <= lon <= 180):
        raise CodecError(field, f"coordinate out of range: {pair[:40]!r}")
    return lon, lat


def parse_polygon(text: str) -> Polygon:
    """A CAP polygon ("lat,lon lat,lon ...", first = last, at least 4 pairs) as a lon/lat shapely Polygon."""
    points = [_lat_lon(p, "info.area.polygon") for p in text.split()]
    if len(points) < 4:
        raise CodecError("info.area.polygon", f"a polygon needs at least 4 points, got {len(points)}")
    if points[0] != points[-1]:
        raise CodecError("info.area.polygon", "the first and last point must be the same")
    polygon = Polygon(points)
    if not polygon.is_valid:
        raise CodecError("info.area.polygon", "the polygon is not valid (it crosses itself)")
    return polygon


def parse_circle(text: str) -> Circle:
    """A CAP circle ("lat,lon radius_km")."""
    parts = text.split()
    if len(parts) != 2:
        raise CodecError("info.area.circle", f"expected 'lat,lon radius', got {text[:40]!r}")
    lon, lat = _lat_lon(parts[0], "info.area.circle")
    try:
        radius = float(parts[1])
    except ValueError:
        raise CodecError("info.area.circle", f"radius is not a number: {parts[1][:20]!r}") from None
    if not (math.isfinite(radius) and radius >= 0):
        raise CodecError("info.area.circle", "radius must be a non-negative number")
    return Circle(lon, lat, radius)


def _pick_info(infos: list[etree._Element]) -> etree._Element | None:
    """The Dutch info block when there is one, else the first (CAP repeats info per language)."""
    for info in infos:
        if _text(info, "language").lower().startswith("nl"):
            return info
    return infos[0] if infos else None


def decode_alert(data: bytes) -> PartnerAlert:
    """Decode and validate a CAP 1.2 alert. Anything wrong is a CodecError naming the field."""
    root = parse_xml(data, "alert")
    if root.tag != _Q + "alert":
        raise CodecError("alert", f"root element is {root.tag!r}, expected a CAP 1.2 alert in {NS}")
    problem = xsd_errors(_SCHEMA, root)
    if problem is not None:
        raise CodecError(*problem)
    info = _pick_info(root.findall(_Q + "info"))
    polygons: list[Polygon] = []
    circles: list[Circle] = []
    parameters: dict[str, str] = {}
    area_descs: list[str] = []
    fields: dict[str, object] = {}
    if info is not None:
        for area in info.findall(_Q + "area"):
            area_descs.append(_text(area, "areaDesc"))
            polygons += [parse_polygon(el.text or "") for el in area.findall(_Q + "polygon")]
            circles += [parse_circle(el.text or "") for el in area.findall(_Q + "circle")]
        for parameter in info.findall(_Q + "parameter"):
            parameters[_text(parameter, "valueName")] = _text(parameter, "value")
        expires = _text(info, "expires")
        fields = dict(
            event=_text(info, "event"),
            category=tuple((el.text or "").strip() for el in info.findall(_Q + "category")),
            urgency=_text(info, "urgency"),
            severity=_text(info, "severity"),
            certainty=_text(info, "certainty"),
            headline=_text(info, "headline"),
            description=_text(info, "description"),
            instruction=_text(info, "instruction"),
            expires=_time(expires, "info.expires") if expires else None,
        )
    return PartnerAlert(
        identifier=_text(root, "identifier"),
        sender=_text(root, "sender"),
        sent=_time(_text(root, "sent"), "sent"),
        status=_text(root, "status"),
        msg_type=_text(root, "msgType"),
        scope=_text(root, "scope"),
        references=_text(root, "references"),
        area_desc="; ".join(d for d in area_descs if d),
        polygons=tuple(polygons),
        circles=tuple(circles),
        parameters=parameters,
        **fields,  # type: ignore[arg-type]
    )
