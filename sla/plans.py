"""Where a level's promise is counted and when it falls due: the catalog meets the customer's calendar.

A target is working time in a calendar chosen by the level (its coverage, or the datacenter's hardware
calendar for replacements) and shaped by the customer's time zone and country. This module is the one place
that joins them, so the engine, the CLI and the worked examples cannot disagree on a due time.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from functools import lru_cache
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from sla.calendar import Schedule, WorkingTime
from sla.catalog import Catalog
from sla.vocabulary import COMPONENTS, METRICS, SEVERITIES, Component, Metric, Severity

DEFAULT_TIMEZONE = "Europe/Paris"
DEFAULT_COUNTRY = "FR"


def check_timezone(timezone: str) -> str:
    """Refuse a zone up front: a typo would otherwise surface as a failure deep in calendar compilation."""
    try:
        ZoneInfo(timezone)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValueError(
            f"unknown time zone {timezone!r}; expected an IANA name like 'Europe/Paris'"
        ) from None
    return timezone


@lru_cache(maxsize=64)
def check_country(country: str, subdivision: str | None = None) -> str:
    """Refuse a country (or subdivision) without known public holidays rather than silently observe none.

    Imports `holidays` (slow), so the domain only calls it for calendars that observe public holidays; a
    caller taking user input calls it whatever the level, so that a typo is reported on every level.
    """
    import holidays  # 150 ms to import: only callers that need public holidays pay for it

    supported: dict[str, list[str]] = holidays.list_supported_countries()
    if country not in supported:
        raise ValueError(
            f"unknown country {country!r}; expected an ISO 3166-1 alpha-2 code with known holidays, like 'FR'"
        )
    if subdivision is not None and subdivision not in supported[country]:
        known = ", ".join(supported[country]) or "none"
        raise ValueError(f"unknown subdivision {subdivision!r} of {country}; known: {known}")
    return country


def schedule_for(
    catalog: Catalog,
    level_name: str,
    metric: Metric,
    timezone: str,
    country: str,
    subdivision: str | None = None,
) -> Schedule:
    """The schedule a clock of `metric` counts in for a customer of `level_name` in `timezone`/`country`.

    A 24/7 calendar gives `Schedule.always()` whatever the customer's zone, so that every such clock shares
    one compiled calendar; the country is kept only where public holidays are observed, for the same reason.
    """
    if metric not in METRICS:
        raise ValueError(f"unknown metric {metric!r}; known: {', '.join(METRICS)}")
    level = catalog.level(level_name)
    check_timezone(timezone)
    spec = catalog.calendars[level.calendar_name(metric)]
    if spec.always:
        return Schedule.always()
    holidays_country = check_country(country, subdivision) if spec.public_holidays else None
    return Schedule(
        zone=timezone,
        weekly=spec.weekly_seconds(),
        country=holidays_country,
        subdivision=subdivision if holidays_country else None,
        closed_dates=frozenset(spec.closed_dates),
    )


@dataclass(frozen=True)
class Due:
    """A due time with what produced it, so that a person can check it rather than take it on trust."""

    level: str
    metric: Metric
    severity: Severity
    component: Component | None
    opened: datetime
    target_seconds: int
    calendar: str
    schedule: Schedule
    at: datetime


def explain_due(
    catalog: Catalog,
    level: str,
    metric: Metric,
    severity: Severity,
    opened: datetime,
    timezone: str = DEFAULT_TIMEZONE,
    country: str = DEFAULT_COUNTRY,
    component: Component | None = None,
    subdivision: str | None = None,
) -> Due:
    """When a clock started at `opened` falls due, with no pauses, and the target and calendar behind it."""
    if severity not in SEVERITIES:
        raise ValueError(f"unknown severity {severity!r}; known: {', '.join(SEVERITIES)}")
    if component is not None and component not in COMPONENTS:
        raise ValueError(f"unknown component {component!r}; known: {', '.join(COMPONENTS)}")
    if component is not None and metric != "hardware_replacement":
        raise ValueError(f"a component only applies to hardware_replacement, not to {metric}")
    if opened.tzinfo is None or opened.utcoffset() is None:
        raise ValueError(f"{opened.isoformat()} has no UTC offset; a naive instant is ambiguous")
    schedule = schedule_for(catalog, level, metric, timezone, country, subdivision)
    plan = catalog.level(level)
    target = plan.target(metric, severity, component)
    if target is None:
        raise ValueError(f"level {level!r} promises no {metric} target")
    return Due(
        level=level,
        metric=metric,
        severity=severity,
        component=component,
        opened=opened,
        target_seconds=target,
        calendar=plan.calendar_name(metric),
        schedule=schedule,
        at=WorkingTime(schedule).after(opened, target),
    )


def due_at(
    catalog: Catalog,
    level: str,
    metric: Metric,
    severity: Severity,
    opened: datetime,
    timezone: str = DEFAULT_TIMEZONE,
    country: str = DEFAULT_COUNTRY,
    component: Component | None = None,
) -> datetime:
    """The UTC instant a clock started at `opened` falls due, with no pauses: the core of `sla-engine due`."""
    return explain_due(catalog, level, metric, severity, opened, timezone, country, component).at
