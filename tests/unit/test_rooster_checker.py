"""The independent rooster checker: for each rule a minimal rooster that breaks it (the violation with its
article appears) and one that just keeps it (none), plus properties over random roosters."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from msgspec.structs import replace

from backend.rooster.checker import check, hard, is_late_night, is_night, shift_times
from backend.rooster.rules import CATALOGUE, days_label, line, title
from shared.rooster import (
    Absence,
    Assignment,
    Boa,
    Demand,
    PairRule,
    PlanningProblem,
    RuleSettings,
    ShiftType,
    Violation,
)

START = date(2026, 3, 2)  # a Monday
SHIFTS = [
    ShiftType(code="vroeg", name="Vroeg", start_minute=7 * 60, duration_minutes=8 * 60),  # 07-15
    ShiftType(code="vroeg6", name="Vroeg 6", start_minute=6 * 60, duration_minutes=8 * 60),  # 06-14
    ShiftType(code="dag", name="Dag", start_minute=9 * 60, duration_minutes=8 * 60),  # 09-17
    ShiftType(code="dag10", name="Dag 10", start_minute=10 * 60, duration_minutes=8 * 60),  # 10-18
    ShiftType(code="laat", name="Laat", start_minute=15 * 60, duration_minutes=8 * 60),  # 15-23
    ShiftType(code="avond", name="Avond", start_minute=21 * 60, duration_minutes=3 * 60),  # 21-24
    ShiftType(code="nacht", name="Nacht", start_minute=23 * 60, duration_minutes=8 * 60),  # 23-07
    ShiftType(code="nacht12", name="Lange nacht", start_minute=19 * 60, duration_minutes=12 * 60),  # 19-07
    ShiftType(code="nacht13", name="Te lange nacht", start_minute=19 * 60, duration_minutes=13 * 60),
    ShiftType(code="kort", name="Kort", start_minute=8 * 60, duration_minutes=2 * 60),  # 08-10
    ShiftType(code="elf", name="Elf uur", start_minute=7 * 60, duration_minutes=11 * 60),  # 07-18
    ShiftType(code="twaalf", name="Twaalf uur", start_minute=7 * 60, duration_minutes=12 * 60),  # 07-19
    ShiftType(code="dertien", name="Dertien uur", start_minute=7 * 60, duration_minutes=13 * 60),  # 07-20
]
JANSEN = Boa(staff_id="1", name="Jansen", experienced=True, qualifications=["anpr"])
DE_VRIES = Boa(staff_id="2", name="De Vries")
BAKKER = Boa(staff_id="3", name="Bakker")


def day(n: int) -> date:
    return START + timedelta(days=n)


def duo(
    n: int, code: str, beat: str = "1", index: int = 0, pair: tuple[str, str] = ("1", "2")
) -> list[Assignment]:
    """Both boa's of a duo on day `n` (relative to START; negative = history)."""
    return [Assignment(staff_id=s, day=day(n), shift_code=code, beat_id=beat, duo=index) for s in pair]


def problem(
    assignments: list[Assignment], days: int = 28, boas: list[Boa] | None = None, **kw: Any
) -> PlanningProblem:
    """A problem whose demand is exactly what `assignments` fill (so only the rule under test can break)."""
    slots: dict[tuple[date, str, str], int] = {}
    for a in assignments:
        key = (a.day, a.shift_code, a.beat_id)
        slots[key] = max(slots.get(key, 0), a.duo + 1)
    demand = [Demand(day=d, shift_code=c, beat_id=b, duos=n) for (d, c, b), n in slots.items() if d >= START]
    return PlanningProblem(
        start=START,
        days=days,
        shift_types=SHIFTS,
        boas=boas or [JANSEN, DE_VRIES, BAKKER],
        demand=demand,
        **kw,
    )


def run(rooster: list[Assignment], history: list[Assignment] | None = None, **kw: Any) -> list[Violation]:
    return hard(check(problem(rooster, history=history or [], **kw), rooster))


def codes(found: list[Violation]) -> set[str]:
    return {v.rule for v in found}


def weekdays(week: int, code: str, days: range = range(5)) -> list[Assignment]:
    return [a for d in days for a in duo(7 * week + d, code)]


