"""Mijn diensten without a server: which planned shift the shift screen takes, the day rows, offline."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest

from tests.mobile.conftest import KIVY_MISSING

pytest.importorskip("kivy", reason=KIVY_MISSING)

from mobile.api import Api  # noqa: E402
from mobile.presenters.rooster import LOCAL, RoosterPresenter  # noqa: E402
from shared.rooster import PlannedShiftView  # noqa: E402
from tests.integration.harness import free_port  # noqa: E402

TODAY = date(2026, 12, 1)


def local(day: date, hh: int) -> datetime:
    return datetime(day.year, day.month, day.day, hh, tzinfo=LOCAL).astimezone(UTC)


def shift(day: date, hh: int, hours: int = 8, partner: str | None = "M. Jansen") -> PlannedShiftView:
    starts_at = local(day, hh)
    return PlannedShiftView(
        day=day,
        shift_code="x",
        shift_name="Nachtdienst" if hh >= 22 else "Dagdienst",
        starts_at=starts_at,
        ends_at=starts_at + timedelta(hours=hours),
        beat_id=3,
        beat_name="Oude Zijde",
        partner_id=9 if partner else None,
        partner_name=partner,
    )


def presenter(now: datetime, saved: list[int]) -> tuple[RoosterPresenter, Api]:
    api = Api(f"http://127.0.0.1:{free_port()}")  # nobody listens: the network is down
    tasks: list[Any] = []
    p = RoosterPresenter(
        api, save=lambda: saved.append(1), spawn=tasks.append, account_id=lambda: 5, now=lambda: now
    )
    return p, api


async def test_the_shift_to_start_is_the_running_or_next_within_twelve_hours() -> None:
    saved: list[int] = []
    p, api = presenter(local(TODAY, 2), saved)
    try:
        night = shift(TODAY - timedelta(days=1), 23)  # still on at 02:00
        day = shift(TODAY, 9)
        p.restore([night, day, shift(TODAY + timedelta(days=2), 9, partner=None)], local(TODAY, 1), 5)
        assert p.current() == night
        rows = p.rows
        assert rows[0]["text"].startswith(
            "ma 30 nov  ·  vandaag  ·  Nachtdienst 23:00–07:00"
        )  # the running night
        assert rows[1]["text"] == "di 1 dec  ·  vandaag  ·  Dagdienst 09:00–17:00" and rows[1]["today"]
        assert rows[2]["detail"] == "vrij" and rows[2]["free"] and not rows[2]["today"]
        assert rows[3]["detail"] == "Oude Zijde  ·  zonder vaste partner"
        assert len(rows) == 15  # 14 days and the night still running
        p._now = lambda: local(TODAY, 8)  # the night is over; the day shift starts in an hour
        assert p.current() == day
        p._now = lambda: local(TODAY, 18)
        assert p.current() is None  # nothing within twelve hours
        # offline: the saved list stays, marked with when it was fetched
        assert not await p.load()
        assert p.offline and p.status == "Geen verbinding — rooster van 01:00" and len(p.shifts) == 3
        assert saved == []
    finally:
        await api.close()


async def test_another_boas_saved_rooster_is_not_shown() -> None:
    p, api = presenter(local(TODAY, 10), [])
    try:
        p.restore([shift(TODAY, 9)], local(TODAY, 9), owner=77)  # saved for account 77; now 5 logs in
        assert not await p.load()
        assert p.shifts == [] and all(r["free"] for r in p.rows)
    finally:
        await api.close()


class Events:
    def beats_loaded(self, collection: dict[str, Any], categories: list[str]) -> None: ...
    def shift_began(self, beat_ids: list[int]) -> None: ...
    def shift_started(self) -> None: ...
    def shift_ended(self) -> None: ...


async def test_the_shift_screen_takes_the_planned_partner_and_beat_and_lets_go_of_them() -> None:
    from mobile.presenters.session import ShiftPresenter

    api = Api(f"http://127.0.0.1:{free_port()}")
    try:
        p = ShiftPresenter(api, session=lambda: None, spawn=list, beat_names=lambda _: [], events=Events())
        p._all_beats = [{"id": 3, "name": "Oude Zijde"}, {"id": 4, "name": "Nieuwe Zijde"}]
        p.units = [{"id": 1, "call_sign": "HH-01", "assigned_beat_ids": [4]}]
        p.partners = [{"id": 9, "name": "M. Jansen"}, {"id": 8, "name": "S. de Vries"}]
        p.choose_unit(1)
        assert p.beat_ids == [4] and p.beat_rows[0]["text"] == "Nieuwe Zijde  (gepland)"
        p.use_rooster(shift(TODAY, 9))  # planned: Oude Zijde with M. Jansen
        assert p.beat_ids == [3] and p.partner_id == 9
        assert p.beat_rows[0]["text"] == "Oude Zijde  (volgens rooster)"
        assert p.rooster_note.startswith(
            "Volgens rooster: Dagdienst 09:00–17:00 · Oude Zijde · met M. Jansen"
        )
        p.choose_partner(8)  # changeable
        p.choose_unit(1)  # another tap on the unit keeps the planned beat
        assert p.beat_ids == [3] and p.partner_id == 8
        p.use_rooster(None)  # no planned shift any more: the unit's own beat again
        assert (
            p.beat_ids == [4] and p.rooster_note == "" and p.beat_rows[0]["text"] == "Nieuwe Zijde  (gepland)"
        )
    finally:
        await api.close()
