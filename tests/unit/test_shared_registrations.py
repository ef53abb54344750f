"""The registration Structs and decoder the backend and the tablet both check a submission with."""

from __future__ import annotations

import re
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import msgspec
import pytest

from mobile.api import registration_request
from shared.registrations import (
    AGGRESSION_TYPES,
    DEFAULT_CATEGORIES,
    ID_DOCUMENT_TYPES,
    KINDS,
    REPORTS,
    SEVERITIES,
    Aggression,
    FieldError,
    Fine,
    Waarneming,
    decode_submission,
)

MIGRATION = Path(__file__).parents[2] / "backend/db/migrations/0002_registrations.sql"
AT = datetime(2026, 11, 18, 11, 0, tzinfo=UTC)
OFFENDER: dict[str, Any] = {
    "name": "J. Jansen", "birth_date": "1990-02-28", "id_document_type": "rijbewijs",
    "id_document_number": "561234567",
    "address": {"street": "Dam", "house_number": "1a", "postcode": "1012 JS", "city": "Amsterdam"},
}  # fmt: skip
FIELDS: dict[str, dict[str, Any]] = {
    "waarneming": {"category": "afval", "text": "bankstel"},
    "fine": {"feitcode": "BF 185", "offender": OFFENDER, "statement": None},
    "aggression": {"types": ["verbaal"], "severity": "middel", "description": "", "staff": [{"role": "boa"}]},
}


def tablet_body(kind: str, **fields: Any) -> bytes:
    """A registration as the tablet builds it (mobile.api), with some fields replaced."""
    _, _, body = registration_request(
        registration_id=str(uuid.uuid4()), kind=kind, at=AT, lon=4.895, lat=52.375, accuracy_m=6.0,
        fields={**FIELDS[kind], **fields}, photos=[],
    )  # fmt: skip
    return body


@pytest.mark.parametrize(
    ("kind", "struct"), [("waarneming", Waarneming), ("fine", Fine), ("aggression", Aggression)]
)
def test_what_the_tablet_builds_decodes_as_its_kind(kind: str, struct: type) -> None:
    assert isinstance(decode_submission(tablet_body(kind)), struct)


def test_the_kinds_are_the_tags_of_the_union() -> None:
    assert KINDS == ("waarneming", "fine", "aggression")


@pytest.mark.parametrize(("values", "build"), [
    (AGGRESSION_TYPES, lambda v: tablet_body("aggression", types=[v])),
    (SEVERITIES, lambda v: tablet_body("aggression", severity=v)),
    (REPORTS, lambda v: tablet_body("aggression", report=v)),
    (ID_DOCUMENT_TYPES, lambda v: tablet_body("fine", offender={**OFFENDER, "id_document_type": v})),
])  # fmt: skip
def test_each_listed_value_is_accepted_and_another_is_refused(values: tuple[str, ...], build: Any) -> None:
    for value in values:
        decode_submission(build(value))
    with pytest.raises(FieldError):
        decode_submission(build("iets_anders"))


@pytest.mark.parametrize(("kind", "fields", "field"), [
    ("waarneming", {"category": ""}, "category"),
    ("fine", {"feitcode": ""}, "feitcode"),
    ("fine", {"offender": {**OFFENDER, "name": ""}}, "offender.name"),
    ("fine", {"offender": {**OFFENDER, "birth_date": None}}, "offender.birth_date"),
    ("fine", {"offender": {**OFFENDER, "id_document_number": "12"}}, "offender.id_document_number"),
    ("fine", {"offender": {**OFFENDER, "address": {**OFFENDER["address"], "house_number": "a1"}}},
     "offender.address.house_number"),
    ("fine", {"offender": {**OFFENDER, "address": {"street": "Dam", "house_number": "1"}}},
     "offender.address.city"),
    ("aggression", {"types": []}, "types"),
    ("aggression", {"witnesses": [{}, {"birth_date": "gisteren"}]}, "witnesses.1.birth_date"),
])  # fmt: skip
def test_a_refusal_names_the_dotted_field_and_speaks_dutch(
    kind: str, fields: dict[str, Any], field: str
) -> None:
    with pytest.raises(FieldError) as caught:
        decode_submission(tablet_body(kind, **fields))
    assert caught.value.field == field
    assert re.match(r"(verplicht|ongeldige|onbekend)", caught.value.message), caught.value.message


def test_the_default_categories_are_the_databases_global_ones() -> None:
    sql = MIGRATION.read_text(encoding="utf-8")
    assert tuple(re.findall(r"\(NULL, '([a-z_]+)'", sql)) == DEFAULT_CATEGORIES


def test_canonical_form_is_what_decodes_again() -> None:
    submission = decode_submission(tablet_body("fine"))
    assert decode_submission(msgspec.json.encode(submission)) == submission