def assert_article(found: list[Violation], code: str) -> Violation:
    hits = [v for v in found if v.rule == code]
    assert hits, f"{code} not among {[line(v) for v in found]}"
    v = hits[0]
    assert v.article == CATALOGUE[code].article
    assert v.staff_ids and all(f"{n}" in v.text for n in ("Jansen",) if "1" in v.staff_ids)
    return v


# -- helpers -------------------------------------------------------------------------------------------------


def test_night_definition_follows_atw_1_7() -> None:
    by = {s.code: s for s in SHIFTS}
    assert is_night(*shift_times(START, by["nacht"]))
    assert not is_night(*shift_times(START, by["avond"]))  # ends at midnight: no work between 00 and 06
    late_evening = ShiftType(
        code="x", name="x", start_minute=18 * 60, duration_minutes=7 * 60 + 30
    )  # 18-01:30
    assert is_night(*shift_times(START, late_evening)) and not is_late_night(
        *shift_times(START, late_evening)
    )
    one_hour = ShiftType(code="y", name="y", start_minute=18 * 60, duration_minutes=7 * 60)  # 18-01: 1 h only
    assert not is_night(*shift_times(START, one_hour))
    assert is_late_night(*shift_times(START, by["nacht"]))


def test_days_read_as_a_dutch_team_lead_writes_them() -> None:
    assert days_label([date(2026, 3, 12)]) == "12 mrt"
    assert days_label([date(2026, 3, 14), date(2026, 3, 12), date(2026, 3, 13)]) == "12–14 mrt"
    assert days_label([date(2026, 3, 31), date(2026, 4, 1)]) == "31 mrt–1 apr"
    assert days_label([date(2026, 3, 3), date(2026, 3, 5), date(2026, 3, 6)]) == "3 mrt, 5–6 mrt"


def test_every_rule_has_an_article_and_a_title_with_its_numbers() -> None:
    for r in CATALOGUE.values():
        assert r.article and r.title
        for field in r.settings:
            assert field in RuleSettings.__struct_fields__
    assert title(CATALOGUE["atw_5_8_lid_5"], RuleSettings()) == "46 uur rust na 3 of meer nachten"
    assert (
        title(CATALOGUE["atw_5_7_lid_1"], RuleSettings(max_shift_hours=10.5))
        == "Ten hoogste 10,5 uur per dienst"
    )


def test_a_legal_month_has_no_hard_violation() -> None:
    rooster = [a for w in range(4) for a in weekdays(w, "dag")]
    assert run(rooster) == []


# -- ATW 5:7 working time ------------------------------------------------------------------------------------


def test_shift_longer_than_12_hours() -> None:
    v = assert_article(run(duo(0, "dertien")), "atw_5_7_lid_1")
    assert v.text == "dienst van 13 uur (ten hoogste 12): Jansen, 2 mrt"
    assert run(duo(0, "twaalf")) == []


def test_shift_length_follows_the_setting() -> None:
    assert "atw_5_7_lid_1" in codes(run(duo(0, "twaalf"), rules=RuleSettings(max_shift_hours=10)))


def test_more_than_60_hours_in_a_week() -> None:
    sixty = weekdays(0, "twaalf")
    assert run(sixty, days=7) == []
    v = assert_article(run(sixty + duo(5, "kort"), days=7), "atw_5_7_lid_2")
    assert v.text.startswith("62 uur in week 10 (ten hoogste 60)")


def test_leave_and_sickness_count_as_worked_hours() -> None:
    four = weekdays(0, "twaalf", range(4))  # 48 h
    leave = [Absence(staff_id=s, day=day(4), kind="verlof", hours=8) for s in ("1", "2")]
    sick = [Absence(staff_id=s, day=day(5), kind="ziek", hours=8) for s in ("1", "2")]
    assert "atw_5_7_lid_2" not in codes(run(four, days=7, absences=leave))  # 56 h
    assert "atw_5_7_lid_2" in codes(run(four, days=7, absences=leave + sick))  # 64 h
    away = [
        Absence(staff_id=s, day=day(d), kind="niet_beschikbaar", hours=8) for s in ("1", "2") for d in (4, 5)
    ]
    assert "atw_5_7_lid_2" not in codes(run(four, days=7, absences=away))  # not available is not worked


