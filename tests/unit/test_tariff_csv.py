"""The tariff CSV reader: how a Dutch tariff list writes amounts, codes and dates, and where it refuses."""

from __future__ import annotations

from datetime import date

import pytest

from backend.feitcodes.tariffs import TariffError, parse_amount, parse_code, parse_date, parse_tariffs

TODAY = date(2026, 12, 1)


@pytest.mark.parametrize(
    ("text", "euros"),
    [("€ 110,00", 110), ("110", 110), ("110,-", 110), ("€110", 110), ("1.000,00", 1000), (" 95,0 ", 95),
     ("EUR 250", 250), ("€\u00a0340,00", 340), ("0", 0)],
)  # fmt: skip
def test_dutch_amounts_are_read_as_whole_euros(text: str, euros: int) -> None:
    assert parse_amount(text, "regel 2.bedrag") == euros


@pytest.mark.parametrize(("text", "reason"), [("110,50", "hele euro"), ("1,000.00", "geen bedrag"),
                                               ("-5", "geen bedrag"), ("100001", "hoger dan")])  # fmt: skip
def test_other_amounts_are_refused_in_dutch(text: str, reason: str) -> None:
    with pytest.raises(TariffError) as caught:
        parse_amount(text, "regel 4.bedrag")
    assert caught.value.field == "regel 4.bedrag" and reason in caught.value.reason


def test_codes_are_normalised_and_dates_bounded() -> None:
    assert [parse_code(c, "f") for c in ("bf185", "BF 185", "r 397A", "F180")] == [
        "BF 185", "BF 185", "R 397a", "F 180"
    ]  # fmt: skip
    assert parse_date("1-1-2027", "f", TODAY) == date(2027, 1, 1)
    assert parse_date("2026-06-30", "f", TODAY) == date(2026, 6, 30)
    with pytest.raises(TariffError, match="een jaar"):
        parse_date("2028-01-01", "f", TODAY)


def test_a_file_from_excel_with_semicolons_and_an_other_column() -> None:
    raw = "Feitcode;Omschrijving;Bedrag;Ingangsdatum\r\nBF 185;wildplassen;€ 110,00;01-01-2027\r\n;;;\r\n"
    parsed = parse_tariffs(raw.encode("cp1252"), TODAY)
    assert [(t.line, t.code, t.amount_eur) for t in parsed.lines] == [(2, "BF 185", 110)]
    assert parsed.valid_from == date(2027, 1, 1)
    with pytest.raises(TariffError) as caught:
        parse_tariffs(b"feitcode;bedrag;ingangsdatum\nBF 185;1;2027-01-01\nBF 110a;2;2027-02-01\n", TODAY)
    assert caught.value.field == "regel 3.ingangsdatum" and "regel 2" in caught.value.reason
