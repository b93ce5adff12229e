"""The fold of a ticket's events into its SLA state and effects: a discrete-event simulation of the ticket.

Events are applied in the total order of SPEC section 5, and between two events the clocks' own timers
(warnings, breaches, ladder steps) fire in time order, so the result depends only on the set of events and
on `now`, never on the order or number of deliveries. At one instant events come before timers: an answer
at exactly the due time meets the clock, an acknowledgement at exactly a ladder step stops it.
"""

from __future__ import annotations

import math
from bisect import bisect_right
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from operator import attrgetter
from typing import TypeVar

from sla.calendar import Calendar, Pause, after_with_pauses, compile_schedule, within_with_pauses
from sla.catalog import DEFAULT_LEVEL, Catalog, Level
from sla.effects import Alert, AlertKind, Effect, Notification, NotificationKind
from sla.events import (
    AlertAcknowledged,
    AnyTicketEvent,
    EventDetail,
    HardwareReplacementCompleted,
    HardwareReplacementRequested,
    SupportPlanChanged,
    TicketEvent,
    TicketMessagePosted,
    TicketOpened,
    TicketSeverityChanged,
    TicketStatusChanged,
)
from sla.plans import schedule_for
from sla.vocabulary import ClockState, Component, Locale, Metric, Severity, Status

WARNING_ROUTE = "oncall-l2"
APOLOGY_METRICS: frozenset[Metric] = frozenset({"first_response", "hardware_replacement"})
RETARGETED_METRICS: frozenset[Metric] = frozenset({"first_response", "next_response", "resolution"})
PAUSABLE_METRICS: frozenset[Metric] = frozenset({"resolution", "hardware_replacement"})
RESPONSE_METRICS: frozenset[Metric] = frozenset({"first_response", "next_response"})

_E = TypeVar("_E", bound=EventDetail)


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


@dataclass(frozen=True, slots=True)
class TicketState:
    ticket_id: str
    customer_id: str
    support_level: str
    severity: Severity
    status: Status
    opened_at: int
    clocks: tuple[Clock, ...]


@dataclass(frozen=True, slots=True)
class Rejection:
    event_id: str
    reason: str


@dataclass(frozen=True, slots=True)
class Folded:
    """The ticket at `now`: its state, every effect due so far, the next instant a timer is due."""

    state: TicketState | None
    effects: tuple[Effect, ...]
    next_due: int | None
    rejected: tuple[Rejection, ...]


Timer = tuple[int, int, float]
"""(instant, rank, argument): a warning (rank 0, its fraction), the breach (1), a ladder step (2, its index)."""

_WARN, _BREACH, _PAGE = 0, 1, 2


class _Clock:
    """A clock during the simulation; mutable here, frozen into `Clock` at the end.

    `timers` holds the clock's pending timers in firing order and is rebuilt whenever the clock changes, so
    that finding the next timer of a ticket is a look at the head of each clock's list.
    """

    __slots__ = (
        "acknowledged_at",
        "breached_at",
        "calendar",
        "component",
        "cycle",
        "due_at",
        "level",
        "level_name",
        "metric",
        "paged",
        "paused_since",
        "pauses",
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
        level_name: str,
        level: Level,
        calendar: Calendar,
        start: int,
        target: int,
    ) -> None:
        self.metric = metric
        self.cycle = cycle
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
        self.due_at: int | None = None
        self.timers: list[Timer] = []
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
            timers.append((at if at > now else now, _WARN, fraction))
        timers.append((due if due > now else now, _BREACH, 0.0))
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
            self.timers = [(self.breached_at + step * self.level.ack_timeout, _PAGE, float(step))]
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
        # Positional, in Clock's field order: a fold freezes every clock, and keywords cost a third more.
        return Clock(
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
        )


_CALENDARS: dict[tuple[int, str, Metric, str, str], tuple[Catalog, Calendar]] = {}
"""Compiled calendars by (catalog, level, metric, zone, country), shared by every fold of the process.

Keyed by the catalog's identity (a catalog is not hashable) and holding the catalog itself, so that an id
reused by a later catalog is detected rather than trusted. Bounded: an operator swapping catalogs or a
stream of customers in many zones empties it rather than growing it without end.
"""
_CALENDARS_MAX = 4096