def test_average_over_4_weeks() -> None:
    keep = [a for w in range(4) for a in weekdays(w, "elf")]  # 55 h a week
    assert run(keep) == []
    broken = [a for w in range(4) for a in weekdays(w, "twaalf")]  # 60 h a week
    v = assert_article(run(broken), "atw_5_7_lid_3")
    assert "gemiddeld 60 uur per week over 4 weken (ten hoogste 55" in v.text


def test_average_over_16_weeks_counts_history() -> None:
    plan = [a for w in range(4) for a in weekdays(w, "elf")]  # 4 x 55 h
    light = [a for w in range(-12, 0) for a in weekdays(w, "elf", range(4))]  # 12 x 44 h: 748 h in 16 weeks
    assert run(plan, history=light) == []
    heavy = [a for w in range(-12, 0) for a in weekdays(w, "elf")]  # 12 x 55 h: 880 h
    v = assert_article(run(plan, history=heavy), "atw_5_7_lid_4")
    assert "over 16 weken (ten hoogste 48" in v.text


# -- ATW 5:3 daily rest --------------------------------------------------------------------------------------


def test_daily_rest_of_11_hours() -> None:
    assert run(duo(0, "laat") + duo(1, "dag10")) == []  # 23:00 -> 10:00: 11 h
    v = assert_article(run(duo(0, "laat") + duo(1, "vroeg6")), "atw_5_3_lid_1")  # 7 h
    assert v.text.startswith("7 uur rust tussen diensten")
    assert v.days == [day(0), day(1)]


def test_daily_rest_may_be_8_hours_once_per_7_days() -> None:
    once = duo(0, "laat") + duo(1, "vroeg")  # 8 h
    assert run(once) == []
    twice = once + duo(3, "laat") + duo(4, "vroeg")
    v = assert_article(run(twice), "atw_5_3_lid_1")
    assert "tweede ingekorte rust binnen 7 dagen" in v.text
    a_week_later = once + duo(7, "laat") + duo(8, "vroeg")
    assert run(a_week_later) == []


def test_reduced_rest_in_history_counts() -> None:
    history = duo(-3, "laat") + duo(-2, "vroeg")
    assert "atw_5_3_lid_1" in codes(run(duo(0, "laat") + duo(1, "vroeg"), history=history))


# -- ATW 5:5 weekly rest -------------------------------------------------------------------------------------


def short_weekend(then_laat: range) -> list[Assignment]:
    """Week 10 Monday–Saturday laat (to 23:00), then Monday of week 11 vroeg (from 07:00): the only rest
    beginning in week 10 is 32 h; in week 11 laat on the days of `then_laat`."""
    return weekdays(0, "laat", range(6)) + weekdays(1, "vroeg", range(1)) + weekdays(1, "laat", then_laat)


def test_weekly_rest_36_hours_per_7_days() -> None:
    v = assert_article(run(short_weekend(range(1, 7)), days=14), "atw_5_5_lid_1")  # no 72 h in 14 days either
    assert v.text.startswith("geen 36 uur aaneengesloten rust in week 10")
    assert run(weekdays(0, "dag"), days=7) == []
    # a rest that begins on Saturday evening may run on into the next week: 09–17 to Monday 09:00 is 40 h
    assert "atw_5_5_lid_1" not in codes(
        run(weekdays(0, "dag", range(6)) + weekdays(1, "dag", range(6)), days=14)
    )
    seven = [a for w in range(2) for a in weekdays(w, "dag", range(7))]
    v = assert_article(run(seven, days=14), "atw_5_5_lid_1")
    assert v.text.startswith("geen 36 uur aaneengesloten rust in week 10")


def test_weekly_rest_72_hours_per_14_days_instead() -> None:
    # 32 h at the weekend, then Tuesday and Wednesday free: Monday 15:00 to Thursday 15:00 is 72 h
    assert "atw_5_5_lid_1" not in codes(run(short_weekend(range(3, 7)), days=14))
    assert "atw_5_5_lid_1" in codes(run(short_weekend(range(1, 7)), days=14))  # 32 h alone is not 72


# -- ATW 5:6 Sundays -----------------------------------------------------------------------------------------


