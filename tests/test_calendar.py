"""Worked examples of working time, each one a promise a customer could check with a wall clock.

The expected instants are written by hand from a calendar and a list of public holidays, never computed
with the code under test, so that a wrong compilation of the schedule cannot agree with itself.
"""

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from sla.calendar import (
    AlwaysCalendar,
    Schedule,
    WeeklyCalendar,
    WorkingTime,
    after_with_pauses,
    compile_schedule,
    from_epoch,
    to_epoch,
    within_with_pauses,
)

H = 3600
M = 60
PARIS = ZoneInfo("Europe/Paris")


def weekdays(*spans: tuple[int, int], days: int = 5) -> tuple[tuple[tuple[int, int], ...], ...]:
    """The same spans (in hours since local midnight) on the first `days` days of the week, Monday first."""
    day = tuple((int(s * H), int(e * H)) for s, e in spans)
    return tuple(day if i < days else () for i in range(7))


MON_FRI_8_18 = weekdays((8, 18))
MON_FRI_9_18 = weekdays((9, 18))
ALL_WEEK_24H = weekdays((0, 24), days=7)

PARIS_FR = Schedule(zone="Europe/Paris", weekly=MON_FRI_8_18, country="FR")
PARIS_24 = Schedule(zone="Europe/Paris", weekly=ALL_WEEK_24H)
MOSCOW_RU = Schedule(zone="Europe/Moscow", weekly=MON_FRI_9_18, country="RU")


def at(text: str) -> datetime:
    """An instant written as ISO 8601 with its offset, as a customer would read it."""
    instant = datetime.fromisoformat(text)
    assert instant.utcoffset() is not None, "examples are written with an offset"
    return instant


def due(schedule: Schedule, start: str, duration: timedelta) -> datetime:
    return WorkingTime(schedule).after(at(start), duration)


def worked(schedule: Schedule, start: str, end: str) -> timedelta:
    return timedelta(seconds=WorkingTime(schedule).within(at(start), at(end)))


# -- Mon–Fri 08:00–18:00 Europe/Paris with French public holidays ----------------------------------------


def test_the_spec_example_skips_the_weekend_and_easter_monday() -> None:
    # Friday 17:30: 30 min left that day; Sat, Sun, then Easter Monday 2026-04-06 are closed.
    result = due(PARIS_FR, "2026-04-03T17:30+02:00", timedelta(hours=2))
    assert result == at("2026-04-07T09:30+02:00")


def test_results_are_aware_utc_whatever_zone_the_start_was_written_in() -> None:
    result = due(PARIS_FR, "2026-04-03T17:30+02:00", timedelta(hours=2))
    assert result.tzinfo is UTC
    assert result.isoformat() == "2026-04-07T07:30:00+00:00"


