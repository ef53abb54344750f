"""NENA EIDO (Emergency Incident Data Object, JSON) for the meldkamer adapter.

In: an incident the meldkamer hands to handhaving, as an `IncidentHandover`.
Out: our progress on it (accepted, unit assigned, en route, on scene, done, declined) as an EIDO update.
Both directions are validated against `EmergencyIncidentDataObjectType` of the NENA OpenAPI document in
`schemas/eido/`, its `$ref`s resolved from the shipped NIEMComponents files, never over the network.
"""

from __future__ import annotations

import enum
import functools
import json
import re
from datetime import UTC, datetime
from typing import Any

import jsonschema
import msgspec
import yaml
from lxml import etree
from referencing import Registry, Resource
from referencing.exceptions import Unresolvable
from referencing.jsonschema import DRAFT4

from meldkamer_bridge.adapters import compiled_schema
from meldkamer_bridge.adapters.base import MAX_MESSAGE_BYTES, SCHEMAS, CodecError, parse_xml
from meldkamer_bridge.adapters.status import GMS_DEFAULT, PartnerMapping
from shared.protocol import UnitStatus

_EIDO_DIR = SCHEMAS / "eido"
_BASE = "urn:schakel:eido:"
ROOT = "EmergencyIncidentDataObjectType"

# --- the schema -------------------------------------------------------------------------------------------

_NUMERIC_KEYWORDS = {"minItems", "maxItems", "minLength", "maxLength", "minProperties", "maxProperties"}


def _repair(node: Any) -> Any:
    """The published openapi.yaml has `minItems: 1,` (a string): turn such numeric keywords into integers."""
    if isinstance(node, dict):
        for key, value in node.items():
            if key in _NUMERIC_KEYWORDS and isinstance(value, str):
                node[key] = int(value.strip(" ,"))
            else:
                _repair(value)
    elif isinstance(node, list):
        for item in node:
            _repair(item)
    return node


@functools.cache
def _document(name: str) -> Any:
    path = (_EIDO_DIR / name).resolve()
    if _EIDO_DIR.resolve() not in path.parents:
        raise Unresolvable(ref=name)
    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)  # libyaml when present: 100x faster on 3 MB
    return _repair(yaml.load(path.read_text(encoding="utf-8"), Loader=loader))


def _retrieve(uri: str) -> Resource[Any]:
    """Resolve 'openapi.yaml', 'NIEMComponents/nc.yaml' and the components' sibling refs ('j.yaml')."""
    if not uri.startswith(_BASE):
        raise Unresolvable(ref=uri)  # never the network
    name = re.sub("/+", "/", uri.removeprefix(_BASE))
    if name != "openapi.yaml" and not name.startswith("NIEMComponents/"):
        name = "NIEMComponents/" + name
    return Resource.from_contents(_document(name), default_specification=DRAFT4)


_SCHEMA = {"$ref": f"{_BASE}openapi.yaml#/components/schemas/{ROOT}"}


@functools.cache
def _registry() -> Registry[Any]:
    registry: Registry[Any] = Registry(retrieve=_retrieve)  # type: ignore[call-arg]
    with_root: Registry[Any] = registry.with_resource(
        _BASE + "openapi.yaml", _retrieve(_BASE + "openapi.yaml")
    )
    return with_root


@functools.cache
def _validator() -> jsonschema.Draft4Validator:
    # OpenAPI 3.0 schema objects are a JSON Schema draft 4/5 dialect; draft 4 validates them.
    return jsonschema.Draft4Validator(_SCHEMA, registry=_registry())


_fast: list[compiled_schema.Check | None] = []  # the compiled check, or None once it met what it cannot do


def _compiled() -> compiled_schema.Check | None:
    if not _fast:
        _fast.append(compiled_schema.Compiler(_registry().resolver()).compile(_SCHEMA))
    return _fast[0]


def validate_eido(document: Any) -> None:
    """Raise CodecError naming the first offending field when `document` is not a valid EIDO.

    The compiled check (meldkamer_bridge.adapters.compiled_schema) answers first; a document it refuses,
    or one it cannot check, goes through `jsonschema`, which names the offending field."""
    check = _compiled()
    if check is not None:
        try:
            if check(document):
                return
        except compiled_schema.Unsupported:
            _fast[0] = None  # this schema needs jsonschema itself, from now on
        except (Unresolvable, RecursionError):
            pass  # jsonschema says what is wrong
    try:
        error = jsonschema.exceptions.best_match(_validator().iter_errors(document))
    except (Unresolvable, RecursionError) as exc:
        raise CodecError("eido", f"cannot be checked against the schema: {exc}") from None
    if error is not None:
        path = ".".join(str(p) for p in error.absolute_path) or "eido"
        raise CodecError(path, error.message[:300])