def _calendar(catalog: Catalog, plan: Plan, metric: Metric) -> Calendar:
    key = (id(catalog), plan.support_level, metric, plan.timezone, plan.country)
    found = _CALENDARS.get(key)
    if found is not None and found[0] is catalog:
        return found[1]
    schedule = schedule_for(catalog, plan.support_level, metric, plan.timezone, plan.country)
    calendar = compile_schedule(schedule)
    if len(_CALENDARS) >= _CALENDARS_MAX:
        _CALENDARS.clear()
    _CALENDARS[key] = (catalog, calendar)
    return calendar


def _plans_in_force(plans: Sequence[tuple[int, SupportPlanChanged]]) -> tuple[list[int], list[Plan]]:
    """Each plan change as the whole plan in force from its instant on, for a bisection by instant."""
    instants: list[int] = []
    in_force: list[Plan] = []
    plan = Plan()
    for at, change in plans:
        plan = Plan(
            support_level=change.support_level,
            timezone=change.timezone or plan.timezone,
            country=change.country or plan.country,
            locale=change.locale or plan.locale,
            contact_email=change.contact_email or plan.contact_email,
        )
        instants.append(at)
        in_force.append(plan)
    return instants, in_force


_DEFAULT_PLAN = Plan()


class _Ticket:
    """The simulation of one ticket: events applied in order, timers fired between them."""

    def __init__(self, catalog: Catalog, plans: Sequence[tuple[int, SupportPlanChanged]]) -> None:
        self.catalog = catalog
        self.plan_instants, self.plans = _plans_in_force(plans)
        self.clocks: list[_Clock] = []
        self.cycles: dict[Metric, int] = {}
        self.effects: list[Effect] = []
        self.rejected: list[Rejection] = []
        self.opened: TicketOpened | None = None
        self.ticket_id = ""
        self.customer_id = ""
        self.level_name = DEFAULT_LEVEL
        self.severity: Severity = "low"
        self.status: Status = "open"
        self.opened_at = 0
        self.surveyed = False

    # -- plans and clocks ---------------------------------------------------------------------------------

    def plan_at(self, instant: int) -> Plan:
        """The plan in force at `instant`: a change at the same instant as an event already applies to it."""
        index = bisect_right(self.plan_instants, instant)
        return self.plans[index - 1] if index else _DEFAULT_PLAN

    def start_clock(
        self, metric: Metric, at: int, component: Component | None = None, server_id: str | None = None
    ) -> _Clock | None:
        plan = self.plan_at(at)
        level = self.catalog.level(plan.support_level)
        target = level.target(metric, self.severity, component)
        if target is None:
            return None
        cycle = self.cycles[metric] = self.cycles.get(metric, 0) + 1
        clock = _Clock(
            metric, cycle, plan.support_level, level, _calendar(self.catalog, plan, metric), at, target
        )
        clock.server_id, clock.component = server_id, component
        if metric in PAUSABLE_METRICS and self.status == "pending_customer":
            self.pause(clock, at)
        self.clocks.append(clock)
        return clock

    # -- timers -------------------------------------------------------------------------------------------

    def next_timer(self) -> _Clock | None:
        """The clock whose timer fires next; at one instant the earlier-started clock goes first."""
        best: _Clock | None = None
        best_at = 0
        for clock in self.clocks:
            timers = clock.timers
            if timers and (best is None or timers[0][0] < best_at):
                best, best_at = clock, timers[0][0]
        return best

    def advance(self, limit: int, inclusive: bool) -> None:
        """Fire, in time order, every timer due before `limit` (or at it, when `inclusive`)."""
        clocks = self.clocks
        while True:
            # next_timer(), inlined: this runs before every event, and most often finds nothing due.
            clock: _Clock | None = None
            at = 0
            for candidate in clocks:
                timers = candidate.timers
                if timers and (clock is None or timers[0][0] < at):
                    clock, at = candidate, timers[0][0]
            if clock is None or at > limit or (at == limit and not inclusive):
                return
            _, rank, arg = clock.timers[0]
            if rank == _WARN:
                self.warn(clock, arg, at)
            elif rank == _BREACH:
                self.breach(clock, at)
            else:
                self.page(clock, int(arg), at)

    def warn(self, clock: _Clock, fraction: float, at: int) -> None:
        clock.warned.add(fraction)
        del clock.timers[0]
        self.alert(clock, "warning", WARNING_ROUTE, at, f"warning:{fraction:g}", fraction=fraction)

    def breach(self, clock: _Clock, at: int) -> None:
        clock.state = "breached"
        clock.breached_at = at
        clock.schedule_ladder()
        if clock.metric in APOLOGY_METRICS:
            self.notify(
                "breach_apology",
                at,
                f"{clock.metric}:{clock.cycle}",
                metric=clock.metric,
                due_at=clock.due_at,
                server_id=clock.server_id,
                component=clock.component,
            )

    def page(self, clock: _Clock, step: int, at: int) -> None:
        route = clock.level.ladder[step]
        clock.paged.append(route)
        clock.schedule_ladder()
        self.alert(clock, "trigger", route, at, f"trigger:{step}", step=step)

    def alert(
        self,
        clock: _Clock,
        kind: AlertKind,
        route: str,
        at: int,
        suffix: str,
        step: int = 0,
        fraction: float | None = None,
    ) -> None:
        # Positional, in the field order of Alert and Notification (the tests check every field's value):
        # effects are most of what a fold allocates, and keywords cost a third more.
        ticket_id, metric, cycle = self.ticket_id, clock.metric, clock.cycle
        self.effects.append(
            Alert(
                f"{ticket_id}:{metric}:{cycle}:{suffix}",  # effect_id
                at,
                ticket_id,
                metric,
                cycle,
                kind,
                route,
                f"{ticket_id}/{metric}/{cycle}",  # dedup_key: stable per (ticket, metric, cycle)
                step,
                fraction,
                clock.due_at,
                clock.level_name,  # support_level
            )
        )

    def notify(self, kind: NotificationKind, at: int, suffix: str, **data: str | int | None) -> None:
        plan = self.plan_at(at)
        data["support_level"] = plan.support_level
        self.effects.append(
            Notification(
                f"{self.ticket_id}:notify:{kind}:{suffix}",  # effect_id
                at,
                self.ticket_id,
                self.customer_id,
                kind,
                plan.locale,
                plan.timezone,
                plan.contact_email,
                data,
            )
        )

    # -- clock transitions --------------------------------------------------------------------------------

    def stop(self, clock: _Clock, at: int, outcome: ClockState) -> None:
        """Meet or cancel a clock; a breached one stays breached and its pages are resolved."""
        if not clock.open:
            return
        if clock.paused_since is not None:
            clock.pauses.append((clock.paused_since, at))
            clock.paused_since = None
        clock.stopped_at = at
        clock.timers = []
        if clock.state == "breached":
            for route in clock.paged:
                self.alert(clock, "resolve", route, at, f"resolve:{route}")
        else:
            clock.state = outcome

    def pause(self, clock: _Clock, at: int) -> None:
        if clock.state == "running":
            clock.state = "paused"
            clock.paused_since = at
            clock.retime(at)

    def resume(self, clock: _Clock, at: int) -> None:
        if clock.state == "paused" and clock.paused_since is not None:
            clock.pauses.append((clock.paused_since, at))
            clock.paused_since = None
            clock.state = "running"
            clock.retime(at)

    # -- events -------------------------------------------------------------------------------------------

    def apply(self, event: AnyTicketEvent, at: int) -> None:
        if self.opened is None:
            if isinstance(event, TicketOpened):
                self.open_ticket(event, at)
            else:
                self.reject(event, "ticket_id: the ticket was not opened before this event")
            return
        owner = event.customer_id
        if owner is not None and owner != self.customer_id:
            self.reject(
                event,
                f"customer_id: {owner!r} is not the ticket's owner (the customer of its Ticket Opened)",
            )
            return
        if isinstance(event, TicketOpened):
            self.reject(event, f"ticket_id: the ticket was already opened by event {self.opened.event_id}")
            return
        if self.status == "closed" and not isinstance(event, AlertAcknowledged):
            self.reject(event, "ticket_id: the ticket is closed")
            return
        if isinstance(event, TicketMessagePosted):
            self.message(event, at)
        elif isinstance(event, TicketStatusChanged):
            self.change_status(event.status, at)
        elif isinstance(event, TicketSeverityChanged):
            self.change_severity(event.severity, at)
        elif isinstance(event, HardwareReplacementRequested):
            self.request_hardware(event, at)
        elif isinstance(event, HardwareReplacementCompleted):
            self.complete_hardware(event, at)
        else:
            self.acknowledge(event, at)

    def reject(self, event: TicketEvent | AlertAcknowledged, reason: str) -> None:
        self.rejected.append(Rejection(event.event_id, reason))

    def open_ticket(self, event: TicketOpened, at: int) -> None:
        self.opened = event
        self.customer_id = event.customer_id
        self.severity = event.severity
        self.opened_at = at
        self.level_name = self.plan_at(at).support_level
        first = self.start_clock("first_response", at)
        self.start_clock("resolution", at)
        self.notify("acknowledged", at, "1", due_at=first.due_at if first else None, severity=self.severity)

    def message(self, event: TicketMessagePosted, at: int) -> None:
        if event.visibility != "public":
            return
        if event.author == "agent":
            for clock in self.clocks:
                if clock.metric in RESPONSE_METRICS and clock.stopped_at is None:
                    self.stop(clock, at, "met")
            return
        responded = False
        for clock in self.clocks:
            if clock.metric in RESPONSE_METRICS:
                if clock.stopped_at is None:
                    return  # a reply is still owed: this message waits for the same one
                responded = True
        if responded:
            self.start_clock("next_response", at)

    def change_status(self, status: Status, at: int) -> None:
        previous, self.status = self.status, status
        if status == previous:
            return
        for clock in self.clocks:
            if status == "closed":
                self.stop(clock, at, "cancelled")
            elif clock.metric not in PAUSABLE_METRICS:
                continue
            elif clock.metric == "resolution" and status == "resolved":
                self.stop(clock, at, "met")
            else:
                if clock.metric == "resolution" and previous == "resolved" and clock.state == "met":
                    self.reopen(clock, at)
                if status == "pending_customer":
                    self.pause(clock, at)
                else:
                    self.resume(clock, at)
        if status == "resolved" and not self.surveyed:
            self.surveyed = True
            self.notify("survey", at, "1")

    def reopen(self, clock: _Clock, at: int) -> None:
        """A reopened ticket resumes its resolution clock with the time it had: resolved time is a pause.

        Reopening to `pending_customer` reopens it too, paused at once: the ticket is no longer resolved.
        """
        assert clock.stopped_at is not None
        clock.pauses.append((clock.stopped_at, at))
        clock.stopped_at = None
        clock.state = "running"
        clock.retime(at)

    def change_severity(self, severity: Severity, at: int) -> None:
        self.severity = severity
        for clock in self.clocks:
            if clock.metric not in RETARGETED_METRICS or clock.state not in ("running", "paused"):
                continue
            target = clock.level.target(clock.metric, severity)
            if target is None:
                continue
            clock.target = target
            clock.retime(at)
            if clock.state == "paused":
                # Paused with its new target already used up: its due time lies before the pause, so past.
                overdue = clock.elapsed(at) >= target
            else:
                overdue = clock.due_at is not None and clock.due_at < at
            if overdue:
                self.breach(clock, at)

    def request_hardware(self, event: HardwareReplacementRequested, at: int) -> None:
        if any(self.same_part(c, event) and c.open for c in self.clocks):
            self.reject(event, "component: a replacement of this component is already under way")
            return
        clock = self.start_clock("hardware_replacement", at, event.component, event.server_id)
        assert clock is not None
        self.notify(
            "hardware_scheduled",
            at,
            str(clock.cycle),
            due_at=clock.due_at,
            server_id=event.server_id,
            component=event.component,
        )

    def complete_hardware(self, event: HardwareReplacementCompleted, at: int) -> None:
        clock = next((c for c in self.clocks if self.same_part(c, event) and c.open), None)
        if clock is None:
            self.reject(event, "component: no replacement of this component is under way")
            return
        self.stop(clock, at, "met")
        self.notify(
            "hardware_completed", at, str(clock.cycle), server_id=event.server_id, component=event.component
        )

    @staticmethod
    def same_part(clock: _Clock, event: HardwareReplacementRequested | HardwareReplacementCompleted) -> bool:
        return (
            clock.metric == "hardware_replacement"
            and clock.server_id == event.server_id
            and clock.component == event.component
        )

    def acknowledge(self, event: AlertAcknowledged, at: int) -> None:
        breached = [
            c
            for c in self.clocks
            if c.metric == event.metric and c.state == "breached" and c.open and c.acknowledged_at is None
        ]
        if not breached:
            self.reject(event, f"metric: no unacknowledged breach of {event.metric} on this ticket")
            return
        clock = breached[-1]
        clock.acknowledged_at = at
        clock.schedule_ladder()
        for route in clock.paged:
            self.alert(clock, "acknowledge", route, at, f"acknowledge:{route}")

    def freeze(self, now: int) -> TicketState | None:
        if self.opened is None:
            return None
        return TicketState(
            ticket_id=self.ticket_id,
            customer_id=self.customer_id,
            support_level=self.level_name,
            severity=self.severity,
            status=self.status,
            opened_at=self.opened_at,
            clocks=tuple(clock.freeze(now) for clock in self.clocks),
        )

    def next_due(self) -> int | None:
        clock = self.next_timer()
        return None if clock is None else clock.timers[0][0]


