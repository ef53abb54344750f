"""What a boa submits, as msgspec Structs with their constraints, and the decoder that reports field errors.

A submission is a tagged union on ``kind``: ``waarneming``, ``fine`` or ``aggression``. The client generates
``id`` (a UUID) once per registration, so a retry after a lost answer is recognisable. New fields get
defaults, so older tablets keep working.

The backend decodes what arrives with these decoders, and the tablet checks a registration with the very same
decoder before it queues it, so both accept and refuse the same things. Checks that need the database or the
clock of the server (the gemeente's catalogue and categories, the time window) stay in the backend.
"""

from __future__ import annotations

import re
import uuid
from datetime import date, datetime
from typing import Annotated, Any, Literal, get_args

import msgspec

from shared.feitcodes import Code

Sha256 = Annotated[str, msgspec.Meta(pattern=r"^[0-9a-f]{64}$")]
Longitude = Annotated[float, msgspec.Meta(ge=-180, le=180)]
Latitude = Annotated[float, msgspec.Meta(ge=-90, le=90)]
ShortText = Annotated[str, msgspec.Meta(min_length=1, max_length=200)]
LongText = Annotated[str, msgspec.Meta(max_length=4000)]
Reason = Annotated[str, msgspec.Meta(min_length=3, max_length=1000)]
Id = Annotated[int, msgspec.Meta(ge=1, le=2**31 - 1)]  # a database serial
AccountIds = Annotated[list[Id], msgspec.Meta(max_length=10)]
Regime = Literal["avg", "wpg8", "wpg9"]
AggressionType = Literal["verbaal", "bedreiging", "fysiek", "discriminatie", "vernieling"]
IdDocumentType = Literal["paspoort", "identiteitskaart", "rijbewijs", "verblijfsdocument", "overig"]
Severity = Literal["licht", "middel", "ernstig"]
Report = Literal["geen", "melding", "aangifte"]

# the value lists, for pickers: the same Literals the decoder checks
AGGRESSION_TYPES: tuple[str, ...] = get_args(AggressionType)
ID_DOCUMENT_TYPES: tuple[str, ...] = get_args(IdDocumentType)
SEVERITIES: tuple[str, ...] = get_args(Severity)
REPORTS: tuple[str, ...] = get_args(Report)
DEFAULT_CATEGORIES: tuple[str, ...] = (
    "afval", "overlast", "parkeren", "jeugd", "verward_gedrag", "ondermijning", "honden", "openbare_ruimte",
    "overig",
)  # fmt: skip
"""The waarneming categories every gemeente has (the database's global rows; a gemeente adds its own)."""


