"""Schakel's safety alarms as EIDOs for NENA conveyance partners (docs/bridge.md, section 10): valid against
the NENA schema with or without a position, the acknowledgement an update of the same incident, readable by a
partner as a prio 1 incident."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest

from meldkamer_bridge.adapters import eido

AT = datetime(2026, 11, 22, 19, 3, 4, tzinfo=UTC)


def alarm(**extra: object) -> dict[str, object]:
    fields: dict[str, object] = {
        "alarm_id": 42,
        "kind": "noodknop",
        "headline": "NOODKNOP handhaving HH-03 (Gemeente Amsterdam)",
        "description": "De noodknop is ingedrukt: de eenheid heeft direct hulp nodig.",
        "at": AT,
        "agency": "handhaving.amsterdam.nl",
        "call_sign": "HH-03",
        "lon": 4.897,
        "lat": 52.3745,
    }
    return {**fields, **extra}


def test_an_alarm_is_a_valid_prio_1_eido_at_the_units_position() -> None:
    body = eido.encode_alarm(**alarm())  # type: ignore[arg-type]
    doc = json.loads(body)
    assert doc["$id"] == eido.alarm_incident_id(42, "handhaving.amsterdam.nl")
    assert doc["incidentComponent"]["incidentTypeInternalText"] == "noodknop"
    assert doc["emergencyResourceComponent"][0]["emergencyResourceName"] == "HH-03"
    read = eido.decode_incident(body)
    assert read.priority == 1 and (read.lon, read.lat) == pytest.approx((4.897, 52.3745))
    assert "NOODKNOP handhaving HH-03" in read.description and read.exercise == ""


def test_the_acknowledgement_updates_the_same_incident_and_an_unknown_position_is_left_out() -> None:
    first = json.loads(eido.encode_alarm(**alarm(lon=None, lat=None)))  # type: ignore[arg-type]
    seen = json.loads(
        eido.encode_alarm(**alarm(lon=None, lat=None, at=AT + timedelta(seconds=9), acknowledged=True))  # type: ignore[arg-type]
    )
    assert first["$id"] == seen["$id"] and first["lastUpdateTimeStamp"] != seen["lastUpdateTimeStamp"]
    assert "locationComponent" not in first
    assert seen["incidentComponent"]["incidentStatusCommonRegistryText"] == ["Acknowledged"]


def test_an_alarm_on_an_exercise_link_is_marked() -> None:
    doc = json.loads(eido.encode_alarm(**alarm(exercise="test")))  # type: ignore[arg-type]
    assert doc["incidentComponent"]["incidentStatusInternalText"] == ["alarm", "Test"]
    assert eido.exercise_of(doc) == "test"
