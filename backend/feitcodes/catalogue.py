"""The feitcode catalogue: which offence codes a boa may write, with their (historic) tariffs, per track.

Three tracks exist (DOMAIN.md, "Fines"): ``om_strafbeschikking`` and ``bestuurlijke_boete`` for APV overlast
(a gemeente uses one of the two) and ``mulder`` (WAHV, parking and traffic). The catalogue is one dated,
versioned JSON file built from the legal tables in ``data/feitcodes/`` (see its NOTICE.md) and replaceable
by an administrator's upload, which :func:`load_catalogue` validates. Amounts are never hard-coded elsewhere.

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
(e.g. speeding, which is police work). Run ``python -m backend.registrations.catalogue build`` to regenerate.
"""

from __future__ import annotations

import argparse
import csv
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


def normalise_code(raw: str) -> str:
    """``"m R 397 a"``, ``"r397A"``, ``"BF70a"`` → ``"R 397a"``, ``"R 397a"``, ``"BF 070a"``.

    A leading lower-case ``p``/``m`` word is the vergoedingsregeling's marker (proces-verbaal / Mulder), not
    part of the code.
    """
    match = re.fullmatch(r"\s*(?:[pm]\s+)?([A-Za-z]{1,2})\s*(\d{1,3})\s*([A-Za-z]{0,2})\s*", raw)
    if not match:
        raise ValueError(f"not a feitcode: {raw!r}")
    letters, number, suffix = match.groups()
    return f"{letters.upper()} {number.zfill(3)}{suffix.lower()}"


# --- tags: what an APV zone (alcoholverbod, hondenlosloopgebied, …) makes relevant --------------------------

TAG_PATTERNS: dict[str, str] = {
    "alcohol": r"alcohol", "hond": r"\bhond(en)?\b", "drugs": r"drugs", "recreatie": r"recreatie",
    "afval": r"afval|vuilnis|zwerfvuil", "parkeren": r"parkeer|parkeren|stilstaan|stil te staan|laten staan",
    "fiets": r"\b(brom|snor)?fiets", "water": r"vaartuig|openbaar water|zwemmer|ligplaats|\bvaren\b|plezier",
    "groen": r"\bpark\b|\bparken\b|plantsoen|groenstro|beplanting|\bbos(sen)?\b|natuurgebied",
    "geluid": r"geluid", "vuur": r"\bvuur\b|verbranden|\broken\b|stoken", "horeca": r"horeca",
    "evenement": r"evenement|kermis|\bmarkt\b", "wildplassen": r"natuurlijke behoefte", "skaten": r"skate",
    "graffiti": r"bekrassen|bekladden", "speelplaats": r"kinderspeelplaats|speelweide|zandbak",
    "aangewezen_gebied": r"aangewezen (gebied|plaats|weg)|door (het|de) (college|burgemeester) aangewezen",
}  # fmt: skip
_TAG_REGEX = {tag: re.compile(pattern) for tag, pattern in TAG_PATTERNS.items()}


def derive_tags(description: str) -> tuple[str, ...]:
    lowered = description.lower()
    return tuple(sorted(tag for tag, regex in _TAG_REGEX.items() if regex.search(lowered)))


# --- building from the legal tables -------------------------------------------------------------------------

BOA_LIST = "feitcodes/boa_feitenlijst_vergoedingsregeling_2013.csv"
BESTUURLIJK = "feitcodes/bestuurlijke_boete_overlast_apv_bedragen_2013.csv"
WAHV = "feitcodes/wahv_mulder_feitcodes_2015-05-15.csv"
ALIGN_THRESHOLD = 0.8
_ROAD_USER = (
    ("meer dan twee wielen", "1"), ("op twee wielen", "2"), ("bromfietsers", "3"), ("fietsers", "4"),
    ("voetgangers", "5"), ("overige weggebruikers", "6"), ("schippers", "7"), ("een ieder", "8"),
)  # fmt: skip
_STOPWORDS = frozenset("te de het een of en van op aan in dan die dat is zich door met".split())


def _rows(data_dir: Path, name: str) -> list[dict[str, str]]:
    with (data_dir / name).open(encoding="utf-8-sig", newline="") as handle:
        return list(csv.DictReader(handle))


def _boa_description(row: dict[str, str]) -> str:
    # The CSV glues a section heading in front of some short texts ("Wrakken een voertuigwrak …"); where the
    # short text is a full sentence, keep the heading but separate it.
    short, full = row["omschrijving"].strip(), row["omschrijving_met_context"].strip()
    if short.startswith("–") or full == short or not full.endswith(short):
        return full
    return f"{full[: -len(short)].strip()}: {short}"


