"""The feitcode catalogue: which offence codes a boa may write, with their (historic) tariffs, per track.

Three tracks exist (DOMAIN.md, "Fines"): ``om_strafbeschikking`` and ``bestuurlijke_boete`` for APV overlast
(a gemeente uses one of the two) and ``mulder`` (WAHV, parking and traffic). The catalogue is one dated,
versioned JSON file built from the legal tables in ``data/feitcodes/`` (see its NOTICE.md) by
:mod:`backend.feitcodes.build`, and replaceable by an administrator's upload, which :func:`load_catalogue`
validates. At run time only the JSON is read. Amounts are never hard-coded elsewhere.

Amounts are whole euros (``amounts_eur``): every statutory tariff in these tables, and in the yearly indexed
ones, is a whole number of euros. Keys depend on ``amount_scheme``:

* ``person``: ``adult`` (natural person) and ``minor`` when the source states it (none of ours does);
* ``road_user``: WAHV categorie-indeling B, ``1`` motor vehicle > 2 wheels, ``2`` motor vehicle on 2 wheels,
  ``3`` brom-/snorfiets, ``4`` fiets, ``5`` pedestrian, ``6`` other road users, ``7`` skipper, ``8`` anyone.
  Bestuurlijke-boete items with per-road-user amounts (a. … g.) use the same numbers, as the
  vergoedingsregeling does for the same offences;
* ``speed``: WAHV categorie-indeling C (speeding codes S/V…), ``1`` … ``4``;
* ``none``: the data carries no amount (OM tariffs are not in these tables; see :func:`build_catalogue`).

``domain`` is the boa domain (1 = I openbare ruimte … 6 = VI); 0 means "no boa domain in the source data"
(e.g. speeding, which is police work). Run ``python -m backend.feitcodes.build`` to regenerate.
"""

from __future__ import annotations

import re
import unicodedata
from datetime import date
from pathlib import Path
from typing import Annotated, Literal

import msgspec

DATA_DIR = Path(__file__).parent / "data"
CATALOGUE_PATH = DATA_DIR / "feitcode_catalogue.json"
MAX_FILE_BYTES = 16 * 1024 * 1024
CODE_PATTERN = r"^[A-Z]{1,2} [0-9]{3}[a-z]{0,2}$"

Track = Literal["om_strafbeschikking", "bestuurlijke_boete", "mulder"]
AmountScheme = Literal["person", "road_user", "speed", "none"]
TRACKS: tuple[str, ...] = ("om_strafbeschikking", "bestuurlijke_boete", "mulder")
_SCHEME_KEYS = {
    "person": {"adult", "minor"}, "road_user": set("12345678"), "speed": set("1234"), "none": set(),
}  # fmt: skip

Code = Annotated[str, msgspec.Meta(pattern=CODE_PATTERN)]
Text = Annotated[str, msgspec.Meta(min_length=1, max_length=2000)]
AmountKey = Annotated[str, msgspec.Meta(pattern=r"^(adult|minor|[1-8])$")]
Euros = Annotated[int, msgspec.Meta(ge=0, le=100_000)]
Tag = Annotated[str, msgspec.Meta(pattern=r"^[a-z][a-z_]{0,39}$")]


class FeitEntry(msgspec.Struct, frozen=True, kw_only=True):
    code: Code
    description: Text
    track: Track
    amounts_eur: dict[AmountKey, Euros]
    amount_scheme: AmountScheme = "person"
    domain: Annotated[int, msgspec.Meta(ge=0, le=6)] = 1
    category: Annotated[str, msgspec.Meta(pattern=r"^[a-z]{1,40}$")]
    tags: tuple[Tag, ...] = ()


class UnmappedAmount(msgspec.Struct, frozen=True, kw_only=True):
    """A tariff whose feitcode the data does not give reliably: for administrators, never for the picker."""

    item: Text  # the source's own numbering, e.g. "A.10" or "C.2"
    description: Text
    track: Track
    amounts_eur: dict[AmountKey, Euros]
    amount_scheme: AmountScheme


class Catalogue(msgspec.Struct, frozen=True, kw_only=True):
    version: Text
    valid_from: date
    source: Text
    entries: tuple[FeitEntry, ...]
    unmapped: tuple[UnmappedAmount, ...] = ()
    notes: tuple[Text, ...] = ()


class CatalogueError(Exception):
    """A catalogue file that cannot be used; ``index`` is the entry's position (None: not about one entry)."""

    def __init__(self, index: int | None, field: str, reason: str) -> None:
        where = f"entry {index}, field {field!r}" if index is not None else f"field {field!r}"
        super().__init__(f"{where}: {reason}")
        self.index = index
        self.field = field
        self.reason = reason


