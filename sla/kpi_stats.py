"""The arithmetic of the figures, exact so that a number quoted from a report can be recomputed by hand.

Integer arithmetic throughout, rounding half up (not Python's round-half-even, which a person checking a
report with a calculator would not expect). Percentiles by nearest rank: each is a value that occurred, the
median included (the lower of the two middle values for an even count), so a quoted median reaction time is
the reaction time of a real ticket.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any


def percent(part: int, whole: int) -> float | None:
    """100 × part / whole with one decimal, rounded half up; None when there is nothing to divide by."""
    if whole <= 0:
        return None
    tenths = (2000 * part + whole) // (2 * whole)
    return tenths / 10


def mean(values: Sequence[int]) -> int | None:
    """The mean in whole seconds, rounded half up."""
    if not values:
        return None
    return (2 * sum(values) + len(values)) // (2 * len(values))


def nearest_rank(ordered: Sequence[int], percentile: int) -> int | None:
    """The `percentile`-th percentile of ascending `ordered` by nearest rank: the value of rank
    ceil(percentile / 100 × n), counting from 1."""
    n = len(ordered)
    if n == 0:
        return None
    rank = max(1, -(-percentile * n // 100))
    return ordered[rank - 1]


def durations(seconds: Sequence[int], working_seconds: Sequence[int]) -> dict[str, Any]:
    """count, mean, median and p90 of wall-clock seconds, and the median of the working seconds."""
    ordered = sorted(seconds)
    return {
        "count": len(ordered),
        "mean_seconds": mean(ordered),
        "median_seconds": nearest_rank(ordered, 50),
        "p90_seconds": nearest_rank(ordered, 90),
        "median_working_seconds": nearest_rank(sorted(working_seconds), 50),
    }
