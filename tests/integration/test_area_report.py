"""The area report over HTTP: its figures equal what the test made, its exports hold them, who may ask."""

from __future__ import annotations

import io
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from pypdf import PdfReader

from tests.conftest import new_database
from tests.integration.area_report_kit import (
    EXPECTED_NZ,
    EXPECTED_OZ,
    EXPECTED_P1,
    EXPECTED_TOTAL,
    NZ_NAME,
    OZ_NAME,
    create_activity,
    last_month,
)
from tests.integration.registrations_kit import environment, waarneming, world_template
from tests.integration.world import World


@pytest.fixture(scope="module")
async def world_db(pg_server: str, template_db: str) -> tuple[str, World]:
    return await world_template(pg_server, template_db)


@pytest.fixture
async def db(pg_server: str, world_db: tuple[str, World]) -> tuple[str, World]:
    return await new_database(pg_server, world_db[0]), world_db[1]


def _beat(report: dict[str, Any], name: str) -> dict[str, Any]:
    (found,) = [b for b in report["beats"] if b["name"] == name]
    return found


def _subset(figures: dict[str, Any], expected: dict[str, Any]) -> dict[str, Any]:
    return {k: figures[k] for k in expected}


async def test_figures_per_beat_and_in_total_equal_what_happened(
    db: tuple[str, World], tmp_path: Path
) -> None:
    m = last_month(datetime.now(UTC))
    async with environment(db, tmp_path) as env:
        await create_activity(env, db[0], m)
        r = await env["lead_a"].get("/api/reports/area", params={"month": m.month})
        assert r.status_code == 200, r.text
        report = r.json()
        assert report["month"] == m.month and report["org_name"] == "Gemeente A" and not report["empty"]
        oz, nz, total = _beat(report, OZ_NAME), _beat(report, NZ_NAME), report["total"]
        assert _subset(oz, EXPECTED_OZ) == EXPECTED_OZ
        assert _subset(nz, EXPECTED_NZ) == EXPECTED_NZ
        assert _subset(total, EXPECTED_TOTAL) == EXPECTED_TOTAL
        assert oz["response"]["1"] == EXPECTED_P1
        assert oz["response"]["3"] == {"count": 0, "median_s": None, "p90_s": None}  # never on scene
        assert nz["response"]["2"] == {"count": 1, "median_s": 600.0, "p90_s": 600.0}
        assert total["response"]["1"] == EXPECTED_P1
        (group,) = oz["enforcement"].values()  # BF 185's catalogue group: one warning, two PV's
        assert group == {"waarschuwing": 1, "pv": 2}
        # the trend ends with this month and carries its totals
        assert len(report["trend"]) == 12 and report["trend"][-1]["month"] == m.month
        assert report["trend"][-1]["meldingen"] == 5 and report["trend"][-1]["fines"] == 3
        assert report["trend"][-1]["response_p1_median_s"] == 420.0

        # another gemeente's team lead sees none of it
        other = (await env["lead_b"].get("/api/reports/area", params={"month": m.month})).json()
        assert other["empty"] and other["total"]["meldingen_total"] == 0


async def test_month_is_checked_and_only_leads_may_ask(db: tuple[str, World], tmp_path: Path) -> None:
    async with environment(db, tmp_path) as env:
        for month, why in (("2026-13", "JJJJ-MM"), ("juni", "JJJJ-MM"), ("2199-01", "nog niet begonnen")):
            r = await env["lead_a"].get("/api/reports/area", params={"month": month})
            assert r.status_code == 400, (month, r.text)
            assert r.json()["field"] == "month" and why in r.json()["detail"], r.json()
        r = await env["lead_a"].get("/api/reports/area", params={"month": "2025-01"})
        assert r.status_code == 200 and r.json()["empty"] is True
        r = await env["boa_a"].post("/api/registrations", json=waarneming(warning_feitcode="ZZ 999"))
        assert r.status_code == 400 and r.json()["field"] == "warning_feitcode"
        for user in ("boa_a", "operator_mk"):
            for path in ("/api/reports/area", "/api/reports/area.csv", "/api/reports/area.pdf"):
                assert (await env[user].get(path, params={"month": "2025-01"})).status_code == 403
        assert (await env["admin_a"].get("/api/reports/area", params={"month": "2025-01"})).status_code == 200


async def test_csv_and_pdf_hold_the_figures(db: tuple[str, World], tmp_path: Path) -> None:
    m = last_month(datetime.now(UTC))
    async with environment(db, tmp_path) as env:
        await create_activity(env, db[0], m)
        r = await env["lead_a"].get("/api/reports/area.csv", params={"month": m.month})
        assert r.status_code == 200
        assert r.headers["content-type"].startswith("text/csv")
        assert f"rapportage-{m.month}.csv" in r.headers["content-disposition"]
        assert r.content.startswith(b"\xef\xbb\xbf")  # the BOM: Excel reads UTF-8
        lines = r.content.decode("utf-8-sig").splitlines()
        header = next(line.split(";") for line in lines if line.startswith("Buurtcode;Gebied;Meldingen;"))
        row = dict(
            zip(header, next(line.split(";") for line in lines if f";{OZ_NAME};" in line), strict=False)
        )
        assert row["Meldingen"] == "4" and row["Waarschuwingen"] == "1" and row["PV (OM)"] == "2"
        assert row["Politie-assistenties"] == "2" and row["Straaturen boa's"] == "2,2"  # decimal comma
        assert (
            row["Aanrijtijd prio 1 mediaan (min)"] == "7,0" and row["Aanrijtijd prio 1 p90 (min)"] == "15,0"
        )
        assert row["Meldingen Afval"] == "2"
        assert any(line.startswith(";Totaal;5;") for line in lines)

        r = await env["lead_a"].get("/api/reports/area.pdf", params={"month": m.month})
        assert r.status_code == 200 and r.headers["content-type"] == "application/pdf"
        pdf = PdfReader(io.BytesIO(r.content))
        assert len(pdf.pages) >= 4
        text = "\n".join(page.extract_text() for page in pdf.pages)
        assert "Rapportage per gebied" in text and "Gemeente A" in text
        assert OZ_NAME in text and NZ_NAME in text and "Bronnen en definities" in text
        assert "Trend over twaalf maanden" in text
        assert "7:00" in text and "15:00" in text  # prio 1 median and p90 in Oude Zijde
        assert "2,2" in text and "3,2" in text  # street hours

        empty = await env["lead_a"].get("/api/reports/area.pdf", params={"month": "2025-01"})
        text = "\n".join(p.extract_text() for p in PdfReader(io.BytesIO(empty.content)).pages)
        assert "Geen gegevens" in text
