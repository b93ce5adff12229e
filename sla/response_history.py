"""How long answers took lately: the history behind the customer's visible wait (SPEC section 8, `/wait`).

The wait shows "an honest estimate from the median response time of the last 30 days for its level and
severity". Reading the cycles of 30 days at every request would cost what the history holds, so the store
keeps a small aggregate instead: per (metric, level, severity, UTC day) a histogram of the working seconds
each answered cycle took, updated in the commit that settles the cycle. A histogram has a fixed number of
buckets whatever the traffic, and 30 days of it are 30 small items, one Query.

Buckets are geometric (each 10 % wider than the one before, from one minute up to 90 days), so a median read
from them is at most 10 % above the true one: the estimate is the upper edge of the bucket that holds the
median, never earlier than what the history supports.

The estimate is conditional on the time already waited: a ticket that has waited three hours is not told
"one hour" because most answers come within one; it is told the median of the answers that took longer than
it has waited so far. With fewer than MIN_ANSWERS in the window, or none that took that long, there is no
honest estimate, and none is given.
"""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime

from sla.clocks import Clock
from sla.folded import TicketState, clock_key
from sla.kpi_facts import TicketFacts
from sla.vocabulary import Metric, Severity

WINDOW_DAYS = 30
MIN_ANSWERS = 5
"""Answers a (metric, level, severity) needs in the window before its median is worth showing."""

_GROWTH = 1.1
_FIRST = 60
_LAST = 90 * 86_400


def _edges() -> tuple[int, ...]:
    """Lower edges of the buckets: [0, 60), [60, 66), ... up to 90 days, then one open bucket."""
    edges = [0, _FIRST]
    while edges[-1] < _LAST:
        edges.append(max(edges[-1] + 1, round(edges[-1] * _GROWTH)))
    return tuple(edges)


EDGES: tuple[int, ...] = _edges()
BUCKETS = len(EDGES)


def bucket_of(seconds: int) -> int:
    """The index of the bucket that holds `seconds` of working time."""
    return max(0, bisect_right(EDGES, max(0, seconds)) - 1)


def bucket_upper(index: int) -> int:
    """The last second a bucket holds (the open last bucket: its lower edge)."""
    return EDGES[index + 1] - 1 if index + 1 < BUCKETS else EDGES[index]


@dataclass(frozen=True, slots=True)
class Answer:
    """One answered cycle, as the aggregate counts it: under its metric, the clock's level, the ticket's
    severity when it was settled and the UTC day it was answered."""

    metric: Metric
    level: str
    severity: Severity
    day: str  # YYYY-MM-DD, UTC
    working_seconds: int

    @property
    def bucket(self) -> int:
        return bucket_of(self.working_seconds)


def day_of(epoch: int) -> str:
    return datetime.fromtimestamp(epoch, UTC).date().isoformat()


def _answered(clock: Clock, closed_at: int | None) -> bool:
    """Met, on time or late: stopped by its own event, not cancelled by the ticket's closing."""
    if clock.stopped_at is None:
        return False
    if clock.state == "met":
        return True
    return clock.state == "breached" and clock.stopped_at != closed_at


def answers(state: TicketState, facts: TicketFacts | None, settled: Collection[str]) -> list[Answer]:
    """The answered cycles among the clocks named by `settled` (clock keys), for the aggregate.

    The caller passes the clocks this commit settles for the first time, so each cycle is counted once, when
    nothing can change it any more."""
    closed_at = next((at for at, status in (facts.statuses if facts else ()) if status == "closed"), None)
    found = []
    for clock in state.clocks:
        if clock_key(state.ticket_id, clock.metric, clock.cause) not in settled:
            continue
        if not _answered(clock, closed_at):
            continue
        assert clock.stopped_at is not None  # _answered checked it
        found.append(
            Answer(
                clock.metric,
                clock.support_level,
                state.severity,
                day_of(clock.stopped_at),
                clock.elapsed_seconds,
            )
        )
    return found


def merge(histograms: Iterable[Mapping[int, int]]) -> dict[int, int]:
    """Bucket counts summed over days."""
    total: dict[int, int] = {}
    for histogram in histograms:
        for bucket, count in histogram.items():
            total[bucket] = total.get(bucket, 0) + count
    return total


def median_beyond(histogram: Mapping[int, int], waited: int) -> int | None:
    """The median working time of the answers that took longer than `waited`, as the upper edge of its
    bucket (and never less than `waited` + 1); None without MIN_ANSWERS answers in all, or none beyond.

    Answers in the bucket that holds `waited` may have taken less or more: they are counted as beyond, which
    errs on the side of a later estimate. The median is the lower middle one (nearest rank), as the KPIs'.
    """
    if sum(histogram.values()) < MIN_ANSWERS:
        return None
    first = bucket_of(waited)
    beyond = sorted((bucket, count) for bucket, count in histogram.items() if bucket >= first and count > 0)
    total = sum(count for _, count in beyond)
    if total == 0:
        return None
    rank = (total + 1) // 2
    seen = 0
    for bucket, count in beyond:
        seen += count
        if seen >= rank:
            return max(bucket_upper(bucket), waited + 1)
    raise AssertionError("unreachable: the ranks add up to the total")  # pragma: no cover