@pytest.mark.parametrize(
    ("start", "duration", "expected"),
    [
        # weekends
        ("2026-03-13T17:00+01:00", timedelta(hours=2), "2026-03-16T09:00+01:00"),
        ("2026-03-14T10:00+01:00", timedelta(hours=1), "2026-03-16T09:00+01:00"),
        ("2026-03-15T23:59+01:00", timedelta(minutes=1), "2026-03-16T08:01+01:00"),
        ("2026-03-13T16:00+01:00", timedelta(hours=12), "2026-03-16T18:00+01:00"),
        # a start outside hours counts from the next opening
        ("2026-03-16T06:00+01:00", timedelta(hours=1), "2026-03-16T09:00+01:00"),
        ("2026-03-16T19:00+01:00", timedelta(minutes=30), "2026-03-17T08:30+01:00"),
        ("2026-03-16T18:00+01:00", timedelta(seconds=1), "2026-03-17T08:00:01+01:00"),
        ("2026-03-16T07:59:59+01:00", timedelta(seconds=1), "2026-03-16T08:00:01+01:00"),
        # a target used up exactly at closing time is due at closing time
        ("2026-03-16T08:00+01:00", timedelta(hours=10), "2026-03-16T18:00+01:00"),
        ("2026-03-16T17:00+01:00", timedelta(hours=1), "2026-03-16T18:00+01:00"),
        ("2026-03-16T06:00+01:00", timedelta(hours=10), "2026-03-16T18:00+01:00"),
        ("2026-03-16T08:00+01:00", timedelta(hours=50), "2026-03-20T18:00+01:00"),
        ("2026-03-13T18:30+01:00", timedelta(hours=10), "2026-03-16T18:00+01:00"),
        ("2026-04-03T08:00+02:00", timedelta(hours=10), "2026-04-03T18:00+02:00"),
        # ... and one second more is the next opening plus a second
        ("2026-03-16T08:00+01:00", timedelta(hours=10, seconds=1), "2026-03-17T08:00:01+01:00"),
        # a standard-level low-severity target (48 h) from Monday noon is 10:00 on the next Monday
        ("2026-03-16T12:00+01:00", timedelta(hours=48), "2026-03-23T10:00+01:00"),
        # French holidays on weekdays: 1 May and 8 May 2026 are Fridays, Ascension is Thursday 14 May
        ("2026-04-30T17:00+02:00", timedelta(hours=2), "2026-05-04T09:00+02:00"),
        ("2026-05-07T17:00+02:00", timedelta(hours=2), "2026-05-11T09:00+02:00"),
        ("2026-05-13T17:00+02:00", timedelta(hours=2), "2026-05-15T09:00+02:00"),
        ("2026-07-13T17:00+02:00", timedelta(hours=2), "2026-07-15T09:00+02:00"),
        ("2026-12-24T17:00+01:00", timedelta(hours=2), "2026-12-28T09:00+01:00"),
        ("2026-12-31T17:00+01:00", timedelta(hours=2), "2027-01-04T09:00+01:00"),
    ],
)
def test_business_hours_in_paris(start: str, duration: timedelta, expected: str) -> None:
    assert due(PARIS_FR, start, duration) == at(expected)


def test_a_zero_target_is_due_at_its_start_even_outside_hours() -> None:
    assert due(PARIS_FR, "2026-03-14T10:00+01:00", timedelta(0)) == at("2026-03-14T10:00+01:00")


@pytest.mark.parametrize(
    ("start", "end", "expected"),
    [
        ("2026-03-16T00:00+01:00", "2026-03-17T00:00+01:00", timedelta(hours=10)),
        ("2026-03-13T12:00+01:00", "2026-03-16T12:00+01:00", timedelta(hours=10)),
        ("2026-03-16T08:00+01:00", "2026-03-16T18:00+01:00", timedelta(hours=10)),
        ("2026-03-16T17:59+01:00", "2026-03-17T08:01+01:00", timedelta(minutes=2)),
        ("2026-03-14T00:00+01:00", "2026-03-16T00:00+01:00", timedelta(0)),
        # Thursday to Wednesday over Easter: Thu, Fri and Tue only
        ("2026-04-02T00:00+02:00", "2026-04-08T00:00+02:00", timedelta(hours=30)),
        # an interval backwards or empty holds no working time
        ("2026-03-17T12:00+01:00", "2026-03-16T12:00+01:00", timedelta(0)),
        ("2026-03-16T12:00+01:00", "2026-03-16T12:00+01:00", timedelta(0)),
    ],
)
def test_working_time_between_two_instants_in_paris(start: str, end: str, expected: timedelta) -> None:
    assert worked(PARIS_FR, start, end) == expected


def test_a_year_in_paris_has_252_working_days() -> None:
    # 2026: 261 weekdays, less the 9 French holidays that fall on one (15 Aug, 1 Nov are at weekends).
    assert worked(PARIS_FR, "2026-01-01T00:00+01:00", "2027-01-01T00:00+01:00") == timedelta(hours=252 * 10)


