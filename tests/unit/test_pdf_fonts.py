"""Every PDF Schakel draws prints the euro sign and Dutch diacritics as typed (embedded DejaVu Sans), read
back the way a viewer's copy-paste or a search reads them: by extracting the PDF's text."""

from __future__ import annotations

import io
from datetime import UTC, date, datetime

from pypdf import PdfReader

from backend.registrations.receipt import ReceiptView, receipt_pdf
from backend.reports import area, area_export
from backend.reports.area import Counts
from backend.rooster.export import PlanExport, PlanRow, plan_pdf


def text_of(data: bytes) -> str:
    reader = PdfReader(io.BytesIO(data))
    fonts = {
        str(font["/BaseFont"])
        for page in reader.pages
        for font in page["/Resources"]["/Font"].values()  # type: ignore[union-attr]
    }
    assert fonts and all("DejaVu" in f for f in fonts), fonts  # embedded TTF, no core Helvetica/Courier
    return "\n".join(page.extract_text() for page in reader.pages)


def test_the_receipt_prints_the_euro_sign_and_diacritics() -> None:
    view = ReceiptView(
        title="Aankondiging van bestuurlijke boete", organisation="Gemeente Súdwest-Fryslân",
        kenmerk="26-K7M3-Q9XA", occurred_at="01-12-2026 14:05", place="Café België, Oudekerksplein 1",
        feitcode="F 121a", offence="Urineren op de openbare weg – ‘wildplassen’", amount="€ 110,00",
        has_amount=True,
        rows=[("Plaats", "Café België, Oudekerksplein 1"),
              ("Feit", "Urineren op de openbare weg – ‘wildplassen’"),
              ("Bedrag", "€ 110,00"), ("Naam", "Noël Çelik")],
        voided=False, footer="Betaal binnen zes weken.", version=1, catalogue_version_id="2026-01",
        registration_id="0b3f…",
    )  # fmt: skip
    text = text_of(receipt_pdf(view))
    assert "€ 110,00" in text and "EUR" not in text
    assert "Café België" in text and "Noël Çelik" in text and "Súdwest-Fryslân" in text
    assert "– ‘wildplassen’" in text and "26-K7M3-Q9XA" in text


def test_the_area_report_prints_diacritics() -> None:
    counts = Counts(meldingen={"Afval": 3}, aggression=1, street_s=3600.0)
    beat = area.figures(7, "A00a", "Café België – Oost", counts)
    total = area.figures(None, "", "Totaal", counts)
    report = area.AreaReport(
        month="2026-11", org_name="Gemeente Súdwest-Fryslân", generated_at=datetime(2026, 12, 1, tzinfo=UTC),
        empty=False, beats=[beat], total=total,
        trend=[area.trend_point(m, total) for m in area.trend_months("2026-11")],
    )  # fmt: skip
    text = text_of(area_export.area_pdf(report))
    assert "Gemeente Súdwest-Fryslân" in text and "Café België – Oost" in text


def test_the_rooster_prints_diacritics() -> None:
    row = PlanRow(
        plan_id=7, staff_id=1, staff_name="Noël Çelik", day=date(2026, 3, 2), shift_code="laat",
        shift_name="Laat", start_minute=900, duration_minutes=480, beat_code="BU1", beat_name="Café-buurt",
        duo=0,
    )  # fmt: skip
    plan = PlanExport(
        org_name="Gemeente Súdwest-Fryslân", plan_id=7, plan_name="Voorjaar", start=date(2026, 3, 2), days=28,
        version=2, published_at=datetime(2026, 3, 1, 9, tzinfo=UTC), rows=[row], boas=[(1, "Noël Çelik")],
    )  # fmt: skip
    text = text_of(plan_pdf(plan))
    assert "Noël Çelik" in text and "Súdwest-Fryslân" in text
