"""Build the shipped feitcode catalogue from the legal tables in ``data/feitcodes/`` (a tool, not run time).

``python -m backend.feitcodes.build`` reads the three CSV tables (see their NOTICE.md), maps them to the
catalogue's tracks and writes ``data/feitcode_catalogue.json``, which the server loads. The output must pass
the same checks as an administrator's upload (:func:`backend.feitcodes.catalogue.load_catalogue`).
"""

from __future__ import annotations

import argparse
import csv
import re
from datetime import date
from pathlib import Path

import msgspec

from backend.feitcodes.catalogue import CATALOGUE_PATH, DATA_DIR, load_catalogue
from shared.feitcodes import TRACKS, AmountScheme, Catalogue, FeitEntry, UnmappedAmount, words


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


def _similarity(a: str, b: str) -> float:
    """Token overlap; the larger of Dice and containment, since the boa list sometimes drops the heading."""
    wa, wb = words(a), words(b)
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


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m backend.feitcodes.build")
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