def test_the_instant_matters_not_the_offset_it_is_written_with() -> None:
    clock = WorkingTime(PARIS_FR)
    start = at("2026-04-03T17:30+02:00")
    for zone in (UTC, PARIS, ZoneInfo("Asia/Kolkata"), ZoneInfo("America/Los_Angeles")):
        assert clock.after(start.astimezone(zone), timedelta(hours=2)) == at("2026-04-07T09:30+02:00")
        assert clock.within(start.astimezone(zone), at("2026-04-07T09:30+02:00")) == 2 * H


def test_seconds_and_timedeltas_are_the_same_duration() -> None:
    clock = WorkingTime(PARIS_FR)
    start = at("2026-04-03T17:30+02:00")
    assert clock.after(start, 2 * H) == clock.after(start, timedelta(hours=2))


# -- daylight saving time in Europe/Paris (2026-03-29 forward, 2026-10-25 back) --------------------------


@pytest.mark.parametrize(
    ("start", "duration", "expected"),
    [
        # Friday before the spring change, CET; Monday after it opens at 08:00 CEST (06:00Z, not 07:00Z)
        ("2026-03-27T17:00+01:00", timedelta(hours=2), "2026-03-30T09:00+02:00"),
        ("2026-03-29T12:00+02:00", timedelta(seconds=1), "2026-03-30T06:00:01+00:00"),
        ("2026-03-27T08:00+01:00", timedelta(hours=20), "2026-03-30T18:00+02:00"),
        # Friday before the autumn change, CEST; Monday after it opens at 08:00 CET (07:00Z)
        ("2026-10-23T17:00+02:00", timedelta(hours=2), "2026-10-26T09:00+01:00"),
        ("2026-10-25T12:00+01:00", timedelta(seconds=1), "2026-10-26T07:00:01+00:00"),
        ("2026-10-23T08:00+02:00", timedelta(hours=20), "2026-10-26T18:00+01:00"),
    ],
)
def test_business_hours_follow_the_wall_clock_across_dst(
    start: str, duration: timedelta, expected: str
) -> None:
    assert due(PARIS_FR, start, duration) == at(expected)


def test_business_days_around_dst_are_ten_hours_long() -> None:
    assert worked(PARIS_FR, "2026-03-27T00:00+01:00", "2026-03-31T00:00+02:00") == timedelta(hours=20)
    assert worked(PARIS_FR, "2026-10-23T00:00+02:00", "2026-10-27T00:00+01:00") == timedelta(hours=20)


@pytest.mark.parametrize(
    ("day_start", "day_end", "length"),
    [
        ("2026-03-28T00:00+01:00", "2026-03-29T00:00+01:00", timedelta(hours=24)),
        ("2026-03-29T00:00+01:00", "2026-03-30T00:00+02:00", timedelta(hours=23)),
        ("2026-10-25T00:00+02:00", "2026-10-26T00:00+01:00", timedelta(hours=25)),
        ("2026-10-26T00:00+01:00", "2026-10-27T00:00+01:00", timedelta(hours=24)),
    ],
)
def test_a_24_7_weekly_schedule_counts_elapsed_time_over_wall_clock_days(
    day_start: str, day_end: str, length: timedelta
) -> None:
    # Hours 00:00-24:00 are wall-clock hours: the spring Sunday holds 23 elapsed hours, the autumn one 25.
    assert worked(PARIS_24, day_start, day_end) == length


@pytest.mark.parametrize(
    ("start", "expected"),
    [
        # 24 elapsed hours over the spring change read as 25 on the wall clock, and 23 in autumn
        ("2026-03-28T12:00+01:00", "2026-03-29T13:00+02:00"),
        ("2026-10-24T12:00+02:00", "2026-10-25T11:00+01:00"),
    ],
)
def test_a_24_7_weekly_schedule_adds_elapsed_not_wall_time(start: str, expected: str) -> None:
    assert due(PARIS_24, start, timedelta(hours=24)) == at(expected)


