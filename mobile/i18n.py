"""Every text the boa sees, in one place (Dutch), ready for translation.

Code asks for a key (`t("status.available")`); a translation is another table with the same keys. A missing
key shows the key itself, so a gap is visible instead of crashing in the field.
"""

from __future__ import annotations

NL: dict[str, str] = {
    "app.title": "Schakel",
    # connection
    "link.online": "Verbonden met de meldkamer",
    "link.offline": "Geen verbinding — alles wordt bewaard en later verzonden",
    "link.off_duty": "Niet in dienst",
    "net.unreachable": "geen verbinding met de server",
    "net.server_error": "storing bij de server (code {status}); probeer het opnieuw",
    "net.refused": "geweigerd door de server",
    "link.refused": "Geweigerd door de server: {reason}",
    "link.waiting": "{count} wachtend",
    # login
    "login.title": "Inloggen",
    "login.username": "Gebruikersnaam",
    "login.password": "Wachtwoord",
    "login.device": "Tablet-nummer",
    "login.device_secret": "Koppelcode (van de teamleider)",
    "login.server": "Server",
    "login.submit": "Inloggen",
    "login.busy": "Bezig met inloggen…",
    "login.failed": "Inloggen mislukt: {reason}",
    "login.no_network": "Geen verbinding met de server. Probeer het opnieuw.",
    "login.not_a_tablet": "Dit account is geen boa-account.",
    # shift
    "shift.title": "Dienst starten",
    "shift.unit": "Eenheid (roepnaam)",
    "shift.partner": "Duo-partner",
    "shift.partner_none": "Zonder partner",
    "shift.beat": "Gebied",
    "shift.beat_planned": "gepland",
    "shift.start": "Start dienst",
    "shift.end": "Dienst beëindigen",
    "shift.end_confirm": "Nogmaals tikken: dienst beëindigen",
    "shift.started": "Dienst gestart als {call_sign}",
    "shift.ended": "Dienst beëindigd — locatie wordt niet meer gevolgd",
    "shift.failed": "Dienst starten mislukt: {reason}",
    "shift.end_failed": "Dienst beëindigen mislukt: {reason}",
    "shift.choose_unit": "Kies eerst een eenheid",
    "shift.on_duty": "{call_sign} · {beats}",
    "shift.logout": "Uitloggen",
    "shift.beat_rooster": "volgens rooster",
    "shift.rooster": "Volgens rooster: {shift} {times} · {beat}{partner} — aan te passen",
    "shift.rooster_partner": " · met {name}",
    "shift.rooster_open": "Mijn diensten",
    # the boa's own published shifts
    "rooster.title": "Mijn diensten",
    "rooster.back": "Terug",
    "rooster.refresh": "Vernieuwen",
    "rooster.free": "vrij",
    "rooster.today": "vandaag",
    "rooster.with": "met {name}",
    "rooster.alone": "zonder vaste partner",
    "rooster.updated": "Bijgewerkt {time}",
    "rooster.offline": "Geen verbinding — rooster van {time}",
    "rooster.never": "Rooster nog niet opgehaald",
    "rooster.none": "Geen diensten gepland in de komende 14 dagen",
    "rooster.failed": "Rooster ophalen mislukt: {reason}",
    # status
    "status.title": "Status",
    "status.available": "Beschikbaar",
    "status.en_route": "Aanrijdend",
    "status.on_scene": "Ter plaatse",
    "status.busy": "Bezet",
    "status.break": "Pauze",
    "status.off_duty": "Buiten dienst",
    "status.emergency": "Noodsituatie",
    "status.unsent": "nog niet bij de meldkamer",
    # noodknop
    "nood.idle": "NOODKNOP\nvasthouden",
    "nood.holding": "Blijf vasthouden…",
    # the three states of an alarm (noodknop, man-down), each its own colour on the button
    "nood.what.noodknop": "NOODMELDING",
    "nood.what.man_down": "MAN-DOWN-MELDING",
    "nood.sending": "{what}\nVerzonden…",
    "nood.offline": "{what}\nVerzonden…\ngeen verbinding — blijft proberen",
    "nood.not_arrived": "Noodmelding NIET aangekomen — gebruik portofoon of bel 112\n(blijft proberen)",
    "nood.confirmed": "{what}\nOntvangen door het systeem — nog niet gezien door de meldkamer",
    "nood.seen": "{what}\nGezien door\n{by}\nom {time}",
    "nood.seen_anonymous": "{what}\nGezien door de meldkamer\nom {time}",
    "nood.reset": "Noodmelding afsluiten",
    # man-down / no-motion: the pre-alarm the boa cancels with one tap
    "mandown.prealarm": "Geen beweging of gevallen?\nOver {seconds} s gaat er vanzelf een noodmelding uit",
    "mandown.prealarm.tilt": "Tablet ligt scheef of is gevallen",
    "mandown.prealarm.no_motion": "Geen beweging",
    "mandown.ok": "IK BEN OK",
    "mandown.now": "HULP NU — meteen noodmelding sturen",
    "mandown.off": "Man-down-bewaking uit",
    "mandown.watching": "Man-down-bewaking aan (geen beweging {seconds} s of gevallen)",
    "mandown.paused.vehicle": "Man-down-bewaking gepauzeerd: in een voertuig",
    "mandown.paused.charging": "Man-down-bewaking gepauzeerd: tablet laadt",
    "mandown.simulate": "Simuleer val",
    # check-in timer, when a boa works alone
    "checkin.title": "Alleen op pad",
    "checkin.start": "Alleen · {minutes} min",
    "checkin.now": "Check in",
    "checkin.stop": "Weer met collega",
    "checkin.off": "Met collega. Alleen op pad? Kies de check-in-tijd",
    "checkin.running": "Alleen op pad · check in vóór {time}",
    "checkin.warning": "Alleen op pad · check in vóór {time} — nog {minutes} min",
    "checkin.missed": "Check-in gemist ({time}) — de meldkamer is gewaarschuwd. Tik op Check in",
    # a colleague's alarm nobody at the meldkamer has answered yet
    "colleague.banner": "Collega {call_sign}: {what}{distance} — meldkamer heeft nog niet gereageerd",
    "colleague.what.noodknop": "noodmelding",
    "colleague.what.man_down": "man-down",
    "colleague.what.checkin_missed": "check-in gemist",
    "colleague.what.assistance": "vraagt assistentie",
    "colleague.more": "+ {count} meer",
    # navigation
    "nav.status": "Status",
    "nav.map": "Kaart",
    "nav.register": "Registreren",
    "nav.tasks": "Taken",
    "nav.outbox": "Verzenden",
    "nav.rooster": "Rooster",
    "nav.kenteken": "Kenteken",
    "nav.signal": "Gemeente",
    # melden aan de gemeente (Signalen)
    "signal.title": "Melden aan de gemeente (voor een andere afdeling, via Signalen)",
    "signal.text": "Wat zie je? bijv. lamp knippert, kabel hangt los",
    "signal.submit": "Melding versturen",
    "signal.saved": "Melding staat klaar om te versturen (zie Verzenden).",
    "signal.error.category": "Kies waar de melding over gaat.",
    "signal.error.text": "Beschrijf wat je ziet (minstens 3 tekens).",
    "signal.error.position": "Nog geen GPS-positie: wacht even en probeer opnieuw.",
    # kenteken check (RDW open data)
    "kenteken.title": "Kenteken opvragen (RDW open data)",
    "kenteken.plate": "Kenteken",
    "kenteken.purpose": "Doel van de controle",
    "kenteken.purpose_hint": "bijv. controle foutparkeerder Damrak",
    "kenteken.submit": "Opvragen",
    "kenteken.busy": "Bezig met opvragen…",
    "kenteken.error.plate": "Vul een kenteken in: zes letters en cijfers (streepjes mogen).",
    "kenteken.error.purpose": "Vul het doel van de controle in (minstens 5 tekens); het wordt gelogd.",
    "kenteken.error.offline": "Geen verbinding en dit kenteken is niet eerder op deze tablet opgevraagd.",
    "kenteken.not_found": "{plate}: niet gevonden bij de RDW",
    "kenteken.kind": "Soort",
    "kenteken.colour": "Kleur",
    "kenteken.apk": "APK geldig tot",
    "kenteken.apk_late": "VERLOPEN",
    "kenteken.wam": "WAM-verzekerd",
    "kenteken.wam_no": "NEE — niet verzekerd",
    "kenteken.recall": "Open terugroepactie",
    "kenteken.yes": "Ja",
    "kenteken.no": "Nee",
    "kenteken.unknown": "onbekend",
    "kenteken.source.rdw": "RDW, opgevraagd {when}",
    "kenteken.source.cache": "Laatst bekende gegevens van {when} — {reason}",
    "kenteken.source.tablet": "Offline: bewaard op deze tablet, van {when}",
    # map
    "map.title": "Kaart",
    "map.no_beat": "Geen gebied gekozen",
    "map.no_fix": "Nog geen GPS-positie",
    "map.accuracy": "nauwkeurig tot {metres} m",
    # register
    "reg.title": "Registreren",
    "reg.waarneming": "Waarneming",
    "reg.fine": "Boete",
    "reg.aggression": "Agressie",
    "reg.where_when": "{time} · {beat} · {place}",
    "reg.no_place": "nog geen GPS-positie",
    "reg.category": "Soort waarneming",
    "reg.text": "Omschrijving",
    "reg.feitcode": "Feitcode zoeken (code of woord)",
    "reg.feitcode_label": "Feitcode",
    "reg.feitcode_other": "Andere feitcode kiezen",
    "reg.id_type": "Identiteitsbewijs",
    "reg.feitcode_none": "Geen feitcode gevonden",
    "reg.applies_here": "● hier",
    "reg.feitcode_chosen": "Gekozen: {code} — {description}",
    "reg.offender_name": "Naam overtreder",
    "reg.offender_birth": "Geboortedatum (dd-mm-jjjj)",
    "reg.id_number": "Nummer identiteitsbewijs",
    "reg.id.identiteitskaart": "ID-kaart",
    "reg.id.rijbewijs": "Rijbewijs",
    "reg.id.paspoort": "Paspoort",
    "reg.id.verblijfsdocument": "Verblijf",
    "reg.id.overig": "Overig",
    "reg.street": "Straat",
    "reg.house_number": "Huisnr.",
    "reg.postcode": "Postcode",
    "reg.city": "Woonplaats",
    "reg.statement": "Verklaring overtreder",
    "reg.aggression_type": "Soort (één of meer)",
    "reg.aggression.verbaal": "Verbaal",
    "reg.aggression.bedreiging": "Bedreiging",
    "reg.aggression.fysiek": "Fysiek",
    "reg.aggression.discriminatie": "Discriminatie",
    "reg.aggression.vernieling": "Vernieling",
    "reg.severity": "Ernst",
    "reg.severity.licht": "Licht",
    "reg.severity.middel": "Middel",
    "reg.severity.ernstig": "Ernstig",
    "reg.photo": "Foto maken",
    "reg.no_camera": "Geen camera op dit apparaat",
    "reg.photos": "{count} foto('s)",
    "reg.save": "Opslaan en verzenden",
    "reg.saved": "Opgeslagen — wordt verzonden",
    "reg.need_fix": "Nog geen GPS-positie — wacht even (of ga onder de overkapping vandaan)",
    # what the form says when the registration decoder refuses a field ("reg.error." + the field's path; a
    # key for "offender.address" covers all of the address)
    "reg.error.category": "Kies de soort waarneming",
    "reg.error.feitcode": "Kies een feitcode",
    "reg.error.offender.name": "Vul naam en geboortedatum van de overtreder in",
    "reg.error.offender.birth_date": "Geboortedatum als dd-mm-jjjj",
    "reg.error.offender.id_document_number": "Nummer identiteitsbewijs: 6 tot 20 letters en cijfers",
    "reg.error.offender.address": "Vul straat, huisnummer en woonplaats van de overtreder in",
    "reg.error.types": "Kies de soort agressie",
    # the Dutch names of fields an error from the server or the decoder can name ("field." + its path)
    "field.body": "verzoek",
    "field.username": "gebruikersnaam",
    "field.password": "wachtwoord",
    "field.device_id": "tablet-nummer",
    "field.device_secret": "koppelcode",
    "field.refresh_token": "sessie",
    "field.unit_id": "eenheid",
    "field.account_ids": "duo-partner",
    "field.beat_ids": "gebied",
    "field.kind": "soort registratie",
    "field.occurred_at": "tijdstip",
    "field.location": "locatie",
    "field.location.accuracy_m": "nauwkeurigheid GPS",
    "field.photos": "foto's",
    "field.category": "soort waarneming",
    "field.text": "omschrijving",
    "field.feitcode": "feitcode",
    "field.offender": "overtreder",
    "field.offender.name": "naam overtreder",
    "field.offender.birth_date": "geboortedatum overtreder",
    "field.offender.id_document_type": "soort identiteitsbewijs",
    "field.offender.id_document_number": "nummer identiteitsbewijs",
    "field.offender.address": "adres overtreder",
    "field.offender.address.street": "straat",
    "field.offender.address.house_number": "huisnummer",
    "field.offender.address.postcode": "postcode",
    "field.offender.address.city": "woonplaats",
    "field.statement": "verklaring overtreder",
    "field.types": "soort agressie",
    "field.severity": "ernst",
    "field.description": "omschrijving",
    "field.staff": "betrokken collega's",
    # waarneming categories (the server's codes; an organisation's own codes show as they are)
    "cat.afval": "Afval",
    "cat.overlast": "Overlast",
    "cat.parkeren": "Parkeren",
    "cat.jeugd": "Jeugd",
    "cat.verward_gedrag": "Verward gedrag",
    "cat.ondermijning": "Ondermijning",
    "cat.honden": "Honden",
    "cat.openbare_ruimte": "Openbare ruimte",
    "cat.overig": "Overig",
    # tasks
    "tasks.title": "Taken van de meldkamer",
    "tasks.none": "Geen taken",
    "tasks.new": "Nieuwe taak: {title}",
    "tasks.priority": "Prio {priority}",
    "tasks.accept": "Accepteren",
    "tasks.en_route": "Aanrijdend",
    "tasks.on_scene": "Ter plaatse",
    "tasks.done": "Afgerond",
    "tasks.state.assigned": "Nieuw",
    "tasks.state.accepted": "Geaccepteerd",
    "tasks.state.en_route": "Aanrijdend",
    "tasks.state.on_scene": "Ter plaatse",
    "tasks.state.done": "Afgerond",
    "tasks.state.cancelled": "Ingetrokken",
    "tasks.cancelled_banner": "Ingetrokken door de meldkamer: {title}",
    "tasks.reason": "reden: {reason}",
    "tasks.message": "Bericht van {sender}: {text}",
    "tasks.messages": "Berichten van de meldkamer",
    "tasks.message_meta": "{time} · {sender}",
    "tasks.alert": "Waarschuwing: {headline}",
    "tasks.state.declined": "Geweigerd",
    "tasks.more": "(tik voor de hele tekst)",
    "tasks.less": "(tik om in te klappen)",
    "tasks.done_fold": "Afgerond ({count})  —  tik om te tonen",
    "tasks.done_fold_open": "Afgerond ({count})  —  tik om te verbergen",
    "tasks.more_banners": "+ {count} meer (zie Taken)",
    "tasks.decline": "Weigeren",
    "tasks.on_map": "Op kaart",
    "receipt.waiting": "Kennisgeving: het kenmerk volgt zodra de boete is verzonden",
    "receipt.show": "Kennisgeving {kenmerk} tonen",
    "receipt.failed": "Kennisgeving niet op te halen: {reason}",
    "receipt.close": "Terug naar het formulier",
    "receipt.print": "Laat dit de overtreder zien en noem het kenmerk. "
    "Als PDF openen: tonen, afdrukken of delen met de PDF-app van de tablet.",
    "receipt.pdf": "Als PDF openen",
    "receipt.pdf_fetching": "PDF wordt opgehaald…",
    "receipt.pdf_opened": "Geopend in de PDF-viewer ({name})",
    "receipt.pdf_failed": "PDF niet te openen: {reason}",
    "shift.take_over": "{call_sign} is al in dienst met {names}. Kies een vrije eenheid: overnemen kan "
    "alleen als zij of de teamleider die dienst eerst beëindigen.",
    "shift.start_anyway": "Toch starten als {call_sign}",
    "reg.amount": "Bedrag: {amount}",
    "reg.amount_person": "Bedrag: {adult} (volwassene), {minor} (minderjarige)",
    "reg.amount_range": "Bedrag: {low} tot {high} (hangt af van de categorie)",
    "reg.amount_missing": "Bedrag niet in de catalogus: noem geen bedrag (de teamleider voert de tarieven "
    "van de gemeente in)",
    "map.task": "Taak: {where} (oranje)  ·  jij (rood)  ·  partner (blauw)",
    "map.task_no_place": "Deze taak heeft geen plaats",
    "decline.title": "Weigeren: {title}",
    "decline.ask": "Waarom? Tik een reden of typ er een",
    "decline.busy": "Bezig met een andere taak",
    "decline.far": "Te ver weg",
    "decline.not_mine": "Niet bevoegd voor deze taak",
    "decline.typed": "Andere reden",
    "decline.send": "Weigering versturen",
    "decline.back": "Terug",
    "decline.need_reason": "Geef een reden: de meldkamer ziet hem bij de melding",
    "decline.offline": "Niet op dienst: weigeren kan pas als de dienst loopt",
    # outbox
    "outbox.title": "Verzenden",
    "outbox.empty": "Alles is verzonden",
    "outbox.state.pending": "Wacht",
    "outbox.state.sending": "Wordt verzonden",
    "outbox.state.failed": "Mislukt",
    "outbox.kind.position": "Positie",
    "outbox.kind.status": "Status",
    "outbox.kind.noodknop": "NOODMELDING",
    "outbox.kind.man_down": "MAN-DOWN-MELDING",
    "outbox.kind.checkin": "Check-in",
    "outbox.kind.assistance": "Assistentieverzoek",
    "outbox.kind.task_update": "Taak",
    "outbox.kind.message_read": "Bericht gelezen",
    "outbox.kind.registration": "Registratie",
    "outbox.kind.photo": "Foto",
    "outbox.kind.signal": "Melding gemeente",
    "outbox.retry": "Opnieuw",
    "outbox.discard": "Weggooien",
    "outbox.positions": "{count} posities wachten",
    "outbox.reason": "Reden: {reason}",
    "outbox.attempts": "{count} pogingen",
}

