"""CAP 1.2: every shipped real example decodes and validates; our alerts validate and round-trip;
bad input is a CodecError, never another exception."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from lxml import etree

from meldkamer_bridge.adapters.base import SCHEMAS, CodecError
from meldkamer_bridge.adapters.cap import (
    OutgoingAlert,
    PartnerAlert,
    decode_alert,
    encode_alert,
    reference_to,
)
from shared.protocol import SAFETY_ALERTS, AlertKind

EXAMPLES = sorted((SCHEMAS / "cap").glob("*.xml"))
XSD = etree.XMLSchema(etree.parse(str(SCHEMAS / "cap" / "CAP-v1.2.xsd")))


def noodknop(**overrides: object) -> OutgoingAlert:
    values: dict[str, object] = dict(
        message_id="schakel-amsterdam-000123",
        sender="schakel@handhaving.amsterdam.nl",
        sent=datetime(2026, 11, 22, 19, 3, 4, 567000, tzinfo=UTC),
        kind=AlertKind.NOODKNOP,
        call_sign="HH-03",
        organisation="Gemeente Amsterdam",
        lon=4.897,
        lat=52.3745,
        text="Agressieve man met mes",
    )
    values.update(overrides)
    return OutgoingAlert(**values)  # type: ignore[arg-type]


def test_all_shipped_examples_are_there() -> None:
    assert len(EXAMPLES) == 5


@pytest.mark.parametrize("path", EXAMPLES, ids=lambda p: p.name)
def test_every_real_example_decodes(path: Path) -> None:
    alert = decode_alert(path.read_bytes())
    assert isinstance(alert, PartnerAlert)
    assert alert.identifier and alert.sender and alert.sent.tzinfo is not None
    assert alert.status in {"Actual", "Exercise", "System", "Test", "Draft"}
    assert alert.msg_type in {"Alert", "Update", "Cancel", "Ack", "Error"}


def test_thunderstorm_polygon_is_lon_lat_and_expires_is_read() -> None:
    alert = decode_alert((SCHEMAS / "cap" / "cap12_example_thunderstorm.xml").read_bytes())
    assert alert.severity == "Severe" and alert.headline.startswith("SEVERE THUNDERSTORM")
    assert alert.expires == datetime(2003, 6, 17, 16, 0, tzinfo=timezone(timedelta(hours=-7)))
    (polygon,) = alert.polygons
    # CAP says "38.47,-120.14": latitude first; shapely gets x = lon, y = lat
    assert polygon.exterior.coords[0] == (-120.14, 38.47)
    minx, miny, maxx, maxy = polygon.bounds
    assert -121 < minx < maxx < -119 and 38 < miny < maxy < 39


def test_canadian_alert_has_its_polygons_and_english_info() -> None:
    alert = decode_alert((SCHEMAS / "cap" / "cap12_example_canada_naads.xml").read_bytes())
    assert len(alert.polygons) == 2 and all(p.is_valid for p in alert.polygons)
    assert alert.polygons[0].contains(alert.polygons[0].representative_point())
    assert alert.category and alert.urgency


@pytest.mark.parametrize("kind", [AlertKind.NOODKNOP, AlertKind.ASSISTANCE])
def test_our_alert_validates_against_the_oasis_schema_and_round_trips(kind: AlertKind) -> None:
    out = noodknop(kind=kind)
    xml = encode_alert(out)
    assert XSD.validate(etree.fromstring(xml))
    back = decode_alert(xml)
    assert back.identifier == out.message_id and back.sender == out.sender
    assert back.sent == out.sent.replace(microsecond=0)
    assert (back.status, back.msg_type, back.scope) == ("Actual", "Alert", "Restricted")
    assert back.category == ("Security",) and back.urgency == "Immediate" and back.certainty == "Observed"
    assert back.severity == ("Extreme" if kind is AlertKind.NOODKNOP else "Severe")
    assert "HH-03" in back.headline and "Gemeente Amsterdam" in back.headline
    assert "Agressieve man met mes" in back.description
    assert back.parameters == {
        "unit_call_sign": "HH-03",
        "organisation": "Gemeente Amsterdam",
        "alert_kind": kind.value,
    }
    (circle,) = back.circles
    assert (circle.lon, circle.lat) == pytest.approx((4.897, 52.3745)) and circle.radius_km == 0.05
    assert b"52.374500,4.897000 0.05" in xml  # lat first on the wire


def test_cancel_refers_to_the_alert_and_private_scope_has_addresses() -> None:
    first = noodknop()
    cancel = noodknop(
        message_id="schakel-amsterdam-000124",
        msg_type="Cancel",
        references=reference_to(first),
        scope="Private",
        addresses="politie-amsterdam",
    )
    back = decode_alert(encode_alert(cancel))
    assert back.msg_type == "Cancel" and back.scope == "Private"
    assert (
        back.references
        == "schakel@handhaving.amsterdam.nl,schakel-amsterdam-000123,2026-11-22T19:03:04+00:00"
    )
    assert back.description.startswith("INGETROKKEN")


def test_alert_without_position_has_no_area() -> None:
    back = decode_alert(encode_alert(noodknop(lon=None, lat=None)))
    assert back.circles == () and "Positie onbekend" in back.description


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        (dict(msg_type="Update"), "references"),
        (dict(scope="Private"), "addresses"),
        (dict(lat=None), "lon"),
        (dict(kind=AlertKind.POSITION_STALE), "kind"),
        (dict(text="bel \x00 mij"), "description"),
    ],
)
def test_encoding_refuses_what_a_partner_would_refuse(overrides: dict[str, object], field: str) -> None:
    with pytest.raises(CodecError) as err:
        encode_alert(noodknop(**overrides))
    assert field in err.value.field or err.value.field == "alert"


XXE = b"""<?xml version="1.0"?>
<!DOCTYPE alert [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>
<alert xmlns="urn:oasis:names:tc:emergency:cap:1.2"><identifier>&xxe;</identifier></alert>"""
LAUGHS = b"""<?xml version="1.0"?>
<!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
<!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">]><lolz>&lol3;</lolz>"""


@pytest.mark.parametrize(
    ("data", "field", "reason"),
    [
        (b"", "alert", "not well-formed"),
        (b"not xml at all", "alert", "not well-formed"),
        (b"<alert xmlns='urn:oasis:names:tc:emergency:cap:1.1'/>", "alert", "expected a CAP 1.2 alert"),
        (XXE, "alert", "DOCTYPE"),
        (LAUGHS, "alert", "DOCTYPE"),
        (
            b"<alert xmlns='urn:oasis:names:tc:emergency:cap:1.2'><identifier>x</identifier></alert>",
            "alert",
            "Expected is ( sender )",
        ),
        (
            b"<alert xmlns='urn:oasis:names:tc:emergency:cap:1.2'><identifier>x</identifier>"
            b"<sender>s</sender><sent>yesterday</sent></alert>",
            "sent",
            "not a valid value",
        ),
    ],
)
def test_bad_input_is_a_clear_codec_error(data: bytes, field: str, reason: str) -> None:
    with pytest.raises(CodecError) as err:
        decode_alert(data)
    assert err.value.field.startswith(field)
    assert reason in err.value.reason


def test_schema_valid_alert_with_a_broken_polygon_names_the_field() -> None:
    xml = encode_alert(noodknop()).replace(
        b"<circle>52.374500,4.897000 0.05</circle>",
        b"<polygon>52.0,4.0 53.0,5.0 52.0,5.0 53.0,4.0 52.0,4.0</polygon>",
    )
    with pytest.raises(CodecError) as err:
        decode_alert(xml)
    assert err.value.field == "info.area.polygon" and "crosses itself" in err.value.reason


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=2000))
def test_arbitrary_bytes_never_raise_anything_but_codec_error(data: bytes) -> None:
    try:
        decode_alert(data)
    except CodecError:
        pass


