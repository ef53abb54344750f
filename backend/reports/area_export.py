"""The area report as files: an Excel-friendly CSV and a PDF for the gemeenteraad (pure; no I/O).

The CSV opens correctly in Dutch Excel by double-click: UTF-8 with a BOM, semicolons, decimal commas, Dutch
column labels, names instead of ids and local times. The PDF (fpdf2) has a title page, the per-beat table, a
trend chart drawn as vector lines and the sources and definitions, set in the embedded DejaVu Sans
(``pdf_fonts``: the euro sign, diacritics and dashes print as typed).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from fpdf import FPDF

from backend.reports import excel_csv, pdf_fonts
from backend.reports.area import (
    OUTCOME_LABELS,
    OUTCOMES,
    PRIORITIES,
    AreaReport,
    BeatFigures,
    has_data,
    minutes,
)

MONTHS_NL = (
    "januari", "februari", "maart", "april", "mei", "juni", "juli", "augustus", "september", "oktober",
    "november", "december",
)  # fmt: skip

CATEGORY_LABELS = {
    "afval": "Afval", "overlast": "Overlast", "parkeren": "Parkeren", "jeugd": "Jeugd",
    "verward_gedrag": "Verward gedrag", "ondermijning": "Ondermijning", "honden": "Honden",
    "openbare_ruimte": "Openbare ruimte", "milieu": "Milieu", "overig": "Overig", "geluid": "Geluid",
    "drugs": "Drugs", "verkeer": "Verkeer", "agressie": "Agressie",
}  # fmt: skip

DEFINITIONS = (
    ("Meldingen", "meldingen die in de maand zijn aangemaakt, naar het gebied waarin de melding ligt."),
    (
        "Waarschuwingen en boetes",
        "actieve registraties: een waarschuwing is een waarneming met een feitcode; PV is een "
        "OM-strafbeschikking, BSB een bestuurlijke strafbeschikking, Mulder een WAHV-beschikking. "
        "Gegroepeerd naar de categorie van de feitcode in de catalogus.",
    ),
    ("Agressie-incidenten", "actieve registraties van agressie en geweld tegen boa's (GIR)."),
    (
        "Politie-assistenties",
        "assistentieverzoeken die een boa met de tablet deed, naar de plek van het verzoek.",
    ),
    (
        "Straaturen",
        "boa-uren in dienst op straat: elke positie van een eenheid tijdens een dienst telt tot de volgende "
        "positie (ten hoogste 5 minuten), maal het aantal boa's in de dienst, bij het gebied waarin de "
        "positie ligt.",
    ),
    (
        "Aanrijtijd",
        "van het aanmaken van de melding tot de eerste eenheid ter plaatse, per prioriteit; mediaan en "
        "90e percentiel (rangmethode), in minuten:seconden.",
    ),
    (
        "Gebieden",
        "een registratie op de grens van twee gebieden telt in beide, en één keer in het totaal. "
        "Alle tijden zijn Nederlandse tijd.",
    ),
)


def month_label(month: str) -> str:
    year, mon = month.split("-")
    return f"{MONTHS_NL[int(mon) - 1]} {year}"


def category_label(code: str) -> str:
    return CATEGORY_LABELS.get(code, code.replace("_", " ").capitalize())


def _num(value: float) -> str:
    """A decimal number as Dutch Excel reads it (decimal comma)."""
    return excel_csv.decimal(value, 1)


def _minutes_decimal(seconds: float | None) -> str:
    return "" if seconds is None else _num(seconds / 60)


def _safe(value: Any) -> Any:
    """No spreadsheet formulas from names (CSV injection; the writer guards every text as well)."""
    return excel_csv.safe(value) if isinstance(value, str) else value


def local_time(at: datetime) -> str:
    return excel_csv.local_time(at)


def categories_of(report: AreaReport) -> list[str]:
    return sorted(report.total.meldingen)


def area_csv(report: AreaReport) -> str:
    """Every figure of the month per beat and in total; then enforcement per feitcode group; the trend."""
    rows: list[Sequence[Any]] = []
    rows.append(["Rapportage per gebied", report.org_name, month_label(report.month)])
    rows.append(["Gemaakt op", local_time(report.generated_at)])
    rows.append([])
    categories = categories_of(report)
    header = ["Buurtcode", "Gebied", "Meldingen"] + [f"Meldingen {category_label(c)}" for c in categories]
    header += ["Waarschuwingen", "PV (OM)", "BSB", "Mulder", "Agressie-incidenten", "Politie-assistenties"]
    header += ["Straaturen boa's"]
    for p in PRIORITIES:
        header += [
            f"Aanrijtijd prio {p} mediaan (min)",
            f"Aanrijtijd prio {p} p90 (min)",
            f"Meldingen prio {p} ter plaatse",
        ]
    header += ["Meldingen met termijn (Signalen)", "Termijn overschreden"]
    rows.append(header)
    for f in [*report.beats, report.total]:
        row: list[Any] = [f.code, _safe(f.name), f.meldingen_total]
        row += [f.meldingen.get(c, 0) for c in categories]
        row += [f.warnings, f.pv, f.bsb, f.mulder, f.aggression, f.police_assists, _num(f.street_hours)]
        for p in PRIORITIES:
            r = f.response[str(p)]
            row += [_minutes_decimal(r.median_s), _minutes_decimal(r.p90_s), r.count]
        row += [f.sla_total, f.sla_breached]
        rows.append(row)
    rows.append([])
    rows.append(["Handhaving per feitcodegroep"])
    rows.append(["Buurtcode", "Gebied", "Feitcodegroep", *(OUTCOME_LABELS[o] for o in OUTCOMES)])
    for f in [*report.beats, report.total]:
        for group, outcomes in f.enforcement.items():
            rows.append(
                [f.code, _safe(f.name), category_label(group), *(outcomes.get(o, 0) for o in OUTCOMES)]
            )
    rows.append([])
    rows.append(["Trend (hele gemeente)"])
    rows.append([
        "Maand", "Meldingen", "Waarschuwingen", "Boetes", "Agressie-incidenten", "Politie-assistenties",
        "Straaturen boa's", "Aanrijtijd prio 1 mediaan (min)",
    ])  # fmt: skip
    for t in report.trend:
        rows.append([
            month_label(t.month), t.meldingen, t.warnings, t.fines, t.aggression, t.police_assists,
            _num(t.street_hours), _minutes_decimal(t.response_p1_median_s),
        ])  # fmt: skip
    return excel_csv.document(rows)


# --- PDF ----------------------------------------------------------------------------------------------------


class _Pdf(FPDF):
    def __init__(self, title: str) -> None:
        super().__init__(orientation="L", unit="mm", format="A4")
        self.title_text = title
        pdf_fonts.use(self)
        self.set_auto_page_break(auto=True, margin=14)
        self.set_margins(14, 14, 14)

    def footer(self) -> None:
        self.set_y(-10)
        self.set_font(pdf_fonts.SANS, size=8)
        self.set_text_color(110)
        self.cell(0, 5, f"{self.title_text} - pagina {self.page_no()}", align="C")


TABLE_COLUMNS = (
    ("Gebied", 62), ("Meldingen", 20), ("Waarsch.", 18), ("PV", 14), ("BSB", 14), ("Mulder", 15),
    ("Agressie", 17), ("Assist.", 16), ("Straaturen", 20), ("Prio 1 med.", 20), ("Prio 1 p90", 19),
    ("Prio 2 med.", 20), ("Prio 3 med.", 20),
)  # fmt: skip


def _table_row(f: BeatFigures) -> list[str]:
    name = f.name if len(f.name) <= 34 else f.name[:33] + "..."
    return [
        name, str(f.meldingen_total), str(f.warnings), str(f.pv), str(f.bsb), str(f.mulder),
        str(f.aggression), str(f.police_assists), f"{f.street_hours:.1f}".replace(".", ","),
        minutes(f.response["1"].median_s), minutes(f.response["1"].p90_s),
        minutes(f.response["2"].median_s), minutes(f.response["3"].median_s),
    ]  # fmt: skip


def _table(pdf: _Pdf, rows: Sequence[BeatFigures], total: BeatFigures) -> None:
    def head() -> None:
        pdf.set_font(pdf_fonts.SANS, "B", 7.5)  # DejaVu runs wider than Helvetica: the labels fit at 7.5
        pdf.set_fill_color(230, 235, 242)
        for label, width in TABLE_COLUMNS:
            pdf.cell(width, 7, label, border="B", fill=True, align="L" if label == "Gebied" else "R")
        pdf.ln()

    head()
    for i, f in enumerate([*rows, total]):
        if pdf.get_y() > pdf.h - 24:
            pdf.add_page()
            head()
        last = i == len(rows)
        pdf.set_font(pdf_fonts.SANS, "B" if last else "", 8.5)
        pdf.set_fill_color(246, 248, 251)
        for (label, width), value in zip(TABLE_COLUMNS, _table_row(f), strict=True):
            pdf.cell(width, 6, value, border="T" if last else 0, fill=i % 2 == 1,
                     align="L" if label == "Gebied" else "R")  # fmt: skip
        pdf.ln()


SERIES = (
    ("meldingen", "Meldingen", (11, 92, 173)),
    ("warnings", "Waarschuwingen", (31, 122, 58)),
    ("fines", "Boetes", (179, 92, 0)),
    ("aggression", "Agressie-incidenten", (176, 0, 32)),
)


def nice_top(value: float) -> float:
    """The axis maximum: the first of 1, 2, 2.5, 5, 10 times a power of ten at or above `value`."""
    power = 10.0 ** math.floor(math.log10(value))
    return float(next(m * power for m in (1, 2, 2.5, 5, 10) if m * power >= value))


def _trend_chart(pdf: _Pdf, report: AreaReport, x: float, y: float, w: float, h: float) -> None:
    """Lines for the main counts over twelve months, with axes, month labels and a legend."""
    points = report.trend
    top = nice_top(max([4] + [getattr(t, key) for t in points for key, _, _ in SERIES]))
    pdf.set_draw_color(180)
    pdf.set_line_width(0.2)
    pdf.set_font(pdf_fonts.SANS, size=7.5)
    pdf.set_text_color(90)
    for step in range(5):
        value = top * step / 4
        yy = y + h - h * step / 4
        pdf.line(x, yy, x + w, yy)
        pdf.text(x - 10, yy + 1, f"{value:.0f}")
    dx = w / max(len(points) - 1, 1)
    for i, t in enumerate(points):
        label = month_label(t.month)[:3] + " " + t.month[2:4]
        pdf.text(x + i * dx - 4, y + h + 5, label)
    pdf.set_line_width(0.7)
    for key, _label, colour in SERIES:
        pdf.set_draw_color(*colour)
        coords = [(x + i * dx, y + h - h * getattr(t, key) / top) for i, t in enumerate(points)]
        for a, b in zip(coords, coords[1:], strict=False):
            pdf.line(a[0], a[1], b[0], b[1])
        for cx, cy in coords:
            pdf.circle(cx, cy, 0.8, style="D")
    pdf.set_text_color(40)
    lx = x
    for _key, label, colour in SERIES:
        pdf.set_fill_color(*colour)
        pdf.rect(lx, y + h + 9, 4, 3, style="F")
        pdf.text(lx + 5.5, y + h + 11.5, label)
        lx += 42


def area_pdf(report: AreaReport) -> bytes:
    title = f"Rapportage per gebied - {report.org_name} - {month_label(report.month)}"
    pdf = _Pdf(title)
    pdf.set_title(title)
    pdf.set_author("Schakel")
    pdf.set_creator("Schakel")
    # title page
    pdf.add_page()
    pdf.set_font(pdf_fonts.SANS, "B", 26)
    pdf.ln(30)
    pdf.cell(0, 14, "Rapportage per gebied", new_x="LMARGIN", new_y="NEXT")
    pdf.set_font(pdf_fonts.SANS, size=16)
    pdf.cell(0, 10, f"{report.org_name} - {month_label(report.month)}", new_x="LMARGIN", new_y="NEXT")
    pdf.set_font(pdf_fonts.SANS, size=11)
    pdf.set_text_color(90)
    pdf.cell(0, 8, (f"Handhaving in de openbare ruimte, voor de gemeenteraad. Gemaakt op "
                           f"{local_time(report.generated_at)}."), new_x="LMARGIN", new_y="NEXT")  # fmt: skip
    pdf.set_text_color(0)
    pdf.ln(10)
    t = report.total
    if report.empty:
        pdf.set_font(pdf_fonts.SANS, "I", 13)
        pdf.cell(0, 10, "Geen gegevens voor deze maand.", new_x="LMARGIN", new_y="NEXT")
    summary = (
        ("Meldingen", str(t.meldingen_total)),
        ("Waarschuwingen", str(t.warnings)),
        ("Boetes (PV / BSB / Mulder)", f"{t.fines} ({t.pv} / {t.bsb} / {t.mulder})"),
        ("Agressie-incidenten", str(t.aggression)),
        ("Politie-assistenties", str(t.police_assists)),
        ("Straaturen boa's", f"{t.street_hours:.1f}".replace(".", ",")),
        *(
            (f"Aanrijtijd prio {p} (mediaan / p90)",
             f"{minutes(t.response[str(p)].median_s)} / {minutes(t.response[str(p)].p90_s)}"
             f" ({t.response[str(p)].count} meldingen)")
            for p in PRIORITIES
        ),
    )  # fmt: skip
    for label, value in summary:
        pdf.set_font(pdf_fonts.SANS, size=12)
        pdf.cell(90, 8, label)
        pdf.set_font(pdf_fonts.SANS, "B", 12)
        pdf.cell(0, 8, value, new_x="LMARGIN", new_y="NEXT")
    # per-beat table: the beats where something happened (the rest are all zero)
    pdf.add_page()
    pdf.set_font(pdf_fonts.SANS, "B", 15)
    pdf.cell(0, 10, "Per gebied", new_x="LMARGIN", new_y="NEXT")
    active = sorted((f for f in report.beats if has_data(f)), key=lambda f: (-f.meldingen_total, f.name))
    beat_count = sum(1 for f in report.beats if f.beat_id)
    pdf.set_font(pdf_fonts.SANS, size=9)
    pdf.set_text_color(90)
    note = f"{len(active)} van {beat_count} gebieden met gegevens, op meldingen; aanrijtijden in min:sec."
    pdf.cell(0, 6, note, new_x="LMARGIN", new_y="NEXT")
    pdf.set_text_color(0)
    _table(pdf, active, t)
    # enforcement per feitcode group
    if t.enforcement:
        pdf.ln(6)
        pdf.set_font(pdf_fonts.SANS, "B", 12)
        pdf.cell(
            0, 8, "Waarschuwingen en boetes per feitcodegroep (hele gemeente)", new_x="LMARGIN", new_y="NEXT"
        )
        pdf.set_font(pdf_fonts.SANS, "B", 9)
        for label, width in (("Feitcodegroep", 60), *((OUTCOME_LABELS[o], 30) for o in OUTCOMES)):
            pdf.cell(width, 6, label, border="B")
        pdf.ln()
        pdf.set_font(pdf_fonts.SANS, size=9)
        for group, outcomes in t.enforcement.items():
            pdf.cell(60, 6, category_label(group))
            for o in OUTCOMES:
                pdf.cell(30, 6, str(outcomes.get(o, 0)))
            pdf.ln()
    # trend
    pdf.add_page()
    pdf.set_font(pdf_fonts.SANS, "B", 15)
    pdf.cell(0, 10, "Trend over twaalf maanden (hele gemeente)", new_x="LMARGIN", new_y="NEXT")
    _trend_chart(pdf, report, x=30, y=34, w=240, h=110)
    # sources and definitions
    pdf.add_page()
    pdf.set_font(pdf_fonts.SANS, "B", 15)
    pdf.cell(0, 10, "Bronnen en definities", new_x="LMARGIN", new_y="NEXT")
    pdf.set_font(pdf_fonts.SANS, size=10)
    pdf.multi_cell(0, 6, (
        "Bron: Schakel, het registratie- en inzetsysteem van de handhaving (registraties van boa's, "
        "meldingen en opdrachten van de meldkamer, diensten en posities van de eenheden)."
    ), align="L", new_x="LMARGIN", new_y="NEXT")  # fmt: skip
    pdf.ln(2)
    for term, text in DEFINITIONS:
        pdf.set_font(pdf_fonts.SANS, "B", 10)
        pdf.cell(0, 6, term, new_x="LMARGIN", new_y="NEXT")
        pdf.set_font(pdf_fonts.SANS, size=10)
        pdf.multi_cell(0, 5.5, text, align="L", new_x="LMARGIN", new_y="NEXT")
        pdf.ln(1)
    return bytes(pdf.output())