# --- exercise and test traffic ---------------------------------------------------------------------------

# NENA-STA-021 (EIDO 1.0) has no exercise or test indicator. Schakel marks drill traffic with the CAP 1.2
# status words in the incident component's `incidentStatusInternalText` (an array of the agency's own status
# texts, so the value sits beside the real status and no schema rule is bent): "Exercise" or "Test". On the
# way in it also takes "oefening", and a call component whose `standardPrimaryCallType` is "test".
EXERCISE_TEXT = {"exercise": "Exercise", "test": "Test"}
_EXERCISE_IN = {"exercise": "exercise", "oefening": "exercise", "test": "test"}


def exercise_of(doc: dict[str, Any]) -> str:
    """The EIDO's marking: "exercise", "test" or "" (real traffic)."""
    incident = doc.get("incidentComponent") or {}
    texts = [
        *(incident.get("incidentStatusInternalText") or []),
        *(incident.get("incidentStatusCommonRegistryText") or []),
    ]
    for text in texts:
        found = _EXERCISE_IN.get(str(text).strip().lower())
        if found:
            return found
    for call in doc.get("callComponent") or []:
        if isinstance(call, dict) and str(call.get("standardPrimaryCallType", "")).lower() == "test":
            return "test"
    return ""


# --- in: an incident handed to handhaving -----------------------------------------------------------------


class IncidentHandover(msgspec.Struct, frozen=True, kw_only=True):
    """What Schakel needs of an incident the meldkamer hands over, to create a melding from it."""

    external_id: str  # the EIDO $id: the partner's incident id, stable over updates
    issued_by: str  # issuingElementIdentification
    incident_type: str = ""  # incidentTypeCommonRegistryText (NENA registry)
    category: str = ""  # the partner's own code/text (incidentTypeInternalCode / ...Text)
    priority: int  # Dutch prio 1 (spoed) .. 3, via the partner's mapping
    partner_priority: str = ""  # the partner's raw priority, kept for the record
    status: str = ""  # incidentStatusCommonRegistryText, joined
    lon: float | None = None
    lat: float | None = None
    address: str = ""
    location_text: str = ""
    description: str = ""  # the notes, oldest first
    at: datetime  # lastUpdateTimeStamp of the EIDO
    partner_incident_id: str = ""  # internalIncidentId, e.g. the GMS incident number
    exercise: str = ""  # "exercise" or "test" for drill/test traffic (see `exercise_of`), "" for real


_GML = "{http://www.opengis.net/gml}"
_CA = "{urn:ietf:params:xml:ns:pidf:geopriv10:civicAddr}"
_TAGS = re.compile(r"<[^>]*>")


def _parse_time(value: Any, field: str) -> datetime:
    try:
        at = datetime.fromisoformat(str(value))
    except ValueError:
        raise CodecError(field, f"not a date-time: {str(value)[:40]!r}") from None
    if at.tzinfo is None:
        raise CodecError(field, "a date-time without a timezone")
    return at


def _civic_address(root: etree._Element) -> str:
    ca = next(root.iter(_CA + "civicAddress"), None)
    if ca is None:
        return ""

    def part(name: str) -> str:
        el = ca.find(_CA + name)
        return (el.text or "").strip() if el is not None else ""

    street = " ".join(p for p in (part("PRD"), part("RD"), part("STS"), part("POD")) if p)
    number = "".join(p for p in (part("HNO"), part("HNS")) if p)
    line1 = " ".join(p for p in (street, number) if p)
    town = " ".join(p for p in (part("PC"), part("A3") or part("A2")) if p)
    return ", ".join(p for p in (line1, part("LOC"), town) if p)


