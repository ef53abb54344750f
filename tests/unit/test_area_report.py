"""The area report's arithmetic and files, with plain values: months, percentiles, street hours, CSV, PDF."""

from __future__ import annotations

import io
from datetime import UTC, datetime

import pytest
from pypdf import PdfReader

from backend.errors import BadInput
from backend.reports import area, area_export
from backend.reports.area import Counts


@pytest.mark.parametrize(
    ("values", "median", "p90"),
    [
        ([300.0], 300.0, 300.0),
        ([300.0, 420.0, 900.0], 420.0, 900.0),
        ([60.0, 120.0], 90.0, 120.0),  # an even count: the median lies between the middle two
        ([float(v) for v in range(1, 11)], 5.5, 9.0),  # nearest rank: the 9th of 10
        ([float(v) for v in range(1, 12)], 6.0, 10.0),  # ceil(0.9 x 11) = 10th
    ],
)
def test_median_and_p90_by_nearest_rank(values: list[float], median: float, p90: float) -> None:
    times = area.response_times(reversed(values))
    assert (times.count, times.median_s, times.p90_s) == (len(values), median, p90)


def test_no_response_times_is_none_not_zero() -> None:
    assert area.response_times([]) == area.ResponseTimes(count=0, median_s=None, p90_s=None)


def test_month_bounds_are_local_calendar_months() -> None:
    now = datetime(2026, 12, 1, 12, tzinfo=UTC)
    since, until = area.month_range("2026-03", now)  # winter time starts, summer time ends the month
    assert since == datetime(2026, 2, 28, 23, tzinfo=UTC) and until == datetime(2026, 3, 31, 22, tzinfo=UTC)
    assert area.month_range("2026-12", now)[0] == datetime(
        2026, 11, 30, 23, tzinfo=UTC
    )  # this month: allowed


@pytest.mark.parametrize("month", ["2026-13", "2026-1", "26-01", "", "2026-01-01", "1999-12", "2027-01"])
def test_a_bad_or_future_month_names_the_field(month: str) -> None:
    with pytest.raises(BadInput) as caught:
        area.month_range(month, datetime(2026, 12, 1, 12, tzinfo=UTC))
    assert caught.value.field == "month"


def test_trend_is_twelve_months_ending_with_the_month_across_a_year() -> None:
    months = area.trend_months("2026-02")
    assert months[0] == "2025-03" and months[-1] == "2026-02" and len(months) == 12
    assert months[9:] == ["2025-12", "2026-01", "2026-02"]


def test_beat_seconds_go_to_every_containing_beat_or_outside() -> None:
    weights = [60.0, 60.0, 0.0, 300.0]
    beats = [frozenset({1}), frozenset({1, 2}), frozenset({2}), frozenset()]
    assert area.beat_seconds(weights, beats) == {1: 120.0, 2: 60.0, 0: 300.0}


def test_figures_add_up_outcomes_and_round_street_hours() -> None:
    counts = Counts(
        meldingen={"Afval": 2, "Overlast jeugd": 1},
        enforcement={"overlast": {"waarschuwing": 2, "pv": 1}, "parkeren": {"mulder": 4, "waarschuwing": 1}},
        street_s=7800.0,
        response={1: [300.0, 420.0, 900.0]},
    )
    f = area.figures(7, "A00a", "Burgwallen-Oude Zijde", counts)
    assert (f.meldingen_total, f.warnings, f.pv, f.bsb, f.mulder, f.fines) == (3, 3, 1, 0, 4, 5)
    assert f.street_hours == 2.2
    assert f.response["1"].median_s == 420.0 and f.response["2"].count == 0
    assert area.has_data(f) and not area.has_data(area.figures(None, "", "Totaal", Counts()))


def test_minutes_read_like_a_clock() -> None:
    assert [area.minutes(s) for s in (None, 59.6, 420.0, 3725.0)] == ["–", "1:00", "7:00", "62:05"]


def _report(empty: bool = False) -> area.AreaReport:
    counts = Counts() if empty else Counts(
        meldingen={"Afval": 3}, enforcement={"overlast": {"waarschuwing": 1, "pv": 2}}, aggression=1,
        police_assists=2, street_s=3600 * 12.3, response={1: [300.0, 420.0, 900.0]},
    )  # fmt: skip
    beat = area.figures(7, "A00a", "=Burgwallen-Oude Zijde", counts)  # a name that looks like a formula
    total = area.figures(None, "", "Totaal", counts)
    trend = [area.trend_point(m, total) for m in area.trend_months("2026-11")]
    return area.AreaReport(
        month="2026-11", org_name="Gemeente Amsterdam", generated_at=datetime(2026, 12, 1, 12, tzinfo=UTC),
        empty=empty, beats=[beat], total=total, trend=trend,
    )  # fmt: skip


def test_csv_is_excel_friendly_dutch_and_formula_safe() -> None:
    text = area_export.area_csv(_report())
    assert text.startswith("\ufeff")
    lines = text[1:].split("\r\n")
    assert lines[0] == "Rapportage per gebied;Gemeente Amsterdam;november 2026"
    assert lines[1] == "Gemaakt op;01-12-2026 13:00"  # local time
    header = lines[3].split(";")
    row = dict(zip(header, lines[4].split(";"), strict=True))
    assert row["Gebied"] == "'=Burgwallen-Oude Zijde"
    assert row["Straaturen boa's"] == "12,3" and row["Aanrijtijd prio 1 mediaan (min)"] == "7,0"
    assert row["Meldingen Afval"] == "3" and row["PV (OM)"] == "2"
    assert row["Meldingen met termijn (Signalen)"] == "0" and row["Termijn overschreden"] == "0"
    assert "Handhaving per feitcodegroep" in text and "A00a;'=Burgwallen-Oude Zijde;Overlast;1;2;0;0" in text


def test_pdf_parses_and_holds_the_figures_and_definitions() -> None:
    pdf = PdfReader(io.BytesIO(area_export.area_pdf(_report())))
    assert pdf.metadata is not None and "november 2026" in (pdf.metadata.title or "")
    text = "\n".join(page.extract_text() for page in pdf.pages)
    needles = ("Rapportage per gebied", "Gemeente Amsterdam - november 2026", "Per gebied", "7:00", "15:00",
               "12,3", "Trend over twaalf maanden", "Bronnen en definities", "Straaturen")  # fmt: skip
    for needle in needles:
        assert needle in text, needle


def test_pdf_of_an_empty_month_says_so() -> None:
    text = "\n".join(
        p.extract_text() for p in PdfReader(io.BytesIO(area_export.area_pdf(_report(True)))).pages
    )
    assert "Geen gegevens voor deze maand." in text


def test_the_sla_figures_carry_the_counted_deadlines_and_breaches() -> None:
    f = area.figures(None, "", "Totaal", area.Counts(sla_total=4, sla_breached=1))
    assert (f.sla_total, f.sla_breached) == (4, 1)
    assert area.figures(None, "", "Totaal", area.Counts()).sla_breached == 0