def test_free_sundays_prorated_in_a_short_horizon_are_a_warning_not_a_broken_rule() -> None:
    sundays = [a for w in range(4) for a in duo(7 * w + 6, "dag")]
    assert "atw_5_6_lid_1" not in codes(run(sundays))  # the 48 Sundays nobody planned may all be free
    warned = [v for v in check(problem(sundays), sundays) if v.rule == "atw_5_6_lid_1"]
    assert warned and not warned[0].hard and "0 van 4 zondagen vrij (ten minste 1" in warned[0].text
    assert not [v for v in check(problem(sundays[2:]), sundays[2:]) if v.rule == "atw_5_6_lid_1"]


def test_forty_worked_sundays_break_the_rule_however_little_is_known() -> None:
    worked = [a for w in range(-36, 4) for a in duo(7 * w + 6, "dag")]  # 40 Sundays in a row: 12 left of 52
    history, plan = [a for a in worked if a.day < START], [a for a in worked if a.day >= START]
    v = assert_article(run(plan, history=history), "atw_5_6_lid_1")
    assert v.hard


def test_13_free_sundays_per_52_weeks_with_history() -> None:
    plan = [a for w in range(4) for a in duo(7 * w + 6, "dag")]
    worked_35 = [a for w in range(-48, -13) for a in duo(7 * w + 6, "dag")]  # 35 of the 48 Sundays before
    assert "atw_5_6_lid_1" not in codes(run(plan, history=worked_35))  # 13 free of 52
    worked_36 = [a for w in range(-48, -12) for a in duo(7 * w + 6, "dag")]
    v = assert_article(run(plan, history=worked_36), "atw_5_6_lid_1")
    assert "12 vrije zondagen in 52 weken (ten minste 13)" in v.text


# -- ATW 5:8 nights ------------------------------------------------------------------------------------------


def test_night_longer_than_12_hours() -> None:
    assert_article(run(duo(0, "nacht13")), "atw_5_8_lid_1")
    assert run(duo(0, "nacht12")) == []


def test_long_nights_at_most_5_times_per_14_days() -> None:
    five = [a for n in range(0, 10, 2) for a in duo(n, "nacht12")]
    assert run(five) == []
    six = [a for n in range(0, 12, 2) for a in duo(n, "nacht12")]
    v = assert_article(run(six), "atw_5_8_lid_1")
    assert "6 nachtdiensten langer dan 10 uur binnen 14 dagen (ten hoogste 5)" in v.text


def test_rest_after_a_night_ending_after_2() -> None:
    assert run(duo(0, "nacht") + duo(1, "avond")) == []  # 07:00 -> 21:00: 14 h
    v = assert_article(run(duo(0, "nacht") + duo(1, "laat")), "atw_5_8_lid_4")  # 8 h
    assert v.text.startswith("8 uur rust na nachtdienst tot 07:00 (ten minste 14)")


def test_46_hours_after_a_series_of_3_nights() -> None:
    nights = [a for n in range(3) for a in duo(n, "nacht")]
    v = assert_article(run(nights + duo(4, "vroeg")), "atw_5_8_lid_5")  # 24 h after the third night
    assert line(v) == "ATW 5:8 lid 5 — 46 uur rust na 3 nachten: Jansen, 2–4 mrt"
    assert run(nights + duo(5, "vroeg")) == []  # 48 h
    two = [a for n in range(2) for a in duo(n, "nacht")]
    assert run(two + duo(3, "vroeg")) == []  # two nights need only the 14 h


def test_a_night_series_begun_in_history_needs_its_46_hours() -> None:
    history = [a for n in (-2, -1) for a in duo(n, "nacht")]
    v = assert_article(run(duo(0, "nacht") + duo(2, "vroeg"), history=history), "atw_5_8_lid_5")
    assert v.text.startswith("46 uur rust na 3 nachten: Jansen, 28 feb–2 mrt")
    assert run(duo(0, "nacht") + duo(3, "vroeg"), history=history) == []


def test_consecutive_long_nights_leave_too_little_rest() -> None:
    two = duo(0, "nacht12") + duo(1, "nacht12")  # 07:00 -> 19:00: 12 h after a night ending after 02:00
    assert_article(run(two), "atw_5_8_lid_4")


