"""The wire contract: every frame survives a round trip, and bad frames are refused naming the field."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import msgspec
import pytest

from shared import protocol
from shared.protocol import (
    PROTOCOL_VERSION,
    Ack,
    AcknowledgeAlert,
    AlertAcknowledged,
    AlertKind,
    AlertRaised,
    AlertView,
    AreaAlert,
    AssistanceRequested,
    CheckIn,
    ColleagueAlarm,
    Delta,
    Error,
    Hello,
    ManDown,
    ManDownTrigger,
    Message,
    MessageRead,
    NoodknopPressed,
    PartnerFix,
    PartnerPositions,
    Ping,
    Pong,
    PositionReported,
    Snapshot,
    StatusChanged,
    TaskAssigned,
    TaskCancelled,
    TaskState,
    TaskUpdated,
    TextMessage,
    UnitStatus,
    UnitView,
    Welcome,
    check_time_window,
    describe_decode_error,
    encoder,
    field_decoder,
    operator_decoder,
    server_decoder,
)

AT = datetime(2026, 3, 14, 9, 26, 53, 589000, tzinfo=UTC)
UNIT = UnitView(
    unit_id=7,
    org_id=1,
    call_sign="HH-01",
    status=UnitStatus.AVAILABLE,
    status_since=AT - timedelta(minutes=20),
    lon=4.8970,
    lat=52.3745,
    at=AT,
    accuracy_m=5.0,
    speed_mps=1.4,
    heading_deg=90.0,
    beat_ids=(12,),
    assigned_beat_ids=(12,),
    outside_assigned=False,
)
ALERT = AlertView(
    alert_id=31,
    kind=AlertKind.NOODKNOP,
    org_id=1,
    unit_id=7,
    call_sign="HH-01",
    at=AT,
    lon=4.8970,
    lat=52.3745,
)

# One example of every frame type; the docs' JSON examples are these, encoded by the real encoder.
EXAMPLES: dict[type[Message], Message] = {
    Hello: Hello(token="eyJhbGciOiJIUzI1NiJ9.e30.c2lnbmF0dXJl", protocol=PROTOCOL_VERSION),
    PositionReported: PositionReported(
        seq=42, lon=4.8970, lat=52.3745, at=AT, accuracy_m=5.0, speed_mps=1.4, heading_deg=90.0
    ),
    StatusChanged: StatusChanged(seq=43, status=UnitStatus.ON_SCENE, at=AT),
    NoodknopPressed: NoodknopPressed(seq=44, at=AT, lon=4.8970, lat=52.3745),
    AssistanceRequested: AssistanceRequested(
        seq=45, at=AT, lon=4.8970, lat=52.3745, text="Agressieve persoon"
    ),
    TaskUpdated: TaskUpdated(seq=46, task_id=5, state=TaskState.EN_ROUTE, at=AT, note="onderweg"),
    MessageRead: MessageRead(seq=47, message_id=9, at=AT),
    Ping: Ping(nonce=3),
    Welcome: Welcome(protocol=PROTOCOL_VERSION, device_id=2, unit_id=7, acked=41, server_time=AT),
    Ack: Ack(upto=45),
    Error: Error(code="bad_frame", message="Expected `float` <= 90.0", field="$.lat", seq=48),
    Pong: Pong(nonce=3),
    TaskAssigned: TaskAssigned(
        task_id=5,
        incident_id=3,
        title="Overlast jongeren",
        priority=2,
        category="overlast",
        lon=4.8925,
        lat=52.3765,
        address="Dam 1, Amsterdam",
        assigned_at=AT,
    ),
    TaskCancelled: TaskCancelled(task_id=5, reason="afgehandeld door politie"),
    TextMessage: TextMessage(message_id=9, text="Graag contact opnemen", sender="Meldkamer", sent_at=AT),
    AreaAlert: AreaAlert(alert_id=77, headline="Zoekactie vermiste persoon", severity="moderate", sent_at=AT),
    Snapshot: Snapshot(units=[UNIT], alerts=[ALERT], server_time=AT),
    Delta: Delta(units=[UNIT], alerts=[], server_time=AT),
    AlertRaised: AlertRaised(alert=ALERT),
    AcknowledgeAlert: AcknowledgeAlert(alert_id=31),
    AlertAcknowledged: AlertAcknowledged(
        alert_id=31, alert_kind=AlertKind.NOODKNOP, raised_at=AT, by="M. de Vries", at=AT
    ),
    PartnerPositions: PartnerPositions(fixes=[PartnerFix(device_id=12, lon=4.8972, lat=52.3749, at=AT)]),
    ManDown: ManDown(seq=8, at=AT, trigger=ManDownTrigger.TILT, lon=4.8925, lat=52.3765),
    CheckIn: CheckIn(seq=9, at=AT, next_due=AT),
    ColleagueAlarm: ColleagueAlarm(
        alert_id=31,
        alert_kind=AlertKind.MAN_DOWN,
        call_sign="HH-04",
        at=AT,
        lon=4.89,
        lat=52.37,
        distance_m=420,
    ),
}

DECODERS = {"field": field_decoder, "operator": operator_decoder, "server": server_decoder}


def frame_types() -> set[type[Message]]:
    found: set[type[Message]] = set()
    pending = list(Message.__subclasses__())
    while pending:
        cls = pending.pop()
        found.add(cls)
        pending.extend(cls.__subclasses__())
    return {c for c in found if c.__module__ == protocol.__name__}


def test_every_frame_type_has_an_example() -> None:
    assert frame_types() == set(EXAMPLES)


@pytest.mark.parametrize("frame", list(EXAMPLES.values()), ids=lambda f: type(f).__name__)
def test_frame_round_trips_through_its_direction_decoder(frame: Message) -> None:
    raw = encoder.encode(frame)
    tag = type(frame).__struct_config__.tag
    assert json.loads(raw)["kind"] == tag
    decoded = [d.decode(raw) for d in _decoders_for(type(frame)).values()]
    assert decoded, f"{type(frame).__name__} is in no decoder's union"
    assert all(d == frame for d in decoded)


def _decoders_for(cls: type[Message]) -> dict[str, msgspec.json.Decoder[Any]]:
    unions = {
        "field": protocol.FieldFrame,
        "operator": protocol.OperatorFrame,
        "server": protocol.ServerFrame,
    }
    return {name: DECODERS[name] for name, union in unions.items() if cls in union.__args__}


def test_tags_are_unique() -> None:
    tags = [cls.__struct_config__.tag for cls in EXAMPLES]
    assert len(tags) == len(set(tags))


def test_every_sequenced_frame_carries_a_seq() -> None:
    for cls in protocol.SequencedFrame.__args__:
        assert "seq" in cls.__struct_fields__, cls


NOW = "2026-03-14T09:26:53Z"


@pytest.mark.parametrize(
    ("raw", "field", "message"),
    [
        ({"kind": "position", "seq": 1, "lon": 4.9, "lat": 90.5, "at": NOW}, "$.lat", "<= 90.0"),
        ({"kind": "position", "seq": 1, "lon": -180.01, "lat": 52.0, "at": NOW}, "$.lon", ">= -180.0"),
        ({"kind": "position", "seq": 0, "lon": 4.9, "lat": 52.0, "at": NOW}, "$.seq", ">= 1"),
        ({"kind": "position", "seq": 2**62 + 1, "lon": 4.9, "lat": 52.0, "at": NOW}, "$.seq", "<="),
        ({"kind": "position", "seq": "1", "lon": 4.9, "lat": 52.0, "at": NOW}, "$.seq", "Expected `int`"),
        (
            {"kind": "position", "seq": 1, "lon": 4.9, "lat": 52.0, "at": NOW, "accuracy_m": -1},
            "$.accuracy_m",
            ">= 0.0",
        ),
        (
            {"kind": "position", "seq": 1, "lon": 4.9, "lat": 52.0, "at": NOW, "heading_deg": 361},
            "$.heading_deg",
            "<= 360.0",
        ),
        ({"kind": "position", "seq": 1, "lon": 4.9, "lat": 52.0, "at": "yesterday"}, "$.at", "datetime"),
        ({"kind": "status", "seq": 1, "status": "dancing", "at": NOW}, "$.status", "Invalid enum value"),
        ({"kind": "assistance", "seq": 1, "at": NOW, "text": "x" * 501}, "$.text", "<= 500"),
        ({"kind": "assistance", "seq": 1, "at": NOW, "text": "help\u0000"}, "$.text", "NUL character"),
        (
            {"kind": "task_update", "seq": 1, "task_id": 1, "state": "done", "at": NOW, "note": "\u0000"},
            "$.note",
            "NUL character",
        ),
        ({"kind": "noodknop", "seq": 1, "at": NOW, "lat": -91}, "$.lat", ">= -90.0"),
        ({"kind": "task_update", "seq": 1, "task_id": 1, "state": "maybe", "at": NOW}, "$.state", "enum"),
        ({"kind": "hello", "token": ""}, "$.token", ">= 1"),
        ({"kind": "hello", "token": "t", "protocol": "one"}, "$.protocol", "Expected `int`"),
        ({"kind": "teleport", "seq": 1}, "$.kind", "teleport"),
    ],
)
def test_constraint_error_names_the_field(raw: dict[str, Any], field: str, message: str) -> None:
    with pytest.raises(msgspec.DecodeError) as caught:
        field_decoder.decode(json.dumps(raw))
    text, path = describe_decode_error(caught.value)
    assert path == field
    assert message in text
    assert " - at " not in text


def test_missing_field_is_named_in_the_message() -> None:
    with pytest.raises(msgspec.DecodeError) as caught:
        field_decoder.decode(b'{"kind": "position", "seq": 1, "lon": 4.9, "lat": 52.0}')
    text, path = describe_decode_error(caught.value)
    assert "`at`" in text and path is None


def test_garbage_is_a_decode_error_without_a_field() -> None:
    for raw in (b"\xff\x00", b"[]", b"", b'"position"'):
        with pytest.raises(msgspec.DecodeError) as caught:
            field_decoder.decode(raw)
        text, path = describe_decode_error(caught.value)
        assert text and path is None


@pytest.mark.parametrize(
    ("decoder", "frame", "key"),
    [
        (field_decoder, EXAMPLES[PositionReported], "at"),
        (field_decoder, EXAMPLES[StatusChanged], "at"),
        (field_decoder, EXAMPLES[NoodknopPressed], "at"),
        (field_decoder, EXAMPLES[AssistanceRequested], "at"),
        (field_decoder, EXAMPLES[TaskUpdated], "at"),
        (field_decoder, EXAMPLES[MessageRead], "at"),
        (server_decoder, EXAMPLES[TextMessage], "sent_at"),
        (server_decoder, EXAMPLES[TaskAssigned], "assigned_at"),
    ],
    ids=lambda v: type(v).__name__ if isinstance(v, Message) else str(v)[:12],
)
def test_naive_datetimes_are_rejected(decoder: msgspec.json.Decoder[Any], frame: Message, key: str) -> None:
    doc = json.loads(encoder.encode(frame))
    doc[key] = "2026-03-14T09:26:53"  # no offset: which clock?
    with pytest.raises(msgspec.DecodeError) as caught:
        decoder.decode(json.dumps(doc))
    assert describe_decode_error(caught.value)[1] == f"$.{key}"


def test_times_with_an_offset_are_the_same_instant() -> None:
    frame = field_decoder.decode(
        b'{"kind": "status", "seq": 1, "status": "busy", "at": "2026-03-14T10:26:53+01:00"}'
    )
    assert isinstance(frame, StatusChanged)
    assert frame.at == datetime(2026, 3, 14, 9, 26, 53, tzinfo=UTC)
    assert frame.at.utcoffset() == timedelta(hours=1)  # kept as sent; the database stores the instant


def test_old_clients_and_newer_servers_understand_each_other() -> None:
    """Optional fields may be left out (old tablets) and unknown fields are ignored (newer peers)."""
    old = field_decoder.decode(f'{{"kind": "position", "seq": 1, "lon": 4.9, "lat": 52.0, "at": "{NOW}"}}')
    assert isinstance(old, PositionReported)
    assert old.accuracy_m is None and old.late is False
    newer = server_decoder.decode(b'{"kind": "ack", "upto": 5, "instance": "b"}')
    assert newer == Ack(upto=5)
    hello = field_decoder.decode(b'{"kind": "hello", "token": "t"}')
    assert hello == Hello(token="t", protocol=1)  # a hello without a version is an old client


def test_operator_socket_accepts_only_operator_frames() -> None:
    with pytest.raises(msgspec.DecodeError):
        operator_decoder.decode(encoder.encode(EXAMPLES[PositionReported]))
    with pytest.raises(msgspec.DecodeError):
        field_decoder.decode(encoder.encode(EXAMPLES[AcknowledgeAlert]))


def test_an_alert_id_beyond_bigint_is_refused_naming_the_field() -> None:
    with pytest.raises(msgspec.DecodeError) as caught:
        operator_decoder.decode(b'{"kind": "ack_alert", "alert_id": 9223372036854775808}')
    assert describe_decode_error(caught.value) == ("Expected `int` <= 9223372036854775807", "$.alert_id")


_CLOCK = datetime(2026, 3, 14, 9, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("at", "reason"),
    [
        (_CLOCK, None),
        (_CLOCK + timedelta(minutes=5), None),  # a tablet's clock a little ahead
        (_CLOCK - timedelta(days=60), None),  # a tablet offline for weeks
        (_CLOCK + timedelta(minutes=5, seconds=1), "more than 5 minutes ahead of the server clock"),
        (_CLOCK + timedelta(days=1), "more than 5 minutes ahead of the server clock"),
        (_CLOCK - timedelta(days=60, seconds=1), "more than 60 days in the past"),
        (datetime(1, 1, 1, tzinfo=timezone(timedelta(hours=14))), "more than 60 days in the past"),
        (
            datetime(9999, 12, 31, 23, 59, 59, tzinfo=timezone(timedelta(hours=-14))),
            "more than 5 minutes ahead of the server clock",
        ),
    ],
)
def test_check_time_window(at: datetime, reason: str | None) -> None:
    assert check_time_window(at, _CLOCK) == reason


def test_check_time_window_takes_other_bounds() -> None:
    assert check_time_window(_CLOCK - timedelta(hours=2), _CLOCK, past=timedelta(hours=1)) == (
        "more than 60 minutes in the past"
    )
    assert check_time_window(_CLOCK + timedelta(seconds=30), _CLOCK, future=timedelta(seconds=10)) == (
        "more than 10 seconds ahead of the server clock"
    )
