"""Proposals and task transitions with plain values."""

from __future__ import annotations

import msgspec
import pytest

from backend.dispatch.logic import (
    OUTSIDE_BEAT_PENALTY_M,
    Candidate,
    CurrentTask,
    IncidentSite,
    propose_units,
    taken_from_text,
    taken_over_text,
    takeover_reason,
    takes_over,
)
from shared.geo import distance_m
from shared.protocol import TaskState, UnitStatus
from shared.tasks import task_transition_allowed

SITE = IncidentSite(lon=4.8970, lat=52.3745, beat_id=10, required_domain=1)
M_PER_DEG_LAT = 111_195.0


def unit(
    unit_id: int,
    north_m: float | None,
    *,
    status: UnitStatus = UnitStatus.AVAILABLE,
    beats: tuple[int, ...] = (),
    domains: tuple[int, ...] = (1,),
    stale: bool = False,
    busy: bool = False,
) -> Candidate:
    lat = None if north_m is None else SITE.lat + north_m / M_PER_DEG_LAT
    return Candidate(
        unit_id=unit_id,
        call_sign=f"U-{unit_id:02d}",
        status=status,
        lon=None if north_m is None else SITE.lon,
        lat=lat,
        beat_ids=beats,
        domains=domains,
        stale=stale,
        busy_with_task=busy,
    )


def ids(units: list[Candidate], **kw: object) -> list[int]:
    return [p.unit_id for p in propose_units(SITE, units, **kw)]  # type: ignore[arg-type]


def test_nearest_available_unit_comes_first() -> None:
    assert ids([unit(1, 900), unit(2, 100), unit(3, 500)]) == [2, 3, 1]


@pytest.mark.parametrize("status", [UnitStatus.OFF_DUTY, UnitStatus.EMERGENCY])
def test_units_off_duty_or_in_an_emergency_are_never_proposed(status: UnitStatus) -> None:
    assert ids([unit(1, 50, status=status), unit(2, 800)]) == [2]


@pytest.mark.parametrize(
    "status", [UnitStatus.EN_ROUTE, UnitStatus.ON_SCENE, UnitStatus.BUSY, UnitStatus.BREAK]
)
def test_busy_units_are_listed_after_every_free_one(status: UnitStatus) -> None:
    proposals = propose_units(SITE, [unit(1, 50, status=status), unit(2, 800), unit(3, 1500)])
    assert [p.unit_id for p in proposals] == [2, 3, 1]  # the nearest is busy: still last
    assert [p.busy for p in proposals] == [False, False, True]
    assert "niet beschikbaar gemeld" in proposals[2].reasons  # busy by its own status, without a task


def test_a_unit_with_an_active_task_comes_after_the_free_ones_with_its_task() -> None:
    task = CurrentTask(task_id=9, incident_id=4, priority=3, category="Afval", address="Damstraat 1",
                       description="Zakken naast de container " * 8, state=TaskState.ON_SCENE)  # fmt: skip
    busy = Candidate(**{**msgspec.structs.asdict(unit(1, 50)), "current_task": task})
    first, second = propose_units(SITE, [busy, unit(2, 800)])
    assert (first.unit_id, first.busy, first.task) == (2, False, None)
    assert second.busy and second.task_priority == 3 and second.task_state == TaskState.ON_SCENE
    assert second.task is not None and second.task.startswith("P3 Afval — Damstraat 1: Zakken naast")
    assert second.task.endswith("…") and len(second.task) < 140  # cut at a word
    assert not second.may_take  # SITE is a P2
    assert "bezet: pas vrij na de huidige taak" in second.reasons


def test_a_p1_may_take_a_unit_from_a_lower_priority_task_and_says_so() -> None:
    def on(priority: int, unit_id: int, north_m: float) -> Candidate:
        task = CurrentTask(task_id=unit_id, incident_id=unit_id, priority=priority, category="Overlast")
        return Candidate(**{**msgspec.structs.asdict(unit(unit_id, north_m)), "current_task": task})

    p1 = IncidentSite(lon=SITE.lon, lat=SITE.lat, beat_id=SITE.beat_id, priority=1)
    proposals = propose_units(p1, [on(1, 1, 100), on(3, 2, 900), unit(3, 2000)])
    assert [p.unit_id for p in proposals] == [3, 2, 1]  # free, then the one a P1 may take, then the P1
    assert [p.may_take for p in proposals] == [False, True, False]
    assert "P1 gaat voor: mag van de P3-taak worden gehaald" in proposals[1].reasons
    assert not propose_units(SITE, [on(3, 2, 900)])[0].may_take  # a P2 takes nobody's unit


