"""The one feitcode search (server route and tablet offline) and the catalogue checks, on small catalogues."""

from __future__ import annotations

from datetime import date

import msgspec
import pytest

from shared.feitcodes import Catalogue, CatalogueError, FeitEntry, decode_catalogue, search, words


def entry(code: str, description: str, track: str = "om_strafbeschikking", **over: object) -> FeitEntry:
    return FeitEntry(
        code=code, description=description, track=track, amounts_eur={}, amount_scheme="none",  # type: ignore[arg-type]
        category="overlast", **over,  # type: ignore[arg-type]
    )  # fmt: skip


CATALOGUE = Catalogue(
    version="t", valid_from=date(2026, 1, 1), source="test", entries=(
        entry("BF 185", "wildplassen op de weg"),
        entry("BF 185a", "wildplassen in het park", tags=("groen",)),
        entry("BF 121a", "alcohol nuttigen in een aangewezen gebied", tags=("alcohol",)),
        entry("BF 185", "wildplassen op de weg", track="bestuurlijke_boete"),
        entry("R 397a", "parkeren op een gehandicaptenparkeerplaats", track="mulder"),
        entry("VA 004", "snelheid overschreden", track="mulder", domain=0),
        entry("BH 205", "geluidsoverlast van een café", domain=2),
    ),
)  # fmt: skip


def codes(query: str, **over: object) -> list[str]:
    scope: dict[str, object] = {"track": "om_strafbeschikking", "domains": (1,), **over}
    return [e.code for e in search(CATALOGUE, query, **scope)]  # type: ignore[arg-type]


def test_an_exact_code_comes_first_even_before_what_applies_here() -> None:
    assert codes("bf185a", zone_tags=frozenset({"groen"}))[0] == "BF 185a"
    assert codes("bf185", zone_tags=frozenset({"groen"})) == ["BF 185", "BF 185a"]
    assert codes("185", zone_tags=frozenset({"groen"})) == ["BF 185a", "BF 185"]  # no exact code: zone first


def test_zone_then_recent_then_code() -> None:
    recent = ("R 397a", "BF 185")
    assert codes("", zone_tags=frozenset({"alcohol"}), recent=recent) == [
        "BF 121a",
        "R 397a",
        "BF 185",
        "BF 185a",
    ]


def test_words_match_word_starts_without_accents_or_filler_words() -> None:
    assert codes("wildpl de park") == ["BF 185a"]
    assert codes("cafe", domains=(2,)) == ["BH 205"]
    assert codes("lassen") == []  # not in the middle of a word
    assert words("Op de Weg, café!") == {"weg", "cafe"}


def test_scope_is_the_track_plus_mulder_and_the_boas_domains() -> None:
    assert codes("", track="bestuurlijke_boete") == ["BF 185", "R 397a"]
    assert codes("snelheid") == [] and codes("snelheid", domains=(0, 1)) == ["VA 004"]
    with pytest.raises(ValueError, match="unknown track"):
        codes("", track="boete")


def test_without_a_track_every_track_is_searched_and_a_code_shows_once() -> None:
    found = search(CATALOGUE, "wildplassen weg", track=None, domains=(1,))
    assert [(e.code, e.track) for e in found] == [("BF 185", "om_strafbeschikking")]


def test_limit() -> None:
    assert len(search(CATALOGUE, "", track=None, domains=(0, 1, 2), limit=2)) == 2


def test_a_catalogue_round_trips_and_its_checks_name_the_entry() -> None:
    assert decode_catalogue(msgspec.json.encode(CATALOGUE)) == CATALOGUE
    doubled = msgspec.structs.replace(CATALOGUE, entries=CATALOGUE.entries + CATALOGUE.entries[:1])
    with pytest.raises(CatalogueError) as caught:
        decode_catalogue(msgspec.json.encode(doubled))
    assert (caught.value.index, caught.value.field) == (len(CATALOGUE.entries), "code")
    with pytest.raises(CatalogueError) as caught:
        decode_catalogue(b"{")
    assert caught.value.field == "file"