_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def _in_order(events: Iterable[_E]) -> list[tuple[int, _E]]:
    """Events, one per `event_id`, in the order of SPEC section 5, each with its instant in epoch seconds.

    `event_id` is the idempotency key: a redelivery is the same event and counts once. Two different events
    under one id are a producer's bug, but the fold must still give one answer whatever their arrival
    order, so the first in SPEC order (then by content) is kept; contents are compared only when an id
    repeats. The sort key is `EventDetail.order_key` with the instant as a timedelta since the epoch: the
    same order (exact to the microsecond), cheaper to compare than aware datetimes, and the epoch seconds
    fall out of it. The subtraction is the costly part (a call into the event's tzinfo), done once an event.
    """
    rows: dict[str, tuple[timedelta, int, str, _E]] = {}
    for event in events:
        event_id = event.event_id
        seen = rows.get(event_id)
        if seen is not None and (seen[3] is event or seen[3] == event or _rank(seen[3]) <= _rank(event)):
            continue
        since = event.occurred_at - _EPOCH
        rows[event_id] = (since, -1 if event.sequence is None else event.sequence, event_id, event)
    keyed = sorted(rows.values())  # ids are unique here, so a comparison never reaches the event itself
    return [(since.days * 86_400 + since.seconds, event) for since, _, _, event in keyed]


