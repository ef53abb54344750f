"""A gemeente's tariff list (CSV) applied to its feitcode catalogue: a new, dated catalogue version.

The shipped catalogue has no OM tariffs (they are not in the legal tables it is built from), and a gemeente's
bestuurlijke-boete amounts change with its own regulation. A team lead or administrator imports the current
list as CSV: a header with ``feitcode`` and ``bedrag`` (and optionally ``ingangsdatum`` and ``categorie``),
separated by semicolons (what Excel writes in a Dutch locale) or commas. Amounts are whole euros, written as
``€ 110,00``, ``110,00`` or ``110``. Every problem is reported as ``regel N.kolom`` with a Dutch reason; the
caller stores nothing unless the whole file is good.

Which entry a line changes: the feitcode in the gemeente's own track, else in the Mulder track. An entry whose
amounts depend on the road user or the speed (WAHV schemes) needs ``categorie``; one without an amount
(``none``) becomes a per-person amount.
"""

from __future__ import annotations

import csv
import io
import re
from dataclasses import dataclass
from datetime import date, datetime

import msgspec

from shared.feitcodes import SCHEME_KEYS, Catalogue, FeitEntry

MAX_TARIFF_BYTES = 1024 * 1024
MAX_LINES = 5000
MAX_EUROS = 100_000
COLUMNS = ("feitcode", "bedrag", "ingangsdatum", "categorie")
_CODE = re.compile(r"^([A-Za-z]{1,2})\s*([0-9]{3})([A-Za-z]{0,2})$")
_AMOUNT = re.compile(
    r"^(?:€|eur|euro)?\s*([0-9]{1,3}(?:\.[0-9]{3})+|[0-9]+)(?:,([0-9]{1,2}|-{1,2}))?\s*(?:€|eur|euro)?$"
)
_ALIASES = {"code": "feitcode", "tarief": "bedrag", "bedrag_eur": "bedrag", "valid_from": "ingangsdatum",
            "datum": "ingangsdatum", "voertuigcategorie": "categorie"}  # fmt: skip


class TariffError(Exception):
    """A line or column that cannot be used; ``field`` is ``regel N.kolom`` (or ``valid_from``)."""

    def __init__(self, field: str, reason: str) -> None:
        super().__init__(f"{field}: {reason}")
        self.field = field
        self.reason = reason


@dataclass(frozen=True)
class TariffLine:
    line: int
    code: str
    amount_eur: int
    category: str | None


@dataclass(frozen=True)
class TariffList:
    lines: tuple[TariffLine, ...]
    valid_from: date | None  # from the ingangsdatum column, when the file has one


def parse_date(text: str, field: str, today: date) -> date:
    """``2026-01-01`` or ``1-1-2026``/``01-01-2026``, at most a year from ``today`` either way."""
    value = text.strip()
    parsed: date | None = None
    for pattern in ("%Y-%m-%d", "%d-%m-%Y", "%d/%m/%Y"):
        try:
            parsed = datetime.strptime(value, pattern).date()
            break
        except ValueError:
            continue
    if parsed is None:
        raise TariffError(field, f"'{value[:40]}' is geen datum (schrijf 2026-01-01 of 01-01-2026)")
    if abs((parsed - today).days) > 366:
        raise TariffError(field, "de ingangsdatum ligt meer dan een jaar voor of na vandaag")
    return parsed


def parse_amount(text: str, field: str) -> int:
    value = " ".join(text.replace("\u00a0", " ").split()).lower()
    match = _AMOUNT.match(value)
    if not match:
        raise TariffError(field, f"'{text.strip()[:40]}' is geen bedrag (schrijf € 110,00 of 110)")
    cents = (match.group(2) or "0").strip("-") or "0"  # "110,-" is whole euros
    if int(cents) != 0:
        raise TariffError(field, "tarieven zijn hele euro's (geen centen)")
    euros = int(match.group(1).replace(".", ""))
    if euros > MAX_EUROS:
        raise TariffError(field, f"bedrag hoger dan € {MAX_EUROS:,}".replace(",", "."))
    return euros


def parse_code(text: str, field: str) -> str:
    match = _CODE.match(text.strip())
    if not match:
        raise TariffError(field, f"'{text.strip()[:40]}' is geen feitcode (zoals BF 185 of R 397)")
    letters, number, suffix = match.groups()
    return f"{letters.upper()} {number}{suffix.lower()}"


def _decode(raw: bytes) -> str:
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        return raw.decode("cp1252", errors="replace")  # Excel's "CSV" on a Dutch Windows


