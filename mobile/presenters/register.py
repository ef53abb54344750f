"""Registering a waarneming, a fine or an aggression incident: place and time are filled in, the rest is taps.

Saving writes the photos and the registration to the outbox at once (photos first: the registration refers to
them by sha256); the outbox sends them when it can. The registration's UUID makes a resend idempotent.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import Callable
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

from kivy.event import EventDispatcher
from kivy.properties import BooleanProperty, ListProperty, OptionProperty, StringProperty

from mobile import api as api_mod
from mobile import documents, feitcodes
from mobile.api import Api, ApiError
from mobile.i18n import field_label, field_text, t
from mobile.outbox import Outbox
from mobile.presenters.ports import FrameSender, LocationSource, Spawn
from shared.feitcodes import search as search_feitcodes
from shared.registrations import DEFAULT_CATEGORIES, KINDS, FieldError, decode_submission

RECENT_MAX = 10
RECEIPT_RETRY_S = 3.0  # until the fine has reached the server (it goes through the outbox)
RECEIPT_TRIES = 400  # about twenty minutes of dead zone; after that the team lead's page still has it
RECEIPT_LINES = ("Kenmerk", "Datum en tijd", "Plaats", "Feitcode", "Overtreding", "Bedrag", "Naam")
RESULTS_MAX = 8  # rows of the feitcode picker, offline and from the server alike
SEARCH_DELAY_S = 0.3


def category_label(code: str) -> str:
    label = t(f"cat.{code}")
    return label if label != f"cat.{code}" else code.replace("_", " ").capitalize()


class RegisterPresenter(EventDispatcher):  # type: ignore[misc]
    kind = OptionProperty("waarneming", options=list(KINDS))
    where_when = StringProperty("")
    text = StringProperty("")  # waarneming text, aggression description
    # waarneming
    category = StringProperty("")
    category_rows = ListProperty([])
    # fine
    query = StringProperty("")
    results = ListProperty([])  # [{"code", "text"}]
    feitcode = StringProperty("")
    feitcode_label = StringProperty("")
    feitcode_text = StringProperty("")  # the chosen offence in full, as on the kennisgeving
    feitcode_amount = StringProperty("")  # "Bedrag: € 110" or plainly that the catalogue has none
    feitcode_has_amount = BooleanProperty(False)
    picking = BooleanProperty(True)  # the results list shows; False: the chosen offence and its amount show
    offender_name = StringProperty("")
    offender_birth = StringProperty("")
    id_type = StringProperty("identiteitskaart")
    id_number = StringProperty("")
    street = StringProperty("")
    house_number = StringProperty("")
    postcode = StringProperty("")
    city = StringProperty("")
    statement = StringProperty("")
    # aggression
    aggression_types = ListProperty([])  # chosen, several may apply
    severity = StringProperty("middel")
    # all
    photos = ListProperty([])  # file paths
    photos_label = StringProperty("")
    photo_button = StringProperty(t("reg.photo"))  # the camera button, with the photos taken so far
    # the kennisgeving of the last fine: its kenmerk once the server has the fine
    receipt_button = StringProperty("")  # "Kennisgeving 26-K7M3-Q9XA tonen", or that it is on its way
    receipt_ready = BooleanProperty(False)
    showing_receipt = BooleanProperty(False)
    receipt_title = StringProperty("")
    receipt_rows = ListProperty([])  # [{"label", "value"}] as on the paper
    receipt_pdf_state = StringProperty("")  # fetching, opened in the viewer, or why not
    receipt_pdf_busy = BooleanProperty(False)
    error = StringProperty("")
    saved = StringProperty("")
    notice = StringProperty("")  # what went wrong, else that it was saved

    def __init__(
        self,
        api: Api,
        outbox: Outbox,
        frames: FrameSender,
        location: LocationSource,
        *,
        spawn: Spawn,
        beat_caption: Callable[[], str],
        account_id: Callable[[], int | None],
        documents_dir: Path = Path("mobile-data") / "receipts",
        open_document: Callable[[Path, str], None] = documents.open_document,
        **kwargs: object,
    ) -> None:
        super().__init__(**kwargs)
        self._api = api
        self._outbox = outbox
        self._frames = frames  # online, the server's feitcode search is asked too
        self._location = location
        self._spawn = spawn
        self._beat_caption = beat_caption
        self._account_id = account_id
        self._documents_dir = documents_dir  # only the last kennisgeving is kept (it holds personal data)
        self._open_document = open_document
        self._kenmerk = ""
        self.catalogue = feitcodes.load()
        # the scope of the server's search (its gemeente's track, the boa's domains), learnt from its first
        # answer so the offline search gives the same codes; until then every track, domain I
        self.track: str | None = None
        self.domains: tuple[int, ...] = (1,)
        self.here: frozenset[str] = (
            frozenset()
        )  # tags of the APV zones at this spot (server search knows them)
        self.recent: tuple[str, ...] = ()
        self._short: dict[str, str] = {}
        self._hits: dict[str, tuple[str, str, dict[str, int]]] = {}  # code -> (full text, scheme, amounts)
        self._receipt_for = ""  # the registration id of the last fine
        self._categories: list[str] = []
        self.bind(query=self._query_changed, category=self._category_rows)
        self.bind(
            photos=lambda *_: setattr(
                self, "photos_label", t("reg.photos", count=len(self.photos)) if self.photos else ""
            )
        )
        self.bind(photos_label=self._photo_button, error=self._notice, saved=self._notice)
        location.bind(has_fix=self._where_when, lon=self._where_when)
        self.use_categories(list(DEFAULT_CATEGORIES))
        self._where_when()
        self.search()

    def _query_changed(self, *_: object) -> None:
        self.picking = True  # typing again: pick (the chosen code stays until another is tapped)
        self.search()

    def pick_again(self) -> None:
        self.picking = True

    def _photo_button(self, *_: object) -> None:
        self.photo_button = t("reg.photo") + (f"  ·  {self.photos_label}" if self.photos_label else "")

    def _notice(self, *_: object) -> None:
        self.notice = self.error or self.saved

    def no_camera(self) -> None:
        """This device has no camera the app can use (a desktop)."""
        self.error = t("reg.no_camera")

    def use_catalogue(self, data: bytes) -> None:
        self.catalogue = feitcodes.load(data)
        self.search()

    def use_categories(self, codes: list[str]) -> None:
        self._categories = list(codes)
        self._category_rows()

    def _category_rows(self, *_: object) -> None:
        self.category_rows = [
            {"text": category_label(c), "value": c, "chosen": c == self.category} for c in self._categories
        ]

    def choose_kind(self, kind: str) -> None:
        self.kind = kind
        self.error = self.saved = ""
        self._where_when()

    def toggle_type(self, value: str) -> None:
        types = list(self.aggression_types)
        self.aggression_types = [v for v in types if v != value] if value in types else [*types, value]

    def _where_when(self, *_: object) -> None:
        loc = self._location
        place = f"{loc.lat:.5f}, {loc.lon:.5f}" if loc.has_fix else t("reg.no_place")
        self.where_when = t(
            "reg.where_when", time=datetime.now().strftime("%H:%M"), beat=self._beat_caption(), place=place
        )

    def search(self) -> None:
        """Search the local catalogue at once; online, the server's answer (its track, APV zones) follows."""
        found = search_feitcodes(
            self.catalogue, self.query, track=self.track, domains=self.domains, zone_tags=self.here,
            recent=self.recent, limit=RESULTS_MAX,
        )  # fmt: skip
        self._hits = {f.code: (f.description, f.amount_scheme, dict(f.amounts_eur)) for f in found}
        self._show([(f.code, f.description, bool(self.here & set(f.tags))) for f in found])
        if self._frames.online:
            self._spawn(self._server_search(self.query))

    async def _server_search(self, query: str) -> None:
        await asyncio.sleep(SEARCH_DELAY_S)  # typing on: only the last query goes out
        if query != self.query:
            return
        loc = self._location
        try:
            answer = await self._api.feitcodes(
                query, loc.lon if loc.has_fix else None, loc.lat if loc.has_fix else None, limit=RESULTS_MAX
            )
        except ApiError:
            return  # the local results stay
        self.track, self.domains = answer.track, tuple(answer.domains) or self.domains
        if query == self.query:
            self._hits = {h.code: (h.description, h.amount_scheme, dict(h.amounts_eur)) for h in answer.hits}
            self._show([(h.code, h.description, h.applies_here) for h in answer.hits])

    def _show(self, found: list[tuple[str, str, bool]]) -> None:
        short = _short_descriptions([description for _, description, _ in found])
        self._short = {code: text for (code, _, _), text in zip(found, short, strict=True)}
        self.results = [
            {
                "code": code,
                "text": (t("reg.applies_here") + "  " if here else "") + f"{code}   {self._short[code]}",
            }
            for code, _, here in found
        ]

    def choose_feitcode(self, code: str) -> None:
        if code not in self._short:
            return
        self.feitcode = code
        # the part that sets it apart from its neighbours, as in the list (the full text is long)
        self.feitcode_label = t("reg.feitcode_chosen", code=code, description=self._short[code])
        description, scheme, amounts = self._hits.get(code, (self._short[code], "none", {}))
        self.feitcode_text = f"{code}  ·  {description}"
        self.feitcode_has_amount = bool(amounts)
        self.feitcode_amount = amount_text(scheme, amounts)
        self.picking = False

    def add_photo(self, path: str) -> None:
        self.photos = [*self.photos, path]

    def _refusal(self, error: FieldError) -> str:
        """What the boa reads when the registration decoder refuses a field: the tablet's own Dutch words for
        the fields of the form, else the decoder's message under the field's Dutch name."""
        field = error.field
        if field == "offender.birth_date" and not self.offender_birth.strip():
            field = "offender.name"  # nothing typed: ask for name and birth date together
        return field_text("reg.error", field) or f"{field_label(field)}: {error.message}"

    def _fields(self) -> dict[str, Any]:
        if self.kind == "waarneming":
            return {"category": self.category, "text": self.text.strip()}
        if self.kind == "fine":
            birth = _birth_date(self.offender_birth)
            return {
                "feitcode": self.feitcode,
                "offender": {
                    "name": self.offender_name.strip(),
                    "birth_date": birth.isoformat() if birth else None,
                    "id_document_type": self.id_type,
                    "id_document_number": _id_number(self.id_number),
                    "address": {
                        "street": self.street.strip(),
                        "house_number": self.house_number.strip(),
                        "postcode": self.postcode.strip().upper(),
                        "city": self.city.strip(),
                    },
                },
                "statement": self.statement.strip() or None,
            }
        return {
            "types": list(self.aggression_types),
            "severity": self.severity,
            "description": self.text.strip(),
            # staff by role only; the employer's address is the domicile
            "staff": [{"role": "boa", "account_id": self._account_id()}],
        }

    def _summary(self) -> str:
        if self.kind == "fine":
            return str(self.feitcode)
        if self.kind == "aggression":
            return ", ".join(self.aggression_types)
        return category_label(self.category)

    def save(self) -> bool:
        """Check the registration with the server's own decoder, then queue its photos and itself."""
        self.error = ""
        loc = self._location
        if not loc.has_fix:
            self.error = t("reg.need_fix")
            return False
        photos = []  # (file name, bytes, (key, method, path) of the upload)
        for path in self.photos:
            data = Path(path).read_bytes()
            photos.append((Path(path).name, data, api_mod.photo_request(data)))
        hashes = [key for _, _, (key, _, _) in photos]
        registration_id = api_mod.new_registration_id()
        method, url, body = api_mod.registration_request(
            registration_id=registration_id,
            kind=self.kind,
            at=datetime.now(UTC),
            lon=loc.lon,
            lat=loc.lat,
            accuracy_m=loc.accuracy_m if loc.accuracy_m >= 0 else None,
            fields=self._fields(),
            photos=hashes,
        )
        try:
            decode_submission(body)
        except FieldError as error:
            self.error = self._refusal(error)
            return False
        outbox = self._outbox
        for name, data, (key, photo_method, photo_url) in photos:
            outbox.add_request(
                kind="photo",
                key=key,
                method=photo_method,
                path=photo_url,
                body=data,
                content_type=api_mod.photo_type(data),
                summary=name,
            )
        outbox.add_request(
            kind="registration",
            key=registration_id,
            method=method,
            path=url,
            body=body,
            summary=f"{t('reg.' + self.kind)}: {self._summary()}",
        )
        if self.feitcode:
            self.recent = tuple(dict.fromkeys((self.feitcode, *self.recent)))[:RECENT_MAX]
        if self.kind == "fine":
            self._receipt_for = registration_id
            self.receipt_ready, self.showing_receipt = False, False
            self.receipt_button = t("receipt.waiting")
            try:
                asyncio.get_running_loop()
            except RuntimeError:  # no loop (a form driven on its own): nothing to fetch with
                pass
            else:
                self._spawn(self.fetch_receipt(registration_id))
        self.clear()
        self.saved = t("reg.saved")
        return True

    async def fetch_receipt(self, registration_id: str, retry_s: float = RECEIPT_RETRY_S) -> bool:
        """Ask the server for the fine's kennisgeving until it has the fine (404 until the outbox sent it)."""
        for _ in range(RECEIPT_TRIES):
            if registration_id != self._receipt_for:
                return False  # a newer fine took its place
            try:
                view = await self._api.receipt(registration_id)
            except ApiError as exc:
                if not (exc.transient or exc.status == 404):
                    self.receipt_button = t("receipt.failed", reason=exc.message)
                    return False
                await asyncio.sleep(retry_s)
                continue
            if registration_id != self._receipt_for:
                return False
            self.receipt_title = str(view.get("title", ""))
            rows = {str(label): str(value) for label, value in view.get("rows", [])}
            self.receipt_rows = [{"label": k, "value": rows[k]} for k in RECEIPT_LINES if k in rows]
            self._kenmerk = str(view.get("kenmerk", ""))
            self.receipt_button = t("receipt.show", kenmerk=self._kenmerk)
            self.receipt_pdf_state = ""
            self.receipt_ready = True
            return True
        return False

    def show_receipt(self) -> None:
        if self.receipt_ready:
            self.showing_receipt = True

    def hide_receipt(self) -> None:
        self.showing_receipt = False

    def start_open_receipt_pdf(self) -> None:
        """The "Als PDF openen" button: fetch and hand over on the app's loop."""
        if self.receipt_ready and not self.receipt_pdf_busy:
            self._spawn(self.open_receipt_pdf())

    async def open_receipt_pdf(self) -> Path | None:
        """Fetch the kennisgeving's PDF, keep it as the only one on the tablet and open it in the system's
        viewer (show, print or share from there). Returns the file, or None with the reason on screen."""
        registration_id = self._receipt_for
        if not self.receipt_ready or not registration_id:
            return None
        self.receipt_pdf_busy = True
        self.receipt_pdf_state = t("receipt.pdf_fetching")
        try:
            data = await self._api.receipt_pdf(registration_id)
            self._documents_dir.mkdir(parents=True, exist_ok=True)
            for old in self._documents_dir.glob("*.pdf"):  # the previous fine's: not kept on the tablet
                old.unlink(missing_ok=True)
            path = self._documents_dir / f"kennisgeving-{self._kenmerk or registration_id}.pdf"
            path.write_bytes(data)
            self._open_document(path, "application/pdf")
        except ApiError as exc:
            self.receipt_pdf_state = t("receipt.pdf_failed", reason=exc.message)
            return None
        except documents.DocumentError as exc:
            self.receipt_pdf_state = t("receipt.pdf_failed", reason=str(exc))
            return None
        except OSError as exc:
            self.receipt_pdf_state = t("receipt.pdf_failed", reason=exc.strerror or str(exc))
            return None
        finally:
            self.receipt_pdf_busy = False
        self.receipt_pdf_state = t("receipt.pdf_opened", name=path.name)
        return path

    def clear(self) -> None:
        for name in (
            "text",
            "query",
            "feitcode",
            "feitcode_label",
            "feitcode_text",
            "feitcode_amount",
            "offender_name",
            "offender_birth",
            "id_number",
            "street",
            "house_number",
            "postcode",
            "city",
            "statement",
            "category",
            "error",
            "saved",
        ):
            setattr(self, name, "")
        self.id_type = "identiteitskaart"
        self.feitcode_has_amount = False
        self.picking = True
        self.severity = "middel"
        self.aggression_types = []
        self.photos = []
        self._where_when()


def _euros(amount: int) -> str:
    return f"€ {amount:,}".replace(",", ".")


def amount_text(scheme: str, amounts: dict[str, int]) -> str:
    """What the boa tells the offender before confirming: the amount, or plainly that the catalogue has none
    (the shipped OM track has no tarieven; a team lead imports the gemeente's list)."""
    if not amounts:
        return t("reg.amount_missing")
    if scheme == "person":
        adult, minor = amounts.get("adult"), amounts.get("minor")
        if adult is not None and minor is not None and minor != adult:
            return t("reg.amount_person", adult=_euros(adult), minor=_euros(minor))
        return t("reg.amount", amount=_euros(adult if adult is not None else next(iter(amounts.values()))))
    values = sorted(set(amounts.values()))
    if len(values) == 1:
        return t("reg.amount", amount=_euros(values[0]))
    return t("reg.amount_range", low=_euros(values[0]), high=_euros(values[-1]))


def _id_number(text: str) -> str:
    return re.sub(r"[\s.\-]", "", text).upper()


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
