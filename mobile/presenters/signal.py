"""Melden aan de gemeente: what a boa sees for another department (a broken lamp, dumped rubbish), sent to
the gemeente's Signalen as a new signal (`POST /api/signalen/observations`, docs/partners.md).

The observation goes through the outbox like a registration, under a client-made event id, so a dead zone or
an app restart loses nothing and a resend files nothing twice (the backend stores it once per event id).
"""

from __future__ import annotations

import uuid

import msgspec
from kivy.event import EventDispatcher
from kivy.properties import ListProperty, StringProperty

from mobile.i18n import t
from mobile.outbox import Outbox
from mobile.presenters.ports import LocationSource
from shared.signalen import Observation

# Signalen categories of other departments a boa meets most (main_slug/sub_slug, from Signalen's
# fixtures/categories.json)
CATEGORIES = (
    ("wegen-verkeer-straatmeubilair/straatverlichting-openbare-klok", "Straatverlichting"),
    ("afval/grofvuil", "Grofvuil"),
    ("afval/container-is-vol", "Container is vol"),
    ("wegen-verkeer-straatmeubilair/verkeersbord-verkeersafzetting", "Verkeersbord"),
    ("openbaar-groen-en-water/boom", "Boom"),
    ("wegen-verkeer-straatmeubilair/onderhoud-stoep-straat-en-fietspad", "Stoep, straat, fietspad"),
)
PATH = "/api/signalen/observations"


class SignalPresenter(EventDispatcher):  # type: ignore[misc]
    category = StringProperty("")
    text = StringProperty("")
    error = StringProperty("")
    saved = StringProperty("")
    choices = ListProperty([{"value": v, "label": label} for v, label in CATEGORIES])

    def __init__(self, outbox: Outbox, location: LocationSource, **kwargs: object) -> None:
        super().__init__(**kwargs)
        self._outbox = outbox
        self._location = location

    def choose(self, category: str) -> None:
        self.category = category
        self.saved = ""

    def save(self) -> bool:
        """Queue the observation; False (with the reason in `error`) when something is missing."""
        self.saved = ""
        if not self.category:
            self.error = t("signal.error.category")
            return False
        if len(self.text.strip()) < 3:
            self.error = t("signal.error.text")
            return False
        if not self._location.has_fix:
            self.error = t("signal.error.position")
            return False
        event_id = uuid.uuid4()
        try:
            body = msgspec.convert(
                {
                    "event_id": str(event_id),
                    "category": self.category,
                    "text": self.text.strip(),
                    "lon": self._location.lon,
                    "lat": self._location.lat,
                },
                Observation,
            )
        except msgspec.ValidationError as exc:
            self.error = str(exc)
            return False
        label = dict(CATEGORIES).get(self.category, self.category)
        self._outbox.add_request(
            kind="signal",
            key=str(event_id),
            method="POST",
            path=PATH,
            body=msgspec.json.encode(body),
            summary=f"{label}: {self.text.strip()[:40]}",
        )
        self.error, self.text, self.category = "", "", ""
        self.saved = t("signal.saved")
        return True