_AT = attrgetter("at")


def _rank(event: EventDetail) -> tuple[tuple[datetime, int, str], str, str]:
    return event.order_key(), type(event).__name__, event.model_dump_json()


def fold(
    ticket_id: str,
    events: Iterable[AnyTicketEvent],
    plan_changes: Iterable[SupportPlanChanged],
    catalog: Catalog,
    now: int,
) -> Folded:
    """Fold a ticket's events (any order, any repetition) and its customer's plan changes up to `now`.

    Events of other tickets, and events after `now`, are not applied: the result is what the engine knows
    at `now`. `now` is epoch seconds; the fold never reads the system clock. Only the plan changes of the
    ticket's owner count, so a caller that hands over another customer's changes cannot re-target a clock.
    """
    ordered = _in_order([e for e in events if e.ticket_id == ticket_id])
    owner = next((e.customer_id for _, e in ordered if isinstance(e, TicketOpened)), None)
    levels = catalog.levels
    plans = _in_order([p for p in plan_changes if p.customer_id == owner and p.support_level in levels])
    ticket = _Ticket(catalog, plans)
    ticket.ticket_id = ticket_id
    future: int | None = None  # an event stamped after `now` (a skewed clock) is applied when its time comes
    for at, event in ordered:
        if at > now:
            future = at
            break
        ticket.advance(at, inclusive=False)
        ticket.apply(event, at)
    ticket.advance(now, inclusive=True)
    effects = sorted(ticket.effects, key=_AT)
    due = min((t for t in (ticket.next_due(), future) if t is not None), default=None)
    return Folded(ticket.freeze(now), tuple(effects), due, tuple(ticket.rejected))
