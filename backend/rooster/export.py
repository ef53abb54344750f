"""The published rooster as files: an Excel-friendly CSV, a PDF grid per boa and an iCalendar feed per boa.

Pure functions over plan rows (no I/O; backend/rooster/export_routes.py reads the published tables). Times are
local (Europe/Amsterdam) wall-clock, the way the rooster is planned: a shift is a day plus a shift type's
start minute and duration, and may run past midnight. The CSV opens in Dutch Excel by double-click (UTF-8 with
a BOM, semicolons, Dutch headers, names instead of ids); the PDF (fpdf2, DejaVu Sans) has one page per
four weeks per block of boa's; the iCalendar feed gives each assignment a UID that stays the same across
versions (plan, boa, day: one shift per boa per day), so a calendar app updates a changed shift instead of
adding a second one, and a SEQUENCE that grows with the published version.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import msgspec
from fpdf import FPDF
from icalendar import Calendar, Event

from backend.reports import excel_csv, pdf_fonts
from backend.rooster.rules import MONTHS_NL_SHORT, period_label

LOCAL = ZoneInfo("Europe/Amsterdam")
WEEKDAYS_NL = ("ma", "di", "wo", "do", "vr", "za", "zo")
UID_DOMAIN = "rooster.schakel"


class PlanRow(msgspec.Struct, frozen=True, kw_only=True):
    """One published assignment, with the names a reader needs."""

    plan_id: int
    staff_id: int
    staff_name: str
    day: date
    shift_code: str
    shift_name: str
    start_minute: int
    duration_minutes: int
    beat_code: str
    beat_name: str
    duo: int = 0
    partners: list[str] = []  # the other boa('s) of the same duo slot


class PlanExport(msgspec.Struct, frozen=True, kw_only=True):
    org_name: str
    plan_id: int
    plan_name: str
    start: date
    days: int
    version: int
    published_at: datetime
    rows: list[PlanRow]
    boas: list[tuple[int, str]] = []  # (staff id, name) of every boa to show, also those without shifts


def with_partners(rows: Sequence[PlanRow]) -> list[PlanRow]:
    """Fill each row's partners: the other boa's in the same (day, shift, beat, duo) slot."""
    slots: dict[tuple[date, str, str, int], list[PlanRow]] = defaultdict(list)
    for r in rows:
        slots[(r.day, r.shift_code, r.beat_code, r.duo)].append(r)
    return [
        msgspec.structs.replace(
            r,
            partners=[o.staff_name for o in slots[(r.day, r.shift_code, r.beat_code, r.duo)] if o is not r],
        )
        for r in rows
    ]


def local_start(row: PlanRow) -> datetime:
    return datetime.combine(row.day, time(), tzinfo=LOCAL) + timedelta(minutes=row.start_minute)


def local_end(row: PlanRow) -> datetime:
    """Wall-clock end: start plus duration in local time (a shift planned 22:00-07:00 ends at 07:00)."""
    naive = datetime.combine(row.day, time()) + timedelta(minutes=row.start_minute + row.duration_minutes)
    return naive.replace(tzinfo=LOCAL)


def _hhmm(moment: datetime) -> str:
    return moment.strftime("%H:%M")


def _hours(minutes: int) -> str:
    return f"{minutes / 60:.2f}".rstrip("0").rstrip(".").replace(".", ",")


def _sorted(rows: Sequence[PlanRow]) -> list[PlanRow]:
    return sorted(rows, key=lambda r: (r.day, r.start_minute, r.beat_code, r.duo, r.staff_name))


# --- CSV ----------------------------------------------------------------------------------------------------


def plan_csv(export: PlanExport) -> str:
    """The project's one Excel CSV (backend/reports/excel_csv.py): BOM, semicolons, formula-safe text."""
    rows: list[list[object]] = [
        ["Rooster", export.org_name, export.plan_name, f"versie {export.version}"],
        ["Gepubliceerd op", export.published_at],
        [],
        ["Datum", "Dag", "Boa", "Dienst", "Begin", "Einde", "Uren", "Gebied", "Buurtcode", "Duo", "Duo met"],
    ]
    for r in _sorted(with_partners(export.rows)):
        rows.append([
            r.day, WEEKDAYS_NL[r.day.weekday()], r.staff_name, r.shift_name, _hhmm(local_start(r)),
            _hhmm(local_end(r)), _hours(r.duration_minutes), r.beat_name, r.beat_code, r.duo + 1,
            " en ".join(r.partners),
        ])  # fmt: skip
    return excel_csv.document(rows)


# --- PDF ----------------------------------------------------------------------------------------------------


