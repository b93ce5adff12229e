"""The time maths checked as laws (hypothesis) and against a reference too simple to be wrong.

The reference knows nothing of compiled intervals, prefix sums or wall-clock-to-epoch conversion: it asks
zoneinfo what local time each UTC minute is, keeps a flag per minute, and counts flags. Where the fast
calendar and the reference disagree, the fast one is wrong.
"""

import random
from collections.abc import Sequence
from datetime import UTC, date, datetime, timedelta, timezone
from itertools import compress, count, islice
from zoneinfo import ZoneInfo

import holidays
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sla.calendar import (
    Calendar,
    Pause,
    Schedule,
    WorkingTime,
    after_with_pauses,
    compile_schedule,
    from_epoch,
    to_epoch,
    within_with_pauses,
)

H = 3600
DAY = 86_400

# Deterministic: the same examples on every run and every machine, no example database.
# The first example of a schedule compiles it (and may import holidays), hence no deadline.
PROPERTY = settings(derandomize=True, database=None, deadline=None, max_examples=300)


def weekly(
    *spans: tuple[float, float], days: Sequence[int] = range(5)
) -> tuple[tuple[tuple[int, int], ...], ...]:
    day = tuple((round(s * H), round(e * H)) for s, e in spans)
    return tuple(day if i in days else () for i in range(7))


SCHEDULES = {
    "paris-fr": Schedule(zone="Europe/Paris", weekly=weekly((8, 18)), country="FR"),
    "moscow-ru": Schedule(zone="Europe/Moscow", weekly=weekly((9, 18)), country="RU"),
    "paris-24-7": Schedule(zone="Europe/Paris", weekly=weekly((0, 24), days=range(7))),
    # A split shift with a lunch break and half-hour closing, Bavarian holidays and two operator closures.
    "munich-split": Schedule(
        zone="Europe/Berlin",
        weekly=weekly((8, 12), (13, 17.5), days=range(6)),
        country="DE",
        subdivision="BY",
        closed_dates=frozenset({date(2026, 12, 24), date(2026, 12, 31)}),
    ),
    # A night shift across midnight every day: New York changes its clocks at 02:00, inside the shift.
    "new-york-nights": Schedule(
        zone="America/New_York", weekly=weekly((0, 6), (22, 24), days=range(7)), country="US"
    ),
}
ALWAYS = Schedule.always()

FIRST = int(datetime(2026, 1, 1, tzinfo=UTC).timestamp())
LAST = int(datetime(2028, 1, 1, tzinfo=UTC).timestamp())


# -- laws of the time maths --------------------------------------------------------------------------------

schedules = st.sampled_from([*SCHEDULES.values(), ALWAYS])
calendars = schedules.map(compile_schedule)
instants = st.integers(FIRST, LAST)
durations = st.integers(0, 10 * DAY)
# Pauses near the start, where they matter: from two days before it to ten days after, up to three days long.
nearby_pauses = st.lists(st.tuples(st.integers(-2 * DAY, 10 * DAY), st.integers(0, 3 * DAY)), max_size=4)


def around(start: int, offsets: list[tuple[int, int]]) -> list[Pause]:
    return [(start + offset, start + offset + length) for offset, length in offsets]


@PROPERTY
@given(calendars, instants, durations, durations)
def test_after_is_monotonic_in_duration(calendar: Calendar, start: int, d1: int, d2: int) -> None:
    shorter, longer = sorted((d1, d2))
    assert calendar.after(start, shorter) <= calendar.after(start, longer)
    if 0 < shorter < longer:
        assert calendar.after(start, shorter) < calendar.after(start, longer)


@PROPERTY
@given(calendars, instants, durations)
def test_within_undoes_after(calendar: Calendar, start: int, duration: int) -> None:
    assert calendar.within(start, calendar.after(start, duration)) == duration


@PROPERTY
@given(calendars, instants, st.integers(1, 10 * DAY))
def test_after_is_the_earliest_such_instant(calendar: Calendar, start: int, duration: int) -> None:
    due = calendar.after(start, duration)
    assert due > start
    assert calendar.within(start, due - 1) == duration - 1


@PROPERTY
@given(calendars, instants, instants, instants)
def test_within_is_additive(calendar: Calendar, x: int, y: int, z: int) -> None:
    a, b, c = sorted((x, y, z))
    assert calendar.within(a, b) + calendar.within(b, c) == calendar.within(a, c)
    assert 0 <= calendar.within(a, c) <= c - a


@PROPERTY
@given(calendars, instants, durations, nearby_pauses, nearby_pauses)
def test_a_pause_never_makes_a_clock_due_earlier(
    calendar: Calendar, start: int, duration: int, some: list[tuple[int, int]], more: list[tuple[int, int]]
) -> None:
    unpaused = calendar.after(start, duration)
    paused = after_with_pauses(calendar, start, duration, around(start, some))
    paused_more = after_with_pauses(calendar, start, duration, around(start, some + more))
    assert unpaused <= paused <= paused_more


