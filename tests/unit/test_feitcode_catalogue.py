from __future__ import annotations

import csv
from datetime import date
from pathlib import Path

import msgspec
import pytest

from backend.feitcodes.build import build_catalogue, normalise_code
from backend.feitcodes.catalogue import (
    CATALOGUE_PATH,
    DATA_DIR,
    load_catalogue,
)
from shared.feitcodes import Catalogue, CatalogueError, FeitEntry, search

FEITCODES = DATA_DIR / "feitcodes"


@pytest.fixture(scope="module")
def catalogue() -> Catalogue:
    return load_catalogue()


def _csv(name: str) -> list[dict[str, str]]:
    with (FEITCODES / name).open(encoding="utf-8", newline="") as handle:
        return list(csv.DictReader(handle))


def _entry(catalogue: Catalogue, track: str, code: str) -> FeitEntry:
    (entry,) = [e for e in catalogue.entries if e.track == track and e.code == code]
    return entry


def test_shipped_catalogue_is_what_the_tables_build() -> None:
    assert load_catalogue(CATALOGUE_PATH) == build_catalogue(DATA_DIR)


def test_shipped_catalogue_is_dated_and_versioned(catalogue: Catalogue) -> None:
    assert catalogue.valid_from == date(2015, 5, 15)
    assert catalogue.version and "BWBR0004581" in catalogue.source


def test_counts_per_track_match_the_tables(catalogue: Catalogue) -> None:
    boa = _csv("boa_feitenlijst_vergoedingsregeling_2013.csv")
    wahv = _csv("wahv_mulder_feitcodes_2015-05-15.csv")
    bestuurlijk = _csv("bestuurlijke_boete_overlast_apv_bedragen_2013.csv")
    by_track = {
        track: [e for e in catalogue.entries if e.track == track]
        for track in ("om_strafbeschikking", "bestuurlijke_boete", "mulder")
    }
    # Every BF, BH and H code of the boa list is an OM entry; all WAHV rows are Mulder entries.
    assert len(by_track["om_strafbeschikking"]) == sum(r["prefix"] != "m R" for r in boa) == 122
    assert len(by_track["mulder"]) == len(wahv) == 1205
    # Each (item, sub) of the besluit is either mapped to a code or kept unmapped, never lost or doubled.
    items = {(r["item"], r["sub"]) for r in bestuurlijk}
    assert len(by_track["bestuurlijke_boete"]) + len(catalogue.unmapped) == len(items) == 87
    assert len(by_track["bestuurlijke_boete"]) == 70
    # The boa list's 43 Mulder codes, minus R 400aa, R 402a and R 404 which the 2015 annex no longer has.
    assert sum(r["prefix"] == "m R" for r in boa) == 43
    assert sum(e.domain == 1 for e in by_track["mulder"]) == 40


def test_known_codes_have_their_legal_text_and_tariff(catalogue: Catalogue) -> None:
    parking = _entry(catalogue, "mulder", "R 397a")
    assert parking.description.startswith("als bestuurder een voertuig parkeren bij een kruispunt")
    assert parking.amounts_eur == {"1": 90, "2": 90, "6": 35}
    assert parking.amount_scheme == "road_user" and parking.domain == 1 and parking.category == "parkeren"

    assert _entry(catalogue, "mulder", "R 402b").amounts_eur["1"] == 370
    speeding = _entry(catalogue, "mulder", "VA 004")
    assert (speeding.amounts_eur, speeding.amount_scheme, speeding.domain) == (
        {"1": 26, "2": 44, "3": 26, "4": 26},
        "speed",
        0,
    )

    wildplassen = _entry(catalogue, "bestuurlijke_boete", "BF 185")
    assert "natuurlijke behoefte" in wildplassen.description
    assert wildplassen.amounts_eur == {"adult": 90}
    assert "wildplassen" in wildplassen.tags

    hondenpoep = _entry(catalogue, "bestuurlijke_boete", "BH 325a")
    assert hondenpoep.amounts_eur == {"adult": 90} and "hond" in hondenpoep.tags

    om = _entry(catalogue, "om_strafbeschikking", "BF 121a")
    assert (
        om.description
        == "Op de weg (binnen een door het college aangewezen gebied) alcoholhoudende drank nuttigen"
    )
    assert (om.amounts_eur, om.amount_scheme) == ({}, "none")  # OM tariffs are not in the tables
    assert {"alcohol", "aangewezen_gebied"} <= set(om.tags)


