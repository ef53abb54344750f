"""The wire contract of Schakel: every frame on the field and operator websockets.

Frames are JSON objects tagged by `kind`. Every frame a device sends that changes state carries a per-device
sequence number `seq`; the server acknowledges cumulatively (`ack.upto`) once the frames are durable, and a
frame resent with a sequence number that is already durable is acknowledged again but stored only once.
New fields always get defaults, so older tablets keep working.
"""

from __future__ import annotations

import enum
from datetime import datetime, timedelta
from typing import Annotated

import msgspec

PROTOCOL_VERSION = 2
SUPPORTED_PROTOCOLS = frozenset({1, 2})  # 2 added `alert_ack` and `partners` (server -> device)

Longitude = Annotated[float, msgspec.Meta(ge=-180.0, le=180.0)]
Latitude = Annotated[float, msgspec.Meta(ge=-90.0, le=90.0)]
Seq = Annotated[int, msgspec.Meta(ge=1, le=2**62)]
MAX_SEQ_JUMP = 1_000_000
"""How far above the highest seq a device sent a frame's seq may be: one frame must not use up the space."""

MAX_MEASURE = 1e6
"""Accuracy and speed limit: far above anything real, far inside the float32 (`real`) columns they go to."""
NonNegative = Annotated[float, msgspec.Meta(ge=0.0, le=MAX_MEASURE)]
Heading = Annotated[float, msgspec.Meta(ge=0.0, le=360.0)]
Id64 = Annotated[int, msgspec.Meta(ge=1, le=2**63 - 1)]  # a bigserial id (alerts)

NO_NUL = r"^[^\x00]*$"
"""PostgreSQL text cannot hold a NUL character, so no text on the wire may carry one."""
SafeText = Annotated[str, msgspec.Meta(max_length=500, pattern=NO_NUL)]
Timestamp = Annotated[datetime, msgspec.Meta(tz=True)]
Token = Annotated[str, msgspec.Meta(min_length=1, max_length=4096)]

CLOCK_SKEW = timedelta(minutes=5)
"""How far ahead of the server clock a device's time may be (a fix from the future would freeze its unit)."""
MAX_AGE = timedelta(days=60)
"""How old a frame may be: a tablet offline for weeks still gets its history in."""


def check_time_window(
    at: datetime, now: datetime, *, past: timedelta = MAX_AGE, future: timedelta = CLOCK_SKEW
) -> str | None:
    """Why `at` is not a time the server takes (None when it is): not more than `future` ahead of `now` and
    not more than `past` behind it.

    msgspec checks the form of a time but cannot know the server clock, so every edge (the field socket, the
    tracker decoder, HTTP handlers) calls this with its own `now`; it also keeps out times that PostgreSQL
    or Python cannot convert to UTC (year 1 or 9999 with an offset).
    """
    if at > now + future:
        return f"more than {_span(future)} ahead of the server clock"
    if at < now - past:
        return f"more than {_span(past)} in the past"
    return None


def _span(delta: timedelta) -> str:
    seconds = int(delta.total_seconds())
    if seconds % 86400 == 0:
        return f"{seconds // 86400} days"
    if seconds % 60 == 0:
        return f"{seconds // 60} minutes"
    return f"{seconds} seconds"


class UnitStatus(str, enum.Enum):
    """Semantic unit status; partner systems map it to their own codes."""

    AVAILABLE = "available"  # beschikbaar
    EN_ROUTE = "en_route"  # aanrijdend
    ON_SCENE = "on_scene"  # ter plaatse
    BUSY = "busy"  # bezet
    BREAK = "break"  # pauze
    OFF_DUTY = "off_duty"  # buiten dienst
    EMERGENCY = "emergency"  # noodsituatie


class AlertKind(str, enum.Enum):
    NOODKNOP = "noodknop"
    ASSISTANCE = "assistance"
    OUTSIDE_ASSIGNED_BEAT = "outside_assigned_beat"
    POSITION_STALE = "position_stale"
    PARTNERS_APART = "partners_apart"
    MAN_DOWN = "man_down"  # the tablet saw a fall or no motion and the boa did not cancel the pre-alarm
    CHECKIN_MISSED = "checkin_missed"  # a boa working alone did not check in before the time he set


SAFETY_ALERTS = frozenset(
    {AlertKind.NOODKNOP, AlertKind.ASSISTANCE, AlertKind.MAN_DOWN, AlertKind.CHECKIN_MISSED}
)
"""Alerts about a person in danger: sent at once, shown in their own lane, escalated when nobody answers."""


