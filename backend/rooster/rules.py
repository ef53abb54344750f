"""The rooster's rule catalogue: every rule the checker (and the solver) keeps, with its stable code, the
article it comes from, its Dutch title and the `shared.rooster.RuleSettings` field that tunes it.

The articles are those of the Arbeidstijdenwet (ATW, BWBR0007671) as the issue and the contract cite them;
docs/rooster.md says which numbers and article parts could be checked against a text of the law and which not.
Rules that are not labour law (qualifications, availability, duos, the demand) have an article of their own
kind ("Rooster", "Duo") so every violation still shows where it comes from.
"""

from __future__ import annotations

from datetime import date

import msgspec

from shared.rooster import RuleSettings, Violation


class Rule(msgspec.Struct, frozen=True, kw_only=True):
    code: str  # stable: stored with violations, used by the pages and the tests
    article: str  # e.g. "ATW 5:8 lid 5"
    title: str  # Dutch, what the team lead reads
    settings: tuple[str, ...] = ()  # RuleSettings fields that tune it
    hard: bool = True


def _rules(*rules: Rule) -> dict[str, Rule]:
    return {r.code: r for r in rules}


CATALOGUE: dict[str, Rule] = _rules(
    # Arbeidstijdenwet: working time (5:7), rest (5:3, 5:5), Sundays (5:6), nights (5:8), leave (5:2)
    Rule(
        code="atw_5_7_lid_1",
        article="ATW 5:7 lid 1",
        title="Ten hoogste {max_shift_hours} uur per dienst",
        settings=("max_shift_hours",),
    ),
    Rule(
        code="atw_5_7_lid_2",
        article="ATW 5:7 lid 2",
        title="Ten hoogste {max_week_hours} uur per week",
        settings=("max_week_hours",),
    ),
    Rule(
        code="atw_5_7_lid_3",
        article="ATW 5:7 lid 3",
        title="Gemiddeld ten hoogste {max_avg_4_weeks_hours} uur per week over 4 weken",
        settings=("max_avg_4_weeks_hours",),
    ),
    Rule(
        code="atw_5_7_lid_4",
        article="ATW 5:7 lid 4",
        title="Gemiddeld ten hoogste {max_avg_16_weeks_hours} uur per week over 16 weken",
        settings=("max_avg_16_weeks_hours",),
    ),
    Rule(
        code="atw_5_3_lid_1",
        article="ATW 5:3 lid 1",
        title="{min_daily_rest_hours} uur rust na een dienst (eens per 7 dagen "
        "{reduced_daily_rest_hours} uur)",
        settings=("min_daily_rest_hours", "reduced_daily_rest_hours"),
    ),
    Rule(
        code="atw_5_5_lid_1",
        article="ATW 5:5 lid 1",
        title="Wekelijkse rust: {weekly_rest_hours} uur per 7 dagen of "
        "{fortnight_rest_hours} uur per 14 dagen",
        settings=("weekly_rest_hours", "fortnight_rest_hours"),
    ),
    Rule(
        code="atw_5_6_lid_1",
        article="ATW 5:6 lid 1",
        title="Ten minste {min_free_sundays_per_52_weeks} vrije zondagen per 52 weken",
        settings=("min_free_sundays_per_52_weeks",),
    ),
    Rule(
        code="atw_5_8_lid_1",
        article="ATW 5:8 lid 1",
        title="Nachtdienst ten hoogste {night_max_hours} uur ({night_long_max_hours} uur ten hoogste "
        "{night_long_per_14_days} keer per 14 dagen)",
        settings=("night_max_hours", "night_long_max_hours", "night_long_per_14_days"),
    ),
    Rule(
        code="atw_5_8_lid_2",
        article="ATW 5:8 lid 2",
        title="Ten hoogste {max_late_nights_per_16_weeks} nachtdiensten na 02:00 per 16 weken",
        settings=("max_late_nights_per_16_weeks",),
    ),
    Rule(
        code="atw_5_8_lid_4",
        article="ATW 5:8 lid 4",
        title="{rest_after_late_night_hours} uur rust na een nachtdienst die na 02:00 eindigt",
        settings=("rest_after_late_night_hours",),
    ),
    Rule(
        code="atw_5_8_lid_5",
        article="ATW 5:8 lid 5",
        title="{rest_after_night_series_hours} uur rust na {night_series_length} of meer nachten",
        settings=("rest_after_night_series_hours", "night_series_length"),
    ),
    # the planning's own rules
    Rule(code="een_dienst_per_dag", article="Rooster", title="Eén dienst per boa per dag"),
    Rule(
        code="vraag", article="Rooster", title="Dienst hoort bij gevraagde inzet (dag, dienst, gebied, duo)"
    ),
    Rule(code="onbekend", article="Rooster", title="Boa en dienstsoort bestaan"),
    Rule(code="vastgezet", article="Rooster", title="Vastgezette diensten blijven staan"),
    Rule(
        code="bevroren", article="Rooster", title="Gepubliceerde diensten vóór de herplandatum blijven staan"
    ),
    Rule(code="afwezig", article="Beschikbaarheid", title="Niet ingepland bij verlof, ziekte of afwezigheid"),
    Rule(code="vaste_vrije_dag", article="Beschikbaarheid", title="Niet ingepland op een vaste vrije dag"),
    Rule(code="nachtvrijstelling", article="Beschikbaarheid", title="Geen nachtdienst bij vrijstelling"),
    Rule(code="gebied", article="Beschikbaarheid", title="Alleen gebieden in de gemeenten van de akte"),
    Rule(
        code="kwalificatie",
        article="Kwalificatie",
        title="Ten minste één boa per duo met de gevraagde kwalificatie",
    ),
    Rule(code="duo_paar", article="Duo", title="Een duo is precies twee boa's"),
    Rule(
        code="duo_ervaren",
        article="Duo",
        title="Ten minste één ervaren boa per duo",
        settings=("duo_needs_experienced",),
    ),
    Rule(code="duo_altijd", article="Duo", title="Vaste koppel werkt samen"),
    Rule(code="duo_nooit", article="Duo", title="Koppel dat nooit samen werkt"),
    # soft findings: shown, never refused
    Rule(
        code="contracturen",
        article="Contract",
        title="Ingeplande uren wijken af van de contracturen",
        hard=False,
    ),
)