def _point(root: etree._Element) -> tuple[float, float] | None:
    """(lon, lat) of the first gml:pos (Point or Circle centre); GML EPSG:4326 order is "lat lon"."""
    pos = next(root.iter(_GML + "pos"), None)
    if pos is None or not (pos.text or "").strip():
        return None
    try:
        lat, lon = (float(v) for v in (pos.text or "").split()[:2])
    except ValueError:
        raise CodecError("locationByValue", f"gml:pos is not 'lat lon': {(pos.text or '')[:40]!r}") from None
    if not (-90 <= lat <= 90 and -180 <= lon <= 180):
        raise CodecError("locationByValue", "gml:pos out of range")
    return lon, lat


def _ref(reference: Any) -> str | None:
    """The target of a ReferenceType; the schema does not say it is an object, so check."""
    return reference.get("$ref") if isinstance(reference, dict) else None


def _location(doc: dict[str, Any]) -> tuple[float | None, float | None, str, str]:
    components = doc.get("locationComponent") or []
    wanted = [_ref(r) for r in (doc.get("incidentComponent") or {}).get("locationReference") or []]
    ordered = [c for ref in wanted for c in components if c.get("$id") == ref] + components
    lon = lat = None
    address = text = ""
    for component in ordered:
        text = text or component.get("locationDescriptionText", "")
        by_value = component.get("locationByValue")
        if not by_value:
            continue
        root = parse_xml(by_value.encode("utf-8"), "locationByValue")
        address = address or _civic_address(root)
        if lon is None and (point := _point(root)) is not None:
            lon, lat = point
    return lon, lat, address, text


def decode_incident(
    data: bytes, mapping: PartnerMapping = GMS_DEFAULT, *, validated: bool = False
) -> IncidentHandover:
    """Decode and validate an EIDO; anything wrong is a CodecError naming the field.

    `validated`: the body passed this schema check before (on arrival, and the inbox keeps it unchanged), so
    it is only read (the schema check is most of the cost of handing an incident over)."""
    if len(data) > MAX_MESSAGE_BYTES:
        raise CodecError("eido", f"larger than {MAX_MESSAGE_BYTES} bytes")
    try:
        doc = json.loads(data)
    except (ValueError, RecursionError) as exc:  # UnicodeDecodeError and JSONDecodeError are ValueErrors
        raise CodecError("eido", f"not JSON: {exc}") from None
    if not isinstance(doc, dict):
        raise CodecError("eido", "an EIDO is a JSON object")
    if not validated:
        validate_eido(doc)
    incident = doc.get("incidentComponent") or {}
    lon, lat, address, location_text = _location(doc)
    notes = sorted(doc.get("notesComponent") or [], key=lambda n: str(n.get("lastUpdateTimeStamp", "")))
    raw_priority = incident.get("incidentPriorityInternalText", incident.get("incidentCommonPriorityNumber"))
    return IncidentHandover(
        external_id=doc["$id"],
        issued_by=doc["issuingElementIdentification"],
        incident_type=incident.get("incidentTypeCommonRegistryText", ""),
        category=incident.get("incidentTypeInternalText") or incident.get("incidentTypeInternalCode") or "",
        priority=mapping.priority_in(raw_priority),
        partner_priority="" if raw_priority is None else str(raw_priority),
        status=", ".join(incident.get("incidentStatusCommonRegistryText") or []),
        lon=lon,
        lat=lat,
        address=address,
        location_text=location_text,
        description="\n".join(_TAGS.sub("", n["notesActionComments"]).strip() for n in notes),
        at=_parse_time(doc["lastUpdateTimeStamp"], "lastUpdateTimeStamp"),
        partner_incident_id=incident.get("internalIncidentId", ""),
        exercise=exercise_of(doc),
    )


# --- out: our progress on a handed-over incident ----------------------------------------------------------


class Progress(str, enum.Enum):
    ACCEPTED = "accepted"  # handhaving takes the incident
    DECLINED = "declined"  # handhaving cannot take it
    ASSIGNED = "assigned"  # a unit is tasked
    EN_ROUTE = "en_route"
    ON_SCENE = "on_scene"
    DONE = "done"


# Progress -> (NENA incident status, NENA primary unit status); the internal text carries our own value.
_NENA_STATUS: dict[Progress, tuple[str, str]] = {
    Progress.ACCEPTED: ("Acknowledged", "Available"),
    Progress.DECLINED: ("Declined", "Available"),
    Progress.ASSIGNED: ("Dispatched", "Dispatched"),
    Progress.EN_ROUTE: ("Dispatched", "Enroute"),
    Progress.ON_SCENE: ("OnScene", "OnScene"),
    Progress.DONE: ("Closed", "Available"),
}
_UNIT_STATUS: dict[Progress, UnitStatus] = {
    Progress.ASSIGNED: UnitStatus.AVAILABLE,
    Progress.EN_ROUTE: UnitStatus.EN_ROUTE,
    Progress.ON_SCENE: UnitStatus.ON_SCENE,
    Progress.DONE: UnitStatus.AVAILABLE,
}


