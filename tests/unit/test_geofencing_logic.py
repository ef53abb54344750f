from __future__ import annotations

from collections import defaultdict
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from shapely import Point
from shapely.geometry import shape

from backend.geofencing.importer import BeatFeature, parse_beats
from backend.geofencing.logic import (
    BackInAssignedBeat,
    BeatEntered,
    BeatLeft,
    OutsideAssignedBeat,
    PreparedBeats,
    UnitFence,
    beat_changes,
    containing_beats,
    containing_beats_many,
    evaluate,
)

DEMO = Path(__file__).parents[2] / "backend/demo/data/amsterdam_cbs_buurten_2014_wgs84.geojson"
T0 = datetime(2024, 5, 1, 12, 0, tzinfo=UTC)

BUURTEN: list[BeatFeature] = parse_beats(DEMO.read_bytes())
BEAT_ID = {b.code: i for i, b in enumerate(BUURTEN, start=1)}
SHAPES = {BEAT_ID[b.code]: shape(b.geometry) for b in BUURTEN}
PREPARED = PreparedBeats(SHAPES.items())


def _shared_vertices() -> list[tuple[float, float]]:
    """Vertices that lie on the outline of exactly two buurten: points on a shared boundary."""
    owners: dict[tuple[float, float], set[int]] = defaultdict(set)
    for beat_id, geometry in SHAPES.items():
        for polygon in getattr(geometry, "geoms", [geometry]):
            for x, y in polygon.exterior.coords:
                owners[(x, y)].add(beat_id)
    return [p for p, ids in owners.items() if len(ids) == 2]


SHARED_VERTICES = _shared_vertices()


@pytest.mark.parametrize(
    ("place", "lon", "lat", "code"),
    [
        ("Oude Kerk", 4.8981, 52.3744, "BU03630000"),
        ("Amsterdam Centraal", 4.9003, 52.3791, "BU03630001"),
        ("Vondelpark, Museumkwartier side", 4.8686, 52.3580, "BU03630447"),
        ("IJburg", 4.9991, 52.3546, "BU03630535"),
    ],
)
def test_point_inside_a_buurt_is_in_that_buurt_only(place: str, lon: float, lat: float, code: str) -> None:
    assert containing_beats(lon, lat, PREPARED) == {BEAT_ID[code]}, place


@pytest.mark.parametrize(("lon", "lat"), [(5.1214, 52.0907), (0.0, 0.0), (52.3731, 4.8932)])
def test_point_outside_amsterdam_or_with_swapped_axes_is_in_no_beat(lon: float, lat: float) -> None:
    assert containing_beats(lon, lat, PREPARED) == frozenset()


def test_point_on_a_shared_boundary_is_in_both_buurten() -> None:
    lon, lat = SHARED_VERTICES[0]
    found = containing_beats(lon, lat, PREPARED)
    assert len(found) == 2
    assert all(SHAPES[b].boundary.distance(Point(lon, lat)) == 0 for b in found)


lons = st.floats(min_value=4.72, max_value=5.08)
lats = st.floats(min_value=52.27, max_value=52.44)


@settings(max_examples=60, deadline=None)
@given(
    random_points=st.lists(st.tuples(lons, lats), max_size=40),
    boundary_points=st.lists(st.sampled_from(SHARED_VERTICES), max_size=5),
)
def test_vectorised_lookup_matches_scalar_and_brute_force(
    random_points: list[tuple[float, float]], boundary_points: list[tuple[float, float]]
) -> None:
    points = random_points + boundary_points
    many = containing_beats_many([p[0] for p in points], [p[1] for p in points], PREPARED)
    scalar = [containing_beats(lon, lat, PREPARED) for lon, lat in points]
    brute = [frozenset(b for b, g in SHAPES.items() if g.covers(Point(lon, lat))) for lon, lat in points]
    assert many == scalar == brute


def test_vectorised_lookup_rejects_mismatched_lengths() -> None:
    with pytest.raises(ValueError):
        containing_beats_many([4.9, 4.9], [52.37], PREPARED)


def test_prepared_beats_reject_duplicate_ids() -> None:
    with pytest.raises(ValueError):
        PreparedBeats([(1, SHAPES[1]), (1, SHAPES[2])])


def test_beat_changes_lists_left_before_entered_each_by_beat_id() -> None:
    events = beat_changes(7, frozenset({5, 1, 3}), frozenset({3, 9, 2}), T0)
    assert events == [
        BeatLeft(unit_id=7, beat_id=1, at=T0),
        BeatLeft(unit_id=7, beat_id=5, at=T0),
        BeatEntered(unit_id=7, beat_id=2, at=T0),
        BeatEntered(unit_id=7, beat_id=9, at=T0),
    ]


def test_unchanged_beats_give_no_events() -> None:
    assert beat_changes(7, frozenset({3}), frozenset({3}), T0) == []


def test_walk_out_of_assigned_beat_raises_alarm_once_and_clears_it_once() -> None:
    a, b, c = 1, 2, 3
    walk = [{a}, {a, b}, {b}, {c}, {c}, {a}, {a}]
    state, all_events = UnitFence(), []
    for minute, beats in enumerate(walk):
        state, events = evaluate(4, state, frozenset(beats), frozenset({a}), T0 + timedelta(minutes=minute))
        all_events.append(events)
    alarms = [e for events in all_events for e in events if isinstance(e, OutsideAssignedBeat)]
    clears = [e for events in all_events for e in events if isinstance(e, BackInAssignedBeat)]
    assert alarms == [OutsideAssignedBeat(unit_id=4, at=T0 + timedelta(minutes=2), assigned=(a,))]
    assert clears == [BackInAssignedBeat(unit_id=4, at=T0 + timedelta(minutes=5))]
    assert all_events[0] == [BeatEntered(unit_id=4, beat_id=a, at=T0)]
    assert state == UnitFence(beats=frozenset({a}), outside_assigned=False, at=T0 + timedelta(minutes=6))


def test_first_fix_outside_assigned_beat_raises_alarm_with_enter_events_first() -> None:
    state, events = evaluate(4, UnitFence(), frozenset({2}), frozenset({3, 1}), T0)
    assert events == [
        BeatEntered(unit_id=4, beat_id=2, at=T0),
        OutsideAssignedBeat(unit_id=4, at=T0, assigned=(1, 3)),
    ]
    assert state.outside_assigned is True


def test_unit_without_assignment_never_gets_an_alarm() -> None:
    state, events = evaluate(4, UnitFence(), frozenset(), frozenset(), T0)
    assert events == []
    assert state == UnitFence(beats=frozenset(), outside_assigned=None, at=T0)


def test_unit_anywhere_in_one_of_several_assigned_beats_is_inside() -> None:
    state, events = evaluate(4, UnitFence(), frozenset({2, 8}), frozenset({8, 9}), T0)
    assert state.outside_assigned is False
    assert not any(isinstance(e, OutsideAssignedBeat) for e in events)


def test_fix_older_than_state_is_ignored() -> None:
    state, _ = evaluate(4, UnitFence(), frozenset({1}), frozenset({1}), T0)
    late, events = evaluate(4, state, frozenset({2}), frozenset({1}), T0 - timedelta(seconds=5))
    assert late == state
    assert events == []


CENTRAAL = (4.9003, 52.3791)
DAM = (4.8932, 52.3731)