def test_a_24_7_weekly_schedule_agrees_with_always_around_both_changes() -> None:
    weekly = WorkingTime(PARIS_24)
    always = WorkingTime(Schedule.always())
    for first in (at("2026-03-28T00:00+01:00"), at("2026-10-24T00:00+02:00")):
        for step in range(0, 72 * 4):
            start = first + timedelta(minutes=15 * step)
            for duration in (timedelta(minutes=1), timedelta(hours=1), timedelta(hours=25)):
                assert weekly.after(start, duration) == always.after(start, duration) == start + duration
                assert weekly.within(start, start + duration) == duration.total_seconds()


def test_the_repeated_autumn_hour_is_told_apart_by_fold() -> None:
    # 02:30 happens twice on 2026-10-25: first in CEST (00:30Z), then in CET (01:30Z).
    first = datetime(2026, 10, 25, 2, 30, tzinfo=PARIS, fold=0)
    second = datetime(2026, 10, 25, 2, 30, tzinfo=PARIS, fold=1)
    three = at("2026-10-25T03:00+01:00")
    clock = WorkingTime(PARIS_24)
    assert clock.within(first, three) == 90 * M
    assert clock.within(second, three) == 30 * M


def test_wall_clock_hours_inside_the_dst_change_count_as_elapsed_time() -> None:
    # Sunday 01:00-04:00 on the wall: 2 elapsed hours when 02:00 is skipped, 4 when 02:00-03:00 repeats.
    sunday_night = Schedule(zone="Europe/Paris", weekly=((), (), (), (), (), (), ((1 * H, 4 * H),)))
    assert worked(sunday_night, "2026-03-29T00:00+01:00", "2026-03-30T00:00+02:00") == timedelta(hours=2)
    assert worked(sunday_night, "2026-10-25T00:00+02:00", "2026-10-26T00:00+01:00") == timedelta(hours=4)
    assert worked(sunday_night, "2026-03-22T00:00+01:00", "2026-03-23T00:00+01:00") == timedelta(hours=3)
    assert due(sunday_night, "2026-03-29T00:00+01:00", timedelta(hours=2)) == at("2026-03-29T04:00+02:00")


# -- Europe/Moscow: no DST, Russian holidays ------------------------------------------------------------


@pytest.mark.parametrize(
    ("start", "duration", "expected"),
    [
        # 2026 New Year holidays run 1-9 January (9 January substituted), then a weekend
        ("2025-12-30T17:00+03:00", timedelta(hours=2), "2026-01-12T10:00+03:00"),
        ("2026-01-02T12:00+03:00", timedelta(hours=1), "2026-01-12T10:00+03:00"),
        # Russia Day, Friday 12 June 2026
        ("2026-06-11T17:00+03:00", timedelta(hours=2), "2026-06-15T10:00+03:00"),
        # 31 December 2026 is a substituted day off
        ("2026-12-30T17:00+03:00", timedelta(hours=2), "2027-01-11T10:00+03:00"),
    ],
)
def test_moscow_with_russian_holidays(start: str, duration: timedelta, expected: str) -> None:
    assert due(MOSCOW_RU, start, duration) == at(expected)


def test_moscow_opens_at_the_same_utc_instant_in_winter_and_summer() -> None:
    assert due(MOSCOW_RU, "2026-01-18T12:00+03:00", timedelta(seconds=1)) == at("2026-01-19T06:00:01Z")
    assert due(MOSCOW_RU, "2026-07-05T12:00+03:00", timedelta(seconds=1)) == at("2026-07-06T06:00:01Z")
    assert worked(MOSCOW_RU, "2026-03-23T00:00+03:00", "2026-04-06T00:00+03:00") == timedelta(hours=90)
    assert worked(MOSCOW_RU, "2026-10-19T00:00+03:00", "2026-11-02T00:00+03:00") == timedelta(hours=90)