def test_at_most_36_late_nights_per_16_weeks_counting_history() -> None:
    plan = [a for n in (0, 3, 6) for a in duo(n, "nacht")]
    history_33 = [a for k in range(1, 34) for a in duo(-3 * k, "nacht")]
    assert "atw_5_8_lid_2" not in codes(run(plan, history=history_33))
    history_34 = [a for k in range(1, 35) for a in duo(-3 * k, "nacht")]
    v = assert_article(run(plan, history=history_34), "atw_5_8_lid_2")
    assert v.text.startswith("37 nachtdiensten na 02:00 binnen 16 weken (ten hoogste 36)")


# -- availability, qualifications, duos, the demand ----------------------------------------------------------


def test_absence_fixed_day_off_night_exemption_and_beats() -> None:
    sick = [Absence(staff_id="2", day=day(0), kind="ziek", hours=8)]
    assert_article(run(duo(0, "dag"), absences=sick), "afwezig")
    assert run(duo(1, "dag"), absences=sick) == []
    off = Boa(staff_id="2", name="De Vries", fixed_days_off=[0])
    assert_article(run(duo(0, "dag"), boas=[JANSEN, off]), "vaste_vrije_dag")
    assert run(duo(1, "dag"), boas=[JANSEN, off]) == []
    exempt = Boa(staff_id="2", name="De Vries", night_exempt=True)
    assert_article(run(duo(0, "nacht"), boas=[JANSEN, exempt]), "nachtvrijstelling")
    assert run(duo(0, "laat"), boas=[JANSEN, exempt]) == []
    elsewhere = Boa(staff_id="2", name="De Vries", beat_ids=["7"])
    assert_article(run(duo(0, "dag"), boas=[JANSEN, elsewhere]), "gebied")
    assert run(duo(0, "dag", beat="7"), boas=[JANSEN, elsewhere]) == []


def test_duo_is_two_boas_with_an_experienced_one() -> None:
    alone = [Assignment(staff_id="1", day=day(0), shift_code="dag", beat_id="1")]
    assert_article(run(alone), "duo_paar")
    three = duo(0, "dag") + [Assignment(staff_id="3", day=day(0), shift_code="dag", beat_id="1")]
    assert_article(run(three), "duo_paar")
    novices = duo(0, "dag", pair=("2", "3"))
    v = assert_article(run(novices), "duo_ervaren")
    assert v.text.startswith("geen ervaren boa in het duo") and "De Vries en Bakker" in v.text
    assert run(novices, rules=RuleSettings(duo_needs_experienced=False)) == []


def test_qualification_of_the_demand() -> None:
    rooster = duo(0, "dag", pair=("1", "2"))
    demand = [Demand(day=day(0), shift_code="dag", beat_id="1", qualification="anpr")]
    p = replace(problem(rooster), demand=demand)
    assert hard(check(p, rooster)) == []
    other = duo(0, "dag", pair=("2", "3"))
    found = hard(check(p, other))
    assert "kwalificatie" in codes(found)


def test_pairs_that_must_or_may_never_work_together() -> None:
    never = [PairRule(a="1", b="2", kind="nooit")]
    assert_article(run(duo(0, "dag"), pair_rules=never), "duo_nooit")
    apart = duo(0, "dag", pair=("1", "4")) + duo(0, "dag", index=1, pair=("2", "5"))
    five = [
        JANSEN,
        DE_VRIES,
        BAKKER,
        Boa(staff_id="4", name="Smit"),
        Boa(staff_id="5", name="Kok", experienced=True),
    ]
    assert run(apart, boas=five, pair_rules=never) == []
    always = [PairRule(a="1", b="3", kind="altijd")]
    rooster = duo(0, "dag") + [
        Assignment(staff_id="3", day=day(0), shift_code="dag", beat_id="1", duo=1),
        Assignment(staff_id="4", day=day(0), shift_code="dag", beat_id="1", duo=1),
    ]
    boas = [JANSEN, DE_VRIES, BAKKER, Boa(staff_id="4", name="Smit", experienced=True)]
    assert_article(run(rooster, boas=boas, pair_rules=always), "duo_altijd")
    together = duo(0, "dag", pair=("1", "3"))
    assert run(together, pair_rules=always) == []


