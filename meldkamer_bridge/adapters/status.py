"""The JSON unit-status and AVL feed, and the per-partner mapping of statuses and priorities.

Schakel keeps a semantic UnitStatus; every partner has its own codes. The default table is the community
mapping of GMS statuses (DOMAIN.md, "Unit status"; unverified, so it is configuration, not code). Priorities:
Dutch prio 1 is the highest; a partner's scale is mapped to 1..3 and back.
AVL is coalesced: per interval only the latest position of each unit goes out.
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Annotated

import msgspec

from meldkamer_bridge.adapters.base import CodecError
from shared.protocol import UnitStatus

DutchPriority = Annotated[int, msgspec.Meta(ge=1, le=3)]

# The community mapping of GMS status codes (DOMAIN.md); labels as a partner's operators read them.
GMS_LABELS: dict[str, str] = {
    "0": "noodsignaal",
    "1": "eigen initiatief",
    "2": "aanvraag spraak",
    "3": "informatievraag",
    "4": "aanrijdend naar incident",
    "5": "ter plaatse",
    "6": "aanrijdend naar bestemming",
    "7": "binnenkort beschikbaar",
    "8": "beschikbaar (onderweg naar post)",
    "9": "op post",
    "10": "vertraagd inzetbaar",
    "11": "buiten dienst",
    "12": "binnenkort in dienst",
    "13": "aanvraag privégesprek",
    "14": "aanvraag spraak urgent",
    "15": "opdracht verstrekt",
    "16": "alarmering ontvangen",
}
GMS_STATUS_CODES: dict[UnitStatus, str] = {
    UnitStatus.EMERGENCY: "0",  # noodsignaal
    UnitStatus.BUSY: "1",  # eigen initiatief: busy with own work (a fine, an observation)
    UnitStatus.EN_ROUTE: "4",  # aanrijdend naar incident
    UnitStatus.ON_SCENE: "5",  # ter plaatse
    UnitStatus.AVAILABLE: "8",  # beschikbaar
    UnitStatus.BREAK: "10",  # vertraagd inzetbaar
    UnitStatus.OFF_DUTY: "11",  # buiten dienst
}


class PartnerMapping(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """How one partner spells statuses and priorities. Load from JSON to configure a partner."""

    status_codes: dict[UnitStatus, str] = msgspec.field(default_factory=lambda: dict(GMS_STATUS_CODES))
    status_labels: dict[str, str] = msgspec.field(default_factory=lambda: dict(GMS_LABELS))
    # partner priority (EIDO incidentPriorityInternalText or incidentCommonPriorityNumber) -> Dutch prio
    priorities_in: dict[str, DutchPriority] = msgspec.field(
        default_factory=lambda: {
            "1": 1,
            "2": 2,
            "3": 3,
            "P1": 1,
            "P2": 2,
            "P3": 3,
            "A1": 1,
            "A2": 2,
            "B": 3,
        }
    )
    priorities_out: dict[int, str] = msgspec.field(default_factory=lambda: {1: "1", 2: "2", 3: "3"})
    # an unknown partner priority is treated as this (and the raw value is kept): never silently "low"
    unknown_priority: DutchPriority = 1

    def status_code(self, status: UnitStatus) -> str:
        try:
            return self.status_codes[status]
        except KeyError:
            raise CodecError("status", f"no partner code configured for {status.value}") from None

    def status_of(self, code: str) -> UnitStatus | None:
        """The semantic status of a partner code (None when several or none map to it)."""
        found = [s for s, c in self.status_codes.items() if c == code]
        return found[0] if len(found) == 1 else None

    def priority_in(self, raw: str | int | None) -> int:
        if raw is None:
            return self.unknown_priority
        return self.priorities_in.get(str(raw).strip(), self.unknown_priority)

    def priority_out(self, prio: int) -> str:
        try:
            return self.priorities_out[prio]
        except KeyError:
            raise CodecError("priority", f"no partner priority configured for prio {prio}") from None


GMS_DEFAULT = PartnerMapping()


def load_mapping(path: Path) -> PartnerMapping:
    """A partner mapping from a JSON file; absent keys keep the GMS defaults."""
    try:
        return msgspec.json.decode(path.read_bytes(), type=PartnerMapping)
    except msgspec.DecodeError as exc:
        raise CodecError(str(path), str(exc)) from None


# --- the feed ---------------------------------------------------------------------------------------------


class UnitStatusReport(msgspec.Struct, frozen=True, kw_only=True, tag="unit_status", tag_field="type"):
    """One unit's status, in the partner's code and in Schakel's semantic value."""

    unit: str  # call sign
    organisation: str
    discipline: str = "handhaving"
    status: UnitStatus
    code: str
    label: str = ""
    since: datetime


class UnitEntry(msgspec.Struct, frozen=True, kw_only=True):
    unit: str
    organisation: str
    kind: str = "duo"


class UnitRoster(msgspec.Struct, frozen=True, kw_only=True, tag="unit_roster", tag_field="type"):
    """Registers the handhaving discipline and its units (call signs) with the partner; sent on (re)start."""

    discipline: str = "handhaving"
    units: list[UnitEntry]


class AvlPosition(msgspec.Struct, frozen=True, kw_only=True, omit_defaults=True):
    unit: str
    lon: float
    lat: float
    at: datetime
    accuracy_m: float | None = None
    speed_mps: float | None = None
    heading_deg: float | None = None


class AvlBatch(msgspec.Struct, frozen=True, kw_only=True, tag="avl", tag_field="type"):
    """The latest known position of each unit that moved during the interval."""

    positions: list[AvlPosition]


StatusFeedMessage = UnitStatusReport | UnitRoster | AvlBatch
_encoder = msgspec.json.Encoder()
_decoder = msgspec.json.Decoder(StatusFeedMessage)


def encode_status(
    status: UnitStatus,
    *,
    unit: str,
    organisation: str,
    since: datetime,
    mapping: PartnerMapping = GMS_DEFAULT,
) -> bytes:
    code = mapping.status_code(status)
    return _encoder.encode(
        UnitStatusReport(
            unit=unit,
            organisation=organisation,
            status=status,
            code=code,
            label=mapping.status_labels.get(code, ""),
            since=since,
        )
    )


def encode_feed(message: StatusFeedMessage) -> bytes:
    return _encoder.encode(message)


def decode_feed(data: bytes) -> StatusFeedMessage:
    try:
        message: StatusFeedMessage = _decoder.decode(data)
        return message
    except msgspec.DecodeError as exc:
        text = str(exc)
        field = text.partition(" - at `")[2].rstrip("`") or "status"
        raise CodecError(field, text) from None


class AvlCoalescer:
    """Keeps only the latest position per unit until the next drain. Pure: the caller owns the clock."""

    def __init__(self) -> None:
        self._latest: dict[str, AvlPosition] = {}
        self._sent: dict[str, datetime] = {}  # time of the last position that went out, per unit

    def offer(self, position: AvlPosition) -> None:
        """Keep `position` if it is the newest seen for its unit; a late (older) position never goes out."""
        newest = self._latest.get(position.unit)
        sent = self._sent.get(position.unit)
        if (newest is None or position.at >= newest.at) and (sent is None or position.at > sent):
            self._latest[position.unit] = position

    def __len__(self) -> int:
        return len(self._latest)

    def drain(self) -> AvlBatch | None:
        if not self._latest:
            return None
        batch = AvlBatch(positions=sorted(self._latest.values(), key=lambda p: p.unit))
        self._sent.update((p.unit, p.at) for p in batch.positions)
        self._latest = {}
        return batch