class _Pdf(FPDF):
    def __init__(self, title: str) -> None:
        super().__init__(orientation="L", unit="mm", format="A4")
        self.title_text = title
        pdf_fonts.use(self)
        self.set_auto_page_break(auto=False)
        self.set_margins(10, 10, 10)

    def footer(self) -> None:
        self.set_y(-9)
        self.set_font(pdf_fonts.SANS, size=7)
        self.set_text_color(110, 110, 110)
        self.cell(0, 4, f"{self.title_text} - pagina {self.page_no()}", align="C")


NAME_W = 42.0
ROW_H = 7.0
HEAD_H = 9.0
ROWS_PER_PAGE = 20  # leaves room for a legend of some 20 beats above the footer


def _short(code: str) -> str:
    return code[:5]


def plan_pdf(export: PlanExport) -> bytes:
    """Four weeks per page: a row per boa, a column per day, each cell the shift and the beat code."""
    title = f"Rooster {export.org_name} - {export.plan_name} (versie {export.version})"
    pdf = _Pdf(title)
    pdf.set_title(title)
    pdf.set_author("Schakel")
    rows = with_partners(export.rows)
    by_cell = {(r.staff_id, r.day): r for r in rows}
    names = dict(export.boas)
    for r in rows:
        names.setdefault(r.staff_id, r.staff_name)
    boas = sorted(names.items(), key=lambda kv: (kv[1].lower(), kv[0]))
    days = [export.start + timedelta(days=i) for i in range(export.days)]
    blocks = [days[i : i + 28] for i in range(0, len(days), 28)] or [[export.start]]
    shift_names = {r.shift_code: (r.shift_name, r.start_minute, r.duration_minutes) for r in rows}
    beat_names = {r.beat_code: r.beat_name for r in rows}
    # buurtcodes are long and alike (BU03630000): a cell shows the beat's number in the legend instead
    beat_keys = {
        code: str(i) for i, (code, _) in enumerate(sorted(beat_names.items(), key=lambda kv: kv[1]), 1)
    }
    for block in blocks:
        for page_start in range(0, max(len(boas), 1), ROWS_PER_PAGE):
            page_boas = boas[page_start : page_start + ROWS_PER_PAGE]
            pdf.add_page()
            pdf.set_font(pdf_fonts.SANS, "B", 12)
            pdf.cell(0, 7, title, new_x="LMARGIN", new_y="NEXT")
            pdf.set_font(pdf_fonts.SANS, size=8)
            published = export.published_at.astimezone(LOCAL).strftime("%d-%m-%Y %H:%M")
            pdf.cell(0, 5, (f"{period_label(block[0], block[-1])} - gepubliceerd "
                                   f"{published}"), new_x="LMARGIN", new_y="NEXT")  # fmt: skip
            _grid(pdf, page_boas, block, by_cell, beat_keys)
            _legend(pdf, shift_names, beat_names, beat_keys)
    return bytes(pdf.output())


def _grid(
    pdf: _Pdf,
    boas: Sequence[tuple[int, str]],
    block: Sequence[date],
    by_cell: dict[tuple[int, date], PlanRow],
    beat_keys: dict[str, str],
) -> None:
    col_w = (pdf.w - 20 - NAME_W) / 28
    y0 = pdf.get_y() + 1
    pdf.set_xy(10, y0)
    pdf.set_font(pdf_fonts.SANS, "B", 7)
    pdf.set_fill_color(230, 234, 240)
    pdf.cell(NAME_W, HEAD_H, "Boa", border=1, fill=True)
    for d in block:
        x = pdf.get_x()
        weekend = d.weekday() >= 5
        pdf.set_fill_color(*((214, 222, 235) if weekend else (230, 234, 240)))
        pdf.cell(col_w, HEAD_H / 2, WEEKDAYS_NL[d.weekday()], border="LTR", align="C", fill=True)
        pdf.set_xy(x, y0 + HEAD_H / 2)
        label = f"{d.day} {MONTHS_NL_SHORT[d.month - 1]}"
        pdf.set_font(pdf_fonts.SANS, "", 5.5)  # DejaVu runs wider than Helvetica: "28 mrt" fits a day at 5.5
        pdf.cell(col_w, HEAD_H / 2, label, border="LBR", align="C", fill=True)
        pdf.set_font(pdf_fonts.SANS, "B", 7)
        pdf.set_xy(x + col_w, y0)
    y = y0 + HEAD_H
    for i, (staff_id, name) in enumerate(boas):
        pdf.set_xy(10, y)
        pdf.set_font(pdf_fonts.SANS, size=7)
        pdf.set_fill_color(246, 247, 250)
        shown = name if pdf.get_string_width(name) <= NAME_W - 2 else name[:30] + "..."
        pdf.cell(NAME_W, ROW_H, shown, border=1, fill=i % 2 == 1)
        for d in block:
            x = pdf.get_x()
            row = by_cell.get((staff_id, d))
            weekend = d.weekday() >= 5
            pdf.set_fill_color(*((232, 237, 246) if weekend else (246, 247, 250)))
            if row is None:
                pdf.cell(col_w, ROW_H, "", border=1, fill=weekend or i % 2 == 1)
                continue
            overnight = row.start_minute + row.duration_minutes > 24 * 60
            if overnight:
                pdf.set_fill_color(255, 243, 205)
            pdf.set_font(pdf_fonts.SANS, "B", 6.5)
            code = _short(row.shift_code)
            pdf.cell(col_w, ROW_H / 2, code, border="LTR", align="C", fill=overnight)
            pdf.set_xy(x, y + ROW_H / 2)
            pdf.set_font(pdf_fonts.SANS, size=5.5)
            pdf.cell(
                col_w,
                ROW_H / 2,
                beat_keys[row.beat_code],
                border="LBR",
                align="C",
                fill=overnight,
            )
            pdf.set_xy(x + col_w, y)
        y += ROW_H
    pdf.set_xy(10, y + 2)


