"""Every CSV Schakel hands out, as a Dutch Excel opens it by double-click.

UTF-8 with a byte-order mark (else Excel reads Latin-1), semicolons (a Dutch locale's list separator; commas
are decimal points there), CRLF line ends, decimal commas, times in local time (Europe/Amsterdam) as
``dd-mm-jjjj uu:mm``, ``ja``/``nee`` for yes and no, and no text that a spreadsheet would run as a formula
(CSV injection: a leading ``= + - @`` gets a quote). One writer, used by the registrations, GIR, area and
alarm exports.
"""

from __future__ import annotations

import csv
import io
import uuid
from collections.abc import Iterable, Sequence
from datetime import date, datetime
from typing import Any
from zoneinfo import ZoneInfo

LOCAL = ZoneInfo("Europe/Amsterdam")
BOM = "\ufeff"
MEDIA_TYPE = "text/csv; charset=utf-8"
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def safe(text: str) -> str:
    """A text no spreadsheet runs as a formula."""
    return "'" + text if text[:1] in FORMULA_STARTS else text


def decimal(value: float, digits: int | None = None) -> str:
    """A number as Dutch Excel reads it: a decimal comma."""
    text = f"{value:.{digits}f}" if digits is not None else repr(float(value))
    return text.replace(".", ",")


def local_time(at: datetime, *, seconds: bool = False) -> str:
    return at.astimezone(LOCAL).strftime("%d-%m-%Y %H:%M:%S" if seconds else "%d-%m-%Y %H:%M")


def cell(value: Any) -> str:
    """One value as its cell: empty for None, ja/nee, decimal commas, local time, formula-safe text."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "ja" if value else "nee"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return decimal(value)
    if isinstance(value, datetime):
        return local_time(value)
    if isinstance(value, date):
        return value.strftime("%d-%m-%Y")
    if isinstance(value, uuid.UUID):
        return str(value)
    return safe(str(value))


def document(rows: Iterable[Sequence[Any]]) -> str:
    """The CSV text of these rows (the first is usually the header), with the BOM."""
    out = io.StringIO()
    writer = csv.writer(out, delimiter=";", lineterminator="\r\n")
    for row in rows:
        writer.writerow([cell(v) for v in row])
    return BOM + out.getvalue()