@settings(max_examples=200, deadline=None)
@given(st.text(max_size=300), st.text(max_size=40), st.floats(-180, 180), st.floats(-90, 90))
def test_any_text_and_position_encodes_validly_or_is_refused(
    text: str, call_sign: str, lon: float, lat: float
) -> None:
    try:
        xml = encode_alert(noodknop(text=text, call_sign=call_sign, lon=lon, lat=lat))
    except CodecError:
        return
    back = decode_alert(xml)
    assert back.parameters["unit_call_sign"] == call_sign.strip()


def test_a_police_area_alert_round_trips_with_its_polygon_in_lon_lat() -> None:
    from shapely.geometry import Polygon

    from meldkamer_bridge.adapters.cap import encode_area_alert

    area = Polygon([(4.89, 52.37), (4.90, 52.37), (4.90, 52.38), (4.89, 52.38), (4.89, 52.37)])
    xml = encode_area_alert(
        identifier="politie-2026-1",
        sender="politie@example.nl",
        sent=T_SENT,
        event="Gezocht voertuig",
        headline="Gezocht: grijze bestelbus 12-ABC-3",
        description="Na ramkraak",
        area_desc="Burgwallen",
        polygon=area,
        expires=T_SENT + timedelta(hours=2),
    )
    assert XSD.validate(etree.fromstring(xml))
    back = decode_alert(xml)
    assert back.polygons[0].equals(area) and back.expires == T_SENT + timedelta(hours=2)
    assert back.polygons[0].contains_properly(Polygon(area.buffer(-0.001).exterior))


