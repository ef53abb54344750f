"""Feitcode search for the fine screen: what applies here first, then what matches the typed text.

The catalogue is the backend's versioned JSON file (served by the server when it offers it, else the copy
bundled with the app). Pure functions: no Kivy, no I/O beyond reading bytes.
"""

from __future__ import annotations

import re
import unicodedata
from pathlib import Path

import msgspec

BUNDLED = (
    Path(__file__).resolve().parents[1] / "backend" / "feitcodes" / "data" / "feitcode_catalogue.json"
)


class Feit(msgspec.Struct, frozen=True, kw_only=True):
    code: str
    description: str
    track: str
    amounts_eur: dict[str, int] = {}
    domain: int = 1
    category: str = ""
    tags: tuple[str, ...] = ()


class _Catalogue(msgspec.Struct, frozen=True, kw_only=True):
    version: str
    entries: tuple[Feit, ...]


def load(data: bytes | None = None) -> tuple[str, tuple[Feit, ...]]:
    """(version, entries) from the server's bytes or, without them, from the bundled file."""
    raw = (
        data
        if data is not None
        else (BUNDLED.read_bytes() if BUNDLED.exists() else b'{"version":"","entries":[]}')
    )
    catalogue = msgspec.json.decode(raw, type=_Catalogue)
    return catalogue.version, catalogue.entries


def _fold(text: str) -> str:
    return unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode().lower()


def search(
    entries: tuple[Feit, ...],
    query: str,
    *,
    here: frozenset[str] = frozenset(),
    recent: tuple[str, ...] = (),
    tracks: frozenset[str] | None = None,
    domains: frozenset[int] = frozenset({1}),
    limit: int = 8,
) -> list[Feit]:
    """Entries matching every word of `query` (code or description), best first.

    Ranking: an exact code match; then what applies at this spot (`here`: tags of the APV zones the boa stands
    in); then what he wrote recently; then the rest by code. `tracks` limits to the organisation's tracks.
    """
    words = _fold(query).split()
    compact = re.sub(r"\s+", "", query).upper()
    words = words if len(words) > 1 or not compact else [_fold(compact)]
    recent_rank = {code: i for i, code in enumerate(recent)}
    scored: list[tuple[tuple[int, int, int, str], Feit]] = []
    for feit in entries:
        if tracks is not None and feit.track not in tracks:
            continue
        if feit.domain not in domains and feit.domain != 0:
            continue
        haystack = _fold(f"{feit.code} {feit.code.replace(' ', '')} {feit.description} {' '.join(feit.tags)}")
        if not all(w in haystack for w in words) and _fold(compact) not in _fold(feit.code.replace(" ", "")):
            continue
        exact = 0 if compact and feit.code.replace(" ", "") == compact else 1
        applies = 0 if here & set(feit.tags) else 1
        scored.append(((exact, applies, recent_rank.get(feit.code, len(recent_rank)), feit.code), feit))
    scored.sort(key=lambda pair: pair[0])
    # the same code can sit in two tracks (OM and bestuurlijke boete); an organisation uses one: show it once
    seen: set[str] = set()
    unique = []
    for _, feit in scored:
        if feit.code not in seen:
            seen.add(feit.code)
            unique.append(feit)
    return unique[:limit]