def test_the_january_holidays_hold_no_working_time() -> None:
    assert worked(MOSCOW_RU, "2026-01-01T00:00+03:00", "2026-01-12T00:00+03:00") == timedelta(0)
    assert worked(MOSCOW_RU, "2026-01-01T00:00+03:00", "2026-01-13T00:00+03:00") == timedelta(hours=9)


# -- extra closed dates and subdivision holidays --------------------------------------------------------


def test_extra_closed_dates_are_closed_on_top_of_public_holidays() -> None:
    # 24 Dec (Thu) and 31 Dec (Thu) closed by the operator; 25 Dec and 1 Jan are French holidays.
    closing = Schedule(
        zone="Europe/Paris",
        weekly=MON_FRI_8_18,
        country="FR",
        closed_dates=frozenset({date(2026, 12, 24), date(2026, 12, 31)}),
    )
    assert due(PARIS_FR, "2026-12-23T17:00+01:00", timedelta(hours=2)) == at("2026-12-24T09:00+01:00")
    assert due(closing, "2026-12-23T17:00+01:00", timedelta(hours=2)) == at("2026-12-28T09:00+01:00")
    assert worked(closing, "2026-12-21T00:00+01:00", "2027-01-04T00:00+01:00") == timedelta(hours=60)
    assert worked(PARIS_FR, "2026-12-21T00:00+01:00", "2027-01-04T00:00+01:00") == timedelta(hours=80)


def test_extra_closed_dates_work_without_a_country() -> None:
    closing = Schedule(zone="Europe/Paris", weekly=MON_FRI_8_18, closed_dates=frozenset({date(2026, 4, 7)}))
    # No country: Easter Monday is open, the operator's Tuesday is not.
    assert due(closing, "2026-04-03T17:30+02:00", timedelta(hours=2)) == at("2026-04-06T09:30+02:00")
    assert due(closing, "2026-04-06T17:30+02:00", timedelta(hours=2)) == at("2026-04-08T09:30+02:00")


@pytest.mark.parametrize(
    ("subdivision", "expected"),
    [
        (None, "2026-01-06T09:00+01:00"),  # Epiphany is not a federal holiday
        ("BY", "2026-01-07T09:00+01:00"),  # ... but it is one in Bavaria
    ],
)
def test_subdivision_holidays_epiphany(subdivision: str | None, expected: str) -> None:
    berlin = Schedule(zone="Europe/Berlin", weekly=MON_FRI_8_18, country="DE", subdivision=subdivision)
    assert due(berlin, "2026-01-05T17:00+01:00", timedelta(hours=2)) == at(expected)


def test_subdivision_holidays_corpus_christi() -> None:
    germany = Schedule(zone="Europe/Berlin", weekly=MON_FRI_8_18, country="DE")
    bavaria = Schedule(zone="Europe/Berlin", weekly=MON_FRI_8_18, country="DE", subdivision="BY")
    week = ("2026-06-01T00:00+02:00", "2026-06-08T00:00+02:00")  # Corpus Christi: Thursday 4 June
    assert worked(germany, *week) == timedelta(hours=50)
    assert worked(bavaria, *week) == timedelta(hours=40)


# -- pauses ------------------------------------------------------------------------------------------------


def e(text: str) -> int:
    return to_epoch(at(text))