# What the server says in English (its API texts are for developers too): what the boa reads instead.
SERVER_TEXTS: dict[str, str] = {
    "unknown username or wrong password": "onbekende gebruikersnaam of verkeerd wachtwoord",
    "account is disabled": "dit account is uitgeschakeld; vraag de teamleider",
    "refresh token unknown, expired or revoked": "de sessie is verlopen; log opnieuw in",
    "this session has ended (logged out or revoked); log in again": "de sessie is beëindigd; log opnieuw in",
    "missing bearer token": "niet ingelogd; log opnieuw in",
    "device not found": "deze tablet is niet bekend bij de server (tabletnummer)",
    "unit not found": "eenheid niet gevonden",
    "shift not found": "dienst niet gevonden (al beëindigd?)",
    "account not found": "account niet gevonden",
    "one or more beats do not exist in this organisation": "een gekozen gebied bestaat niet (meer)",
}
STATUS_TEXTS = {
    400: "de server weigert de invoer", 401: "niet (meer) ingelogd; log opnieuw in", 403: "geen toegang",
    404: "niet gevonden op de server", 409: "botst met wat de server al heeft",
    413: "te groot voor de server",
    429: "te veel pogingen; wacht even en probeer het opnieuw",
}  # fmt: skip
# words that mark a server text as English (Dutch texts from the server are shown as they are)
_ENGLISH = frozenset(
    "the not found unknown wrong missing this must invalid disabled expired revoked neither exist already "
    "cannot you your please failed error attempts connection refused timed out reset bad request "
    "unauthorized forbidden internal server unavailable gateway".split()
)