def rule(code: str) -> Rule:
    return CATALOGUE[code]


def title(r: Rule, settings: RuleSettings) -> str:
    """The rule's title with the gemeente's numbers filled in ("Ten hoogste 12 uur per dienst")."""
    values = {f: getattr(settings, f) for f in RuleSettings.__struct_fields__}
    return r.title.format(**{f: _num(v) if isinstance(v, float) else v for f, v in values.items()})


def _num(value: float) -> str:
    rounded = round(value, 1)
    return str(int(rounded)) if rounded == int(rounded) else f"{rounded:.1f}".replace(".", ",")


MONTHS_NL_SHORT = ("jan", "feb", "mrt", "apr", "mei", "jun", "jul", "aug", "sep", "okt", "nov", "dec")


def day_label(day: date) -> str:
    return f"{day.day} {MONTHS_NL_SHORT[day.month - 1]}"


def days_label(days: list[date]) -> str:
    """Days as a Dutch reader writes them: "12 mrt", "12–14 mrt", "30 mrt–2 apr", "3 mrt, 5–6 mrt"."""
    ordered = sorted(set(days))
    if not ordered:
        return ""
    runs: list[tuple[date, date]] = []
    for d in ordered:
        if runs and (d - runs[-1][1]).days == 1:
            runs[-1] = (runs[-1][0], d)
        else:
            runs.append((d, d))
    return ", ".join(period_label(first, last) for first, last in runs)


def period_label(first: date, last: date) -> str:
    """A stretch of days: "2–29 mrt", "30 mrt–26 apr", "12 mrt"."""
    if first == last:
        return day_label(first)
    if (first.year, first.month) == (last.year, last.month):
        return f"{first.day}–{day_label(last)}"
    return f"{day_label(first)}–{day_label(last)}"


def names_label(names: list[str]) -> str:
    if len(names) <= 1:
        return "".join(names)
    return ", ".join(names[:-1]) + " en " + names[-1]


def line(v: Violation) -> str:
    """The full line a team lead reads: "ATW 5:8 lid 5 — 46 uur rust na 3 nachten: Jansen, 12–14 mrt"."""
    return f"{v.article} — {v.text}"