def parse_tariffs(raw: bytes, today: date) -> TariffList:
    """Read the CSV; raise :class:`TariffError` at the first bad line (numbered as an editor shows them)."""
    if len(raw) > MAX_TARIFF_BYTES:
        raise TariffError("body", f"bestand groter dan {MAX_TARIFF_BYTES // 1024} kB")
    if b"\x00" in raw:
        raise TariffError("body", "het bestand bevat een NUL-teken (is het wel CSV?)")
    text = _decode(raw)
    rows = list(csv.reader(io.StringIO(text), delimiter=_delimiter(text)))
    if not rows or not any(cell.strip() for cell in rows[0]):
        raise TariffError("regel 1", "het bestand is leeg; de eerste regel noemt de kolommen feitcode;bedrag")
    header = [_ALIASES.get(name, name) for name in (c.strip().lower().replace(" ", "_") for c in rows[0])]
    for needed in ("feitcode", "bedrag"):
        if needed not in header:
            raise TariffError(f"regel 1.{needed}", f"kolom '{needed}' ontbreekt in de kopregel")
    for name in COLUMNS:
        if header.count(name) > 1:
            raise TariffError(f"regel 1.{name}", f"kolom '{name}' staat twee keer in de kopregel")
    index = {name: header.index(name) for name in COLUMNS if name in header}
    lines: list[TariffLine] = []
    seen: dict[tuple[str, str | None], int] = {}
    valid_from: date | None = None
    first_dated = 0
    for number, row in enumerate(rows[1:], start=2):
        if not any(cell.strip() for cell in row):
            continue
        if len(lines) >= MAX_LINES:
            raise TariffError(f"regel {number}", f"meer dan {MAX_LINES} tarieven in één bestand")

        def cell(name: str, row: list[str] = row) -> str:
            at = index.get(name)
            return row[at].strip() if at is not None and at < len(row) else ""

        code_text, amount_text = cell("feitcode"), cell("bedrag")
        if not code_text:
            raise TariffError(f"regel {number}.feitcode", "geen feitcode")
        if not amount_text:
            raise TariffError(f"regel {number}.bedrag", "geen bedrag")
        code = parse_code(code_text, f"regel {number}.feitcode")
        amount = parse_amount(amount_text, f"regel {number}.bedrag")
        category = cell("categorie") or None
        if "ingangsdatum" in index:
            dated = parse_date(cell("ingangsdatum"), f"regel {number}.ingangsdatum", today)
            if valid_from is None:
                valid_from, first_dated = dated, number
            elif dated != valid_from:
                reason = (
                    f"andere ingangsdatum dan regel {first_dated}: één bestand is één versie met één datum"
                )
                raise TariffError(f"regel {number}.ingangsdatum", reason)
        key = (code, category)
        if key in seen:
            raise TariffError(f"regel {number}.feitcode", f"{code} staat al op regel {seen[key]}")
        seen[key] = number
        lines.append(TariffLine(line=number, code=code, amount_eur=amount, category=category))
    if not lines:
        raise TariffError("regel 2", "geen tarieven onder de kopregel")
    return TariffList(lines=tuple(lines), valid_from=valid_from)


def _delimiter(text: str) -> str:
    first = text.split("\n", 1)[0]
    return ";" if first.count(";") >= first.count(",") and ";" in first else ","


def apply_tariffs(
    base: Catalogue, tariffs: TariffList, track: str, valid_from: date
) -> tuple[Catalogue, int]:
    """``base`` with the listed amounts set, a new version from ``valid_from``; also the entries changed."""
    positions: dict[tuple[str, str], int] = {(e.track, e.code): i for i, e in enumerate(base.entries)}
    entries: list[FeitEntry] = list(base.entries)
    changed: set[int] = set()
    for tariff in tariffs.lines:
        at = positions.get((track, tariff.code), positions.get(("mulder", tariff.code)))
        if at is None:
            reason = f"feitcode {tariff.code} staat niet in de catalogus van deze gemeente"
            raise TariffError(f"regel {tariff.line}.feitcode", reason)
        entry = entries[at]
        amounts = dict(entry.amounts_eur)
        scheme = entry.amount_scheme
        if scheme in ("road_user", "speed"):
            keys = sorted(SCHEME_KEYS[scheme])
            if tariff.category is None:
                reason = (
                    f"{tariff.code} heeft een tarief per categorie ({keys[0]}–{keys[-1]}): vul 'categorie'"
                )
                raise TariffError(f"regel {tariff.line}.categorie", reason)
            if tariff.category not in keys:
                given = tariff.category[:10]
                reason = f"categorie '{given}' bestaat niet bij {tariff.code} ({keys[0]}–{keys[-1]})"
                raise TariffError(f"regel {tariff.line}.categorie", reason)
            amounts[tariff.category] = tariff.amount_eur
        else:
            category = {None: "adult", "volwassene": "adult", "minderjarige": "minor"}.get(tariff.category)
            if category is None:
                given = (tariff.category or "")[:10]
                reason = f"{tariff.code} kent geen categorie '{given}' (leeg, volwassene of minderjarige)"
                raise TariffError(f"regel {tariff.line}.categorie", reason)
            if scheme == "none":
                scheme, amounts = "person", {}
            amounts[category] = tariff.amount_eur
        entries[at] = msgspec.structs.replace(entry, amount_scheme=scheme, amounts_eur=amounts)
        changed.add(at)
    version = f"{valid_from.isoformat()} tarieven"
    notes = (*base.notes, f"Tarieven ingelezen ({len(changed)} feitcodes) op versie {base.version}.")
    new = msgspec.structs.replace(
        base, version=version, valid_from=valid_from, entries=tuple(entries), notes=notes[-20:]
    )
    return new, len(changed)
