"""The printable receipt of a fine (the aankondiging a boa hands over): what ``templates/receipt.html`` shows.

The template escapes every value (autoescape), so what a boa or offender typed is text, never markup.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from backend.registrations.repository import Registration
from backend.registrations.validation import LOCAL


def _local(value: datetime) -> str:
    return value.astimezone(LOCAL).strftime("%d-%m-%Y %H:%M")


def _euro(amount: int | None) -> str:
    return "tarief volgt uit de beschikking" if amount is None else f"€ {amount},00"


TEMPLATE = "receipt.html"


def receipt_context(r: Registration, organisation: str) -> dict[str, Any]:
    """The "aankondiging van strafbeschikking" a boa hands over (or a receipt for a bestuurlijke boete)."""
    d, derived = r.details, r.derived
    offender = d["offender"]
    address = offender["address"]
    entry = derived.get("entry", {})
    tariff = derived.get("tariff", {})
    title = {
        "om_strafbeschikking": "Aankondiging van strafbeschikking",
        "bestuurlijke_boete": "Aankondiging van bestuurlijke boete",
        "mulder": "Aankondiging van beschikking (Wet Mulder)",
    }.get(entry.get("track", ""), "Aankondiging van sanctie")
    rows = [
        ("Kenmerk", str(r.id)), ("Datum en tijd", _local(r.occurred_at)),
        ("Plaats", d["location"].get("address") or f"{r.lat:.5f} N, {r.lon:.5f} O"),
        ("Feitcode", entry.get("code", r.feitcode or "")), ("Omschrijving", entry.get("description", "")),
        ("Bedrag", _euro(tariff.get("amount_eur")) + (" (minderjarige)" if tariff.get("minor") else "")),
        ("Naam", offender["name"]), ("Geboortedatum", offender["birth_date"]),
        ("Identiteitsbewijs", f"{offender['id_document_type']} {offender['id_document_number']}"),
        ("Adres", f"{address['street']} {address['house_number']}, {address.get('postcode', '')} "
                  f"{address['city']} ({address.get('country', 'NL')})"),
        ("Verklaring betrokkene", d.get("statement") or "geen verklaring afgelegd"),
    ]  # fmt: skip
    if d.get("licence_plate"):
        rows.insert(5, ("Kenteken", d["licence_plate"]))
    return {
        "title": title,
        "organisation": organisation,
        "state": r.state,
        "rows": [(label, str(value)) for label, value in rows],
        "version": r.version,
        "catalogue_version_id": str(derived.get("catalogue_version_id", "")),
    }