class Location(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    lon: Longitude
    lat: Latitude
    accuracy_m: Annotated[float, msgspec.Meta(ge=0, le=10_000)] | None = None
    address: Annotated[str, msgspec.Meta(max_length=300)] | None = None


class Address(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    street: ShortText
    house_number: Annotated[str, msgspec.Meta(pattern=r"^[0-9]{1,5}( ?[A-Za-z0-9\-]{1,6})?$")]
    postcode: Annotated[str, msgspec.Meta(max_length=10)] = ""
    city: ShortText
    country: Annotated[str, msgspec.Meta(pattern=r"^[A-Z]{2}$")] = "NL"


class Offender(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """Identification of the person fined: the data the aankondiging and the CJIB delivery need."""

    name: ShortText
    birth_date: date
    id_document_type: IdDocumentType
    id_document_number: Annotated[str, msgspec.Meta(pattern=r"^[A-Z0-9]{6,20}$")]
    address: Address


class PersonLite(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """An aggression incident's offender or witness: everything optional (only under conditions)."""

    name: Annotated[str, msgspec.Meta(max_length=200)] | None = None
    birth_date: date | None = None
    description: Annotated[str, msgspec.Meta(max_length=1000)] | None = None
    contact: Annotated[str, msgspec.Meta(max_length=200)] | None = None


class StaffInvolved(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """Staff by role only — never a home address (the employer's address is the domicile)."""

    role: ShortText
    account_id: Id | None = None


class Base(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True, tag_field="kind"):
    id: uuid.UUID
    occurred_at: datetime
    location: Location
    photos: Annotated[list[Sha256], msgspec.Meta(max_length=20)] = []
    boa_ids: AccountIds = []  # colleagues involved besides the author
    unit_id: Id | None = None
    incident_ref: Annotated[str, msgspec.Meta(max_length=64)] | None = None
    regime: Regime | None = None  # default per kind, see validation.default_regime
    purpose: Annotated[str, msgspec.Meta(max_length=1000)] | None = None  # Wpg art. 9


class Waarneming(Base, frozen=True, kw_only=True, tag="waarneming"):
    category: Annotated[str, msgspec.Meta(pattern=r"^[a-z_]{1,40}$")]
    text: LongText = ""
    # a warning given instead of a fine, for this offence (the area report counts warnings against fines)
    warning_feitcode: Code | None = None


class Fine(Base, frozen=True, kw_only=True, tag="fine"):
    feitcode: Code
    offender: Offender
    statement: LongText | None = None  # the offender's own words
    vehicle_category: Annotated[str, msgspec.Meta(pattern=r"^[1-8]$")] | None = None  # Mulder
    licence_plate: Annotated[str, msgspec.Meta(pattern=r"^[A-Z0-9\-]{1,10}$")] | None = None


class Aggression(Base, frozen=True, kw_only=True, tag="aggression"):
    types: Annotated[list[AggressionType], msgspec.Meta(min_length=1, max_length=5)]
    severity: Severity
    impact: LongText = ""
    description: LongText = ""
    staff: Annotated[list[StaffInvolved], msgspec.Meta(min_length=1, max_length=10)]
    offender: PersonLite | None = None
    witnesses: Annotated[list[PersonLite], msgspec.Meta(max_length=10)] = []
    bodycam_refs: Annotated[list[ShortText], msgspec.Meta(max_length=10)] = []
    report: Report = "geen"
    reported_at: datetime | None = None
    vpt_code_used: bool = False  # the police report carries the VPT code (Veilige Publieke Taak)
    follow_up_care: LongText = ""


Submission = Waarneming | Fine | Aggression
KINDS: tuple[str, ...] = tuple(str(kind.__struct_config__.tag) for kind in (Waarneming, Fine, Aggression))


class Correction(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    reason: Reason
    registration: Submission


class Void(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    reason: Reason


class FieldError(ValueError):
    """Bad input with the dotted path of the field (``offender.birth_date``) and a Dutch message.

    The backend answers it with a 400 naming the field (``backend.errors``); the tablet shows it.
    """

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field
        self.message = message


_submission: msgspec.json.Decoder[Submission] = msgspec.json.Decoder(Submission)
_correction = msgspec.json.Decoder(Correction)
_void = msgspec.json.Decoder(Void)
_PATH = re.compile(r" - at `\$((?:\.\w+|\[\d+\])*)`$")


def _field(path: str) -> str:
    return re.sub(r"\[(\d+)\]", r".\1", path).lstrip(".") or "body"


def _dutch(message: str) -> str:
    """msgspec's messages with a Dutch lead, so a boa sees what is wrong where."""
    missing = re.match(r"Object missing required field `(\w+)`", message)
    if missing:
        return f"verplicht veld ontbreekt ({missing.group(1)})"
    if message.startswith("Object contains unknown field"):
        return "onbekend veld: " + message.split("`")[1]
    if message.startswith("Expected `"):
        return "ongeldige waarde: " + message
    if message.startswith("Invalid enum value"):
        return "ongeldige keuze: " + message
    return "ongeldige waarde: " + message


def decode(decoder: msgspec.json.Decoder[Any], raw: bytes) -> Any:
    """Decode and validate; every failure is a FieldError naming the field (``body`` for the document)."""
    try:
        decoded = decoder.decode(raw)
        if b"\\u0000" in msgspec.json.encode(decoded):  # PostgreSQL text and jsonb cannot hold NUL
            raise FieldError("body", "tekst bevat een ongeldig teken (NUL)")
        return decoded
    except msgspec.ValidationError as exc:
        text = str(exc)
        match = _PATH.search(text)
        path = match.group(1) if match else ""
        message = _PATH.sub("", text)
        missing = re.match(r"Object missing required field `(\w+)`", message)
        if missing:
            path = f"{path}.{missing.group(1)}"
        elif message.startswith("Object contains unknown field"):
            path = f"{path}.{message.split('`')[1]}"
        elif "tag" in message and "kind" in message or message.startswith("Invalid value") and path == "":
            path = path or ".kind"
        raise FieldError(_field(path), _dutch(message)) from None
    except (msgspec.DecodeError, RecursionError) as exc:
        raise FieldError("body", f"geen geldige JSON: {exc}") from None


def decode_submission(raw: bytes) -> Submission:
    return decode(_submission, raw)  # type: ignore[no-any-return]


def decode_correction(raw: bytes) -> Correction:
    return decode(_correction, raw)  # type: ignore[no-any-return]


def decode_void(raw: bytes) -> Void:
    return decode(_void, raw)  # type: ignore[no-any-return]


def canonical(submission: Submission) -> dict[str, object]:
    """The submission as plain JSON values: what is stored and compared on a retry."""
    return msgspec.to_builtins(submission)  # type: ignore[no-any-return]