class IncidentUpdate(msgspec.Struct, frozen=True, kw_only=True):
    """Schakel's progress on an incident the partner handed over."""

    external_id: str  # the partner's EIDO $id
    agency: str  # our agency id, e.g. "handhaving.amsterdam.nl"
    progress: Progress
    at: datetime
    incident_type: str = "Public Order"
    melding_id: int | None = None  # Schakel's melding
    units: tuple[str, ...] = ()  # call signs of the assigned units
    note: str = ""
    exercise: str = ""  # "exercise"/"test": the melding is a drill, and the update says so


def _prologue(component_id: str, agency: str, at: str) -> dict[str, Any]:
    return {"$id": component_id, "lastUpdateTimeStamp": at, "updatedByAgencyReference": {"$ref": agency}}


def encode_update(update: IncidentUpdate, mapping: PartnerMapping = GMS_DEFAULT) -> bytes:
    """An EIDO carrying our progress; always valid against the NENA schema."""
    if update.at.tzinfo is None:
        raise CodecError("at", "a time without a timezone")
    at = update.at.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")
    agency, ext = update.agency, update.external_id
    incident_status, unit_status = _NENA_STATUS[update.progress]
    incident: dict[str, Any] = {
        **_prologue(f"{ext}:handhaving", agency, at),
        "incidentTypeCommonRegistryText": update.incident_type,
        "incidentStatusCommonRegistryText": [incident_status],
        "incidentStatusInternalText": [update.progress.value],
    }
    if update.exercise:
        incident["incidentStatusInternalText"].append(EXERCISE_TEXT[update.exercise])
    if update.melding_id is not None:
        incident["internalIncidentId"] = str(update.melding_id)
    doc: dict[str, Any] = {
        **_prologue(ext, agency, at),
        "eidoVersion": "1.0",
        "issuingElementIdentification": f"schakel.{agency}",
        "incidentComponent": incident,
        "agencyComponent": [
            {
                **_prologue(agency, agency, at),
                "agencyRoleDescriptionRegistryText": ["Responding"],
                "agencyType": ["police.municipal-enforcement"],
            }
        ],
    }
    if update.units:
        semantic = _UNIT_STATUS.get(update.progress)
        doc["agentComponent"] = [
            {
                **_prologue(f"{agency}:{unit}:crew", agency, at),
                "agentRoleRegistryText": ["Responder"],
                "agencyReference": {"$ref": agency},
            }
            for unit in update.units
        ]
        doc["emergencyResourceComponent"] = [
            {
                **_prologue(f"{agency}:{unit}", agency, at),
                "agentReference": [{"$ref": f"{agency}:{unit}:crew"}],
                "emergencyResourceTypeCommonRegistryText": "Law Enforcement",
                "emergencyResourceName": unit,
                "resourceAttributeRegistryText": ["Foot Patrol"],
                "primaryUnitStatusRegistryText": unit_status,
                "secondaryUnitStatusRegistryText": [],
                "unitStatusInternal": [mapping.status_code(semantic)] if semantic else [],
                "activeOnIncidentId": ext,
            }
            for unit in update.units
        ]
        doc["dispatchComponent"] = [
            {
                **_prologue(f"{ext}:handhaving:dispatch", agency, at),
                "agencyReference": {"$ref": agency},
                "emergencyResourceReference": [{"$ref": f"{agency}:{unit}"} for unit in update.units],
            }
        ]
    if update.note:
        doc["notesComponent"] = [
            {**_prologue(f"{ext}:handhaving:note:{at}", agency, at), "notesActionComments": update.note}
        ]
        incident["notesReference"] = [{"$ref": f"{ext}:handhaving:note:{at}"}]
    validate_eido(doc)
    return json.dumps(doc, ensure_ascii=False).encode("utf-8")