@pytest.mark.parametrize(
    ("priority", "task_priority", "taken"),
    [(1, 2, True), (1, 3, True), (1, 1, False), (2, 3, False), (3, 3, False), (2, 1, False)],
)
def test_only_a_p1_takes_a_unit_over_and_only_from_a_lower_priority_task(
    priority: int, task_priority: int, taken: bool
) -> None:
    """The assignment releases exactly the tasks the proposals said it may take (the same rule)."""
    assert takes_over(priority, task_priority) is taken


def test_a_take_over_names_the_other_melding_on_both_timelines() -> None:
    assert takeover_reason(1, "Vechtpartij") == "overgenomen voor P1: Vechtpartij"  # the tablet's reason
    assert (
        taken_over_text("HH-03", 12, 1, "Vechtpartij")
        == "HH-03 overgenomen voor P1-melding #12 (Vechtpartij)"
    )
    assert taken_from_text("HH-03", 11, 3, "Afval") == "HH-03 overgenomen van P3-melding #11 (Afval)"


def test_a_unit_already_on_this_melding_is_not_proposed_again() -> None:
    again = Candidate(**{**msgspec.structs.asdict(unit(1, 50)), "on_this_incident": True})
    assert ids([again, unit(2, 800)]) == [2]


def test_the_limit_applies_to_the_free_and_the_busy_ones_each() -> None:
    units = [unit(i, 100.0 * i) for i in range(1, 5)] + [unit(i, 10.0 * i, busy=True) for i in range(5, 9)]
    assert ids(units, limit=2) == [1, 2, 5, 6]


def test_a_unit_in_the_incidents_beat_beats_a_slightly_nearer_one_outside() -> None:
    assert ids([unit(1, 300), unit(2, 500, beats=(10,))]) == [2, 1]


def test_a_much_nearer_unit_outside_the_beat_still_wins() -> None:
    assert ids([unit(1, 100), unit(2, 100 + OUTSIDE_BEAT_PENALTY_M + 200, beats=(10,))]) == [1, 2]


def test_required_domain_comes_before_distance() -> None:
    assert ids([unit(1, 50, domains=(2,)), unit(2, 3000, domains=(1, 2))]) == [2, 1]


def test_stale_positions_rank_lower_and_units_without_position_last() -> None:
    assert ids([unit(1, None), unit(2, 100, stale=True), unit(3, 600)]) == [3, 2, 1]


def test_distance_is_straight_line_metres_and_limit_applies() -> None:
    proposals = propose_units(SITE, [unit(i, 100.0 * i) for i in range(1, 9)], limit=3)
    assert [p.unit_id for p in proposals] == [1, 2, 3]
    assert proposals[0].distance_m == pytest.approx(100.0, rel=0.01)
    north = SITE.lat + 100 / M_PER_DEG_LAT
    assert proposals[0].distance_m == pytest.approx(distance_m(SITE.lon, SITE.lat, SITE.lon, north), rel=1e-9)
    assert "100 m hemelsbreed" in proposals[0].reasons


def test_no_units_no_proposals() -> None:
    assert propose_units(SITE, []) == []


@pytest.mark.parametrize(
    ("current", "new", "allowed"),
    [
        (TaskState.ASSIGNED, TaskState.ACCEPTED, True),
        (TaskState.ASSIGNED, TaskState.ON_SCENE, True),  # a duo may skip steps
        (TaskState.ACCEPTED, TaskState.EN_ROUTE, True),
        (TaskState.ON_SCENE, TaskState.DONE, True),
        (TaskState.ASSIGNED, TaskState.DECLINED, True),
        (TaskState.ACCEPTED, TaskState.ACCEPTED, False),
        (TaskState.ACCEPTED, TaskState.ASSIGNED, False),
        (TaskState.ACCEPTED, TaskState.CANCELLED, False),  # only the meldkamer cancels
        (TaskState.CANCELLED, TaskState.ON_SCENE, False),
        (TaskState.DONE, TaskState.EN_ROUTE, False),
        (TaskState.DECLINED, TaskState.ACCEPTED, False),
    ],
)
def test_task_transitions(current: TaskState, new: TaskState, allowed: bool) -> None:
    assert task_transition_allowed(current, new) is allowed


def test_the_travel_estimate_is_the_straight_line_with_a_detour_at_walking_and_cycling_pace() -> None:
    from backend.dispatch.logic import BIKE_KMH, WALK_KMH, travel_minutes

    assert travel_minutes(1000, WALK_KMH) == 16  # 1.3 km at 5 km/h
    assert travel_minutes(1000, BIKE_KMH) == 5  # 1.3 km at 15 km/h
    assert travel_minutes(10, WALK_KMH) == 1  # never "0 min"
    (proposal,) = propose_units(SITE, [unit(1, 1000)])
    assert (proposal.walk_min, proposal.bike_min) == (16, 5)
