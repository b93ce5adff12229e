"""The catalog and a due time as documents: what `sla-engine plans` and `sla-engine due` print as JSON and what
the read API answers at `/v1/plans` and `/v1/due` (SPEC section 8), built in one place so the two never differ.

Durations are given in seconds (to compute with) and in words (to read): hours and minutes, never days,
because 24 h of business-hours working time is not a day.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

from sla.calendar import to_epoch
from sla.catalog import DEFAULT_LEVEL, WEEKDAYS, CalendarSpec, Catalog, LimitedSupport
from sla.durations import format_duration
from sla.duty import on_duty, paged_route, provider_calendar
from sla.plans import Due
from sla.vocabulary import COMPONENT_CLASS, COMPONENTS, SEVERITIES, Component


def human(seconds: int) -> str:
    """Hours and minutes, never days: 24h of business-hours working time is not a day (SPEC's notation)."""
    hours, rest = divmod(seconds, 3600)
    return (f"{hours}h" if hours else "") + (format_duration(rest) if rest or not hours else "")


def _clock(seconds: int) -> str:
    return f"{seconds // 3600:02d}:{seconds % 3600 // 60:02d}"


def describe_calendar(spec: CalendarSpec) -> str:
    """A calendar in words, e.g. 'Mon–Fri 08:00–18:00, public holidays off', as the SPEC tables say it."""
    if spec.always:
        return "24/7"
    groups: list[tuple[str, str, tuple[tuple[int, int], ...]]] = []
    for day, spans in zip(WEEKDAYS, spec.weekly_seconds(), strict=True):
        if (
            groups
            and spans
            and groups[-1][2] == spans
            and WEEKDAYS.index(groups[-1][1]) + 1 == WEEKDAYS.index(day)
        ):
            groups[-1] = (groups[-1][0], day, spans)
        elif spans:
            groups.append((day, day, spans))
    parts = []
    for first, last, spans in groups:
        days = first.title() if first == last else f"{first.title()}–{last.title()}"
        parts.append(f"{days} {', '.join(f'{_clock(s)}–{_clock(e)}' for s, e in spans)}")
    text = "; ".join(parts)
    if spec.timezone is not None:  # the provider's own hours
        text += f" {spec.timezone}"
    if spec.public_holidays:
        text += f", public holidays of {spec.country} off" if spec.country else ", public holidays off"
    if spec.closed_dates:
        text += f", {len(spec.closed_dates)} closed date(s)"
    return text


def iso_utc(instant: datetime) -> str:
    return instant.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def iso_local(instant: datetime, timezone: str) -> str:
    return instant.astimezone(ZoneInfo(timezone)).isoformat()


def _duration(seconds: int) -> dict[str, Any]:
    return {"seconds": seconds, "human": human(seconds)}


def components_by_class() -> dict[str, list[Component]]:
    grouped: dict[str, list[Component]] = {}
    for component in COMPONENTS:
        grouped.setdefault(COMPONENT_CLASS[component], []).append(component)
    return grouped


def plans_document(catalog: Catalog) -> dict[str, Any]:
    """The catalog for machines: every duration both in seconds (to compute) and human (to read)."""
    classes = components_by_class()
    levels: dict[str, Any] = {}
    for name, level in catalog.levels.items():
        levels[name] = {
            "coverage": {
                "calendar": level.coverage,
                "description": describe_calendar(catalog.calendars[level.coverage]),
            },
            "first_response": {s: _duration(level.first_response.for_severity(s)) for s in SEVERITIES},
            "next_response": {s: _duration(level.next_response.for_severity(s)) for s in SEVERITIES},
            "resolution": None
            if level.resolution is None
            else {s: _duration(level.resolution.for_severity(s)) for s in SEVERITIES},
            "hardware_calendar": {
                "calendar": level.hardware_calendar,
                "description": describe_calendar(catalog.calendars[level.hardware_calendar]),
            },
            "hardware_replacement": {
                cls: {**_duration(getattr(level.hardware_replacement, cls)), "components": components}
                for cls, components in classes.items()
            },
            "warn_at": level.warn_at,
            "ladder": level.ladder,
            "ack_timeout": _duration(level.ack_timeout),
        }
    return {
        "default_level": DEFAULT_LEVEL,
        "severities": list(SEVERITIES),
        "calendars": {
            name: {**spec.model_dump(mode="json"), "description": describe_calendar(spec)}
            for name, spec in catalog.calendars.items()
        },
        "levels": levels,
        **lines_document(catalog),
    }


def _coverage(catalog: Catalog, name: str | None) -> dict[str, Any]:
    if name is None:
        return {"calendar": None, "description": "24/7"}
    return {"calendar": name, "description": describe_calendar(catalog.calendars[name])}


def _targets(period: LimitedSupport, metric: str) -> dict[str, Any]:
    targets = getattr(period, metric)
    return {s: _duration(targets.for_severity(s)) for s in SEVERITIES}


def lines_document(catalog: Catalog) -> dict[str, Any]:
    """Support lines, routes on duty and limited-support periods (SPEC section 10), for `plans`."""
    return {
        "entry_line": catalog.entry_line,
        "lines": {
            name: {
                "route": line.route,
                "pickup": None if line.pickup is None else _duration(line.pickup),
                "coverage": _coverage(catalog, line.coverage),
            }
            for name, line in catalog.lines.items()
        },
        "routes": {
            name: {"coverage": _coverage(catalog, route.coverage), "fallback": route.fallback}
            for name, route in catalog.routes.items()
        },
        "limited_support": [
            {
                "from": iso_utc(period.starts),
                "to": iso_utc(period.ends),
                "levels": list(period.levels) if period.levels is not None else None,
                "first_response": _targets(period, "first_response"),
                "next_response": _targets(period, "next_response"),
            }
            for period in catalog.limited_support
        ],
    }


def line_document(catalog: Catalog, line: str, at: datetime) -> dict[str, Any]:
    """A line as `due --at-line` shows it: the route paged for it at `at` (its fallback when off duty), and
    when a pickup started by an escalation at `at` would fall due on the line's hours."""
    version = catalog.at(to_epoch(at))
    spec = version.lines[line]
    instant = to_epoch(at)
    paged = paged_route(catalog, spec.route, instant)
    pickup_due = (
        None
        if spec.pickup is None
        else datetime.fromtimestamp(
            provider_calendar(version, spec.coverage).after(instant, spec.pickup), UTC
        )
    )
    return {
        "line": line,
        "route": spec.route,
        "on_duty": on_duty(catalog, spec.route, instant),
        "paged_route": paged,
        "pickup": None if spec.pickup is None else _duration(spec.pickup),
        "pickup_due": None if pickup_due is None else iso_utc(pickup_due),
        "coverage": _coverage(version, spec.coverage),
    }


def describe_schedule(catalog: Catalog, due: Due, timezone: str) -> str:
    """The calendar as this customer gets it: the zone its hours are read in, whose holidays are off."""
    spec = catalog.calendars[due.calendar]
    if due.schedule.weekly is None:
        return f"{due.calendar}: {describe_calendar(spec)}"
    text = (
        f"{due.calendar}: {describe_calendar(spec.model_copy(update={'public_holidays': False}))} {timezone}"
    )
    if due.schedule.country:
        region = due.schedule.country + (f"-{due.schedule.subdivision}" if due.schedule.subdivision else "")
        text += f", public holidays of {region} off"
    return text


def due_document(
    catalog: Catalog,
    due: Due,
    timezone: str,
    country: str,
    subdivision: str | None,
    line: str | None = None,
) -> dict[str, Any]:
    """The due time for machines: the same facts as the text, instants in UTC (`...Z`) and local; with
    `line`, who that line's route pages at the opening instant (`line_document`)."""
    return {
        "due": iso_utc(due.at),
        "due_local": iso_local(due.at, timezone),
        "opened": iso_utc(due.opened),
        "opened_local": iso_local(due.opened, timezone),
        "timezone": timezone,
        "country": country,
        "subdivision": subdivision,
        "level": due.level,
        "severity": due.severity,
        "metric": due.metric,
        "component": due.component,
        "target": {"seconds": due.target_seconds, "human": human(due.target_seconds)},
        "calendar": {
            "name": due.calendar,
            "description": describe_schedule(catalog, due, timezone).removeprefix(f"{due.calendar}: "),
        },
        "line": None if line is None else line_document(catalog, line, due.opened),
    }
