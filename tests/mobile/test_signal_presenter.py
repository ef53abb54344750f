"""Melden aan de gemeente from the tablet: the observation waits in the outbox (a dead zone loses nothing)
with its own event id, and goes out as the backend's observation body."""

from __future__ import annotations

import uuid
from pathlib import Path

import msgspec
import pytest

from tests.mobile.conftest import KIVY_MISSING

pytest.importorskip("kivy", reason=KIVY_MISSING)

from mobile.outbox import Outbox  # noqa: E402
from mobile.presenters.signal import PATH, SignalPresenter  # noqa: E402
from shared.signalen import Observation  # noqa: E402


class Fix:
    """Where the tablet is (the LocationSource the presenters read)."""

    lon, lat, accuracy_m, has_fix = 4.8970, 52.3745, 6.0, True
    track: list[tuple[float, float]] = []

    def bind(self, **_: object) -> None:
        return None


def test_an_observation_waits_in_the_outbox_as_the_backends_body(tmp_path: Path) -> None:
    outbox = Outbox(tmp_path / "outbox.sqlite")
    p = SignalPresenter(outbox, Fix())
    assert not p.save() and "Kies" in p.error
    p.choose(p.choices[0]["value"])
    p.text = "x"
    assert not p.save() and "Beschrijf" in p.error
    p.text = "Lantaarnpaal knippert, kabel hangt los"
    assert p.save() and p.error == "" and "Verzenden" in p.saved
    assert p.text == "" and p.category == ""  # ready for the next one
    item, _ = outbox.next_request()
    assert item is not None and item.method == "POST" and item.path == PATH and item.kind == "signal"
    body = msgspec.json.decode(item.body, type=Observation)
    assert body.category == "wegen-verkeer-straatmeubilair/straatverlichting-openbare-klok"
    assert (body.lon, body.lat) == (4.8970, 52.3745) and str(body.event_id) == item.key
    assert uuid.UUID(item.key).version == 4
    [shown] = [i for i in outbox.items() if i.kind == "signal"]
    assert shown.summary.startswith("Straatverlichting: Lantaarnpaal knippert")


def test_without_a_position_nothing_is_queued(tmp_path: Path) -> None:
    outbox = Outbox(tmp_path / "outbox.sqlite")
    nowhere = Fix()
    nowhere.has_fix = False
    p = SignalPresenter(outbox, nowhere)
    p.choose("afval/grofvuil")
    p.text = "Bank en matras naast de container"
    assert not p.save() and "GPS" in p.error
    assert outbox.next_request() == (None, None)