PAUSE_CASES = [
    # (start, hours, pauses, due): Monday 16 March 2026, Paris business hours
    ("2026-03-16T08:00+01:00", 4, [], "2026-03-16T12:00+01:00"),
    # a pause inside working hours pushes the due time by its working length
    (
        "2026-03-16T08:00+01:00",
        4,
        [("2026-03-16T09:00+01:00", "2026-03-16T10:00+01:00")],
        "2026-03-16T13:00+01:00",
    ),
    # a pause overnight holds no working time and changes nothing
    (
        "2026-03-16T16:00+01:00",
        4,
        [("2026-03-16T19:00+01:00", "2026-03-17T07:00+01:00")],
        "2026-03-17T10:00+01:00",
    ),
    # a pause over the start: counting starts when it ends
    (
        "2026-03-16T09:00+01:00",
        1,
        [("2026-03-16T08:00+01:00", "2026-03-16T11:00+01:00")],
        "2026-03-16T12:00+01:00",
    ),
    # due exactly when a pause would begin: the pause comes too late to matter
    (
        "2026-03-16T08:00+01:00",
        2,
        [("2026-03-16T10:00+01:00", "2026-03-16T12:00+01:00")],
        "2026-03-16T10:00+01:00",
    ),
    # a pause after the due time changes nothing
    (
        "2026-03-16T08:00+01:00",
        2,
        [("2026-03-16T15:00+01:00", "2026-03-16T16:00+01:00")],
        "2026-03-16T10:00+01:00",
    ),
    # a pause that ends at closing time: the rest is counted the next morning
    (
        "2026-03-16T08:00+01:00",
        4,
        [("2026-03-16T10:00+01:00", "2026-03-16T18:00+01:00")],
        "2026-03-17T10:00+01:00",
    ),
    # two pauses
    (
        "2026-03-16T08:00+01:00",
        4,
        [
            ("2026-03-16T09:00+01:00", "2026-03-16T10:00+01:00"),
            ("2026-03-16T11:00+01:00", "2026-03-16T13:00+01:00"),
        ],
        "2026-03-16T15:00+01:00",
    ),
    # overlapping pauses count as their union (09:00-12:00)
    (
        "2026-03-16T08:00+01:00",
        4,
        [
            ("2026-03-16T09:00+01:00", "2026-03-16T11:00+01:00"),
            ("2026-03-16T10:00+01:00", "2026-03-16T12:00+01:00"),
        ],
        "2026-03-16T15:00+01:00",
    ),
    # pauses given out of order mean the same as in order
    (
        "2026-03-16T08:00+01:00",
        4,
        [
            ("2026-03-16T11:00+01:00", "2026-03-16T13:00+01:00"),
            ("2026-03-16T09:00+01:00", "2026-03-16T10:00+01:00"),
        ],
        "2026-03-16T15:00+01:00",
    ),
    # a pause over a whole weekend and Monday of the next week
    (
        "2026-03-20T17:00+01:00",
        2,
        [("2026-03-20T17:30+01:00", "2026-03-23T18:00+01:00")],
        "2026-03-24T09:30+01:00",
    ),
]


@pytest.mark.parametrize(("start", "hours", "pauses", "expected"), PAUSE_CASES)
def test_after_with_pauses(start: str, hours: int, pauses: list[tuple[str, str]], expected: str) -> None:
    calendar = compile_schedule(PARIS_FR)
    closed = [(e(a), e(b)) for a, b in pauses]
    assert after_with_pauses(calendar, e(start), hours * H, closed) == e(expected)


@pytest.mark.parametrize(("start", "hours", "pauses", "expected"), PAUSE_CASES)
def test_within_with_pauses_is_the_inverse(
    start: str, hours: int, pauses: list[tuple[str, str]], expected: str
) -> None:
    calendar = compile_schedule(PARIS_FR)
    closed = [(e(a), e(b)) for a, b in pauses]
    assert within_with_pauses(calendar, e(start), e(expected), closed) == hours * H


def test_within_with_pauses_clips_pauses_to_the_interval() -> None:
    calendar = compile_schedule(PARIS_FR)
    monday = (e("2026-03-16T08:00+01:00"), e("2026-03-16T18:00+01:00"))
    assert (
        within_with_pauses(calendar, *monday, [(e("2026-03-16T07:00+01:00"), e("2026-03-16T09:00+01:00"))])
        == 9 * H
    )
    assert (
        within_with_pauses(calendar, *monday, [(e("2026-03-16T17:00+01:00"), e("2026-03-17T09:00+01:00"))])
        == 9 * H
    )
    assert (
        within_with_pauses(calendar, *monday, [(e("2026-03-15T07:00+01:00"), e("2026-03-18T09:00+01:00"))])
        == 0
    )
    assert (
        within_with_pauses(calendar, *monday, [(e("2026-03-17T09:00+01:00"), e("2026-03-17T10:00+01:00"))])
        == 10 * H
    )