_decoder = msgspec.json.Decoder(Catalogue)
_ENTRY_PATH = re.compile(r"\$\.entries\[(\d+)\](?:\.(\w+))?")
_TOP_PATH = re.compile(r"\$\.(\w+)")
_MISSING = re.compile(r"missing required field `(\w+)`")


# --- loading (and validating) a catalogue file --------------------------------------------------------------


def load_catalogue(path_or_bytes: Path | str | bytes = CATALOGUE_PATH) -> Catalogue:
    """Decode and validate a catalogue file; raise :class:`CatalogueError` naming the entry and field."""
    if isinstance(path_or_bytes, bytes):
        data = path_or_bytes
    else:
        try:
            data = Path(path_or_bytes).read_bytes()
        except OSError as exc:
            raise CatalogueError(None, "file", f"cannot read: {exc}") from exc
    if len(data) > MAX_FILE_BYTES:
        raise CatalogueError(None, "file", f"larger than {MAX_FILE_BYTES} bytes")
    try:
        catalogue = _decoder.decode(data)
    except msgspec.ValidationError as exc:
        raise _located(str(exc)) from exc
    except (msgspec.DecodeError, RecursionError) as exc:
        raise CatalogueError(None, "file", f"not valid JSON: {exc}") from exc
    seen: set[tuple[str, str]] = set()
    for index, entry in enumerate(catalogue.entries):
        allowed = _SCHEME_KEYS[entry.amount_scheme]
        stray = sorted(set(entry.amounts_eur) - allowed)
        if stray:
            reason = f"keys {stray} do not belong to amount_scheme {entry.amount_scheme!r}"
            raise CatalogueError(index, "amounts_eur", reason)
        if entry.amount_scheme != "none" and not entry.amounts_eur:
            raise CatalogueError(index, "amounts_eur", f"empty, but amount_scheme is {entry.amount_scheme!r}")
        if (entry.track, entry.code) in seen:
            raise CatalogueError(index, "code", f"{entry.code} appears twice in track {entry.track}")
        seen.add((entry.track, entry.code))
    if not catalogue.entries:
        raise CatalogueError(None, "entries", "no entries")
    return catalogue


def _located(message: str) -> CatalogueError:
    reason = message.split(" - at ")[0]
    entry = _ENTRY_PATH.search(message)
    missing = _MISSING.search(message)
    field = missing.group(1) if missing else "file"
    if entry:
        return CatalogueError(int(entry.group(1)), entry.group(2) or field, reason)
    top = _TOP_PATH.search(message)
    return CatalogueError(None, top.group(1) if top else field, reason)


# --- search: the feitcode picker ----------------------------------------------------------------------------

_STOPWORDS = frozenset("te de het een of en van op aan in dan die dat is zich door met".split())


def fold_words(text: str) -> set[str]:
    folded = unicodedata.normalize("NFKD", text.lower())
    folded = "".join(char for char in folded if not unicodedata.combining(char))
    return set(re.findall(r"[a-z0-9]+", folded)) - _STOPWORDS


def search(
    catalogue: Catalogue, query: str, *, track: str, domain: int, zone_tags: frozenset[str] = frozenset(),
    limit: int = 20,
) -> list[FeitEntry]:  # fmt: skip
    """Entries of the gemeente's ``track`` (Mulder always) and the boa's ``domain`` that match ``query``.

    A query matches a code prefix ("R 39", "r397", also "F 185" for "BF 185": the lists wrote the B in
    brackets) or, word by word, the start of words in the description or tags. Entries tagged with one of the
    ``zone_tags`` (the APV zones at the boa's position) come first, then by code.
    """
    if track not in TRACKS:
        raise ValueError(f"unknown track {track!r}")
    compact = re.sub(r"\s+", "", query).lower()
    words = fold_words(query)
    hits = [
        entry
        for entry in catalogue.entries
        if entry.track in (track, "mulder")
        and entry.domain == domain
        and (not compact or _code_matches(entry.code, compact) or _words_match(entry, words))
    ]
    hits.sort(key=lambda entry: (not zone_tags.intersection(entry.tags), entry.code))
    return hits[:limit]


def _code_matches(code: str, compact: str) -> bool:
    letters, number = code.split(" ")
    if compact.isdigit():
        return number.startswith(compact)
    candidates = (letters + number).lower(), (letters[1:] + number).lower() if letters[0] == "B" else ""
    return any(candidate and candidate.startswith(compact) for candidate in candidates)


def _words_match(entry: FeitEntry, words: set[str]) -> bool:
    if not words:
        return False
    tags = fold_words(" ".join(entry.tags).replace("_", " "))
    haystack = fold_words(entry.description) | tags | set(entry.tags)
    return all(any(word.startswith(query) for word in haystack) for query in words)
