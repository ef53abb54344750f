"""What leaves Schakel as a report: CSV exports (review/CJIB, GIR) and the monthly overview's content.

Pure functions; the overview page itself is ``templates/overview.html`` (autoescaped).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from backend.registrations.repository import Registration
from backend.registrations.validation import LOCAL
from backend.reports import excel_csv
from backend.reports.repository import ExportNames, OverviewRow


def _when(value: Any) -> Any:
    """A stored ISO date or time as a date or a datetime (so the CSV writes it in local time); else as is."""
    if not isinstance(value, str):
        return value
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        return value
    if len(value) == 10:
        return parsed.date()
    return parsed if parsed.tzinfo is not None else value


def _csv(header: Sequence[str], rows: Sequence[Sequence[Any]]) -> str:
    """Semicolons, a BOM, decimal commas and local times: what Dutch Excel opens (``excel_csv``)."""
    return excel_csv.document([header, *rows])


ZONE = "Europe/Amsterdam"  # every time in these files is local time; the column label says so
KINDS = {"waarneming": "waarneming", "fine": "boete", "aggression": "agressie-incident"}
STATES = {"active": "actief", "voided": "ingetrokken", "archived": "gearchiveerd"}
REGIMES = {"avg": "AVG", "wpg8": "Wpg art. 8", "wpg9": "Wpg art. 9"}

# Dutch column labels a gemeente reads in Excel. Registratie-id stays (the one handle back to the record, it
# has no name); every other id is written as its name: boa's by name, the unit by call sign, beats by name.
REVIEW_HEADER = (
    "Registratie-id", "Kenmerk", "Soort", "Status", "Versie", "Grondslag", f"Datum en tijd ({ZONE})",
    "Gemeente", "Categorie", "Feitcode", "Omschrijving feit", "Bedrag (€)", "Minderjarigentarief",
    "Adres", "BAG-id", "Buurtcode", "Gebied", "Breedtegraad", "Lengtegraad", "Opgesteld door", "Boa's",
    "Eenheid", "Naam betrokkene", "Geboortedatum", "Soort identiteitsbewijs", "Nummer identiteitsbewijs",
    "Straat", "Huisnummer", "Postcode", "Woonplaats", "Land", "Kenteken", "Voertuigcategorie",
    "Verklaring / tekst", "Aantal foto's", "Foto's compleet",
)  # fmt: skip


def _names(ids: Sequence[int], names: dict[int, str]) -> str:
    """Names for ids, comma-separated; an id without a name (a deleted account) as '#id'."""
    return ", ".join(names.get(i, f"#{i}") for i in ids)


def _address(r: Registration, names: ExportNames) -> tuple[Any, Any, Any]:
    looked_up, bag_id, buurtcode = names.addresses.get(str(r.id), (None, None, None))
    typed = r.details.get("location", {}).get("address")
    return typed or looked_up, bag_id, buurtcode


def review_csv(registrations: Sequence[Registration], names: ExportNames) -> str:
    """The team lead's export; for fines, what a CJIB delivery needs (person, feit, amount, place, time)."""
    rows = []
    for r in registrations:
        d = r.details
        person = d.get("offender") if r.kind == "fine" else None
        address = (person or {}).get("address", {})
        entry, tariff = r.derived.get("entry", {}), r.derived.get("tariff", {})
        rows.append([
            r.id, names.kenmerken.get(str(r.id)), KINDS.get(r.kind, r.kind), STATES.get(r.state, r.state),
            r.version, REGIMES.get(r.regime, r.regime), r.occurred_at, names.org_name, r.category, r.feitcode,
            entry.get("description"), tariff.get("amount_eur"), tariff.get("minor"), *_address(r, names),
            _names(r.beat_ids, names.beats), r.lat, r.lon, names.accounts.get(r.author_id, f"#{r.author_id}"),
            _names(r.boa_ids, names.accounts),
            None if r.unit_id is None else names.units.get(r.unit_id, f"#{r.unit_id}"),
            (person or {}).get("name"), _when((person or {}).get("birth_date")),
            (person or {}).get("id_document_type"), (person or {}).get("id_document_number"),
            address.get("street"), address.get("house_number"), address.get("postcode"), address.get("city"),
            address.get("country"), d.get("licence_plate"), d.get("vehicle_category"),
            d.get("statement") or d.get("text"), len(r.photos), r.complete,
        ])  # fmt: skip
    return _csv(REVIEW_HEADER, rows)


# The GIR has no fixed import layout (docs/reports.md): these are Dutch labels in the order of the GIR's
# registration form. Staff by role only and the offender as known or not (DOMAIN: never a boa's name here).
GIR_HEADER = (
    "Registratie-id", "Gemeente", f"Datum ({ZONE})", f"Tijd ({ZONE})", "Adres", "BAG-id", "Buurtcode",
    "Gebied", "Breedtegraad", "Lengtegraad", "Soort agressie", "Ernst", "Impact", "Omschrijving",
    "Betrokken medewerkers (functie)", "Dader bekend", "Aantal getuigen", "Aantal foto's", "Bodycam",
    "Melding of aangifte", f"Gemeld op ({ZONE})", f"Aangifte uiterlijk ({ZONE})", "VPT-code gebruikt",
    "Nazorg", "Status",
)  # fmt: skip


def gir_csv(incidents: Sequence[Registration], names: ExportNames) -> str:
    """Aggression incidents for the gemeente's GIR: staff by role only, offender only as 'known or not'."""
    rows = []
    for r in incidents:
        d, local = r.details, r.occurred_at.astimezone(LOCAL)
        rows.append([
            r.id, names.org_name, local.date(), local.strftime("%H:%M"), *_address(r, names),
            _names(r.beat_ids, names.beats), r.lat, r.lon, " ".join(d["types"]), d["severity"],
            d.get("impact"), d.get("description"), ", ".join(s["role"] for s in d["staff"]),
            "ja" if d.get("offender") else "nee", len(d.get("witnesses", [])), len(r.photos),
            ", ".join(d.get("bodycam_refs", [])), d.get("report"),
            _when(d.get("reported_at")), _when(r.derived.get("aangifte_deadline")),
            "ja" if d.get("vpt_code_used") else "nee", d.get("follow_up_care"), STATES.get(r.state, r.state),
        ])  # fmt: skip
    return _csv(GIR_HEADER, rows)


OVERVIEW_TEMPLATE = "overview.html"


def overview_context(month: str, rows: Sequence[OverviewRow]) -> dict[str, Any]:
    """Counts per beat and category for ``templates/overview.html``: a table and an inline SVG bar chart."""
    totals: dict[str, int] = {}
    for row in rows:
        totals[row.beat_name] = totals.get(row.beat_name, 0) + row.count
    top = max(totals.values(), default=1)
    bar_h, width = 22, 420
    bars = [
        {"name": name, "total": total, "y": index * (bar_h + 6), "w": max(1, round(width * total / top))}
        for index, (name, total) in enumerate(sorted(totals.items(), key=lambda kv: -kv[1]))
    ]
    height = max(1, len(totals)) * (bar_h + 6)
    return {"month": month, "rows": rows, "bars": bars, "bar_h": bar_h, "width": width, "height": height}
