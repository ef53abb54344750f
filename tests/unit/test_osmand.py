from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import msgspec
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from backend.live.osmand import MAX_BODY_BYTES, OsmAndError, TrackerReport, decode_osmand

NOW = datetime(2024, 5, 1, 12, 0, 0, tzinfo=UTC)
FORM = "application/x-www-form-urlencoded"

# A request as Traccar Client 8 (Android) sends it: POST with everything in the query string, empty body.
TRACCAR_ANDROID_QUERY = {
    "id": "123456",
    "timestamp": "1609459200",
    "lat": "52.3731",
    "lon": "4.8922",
    "speed": "10",
    "bearing": "90",
    "altitude": "5",
    "accuracy": "8",
    "batt": "80",
}

# Traccar Client 9 (transistorsoft background-geolocation) posting JSON.
TRACCAR_JSON_BODY = b"""{
  "location": {
    "timestamp": "2024-11-16T10:20:30.123Z",
    "coords": {
      "latitude": 52.3731, "longitude": 4.8922, "accuracy": 4.7, "speed": 1.38, "speed_accuracy": 0.5,
      "heading": 271.5, "heading_accuracy": 12.0, "altitude": 3.1, "ellipsoidal_altitude": 46.0,
      "altitude_accuracy": 2.9
    },
    "is_moving": true,
    "odometer": 1523.4,
    "event": "motionchange",
    "battery": {"level": 0.62, "is_charging": false},
    "activity": {"type": "on_foot", "confidence": 100},
    "extras": {"shift": "avond"},
    "uuid": "e3d2c5c6-6f2d-4a8e-9d4b-2a0b8f0d1c11",
    "age": 19
  },
  "device_id": "boa-0042"
}"""


def decode(
    query: dict[str, str] | None = None, body: bytes = b"", content_type: str | None = None
) -> TrackerReport:
    return decode_osmand(query=query or {}, body=body, content_type=content_type, now=NOW)


def test_traccar_android_query_request_is_decoded_in_si_units() -> None:
    report = decode(TRACCAR_ANDROID_QUERY)
    assert report == TrackerReport(
        device_key="123456",
        lon=4.8922,
        lat=52.3731,
        at=datetime(2021, 1, 1, tzinfo=UTC),
        speed_mps=pytest.approx(5.14444),  # type: ignore[arg-type]
        heading_deg=90.0,
        altitude_m=5.0,
        accuracy_m=8.0,
        battery_pct=80.0,
        charging=None,
        valid=True,
        extras={},
    )


def test_speed_in_knots_becomes_metres_per_second() -> None:
    assert decode({**TRACCAR_ANDROID_QUERY, "speed": "10"}).speed_mps == pytest.approx(5.14444)
    assert decode({**TRACCAR_ANDROID_QUERY, "speed": "0.0"}).speed_mps == 0.0


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("1609459200", datetime(2021, 1, 1, tzinfo=UTC)),  # epoch seconds
        ("1609459200123", datetime(2021, 1, 1, 0, 0, 0, 123000, tzinfo=UTC)),  # epoch ms (OsmAnd's {2})
        ("2147483647", datetime(2038, 1, 19, 3, 14, 7, tzinfo=UTC)),  # 2**31 - 1: still seconds
        ("2147483648", datetime(1970, 1, 25, 20, 31, 23, 648000, tzinfo=UTC)),  # 2**31: milliseconds
        ("2021-01-01T10:00:00Z", datetime(2021, 1, 1, 10, tzinfo=UTC)),
        ("2021-01-01T11:00:00.500+01:00", datetime(2021, 1, 1, 10, 0, 0, 500000, tzinfo=UTC)),
        ("2021-01-01T10:00:00", datetime(2021, 1, 1, 10, tzinfo=UTC)),  # no offset: UTC
        ("2021-01-01 10:00:00", datetime(2021, 1, 1, 10, tzinfo=UTC)),
    ],
)
def test_timestamp_formats(raw: str, expected: datetime) -> None:
    at = decode({**TRACCAR_ANDROID_QUERY, "timestamp": raw}).at
    assert at == expected
    assert at.utcoffset() == timedelta(0)


def test_missing_timestamp_means_now_in_utc() -> None:
    query = {k: v for k, v in TRACCAR_ANDROID_QUERY.items() if k != "timestamp"}
    amsterdam_now = NOW.astimezone(timezone(timedelta(hours=2)))
    report = decode_osmand(query=query, body=b"", content_type=None, now=amsterdam_now)
    assert report.at == NOW and report.at.tzinfo == UTC


def test_osmand_app_get_with_deviceid_location_and_heading() -> None:
    # OsmAnd's online tracking URL template: ?deviceid={0}&timestamp={1}&location={2},{3}&heading={5}...
    report = decode({"deviceid": "osmand-7", "location": "52.37,4.89", "heading": "181.5", "hdop": "1.2"})
    assert (report.device_key, report.lat, report.lon, report.heading_deg) == ("osmand-7", 52.37, 4.89, 181.5)
    assert report.at == NOW
    assert report.extras == {"hdop": "1.2"}