def decode_update(data: bytes) -> IncidentUpdate:
    """Read back an update (the simulator and the tests use it; a real partner has its own reader)."""
    try:
        doc = json.loads(data)
    except (ValueError, RecursionError) as exc:
        raise CodecError("eido", f"not JSON: {exc}") from None
    if not isinstance(doc, dict):
        raise CodecError("eido", "an EIDO is a JSON object")
    validate_eido(doc)
    incident = doc.get("incidentComponent") or {}
    try:
        progress = Progress((incident.get("incidentStatusInternalText") or [""])[0])
    except ValueError:
        raise CodecError(
            "incidentComponent.incidentStatusInternalText", "not a Schakel progress value"
        ) from None
    melding = incident.get("internalIncidentId")
    return IncidentUpdate(
        external_id=doc["$id"],
        agency=_ref(doc["updatedByAgencyReference"]) or "",
        progress=progress,
        at=_parse_time(doc["lastUpdateTimeStamp"], "lastUpdateTimeStamp"),
        incident_type=incident.get("incidentTypeCommonRegistryText", ""),
        melding_id=int(melding) if melding and melding.isdigit() else None,
        units=tuple(r.get("emergencyResourceName", "") for r in doc.get("emergencyResourceComponent") or []),
        note="\n".join(n["notesActionComments"] for n in doc.get("notesComponent") or []),
        exercise=exercise_of(doc),
    )


# --- the partner's side: an incident as EIDO (the simulator, tests, and a template for a real partner) -----

_PIDF = "urn:ietf:params:xml:ns:pidf"
_GP = "urn:ietf:params:xml:ns:pidf:geopriv10"
_DM = "urn:ietf:params:xml:ns:pidf:data-model"


def _pidf_lo(entity: str, lon: float | None, lat: float | None, civic: dict[str, str]) -> str:
    """A PIDF-LO (RFC 4119/5491) with a gml:Point ("lat lon", EPSG:4326) and/or a civic address."""
    presence = etree.Element(
        f"{{{_PIDF}}}presence", nsmap={None: _PIDF, "gp": _GP, "dm": _DM, "gml": _GML[1:-1], "ca": _CA[1:-1]}
    )
    presence.set("entity", entity)
    device = etree.SubElement(presence, f"{{{_DM}}}device", id="location")
    info = etree.SubElement(etree.SubElement(device, f"{{{_GP}}}geopriv"), f"{{{_GP}}}location-info")
    if lon is not None and lat is not None:
        point = etree.SubElement(info, _GML + "Point", srsName="urn:ogc:def:crs:EPSG::4326")
        etree.SubElement(point, _GML + "pos").text = f"{lat:.7f} {lon:.7f}"
    if civic:
        address = etree.SubElement(info, _CA + "civicAddress")
        for key, value in civic.items():
            etree.SubElement(address, _CA + key).text = value
    return str(etree.tostring(presence, encoding="unicode"))


def encode_incident(
    handover: IncidentHandover,
    *,
    agency: str,
    civic: dict[str, str] | None = None,
    mapping: PartnerMapping = GMS_DEFAULT,
) -> bytes:
    """An incident handed to handhaving as a valid EIDO, as a meldkamer would send it."""
    at = handover.at.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")
    ext = handover.external_id
    incident: dict[str, Any] = {
        **_prologue(f"{ext}:incident", agency, at),
        "incidentTypeCommonRegistryText": handover.incident_type or "Public Order",
        "incidentPriorityInternalText": handover.partner_priority or mapping.priority_out(handover.priority),
        "incidentStatusCommonRegistryText": ["Pending"],
        "locationReference": [{"$ref": f"{ext}:location"}],
    }
    if handover.exercise:
        incident["incidentStatusInternalText"] = [EXERCISE_TEXT[handover.exercise]]
    if handover.category:
        incident["incidentTypeInternalText"] = handover.category
    if handover.partner_incident_id:
        incident["internalIncidentId"] = handover.partner_incident_id
    location: dict[str, Any] = {
        **_prologue(f"{ext}:location", agency, at),
        "locationTypeDescriptionRegistryText": "Incident",
        "locationByValue": _pidf_lo(ext, handover.lon, handover.lat, civic or {}),
    }
    if handover.location_text:
        location["locationDescriptionText"] = handover.location_text
    doc: dict[str, Any] = {
        **_prologue(ext, agency, at),
        "eidoVersion": "1.0",
        "issuingElementIdentification": handover.issued_by,
        "incidentComponent": incident,
        "locationComponent": [location],
        "agencyComponent": [
            {
                **_prologue(agency, agency, at),
                "agencyRoleDescriptionRegistryText": ["Owning"],
                "agencyType": ["police"],
                "incidentOwningAgencyIndicator": True,
            }
        ],
    }
    if handover.description:
        doc["notesComponent"] = [
            {**_prologue(f"{ext}:note", agency, at), "notesActionComments": handover.description}
        ]
        incident["notesReference"] = [{"$ref": f"{ext}:note"}]
    validate_eido(doc)
    return json.dumps(doc, ensure_ascii=False).encode("utf-8")


