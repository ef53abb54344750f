"""The kenteken check: a boa types a plate and the purpose, and sees the RDW's open data about the vehicle.

Make, model, colour, APK expiry, WAM insurance and an open recall, never the owner (the RDW open data has
none, and the screen says so). The backend logs each check with its purpose and keeps the RDW's answers; the
tablet keeps the last answers too (`kenteken.json`, vehicle facts only), so without a connection the boa still
sees what was known, marked as such.
"""

from __future__ import annotations

import contextlib
import json
import logging
from collections.abc import Awaitable, Callable
from datetime import date
from pathlib import Path

import msgspec
from kivy.event import EventDispatcher
from kivy.properties import BooleanProperty, ListProperty, StringProperty

from mobile.api import ApiError
from mobile.i18n import t
from mobile.presenters.ports import Spawn
from shared.kenteken import NO_OWNER_DATA, KentekenAnswer, display, normalise

log = logging.getLogger(__name__)
Lookup = Callable[[str, str], Awaitable[KentekenAnswer]]
KEEP = 50  # answers kept on the tablet


class KentekenPresenter(EventDispatcher):  # type: ignore[misc]
    plate = StringProperty("")
    purpose = StringProperty("")
    busy = BooleanProperty(False)
    error = StringProperty("")
    heading = StringProperty("")  # "12-ABC-1  VOLKSWAGEN TRANSPORTER"
    rows = ListProperty([])  # {"label", "value", "alarm"} per fact
    source = StringProperty("")  # where the answer comes from and how old it is
    stale = BooleanProperty(False)  # not asked now: the backend's cache or the tablet's own
    notice = StringProperty("")

    def __init__(self, lookup: Lookup, *, spawn: Spawn, store: Path, today: Callable[[], date] = date.today):
        super().__init__()
        self._lookup = lookup
        self._spawn = spawn
        self._store = store
        self._today = today
        self._kept: dict[str, bytes] = self._load()

    def check(self) -> None:
        plate = normalise(self.plate)
        if plate is None:
            self.error = t("kenteken.error.plate")
            return
        if len(self.purpose.strip()) < 5:
            self.error = t("kenteken.error.purpose")
            return
        self.error = ""
        self.busy = True
        self._spawn(self._ask(plate, self.purpose.strip()))

    async def _ask(self, plate: str, purpose: str) -> None:
        try:
            answer = await self._lookup(plate, purpose)
        except ApiError as exc:
            log.warning("kenteken check of %s failed (%s): %s", plate, exc.status, exc.message)
            kept = self._kept.get(plate)
            if exc.transient and kept is not None:
                self.show(msgspec.json.decode(kept, type=KentekenAnswer), offline=True)
            else:
                self._clear()
                self.error = t("kenteken.error.offline") if exc.status == 0 else exc.message
            return
        finally:
            self.busy = False
        self._keep(answer)
        self.show(answer)

    def show(self, answer: KentekenAnswer, *, offline: bool = False) -> None:
        self.error = ""
        self.notice = answer.notice or NO_OWNER_DATA
        when = answer.fetched_at.astimezone().strftime("%d-%m %H:%M") if answer.fetched_at else "?"
        if offline:
            self.source = t("kenteken.source.tablet", when=when)
        elif answer.source == "cache":
            self.source = t("kenteken.source.cache", when=when, reason=answer.message)
        else:
            self.source = t("kenteken.source.rdw", when=when)
        self.stale = offline or answer.source == "cache"
        v = answer.vehicle
        if not answer.found or v is None:
            self.heading = t("kenteken.not_found", plate=display(answer.kenteken))
            self.rows = []
            return
        self.heading = f"{display(answer.kenteken)}   {v.merk} {v.handelsbenaming}".strip()
        apk_late = v.apk_vervaldatum is not None and v.apk_vervaldatum < self._today()
        self.rows = [
            _row(t("kenteken.kind"), v.voertuigsoort or "-"),
            _row(t("kenteken.colour"), v.kleur or "-"),
            _row(
                t("kenteken.apk"),
                (v.apk_vervaldatum.strftime("%d-%m-%Y") if v.apk_vervaldatum else t("kenteken.unknown"))
                + (f"  {t('kenteken.apk_late')}" if apk_late else ""),
                alarm=apk_late,
            ),
            _row(
                t("kenteken.wam"),
                {True: t("kenteken.yes"), False: t("kenteken.wam_no"), None: t("kenteken.unknown")}[
                    v.wam_verzekerd
                ],
                alarm=v.wam_verzekerd is False,
            ),
            _row(
                t("kenteken.recall"),
                (t("kenteken.yes") + (f" ({', '.join(v.terugroepacties)})" if v.terugroepacties else ""))
                if v.open_terugroepactie
                else t("kenteken.no"),
                alarm=v.open_terugroepactie,
            ),
        ]

    def _clear(self) -> None:
        self.heading, self.rows, self.source, self.stale, self.notice = "", [], "", False, ""

    # --- the tablet's own copy ------------------------------------------------------------------------------

    def _load(self) -> dict[str, bytes]:
        with contextlib.suppress(OSError, ValueError):
            raw = json.loads(self._store.read_text())
            return {k: json.dumps(v).encode() for k, v in raw.items()}
        return {}

    def _keep(self, answer: KentekenAnswer) -> None:
        self._kept.pop(answer.kenteken, None)
        self._kept[answer.kenteken] = msgspec.json.encode(answer)
        while len(self._kept) > KEEP:
            self._kept.pop(next(iter(self._kept)))
        data = {k: json.loads(v) for k, v in self._kept.items()}
        with contextlib.suppress(OSError):
            tmp = self._store.with_suffix(".tmp")
            tmp.write_text(json.dumps(data))
            tmp.replace(self._store)


def _row(label: str, value: str, *, alarm: bool = False) -> dict[str, object]:
    return {"label": label, "value": value, "alarm": alarm}
