"""Logging in on the registered tablet, and starting and ending a shift."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any, Protocol

from kivy.event import EventDispatcher
from kivy.properties import BooleanProperty, DictProperty, ListProperty, NumericProperty, StringProperty

from mobile.api import Api, ApiError, Session
from mobile.i18n import field_label, t
from mobile.presenters.ports import Spawn
from mobile.presenters.rooster import hm
from shared.rooster import PlannedShiftView


def _reason(exc: ApiError) -> str:
    """The server's words, and the field they are about (by its Dutch name) when it named one."""
    if exc.status == 0:
        return t("login.no_network")
    return exc.message + (f" ({field_label(exc.field)})" if exc.field else "")


class LoginPresenter(EventDispatcher):  # type: ignore[misc]
    username = StringProperty("")
    password = StringProperty("")
    device_id = StringProperty("")
    device_secret = StringProperty("")  # the enrolment secret (koppelcode); kept after the first login
    server = StringProperty("")
    busy = BooleanProperty(False)
    error = StringProperty("")
    server_label = StringProperty("")
    submit_label = StringProperty(t("login.submit"))

    def __init__(
        self,
        api: Api,
        *,
        server: str,
        device_id: int | None,
        device_secret: str | None = None,
        spawn: Spawn,
        signed_in: Callable[[Session], Awaitable[None]],
        **kwargs: object,
    ) -> None:
        super().__init__(**kwargs)
        self._api = api
        self._spawn = spawn
        self._signed_in = signed_in
        self.bind(
            server=lambda *_: setattr(self, "server_label", t("login.server") + ": " + self.server),
            busy=lambda *_: setattr(self, "submit_label", t("login.busy" if self.busy else "login.submit")),
        )
        self.server = server
        self.device_id = "" if device_id is None else str(device_id)
        self.device_secret = device_secret or ""

    def submit(self) -> None:
        if self.busy:
            return
        self._spawn(self.login())

    async def login(self) -> bool:
        device, secret = self.device_id.strip(), self.device_secret.strip()
        if not self.username.strip() or not self.password or not device.isdigit() or not secret:
            needed = ("login.username", "login.password", "login.device", "login.device_secret")
            self.error = t("login.failed", reason=", ".join(t(k) for k in needed))
            return False
        self.busy, self.error = True, ""
        try:
            session = await self._api.login(self.username.strip(), self.password, int(device), secret)
        except ApiError as exc:
            self.error = t("login.failed", reason=_reason(exc))
            return False
        finally:
            self.busy = False
        if session.role != "boa":
            self.error = t("login.not_a_tablet")
            return False
        self.password = ""
        await self._signed_in(session)
        return True


class ShiftEvents(Protocol):
    """What the shift presenter tells the rest of the app (the composition root passes them on)."""

    def beats_loaded(self, collection: dict[str, Any], categories: list[str]) -> None:
        """The organisation's beats (GeoJSON) and observation categories arrived."""

    def shift_began(self, beat_ids: list[int]) -> None:
        """A shift is open on these beats (started now, or resumed after a restart)."""

    def shift_started(self) -> None:
        """The boa started a shift just now."""

    def shift_ended(self) -> None: ...


