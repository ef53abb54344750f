"""Proposals and task transitions with plain values."""

from __future__ import annotations

import pytest

from backend.dispatch.logic import (
    OUTSIDE_BEAT_PENALTY_M,
    Candidate,
    IncidentSite,
    propose_units,
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


@pytest.mark.parametrize("status", [s for s in UnitStatus if s != UnitStatus.AVAILABLE])
def test_units_that_are_not_available_are_never_proposed(status: UnitStatus) -> None:
    assert ids([unit(1, 50, status=status), unit(2, 800)]) == [2]


def test_a_unit_with_an_active_task_is_not_proposed() -> None:
    assert ids([unit(1, 50, busy=True), unit(2, 800)]) == [2]


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
