"""Registering a waarneming, a fine or an aggression incident: place and time are filled in, the rest is taps.

Saving writes the photos and the registration to the outbox at once (photos first: the registration refers to
them by sha256); the outbox sends them when it can. The registration's UUID makes a resend idempotent.
"""

from __future__ import annotations

import re
from datetime import UTC, date, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from kivy.event import EventDispatcher
from kivy.properties import BooleanProperty, ListProperty, OptionProperty, StringProperty

from mobile import api as api_mod
from mobile import feitcodes
from mobile.i18n import t

if TYPE_CHECKING:
    from mobile.presenters.app import AppPresenter

KINDS = ("observation", "fine", "aggression")
AGGRESSION_TYPES = ("verbal", "threat", "physical", "discrimination", "damage")
SEVERITIES = ("low", "medium", "high")
RECENT_MAX = 10


class RegisterPresenter(EventDispatcher):  # type: ignore[misc]
    kind = OptionProperty("observation", options=list(KINDS))
    where_when = StringProperty("")
    text = StringProperty("")
    # fine
    query = StringProperty("")
    results = ListProperty([])  # [{"code", "description", "label"}]
    feitcode = StringProperty("")
    feitcode_label = StringProperty("")
    offender_name = StringProperty("")
    offender_birth = StringProperty("")
    offender_id = StringProperty("")
    offender_address = StringProperty("")
    statement = StringProperty("")
    # aggression
    aggression_type = StringProperty("")
    severity = StringProperty("medium")
    aggression_types = ListProperty([(k, t(f"reg.aggression.{k}")) for k in AGGRESSION_TYPES])
    severities = ListProperty([(k, t(f"reg.severity.{k}")) for k in SEVERITIES])
    # all
    photos = ListProperty([])  # file paths
    photos_label = StringProperty("")
    error = StringProperty("")
    saved = StringProperty("")
    can_save = BooleanProperty(True)

    def __init__(self, app: AppPresenter, **kwargs: object) -> None:
        super().__init__(**kwargs)
        self.app = app
        self.catalogue_version, self.entries = feitcodes.load()
        self.here: frozenset[str] = frozenset()  # tags of the APV zones at this spot (from the server, later)
        self.recent: tuple[str, ...] = ()
        self._short: dict[str, str] = {}
        self.bind(query=lambda *_: self.search())
        self.bind(
            photos=lambda *_: setattr(
                self, "photos_label", t("reg.photos", count=len(self.photos)) if self.photos else ""
            )
        )
        app.location.bind(has_fix=self._where_when, lon=self._where_when)
        self._where_when()
        self.search()

    def use_catalogue(self, data: bytes) -> None:
        self.catalogue_version, self.entries = feitcodes.load(data)
        self.search()

    def choose_kind(self, kind: str) -> None:
        self.kind = kind
        self.error = self.saved = ""
        self._where_when()

    def _where_when(self, *_: object) -> None:
        loc = self.app.location
        place = f"{loc.lat:.5f}, {loc.lon:.5f}" if loc.has_fix else t("reg.no_place")
        self.where_when = t(
            "reg.where_when", time=datetime.now().strftime("%H:%M"), beat=self.app.map.caption, place=place
        )

    def search(self) -> None:
        found = feitcodes.search(self.entries, self.query, here=self.here, recent=self.recent)
        short = _short_descriptions([f.description for f in found])
        self._short = {f.code: text for f, text in zip(found, short, strict=True)}
        self.results = [{"code": f.code, "text": f"{f.code}   {self._short[f.code]}"} for f in found]

    def choose_feitcode(self, code: str) -> None:
        feit = next((f for f in self.entries if f.code == code), None)
        if feit is None:
            return
        self.feitcode = code
        # the part that sets it apart from its neighbours, as in the list (the full text is long)
        description = self._short.get(code, feit.description)
        self.feitcode_label = t("reg.feitcode_chosen", code=code, description=description)

    def add_photo(self, path: str) -> None:
        self.photos = [*self.photos, path]

    def _validate(self) -> str:
        if self.kind == "observation" and not self.text.strip():
            return t("reg.need_text")
        if self.kind == "fine":
            if not self.feitcode:
                return t("reg.need_feitcode")
            if not self.offender_name.strip() or not self.offender_birth.strip():
                return t("reg.need_offender")
            if _birth_date(self.offender_birth) is None:
                return t("reg.bad_birth")
        if self.kind == "aggression" and self.aggression_type not in AGGRESSION_TYPES:
            return t("reg.need_type")
        return ""

    def _fields(self) -> dict[str, Any]:
        fields: dict[str, Any] = {"text": self.text.strip()}
        if self.kind == "fine":
            birth = _birth_date(self.offender_birth)
            fields.update(
                regime="opsporing",
                feitcode=self.feitcode,
                catalogue_version=self.catalogue_version,
                offender={
                    "name": self.offender_name.strip(),
                    "birth_date": birth.isoformat() if birth else None,
                    "id_document": self.offender_id.strip(),
                    "address": self.offender_address.strip(),
                },
                statement=self.statement.strip(),
            )
        elif self.kind == "aggression":
            fields.update(
                regime="toezicht", aggression={"type": self.aggression_type, "severity": self.severity}
            )
        else:
            fields.update(regime="toezicht")
        return fields

    def save(self) -> bool:
        self.error = self._validate()
        if self.error:
            return False
        outbox = self.app.outbox
        loc = self.app.location
        hashes = []
        for path in self.photos:
            data = Path(path).read_bytes()
            key, method, url = api_mod.photo_request(data)
            outbox.add_request(
                kind="photo",
                key=key,
                method=method,
                path=url,
                body=data,
                content_type="image/jpeg"
                if path.lower().endswith((".jpg", ".jpeg"))
                else "application/octet-stream",
                summary=Path(path).name,
            )
            hashes.append(key)
        registration_id = api_mod.new_registration_id()
        method, url, body = api_mod.registration_request(
            registration_id=registration_id,
            kind=self.kind,
            at=datetime.now(UTC),
            lon=loc.lon if loc.has_fix else None,
            lat=loc.lat if loc.has_fix else None,
            fields=self._fields(),
            photos=hashes,
            shift_id=int(self.app.shift.shift_id) or None,
        )
        summary = self.feitcode or self.aggression_type or self.text.strip()[:40]
        outbox.add_request(
            kind="registration",
            key=registration_id,
            method=method,
            path=url,
            body=body,
            summary=f"{t('reg.' + self.kind)}: {summary}",
        )
        if self.feitcode:
            self.recent = tuple(dict.fromkeys((self.feitcode, *self.recent)))[:RECENT_MAX]
        self.clear()
        self.saved = t("reg.saved")
        return True

    def clear(self) -> None:
        for name in (
            "text",
            "query",
            "feitcode",
            "feitcode_label",
            "offender_name",
            "offender_birth",
            "offender_id",
            "offender_address",
            "statement",
            "aggression_type",
            "error",
            "saved",
        ):
            setattr(self, name, "")
        self.severity = "medium"
        self.photos = []
        self._where_when()


