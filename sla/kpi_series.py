"""The series behind the report's charts: compliance by week and level, how reaction times are spread, and
how customers rated. Counted by the same rules as `sla.kpis` (decided cycles, tickets opened in the period,
each ticket's latest rating), so a chart never disagrees with the table beside it.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Final

from sla.calendar import from_epoch
from sla.kpi_records import CycleRecord, TicketRecord
from sla.kpi_stats import percent
from sla.kpis import Period

DAY: Final = 86_400
WEEK: Final = 7 * DAY
MONDAY_OFFSET: Final = 4 * DAY  # 1970-01-05 was a Monday: weeks start on Mondays at 00:00 UTC
RESPONSE_BUCKETS: Final[tuple[tuple[str, int | None], ...]] = (
    ("≤ 15 min", 15 * 60),
    ("≤ 30 min", 30 * 60),
    ("≤ 1 h", 3600),
    ("≤ 2 h", 2 * 3600),
    ("≤ 4 h", 4 * 3600),
    ("≤ 8 h", 8 * 3600),
    ("≤ 24 h", 24 * 3600),
    ("> 24 h", None),
)
"""Upper bounds (inclusive) of the reaction-time histogram: the targets of SPEC section 2 fall on them."""


@dataclass(frozen=True, slots=True)
class WeekLevel:
    week: str  # the Monday (UTC) that starts the week, as YYYY-MM-DD
    level: str
    met: int
    breached: int

    @property
    def percent(self) -> float | None:
        return percent(self.met, self.met + self.breached)


@dataclass(frozen=True, slots=True)
class Series:
    weeks: tuple[str, ...]  # every week the period touches, in order
    levels: tuple[str, ...]  # the levels that decided a cycle, in the catalog's order
    compliance: tuple[WeekLevel, ...]  # every metric together, per week and level that decided a cycle
    reaction: tuple[int, ...]  # tickets per RESPONSE_BUCKETS, wall-clock from opening to the first reply
    useful_response: tuple[int, ...]  # the same to the first answer
    ratings: tuple[int, ...]  # tickets whose latest rating in the period is 1, 2, 3, 4, 5
    resolved: int  # tickets resolved in the period: the feedback rate's denominator


def week_start(at: int) -> int:
    return at - (at - MONDAY_OFFSET) % WEEK


def _day(epoch: int) -> str:
    return from_epoch(epoch).strftime("%Y-%m-%d")


def _bucket(seconds: int) -> int:
    for index, (_, bound) in enumerate(RESPONSE_BUCKETS):
        if bound is None or seconds <= bound:
            return index
    return len(RESPONSE_BUCKETS) - 1


def series(
    tickets: Iterable[TicketRecord], cycles: Iterable[CycleRecord], period: Period, levels: Sequence[str]
) -> Series:
    """`levels` orders the compliance lines (the catalog's order); levels it does not name come after."""
    first, last = week_start(period.start), week_start(period.end - 1)
    weeks = tuple(_day(start) for start in range(first, last + 1, WEEK))
    tallies: dict[tuple[int, str], list[int]] = {}
    for cycle in cycles:
        if cycle.decided_at not in period:
            continue
        tally = tallies.setdefault((week_start(cycle.decided_at), cycle.key.level), [0, 0])
        tally[0 if cycle.outcome == "met" else 1] += 1
    order = {level: index for index, level in enumerate(levels)}
    compliance = tuple(
        WeekLevel(_day(week), level, met, breached)
        for (week, level), (met, breached) in sorted(
            tallies.items(), key=lambda item: (item[0][0], order.get(item[0][1], len(order)), item[0][1])
        )
    )
    reaction = [0] * len(RESPONSE_BUCKETS)
    useful = [0] * len(RESPONSE_BUCKETS)
    ratings = [0] * 5
    resolved = 0
    for ticket in tickets:
        if ticket.opened_at in period:
            if ticket.reaction is not None and ticket.reaction.at < period.end:
                reaction[_bucket(ticket.reaction.seconds)] += 1
            if ticket.useful_response is not None and ticket.useful_response.at < period.end:
                useful[_bucket(ticket.useful_response.seconds)] += 1
        rated = [rating for rating in ticket.ratings if rating.at in period]
        if rated:
            ratings[rated[-1].rating - 1] += 1
        if any(mark.at in period for mark in ticket.resolutions):
            resolved += 1
    levels = tuple(
        sorted({p.level for p in compliance}, key=lambda level: (order.get(level, len(order)), level))
    )
    return Series(weeks, levels, compliance, tuple(reaction), tuple(useful), tuple(ratings), resolved)
