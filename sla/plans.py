"""Where a level's promise is counted and when it falls due: the catalog meets the customer's calendar.

A target is working time in a calendar chosen by the level (its coverage, or the datacenter's hardware
calendar for replacements) and shaped by the customer's time zone and country. This module is the one place
that joins them, so the engine, the CLI and the worked examples cannot disagree on a due time.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sla.calendar import Schedule, WorkingTime
from sla.catalog import CalendarSpec, Catalog, check_country, check_timezone
from sla.vocabulary import COMPONENTS, LEVEL_METRICS, SEVERITIES, Component, Metric, Severity

DEFAULT_TIMEZONE = "Europe/Paris"
DEFAULT_COUNTRY = "FR"


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
    if metric not in LEVEL_METRICS:
        raise ValueError(f"unknown metric {metric!r}; known: {', '.join(LEVEL_METRICS)}")
    level = catalog.level(level_name)
    check_timezone(timezone)
    spec = catalog.calendars[level.calendar_name(metric)]
    if spec.always:
        return Schedule.always()
    if spec.timezone is not None:  # the provider's own hours: the same for every customer
        return provider_schedule(spec)
    holidays_country = check_country(country, subdivision) if spec.public_holidays else None
    return Schedule(
        zone=timezone,
        weekly=spec.weekly_seconds(),
        country=holidays_country,
        subdivision=subdivision if holidays_country else None,
        closed_dates=frozenset(spec.closed_dates),
    )


def provider_schedule(spec: CalendarSpec) -> Schedule:
    """A calendar of the provider's (a line's or a route's hours): its own zone and country, or 24/7."""
    if spec.always or spec.timezone is None:
        return Schedule.always()
    return Schedule(
        zone=spec.timezone,
        weekly=spec.weekly_seconds(),
        country=spec.country if spec.public_holidays else None,
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