def _words(text: str) -> set[str]:
    folded = unicodedata.normalize("NFKD", text.lower())
    folded = "".join(char for char in folded if not unicodedata.combining(char))
    return set(re.findall(r"[a-z0-9]+", folded)) - _STOPWORDS


def _similarity(a: str, b: str) -> float:
    """Token overlap; the larger of Dice and containment, since the boa list sometimes drops the heading."""
    wa, wb = _words(a), _words(b)
    if not wa or not wb:
        return 0.0
    common = len(wa & wb)
    return max(2 * common / (len(wa) + len(wb)), common / min(len(wa), len(wb)))


def _align(items: list[str], codes: list[str]) -> dict[int, int]:
    """Order-preserving alignment (item i ↔ code j) maximising similarity; pairs below threshold excluded."""
    sim = [[_similarity(item, code) for code in codes] for item in items]
    best = [[0.0] * (len(codes) + 1) for _ in range(len(items) + 1)]
    for i in range(1, len(items) + 1):
        for j in range(1, len(codes) + 1):
            diagonal = (
                best[i - 1][j - 1] + sim[i - 1][j - 1] if sim[i - 1][j - 1] >= ALIGN_THRESHOLD else -1.0
            )
            best[i][j] = max(best[i - 1][j], best[i][j - 1], diagonal)
    pairs: dict[int, int] = {}
    i, j = len(items), len(codes)
    while i > 0 and j > 0:
        if sim[i - 1][j - 1] >= ALIGN_THRESHOLD and best[i][j] == best[i - 1][j - 1] + sim[i - 1][j - 1]:
            pairs[i - 1] = j - 1
            i, j = i - 1, j - 1
        elif best[i][j] == best[i - 1][j]:
            i -= 1
        else:
            j -= 1
    return pairs


def _bestuurlijk_amounts(rows: list[dict[str, str]]) -> tuple[dict[str, int], AmountScheme]:
    if not any(row["categorie"] for row in rows):
        return {"adult": int(rows[0]["boete_eur"])}, "person"
    amounts: dict[str, int] = {}
    for row in rows:
        key = next(key for phrase, key in _ROAD_USER if phrase in row["categorie"])
        amounts[key] = int(row["boete_eur"])
    return amounts, "road_user"


def _om_category(code: str) -> str:
    letters, number = code.split(" ")
    if letters == "BF":
        return "overlast"
    return "afval" if int(number[:3]) < 200 else "milieu"  # BH/H 2xx–3xx: geluid, groen, vuur, hond


