"""What Schakel makes of Signalen's API shapes: a signal becomes a melding, a timeline line a write-back."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest

from backend.signalen import logic
from backend.signalen.sync import backoff_s

SIGNAL = {
    "id": 1234,
    "created_at": "2026-11-30T09:15:00+00:00",
    "text": "Fietswrak tegen de brug",
    "category": {
        "sub": "Fietswrak",
        "sub_slug": "fietswrak",
        "main": "Overlast",
        "main_slug": "overlast",
        "deadline": "2026-12-03T09:15:00+00:00",
        "departments": "ASC",
    },
    "location": {"geometrie": {"type": "Point", "coordinates": [4.897, 52.3745]}, "address_text": "Dam 1"},
    "status": {"state": "m", "state_display": "Gemeld", "text": None},
    "priority": {"priority": "high"},
    "source": "online",
    "extra": "fields Schakel does not read are ignored",
}


def page(results: list[dict[str, object]], next_href: str | None) -> bytes:
    return json.dumps(
        {"_links": {"self": {"href": "x"}, "next": {"href": next_href}}, "count": 1, "results": results}
    ).encode()


def test_a_signal_becomes_a_melding_with_its_deadline_and_the_gemeentes_mapping() -> None:
    [signal], nxt = logic.decode_page(page([SIGNAL], None))
    assert nxt is None
    m = logic.melding(signal, logic.Mapping(domain=4, priority=None))
    assert (m.external_id, m.category, m.priority, m.required_domain) == ("1234", "Fietswrak", 1, 4)
    assert (m.lon, m.lat, m.address) == (4.897, 52.3745, "Dam 1")
    assert m.deadline == datetime(2026, 12, 3, 9, 15, tzinfo=UTC)
    assert "Afhandelen vóór 03-12-2026 10:15" in m.description  # local time
    assert logic.melding(signal, logic.Mapping(domain=1, priority=3)).priority == 3


def test_a_signal_without_a_usable_point_is_malformed() -> None:
    for coordinates in ([121000.0, 487000.0], [0.0, 0.0]):  # RD metres; the null island
        raw = {**SIGNAL, "location": {"geometrie": {"type": "Point", "coordinates": coordinates}}}
        [signal], _ = logic.decode_page(page([raw], None))
        with pytest.raises(logic.Malformed):
            logic.melding(signal, logic.Mapping(domain=1, priority=None))


def test_the_next_page_link_is_followed_and_bad_bodies_are_malformed() -> None:
    _, nxt = logic.decode_page(page([], "http://s/signals/v1/private/signals/?page=2"))
    assert nxt == "http://s/signals/v1/private/signals/?page=2"
    for raw in (b'{"_links": {', b"[]", json.dumps({"results": [{"id": "x"}]}).encode()):
        with pytest.raises(logic.Malformed):
            logic.decode_page(raw)


@pytest.mark.parametrize(
    ("kind", "text", "state", "is_note"),
    [
        ("task_state", "HH-03: geaccepteerd", "b", False),
        ("task_state", "HH-03: ter plaatse", None, True),
        ("task_state", "HH-03: afgerond — fiets verwijderd", None, True),
        ("task_state", "HH-03: geweigerd", None, True),
        ("closed", "melding afgerond", "o", False),
    ],
)
def test_the_boas_progress_as_signalen_hears_it(
    kind: str, text: str, state: str | None, is_note: bool
) -> None:
    update = logic.update_for(kind, text)
    assert update is not None and update.state == state
    assert (update.state is None) == is_note


@pytest.mark.parametrize(
    ("kind", "text"),
    [
        ("task_state", "HH-03: aanrijdend"),
        ("assigned", "HH-03"),
        ("created", "x"),
        ("task_state", "HH-03: geannuleerd"),
    ],
)
def test_lines_signalen_need_not_hear(kind: str, text: str) -> None:
    assert logic.update_for(kind, text) is None


def test_a_marker_recognises_what_was_sent_before() -> None:
    text = logic.marked("In behandeling", 42)
    assert logic.has_marker(["x", text], 42) and not logic.has_marker([text], 4)


def test_backoff_doubles_to_five_minutes_and_retry_after_wins() -> None:
    assert [backoff_s(a, None) for a in (0, 1, 2)] == [2.0, 4.0, 8.0]
    assert backoff_s(20, None) == 300.0 and backoff_s(0, 7.0) == 7.0 and backoff_s(0, 9999) == 300.0
