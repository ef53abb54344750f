"""The registrations and GIR exports as a gemeente opens them in Dutch Excel: a BOM, semicolons, Dutch column
labels, names where the database holds ids (boa, unit, beat, gemeente), the feitcode with its text, and
local times whose zone the label states."""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import httpx
import pytest

from tests.conftest import new_database
from tests.integration.registrations_kit import aggression, environment, fine, waarneming, world_template
from tests.integration.world import World

NAMES_SQL = """UPDATE accounts SET display_name = 'Anouk de Vries-Ëlzinga' WHERE username = 'boa_a';
               UPDATE accounts SET display_name = 'Noël Bakker' WHERE username = 'boa_a2';
               UPDATE organisations SET name = 'Gemeente Súdwest-Fryslân' WHERE code = 'gemeente-a';"""


@pytest.fixture(scope="module")
async def world_db(pg_server: str, template_db: str) -> tuple[str, World]:
    return await world_template(pg_server, template_db)


@pytest.fixture
async def db(pg_server: str, world_db: tuple[str, World]) -> tuple[str, World]:
    return await new_database(pg_server, world_db[0]), world_db[1]


def as_excel_reads(response: httpx.Response) -> list[dict[str, str]]:
    """Rows as a Dutch Excel opens the file by double-click: UTF-8 only with a BOM, ';' between cells."""
    assert response.status_code == 200 and response.headers["content-type"].startswith("text/csv")
    assert response.content.startswith(b"\xef\xbb\xbf")
    text = response.content[3:].decode("utf-8")
    assert "\r\n" in text
    return list(csv.DictReader(io.StringIO(text, newline=""), delimiter=";"))


async def test_registrations_csv_has_dutch_labels_and_names_instead_of_ids(
    db: tuple[str, World], tmp_path: Path
) -> None:
    database, world = db
    at = (datetime.now(UTC) - timedelta(hours=2)).replace(second=0, microsecond=0)
    local = at.astimezone(ZoneInfo("Europe/Amsterdam"))
    async with environment(db, tmp_path, NAMES_SQL) as env:
        body = fine(occurred_at=at.isoformat(), unit_id=world.unit_a, boa_ids=[env.accounts["boa_a2"]])
        assert (await env["boa_a"].post("/api/registrations", json=body)).status_code == 201
        seen = waarneming(text="Afval; naast de container")
        assert (await env["boa_a"].post("/api/registrations", json=seen)).status_code == 201
        rows = as_excel_reads(await env["lead_a"].get("/api/reports/registrations.csv"))
        by_kind = {row["Soort"]: row for row in rows}
        assert set(by_kind) == {"boete", "waarneming"}
        row = by_kind["boete"]
        assert (
            row["Opgesteld door"] == "Anouk de Vries-Ëlzinga"
            and row["Boa's"] == "Anouk de Vries-Ëlzinga, Noël Bakker"
        )
        assert row["Eenheid"] == "A-01" and row["Gebied"] == "Burgwallen-Oude Zijde"
        assert row["Gemeente"] == "Gemeente Súdwest-Fryslân"
        assert row["Feitcode"] == "BF 185" and len(row["Omschrijving feit"]) > 10
        assert row["Datum en tijd (Europe/Amsterdam)"] == local.strftime("%d-%m-%Y %H:%M")
        assert row["Status"] == "actief" and row["Adres"] == "Oudekerksplein 1"
        assert row["Naam betrokkene"] == "Jan Jansen" and row["Geboortedatum"] == "01-04-1990"
        assert row["Kenmerk"].count("-") == 2  # the kenmerk a citizen quotes
        assert by_kind["waarneming"]["Verklaring / tekst"] == "Afval; naast de container"  # ; in a cell
        # no database id where a name exists: none of the ids appears as a cell
        ids = {str(i) for i in (world.unit_a, env.accounts["boa_a"], env.accounts["boa_a2"], world.org_a)}
        ids |= {str(i) for i in world.beats_a.values()}
        for column in ("Opgesteld door", "Boa's", "Eenheid", "Gebied", "Gemeente"):
            assert row[column] not in ids and not row[column].startswith("#")
        assert not any(label.islower() for label in rows[0])  # Dutch labels, not column names


async def test_gir_csv_has_dutch_labels_and_staff_by_role_only(db: tuple[str, World], tmp_path: Path) -> None:
    at = (datetime.now(UTC) - timedelta(hours=3)).replace(second=0, microsecond=0)
    local = at.astimezone(ZoneInfo("Europe/Amsterdam"))
    async with environment(db, tmp_path, NAMES_SQL) as env:
        incident = aggression(occurred_at=at.isoformat(), staff=[{"role": "boa"}, {"role": "teamleider"}])
        assert (await env["boa_a"].post("/api/registrations", json=incident)).status_code == 201
        [row] = as_excel_reads(await env["lead_a"].get("/api/reports/gir.csv"))
        assert row["Gemeente"] == "Gemeente Súdwest-Fryslân" and row["Gebied"] == "Burgwallen-Oude Zijde"
        assert row["Datum (Europe/Amsterdam)"] == local.strftime("%d-%m-%Y")
        assert row["Tijd (Europe/Amsterdam)"] == local.strftime("%H:%M")
        assert row["Soort agressie"] == "verbaal bedreiging" and row["Ernst"] == "middel"
        assert row["Betrokken medewerkers (functie)"] == "boa, teamleider"
        assert row["Dader bekend"] == "nee" and row["Status"] == "actief"
        assert "Anouk" not in ";".join(row.values())  # staff by role, never by name
