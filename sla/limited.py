"""Limited-support periods (SPEC section 10): dated catalog entries that replace response targets.

A response clock (first or next response) that starts inside a period that lists its level uses the
period's targets, counted 24/7, instead of its level's; a clock that started before keeps its own. The
period is looked up in the catalog version in force when the clock starts, as every target is, so a
replay gives what was promised then. Like a pickup clock, a limited clock runs under a level of its own
making (the level with the period's response targets), so a severity change re-targets it with the
period's figures, not the level's.
"""

from __future__ import annotations

from sla.catalog import Catalog, Level, LimitedSupport
from sla.vocabulary import Metric

LIMITED_METRICS: frozenset[Metric] = frozenset({"first_response", "next_response"})


def limited_period(catalog: Catalog, level: str, metric: Metric, start: int) -> LimitedSupport | None:
    """The period of `catalog` (the version in force at `start`) a clock of `metric` starting then is in."""
    if metric not in LIMITED_METRICS:
        return None
    return next((p for p in catalog.limited_support if p.covers(level, start)), None)


def limited_level(level: Level, period: LimitedSupport) -> Level:
    """`level` with the period's response targets: what a clock started inside the period promises."""
    key = (id(level), id(period))
    found = _LEVELS.get(key)
    if found is not None and found[0] is level and found[1] is period:
        return found[2]
    derived = level.model_copy(
        update={"first_response": period.first_response, "next_response": period.next_response}
    )
    if len(_LEVELS) >= 256:
        _LEVELS.clear()
    _LEVELS[key] = (level, period, derived)
    return derived


_LEVELS: dict[tuple[int, int], tuple[Level, LimitedSupport, Level]] = {}
"""Derived levels by (level, period) identity, holding both so a reused id is detected."""