def test_pauses_on_a_24_7_clock_count_wall_time() -> None:
    always = AlwaysCalendar()
    start = e("2026-03-28T12:00+01:00")
    pause = (e("2026-03-28T13:00+01:00"), e("2026-03-29T13:00+02:00"))  # 23 elapsed hours over the change
    assert after_with_pauses(always, start, 2 * H, [pause]) == start + 25 * H
    assert within_with_pauses(always, start, start + 25 * H, [pause]) == 2 * H


# -- refusals and the compiled calendar ------------------------------------------------------------------


def test_naive_datetimes_are_refused() -> None:
    clock = WorkingTime(PARIS_FR)
    aware = at("2026-04-03T17:30+02:00")
    naive = aware.replace(tzinfo=None)
    with pytest.raises(ValueError, match="naive"):
        clock.after(naive, timedelta(hours=2))
    with pytest.raises(ValueError, match="naive"):
        clock.within(naive, aware)
    with pytest.raises(ValueError, match="naive"):
        clock.within(aware, naive)
    with pytest.raises(ValueError, match="naive"):
        to_epoch(naive)
    with pytest.raises(ValueError, match="naive"):
        WorkingTime(Schedule.always()).after(naive, 60)


def test_a_negative_duration_is_refused() -> None:
    with pytest.raises(ValueError, match="negative"):
        WorkingTime(PARIS_FR).after(at("2026-04-03T17:30+02:00"), timedelta(hours=-1))


def test_a_weekly_schedule_without_working_time_is_refused() -> None:
    with pytest.raises(ValueError, match="at least one working span"):
        WeeklyCalendar(Schedule(zone="Europe/Paris", weekly=((),) * 7))


def test_epochs_are_whole_utc_seconds_rounded_down() -> None:
    assert to_epoch(at("2026-04-03T17:30:00.999999+02:00")) == to_epoch(at("2026-04-03T15:30:00Z"))
    assert to_epoch(at("1969-12-31T23:59:59.5+00:00")) == -1
    assert from_epoch(to_epoch(at("2026-04-03T17:30+02:00"))) == at("2026-04-03T17:30+02:00")
    assert from_epoch(0).tzinfo is UTC


def test_one_compiled_calendar_per_schedule() -> None:
    assert compile_schedule(PARIS_FR) is compile_schedule(
        Schedule(zone="Europe/Paris", weekly=MON_FRI_8_18, country="FR")
    )
    assert isinstance(compile_schedule(Schedule.always()), AlwaysCalendar)


def test_far_and_earlier_years_compile_on_demand_with_the_same_answers() -> None:
    # A fresh calendar asked about 2040 first, then 2026, then a span of years, answers as a fresh one would.
    late, early = WeeklyCalendar(PARIS_FR), WeeklyCalendar(PARIS_FR)
    start_2040 = e("2040-03-16T17:00+01:00")
    start_2026 = e("2026-04-03T17:30+02:00")
    assert late.after(start_2040, 2 * H) == e("2040-03-19T09:00+01:00")  # Fri 16 Mar 2040 to Monday
    assert late.after(start_2026, 2 * H) == early.after(start_2026, 2 * H) == e("2026-04-07T09:30+02:00")
    # Three and a half years of business hours from 2026 need years the calendar has not compiled yet.
    long = 9000 * H
    assert late.within(start_2026, late.after(start_2026, long)) == long
    assert early.after(start_2026, long) == late.after(start_2026, long)
    assert early.within(start_2026, start_2040) == late.within(start_2026, start_2040)