class Message(msgspec.Struct, frozen=True, kw_only=True, tag_field="kind"):
    """Base of every frame on the wire."""


# --- device -> server -------------------------------------------------------------------------------------


class Hello(Message, frozen=True, tag="hello"):
    """First frame on any socket: who is speaking, which protocol version."""

    token: Token
    # absent means 1 (older peers); clients of this code say PROTOCOL_VERSION explicitly
    protocol: int = 1


class PositionReported(Message, frozen=True, tag="position"):
    seq: Seq
    lon: Longitude
    lat: Latitude
    at: Timestamp
    accuracy_m: NonNegative | None = None
    speed_mps: NonNegative | None = None
    heading_deg: Heading | None = None
    late: bool = False  # buffered while offline: stored in order, never raises live alerts


class StatusChanged(Message, frozen=True, tag="status"):
    seq: Seq
    status: UnitStatus
    at: Timestamp
    late: bool = False


class NoodknopPressed(Message, frozen=True, tag="noodknop"):
    seq: Seq
    at: Timestamp
    lon: Longitude | None = None
    lat: Latitude | None = None
    # a silent alarm (aggression): the tablet shows and sounds nothing; the operator must not call back
    silent: bool = False


class ManDownTrigger(str, enum.Enum):
    TILT = "tilt"  # the device lies beyond ~45 degrees
    NO_MOTION = "no_motion"  # no movement for the configured time


class ManDown(Message, frozen=True, tag="man_down"):
    """The tablet raised an automatic alarm: a fall or no motion, and the 15 s pre-alarm was not cancelled."""

    seq: Seq
    at: Timestamp
    trigger: ManDownTrigger
    lon: Longitude | None = None
    lat: Latitude | None = None


class CheckIn(Message, frozen=True, tag="checkin"):
    """A boa working alone checks in. `next_due` starts (or moves) the check-in timer; None stops it.

    The server holds the timer, so a missed check-in raises `checkin_missed` even when the tablet is broken.
    """

    seq: Seq
    at: Timestamp
    next_due: Timestamp | None = None


class AssistanceRequested(Message, frozen=True, tag="assistance"):
    seq: Seq
    at: Timestamp
    lon: Longitude | None = None
    lat: Latitude | None = None
    text: SafeText = ""


class TaskState(str, enum.Enum):
    ASSIGNED = "assigned"
    ACCEPTED = "accepted"
    EN_ROUTE = "en_route"  # aanrijdend
    ON_SCENE = "on_scene"  # ter plaatse
    DONE = "done"  # afgerond
    DECLINED = "declined"
    CANCELLED = "cancelled"


class TaskUpdated(Message, frozen=True, tag="task_update"):
    """The unit reports progress on a task the meldkamer gave it."""

    seq: Seq
    task_id: int  # an unknown one (even beyond bigint) is stored as history; the task is left alone
    state: TaskState
    at: Timestamp
    note: SafeText = ""


class MessageRead(Message, frozen=True, tag="message_read"):
    seq: Seq
    message_id: int
    at: Timestamp


class Ping(Message, frozen=True, tag="ping"):
    nonce: int = 0


FieldFrame = (
    Hello
    | PositionReported
    | StatusChanged
    | NoodknopPressed
    | AssistanceRequested
    | ManDown
    | CheckIn
    | TaskUpdated
    | MessageRead
    | Ping
)
SequencedFrame = (
    PositionReported
    | StatusChanged
    | NoodknopPressed
    | AssistanceRequested
    | ManDown
    | CheckIn
    | TaskUpdated
    | MessageRead
)


# --- server -> device -------------------------------------------------------------------------------------


class Welcome(Message, frozen=True, tag="welcome"):
    """Answer to hello. `acked` is the highest durable seq of this device: resend everything above it."""

    protocol: int
    device_id: int
    unit_id: int | None
    acked: int
    server_time: datetime


class Ack(Message, frozen=True, tag="ack"):
    """Every frame with seq <= upto is durable."""

    upto: int


class Error(Message, frozen=True, tag="error"):
    code: str  # machine-readable: bad_frame, unauthorized, protocol_version, too_large, unknown_device, ...
    message: str
    field: str | None = None
    seq: int | None = None
    fatal: bool = False  # the server closes the socket after a fatal error


class Pong(Message, frozen=True, tag="pong"):
    nonce: int = 0