def build_catalogue(data_dir: Path = DATA_DIR) -> Catalogue:
    """Build the catalogue from the three tables.

    * ``om_strafbeschikking``: the BF, BH and (p) H codes of the boa feitenlijst (Vergoedingsregeling 2013),
      without amounts: the OM tariffs are not in these tables.
    * ``bestuurlijke_boete``: the Besluit bestuurlijke boete overlast (2013) has amounts but no feitcodes. Its
      A-items follow the BF order and its B-items the BH 205–325 order. Items are matched to codes by an
      order-preserving alignment that accepts a pair only when the texts share ≥ 80 % of their words; for the
      A/B items that match, the texts are near-identical (only A.28 is wider than BF 171a: it adds "openlijk
      voorhanden hebben"), so the mapping is reliable. Items with no counterpart (A.10, A.29, A.37, A.39–A.42,
      B.9) and all C-items (categories of afvalstoffen rules, not single offences, one-to-many and not in BH
      order) stay in ``unmapped`` rather than being guessed.
    * ``mulder``: every WAHV code (2015) with its tariffs; the 40 codes of the boa feitenlijst get domain 1,
      the others 0. The N/P codes (Besluit/Regeling Voertuigen) have 17 vehicle columns in the law but only
      eight, unlabelled, in the CSV, so their amounts are dropped (scheme ``none``).
    """
    boa = _rows(data_dir, BOA_LIST)
    notes: list[str] = []
    entries: list[FeitEntry] = []
    om_by_prefix: dict[str, list[tuple[str, str]]] = {"BF": [], "BH": []}
    boa_mulder: set[str] = set()
    for row in boa:
        code = normalise_code(row["feitcode"])
        if row["prefix"] == "m R":
            boa_mulder.add(code)
            continue
        description = _boa_description(row)
        om_by_prefix.setdefault(code.split(" ")[0], []).append((code, description))
        entries.append(FeitEntry(
            code=code, description=description, track="om_strafbeschikking", amounts_eur={},
            amount_scheme="none", category=_om_category(code), tags=derive_tags(description),
        ))  # fmt: skip

    groups: dict[tuple[str, str], list[dict[str, str]]] = {}
    for row in _rows(data_dir, BESTUURLIJK):
        groups.setdefault((row["item"], row["sub"]), []).append(row)
    unmapped: list[UnmappedAmount] = []
    for section, prefix, category in (("A", "BF", "overlast"), ("B", "BH", "milieu"), ("C", "", "afval")):
        keys = [key for key in groups if key[0].startswith(section + ".")]
        codes = om_by_prefix.get(prefix, [])
        pairs = _align([groups[key][0]["omschrijving"] for key in keys], [text for _, text in codes])
        for index, key in enumerate(keys):
            description = groups[key][0]["omschrijving"].strip()
            amounts, scheme = _bestuurlijk_amounts(groups[key])
            if index in pairs:
                entries.append(FeitEntry(
                    code=codes[pairs[index]][0], description=description, track="bestuurlijke_boete",
                    amounts_eur=amounts, amount_scheme=scheme, category=category,
                    tags=derive_tags(description),
                ))  # fmt: skip
            else:
                item = key[0] + (f" sub {key[1]}" if key[1] else "")
                unmapped.append(UnmappedAmount(
                    item=item, description=description, track="bestuurlijke_boete", amounts_eur=amounts,
                    amount_scheme=scheme,
                ))  # fmt: skip

    wahv_codes: set[str] = set()
    for row in _rows(data_dir, WAHV):
        code = normalise_code(row["feitcode_spaced"])
        wahv_codes.add(code)
        description = row["omschrijving_met_context"].strip()
        if "N 010" in row["onderdeel"]:
            amounts, scheme = {}, "none"
        else:
            scheme = "speed" if "S 005" in row["onderdeel"] else "road_user"
            amounts = {
                str(n): int(row[f"tarief_cat{n}"]) for n in range(1, 9) if row[f"tarief_cat{n}"].strip()
            }
        lowered = description.lower()
        if code in boa_mulder or row["kop"] in ("IX. Stilstaan", "X. Parkeren") or "parkeren" in lowered:
            category = "parkeren"
        else:
            category = "voertuig" if code[0] in "NP" else "verkeer"
        entries.append(FeitEntry(
            code=code, description=description, track="mulder", amounts_eur=amounts,
            amount_scheme="none" if not amounts else scheme, domain=1 if code in boa_mulder else 0,
            category=category, tags=derive_tags(description),
        ))  # fmt: skip
    missing = sorted(boa_mulder - wahv_codes)
    if missing:
        notes.append(
            "Left out: on the 2013 boa feitenlijst but not in the 2015 WAHV annex (withdrawn or renumbered): "
            + ", ".join(missing)
        )
    notes.append("Mulder N/P codes: no amounts, the source CSV keeps 8 of the law's 17 vehicle columns.")
    notes.append("OM strafbeschikking: no amounts in the source tables; take them from the OM Boetebase.")
    return Catalogue(
        version="2015-05-15.1",
        valid_from=date(2015, 5, 15),
        source=(
            "Vergoedingsregeling gemeenten voor handhaving parkeren en overlast (BWBR0023836, 2013-10-24); "
            "Besluit bestuurlijke boete overlast in de openbare ruimte (BWBR0024941, 2013-03-28); "
            "Wet administratiefrechtelijke handhaving verkeersvoorschriften, bijlage (BWBR0004581, "
            "2015-05-15). Historic amounts: tariffs are indexed yearly."
        ),
        entries=tuple(sorted(entries, key=lambda entry: (TRACKS.index(entry.track), entry.code))),
        unmapped=tuple(unmapped),
        notes=tuple(notes),
    )


def write_catalogue(catalogue: Catalogue, path: Path = CATALOGUE_PATH) -> None:
    path.write_bytes(msgspec.json.format(msgspec.json.encode(catalogue), indent=1) + b"\n")


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
    words = _words(query)
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
    haystack = _words(entry.description) | _words(" ".join(entry.tags).replace("_", " ")) | set(entry.tags)
    return all(any(word.startswith(query) for word in haystack) for query in words)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m backend.registrations.catalogue")
    parser.add_argument("command", choices=["build"])
    parser.add_argument("--data-dir", type=Path, default=DATA_DIR)
    parser.add_argument("--out", type=Path, default=CATALOGUE_PATH)
    args = parser.parse_args(argv)
    catalogue = build_catalogue(args.data_dir)
    write_catalogue(catalogue, args.out)
    load_catalogue(args.out)  # what we ship must pass the same checks as an upload
    counts = {track: sum(entry.track == track for entry in catalogue.entries) for track in TRACKS}
    print(f"wrote {args.out}: {counts}, {len(catalogue.unmapped)} unmapped amounts")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
