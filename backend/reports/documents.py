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
from backend.reports.repository import OverviewRow


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


REVIEW_HEADER = (
    "id", "soort", "status", "versie", "regime", "tijdstip", "categorie", "feitcode", "omschrijving",
    "bedrag_eur", "minderjarig", "lon", "lat", "gebieden", "adres", "auteur", "boas", "eenheid", "naam",
    "geboortedatum", "id_soort", "id_nummer", "straat", "huisnummer", "postcode", "woonplaats", "land",
    "kenteken", "voertuigcategorie", "verklaring", "fotos", "compleet",
)  # fmt: skip


def review_csv(registrations: Sequence[Registration]) -> str:
    """The team lead's export; for fines, what a CJIB delivery needs (person, feit, amount, place, time)."""
    rows = []
    for r in registrations:
        d = r.details
        person = d.get("offender") if r.kind == "fine" else None
        address = (person or {}).get("address", {})
        entry, tariff = r.derived.get("entry", {}), r.derived.get("tariff", {})
        rows.append([
            r.id, r.kind, r.state, r.version, r.regime, r.occurred_at, r.category, r.feitcode,
            entry.get("description"), tariff.get("amount_eur"), tariff.get("minor"), r.lon, r.lat,
            " ".join(map(str, r.beat_ids)), d["location"].get("address"), r.author_id,
            " ".join(map(str, r.boa_ids)), r.unit_id, (person or {}).get("name"),
            _when((person or {}).get("birth_date")), (person or {}).get("id_document_type"),
            (person or {}).get("id_document_number"), address.get("street"),
            address.get("house_number"), address.get("postcode"), address.get("city"), address.get("country"),
            d.get("licence_plate"), d.get("vehicle_category"), d.get("statement") or d.get("text"),
            " ".join(r.photos), r.complete,
        ])  # fmt: skip
    return _csv(REVIEW_HEADER, rows)


GIR_HEADER = (
    "id", "datum", "tijd", "lon", "lat", "adres", "soort_agressie", "ernst", "impact", "omschrijving",
    "betrokken_medewerkers", "dader_bekend", "getuigen", "bewijs_fotos", "bodycam", "melding_aangifte",
    "tijdstip_melding", "aangifte_uiterlijk", "vpt_code", "nazorg", "status",
)  # fmt: skip


def gir_csv(incidents: Sequence[Registration]) -> str:
    """Aggression incidents for the gemeente's GIR: staff by role only, offender only as 'known or not'."""
    rows = []
    for r in incidents:
        d, local = r.details, r.occurred_at.astimezone(LOCAL)
        rows.append([
            r.id, local.date(), local.strftime("%H:%M"), r.lon, r.lat,
            d["location"].get("address"), " ".join(d["types"]), d["severity"], d.get("impact"),
            d.get("description"), "; ".join(s["role"] for s in d["staff"]),
            "ja" if d.get("offender") else "nee", len(d.get("witnesses", [])), len(r.photos),
            " ".join(d.get("bodycam_refs", [])), d.get("report"), _when(d.get("reported_at")),
            _when(r.derived.get("aangifte_deadline")), "ja" if d.get("vpt_code_used") else "nee",
            d.get("follow_up_care"), r.state,
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
