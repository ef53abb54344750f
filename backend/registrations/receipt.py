"""The receipt of a fine (the kennisgeving/aankondiging a boa hands over): one view, three forms.

:func:`receipt_view` decides what it says (pure): the title by the fine's track, the short kenmerk a citizen
can quote (``kenmerk.py``), the date, the place (the address when the registration has one, else the buurt,
else the coordinates), the offence in full, the amount (or plainly that the catalogue has none) and the
offender's details. ``templates/receipt.html`` prints it from a browser (autoescape: what a boa or offender
typed is text, never markup), :func:`receipt_pdf` makes a PDF (fpdf2, A5 portrait), and the tablet reads the
same view as JSON.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime
from typing import Any

import msgspec
from fpdf import FPDF

from backend.registrations.repository import Registration
from backend.registrations.validation import LOCAL
from backend.reports import pdf_fonts

TEMPLATE = "receipt.html"
NO_AMOUNT = "bedrag niet in de catalogus: u ontvangt het bedrag met de beschikking"
TITLES = {
    "om_strafbeschikking": "Aankondiging van strafbeschikking",
    "bestuurlijke_boete": "Aankondiging van bestuurlijke boete",
    "mulder": "Aankondiging van beschikking (Wet Mulder)",
}
FOOTER = (
    "U ontvangt de beschikking later per post. Bewaar dit bewijs en noem het kenmerk als u contact opneemt. "
    "Tegen de beschikking kunt u bezwaar of beroep instellen zoals daarin vermeld staat. Uw gegevens worden "
    "verwerkt volgens de Wet politiegegevens."
)


class ReceiptView(msgspec.Struct, frozen=True, kw_only=True):
    """What a receipt says, in Dutch, in order."""

    title: str
    organisation: str
    kenmerk: str
    occurred_at: str  # local time, dd-mm-jjjj uu:mm
    place: str
    feitcode: str
    offence: str
    amount: str
    has_amount: bool
    rows: list[tuple[str, str]]  # every line of the receipt, label and value
    voided: bool
    footer: str
    version: int
    catalogue_version_id: str
    registration_id: str


def _dutch_date(value: str) -> str:
    """A stored ISO date as a Dutch reader writes it (01-04-1990); anything else as it is."""
    try:
        return date.fromisoformat(value).strftime("%d-%m-%Y")
    except (TypeError, ValueError):
        return str(value)


def _local(value: datetime) -> str:
    return value.astimezone(LOCAL).strftime("%d-%m-%Y %H:%M")


def euro(amount: int) -> str:
    """Dutch notation: € 1.100,00."""
    return f"€ {amount:,}".replace(",", ".") + ",00"


def place_of(r: Registration, buurten: Sequence[str], looked_up: str | None = None) -> str:
    """The address when the registration has one (the boa's, else the geocoder's nearest address to its
    position), else the buurt it lies in, else the coordinates."""
    location = r.details.get("location", {})
    address = location.get("address") or r.details.get("address")
    if isinstance(address, dict):  # a structured address: its text
        address = address.get("text") or address.get("label")
    if address:
        return str(address)
    if looked_up:
        return looked_up
    coordinates = f"{r.lat:.5f} N, {r.lon:.5f} O"
    return f"buurt {', '.join(buurten)} ({coordinates})" if buurten else coordinates


def receipt_view(
    r: Registration,
    organisation: str,
    kenmerk: str,
    buurten: Sequence[str] = (),
    looked_up: str | None = None,
) -> ReceiptView:
    d, derived = r.details, r.derived
    offender = d["offender"]
    address = offender["address"]
    entry = derived.get("entry", {})
    tariff = derived.get("tariff", {})
    amount_eur = tariff.get("amount_eur")
    amount = NO_AMOUNT if amount_eur is None else euro(int(amount_eur))
    if amount_eur is not None and tariff.get("minor"):
        amount += " (minderjarige)"
    code = entry.get("code", r.feitcode or "")
    offence = entry.get("description", "")
    place = place_of(r, buurten, looked_up)
    occurred = _local(r.occurred_at)
    rows = [
        ("Kenmerk", kenmerk), ("Datum en tijd", occurred), ("Plaats", place), ("Feitcode", code),
        ("Overtreding", offence), ("Bedrag", amount), ("Naam", offender["name"]),
        ("Geboortedatum", _dutch_date(offender["birth_date"])),
        ("Identiteitsbewijs", f"{offender['id_document_type']} {offender['id_document_number']}"),
        ("Adres", f"{address['street']} {address['house_number']}, {address.get('postcode', '')} "
                  f"{address['city']} ({address.get('country', 'NL')})"),
        ("Verklaring betrokkene", d.get("statement") or "geen verklaring afgelegd"),
    ]  # fmt: skip
    if d.get("licence_plate"):
        rows.insert(4, ("Kenteken", d["licence_plate"]))
    return ReceiptView(
        title=TITLES.get(entry.get("track", ""), "Aankondiging van sanctie"),
        organisation=organisation,
        kenmerk=kenmerk,
        occurred_at=occurred,
        place=place,
        feitcode=code,
        offence=offence,
        amount=amount,
        has_amount=amount_eur is not None,
        rows=[(label, str(value)) for label, value in rows],
        voided=r.state != "active",
        footer=FOOTER,
        version=r.version,
        catalogue_version_id=str(derived.get("catalogue_version_id", "")),
        registration_id=str(r.id),
    )


def receipt_context(view: ReceiptView, state: str) -> dict[str, Any]:
    """What ``templates/receipt.html`` reads."""
    return {**msgspec.structs.asdict(view), "state": state}


# --- PDF ----------------------------------------------------------------------------------------------------


def receipt_pdf(view: ReceiptView) -> bytes:
    """The receipt as an A5 PDF: title, organisation, the kenmerk large, every line, the footer."""
    pdf = pdf_fonts.use(FPDF(orientation="P", unit="mm", format=(148, 210)))  # A5 (by size: the name warns)
    pdf.set_margins(12, 12, 12)
    pdf.set_auto_page_break(auto=True, margin=12)
    pdf.set_title(f"{view.title} {view.kenmerk}")
    pdf.set_author(view.organisation)
    pdf.set_creator("Schakel")
    pdf.add_page()
    pdf.set_font(pdf_fonts.SANS, "B", 15)
    pdf.multi_cell(0, 7, view.title, align="L", new_x="LMARGIN", new_y="NEXT")
    pdf.set_font(pdf_fonts.SANS, size=10)
    pdf.cell(0, 6, f"{view.organisation} – handhaving", new_x="LMARGIN", new_y="NEXT")
    if view.voided:
        pdf.set_text_color(176, 0, 0)
        pdf.set_font(pdf_fonts.SANS, "B", 11)
        pdf.cell(0, 7, "Deze registratie is vervallen.", new_x="LMARGIN", new_y="NEXT")
        pdf.set_text_color(0)
    pdf.ln(3)
    pdf.set_font(pdf_fonts.SANS, size=9)
    pdf.cell(0, 5, "Kenmerk (noem dit als u contact opneemt)", new_x="LMARGIN", new_y="NEXT")
    pdf.set_font(pdf_fonts.MONO, "B", 20)
    pdf.cell(0, 10, view.kenmerk, new_x="LMARGIN", new_y="NEXT")
    pdf.ln(2)
    label_w = 40  # "Identiteitsbewijs" in DejaVu Sans Bold 9.5 fits on one line
    for label, value in view.rows:
        if label == "Kenmerk":
            continue
        pdf.set_font(pdf_fonts.SANS, "B", 9.5)
        y = pdf.get_y()
        pdf.multi_cell(label_w, 5, label, align="L", new_x="RIGHT", new_y="NEXT")
        label_bottom = pdf.get_y()
        pdf.set_xy(pdf.l_margin + label_w, y)
        pdf.set_font(pdf_fonts.SANS, "B" if label == "Bedrag" else "", 9.5)
        pdf.multi_cell(0, 5, value, align="L", new_x="LMARGIN", new_y="NEXT")
        pdf.set_y(max(pdf.get_y(), label_bottom))  # a label on two lines pushes the next row down too
        pdf.ln(1)
    pdf.ln(3)
    pdf.set_font(pdf_fonts.SANS, size=8.5)
    pdf.multi_cell(0, 4.5, view.footer, align="L", new_x="LMARGIN", new_y="NEXT")
    pdf.ln(2)
    pdf.set_text_color(110)
    pdf.cell(0, 4, f"Versie {view.version}, catalogus {view.catalogue_version_id}, registratie "
                   f"{view.registration_id}", new_x="LMARGIN", new_y="NEXT")  # fmt: skip
    return bytes(pdf.output())
