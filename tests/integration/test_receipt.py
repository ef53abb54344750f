"""The receipt of a fine as a citizen gets it: a short kenmerk he can quote (stable, unique in the gemeente),
the place, the offence and the amount (or plainly none), as HTML, as a PDF and as the tablet reads it."""

from __future__ import annotations

import io
import re
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

import asyncpg
import pytest
from pypdf import PdfReader

from backend.registrations import kenmerk
from tests.conftest import new_database
from tests.integration.registrations_kit import environment, fine, world_template
from tests.integration.world import OUDE_ZIJDE, World

KENMERK = re.compile(r"^\d{2}-[0-9A-HJKMNP-TV-Z]{4}-[0-9A-HJKMNP-TV-Z]{4}$")


@pytest.fixture(scope="module")
async def world_db(pg_server: str, template_db: str) -> tuple[str, World]:
    return await world_template(pg_server, template_db)


@pytest.fixture
async def db(pg_server: str, world_db: tuple[str, World]) -> tuple[str, World]:
    return await new_database(pg_server, world_db[0]), world_db[1]


def pdf_text(data: bytes) -> str:
    return "\n".join(page.extract_text() for page in PdfReader(io.BytesIO(data)).pages)


async def test_the_receipt_pdf_holds_the_kenmerk_the_amount_and_the_place(
    db: tuple[str, World], tmp_path: Path
) -> None:
    extra = "UPDATE organisations SET fine_track = 'bestuurlijke_boete' WHERE code = 'gemeente-a'"
    async with environment(db, tmp_path, extra) as env:
        body = fine()
        assert (await env["boa_a"].post("/api/registrations", json=body)).status_code == 201
        view = await env["boa_a"].get(f"/api/registrations/{body['id']}/receipt.json")
        assert view.status_code == 200, view.text
        shown = view.json()
        code = shown["kenmerk"]
        assert KENMERK.match(code) and code.startswith(datetime.now(UTC).strftime("%y"))
        assert shown["amount"] == "€ 90,00" and shown["has_amount"] is True
        assert shown["place"] == "Oudekerksplein 1" and shown["offence"]
        pdf = await env["boa_a"].get(f"/api/registrations/{body['id']}/receipt.pdf")
        assert pdf.status_code == 200 and pdf.headers["content-type"] == "application/pdf"
        assert f'filename="aankondiging-{code}.pdf"' in pdf.headers["content-disposition"]
        text = pdf_text(pdf.content)
        assert code in text and "Oudekerksplein 1" in text
        assert "€ 90,00" in text  # the embedded font has the euro sign (the core font wrote EUR)
        assert "Aankondiging van bestuurlijke boete" in text and "Jan Jansen" in text
        html = await env["boa_a"].get(f"/api/registrations/{body['id']}/receipt")
        assert code in html.text and body["id"] in html.text  # the UUID stays, in the small print
        again = (await env["lead_a"].get(f"/api/registrations/{body['id']}/receipt.json")).json()
        assert again["kenmerk"] == code  # stable: stored, not drawn anew
        assert (await env["boa_b"].get(f"/api/registrations/{body['id']}/receipt.pdf")).status_code == 404


async def test_without_an_address_the_buurt_and_without_a_tariff_plainly_no_amount(
    db: tuple[str, World], tmp_path: Path
) -> None:
    async with environment(db, tmp_path) as env:  # the OM track: the shipped tables have no tarieven
        body = fine(location={"lon": OUDE_ZIJDE[0], "lat": OUDE_ZIJDE[1]})
        r = await env["boa_a"].post("/api/registrations", json=body)
        assert r.status_code == 201, r.text
        shown = (await env["boa_a"].get(f"/api/registrations/{body['id']}/receipt.json")).json()
        assert shown["place"].startswith("buurt Burgwallen-Oude Zijde (52.37")
        assert shown["amount"].startswith("bedrag niet in de catalogus") and shown["has_amount"] is False
        text = pdf_text((await env["boa_a"].get(f"/api/registrations/{body['id']}/receipt.pdf")).content)
        assert "bedrag niet in de catalogus" in text and "Burgwallen-Oude Zijde" in text


async def test_kenmerken_are_unique_in_a_gemeente_even_when_two_derive_alike(
    db: tuple[str, World], tmp_path: Path
) -> None:
    database_url, world = db
    async with environment(db, tmp_path) as env:
        bodies = [fine() for _ in range(30)]
        for body in bodies:
            assert (await env["boa_a"].post("/api/registrations", json=body)).status_code == 201
        codes = [
            (await env["boa_a"].get(f"/api/registrations/{b['id']}/receipt.json")).json()["kenmerk"]
            for b in bodies
        ]
        assert len(set(codes)) == 30 and all(KENMERK.match(c) for c in codes)
    conn = await asyncpg.connect(database_url)
    try:
        stored = await conn.fetchval(
            "SELECT count(*) FROM registration_kenmerken WHERE org_id = $1", world.org_a
        )
        assert stored == 30  # every fine got its kenmerk when it was stored
        # a fine whose first derivation is taken in its gemeente (forced here) takes the next one
        taken = uuid.UUID(bodies[0]["id"])
        other = uuid.uuid4()
        at = datetime.now(UTC)
        row = await conn.fetchrow("SELECT * FROM registrations WHERE id = $1", taken)
        await conn.execute(
            "INSERT INTO registrations (id, org_id, kind, regime, author_id, occurred_at, lon, lat, "
            "category, submitted, details) VALUES ($1, $2, 'fine', $3, $4, $5, $6, $7, $8, $9, $10)",
            other, row["org_id"], row["regime"], row["author_id"], at, row["lon"], row["lat"],
            row["category"], row["submitted"], row["details"],
        )  # fmt: skip
        await conn.execute(
            "UPDATE registration_kenmerken SET kenmerk = $2 WHERE registration_id = $1",
            taken,
            kenmerk.derive(other, at),
        )
        assigned = await kenmerk.assign(conn, world.org_a, other, at)
        assert assigned == kenmerk.derive(other, at, 1) != kenmerk.derive(other, at)
        assert await kenmerk.assign(conn, world.org_a, other, at) == assigned  # stable once stored
    finally:
        await conn.close()


