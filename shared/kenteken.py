"""The kenteken check's answer, shared by the backend (`GET /api/kenteken/{kenteken}`) and the tablet.

The data comes from the RDW's open data (Socrata API, dataset "Gekentekende voertuigen" m9d7-ebf2 and
"Terugroep_actie_status" t49b-isb7): vehicle facts only, never who owns the vehicle.
"""

from __future__ import annotations

import re
from datetime import date, datetime

import msgspec

NO_OWNER_DATA = "geen eigenaarsgegevens (RDW open data)"
PLATE = re.compile(r"^[A-Z0-9]{6}$")  # a Dutch kenteken: six letters and digits once the dashes are gone


class Vehicle(msgspec.Struct, frozen=True, kw_only=True):
    merk: str = ""
    handelsbenaming: str = ""  # the model
    voertuigsoort: str = ""
    kleur: str = ""  # eerste_kleur, with the tweede_kleur after a slash when there is one
    apk_vervaldatum: date | None = None
    wam_verzekerd: bool | None = None  # None: the RDW does not say
    open_terugroepactie: bool = False
    terugroepacties: list[str] = []  # referentiecode_rdw of the open recalls


class KentekenAnswer(msgspec.Struct, frozen=True, kw_only=True):
    kenteken: str  # normalised: upper case, no dashes
    found: bool
    vehicle: Vehicle | None = None
    source: str = "rdw"  # rdw: asked now; cache: the last answer we had (the RDW could not be asked)
    fetched_at: datetime | None = None  # when the RDW gave this answer
    message: str = ""  # why the answer is from the cache (the RDW trouble), in Dutch
    notice: str = NO_OWNER_DATA


def normalise(text: str) -> str | None:
    """The kenteken without spaces and dashes, upper case; None when it is no Dutch kenteken."""
    plate = re.sub(r"[\s\-]", "", text).upper()
    return plate if PLATE.match(plate) else None


def display(plate: str) -> str:
    """The kenteken with dashes between its groups (12ABC1 -> 12-ABC-1, AB12CD -> AB-12-CD)."""
    groups = re.findall(r"[A-Z]+|[0-9]+", plate)
    if len(groups) == 2:  # 99XXXX reads 99-XX-XX: split the group of four
        long = max(groups, key=len)
        i = groups.index(long)
        groups[i : i + 1] = [long[:2], long[2:]]
    return "-".join(groups)