ROW_CHARS = 88  # two lines of a result row


def _short_descriptions(descriptions: list[str]) -> list[str]:
    """Descriptions that fit two lines and show what differs.

    Feitcodes often share a long opening ("Als eigenaar of houder van een hond, deze laten ..."); the opening
    a description shares with another result becomes "…", so the rows show what sets them apart.
    """
    words = [d.split() for d in descriptions]
    out = []
    for i, w in enumerate(words):
        shared = 0
        for j, other in enumerate(words):
            if i != j:
                n = 0
                while n < min(len(w), len(other)) and w[n].lower() == other[n].lower():
                    n += 1
                shared = max(shared, n)
        shared = min(shared, len(w) - 6)  # keep enough words to read
        text = ("… " + " ".join(w[shared:])) if shared >= 4 else " ".join(w)
        out.append(text if len(text) <= ROW_CHARS else text[: ROW_CHARS - 1].rsplit(" ", 1)[0] + " …")
    return out


def _birth_date(text: str) -> date | None:
    match = re.fullmatch(r"\s*(\d{1,2})[-./](\d{1,2})[-./](\d{4})\s*", text)
    if not match:
        return None
    day, month, year = (int(g) for g in match.groups())
    try:
        born = date(year, month, day)
    except ValueError:
        return None
    return born if born <= date.today() else None