def test_one_shift_per_day_and_only_demanded_slots() -> None:
    assert_article(run(duo(0, "vroeg") + duo(0, "avond", beat="2")), "een_dienst_per_dag")
    rooster = duo(0, "dag")
    p = problem(rooster)
    moved = [replace(a, beat_id="9") for a in rooster]
    assert "vraag" in codes(hard(check(p, moved)))
    second = [replace(a, duo=1) for a in rooster]
    assert "vraag" in codes(hard(check(p, second)))
    outside = duo(40, "dag")
    assert "vraag" in codes(run(outside))
    unknown = [Assignment(staff_id="1", day=day(0), shift_code="middag", beat_id="1")]
    assert "onbekend" in codes(hard(check(p, unknown)))


def test_pins_and_the_frozen_published_days_stay() -> None:
    rooster = duo(0, "dag") + duo(2, "dag")
    pins = duo(0, "dag")
    assert run(rooster, pins=pins) == []
    assert_article(hard(check(problem(rooster, pins=pins), duo(2, "dag"))), "vastgezet")
    published = rooster
    repaired = duo(0, "dag", pair=("1", "3")) + duo(2, "dag", pair=("1", "3"))
    p = problem(rooster + repaired, published=published, frozen_until=day(1))
    found = hard(check(p, repaired))
    assert "bevroren" in codes(found) and all(v.days == [day(0)] for v in found if v.rule == "bevroren")
    p_ok = problem(rooster + repaired, published=published, frozen_until=day(1))
    assert "bevroren" not in codes(hard(check(p_ok, duo(0, "dag") + duo(2, "dag", pair=("1", "3")))))


def test_contract_hours_deviation_is_a_soft_finding() -> None:
    rooster = duo(0, "dag")
    found = check(problem(rooster), rooster)
    soft = [v for v in found if v.rule == "contracturen"]
    assert soft and not any(v.hard for v in soft)
    assert soft[0].text.startswith("8 van 144 contracturen ingepland (36 uur per week): Jansen")
    full = [a for w in range(4) for a in weekdays(w, "dag", range(4))] + [
        a for w in range(4) for a in duo(7 * w + 4, "kort")
    ]  # 4 x (32 + 2) = 136 h of 144: within 10 %
    assert not [v for v in check(problem(full), full) if v.rule == "contracturen" and "1" in v.staff_ids]


# -- properties over random roosters -------------------------------------------------------------------------

CODES = [s.code for s in SHIFTS]


@st.composite
def roosters(draw: st.DrawFn) -> list[Assignment]:
    out = []
    for staff in ("1", "2", "3"):
        for n in range(14):
            code = draw(st.sampled_from([None, None, *CODES]))
            if code is not None:
                out.append(
                    Assignment(staff_id=staff, day=day(n), shift_code=code, beat_id="1", duo=int(staff) - 1)
                )
    return out


@settings(max_examples=60, deadline=None)
@given(roosters())
def test_every_violation_names_its_article_boa_and_days(rooster: list[Assignment]) -> None:
    p = problem(rooster, days=14)
    names = {b.staff_id: b.name for b in p.boas}
    for v in check(p, rooster):
        r = CATALOGUE[v.rule]
        assert v.article == r.article and v.hard == r.hard
        for s in v.staff_ids:
            assert names[s] in v.text
        assert all(START - timedelta(days=400) <= d <= day(40) for d in v.days)


ATW = {c for c in CATALOGUE if c.startswith("atw_")}


@settings(max_examples=60, deadline=None)
@given(roosters(), st.data())
def test_removing_a_shift_never_breaks_a_working_time_rule(
    rooster: list[Assignment], data: st.DataObject
) -> None:
    if not rooster:
        return
    drop = data.draw(st.integers(0, len(rooster) - 1))
    fewer = rooster[:drop] + rooster[drop + 1 :]
    before = {
        (v.rule, s) for v in check(problem(rooster, days=14), rooster) if v.rule in ATW for s in v.staff_ids
    }
    after = {
        (v.rule, s) for v in check(problem(rooster, days=14), fewer) if v.rule in ATW for s in v.staff_ids
    }
    assert after <= before


@pytest.mark.parametrize("code", sorted(ATW))
def test_each_working_time_rule_is_in_the_catalogue_with_an_atw_article(code: str) -> None:
    assert CATALOGUE[code].article.startswith("ATW 5:")
