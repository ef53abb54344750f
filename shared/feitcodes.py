"""The feitcode catalogue as both sides read it, and the one search over it.

The backend answers ``GET /api/feitcodes`` with :func:`search`; the tablet runs the same :func:`search` over
its bundled copy of the catalogue when it is offline, so a boa gets the same codes in the same order with or
without a network. Building the catalogue from the legal tables and tagging APV zones stay in the backend.

The catalogue file (``backend/feitcodes/build.py`` builds it; ``backend/feitcodes/catalogue.py`` says what
its amounts mean) is
decoded and checked by :func:`decode_catalogue`; a file that fails raises :class:`CatalogueError` naming the
entry and the field.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Sequence
from datetime import date
from typing import Annotated, Literal

import msgspec

CODE_PATTERN = r"^[A-Z]{1,2} [0-9]{3}[a-z]{0,2}$"

Track = Literal["om_strafbeschikking", "bestuurlijke_boete", "mulder"]
AmountScheme = Literal["person", "road_user", "speed", "none"]
TRACKS: tuple[str, ...] = ("om_strafbeschikking", "bestuurlijke_boete", "mulder")
SCHEME_KEYS: dict[str, frozenset[str]] = {
    "person": frozenset({"adult", "minor"}), "road_user": frozenset("12345678"), "speed": frozenset("1234"),
    "none": frozenset(),
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
    domain: Annotated[int, msgspec.Meta(ge=0, le=6)] = 1  # boa domain I … VI; 0: no boa domain (police work)
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


class FeitHit(msgspec.Struct, frozen=True, kw_only=True):
    """One row of the picker as the server sends it."""

    code: str
    description: str
    track: str
    category: str
    amounts_eur: dict[str, int]
    amount_scheme: str
    tags: tuple[str, ...]
    applies_here: bool  # tagged with an APV zone at the given point


class FeitResult(msgspec.Struct, frozen=True, kw_only=True):
    """The answer to ``GET /api/feitcodes``; ``track`` and ``domains`` are the scope the search ran in, so the
    tablet's offline search can use the same one."""

    catalogue_version_id: int
    catalogue_version: str
    track: str
    zone_tags: list[str]
    hits: list[FeitHit]
    domains: list[int] = []  # the boa's domains (added later: an older server leaves it out)


# --- decoding and checking a catalogue file ----------------------------------------------------------------


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


def decode_catalogue(data: bytes) -> Catalogue:
    """Decode and check a catalogue: amounts fit their scheme, a code appears once per track, not empty."""
    try:
        catalogue = _decoder.decode(data)
    except msgspec.ValidationError as exc:
        raise _located(str(exc)) from exc
    except (msgspec.DecodeError, RecursionError) as exc:
        raise CatalogueError(None, "file", f"not valid JSON: {exc}") from exc
    seen: set[tuple[str, str]] = set()
    for index, entry in enumerate(catalogue.entries):
        allowed = SCHEME_KEYS[entry.amount_scheme]
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


def words(text: str) -> set[str]:
    """The words of a text for matching: lower case, accents dropped, Dutch filler words left out."""
    folded = unicodedata.normalize("NFKD", text.lower())
    folded = "".join(char for char in folded if not unicodedata.combining(char))
    return set(re.findall(r"[a-z0-9]+", folded)) - _STOPWORDS


def search(
    catalogue: Catalogue, query: str, *, track: str | None, domains: Iterable[int],
    zone_tags: frozenset[str] = frozenset(), recent: Sequence[str] = (), limit: int = 20,
) -> list[FeitEntry]:  # fmt: skip
    """Entries of the gemeente's ``track`` (Mulder always) and the boa's ``domains`` that match ``query``.

    A query matches a code prefix ("R 39", "r397", also "F 185" for "BF 185": the lists wrote the B in
    brackets) or, word by word, the start of words in the description or tags. Order: the code typed exactly;
    then entries tagged with one of the ``zone_tags`` (the APV zones at the boa's position); then the codes in
    ``recent`` (the tablet's last fines), most recent first; then by code.

    ``track`` None (a tablet that has not yet heard its gemeente's track) searches every track and shows a
    code that sits in two of them once.
    """
    if track is not None and track not in TRACKS:
        raise ValueError(f"unknown track {track!r}")
    tracks = TRACKS if track is None else (track, "mulder")
    allowed = frozenset(domains)
    compact = re.sub(r"\s+", "", query).lower()
    query_words = words(query)
    recent_rank = {code: rank for rank, code in enumerate(recent)}
    hits = [
        entry
        for entry in catalogue.entries
        if entry.track in tracks
        and entry.domain in allowed
        and (not compact or _code_matches(entry.code, compact) or _words_match(entry, query_words))
    ]
    hits.sort(key=lambda entry: (
        entry.code.replace(" ", "").lower() != compact, not zone_tags.intersection(entry.tags),
        recent_rank.get(entry.code, len(recent_rank)), entry.code, TRACKS.index(entry.track),
    ))  # fmt: skip
    seen: set[str] = set()
    unique = []
    for entry in hits:
        if entry.code not in seen:
            seen.add(entry.code)
            unique.append(entry)
    return unique[:limit]


def _code_matches(code: str, compact: str) -> bool:
    letters, number = code.split(" ")
    if compact.isdigit():
        return number.startswith(compact)
    candidates = (letters + number).lower(), (letters[1:] + number).lower() if letters[0] == "B" else ""
    return any(candidate and candidate.startswith(compact) for candidate in candidates)


def _words_match(entry: FeitEntry, query_words: set[str]) -> bool:
    if not query_words:
        return False
    haystack = words(entry.description) | words(" ".join(entry.tags).replace("_", " ")) | set(entry.tags)
    return all(any(word.startswith(query) for word in haystack) for query in query_words)