@PROPERTY
@given(calendars, instants, durations, nearby_pauses)
def test_within_with_pauses_undoes_after_with_pauses(
    calendar: Calendar, start: int, duration: int, offsets: list[tuple[int, int]]
) -> None:
    closed = around(start, offsets)
    due = after_with_pauses(calendar, start, duration, closed)
    assert within_with_pauses(calendar, start, due, closed) == duration
    assert after_with_pauses(calendar, start, duration, list(reversed(closed))) == due
    if duration > 0:
        assert within_with_pauses(calendar, start, due - 1, closed) == duration - 1


@PROPERTY
@given(
    schedules,
    instants,
    durations,
    st.sampled_from([UTC, ZoneInfo("Europe/Paris"), timezone(timedelta(hours=5, minutes=30))]),
)
def test_working_time_answers_for_the_instant_not_its_zone(
    schedule: Schedule, start: int, duration: int, zone: ZoneInfo | timezone
) -> None:
    calendar = compile_schedule(schedule)
    clock = WorkingTime(schedule)
    aware = from_epoch(start).astimezone(zone)
    due = clock.after(aware, timedelta(seconds=duration))
    assert due.tzinfo is UTC
    assert to_epoch(due) == calendar.after(start, duration)
    assert clock.within(aware, due) == duration


# -- a minute-stepping reference ---------------------------------------------------------------------------

REF_FIRST = int(datetime(2026, 1, 1, tzinfo=UTC).timestamp()) // 60
REF_LAST = int(datetime(2027, 2, 15, tzinfo=UTC).timestamp()) // 60
STARTS_BEFORE = int(datetime(2026, 12, 31, tzinfo=UTC).timestamp()) // 60


def working_minutes(schedule: Schedule) -> bytearray:
    """One flag per UTC minute in [REF_FIRST, REF_LAST): is that minute inside the schedule's hours?

    Local time comes from zoneinfo once per UTC hour (every zone here is a whole number of hours off UTC, so
    a UTC hour is one local hour), and each minute is tested against the spans of its local weekday.
    """
    assert schedule.weekly is not None
    zone = ZoneInfo(schedule.zone)
    closed = set(schedule.closed_dates)
    if schedule.country:
        closed |= set(
            holidays.country_holidays(schedule.country, subdiv=schedule.subdivision, years=[2026, 2027])
        )
    flags = bytearray()
    for hour in range(REF_FIRST // 60, REF_LAST // 60):
        local = datetime.fromtimestamp(hour * H, zone)
        assert local.minute == 0
        spans = () if local.date() in closed else schedule.weekly[local.weekday()]
        first = local.hour * H
        flags.extend(any(s <= first + m * 60 < e for s, e in spans) for m in range(60))
    return flags


def brute_after(flags: bytearray, start: int, minutes: int) -> int:
    """Step minute by minute from `start` until `minutes` working minutes have gone by."""
    if minutes == 0:
        return start
    index = start - REF_FIRST
    last = next(islice(compress(count(index), memoryview(flags)[index:]), minutes - 1, None))
    return REF_FIRST + last + 1


def brute_within(flags: bytearray, start: int, end: int) -> int:
    return flags[start - REF_FIRST : end - REF_FIRST].count(1) if end > start else 0


@pytest.mark.parametrize("name", sorted(SCHEDULES))
def test_agrees_with_a_minute_stepping_reference(name: str) -> None:
    schedule = SCHEDULES[name]
    calendar = compile_schedule(schedule)
    flags = working_minutes(schedule)
    rng = random.Random(f"reference-{name}")
    for _ in range(2000):
        start = rng.randrange(REF_FIRST, STARTS_BEFORE)
        minutes = rng.choice((rng.randrange(0, 600), rng.randrange(0, 3 * 1440)))
        expected = brute_after(flags, start, minutes)
        assert expected < REF_LAST, "the reference ran past its precomputed minutes"
        assert calendar.after(start * 60, minutes * 60) == expected * 60, (
            name,
            from_epoch(start * 60),
            minutes,
        )

        end = start + rng.randrange(-60, 30 * 1440)
        expected_within = brute_within(flags, start, end)
        assert calendar.within(start * 60, end * 60) == expected_within * 60, (
            name,
            from_epoch(start * 60),
            end,
        )


def test_the_reference_sees_the_dst_night_in_new_york() -> None:
    # Guard the reference itself: the night of 8 March 2026 loses an hour, that of 1 November gains one.
    flags = working_minutes(SCHEDULES["new-york-nights"])
    ny = ZoneInfo("America/New_York")

    def night(day: int, month: int) -> int:
        start = to_epoch(datetime(2026, month, day, tzinfo=ny)) // 60
        end = to_epoch(datetime(2026, month, day, 6, tzinfo=ny)) // 60
        return brute_within(flags, start, end)

    assert night(7, 3) == 6 * 60
    assert night(8, 3) == 5 * 60
    assert night(1, 11) == 7 * 60