class TaskAssigned(Message, frozen=True, tag="task"):
    """Server -> device: a task from the meldkamer (sent again after a reconnect until it is accepted)."""

    task_id: int
    incident_id: int
    title: str
    priority: int  # 1 (spoed) .. 3
    category: str = ""
    description: str = ""
    lon: float | None = None
    lat: float | None = None
    address: str = ""
    assigned_at: Timestamp | None = None


class TaskCancelled(Message, frozen=True, tag="task_cancelled"):
    task_id: int
    reason: str = ""


class TextMessage(Message, frozen=True, tag="message"):
    """Server -> device: a short text from the meldkamer; the device answers with message_read."""

    message_id: int
    text: str
    sender: str
    sent_at: Timestamp


class AreaAlert(Message, frozen=True, tag="area_alert"):
    """Server -> device: an alert from a partner (e.g. police CAP) for the area the unit is in."""

    alert_id: int
    headline: str
    description: str = ""
    severity: str = ""
    sent_at: Timestamp | None = None


class AlertAcknowledged(Message, frozen=True, tag="alert_ack"):
    """Server -> device (protocol 2): an operator has seen the safety alert this unit raised.

    `raised_at` is the `at` of the device's noodknop/assistance frame, so the device can tell which press it
    answers. Sent only to devices that said hello with protocol 2 or later.
    """

    alert_id: int
    alert_kind: AlertKind = AlertKind.NOODKNOP
    raised_at: Timestamp | None = None
    by: str = ""  # the operator's display name
    at: Timestamp | None = None  # when it was acknowledged


class ColleagueAlarm(Message, frozen=True, tag="colleague_alarm"):
    """Server -> device (protocol 2): a safety alert of another unit that no operator has acknowledged in
    time. Sent to the duo partner's devices and the nearest units' tablets when the alarm escalates, and again
    (with `resolved` true) once an operator acknowledges it."""

    alert_id: int
    alert_kind: AlertKind
    call_sign: str
    at: Timestamp  # when the alarm was raised
    lon: float | None = None
    lat: float | None = None
    distance_m: float | None = None  # from the receiving unit, when both positions are known
    escalation_level: int = 1
    resolved: bool = False


class PartnerFix(msgspec.Struct, frozen=True, kw_only=True):
    device_id: int
    lon: float
    lat: float
    at: Timestamp


class PartnerPositions(Message, frozen=True, tag="partners"):
    """Server -> device (protocol 2): where the unit's other devices (duo partner's tablet or tracker) are.

    Sent at most once per tick, only when they changed; an empty list means no partner fix is current.
    """

    fixes: list[PartnerFix] = []


# --- server -> operator -----------------------------------------------------------------------------------


class UnitView(msgspec.Struct, frozen=True, kw_only=True):
    """What an operator sees of one unit."""

    unit_id: int
    org_id: int
    call_sign: str
    status: UnitStatus
    status_since: datetime
    lon: float | None = None
    lat: float | None = None
    at: Timestamp | None = None  # time of the last position
    accuracy_m: float | None = None
    speed_mps: float | None = None
    heading_deg: float | None = None
    beat_ids: tuple[int, ...] = ()
    assigned_beat_ids: tuple[int, ...] = ()
    outside_assigned: bool | None = None  # None: no assigned beat or no position yet
    stale: bool = False
    partners_apart: bool = False  # the duo's devices (tablets, trackers) report positions far apart


class AlertView(msgspec.Struct, frozen=True, kw_only=True):
    alert_id: int
    kind: AlertKind
    org_id: int
    unit_id: int | None
    call_sign: str | None
    at: Timestamp
    lon: float | None = None
    lat: float | None = None
    text: str = ""
    acknowledged_at: datetime | None = None
    acknowledged_by: str | None = None
    silent: bool = False  # a silent noodknop: do not call the boa back
    escalation_level: int = 0  # 0: not escalated; 1, 2, ...: steps taken because nobody acknowledged
    escalated_at: datetime | None = None
    resolved_at: datetime | None = None  # a routine alert whose condition has been clear long enough


class TaskView(msgspec.Struct, frozen=True, kw_only=True):
    """One unit sent to an incident."""

    task_id: int
    incident_id: int
    unit_id: int
    call_sign: str
    state: TaskState
    assigned_at: datetime
    state_at: datetime