def _legend(
    pdf: _Pdf, shifts: dict[str, tuple[str, int, int]], beats: dict[str, str], keys: dict[str, str]
) -> None:
    pdf.set_font(pdf_fonts.SANS, "B", 7)
    pdf.cell(18, 4, "Diensten:")
    pdf.set_font(pdf_fonts.SANS, size=7)
    parts = []
    for code, (name, start, duration) in sorted(shifts.items(), key=lambda kv: kv[1][1]):
        s = datetime.combine(date(2000, 1, 1), time()) + timedelta(minutes=start)
        e = s + timedelta(minutes=duration)
        parts.append(f"{_short(code)} = {name} {s:%H:%M}-{e:%H:%M}")
    pdf.multi_cell(0, 4, "; ".join(parts) + " (geel: loopt door na middernacht)", align="L", new_x="LMARGIN",
                   new_y="NEXT")  # fmt: skip
    pdf.set_font(pdf_fonts.SANS, "B", 7)
    pdf.cell(18, 4, "Gebieden:")  # the number in a cell
    pdf.set_font(pdf_fonts.SANS, size=7)
    ordered = sorted(beats.items(), key=lambda kv: int(keys[kv[0]]))
    beat_text = "; ".join(f"{keys[code]} = {name} ({code})" for code, name in ordered)
    pdf.multi_cell(0, 4, beat_text[:1500], align="L", new_x="LMARGIN", new_y="NEXT")


# --- iCalendar ----------------------------------------------------------------------------------------------


def event_uid(row: PlanRow) -> str:
    """Stable across versions: one shift per boa per day in a plan."""
    return f"rooster-{row.plan_id}-{row.staff_id}-{row.day.isoformat()}@{UID_DOMAIN}"


def summary(row: PlanRow) -> str:
    """ "Dienst laat — Centrum (duo met Jansen)"."""
    shift = row.shift_name[:1].lower() + row.shift_name[1:]
    text = f"Dienst {shift} — {row.beat_name}"
    if row.partners:
        text += f" (duo met {' en '.join(row.partners)})"
    return text


class FeedVersion(msgspec.Struct, frozen=True, kw_only=True):
    """The latest published version of one plan, as far as one boa's feed needs it."""

    plan_id: int
    plan_name: str
    version: int
    published_at: datetime
    rows: list[PlanRow]  # every row of the version (for the partners); the feed picks the boa's own


def boa_calendar(staff_id: int, staff_name: str, org_name: str, versions: Sequence[FeedVersion]) -> bytes:
    """The boa's shifts of every latest published version, as an RFC 5545 calendar with Europe/Amsterdam."""
    cal = Calendar()
    cal.add("prodid", "-//Schakel//Rooster//NL")
    cal.add("version", "2.0")
    cal.add("calscale", "GREGORIAN")
    cal.add("method", "PUBLISH")
    cal.add("x-wr-calname", f"Rooster {staff_name} ({org_name})")
    cal.add("x-wr-timezone", "Europe/Amsterdam")
    for v in versions:
        for row in _sorted(with_partners(v.rows)):
            if row.staff_id != staff_id:
                continue
            ev = Event()
            ev.add("uid", event_uid(row))
            ev.add("dtstamp", v.published_at.astimezone(UTC))
            ev.add("last-modified", v.published_at.astimezone(UTC))
            ev.add("sequence", v.version)
            ev.add("dtstart", local_start(row))
            ev.add("dtend", local_end(row))
            ev.add("summary", summary(row))
            ev.add("location", f"{row.beat_name} ({row.beat_code})")
            ev.add("categories", ["Rooster"])
            ev.add("description", f"{v.plan_name}, versie {v.version}; duo {row.duo + 1}")
            ev.add("transp", "OPAQUE")
            cal.add_component(ev)
    cal.add_missing_timezones()
    return bytes(cal.to_ical())