# --- out: Schakel's own safety alarms, for partners subscribed to Schakel's EIDOs --------------------------


def alarm_incident_id(alarm_id: int, agency: str) -> str:
    """The EIDO $id of Schakel's alarm: the same for the alarm and its acknowledgement."""
    return f"urn:emergency:uid:incidentid:schakel-alert-{alarm_id}:{agency}"


def encode_alarm(
    *,
    alarm_id: int,
    kind: str,
    headline: str,
    description: str,
    at: datetime,
    agency: str,
    call_sign: str,
    lon: float | None,
    lat: float | None,
    acknowledged: bool = False,
    exercise: str = "",
) -> bytes:
    """A noodknop, assistance request, man-down or missed check-in as an EIDO (NENA conveyance partners get
    it next to the CAP the police get); `acknowledged`: the update saying the meldkamer has seen it."""
    if at.tzinfo is None:
        raise CodecError("at", "a time without a timezone")
    stamp = at.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")
    ext = alarm_incident_id(alarm_id, agency)
    incident: dict[str, Any] = {
        **_prologue(f"{ext}:incident", agency, stamp),
        "incidentTypeCommonRegistryText": "Officer Needs Assistance",
        "incidentTypeInternalText": kind,
        "incidentPriorityInternalText": "P1",
        "incidentStatusCommonRegistryText": ["Acknowledged" if acknowledged else "Pending"],
        "incidentStatusInternalText": ["gezien" if acknowledged else "alarm"],
        "internalIncidentId": f"alarm-{alarm_id}",
        "notesReference": [{"$ref": f"{ext}:note:{stamp}"}],
    }
    if exercise:
        incident["incidentStatusInternalText"].append(EXERCISE_TEXT[exercise])
    doc: dict[str, Any] = {
        **_prologue(ext, agency, stamp),
        "eidoVersion": "1.0",
        "issuingElementIdentification": f"schakel.{agency}",
        "incidentComponent": incident,
        "agencyComponent": [
            {
                **_prologue(agency, agency, stamp),
                "agencyRoleDescriptionRegistryText": ["Owning"],
                "agencyType": ["police.municipal-enforcement"],
                "incidentOwningAgencyIndicator": True,
            }
        ],
        "agentComponent": [
            {
                **_prologue(f"{agency}:{call_sign}:crew", agency, stamp),
                "agentRoleRegistryText": ["Responder"],
                "agencyReference": {"$ref": agency},
            }
        ],
        "emergencyResourceComponent": [
            {
                **_prologue(f"{agency}:{call_sign}", agency, stamp),
                "agentReference": [{"$ref": f"{agency}:{call_sign}:crew"}],
                "emergencyResourceTypeCommonRegistryText": "Law Enforcement",
                "emergencyResourceName": call_sign,
                "resourceAttributeRegistryText": ["Foot Patrol"],
                "primaryUnitStatusRegistryText": "Emergency",
                "secondaryUnitStatusRegistryText": [],
                "unitStatusInternal": [],
                "activeOnIncidentId": ext,
            }
        ],
        "notesComponent": [
            {
                **_prologue(f"{ext}:note:{stamp}", agency, stamp),
                "notesActionComments": f"{headline}\n{description}",
            }
        ],
    }
    if lon is not None and lat is not None:
        doc["locationComponent"] = [
            {
                **_prologue(f"{ext}:location", agency, stamp),
                "locationTypeDescriptionRegistryText": "Incident",
                "locationByValue": _pidf_lo(ext, lon, lat, {}),
            }
        ]
        incident["locationReference"] = [{"$ref": f"{ext}:location"}]
    validate_eido(doc)
    return json.dumps(doc, ensure_ascii=False).encode("utf-8")
