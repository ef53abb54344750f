"""The RDW's Socrata rows read into a vehicle; a plate normalised and shown with its dashes."""

from __future__ import annotations

from datetime import date

import pytest

from backend.kenteken import logic
from shared.kenteken import display, normalise

ROW = {
    "kenteken": "G921GS",
    "merk": "TOYOTA",
    "handelsbenaming": "YARIS",
    "voertuigsoort": "Personenauto",
    "eerste_kleur": "GRIJS",
    "tweede_kleur": "Niet geregistreerd",
    "vervaldatum_apk": "20250801",
    "wam_verzekerd": "Nee",
    "openstaande_terugroepactie_indicator": "Nee",
}


def test_a_vehicle_from_its_row_and_its_recalls() -> None:
    recalls = [
        {"referentiecode_rdw": "R-1", "code_status": "O"},
        {"referentiecode_rdw": "R-0", "code_status": "P"},
    ]
    v = logic.vehicle([ROW], recalls)
    assert v is not None
    assert (v.merk, v.handelsbenaming, v.kleur) == ("TOYOTA", "YARIS", "GRIJS")
    assert v.apk_vervaldatum == date(2025, 8, 1) and v.wam_verzekerd is False
    assert v.open_terugroepactie and v.terugroepacties == ["R-1"]  # the repaired one is not open


def test_the_iso_apk_date_wins_and_missing_facts_stay_unknown() -> None:
    v = logic.vehicle([{"merk": "PIAGGIO", "vervaldatum_apk_dt": "2027-03-12T00:00:00.000"}], [])
    assert v is not None and v.apk_vervaldatum == date(2027, 3, 12)
    assert v.wam_verzekerd is None and not v.open_terugroepactie and v.kleur == ""
    assert logic.vehicle([], []) is None


@pytest.mark.parametrize(
    "bad", [{"vervaldatum_apk": "2025-08-01"}, {"merk": 12}, {"vervaldatum_apk_dt": "gisteren"}]
)
def test_values_not_in_the_rdws_format_are_malformed(bad: dict[str, object]) -> None:
    with pytest.raises(logic.MalformedAnswer):
        logic.vehicle([{**ROW, **bad}], [])
    with pytest.raises(logic.MalformedAnswer):
        logic.rows({"error": True})


@pytest.mark.parametrize(
    ("typed", "plate", "shown"),
    [
        ("12-abc-1", "12ABC1", "12-ABC-1"),
        ("ab 12 cd", "AB12CD", "AB-12-CD"),
        ("99XXXX", "99XXXX", "99-XX-XX"),
        ("G-921-GS", "G921GS", "G-921-GS"),
    ],
)
def test_plates_are_normalised_and_shown_with_dashes(typed: str, plate: str, shown: str) -> None:
    assert normalise(typed) == plate and display(plate) == shown


@pytest.mark.parametrize("typed", ["12-ABC", "1234567", "12-AB-C!", ""])
def test_what_is_no_dutch_plate_is_refused(typed: str) -> None:
    assert normalise(typed) is None