def test_charge_valid_and_unknown_keys() -> None:
    report = decode({**TRACCAR_ANDROID_QUERY, "charge": "true", "valid": "false", "driverUniqueId": "D17"})
    assert report.charging is True
    assert report.valid is False
    assert report.extras == {"driverUniqueId": "D17"}


def test_phones_minus_one_means_unknown() -> None:
    report = decode({**TRACCAR_ANDROID_QUERY, "speed": "-1", "bearing": "-1", "accuracy": "-1"})
    assert (report.speed_mps, report.heading_deg, report.accuracy_m) == (None, None, None)


def test_form_body_is_merged_with_query_and_wins() -> None:
    body = (
        b"id=123456&lat=52.3731&lon=4.8922&timestamp=2021-01-01+10%3A00%3A00&speed=0&batt=55.5&charge=false"
    )
    report = decode(
        {"id": "from-query", "tag": "x"}, body, "application/x-www-form-urlencoded; charset=UTF-8"
    )
    assert report.device_key == "123456"
    assert report.at == datetime(2021, 1, 1, 10, tzinfo=UTC)
    assert (report.battery_pct, report.charging, report.extras) == (55.5, False, {"tag": "x"})


def test_body_without_content_type_is_read_as_form_like_traccar() -> None:
    assert decode(None, b"id=9&lat=1&lon=2", None).device_key == "9"


def test_traccar_client_json_body() -> None:
    report = decode({}, TRACCAR_JSON_BODY, "application/json")
    assert report.device_key == "boa-0042"
    assert (report.lat, report.lon) == (52.3731, 4.8922)
    assert report.at == datetime(2024, 11, 16, 10, 20, 30, 123000, tzinfo=UTC)
    assert report.speed_mps == 1.38  # already m/s in JSON: no knot conversion
    assert (report.heading_deg, report.altitude_m, report.accuracy_m) == (271.5, 3.1, 4.7)
    assert report.battery_pct == pytest.approx(62.0)
    assert report.charging is False
    assert report.valid is True
    assert report.extras["is_moving"] == "true"
    assert report.extras["event"] == "motionchange"
    assert report.extras["shift"] == "avond"
    assert report.extras["coords.speed_accuracy"] == "0.5"
    assert msgspec.json.decode(report.extras["activity"]) == {"type": "on_foot", "confidence": 100}


def test_json_without_timestamp_or_battery() -> None:
    body = b'{"device_id": 77, "location": {"coords": {"latitude": -33.9, "longitude": 18.4}}}'
    report = decode({}, body, "application/json")
    assert (report.device_key, report.at, report.battery_pct, report.charging) == ("77", NOW, None, None)


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ({"lat": "52.1", "lon": "4.3"}, "id"),
        ({"id": "  ", "lat": "52.1", "lon": "4.3"}, "id"),
        ({"id": "1", "lon": "4.3"}, "lat"),
        ({"id": "1", "lat": "52.1"}, "lon"),
        ({"id": "1", "lat": "abc", "lon": "4.3"}, "lat"),
        ({"id": "1", "lat": "52,1", "lon": "4.3"}, "lat"),
        ({"id": "1", "lat": "90.0001", "lon": "4.3"}, "lat"),
        ({"id": "1", "lat": "52.1", "lon": "-180.5"}, "lon"),
        ({"id": "1", "lat": "nan", "lon": "4.3"}, "lat"),
        ({"id": "1", "lat": "52.1", "lon": "inf"}, "lon"),
        ({"id": "1", "lat": "1e999", "lon": "4.3"}, "lat"),
        ({"id": "1", "location": "52.1"}, "location"),
        ({"id": "1", "location": "52.1,x"}, "location"),
        ({"id": "1", "lat": "52.1", "lon": "4.3", "timestamp": "yesterday"}, "timestamp"),
        ({"id": "1", "lat": "52.1", "lon": "4.3", "timestamp": "2021-13-01 10:00:00"}, "timestamp"),
        ({"id": "1", "lat": "52.1", "lon": "4.3", "timestamp": "9" * 30}, "timestamp"),
        ({"id": "1", "lat": "52.1", "lon": "4.3", "timestamp": "2021-01-01Tnoon"}, "timestamp"),
        ({"id": "1", "lat": "52.1", "lon": "4.3", "speed": "fast"}, "speed"),
        ({"id": "1", "lat": "52.1", "lon": "4.3", "bearing": "north"}, "bearing"),
        ({"id": "1", "lat": "52.1", "lon": "4.3", "altitude": "1_000"}, "altitude"),
        ({"id": "1", "lat": "52.1", "lon": "4.3", "accuracy": "8m"}, "accuracy"),
        ({"id": "1", "lat": "52.1", "lon": "4.3", "hdop": "x"}, "hdop"),
        ({"id": "1", "lat": "52.1", "lon": "4.3", "batt": "80%"}, "batt"),
        ({"id": "1", "lat": "52.1", "lon": "4.3", "charge": "maybe"}, "charge"),
        ({"id": "x" * 129, "lat": "52.1", "lon": "4.3"}, "id"),
    ],
)
def test_bad_query_names_the_field(query: dict[str, str], field: str) -> None:
    with pytest.raises(OsmAndError) as info:
        decode(query)
    assert info.value.field == field
    assert str(info.value).startswith(f"{field}: ")


