"""What the RDW open data (Socrata JSON) says about a vehicle, read into `shared.kenteken.Vehicle` (pure).

Datasets (opendata.rdw.nl, Socrata Open Data API, `GET /resource/<id>.json?kenteken=<KENTEKEN>`):
* m9d7-ebf2 "Open Data RDW: Gekentekende_voertuigen": `merk`, `handelsbenaming`, `voertuigsoort`,
  `eerste_kleur`, `tweede_kleur` ("Niet geregistreerd" when none), `vervaldatum_apk` (YYYYMMDD) or
  `vervaldatum_apk_dt` (ISO floating timestamp), `wam_verzekerd` ("Ja"/"Nee"),
  `openstaande_terugroepactie_indicator` ("Ja"/"Nee"). Every value is a string; absent fields are left out.
* t49b-isb7 "Open Data RDW: Terugroep_actie_status": one row per recall of the vehicle, `referentiecode_rdw`,
  `code_status` ("O" = openstaand; others, e.g. "P" producent heeft herstel gemeld, are not open) and
  `status`.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from shared.kenteken import Vehicle

NOT_REGISTERED = "Niet geregistreerd"


class MalformedAnswer(ValueError):
    """The RDW answered something that is not the Socrata shape we read."""


def _text(row: dict[str, Any], key: str) -> str:
    value = row.get(key, "")
    if not isinstance(value, str):
        raise MalformedAnswer(f"{key} is not a text")
    return value.strip()


def _yes_no(row: dict[str, Any], key: str) -> bool | None:
    value = _text(row, key).lower()
    return {"ja": True, "nee": False}.get(value)


def _apk(row: dict[str, Any]) -> date | None:
    iso = _text(row, "vervaldatum_apk_dt")
    if iso:
        try:
            return datetime.fromisoformat(iso).date()
        except ValueError:
            raise MalformedAnswer("vervaldatum_apk_dt is not a date") from None
    plain = _text(row, "vervaldatum_apk")
    if plain:
        try:
            return datetime.strptime(plain, "%Y%m%d").date()
        except ValueError:
            raise MalformedAnswer("vervaldatum_apk is not a date (YYYYMMDD)") from None
    return None


def rows(body: Any) -> list[dict[str, Any]]:
    """A Socrata answer is a JSON array of objects."""
    if not isinstance(body, list) or not all(isinstance(r, dict) for r in body):
        raise MalformedAnswer("the answer is not a list of records")
    return body


def vehicle(vehicles: list[dict[str, Any]], recalls: list[dict[str, Any]]) -> Vehicle | None:
    """The vehicle from its m9d7-ebf2 row and its t49b-isb7 rows; None when the RDW has no such kenteken."""
    if not vehicles:
        return None
    row = vehicles[0]
    colours = [
        c for c in (_text(row, "eerste_kleur"), _text(row, "tweede_kleur")) if c and c != NOT_REGISTERED
    ]
    open_codes = sorted(
        {_text(r, "referentiecode_rdw") for r in recalls if _text(r, "code_status").upper() == "O"} - {""}
    )
    indicator = _yes_no(row, "openstaande_terugroepactie_indicator")
    return Vehicle(
        merk=_text(row, "merk"),
        handelsbenaming=_text(row, "handelsbenaming"),
        voertuigsoort=_text(row, "voertuigsoort"),
        kleur=" / ".join(colours),
        apk_vervaldatum=_apk(row),
        wam_verzekerd=_yes_no(row, "wam_verzekerd"),
        open_terugroepactie=bool(open_codes) or indicator is True,
        terugroepacties=open_codes,
    )
