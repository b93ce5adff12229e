"""Support lines and their pickup clocks (SPEC section 10): the pure decisions the fold's hooks ask for.

A `line_pickup` clock is an ordinary clock of the fold with a level of its own making: the line's pickup
target, no warnings, and a ladder of one route, the line's (its breach sends one `trigger` there, no
ladder, no customer notice: an internal agreement). Its calendar is the line's coverage, in the provider's
zone, whatever the customer's. Keeping this a `Level` rather than a special case keeps the fold's clock
machinery (breach, acknowledge, resolve, late events) the same for every metric.
"""

from __future__ import annotations

from sla.calendar import Calendar
from sla.catalog import Catalog, Level, Line
from sla.duty import provider_calendar

PICKUP_METRIC = "line_pickup"


def unknown_line(catalog: Catalog, line: str, current: str | None) -> str | None:
    """Why an escalation to `line` is refused by the catalog version `catalog`, or None when it moves."""
    if line not in catalog.lines:
        known = ", ".join(catalog.lines) or "none (the catalog defines no lines)"
        return f"to_line: unknown line {line[:40]!r}; known: {known}"
    if line == current:
        return f"to_line: the ticket is already at line {line!r}"
    return None


def pickup_level(level: Level, line: Line) -> Level:
    """The level a line's pickup clock runs under: the customer's level, its warnings and ladder replaced."""
    key = (id(level), line.route)
    found = _PICKUP_LEVELS.get(key)
    if found is not None and found[0] is level:
        return found[1]
    derived = level.model_copy(update={"warn_at": [], "ladder": [line.route]})
    if len(_PICKUP_LEVELS) >= 256:
        _PICKUP_LEVELS.clear()
    _PICKUP_LEVELS[key] = (level, derived)
    return derived


_PICKUP_LEVELS: dict[tuple[int, str], tuple[Level, Level]] = {}
"""Derived levels by (level identity, route), holding the level so a reused id is detected (levels hold
lists, so they are not hashable)."""


def pickup_calendar(catalog: Catalog, line: Line) -> Calendar:
    """The line's coverage calendar (the provider's zone), or 24/7 for a line without one."""
    return provider_calendar(catalog, line.coverage)
