"""A clock cycle while a ticket is folded (`RunningClock`), the record it freezes into (`Clock`), and the
calendar it counts working time in.

Apart from the fold's event loop (sla.fold) because a reader of a stored clock needs the same calendar
(`counting_calendar`: the agents' queue says how much working time is left without folding again), and the
fold's ticket logic reads better without the timer arithmetic of each clock beside it.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

from sla.calendar import (
    Calendar,
    Pause,
    Schedule,
    after_with_pauses,
    compile_schedule,
    within_with_pauses,
)
from sla.catalog import DEFAULT_LEVEL, Catalog, Level
from sla.events import SupportPlanChanged
from sla.limited import limited_period
from sla.plans import schedule_for
from sla.vocabulary import ClockState, Component, Locale, Metric


@dataclass(frozen=True, slots=True)
class Plan:
    """A customer's plan as in force at one instant; fields a plan change leaves out keep their value."""

    support_level: str = DEFAULT_LEVEL
    timezone: str = "Europe/Paris"
    country: str = "FR"
    locale: Locale = "en"
    contact_email: str | None = None


@dataclass(frozen=True, slots=True)
class Clock:
    metric: Metric
    cycle: int
    state: ClockState
    support_level: str
    started_at: int
    due_at: int | None
    stopped_at: int | None
    elapsed_seconds: int
    target_seconds: int
    breached_at: int | None = None
    acknowledged_at: int | None = None
    server_id: str | None = None
    component: Component | None = None
    cause: str = ""  # the event that started this cycle: its identity, whatever its position
    # Where its working time is counted (with `support_level`, `metric` and the catalog version in force at
    # `started_at`): the customer's zone and country when it started. A reader that has only the clock, such
    # as the agents' queue, recomputes the working time left with them (`clock_calendar`).
    timezone: str = "Europe/Paris"
    country: str = "FR"
    line: str | None = None  # line_pickup only: the support line whose pickup this is (SPEC section 10)


Timer = tuple[int, int, float]
"""(instant, rank, argument): a warning (rank 0, its fraction), the breach (1), a ladder step (2, its index).

A timer at instant t fires in a fold whose `now` is after t; `next_due` is therefore t + 1."""

WARN, BREACH, PAGE = 0, 1, 2


class RunningClock:
    """A clock during the simulation; mutable here, frozen into `Clock` at the end.

    `timers` holds the clock's pending timers in firing order and is rebuilt whenever the clock changes, so
    that finding the next timer of a ticket is a look at the head of each clock's list.
    """

    __slots__ = (
        "acknowledged_at",
        "breached_at",
        "calendar",
        "cause",
        "component",
        "cycle",
        "due_at",
        "frozen",
        "key",
        "level",
        "level_name",
        "line",
        "metric",
        "paged",
        "paused_since",
        "pauses",
        "plan",
        "server_id",
        "started_at",
        "state",
        "stopped_at",
        "target",
        "timers",
        "warned",
    )

    def __init__(
        self,
        metric: Metric,
        cycle: int,
        key: str,
        cause: str,
        level_name: str,
        level: Level,
        calendar: Calendar,
        start: int,
        target: int,
    ) -> None:
        self.metric = metric
        self.cycle = cycle
        self.key = key
        self.cause = cause
        self.level_name = level_name
        self.level = level
        self.calendar = calendar
        self.started_at = start
        self.target = target
        self.state: ClockState = "running"
        self.pauses: list[Pause] = []
        self.paused_since: int | None = None
        self.stopped_at: int | None = None
        self.breached_at: int | None = None
        self.acknowledged_at: int | None = None
        self.warned: set[float] = set()
        self.paged: list[str] = []
        self.server_id: str | None = None
        self.component: Component | None = None
        self.plan = DEFAULT_PLAN  # the plan its calendar was made for (its zone and country)
        self.line: str | None = None
        self.due_at: int | None = None
        self.timers: list[Timer] = []
        self.frozen: Clock | None = None  # `freeze`'s answer once stopped: it no longer changes with `now`
        self.retime(start)

    def retime(self, now: int) -> None:
        """Recompute the due time and the timers; a warning or breach whose instant is past fires at `now`.

        A clock whose target was used up exactly when it was paused is due at that instant, but it can
        only breach once it runs again: its breach fires at the resumption, never back in time.
        """
        if self.state != "running":
            self.due_at = None
            self.timers = []
            return
        calendar, start, pauses = self.calendar, self.started_at, self.pauses
        if pauses:
            due = after_with_pauses(calendar, start, self.target, pauses)
        else:
            due = calendar.after(start, self.target)
        self.due_at = due
        timers: list[Timer] = []
        for fraction in self.level.warn_at:
            if fraction in self.warned:
                continue
            seconds = math.floor(fraction * self.target)
            at = (
                after_with_pauses(calendar, start, seconds, pauses)
                if pauses
                else calendar.after(start, seconds)
            )
            timers.append((at if at > now else now, WARN, fraction))
        timers.append((due if due > now else now, BREACH, 0.0))
        timers.sort()
        self.timers = timers

    def schedule_ladder(self) -> None:
        """The next step of the ladder of a breached clock, until acknowledged, stopped or out of routes."""
        step = len(self.paged)
        if (
            self.state == "breached"
            and self.stopped_at is None
            and self.acknowledged_at is None
            and self.breached_at is not None
            and step < len(self.level.ladder)
        ):
            self.timers = [(self.breached_at + step * self.level.ack_timeout, PAGE, float(step))]
        else:
            self.timers = []

    @property
    def open(self) -> bool:
        """Still counting or still paging: not yet met, cancelled, or stopped after its breach."""
        return self.stopped_at is None

    def elapsed(self, now: int) -> int:
        end = self.stopped_at if self.stopped_at is not None else now
        pauses = self.pauses
        if self.paused_since is not None:
            pauses = [*pauses, (self.paused_since, max(end, self.paused_since))]
        if not pauses:
            return max(0, self.calendar.within(self.started_at, end))
        return max(0, within_with_pauses(self.calendar, self.started_at, end, pauses))

    def freeze(self, now: int) -> Clock:
        if self.frozen is not None:
            return self.frozen
        # Positional, in Clock's field order: a fold freezes every clock, and keywords cost a third more.
        clock = Clock(
            self.metric,
            self.cycle,
            self.state,
            self.level_name,
            self.started_at,
            self.due_at if self.state != "paused" else None,
            self.stopped_at,
            self.elapsed(now),
            self.target,
            self.breached_at,
            self.acknowledged_at,
            self.server_id,
            self.component,
            self.cause,
            self.plan.timezone,
            self.plan.country,
            self.line,
        )
        if self.stopped_at is not None:
            self.frozen = clock  # until it reopens (`reopen`): a stopped clock changes no more
        return clock

    def reopen(self, at: int) -> None:
        """Run again after a stop, the time in between counted as a pause."""
        assert self.stopped_at is not None
        self.pauses.append((self.stopped_at, at))
        self.stopped_at = None
        self.frozen = None
        self.state = "running"
        self.retime(at)