def test_per_road_user_bestuurlijke_boete_uses_wahv_category_numbers(catalogue: Catalogue) -> None:
    recreatie = _entry(catalogue, "bestuurlijke_boete", "BF 212a")  # besluit A.36, a. … g.
    assert recreatie.amounts_eur == {"1": 60, "2": 60, "3": 40, "4": 20, "6": 20, "7": 60, "8": 60}


def test_items_without_a_code_stay_unmapped(catalogue: Catalogue) -> None:
    items = {u.item for u in catalogue.unmapped}
    assert {"A.10", "A.29", "B.9", "C.2"} <= items
    assert all(u.amounts_eur for u in catalogue.unmapped)


@pytest.mark.parametrize(
    ("raw", "code"),
    [
        ("BF 070a", "BF 070a"),
        ("m R 397 a", "R 397a"),
        ("p H 325 b", "H 325b"),
        ("r397A", "R 397a"),
        ("F 185", "F 185"),
        ("bf70a", "BF 070a"),
        ("R 400 aa", "R 400aa"),
        ("  VA004 ", "VA 004"),
    ],
)
def test_code_normalisation(raw: str, code: str) -> None:
    assert normalise_code(raw) == code


@pytest.mark.parametrize("raw", ["", "397", "ABC 123", "R 1234", "R-397", "R 397abc"])
def test_code_normalisation_rejects_non_codes(raw: str) -> None:
    with pytest.raises(ValueError):
        normalise_code(raw)


def test_search_puts_entries_for_the_zone_first_then_by_code(catalogue: Catalogue) -> None:
    plain = search(catalogue, "op de weg", track="bestuurlijke_boete", domains={1}, limit=200)
    in_zone = search(
        catalogue,
        "op de weg",
        track="bestuurlijke_boete",
        domains={1},
        zone_tags=frozenset({"hond"}),
        limit=200,
    )
    assert sorted(e.code for e in plain) == sorted(e.code for e in in_zone)
    assert [e.code for e in plain] == sorted(e.code for e in plain)
    flags = ["hond" in e.tags for e in in_zone]
    assert flags[0] and not flags[-1] and flags == sorted(flags, reverse=True)
    first = [e.code for e in in_zone if "hond" in e.tags]
    assert first == sorted(first) and "BF 145a" in first


def test_search_alcohol_zone_offers_alcohol_offences_first(catalogue: Catalogue) -> None:
    hits = search(
        catalogue, "", track="om_strafbeschikking", domains={1}, zone_tags=frozenset({"alcohol"}), limit=3
    )
    assert [e.code for e in hits[:2]] == ["BF 121a", "BF 121b"]


def test_search_respects_track_and_domain(catalogue: Catalogue) -> None:
    om = search(catalogue, "BF 185", track="om_strafbeschikking", domains={1})
    assert [(e.track, e.code) for e in om] == [("om_strafbeschikking", "BF 185")]
    boete = search(
        catalogue, "f185", track="bestuurlijke_boete", domains={1}
    )  # the B was optional in the lists
    assert [(e.track, e.amounts_eur) for e in boete] == [("bestuurlijke_boete", {"adult": 90})]
    # Mulder is always allowed, whatever the overlast track.
    assert [e.code for e in search(catalogue, "R 397a", track="om_strafbeschikking", domains={1})] == [
        "R 397a"
    ]
    # Speeding is no boa work: domain 0.
    assert search(catalogue, "VA 004", track="bestuurlijke_boete", domains={1}) == []
    assert [e.code for e in search(catalogue, "VA 004", track="bestuurlijke_boete", domains={0})] == [
        "VA 004"
    ]