def server_text(status: int, detail: str) -> str:
    """The server's reason in Dutch: a known English text translated, another English one replaced by what
    its status means; a Dutch one (most of the API's refusals) kept. Status 0: the server was not reached."""
    if status == 0:
        return NL["net.unreachable"]
    text = detail.strip()
    known = SERVER_TEXTS.get(text.lower())
    if known is not None:
        return known
    words = {w.strip(".,;:()'\"").lower() for w in text.split()}
    if text and not words & _ENGLISH:
        return text
    if status >= 500:
        return NL["net.server_error"].format(status=status)
    return STATUS_TEXTS.get(status, NL["net.refused"])


_table = NL


def use(table: dict[str, str]) -> None:
    """Switch language (a table with the same keys; missing keys fall back to Dutch)."""
    global _table
    _table = {**NL, **table}


def t(key: str, **values: object) -> str:
    text = _table.get(key)
    if text is None:
        return key
    return text.format(**values) if values else text


def field_text(prefix: str, path: str) -> str | None:
    """The text under ``prefix`` for a field's dotted path, or for the nearest field around it.

    ``field_text("reg.error", "offender.address.city")`` tries ``reg.error.offender.address.city``, then
    ``reg.error.offender.address``, then ``reg.error.offender``; list positions (``witnesses.0.name``) are
    skipped. None when no key fits.
    """
    parts = [part for part in path.split(".") if part and not part.isdigit()]
    while parts:
        text = _table.get(f"{prefix}.{'.'.join(parts)}")
        if text is not None:
            return text
        parts.pop()
    return None


def field_label(path: str) -> str:
    """The Dutch name of the field an error names; the path itself for a field without one."""
    return field_text("field", path) or path
