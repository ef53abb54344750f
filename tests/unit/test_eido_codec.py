"""NENA EIDO: the shipped samples validate (or are refused where they break the schema); incidents decode
into a handover with the partner's priority mapped; our updates are valid EIDOs."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from meldkamer_bridge.adapters.base import SCHEMAS, CodecError
from meldkamer_bridge.adapters.eido import (
    IncidentHandover,
    IncidentUpdate,
    Progress,
    decode_incident,
    decode_update,
    encode_incident,
    encode_update,
    validate_eido,
)
from meldkamer_bridge.adapters.status import PartnerMapping
from shared.protocol import UnitStatus

EIDO = SCHEMAS / "eido"
AT = datetime(2026, 11, 22, 19, 30, tzinfo=UTC)


def handover(**overrides: Any) -> IncidentHandover:
    values: dict[str, Any] = dict(
        external_id="urn:emergency:uid:incidentid:gms-123:gmk-amsterdam.nl",
        issued_by="gms.gmk-amsterdam.nl",
        incident_type="Public Order",
        category="Overlast jeugd",
        priority=2,
        partner_priority="P2",
        lon=4.8970,
        lat=52.3745,
        description="Groep jongeren vernielt fietsen",
        at=AT,
        partner_incident_id="GMS-2026-000123",
    )
    values.update(overrides)
    return IncidentHandover(**values)


def test_the_nena_call_transfer_sample_validates_and_decodes() -> None:
    h = decode_incident((EIDO / "sample_call_transfer_eido.json").read_bytes())
    assert h.external_id == "urn:emergency:uid:incidentid:a56e556d871:bcf.state.pa.us"
    assert h.issued_by == "idx.state.pa.us"
    assert h.at == datetime(2021, 4, 30, 14, 43, 49, 439000, tzinfo=timezone(timedelta(hours=-4)))
    # its location is a PIDF-LO civic address (no coordinates); it has no incident component, so no priority
    assert h.address == "W Cellular Street 42, Wilmington" and h.lon is None
    assert h.priority == 1 and h.partner_priority == ""  # unknown priority: treated as the highest, never low


def test_the_eido_inside_the_websocket_notify_sample_validates() -> None:
    notify = json.loads((EIDO / "eidolib_ws_NotifyWithEido.json").read_bytes())
    (eido,) = notify["event"]["notification"]
    validate_eido(eido)
    assert decode_incident(json.dumps(eido).encode()).issued_by == "idx.state.pa.us"


def test_the_jcard_sample_is_refused_for_its_misspelt_timestamp() -> None:
    with pytest.raises(CodecError) as err:
        decode_incident((EIDO / "eidolib_EidoWithJcard.json").read_bytes())
    assert "lastUpdateTimeStamp" in err.value.reason


def test_an_incident_round_trips_through_eido_with_point_address_and_notes() -> None:
    data = encode_incident(
        handover(),
        agency="gmk-amsterdam.nl",
        civic={"country": "NL", "A3": "Amsterdam", "RD": "Oudekerksplein", "HNO": "23", "PC": "1012 GX"},
    )
    validate_eido(json.loads(data))
    h = decode_incident(data)
    assert h == handover(address="Oudekerksplein 23, 1012 GX Amsterdam", status="Pending")


@pytest.mark.parametrize(
    ("raw", "mapping", "prio"),
    [
        ("P1", PartnerMapping(), 1),
        ("P3", PartnerMapping(), 3),
        ("B", PartnerMapping(), 3),
        ("onbekend", PartnerMapping(), 1),
        ("onbekend", PartnerMapping(unknown_priority=2), 2),
        ("Hoog", PartnerMapping(priorities_in={"Hoog": 1, "Laag": 3}), 1),
        ("Laag", PartnerMapping(priorities_in={"Hoog": 1, "Laag": 3}), 3),
    ],
)
def test_partner_priority_is_mapped_to_dutch_prio(raw: str, mapping: PartnerMapping, prio: int) -> None:
    h = decode_incident(encode_incident(handover(partner_priority=raw), agency="gmk"), mapping)
    assert (h.priority, h.partner_priority) == (prio, raw)


def test_common_priority_number_is_used_when_there_is_no_internal_text() -> None:
    doc = json.loads(encode_incident(handover(), agency="gmk"))
    del doc["incidentComponent"]["incidentPriorityInternalText"]
    doc["incidentComponent"]["incidentCommonPriorityNumber"] = 3
    assert decode_incident(json.dumps(doc).encode()).priority == 3


@pytest.mark.parametrize("progress", list(Progress))
def test_every_progress_update_is_a_valid_eido_and_reads_back(progress: Progress) -> None:
    update = IncidentUpdate(
        external_id="urn:emergency:uid:incidentid:gms-123:gmk-amsterdam.nl",
        agency="handhaving.amsterdam.nl",
        progress=progress,
        at=AT,
        melding_id=17,
        units=("HH-03", "HH-07") if progress is not Progress.ACCEPTED else (),
        note="Duo HH-03 gaat erheen",
    )
    data = encode_update(update)
    validate_eido(json.loads(data))
    assert decode_update(data) == update


def test_unit_status_in_an_update_uses_the_partner_code() -> None:
    mapping = PartnerMapping(status_codes={**PartnerMapping().status_codes, UnitStatus.ON_SCENE: "TP"})
    data = encode_update(
        IncidentUpdate(external_id="x", agency="hh", progress=Progress.ON_SCENE, at=AT, units=("HH-03",)),
        mapping,
    )
    (resource,) = json.loads(data)["emergencyResourceComponent"]
    assert resource["unitStatusInternal"] == ["TP"] and resource["primaryUnitStatusRegistryText"] == "OnScene"


@pytest.mark.parametrize(
    ("mutate", "field"),
    [
        (lambda d: d.pop("agencyComponent"), "agencyComponent"),
        (lambda d: d.update(eidoVersion="2.0"), "eidoVersion"),
        (lambda d: d["incidentComponent"].pop("incidentTypeCommonRegistryText"), "incidentComponent"),
        (lambda d: d["locationComponent"][0].update(locationByValue="<presence"), "locationByValue"),
        (
            lambda d: d["locationComponent"][0].update(
                locationByValue='<!DOCTYPE x [<!ENTITY e SYSTEM "file:///etc/passwd">]><x>&e;</x>'
            ),
            "locationByValue",
        ),
        (
            lambda d: d["incidentComponent"].update(locationReference=[5]),
            None,
        ),  # schema allows it; must not crash
    ],
)
def test_invalid_incidents_are_refused_with_the_field(mutate: Any, field: str | None) -> None:
    doc = json.loads(encode_incident(handover(), agency="gmk"))
    mutate(doc)
    if field is None:
        assert decode_incident(json.dumps(doc).encode()).lon == pytest.approx(4.897)
        return
    with pytest.raises(CodecError) as err:
        decode_incident(json.dumps(doc).encode())
    assert field in err.value.field or field in err.value.reason


@pytest.mark.parametrize("data", [b"", b"{", b"[]", b"\xff\xfe", b"null", b"[" * 100_000])
def test_garbage_is_a_codec_error(data: bytes) -> None:
    with pytest.raises(CodecError):
        decode_incident(data)


JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=12), inner, max_size=4),
    max_leaves=20,
)


@settings(max_examples=200, deadline=None)
@given(st.binary(max_size=500) | JSON.map(lambda v: json.dumps(v).encode()))
def test_arbitrary_input_never_raises_anything_but_codec_error(data: bytes) -> None:
    try:
        decode_incident(data)
    except CodecError:
        pass


@settings(max_examples=100, deadline=None)
@given(
    st.dictionaries(
        st.sampled_from(
            [
                "incidentPriorityInternalText",
                "locationReference",
                "internalIncidentId",
                "incidentStatusCommonRegistryText",
                "incidentCommonPriorityNumber",
            ]
        ),
        JSON,
        max_size=3,
    )
)
def test_odd_values_in_a_valid_envelope_never_crash(extra: dict[str, Any]) -> None:
    doc = json.loads(encode_incident(handover(), agency="gmk"))
    doc["incidentComponent"].update(extra)
    try:
        decode_incident(json.dumps(doc).encode())
    except CodecError:
        pass
