"""The printable receipt of a fine (the aankondiging a boa hands over). A pure function of the registration."""

from __future__ import annotations

from datetime import datetime
from html import escape

from backend.registrations.repository import Registration
from backend.registrations.validation import LOCAL


def _local(value: datetime) -> str:
    return value.astimezone(LOCAL).strftime("%d-%m-%Y %H:%M")


def _euro(amount: int | None) -> str:
    return "tarief volgt uit de beschikking" if amount is None else f"€ {amount},00"


def receipt_html(r: Registration, organisation: str) -> str:
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
    body = "\n".join(f"<tr><th>{escape(k)}</th><td>{escape(str(v))}</td></tr>" for k, v in rows)
    state = "" if r.state == "active" else f"<p class='void'>Deze registratie is {escape(r.state)}.</p>"
    return f"""<!doctype html>
<html lang="nl"><head><meta charset="utf-8"><title>{escape(title)}</title>
<style>body{{font-family:sans-serif;max-width:40em;margin:2em auto}}th{{text-align:left;padding-right:1em;
vertical-align:top}}.void{{color:#b00;font-weight:bold}}@media print{{body{{margin:0}}}}</style></head>
<body><h1>{escape(title)}</h1><p>{escape(organisation)} — handhaving</p>{state}
<table>{body}</table>
<p>U ontvangt de beschikking later per post. Bewaar dit bewijs. Tegen de beschikking kunt u bezwaar of
beroep instellen zoals daarin vermeld staat. Uw gegevens worden verwerkt volgens de Wet politiegegevens.</p>
<p>Versie {r.version}, catalogus {escape(str(derived.get("catalogue_version_id", "")))}</p>
</body></html>"""