class IncidentView(msgspec.Struct, frozen=True, kw_only=True):
    """A melding as the operator sees it (open ones in the snapshot; changed ones in deltas)."""

    incident_id: int
    org_id: int
    category: str
    priority: int  # 1 (spoed) .. 3
    description: str
    lon: float
    lat: float
    address: str
    beat_id: int | None
    state: str  # open | closed
    created_at: datetime
    created_by: str = ""
    required_domain: int = 1
    tasks: list[TaskView] = []
    exercise: str = ""  # "exercise" / "test": a drill (shown as OEFENING / TEST, never in reports)
    # from the geocoder (PDOK Locatieserver), filled in after the melding is made; address_state None = not
    # yet, "found", "none" (no address near), "unreachable" (only the buurtcode), "off" (no geocoder set)
    address_text: str | None = None
    bag_id: str | None = None
    buurtcode: str | None = None
    address_state: str | None = None


class TimelineEntry(msgspec.Struct, frozen=True, kw_only=True):
    """One line in an incident's timeline."""

    event_id: int
    incident_id: int
    kind: str  # created, assigned, task_state, cancelled, closed
    text: str
    at: datetime
    task_id: int | None = None
    unit_id: int | None = None
    actor: str = ""


class MessageView(msgspec.Struct, frozen=True, kw_only=True):
    """A text message to a unit and whether its tablet has it."""

    message_id: int
    unit_id: int
    text: str
    sender: str
    sent_at: datetime
    delivered_at: datetime | None = None


class AlertCircle(msgspec.Struct, frozen=True, kw_only=True):
    lon: float
    lat: float
    radius_km: float


class AlertArea(msgspec.Struct, frozen=True, kw_only=True):
    """Where a partner's area alert applies: rings of (lon, lat) and circles."""

    polygons: list[list[tuple[float, float]]] = []
    circles: list[AlertCircle] = []


class AreaAlertView(msgspec.Struct, frozen=True, kw_only=True):
    """A partner's area alert (police CAP) as operators see it, with the units whose tablets got it."""

    alert_id: int
    source: str
    event: str = ""
    headline: str = ""
    description: str = ""
    severity: str = ""
    urgency: str = ""
    area_desc: str = ""
    sent_at: Timestamp | None = None
    expires_at: Timestamp | None = None
    unit_ids: list[int] = []
    area: AlertArea | None = None  # the shape, for the console's map (None from older servers)


class Snapshot(Message, frozen=True, tag="snapshot"):
    units: list[UnitView]
    alerts: list[AlertView]
    server_time: datetime
    protocol: int = PROTOCOL_VERSION
    incidents: list[IncidentView] = []  # open meldingen (console); older clients ignore it
    area_alerts: list[AreaAlertView] = []  # police alerts still in force (console); older clients ignore it


class Delta(Message, frozen=True, tag="delta"):
    """Everything that changed since the previous tick, at most one frame per operator per tick."""

    units: list[UnitView]
    alerts: list[AlertView] = []
    server_time: datetime | None = None
    incidents: list[IncidentView] = []  # meldingen that changed (state, tasks)
    timeline: list[TimelineEntry] = []  # new timeline lines
    messages: list[MessageView] = []  # messages sent or delivered
    area_alerts: list[AreaAlertView] = []  # partner alerts for an area (police CAP)


class AlertRaised(Message, frozen=True, tag="alert"):
    """A safety alert (noodknop, assistance), sent at once, outside the tick."""

    alert: AlertView


class AcknowledgeAlert(Message, frozen=True, tag="ack_alert"):
    """Operator -> server: I have seen this alert."""

    alert_id: Id64


OperatorFrame = Hello | AcknowledgeAlert | Ping
ServerFrame = (
    Welcome
    | Ack
    | Error
    | Pong
    | Snapshot
    | Delta
    | AlertRaised
    | TaskAssigned
    | TaskCancelled
    | TextMessage
    | AreaAlert
    | AlertAcknowledged
    | PartnerPositions
    | ColleagueAlarm
)

field_decoder = msgspec.json.Decoder(FieldFrame)
operator_decoder = msgspec.json.Decoder(OperatorFrame)
server_decoder = msgspec.json.Decoder(ServerFrame)
encoder = msgspec.json.Encoder()


def describe_decode_error(exc: msgspec.DecodeError) -> tuple[str, str | None]:
    """A human message and the field path (e.g. `$.lat`) from a msgspec error."""
    text = str(exc)
    field = None
    if f"matching regex {NO_NUL!r}" in text:  # msgspec names the regex; a person wants to read why
        text = text.replace(
            f"Expected `str` matching regex {NO_NUL!r}", "Text must not contain a NUL character"
        )
    if " - at `" in text:
        text, _, path = text.partition(" - at `")
        field = path.rstrip("`")
    return text, field
