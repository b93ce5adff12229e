"""Who is on duty: the provider's calendars of support lines and on-call routes (SPEC sections 6 and 10).

A route listed in the catalog's `[routes]` is paged only within its coverage calendar; off duty its alerts
go to its fallback, and on down the chain. The catalog refuses a loop at load and a route with coverage but
no fallback, so every chain ends at a route without coverage (on duty 24/7): an alert always pages someone.
Which route is on duty is decided at the alert's instant, by the catalog version in force then: coverage is
how the provider staffs its rota now, not a promise a clock made when it started.
"""

from __future__ import annotations

from sla.calendar import Calendar, Schedule, compile_schedule
from sla.catalog import Catalog, check_country
from sla.plans import provider_schedule

_CALENDARS: dict[tuple[int, str], tuple[Catalog, Calendar]] = {}
"""Compiled provider calendars by (catalog identity, calendar name), holding the catalog so that an id
reused by a later catalog is detected rather than trusted; bounded like sla.fold's cache."""
_CALENDARS_MAX = 256


def provider_calendar(catalog: Catalog, name: str | None) -> Calendar:
    """The provider's calendar `name` of `catalog`, compiled once; None is 24/7 (a line without coverage)."""
    if name is None:
        return compile_schedule(Schedule.always())
    key = (id(catalog), name)
    found = _CALENDARS.get(key)
    if found is not None and found[0] is catalog:
        return found[1]
    spec = catalog.calendars[name]
    if spec.country is not None:
        try:
            check_country(spec.country)
        except ValueError:  # refused by the CLI's check (sla.catalog.unknown_countries); never fail a fold
            spec = spec.model_copy(update={"country": None, "public_holidays": False})
    calendar = compile_schedule(provider_schedule(spec))
    if len(_CALENDARS) >= _CALENDARS_MAX:
        _CALENDARS.clear()
    _CALENDARS[key] = (catalog, calendar)
    return calendar


def on_duty(catalog: Catalog, route: str, instant: int) -> bool:
    """Whether `route` is on duty at `instant` (epoch seconds) by the version of `catalog` in force then.

    On duty means inside a working interval of its coverage: a second of working time starts at `instant`.
    """
    return _on_duty(catalog.at(instant), route, instant)


def _on_duty(version: Catalog, route: str, instant: int) -> bool:
    listed = version.routes.get(route)
    if listed is None:
        return True
    return provider_calendar(version, listed.coverage).within(instant, instant + 1) == 1


def paged_route(catalog: Catalog, route: str, instant: int) -> str:
    """Where an alert for `route` at `instant` goes: the route itself on duty, else its fallback, recursively.

    The catalog refused fallback loops at load; the bound on the walk is a guard, not a rule.
    """
    version = catalog.at(instant)
    current = route
    for _ in range(len(version.routes) + 1):
        listed = version.routes.get(current)
        if listed is None or _on_duty(version, current, instant):
            return current
        current = listed.fallback
    return current