def test_search_by_words_is_case_insensitive_and_matches_word_starts(catalogue: Catalogue) -> None:
    codes = [e.code for e in search(catalogue, "Hond AANGELIJND", track="om_strafbeschikking", domains={1})]
    assert codes == ["BF 145a", "BF 150a", "BF 150b"]
    assert [e.code for e in search(catalogue, "alcohol", track="om_strafbeschikking", domains={1})] == [
        "BF 121a",
        "BF 121b",
    ]
    assert len(search(catalogue, "parkeren", track="om_strafbeschikking", domains={1}, limit=5)) == 5


def test_search_rejects_unknown_track(catalogue: Catalogue) -> None:
    with pytest.raises(ValueError):
        search(catalogue, "x", track="boete", domains={1})


def _shipped() -> dict[str, object]:
    document = msgspec.json.decode(CATALOGUE_PATH.read_bytes())
    assert isinstance(document, dict)
    return document


def _with_entry_change(index: int, **changes: object) -> bytes:
    document = _shipped()
    entries = document["entries"]
    assert isinstance(entries, list)
    entries[index].update(changes)
    for key, value in changes.items():
        if value is None:
            del entries[index][key]
    return msgspec.json.encode(document)


@pytest.mark.parametrize(
    ("index", "changes", "field"),
    [
        (5, {"code": "R397"}, "code"),
        (7, {"code": "f 185"}, "code"),
        (8, {"track": "gemeente"}, "track"),
        (9, {"description": ""}, "description"),
        (10, {"description": None}, "description"),
        (11, {"amounts_eur": {"adult": -5}, "amount_scheme": "person"}, "amounts_eur"),
        (12, {"amounts_eur": {"9": 5}, "amount_scheme": "road_user"}, "amounts_eur"),
        (13, {"amounts_eur": {"adult": 60}, "amount_scheme": "road_user"}, "amounts_eur"),
        (14, {"amounts_eur": {}, "amount_scheme": "person"}, "amounts_eur"),
        (15, {"domain": 7}, "domain"),
        (16, {"tags": ["Alcohol!"]}, "tags"),
        (17, {"amounts_eur": {"adult": "60"}, "amount_scheme": "person"}, "amounts_eur"),
    ],
)
def test_bad_replacement_file_names_entry_and_field(
    index: int, changes: dict[str, object], field: str
) -> None:
    with pytest.raises(CatalogueError) as info:
        load_catalogue(_with_entry_change(index, **changes))
    assert (info.value.index, info.value.field) == (index, field)
    assert f"entry {index}" in str(info.value)


def test_duplicate_code_in_a_track_is_rejected() -> None:
    document = _shipped()
    entries = document["entries"]
    assert isinstance(entries, list)
    entries.insert(3, dict(entries[0]))
    with pytest.raises(CatalogueError) as info:
        load_catalogue(msgspec.json.encode(document))
    assert (info.value.index, info.value.field) == (3, "code")


@pytest.mark.parametrize(
    ("data", "field"),
    [
        (b"not json", "file"),
        (b'{"version": "x", "source": "y", "entries": []}', "valid_from"),
        (b'{"version": "x", "valid_from": "2026-13-01", "source": "y", "entries": []}', "valid_from"),
        (b'{"version": "x", "valid_from": "2026-01-01", "source": "y", "entries": []}', "entries"),
    ],
)
def test_bad_replacement_file_without_entry_index(data: bytes, field: str) -> None:
    with pytest.raises(CatalogueError) as info:
        load_catalogue(data)
    assert (info.value.index, info.value.field) == (None, field)


def test_unreadable_path_is_a_catalogue_error(tmp_path: Path) -> None:
    with pytest.raises(CatalogueError) as info:
        load_catalogue(tmp_path / "missing.json")
    assert info.value.field == "file"
