"""Routine alerts with hysteresis, on a simulated clock through `LivePicture.tick`: a unit crossing its beat's
border back and forth raises at most one alert, a unit far beyond it raises at once, an alert resolves only
after its condition has been clear for a while, and late (buffered) fixes never count."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from shapely import box

from backend.geofencing.logic import PreparedBeats
from backend.live.picture import LivePicture, PictureTick, RoutineRules, UnitLive
from shared.geo import distance_m
from shared.protocol import AlertKind, PositionReported, UnitStatus

T0 = datetime(2024, 5, 1, 12, 0, tzinfo=UTC)
BEAT = 7
EAST_EDGE = 4.898  # the beat is box(4.888, 52.370, 4.898, 52.376)
LAT = 52.373
INSIDE = (4.8932, LAT)
RULES = RoutineRules(outside_min_s=120, outside_min_m=150, stale_min_s=60, apart_min_s=60, clear_s=60)
TABLET, TRACKER = 11, 12


def _beyond(metres: float) -> tuple[float, float]:
    """A point `metres` east of the beat's east border."""
    return EAST_EDGE + metres / distance_m(EAST_EDGE, LAT, EAST_EDGE + 1, LAT), LAT


def _picture(assigned: frozenset[int] = frozenset({BEAT})) -> LivePicture:
    picture = LivePicture(PreparedBeats([(BEAT, box(4.888, 52.370, 4.898, 52.376))]), RULES)
    picture.put_unit(
        UnitLive(
            unit_id=1,
            org_id=3,
            call_sign="A-01",
            status=UnitStatus.AVAILABLE,
            status_since=T0,
            assigned=assigned,
        )
    )
    return picture


class Clock:
    """Positions every 5 s and a tick every second, like the field and the hub do."""

    def __init__(self, picture: LivePicture) -> None:
        self.picture = picture
        self.now = T0
        self.seq = 0
        self.raised: list[AlertKind] = []
        self.resolved: list[AlertKind] = []

    def walk(self, where: tuple[float, float], seconds: int, *, device: int = TABLET) -> None:
        for s in range(seconds):
            if s % 5 == 0:
                self.seq += 1
                fix = PositionReported(seq=self.seq, lon=where[0], lat=where[1], at=self.now)
                self.picture.apply_position(1, fix, device)
            self.tick()
            self.now += timedelta(seconds=1)

    def tick(self) -> PictureTick:
        step = self.picture.tick(self.now, stale_after_s=120, partners_apart_m=250)
        self.raised += [a.kind for a in step.raised]
        self.resolved += [kind for _, kind in step.resolved]
        return step


def test_crossing_the_border_back_and_forth_for_ten_minutes_raises_nothing_when_each_stay_is_short() -> None:
    clock = Clock(_picture())
    clock.walk(INSIDE, 10)
    for _ in range(10):  # 60 s just outside (40 m), then back in for a bit: for 10 minutes
        clock.walk(_beyond(40), 50)
        clock.walk(INSIDE, 10)
    assert clock.raised == [] and clock.resolved == []


def test_long_stays_outside_with_short_returns_raise_one_alert_in_ten_minutes() -> None:
    clock = Clock(_picture())
    clock.walk(INSIDE, 10)
    for _ in range(4):  # 130 s outside, 20 s inside: each stay is long enough, each return too short
        clock.walk(_beyond(40), 130)
        clock.walk(INSIDE, 20)
    assert clock.now - T0 >= timedelta(minutes=10)
    assert clock.raised == [AlertKind.OUTSIDE_ASSIGNED_BEAT] and clock.resolved == []


def test_an_alert_is_raised_after_outside_min_s_and_resolves_after_clear_s_inside() -> None:
    clock = Clock(_picture())
    clock.walk(INSIDE, 5)
    clock.walk(_beyond(40), 119)
    assert clock.raised == []
    clock.walk(_beyond(40), 5)
    assert clock.raised == [AlertKind.OUTSIDE_ASSIGNED_BEAT]
    clock.walk(INSIDE, 59)
    assert clock.resolved == []
    clock.walk(INSIDE, 5)
    assert clock.resolved == [AlertKind.OUTSIDE_ASSIGNED_BEAT]
    clock.walk(_beyond(40), 125)  # a new episode after the old one resolved: a new alert
    assert clock.raised == [AlertKind.OUTSIDE_ASSIGNED_BEAT] * 2


def test_far_beyond_the_border_raises_at_once() -> None:
    clock = Clock(_picture())
    clock.walk(INSIDE, 5)
    clock.walk(_beyond(160), 1)
    assert clock.raised == [AlertKind.OUTSIDE_ASSIGNED_BEAT]
    assert clock.picture.beyond_border_m(clock.picture.units[1]) > 150


def test_late_fixes_outside_never_count() -> None:
    clock = Clock(_picture())
    clock.walk(INSIDE, 5)
    for s in range(300):  # a basement's buffer far outside, sent late, while live fixes say inside
        clock.seq += 1
        late = PositionReported(
            seq=clock.seq, lon=_beyond(500)[0], lat=LAT, at=clock.now - timedelta(minutes=30), late=True
        )
        clock.picture.apply_position(1, late, TABLET)
        if s % 5 == 0:
            clock.seq += 1
            clock.picture.apply_position(
                1, PositionReported(seq=clock.seq, lon=INSIDE[0], lat=LAT, at=clock.now), TABLET
            )
        clock.tick()
        clock.now += timedelta(seconds=1)
    assert clock.raised == []


def test_a_unit_gets_stale_alert_only_after_stale_min_s_more_and_only_once() -> None:
    clock = Clock(_picture(assigned=frozenset()))
    clock.walk(INSIDE, 1)
    for _ in range(3):  # silent 150 s (stale for 30 s), then one fix: never long enough
        clock.now += timedelta(seconds=150)
        clock.tick()
        clock.walk(INSIDE, 1)
    assert clock.raised == []
    clock.now += timedelta(seconds=181)
    clock.tick()
    clock.now += timedelta(seconds=60)
    clock.tick()
    assert clock.raised == [AlertKind.POSITION_STALE]


def test_partners_apart_raise_after_apart_min_s_once() -> None:
    picture = _picture(assigned=frozenset())
    clock = Clock(picture)
    for _ in range(5):  # apart 30 s, together 10 s: flapping never raises
        for s in range(30):
            clock.walk(INSIDE, 1)
            if s % 5 == 0:
                clock.seq += 1
                far = PositionReported(seq=clock.seq, lon=_beyond(400)[0], lat=LAT, at=clock.now)
                picture.apply_position(1, far, TRACKER)
        clock.walk(INSIDE, 10, device=TRACKER)
    assert clock.raised == []
    for s in range(70):
        clock.walk(INSIDE, 1)
        if s % 5 == 0:
            clock.seq += 1
            far = PositionReported(seq=clock.seq, lon=_beyond(400)[0], lat=LAT, at=clock.now)
            picture.apply_position(1, far, TRACKER)
    assert clock.raised == [AlertKind.PARTNERS_APART]


def test_an_open_alert_from_the_database_is_not_raised_again() -> None:
    picture = _picture()
    picture.mark_open(1, AlertKind.OUTSIDE_ASSIGNED_BEAT)
    clock = Clock(picture)
    clock.walk(_beyond(400), 200)
    assert clock.raised == []