@pytest.mark.parametrize(
    ("body", "field"),
    [
        (b"{not json", "body"),
        (b"[1, 2]", "body"),
        (b"[" * 60000, "body"),
        (b'{"location": {"coords": {"latitude": 1, "longitude": 2}}}', "device_id"),
        (b'{"device_id": "a"}', "location"),
        (b'{"device_id": "a", "location": [{"coords": {}}]}', "location"),
        (b'{"device_id": "a", "location": {"coords": "x"}}', "location.coords"),
        (b'{"device_id": "a", "location": {"coords": {"longitude": 2}}}', "location.coords.latitude"),
        (
            b'{"device_id": "a", "location": {"coords": {"latitude": "52", "longitude": 2}}}',
            "location.coords.latitude",
        ),
        (
            b'{"device_id": "a", "location": {"coords": {"latitude": 1, "longitude": 200}}}',
            "location.coords.longitude",
        ),
        (
            b'{"device_id": "a", "location": {"coords": {"latitude": 1, "longitude": 2, "speed": true}}}',
            "location.coords.speed",
        ),
        (
            b'{"device_id": "a", "location": {"timestamp": "later", '
            b'"coords": {"latitude": 1, "longitude": 2}}}',
            "location.timestamp",
        ),
        (
            b'{"device_id": "a", "location": {"battery": {"is_charging": "no"}, '
            b'"coords": {"latitude": 1, "longitude": 2}}}',
            "location.battery.is_charging",
        ),
    ],
)
def test_bad_json_names_the_field(body: bytes, field: str) -> None:
    with pytest.raises(OsmAndError) as info:
        decode({}, body, "application/json")
    assert info.value.field == field


def test_body_larger_than_64_kib_is_rejected() -> None:
    body = b"id=1&lat=1&lon=2&pad=" + b"x" * MAX_BODY_BYTES
    with pytest.raises(OsmAndError) as info:
        decode({}, body, FORM)
    assert info.value.field == "body"


def test_form_body_that_is_not_utf8_is_rejected() -> None:
    with pytest.raises(OsmAndError) as info:
        decode({}, b"id=\xff&lat=1&lon=2", FORM)
    assert info.value.field == "body"


# --- properties: any input gives a report or an OsmAndError, never anything else ----------------------------

_keys = (
    st.sampled_from(
        [
            "id",
            "deviceid",
            "lat",
            "lon",
            "location",
            "timestamp",
            "speed",
            "bearing",
            "heading",
            "altitude",
            "accuracy",
            "hdop",
            "batt",
            "charge",
            "valid",
        ]
    )
    | st.text()
)
_values = st.one_of(
    st.text(),
    st.from_regex(r"-?\d{1,20}(\.\d{0,8})?", fullmatch=True),
    st.sampled_from(
        ["nan", "inf", "-1", "1e309", "true", "2021-01-01 10:00:00", "2021-01-01T10:00:00Z", "1,2"]
    ),
)
_content_types = st.sampled_from(
    [None, "", "application/json", FORM, "text/plain", "application/json; charset=x"]
)
_json = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=20),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=12), children, max_size=5)
    ),
    max_leaves=30,
)


def _decode_any(query: dict[str, str], body: bytes, content_type: str | None) -> None:
    try:
        report = decode_osmand(query=query, body=body, content_type=content_type, now=NOW)
    except OsmAndError:
        return
    assert -90 <= report.lat <= 90 and -180 <= report.lon <= 180
    assert report.at.utcoffset() == timedelta(0)


@settings(max_examples=300)
@given(st.dictionaries(_keys, _values, max_size=8), st.binary(max_size=300), _content_types)
def test_arbitrary_query_and_bytes_never_raise_anything_else(
    query: dict[str, str], body: bytes, content_type: str | None
) -> None:
    _decode_any(query, body, content_type)


@settings(max_examples=300)
@given(
    st.fixed_dictionaries(
        {
            "device_id": _json,
            "location": st.fixed_dictionaries(
                {
                    "coords": st.dictionaries(
                        st.sampled_from(["latitude", "longitude", "speed", "heading"]), _json
                    )
                    | _json
                },
                optional={"timestamp": _json, "battery": _json, "extras": _json},
            )
            | _json,
        },
    )
)
def test_arbitrary_json_never_raises_anything_else(document: dict[str, object]) -> None:
    try:
        body = msgspec.json.encode(document)
    except (OverflowError, ValueError, TypeError):  # NaN is fine for msgspec, huge ints may not be
        return
    _decode_any({}, body, "application/json")