T_SENT = datetime(2026, 11, 22, 19, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("kind", "event", "severity", "certainty", "headline"),
    [
        (AlertKind.MAN_DOWN, "Man-down handhaving", "Extreme", "Likely", "MAN-DOWN"),
        (AlertKind.CHECKIN_MISSED, "Gemiste check-in handhaving", "Severe", "Possible", "GEMISTE CHECK-IN"),
    ],
)
def test_man_down_and_a_missed_check_in_go_out_as_valid_cap_of_their_own_kind(
    kind: AlertKind, event: str, severity: str, certainty: str, headline: str
) -> None:
    out = noodknop(kind=kind, text="tilt" if kind is AlertKind.MAN_DOWN else "check-in verwacht om 14:05")
    xml = encode_alert(out)
    assert XSD.validate(etree.fromstring(xml))
    back = decode_alert(xml)
    assert back.event == event and back.severity == severity and back.certainty == certainty
    assert back.urgency == "Immediate" and back.category == ("Security",)
    assert back.headline.startswith(headline) and "HH-03" in back.headline
    assert back.parameters["alert_kind"] == kind.value
    if kind is AlertKind.MAN_DOWN:
        assert "val (apparaat gekanteld)" in back.description  # the trigger in words, not its code
    else:
        assert "14:05" in back.description


def test_a_routine_alert_never_goes_to_the_police() -> None:
    with pytest.raises(CodecError) as refused:
        encode_alert(noodknop(kind=AlertKind.OUTSIDE_ASSIGNED_BEAT))
    assert refused.value.field == "kind"


@pytest.mark.parametrize("kind", sorted(SAFETY_ALERTS, key=lambda k: k.value), ids=lambda k: k.value)
def test_every_safety_alert_kind_goes_out_as_valid_cap(kind: AlertKind) -> None:
    # a man_down or missed check-in must reach the police like a noodknop (it raised KeyError before)
    data = encode_alert(noodknop(kind=kind))
    XSD.assertValid(etree.fromstring(data))
    alert = decode_alert(data)
    assert alert.headline.endswith("HH-03 (Gemeente Amsterdam)")
    assert alert.severity == ("Extreme" if kind in (AlertKind.NOODKNOP, AlertKind.MAN_DOWN) else "Severe")
