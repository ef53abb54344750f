"""An error's field survives from the backend to the screen, and the tablet refuses what the server would."""

from __future__ import annotations

import asyncio
import re
from pathlib import Path

import httpx
import msgspec
import pytest

from tests.mobile.conftest import KIVY_MISSING

pytest.importorskip("kivy", reason=KIVY_MISSING)

from litestar.exceptions import ValidationException  # noqa: E402

from backend.errors import (  # noqa: E402
    BadInput,
    domain_error_handler,
    field_error_handler,
    validation_error_handler,
)
from mobile.api import Api, ApiError  # noqa: E402
from mobile.i18n import field_label, field_text, t  # noqa: E402
from mobile.link import Link  # noqa: E402
from mobile.outbox import Outbox  # noqa: E402
from mobile.presenters.app import AppConfig, AppPresenter  # noqa: E402
from shared.registrations import AGGRESSION_TYPES, ID_DOCUMENT_TYPES, SEVERITIES, FieldError  # noqa: E402
from tests.mobile.test_presenters import SESSION, make_app, on_shift  # noqa: E402


def answering(response: object, status: int) -> httpx.MockTransport:
    """A server answering every request with what the backend's exception handler made of an error."""
    body = msgspec.json.encode(response.content)  # type: ignore[attr-defined]
    return httpx.MockTransport(lambda request: httpx.Response(status, content=body))


async def test_a_400_from_the_backends_validation_keeps_its_field_on_the_login_screen(tmp_path: Path) -> None:
    refused = validation_error_handler(None, ValidationException(  # type: ignore[arg-type]
        detail="Validation failed for POST /api/auth/login",
        extra=[{"key": "device_id", "message": "Expected `int <= 2147483647`"}],
    ))  # fmt: skip
    app = AppPresenter(
        AppConfig(server="http://schakel.test", device_id=3, device_secret="koppel", data_dir=tmp_path),
        api=Api("http://schakel.test", transport=answering(refused, 400)),
    )
    with pytest.raises(ApiError) as caught:
        await app.api.login("boa01", "geheim", 3)
    assert (caught.value.status, caught.value.field) == (400, "device_id")
    app.login.username, app.login.password, app.login.device_id = "boa01", "geheim", "3"
    assert not await app.login.login()
    assert app.login.error.startswith("Inloggen mislukt: de server weigert de invoer")  # not its English
    assert app.login.error.endswith("(tablet-nummer)")
    await app.close()


async def test_a_422_for_a_queued_registration_shows_its_field_in_the_outbox(tmp_path: Path) -> None:
    refused = field_error_handler(None, FieldError("offender.birth_date", "geboortedatum in de toekomst"))  # type: ignore[arg-type]
    api = Api("http://schakel.test", transport=answering(refused, 422))
    outbox = Outbox(tmp_path / "o.sqlite")
    outbox.add_request(kind="registration", key="r1", method="POST", path="/api/registrations", body=b"{}")
    link = Link(api, outbox, SESSION)
    changed = asyncio.Event()
    outbox.listeners.append(changed.set)
    link._tasks = [asyncio.create_task(link._request_loop())]
    try:
        async with asyncio.timeout(5):
            while outbox.count(state="failed") == 0:
                changed.clear()
                await changed.wait()
    finally:
        await link.stop()
        await api.close()
    (failed,) = outbox.items()
    assert failed.reason == "422 geboortedatum in de toekomst (offender.birth_date)"
    outbox.close()


async def test_a_domain_error_keeps_its_field_through_the_tablets_api() -> None:
    refused = domain_error_handler(None, BadInput("geef lon en lat samen", field="lon"))  # type: ignore[arg-type]
    api = Api("http://schakel.test", transport=answering(refused, 400))
    with pytest.raises(ApiError) as caught:
        await api.feitcodes("hond", 4.9, None)
    assert (caught.value.status, caught.value.message, caught.value.field) == (
        400,
        "geef lon en lat samen",
        "lon",
    )
    await api.close()


def test_dutch_texts_for_a_field_fall_back_to_the_field_around_it() -> None:
    assert field_text("reg.error", "offender.address.city") == field_text("reg.error", "offender.address")
    assert field_text("reg.error", "witnesses.0.name") is None
    assert field_label("offender.address.house_number") == "huisnummer"
    assert field_label("staff.1.role") == "betrokken collega's"
    assert field_label("iets_nieuws") == "iets_nieuws"


@pytest.mark.parametrize(("change", "error"), [
    ({"feitcode": ""}, "Kies een feitcode"),
    ({"offender_name": ""}, "Vul naam en geboortedatum van de overtreder in"),
    ({"offender_birth": ""}, "Vul naam en geboortedatum van de overtreder in"),
    ({"offender_birth": "31-02-1990"}, "Geboortedatum als dd-mm-jjjj"),
    ({"id_number": "12"}, "Nummer identiteitsbewijs: 6 tot 20 letters en cijfers"),
    ({"house_number": "a1"}, "Vul straat, huisnummer en woonplaats van de overtreder in"),
    ({"city": ""}, "Vul straat, huisnummer en woonplaats van de overtreder in"),
    ({"offender_name": "x" * 201}, "Vul naam en geboortedatum van de overtreder in"),
    ({"statement": "x" * 4001}, "verklaring overtreder: ongeldige waarde: Expected `str` of length <= 4000"),
])  # fmt: skip
def test_a_fine_the_decoder_refuses_is_not_queued_and_says_why_in_dutch(
    tmp_path: Path, change: dict[str, str], error: str
) -> None:
    app = make_app(tmp_path)
    on_shift(app)
    app.location.fix(4.895, 52.375, accuracy_m=6)
    reg = app.register
    reg.choose_kind("fine")
    reg.query = "bf185"
    reg.choose_feitcode(reg.results[0]["code"])
    reg.offender_name, reg.offender_birth = "J. Jansen", "28-02-1990"
    reg.id_number, reg.street, reg.house_number, reg.city = "NX1234567", "Dam", "1", "Amsterdam"
    for name, value in change.items():
        setattr(reg, name, value)
    queued = app.outbox.count()
    assert not reg.save()
    assert reg.error == error
    assert app.outbox.count() == queued


@pytest.mark.parametrize(("widget", "values"), [
    ("IdType", ID_DOCUMENT_TYPES), ("AggressionType", AGGRESSION_TYPES), ("Severity", SEVERITIES),
])  # fmt: skip
def test_the_forms_choices_are_the_decoders_values_each_with_a_dutch_label(
    widget: str, values: tuple[str, ...]
) -> None:
    """The layout lists its choice buttons itself: exactly the values the decoder takes."""
    kv = (Path(__file__).parents[2] / "mobile/views/register.kv").read_text(encoding="utf-8")
    chosen = re.findall(rf"^\s+{widget}:\n\s+value: '([a-z_]+)'", kv, flags=re.MULTILINE)
    assert sorted(chosen) == sorted(values)
    prefix = {"IdType": "reg.id.", "AggressionType": "reg.aggression.", "Severity": "reg.severity."}[widget]
    assert all(t(prefix + value) != prefix + value for value in values)
