"""Exercise and test traffic is marked on the wire (docs/bridge.md, section 11): CAP <status> Exercise/Test
valid against the OASIS schema, EIDOs with the marking valid against the NENA schema, and both read back."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import msgspec
import pytest
from lxml import etree

from meldkamer_bridge import handover
from meldkamer_bridge.adapters import cap, eido
from meldkamer_bridge.adapters.base import SCHEMAS
from meldkamer_bridge.config import BridgeConfig, Partner
from meldkamer_bridge.simulator import sample_incident, sample_police_alert
from shared.bridge_api import TimelineLine
from shared.protocol import AlertKind

XSD = etree.XMLSchema(etree.parse(str(SCHEMAS / "cap" / "CAP-v1.2.xsd")))
AT = datetime(2026, 11, 22, 19, 3, 4, tzinfo=UTC)


@pytest.mark.parametrize("status", ["Exercise", "Test"])
def test_a_drill_noodknop_goes_out_as_cap_exercise_or_test(status: cap.CapStatus) -> None:
    alert = cap.OutgoingAlert(
        message_id="schakel:alert:7",
        sender="schakel@handhaving.nl",
        sent=AT,
        kind=AlertKind.NOODKNOP,
        call_sign="HH-03",
        organisation="Gemeente Amsterdam",
        status=status,
    )
    xml = cap.encode_alert(alert)
    XSD.assertValid(etree.fromstring(xml))
    assert cap.decode_alert(xml).status == status


def test_an_exercise_link_marks_cap_and_eido_of_that_partner_only() -> None:
    config = BridgeConfig(
        database_url="postgresql://x",
        partners=(
            Partner(name="oefen-gms", url="ws://x/", exercise="exercise"),
            Partner(name="gms", url="ws://y/"),
        ),
        meldkamer="gms",
        police="oefen-gms",
    )
    assert config.exercise_of("oefen-gms") == "exercise" and config.exercise_of("gms") == ""
    assert cap.EXERCISE_STATUS[config.exercise_of("oefen-gms")] == "Exercise"


@pytest.mark.parametrize("kind", ["exercise", "test"])
def test_eido_update_of_a_drill_melding_is_marked_and_valid(kind: str) -> None:
    update = eido.IncidentUpdate(
        external_id="urn:emergency:uid:incidentid:x1:gms.example.nl",
        agency="handhaving.amsterdam.nl",
        progress=eido.Progress.EN_ROUTE,
        at=AT,
        melding_id=17,
        units=("HH-03",),
        exercise=kind,
    )
    body = eido.encode_update(update)  # validated against the NENA schema inside
    doc = json.loads(body)
    assert doc["incidentComponent"]["incidentStatusInternalText"] == ["en_route", eido.EXERCISE_TEXT[kind]]
    back = eido.decode_update(body)
    assert back.progress is eido.Progress.EN_ROUTE and back.exercise == kind


def test_an_inbound_exercise_eido_becomes_a_melding_marked_exercise() -> None:
    _, body = sample_incident(3, exercise="exercise", at=AT)
    handed = eido.decode_incident(body.encode())
    assert handed.exercise == "exercise"
    assert handover.incident_request("gms-sim", handed)["exercise"] == "exercise"
    _, real = sample_incident(3, at=AT)
    assert eido.decode_incident(real.encode()).exercise == ""
    assert "exercise" not in handover.incident_request("gms-sim", eido.decode_incident(real.encode()))


def test_other_markings_of_a_partner_are_understood() -> None:
    _, body = sample_incident(1, at=AT)
    doc = json.loads(body)
    doc["incidentComponent"]["incidentStatusInternalText"] = ["Oefening"]
    assert eido.exercise_of(doc) == "exercise"
    doc["incidentComponent"]["incidentStatusInternalText"] = []
    doc["callComponent"] = [{"standardPrimaryCallType": "test"}]
    assert eido.exercise_of(doc) == "test"


def test_timeline_lines_of_a_drill_melding_produce_marked_updates() -> None:
    line = TimelineLine(
        event_id=5, incident_id=17, external_id="urn:x", kind="created", text="melding aangemaakt", at=AT,
        exercise="test",
    )  # fmt: skip
    update = handover.update_for(handover.event_from(line), "handhaving.amsterdam.nl")
    assert update is not None and update.exercise == "test"


def test_a_police_exercise_alert_reaches_the_tablets_as_oefening() -> None:
    _, xml = sample_police_alert(1, at=AT)
    alert = msgspec.structs.replace(cap.decode_alert(xml.encode()), status="Exercise")
    assert handover.area_alert_request("politie", alert)["headline"].startswith("OEFENING: ")