_CALENDARS: dict[tuple[int, str, Metric, str, str], tuple[Catalog, Calendar]] = {}
"""Compiled calendars by (catalog, level, metric, zone, country), shared by every fold of the process.

Keyed by the catalog's identity (a catalog is not hashable) and holding the catalog itself, so that an id
reused by a later catalog is detected rather than trusted. Bounded: an operator swapping catalogs or a
stream of customers in many zones empties it rather than growing it without end.
"""
_CALENDARS_MAX = 4096


def calendar_for(catalog: Catalog, plan: Plan, metric: Metric) -> Calendar:
    key = (id(catalog), plan.support_level, metric, plan.timezone, plan.country)
    found = _CALENDARS.get(key)
    if found is not None and found[0] is catalog:
        return found[1]
    try:
        schedule = schedule_for(catalog, plan.support_level, metric, plan.timezone, plan.country)
    except ValueError:
        # A stored plan that today's tzdata or holidays no longer know (SPEC section 3: stored events are
        # folded leniently): count in the default zone and country rather than make the history unreadable.
        schedule = schedule_for(
            catalog, plan.support_level, metric, DEFAULT_PLAN.timezone, DEFAULT_PLAN.country
        )
    calendar = compile_schedule(schedule)
    if len(_CALENDARS) >= _CALENDARS_MAX:
        _CALENDARS.clear()
    _CALENDARS[key] = (catalog, calendar)
    return calendar


DEFAULT_PLAN = Plan()
ALWAYS = compile_schedule(Schedule.always())


def counting_calendar(
    catalog: Catalog, level: str, metric: Metric, started_at: int, timezone: str, country: str
) -> Calendar:
    """The calendar a clock counts its working time in, from what the clock records (`Clock`'s
    `support_level`, `metric`, `started_at`, `timezone` and `country`).

    The same calendar the fold used: the catalog version in force at the clock's start, its level (one that
    version no longer knows counts at the default level, as a new clock would), its metric, the customer's
    zone and country then. A reader of a stored clock (the agents' queue) needs it to say how much working
    time is left at the moment it reads, without folding the ticket again.
    """
    version = catalog.at(started_at)
    known = level if level in version.levels else DEFAULT_LEVEL
    if limited_period(version, known, metric, started_at) is not None:
        return ALWAYS  # a response clock started in a limited-support period counts 24/7
    return calendar_for(version, Plan(known, timezone, country), metric)


def plans_in_force(plans: Sequence[tuple[int, SupportPlanChanged]]) -> tuple[list[int], list[Plan]]:
    """Each plan change as the whole plan in force from its instant on, for a bisection by instant."""
    instants: list[int] = []
    in_force: list[Plan] = []
    plan = Plan()
    for at, change in plans:
        given = change.model_fields_set  # absent keeps the previous value; an explicit null clears it
        plan = Plan(
            support_level=change.support_level,
            timezone=change.timezone or (DEFAULT_PLAN.timezone if "timezone" in given else plan.timezone),
            country=change.country or (DEFAULT_PLAN.country if "country" in given else plan.country),
            locale=change.locale or (DEFAULT_PLAN.locale if "locale" in given else plan.locale),
            contact_email=change.contact_email if "contact_email" in given else plan.contact_email,
        )
        instants.append(at)
        in_force.append(plan)
    return instants, in_force
