"""Working-time calendars in the spirit of the Ruby `biz` gem: an immutable schedule, integer seconds.

A schedule is compiled into sorted working intervals as integer UTC epochs with prefix sums of their
lengths, so `after` and `within` are two bisections and a subtraction, whatever the duration. The intervals
are built from local wall-clock hours with zoneinfo, so daylight-saving changes are exact in both
directions; they are compiled a year at a time, on demand, and the `holidays` package (slow to import) is
loaded only for schedules that need it.
"""

from __future__ import annotations

import threading
from bisect import bisect_left, bisect_right
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from functools import lru_cache
from typing import Protocol
from zoneinfo import ZoneInfo

Pause = tuple[int, int]
"""A closed break in a clock, as [start, end) epoch seconds."""

_MAX_YEARS_AHEAD = 20

_Compiled = tuple[list[int], list[int], list[int], list[int], int, int]
"""A compiled calendar: interval starts, ends, prefix sums before and after each, and the safe epochs."""


_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def to_epoch(instant: datetime) -> int:
    """Whole UTC seconds of an aware datetime, rounded down; a naive one is refused rather than guessed."""
    # Integer timedelta arithmetic: about twice as fast as timestamp() on a zoneinfo datetime, and exact.
    try:
        delta = instant - _EPOCH
    except TypeError:
        raise ValueError(f"naive datetime {instant.isoformat()} has no offset") from None
    return delta.days * 86_400 + delta.seconds


def from_epoch(seconds: int) -> datetime:
    return datetime.fromtimestamp(seconds, UTC)


@dataclass(frozen=True)
class Schedule:
    """Weekly working hours in an IANA zone, closed on the country's public holidays and extra dates.

    `weekly` holds, Monday first, each day's spans in seconds since local midnight; `None` means 24/7.
    """

    zone: str = "UTC"
    weekly: tuple[tuple[tuple[int, int], ...], ...] | None = None
    country: str | None = None
    subdivision: str | None = None
    closed_dates: frozenset[date] = field(default_factory=frozenset)

    @classmethod
    def always(cls) -> Schedule:
        return cls()


class Calendar(Protocol):
    """Working time of one schedule, on integer epoch seconds."""

    def position(self, instant: int) -> int:
        """Working seconds from a fixed origin to `instant`; only differences are meaningful."""
        ...

    def after(self, start: int, seconds: int) -> int:
        """The earliest instant at which `seconds` of working time have elapsed since `start`."""
        ...

    def within(self, start: int, end: int) -> int:
        """Working seconds in [start, end)."""
        ...


class AlwaysCalendar:
    """24/7: working time is wall time."""

    def position(self, instant: int) -> int:
        return instant

    def after(self, start: int, seconds: int) -> int:
        return start + seconds

    def within(self, start: int, end: int) -> int:
        return max(0, end - start)


class WeeklyCalendar:
    """Weekly hours compiled to sorted epoch intervals with prefix sums, extended a year at a time.

    The compiled arrays and the epochs they answer for without recompiling travel together in one tuple
    that is replaced whole, so a reader never mixes the prefix sums of one compilation with another's.
    """

    def __init__(self, schedule: Schedule) -> None:
        if schedule.weekly is None or not any(schedule.weekly):
            raise ValueError("a weekly calendar needs at least one working span")
        self._schedule = schedule
        self._zone = ZoneInfo(schedule.zone)
        self._lock = threading.Lock()
        self._years = (0, -1)
        # (starts, ends, cum, cum_end, safe_lo, safe_hi): cum[i] is the working time before interval i,
        # cum_end[i] up to its end; epochs in [safe_lo, safe_hi) are answered without compiling.
        self._state: _Compiled = ([], [], [], [], 1, 0)

    def position(self, instant: int) -> int:
        state = self._state
        if not state[4] <= instant < state[5]:
            state = self._cover(instant, instant)
        starts, ends, cum = state[0], state[1], state[2]
        i = bisect_right(starts, instant) - 1
        if i < 0:
            return 0
        end = ends[i]
        return cum[i] + (instant if instant < end else end) - starts[i]

    def within(self, start: int, end: int) -> int:
        if end <= start:
            return 0
        state = self._state
        if not (state[4] <= start and end < state[5]):
            state = self._cover(start, end)
        starts, ends, cum = state[0], state[1], state[2]
        j = bisect_right(starts, end) - 1
        if j < 0:
            return 0
        stop = ends[j]
        total = cum[j] + (end if end < stop else stop) - starts[j]
        i = bisect_right(starts, start, 0, j + 1) - 1
        if i >= 0:
            stop = ends[i]
            total -= cum[i] + (start if start < stop else stop) - starts[i]
        return total

    def after(self, start: int, seconds: int) -> int:
        if seconds <= 0:
            return start
        state = self._state
        if not state[4] <= start < state[5]:
            state = self._cover(start, start)
        while True:
            starts, ends, cum, cum_end = state[0], state[1], state[2], state[3]
            i = bisect_right(starts, start) - 1
            if i < 0:
                target, i = seconds, 0
            else:
                stop = ends[i]
                target = cum[i] + (start if start < stop else stop) - starts[i] + seconds
            k = bisect_left(cum_end, target, i)
            if k < len(cum_end):
                # Lands inside interval k; a target used up exactly at closing time is due at closing time.
                return starts[k] + (target - cum[k])
            lo, hi = self._years
            if hi - datetime.fromtimestamp(start, UTC).year > _MAX_YEARS_AHEAD:
                raise ValueError("no working time within 20 years of the start")
            state = self._compile(lo, hi + 1)

    def _cover(self, first: int, last: int) -> _Compiled:
        """Compile enough years for both instants to be answered, keeping every year compiled so far."""
        state = self._state
        if state[4] <= first and last < state[5]:
            return state
        first_year = datetime.fromtimestamp(first, UTC).year - 1
        last_year = datetime.fromtimestamp(last, UTC).year + 1
        lo, hi = self._years
        if hi >= lo:
            first_year, last_year = min(lo, first_year), max(hi, last_year)
        return self._compile(first_year, last_year)

    def _compile(self, first_year: int, last_year: int) -> _Compiled:
        with self._lock:
            lo, hi = self._years
            if lo <= first_year and last_year <= hi:  # another thread got there first
                return self._state
            closed = self._closed_dates(first_year, last_year)
            weekly = self._schedule.weekly
            assert weekly is not None
            starts: list[int] = []
            ends: list[int] = []
            day = date(first_year, 1, 1)
            stop = date(last_year + 1, 1, 1)
            one_day = timedelta(days=1)
            while day < stop:
                if day not in closed:
                    midnight = datetime(day.year, day.month, day.day, tzinfo=self._zone)
                    for span_start, span_end in weekly[day.weekday()]:
                        s = self._local_epoch(midnight, span_start)
                        e = self._local_epoch(midnight, span_end)
                        if e <= s:
                            continue
                        if ends and ends[-1] >= s:  # spans that touch (e.g. 24:00 and 00:00) merge
                            ends[-1] = max(ends[-1], e)
                        else:
                            starts.append(s)
                            ends.append(e)
                day += one_day
            cum: list[int] = []
            cum_end: list[int] = []
            total = 0
            for s, e in zip(starts, ends, strict=True):
                cum.append(total)
                total += e - s
                cum_end.append(total)
            # A year of margin on each side absorbs any zone offset at the turn of a year.
            state: _Compiled = (
                starts,
                ends,
                cum,
                cum_end,
                to_epoch(datetime(first_year + 1, 1, 1, tzinfo=UTC)),
                to_epoch(datetime(last_year, 1, 1, tzinfo=UTC)),
            )
            self._state = state
            self._years = (first_year, last_year)
            return state

    def _local_epoch(self, midnight: datetime, seconds: int) -> int:
        # Wall-clock arithmetic: 08:00 local is 08:00 whatever the offset that day; fold=0 resolves gaps.
        wall = midnight.replace(tzinfo=None) + timedelta(seconds=seconds)
        return int(wall.replace(tzinfo=self._zone).timestamp())

    def _closed_dates(self, first_year: int, last_year: int) -> set[date]:
        closed = set(self._schedule.closed_dates)
        if self._schedule.country:
            closed |= set(
                public_holidays(self._schedule.country, self._schedule.subdivision, first_year, last_year)
            )
        return closed