def test_the_kenmerk_is_derived_the_same_way_every_time() -> None:
    registration = uuid.UUID("6f1c2d3e-4a5b-4c6d-8e7f-0123456789ab")
    at = datetime(2026, 12, 31, 23, 30, tzinfo=UTC)  # already 2027 in Amsterdam
    assert kenmerk.derive(registration, at) == kenmerk.derive(registration, at)
    assert kenmerk.derive(registration, at).startswith("27-") and KENMERK.match(
        kenmerk.derive(registration, at)
    )
    assert not set(kenmerk.derive(registration, at, 5)) & set("ILOU")


async def test_registrations_and_gir_csv_open_in_dutch_excel_with_local_times(
    db: tuple[str, World], tmp_path: Path
) -> None:
    from zoneinfo import ZoneInfo

    from tests.integration.registrations_kit import aggression

    at = (datetime.now(UTC) - timedelta(hours=1)).replace(second=0, microsecond=0)
    local = at.astimezone(ZoneInfo("Europe/Amsterdam"))  # one or two hours on from UTC: never the same
    async with environment(db, tmp_path) as env:
        body = fine(occurred_at=at.isoformat(), statement="=1+2 betaald")
        assert (await env["boa_a"].post("/api/registrations", json=body)).status_code == 201
        incident = aggression(occurred_at=at.isoformat())
        assert (await env["boa_a"].post("/api/registrations", json=incident)).status_code == 201
        r = await env["lead_a"].get("/api/reports/registrations.csv?kind=fine")
        assert r.status_code == 200 and r.headers["content-type"].startswith("text/csv")
        assert r.content.startswith(b"\xef\xbb\xbf")  # UTF-8 with a BOM: Excel reads it as UTF-8
        lines = r.content.decode("utf-8-sig").split("\r\n")
        header, row = lines[0].split(";"), lines[1].split(";")
        fields = dict(zip(header, row, strict=True))
        shown = fields["Datum en tijd (Europe/Amsterdam)"]
        assert shown == local.strftime("%d-%m-%Y %H:%M") != at.strftime("%d-%m-%Y %H:%M")
        assert fields["Geboortedatum"] == "01-04-1990" and fields["Lengtegraad"].startswith("4,")
        assert fields["Verklaring / tekst"] == "'=1+2 betaald"  # no formula from what the offender said
        gir = await env["lead_a"].get("/api/reports/gir.csv")
        assert gir.content.startswith(b"\xef\xbb\xbf")
        lines = gir.content.decode("utf-8-sig").split("\r\n")
        fields = dict(zip(lines[0].split(";"), lines[1].split(";"), strict=True))
        shown = fields["Datum (Europe/Amsterdam)"], fields["Tijd (Europe/Amsterdam)"]
        assert shown == (local.strftime("%d-%m-%Y"), local.strftime("%H:%M"))


async def test_the_receipt_pdf_page_prints_the_euro_sign_and_diacritics_as_rendered(
    db: tuple[str, World], tmp_path: Path
) -> None:
    """The A5 page as a viewer draws it (pypdfium2), saved as docs/screenshots/receipt-pdf.png when asked."""
    import os

    import pypdfium2

    extra = """UPDATE organisations SET fine_track = 'bestuurlijke_boete', name = 'Gemeente Amsterdam'
               WHERE code = 'gemeente-a'"""
    async with environment(db, tmp_path, extra) as env:
        offender = {**fine()["offender"], "name": "Noël Çelik-Hoëvenaars"}
        location = {
            "lon": OUDE_ZIJDE[0],
            "lat": OUDE_ZIJDE[1],
            "address": "Oudekerksplein 23, bij café ’t Oude Hoekje",
        }
        body = fine(offender=offender, location=location, statement="Ik wist niet dat het hier niet mocht.")
        assert (await env["boa_a"].post("/api/registrations", json=body)).status_code == 201
        pdf = (await env["boa_a"].get(f"/api/registrations/{body['id']}/receipt.pdf")).content
        text = pdf_text(pdf)
        assert "€ 90,00" in text and "Noël Çelik-Hoëvenaars" in text and "café ’t Oude Hoekje" in text
        page = pypdfium2.PdfDocument(pdf)[0]
        image = page.render(scale=2.5).to_pil()
        assert (
            image.width > 1000 and len(image.convert("L").getcolors(maxcolors=4096) or []) > 10
        )  # drawn, not blank
        target = Path(os.environ.get("SCHAKEL_SCREENSHOTS") or tmp_path)
        target.mkdir(parents=True, exist_ok=True)
        image.save(target / "receipt-pdf.png")