class ShiftPresenter(EventDispatcher):  # type: ignore[misc]
    """Choose the unit (duo), the partner and the beat; the unit's planned beats come preselected, and the
    published rooster's partner and beat over them when the boa has a planned shift now (`use_rooster`)."""

    units = ListProperty([])  # [{"id", "call_sign", "assigned_beat_ids"}]
    unit_id = NumericProperty(0)
    partners = ListProperty([])  # [{"id", "name"}]; empty when the server offers no colleague list
    partner_id = NumericProperty(0)
    beats = ListProperty([])  # [{"id", "name", "planned"}] of the chosen unit first
    beat_ids = ListProperty([])
    busy = BooleanProperty(False)
    error = StringProperty("")
    active = BooleanProperty(False)
    shift_id = NumericProperty(0)
    call_sign = StringProperty("")
    summary = StringProperty("")
    confirm_end = BooleanProperty(False)  # ending a shift takes two taps: it stops tracking and the status
    end_label = StringProperty(t("shift.end"))
    # ready for the view's lists: exactly the keys of the row widgets
    unit_rows = ListProperty([])
    on_duty = DictProperty({})  # unit id -> names of the colleagues on its open shift (not the boa's own)
    take_over = StringProperty("")  # the question when the chosen unit is on duty with colleagues
    start_label = StringProperty(t("shift.start"))  # "Toch starten als HH-03" while take_over asks
    partner_rows = ListProperty([])
    beat_rows = ListProperty([])
    rooster_note = StringProperty("")  # "Volgens rooster: …" when the boa has a planned shift now

    def __init__(
        self,
        api: Api,
        *,
        session: Callable[[], Session | None],
        spawn: Spawn,
        beat_names: Callable[[list[int]], list[str]],
        events: ShiftEvents,
        **kwargs: object,
    ) -> None:
        super().__init__(**kwargs)
        self._api = api
        self._session = session
        self._spawn = spawn
        self._beat_names = beat_names  # of the beats the map knows (after a restart, before `load`)
        self._events = events
        self._all_beats: list[dict[str, Any]] = []
        self._rooster_beats: list[int] = []  # the planned shift's beat: preselected whatever the unit
        self.bind(
            units=self._rows,
            unit_id=self._rows,
            partners=self._rows,
            partner_id=self._rows,
            beats=self._rows,
            beat_ids=self._rows,
            on_duty=self._rows,
        )

    def _rows(self, *_: object) -> None:
        planned_label = "shift.beat_rooster" if self._rooster_beats else "shift.beat_planned"
        self.unit_rows = [
            {
                "text": u["call_sign"]
                + (f"\n{', '.join(self.on_duty[u['id']])}" if self.on_duty.get(u["id"]) else ""),
                "unit_id": u["id"],
                "chosen": u["id"] == self.unit_id,
                "taken": bool(self.on_duty.get(u["id"])),
            }
            for u in self.units
        ]
        self.partner_rows = [
            {"text": t("shift.partner_none"), "account_id": 0, "chosen": not self.partner_id}
        ] + [
            {"text": p["name"], "account_id": p["id"], "chosen": p["id"] == self.partner_id}
            for p in self.partners
        ]
        self.beat_rows = [
            {
                "text": b["name"] + (f"  ({t(planned_label)})" if b["planned"] else ""),
                "beat_id": b["id"],
                "chosen": b["id"] in self.beat_ids,
            }
            for b in self.beats
        ]

    async def load(self) -> None:
        try:
            units = await self._api.units()
            collection = await self._api.beats()
            partners = await self._api.colleagues()
            categories = await self._api.observation_categories()
            open_shifts = await self._api.open_shifts()
        except ApiError as exc:
            self.error = t("shift.failed", reason=_reason(exc))
            return
        self._events.beats_loaded(collection, categories)
        session = self._session()
        org = session.org_id if session else None
        own = [u for u in units if u.get("org_id") == org] or units
        self.units = [
            {"id": u["id"], "call_sign": u["call_sign"], "assigned_beat_ids": u["assigned_beat_ids"]}
            for u in sorted(own, key=lambda u: u["call_sign"])
        ]
        me = session.account_id if session else 0
        self.partners = [p for p in partners if p["id"] != me]
        self._all_beats = [
            {"id": f["id"], "name": f["properties"].get("name", str(f["id"]))}
            for f in collection.get("features", [])
        ]
        # a shift nobody is on (a team lead set it up without accounts) is the boa's to take: not "taken"
        self.on_duty = {s["unit_id"]: list(s["names"]) for s in open_shifts if s["names"] and not s["mine"]}
        free = [u for u in self.units if u["id"] not in self.on_duty] or self.units
        if self.units and (not self.unit_id or self.unit_id in self.on_duty):
            self.choose_unit(free[0]["id"])  # never preselect a unit a colleague is using
        else:
            self._order_beats()

    def choose_unit(self, unit_id: int) -> None:
        """Choose the unit; one on duty with colleagues says so and asks before the shift starts."""
        names = self.on_duty.get(unit_id)
        unit = next((u for u in self.units if u["id"] == unit_id), None)
        if names and unit is not None:
            self.take_over = t("shift.take_over", call_sign=unit["call_sign"], names=" en ".join(names))
            self.start_label = t("shift.start_anyway", call_sign=unit["call_sign"])
        else:
            self.take_over = ""
            self.start_label = t("shift.start")
        self.unit_id = unit_id
        planned = self._planned()
        self.beat_ids = list(planned)
        self._order_beats()

    def use_rooster(self, shift: PlannedShiftView | None) -> None:
        """Preselect the planned shift's partner and beat; the boa can still change both before starting."""
        had = bool(self._rooster_beats)
        self._rooster_beats = [shift.beat_id] if shift is not None else []
        if shift is None:
            self.rooster_note = ""
            if had:  # no planned shift any more: back to the unit's own beats
                self.beat_ids = self._planned()
                self._order_beats()
            return
        if shift.partner_id and any(p["id"] == shift.partner_id for p in self.partners):
            self.partner_id = shift.partner_id
        self.beat_ids = [shift.beat_id]
        self._order_beats()
        partner = t("shift.rooster_partner", name=shift.partner_name) if shift.partner_name else ""
        times = f"{hm(shift.starts_at)}–{hm(shift.ends_at)}"
        self.rooster_note = t(
            "shift.rooster", shift=shift.shift_name, times=times, beat=shift.beat_name, partner=partner
        )

    def _planned(self) -> list[int]:
        if self._rooster_beats:
            return list(self._rooster_beats)
        unit = next((u for u in self.units if u["id"] == self.unit_id), None)
        return list(unit["assigned_beat_ids"]) if unit else []

    def _order_beats(self) -> None:
        planned = set(self._planned())
        ordered = sorted(self._all_beats, key=lambda b: (b["id"] not in planned, b["name"]))
        self.beats = [{**b, "planned": b["id"] in planned} for b in ordered]

    def choose_partner(self, account_id: int) -> None:
        self.partner_id = account_id

    def toggle_beat(self, beat_id: int) -> None:
        self.beat_ids = (
            [b for b in self.beat_ids if b != beat_id]
            if beat_id in self.beat_ids
            else [*self.beat_ids, beat_id]
        )

    def start(self) -> None:
        self._spawn(self.start_shift())

    async def start_shift(self) -> bool:
        if not self.unit_id:
            self.error = t("shift.choose_unit")
            return False
        session = self._session()
        assert session is not None
        accounts = [session.account_id] + ([self.partner_id] if self.partner_id else [])
        self.busy, self.error = True, ""
        try:
            shift_id = await self._api.start_shift(
                int(self.unit_id), accounts, [int(b) for b in self.beat_ids]
            )
        except ApiError as exc:
            self.error = t("shift.failed", reason=_reason(exc))
            return False
        finally:
            self.busy = False
        unit = next(u for u in self.units if u["id"] == self.unit_id)
        self.began(shift_id, unit["call_sign"], [int(b) for b in self.beat_ids])
        self._events.shift_started()
        return True

    def began(self, shift_id: int, call_sign: str, beat_ids: list[int]) -> None:
        self.shift_id, self.call_sign, self.beat_ids, self.active = shift_id, call_sign, beat_ids, True
        names = [b["name"] for b in self._all_beats if b["id"] in beat_ids] or self._beat_names(beat_ids)
        self.summary = t("shift.on_duty", call_sign=call_sign, beats=", ".join(names) or t("map.no_beat"))
        self._events.shift_began(beat_ids)

    def end(self) -> None:
        if not self.confirm_end:
            self.confirm_end = True
            self.end_label = t("shift.end_confirm")
            return
        self._spawn(self.end_shift())

    async def end_shift(self) -> bool:
        self.confirm_end, self.end_label = False, t("shift.end")
        self.busy, self.error = True, ""
        try:
            await self._api.end_shift(int(self.shift_id))
        except ApiError as exc:
            self.error = t("shift.end_failed", reason=_reason(exc))
            return False
        finally:
            self.busy = False
        self.active = False
        self.shift_id = 0
        self._events.shift_ended()
        return True