def public_holidays(country: str, subdivision: str | None, first_year: int, last_year: int) -> list[date]:
    import holidays  # 150 ms to import: only schedules with holidays pay for it

    return list(
        holidays.country_holidays(country, subdiv=subdivision, years=range(first_year, last_year + 1))
    )


@lru_cache(maxsize=256)
def compile_schedule(schedule: Schedule) -> Calendar:
    """One compiled calendar per distinct schedule, shared by every clock that counts in it."""
    if schedule.weekly is None:
        return AlwaysCalendar()
    return WeeklyCalendar(schedule)


def _disjoint(pauses: Sequence[Pause]) -> list[Pause]:
    """Pauses in time order, overlapping or touching ones merged and empty ones dropped.

    A clock is paused or not: two records that overlap pause it once, and their order does not matter.
    """
    merged: list[Pause] = []
    for pause_start, pause_end in sorted(pauses):
        if pause_end <= pause_start:
            continue
        if merged and pause_start <= merged[-1][1]:
            if pause_end > merged[-1][1]:
                merged[-1] = (merged[-1][0], pause_end)
        else:
            merged.append((pause_start, pause_end))
    return merged


def after_with_pauses(calendar: Calendar, start: int, seconds: int, pauses: Sequence[Pause]) -> int:
    """When `seconds` of working time have run since `start`, not counting the closed `pauses`."""
    remaining = seconds
    cursor = start
    for pause_start, pause_end in _disjoint(pauses):
        if pause_end <= cursor:
            continue
        if pause_start > cursor:
            available = calendar.within(cursor, pause_start)
            if available >= remaining:
                return calendar.after(cursor, remaining)
            remaining -= available
        cursor = max(cursor, pause_end)
    return calendar.after(cursor, remaining)


def within_with_pauses(calendar: Calendar, start: int, end: int, pauses: Sequence[Pause]) -> int:
    """Working seconds in [start, end) outside the `pauses`."""
    total = calendar.within(start, end)
    for pause_start, pause_end in _disjoint(pauses):
        lo, hi = max(pause_start, start), min(pause_end, end)
        if hi > lo:
            total -= calendar.within(lo, hi)
    return total


class WorkingTime:
    """The datetime face of a calendar: aware datetimes in, aware UTC datetimes out."""

    def __init__(self, schedule: Schedule) -> None:
        self.schedule = schedule
        self.calendar = compile_schedule(schedule)

    def after(self, start: datetime, duration: int | timedelta) -> datetime:
        seconds = int(duration.total_seconds()) if isinstance(duration, timedelta) else duration
        if seconds < 0:
            raise ValueError("duration must not be negative")
        return from_epoch(self.calendar.after(to_epoch(start), seconds))

    def within(self, start: datetime, end: datetime) -> int:
        return self.calendar.within(to_epoch(start), to_epoch(end))
