"""Mijn diensten: the boa's own published shifts for the next 14 days, kept for when there is no network.

The list comes from `GET /api/me/rooster` (the latest published version of each plan) and is saved with the
rest of the tablet's state, so a restart without network still shows it, marked with when it was fetched.
`current()` is the planned shift the shift screen preselects (partner and beat; the boa can change them).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta, tzinfo
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from kivy.event import EventDispatcher
from kivy.properties import BooleanProperty, ListProperty, StringProperty

from mobile.api import Api, ApiError
from mobile.i18n import t
from mobile.presenters.ports import Save, Spawn
from shared.rooster import PlannedShiftView

DAYS = 14
PREFILL_BEFORE = timedelta(hours=12)  # a planned shift starting within this is "the shift to start now"
WEEKDAYS = ("ma", "di", "wo", "do", "vr", "za", "zo")
MONTHS = ("jan", "feb", "mrt", "apr", "mei", "jun", "jul", "aug", "sep", "okt", "nov", "dec")


def _utcnow() -> datetime:
    return datetime.now(UTC)


def _local_zone() -> tzinfo | None:
    """The rooster's wall-clock (Europe/Amsterdam, shared/rooster.py); the device's own zone where the
    platform has no time zone database."""
    try:
        return ZoneInfo("Europe/Amsterdam")
    except (ZoneInfoNotFoundError, ValueError):
        return None


LOCAL = _local_zone()


def hm(at: datetime) -> str:
    """Wall-clock HH:MM as the rooster reads."""
    return at.astimezone(LOCAL).strftime("%H:%M")


def day_label(day: date) -> str:
    return f"{WEEKDAYS[day.weekday()]} {day.day} {MONTHS[day.month - 1]}"


class RoosterPresenter(EventDispatcher):  # type: ignore[misc]
    rows = ListProperty([])  # [{"day", "text", "detail", "today", "free"}]: one per day, today first
    status = StringProperty(t("rooster.never"))
    busy = BooleanProperty(False)
    offline = BooleanProperty(False)  # the list on screen is the saved one: the last fetch failed

    def __init__(
        self,
        api: Api,
        *,
        save: Save,
        spawn: Spawn,
        account_id: Callable[[], int | None],
        now: Callable[[], datetime] = _utcnow,
        **kwargs: object,
    ) -> None:
        super().__init__(**kwargs)
        self._api = api
        self._save = save
        self._spawn = spawn
        self._account_id = account_id
        self._now = now
        self.shifts: list[PlannedShiftView] = []
        self.fetched_at: datetime | None = None
        self.owner: int | None = None  # whose rooster this is (another boa on the tablet sees none of it)

    def restore(self, shifts: list[PlannedShiftView], fetched_at: datetime | None, owner: int | None) -> None:
        """At start: the list saved with the tablet's state."""
        self.shifts, self.fetched_at, self.owner = list(shifts), fetched_at, owner
        self._relabel()

    def clear(self) -> None:
        """Logged out: the next boa on this tablet does not see this one's shifts."""
        self.shifts, self.fetched_at, self.owner, self.offline = [], None, None, False
        self._relabel()

    async def load(self) -> bool:
        """Fetch from yesterday (a night may still run) for 15 days; without network keep the saved list."""
        me = self._account_id()
        if me is not None and me != self.owner:
            self.clear()
        today = self._now().astimezone(LOCAL).date()
        self.busy = True
        try:
            shifts = await self._api.my_rooster(today - timedelta(days=1), DAYS + 1)
        except ApiError as exc:
            self.offline = True
            if exc.status != 0:
                self.status = t("rooster.failed", reason=exc.message)
                return False
            self._relabel()
            return False
        finally:
            self.busy = False
        self.shifts, self.fetched_at, self.offline = shifts, self._now(), False
        self.owner = me if me is not None else self.owner
        self._relabel()
        self._save()
        return True

    def refresh(self) -> None:
        """The view's button (and opening the tab): fetch again in the background."""
        if not self.busy:
            self._spawn(self.load())

    def current(self) -> PlannedShiftView | None:
        """The planned shift to start now: running, or starting within `PREFILL_BEFORE`; the earliest."""
        now = self._now()
        due = [s for s in self.shifts if s.ends_at > now and s.starts_at - now <= PREFILL_BEFORE]
        return min(due, key=lambda s: s.starts_at) if due else None

    def _relabel(self) -> None:
        now = self._now()
        today = now.astimezone(LOCAL).date()
        by_day: dict[date, list[PlannedShiftView]] = {}
        for s in self.shifts:
            by_day.setdefault(s.day, []).append(s)
        rows = []
        running = [s for s in by_day.get(today - timedelta(days=1), []) if s.ends_at > now]
        for s in running:  # yesterday's night shift, still on
            rows.append(self._row(s, today=True))
        for n in range(DAYS):
            day = today + timedelta(days=n)
            planned = by_day.get(day, [])
            if not planned:
                rows.append(
                    {
                        "day": day.isoformat(),
                        "text": day_label(day) + ("  ·  " + t("rooster.today") if n == 0 else ""),
                        "detail": t("rooster.free"),
                        "today": n == 0,
                        "free": True,
                    }
                )
            for s in planned:
                rows.append(self._row(s, today=n == 0))
        self.rows = rows
        if self.fetched_at is None:
            self.status = t("rooster.never")
        elif self.offline:
            self.status = t("rooster.offline", time=self._when(self.fetched_at))
        elif not self.shifts:
            self.status = t("rooster.none")
        else:
            self.status = t("rooster.updated", time=self._when(self.fetched_at))

    def _when(self, at: datetime) -> str:
        local = at.astimezone(LOCAL)
        if local.date() == self._now().astimezone(LOCAL).date():
            return hm(at)
        return f"{day_label(local.date())} {hm(at)}"

    @staticmethod
    def _row(s: PlannedShiftView, *, today: bool) -> dict[str, object]:
        partner = t("rooster.with", name=s.partner_name) if s.partner_name else t("rooster.alone")
        head = f"{day_label(s.day)}{'  ·  ' + t('rooster.today') if today else ''}"
        return {
            "day": s.day.isoformat(),
            "text": f"{head}  ·  {s.shift_name} {hm(s.starts_at)}–{hm(s.ends_at)}",
            "detail": f"{s.beat_name}  ·  {partner}",
            "today": today,
            "free": False,
        }
