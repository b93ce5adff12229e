"""The fold of a ticket's events into its SLA state and effects: a discrete-event simulation of the ticket.

Events are applied in the total order of SPEC section 5, and between two events the clocks' own timers
(warnings, breaches, ladder steps) fire in time order, so the result depends only on the set of events and
on `now`, never on the order or number of deliveries. At one instant events come before timers: an answer
at exactly the due time meets the clock, an acknowledgement at exactly a ladder step stops it.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from sla.calendar import Calendar, Pause, after_with_pauses, compile_schedule, to_epoch, within_with_pauses
from sla.catalog import DEFAULT_LEVEL, Catalog, Level
from sla.effects import Alert, Effect, Notification, NotificationKind
from sla.events import (
    AlertAcknowledged,
    AnyTicketEvent,
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


@dataclass(frozen=True)
class Plan:
    """A customer's plan as in force at one instant; fields a plan change leaves out keep their value."""

    support_level: str = DEFAULT_LEVEL
    timezone: str = "Europe/Paris"
    country: str = "FR"
    locale: Locale = "en"
    contact_email: str | None = None


@dataclass(frozen=True)
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


@dataclass(frozen=True)
class TicketState:
    ticket_id: str
    customer_id: str
    support_level: str
    severity: Severity
    status: Status
    opened_at: int
    clocks: tuple[Clock, ...]


@dataclass(frozen=True)
class Rejection:
    event_id: str
    reason: str


@dataclass(frozen=True)
class Folded:
    """The ticket at `now`: its state, every effect due so far, the next instant a timer is due."""

    state: TicketState | None
    effects: tuple[Effect, ...]
    next_due: int | None
    rejected: tuple[Rejection, ...]


class _Clock:
    """A clock during the simulation; mutable here, frozen into `Clock` at the end."""

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
        self.warn_times: list[tuple[int, float]] = []
        self.retime(start)

    def retime(self, now: int) -> None:
        """Recompute the due time and warning times; a time already past fires at `now`."""
        if self.state != "running":
            self.due_at = None
            self.warn_times = []
            return
        self.due_at = after_with_pauses(self.calendar, self.started_at, self.target, self.pauses)
        self.warn_times = [
            (
                max(
                    now,
                    after_with_pauses(
                        self.calendar, self.started_at, math.floor(f * self.target), self.pauses
                    ),
                ),
                f,
            )
            for f in self.level.warn_at
            if f not in self.warned
        ]

    @property
    def open(self) -> bool:
        """Still counting or still paging: not yet met, cancelled, or stopped after its breach."""
        return self.stopped_at is None

    def elapsed(self, now: int) -> int:
        end = self.stopped_at if self.stopped_at is not None else now
        pauses = [*self.pauses]
        if self.paused_since is not None:
            pauses.append((self.paused_since, max(end, self.paused_since)))
        return max(0, within_with_pauses(self.calendar, self.started_at, end, pauses))

    def dedup_key(self, ticket_id: str) -> str:
        return f"{ticket_id}/{self.metric}/{self.cycle}"

    def freeze(self, now: int) -> Clock:
        return Clock(
            metric=self.metric,
            cycle=self.cycle,
            state=self.state,
            support_level=self.level_name,
            started_at=self.started_at,
            due_at=self.due_at if self.state != "paused" else None,
            stopped_at=self.stopped_at,
            elapsed_seconds=self.elapsed(now),
            target_seconds=self.target,
            breached_at=self.breached_at,
            acknowledged_at=self.acknowledged_at,
            server_id=self.server_id,
            component=self.component,
        )


class _Ticket:
    """The simulation of one ticket: events applied in order, timers fired between them."""

    def __init__(self, catalog: Catalog, plans: Sequence[tuple[int, SupportPlanChanged]]) -> None:
        self.catalog = catalog
        self.plans = plans
        self.calendars: dict[tuple[str, Metric, str, str], Calendar] = {}
        self.clocks: list[_Clock] = []
        self.effects: list[Effect] = []
        self.rejected: list[Rejection] = []
        self.opened: TicketOpened | None = None
        self.ticket_id = ""
        self.customer_id = ""
        self.level_name = DEFAULT_LEVEL
        self.severity: Severity = "low"
        self.status: Status = "open"
        self.opened_at = 0
        self.status_since = 0
        self.surveyed = False
        self.now = 0

    # -- plans and calendars ------------------------------------------------------------------------------

    def plan_at(self, instant: int) -> Plan:
        plan = Plan()
        for at, change in self.plans:
            if at > instant:
                break
            plan = Plan(
                support_level=change.support_level,
                timezone=change.timezone or plan.timezone,
                country=change.country or plan.country,
                locale=change.locale or plan.locale,
                contact_email=change.contact_email or plan.contact_email,
            )
        return plan

    def calendar(self, plan: Plan, metric: Metric) -> Calendar:
        key = (plan.support_level, metric, plan.timezone, plan.country)
        found = self.calendars.get(key)
        if found is None:
            schedule = schedule_for(self.catalog, plan.support_level, metric, plan.timezone, plan.country)
            found = self.calendars[key] = compile_schedule(schedule)
        return found

    def start_clock(
        self, metric: Metric, at: int, component: Component | None = None, server_id: str | None = None
    ) -> _Clock | None:
        plan = self.plan_at(at)
        level = self.catalog.level(plan.support_level)
        target = level.target(metric, self.severity, component)
        if target is None:
            return None
        cycle = 1 + sum(1 for c in self.clocks if c.metric == metric)
        clock = _Clock(metric, cycle, plan.support_level, level, self.calendar(plan, metric), at, target)
        clock.server_id, clock.component = server_id, component
        if metric in PAUSABLE_METRICS and self.status == "pending_customer":
            self.pause(clock, at)
        self.clocks.append(clock)
        return clock

    # -- timers -------------------------------------------------------------------------------------------

    def advance(self, limit: int, inclusive: bool) -> None:
        """Fire, in time order, every timer due before `limit` (or at it, when `inclusive`)."""
        while True:
            best: tuple[int, int, int, _Clock, float] | None = None
            for index, clock in enumerate(self.clocks):
                for at, rank, arg in self.timers(clock):
                    candidate = (at, index, rank, clock, arg)
                    if best is None or candidate[:3] < best[:3]:
                        best = candidate
            if best is None or best[0] > limit or (best[0] == limit and not inclusive):
                return
            at, _, rank, clock, arg = best
            self.now = max(self.now, at)
            if rank == 0:
                self.warn(clock, arg, at)
            elif rank == 1:
                self.breach(clock, at)
            else:
                self.page(clock, int(arg), at)

    def timers(self, clock: _Clock) -> Iterable[tuple[int, int, float]]:
        """(instant, rank, argument): warnings rank 0, breach 1, ladder steps 2."""
        if clock.state == "running" and clock.due_at is not None:
            for at, fraction in clock.warn_times:
                yield at, 0, fraction
            yield clock.due_at, 1, 0.0
        elif clock.state == "breached" and clock.open and clock.acknowledged_at is None:
            assert clock.breached_at is not None
            step = len(clock.paged)
            if step < len(clock.level.ladder):
                yield clock.breached_at + step * clock.level.ack_timeout, 2, float(step)

    def warn(self, clock: _Clock, fraction: float, at: int) -> None:
        clock.warned.add(fraction)
        clock.warn_times = [(t, f) for t, f in clock.warn_times if f != fraction]
        self.alert(clock, "warning", WARNING_ROUTE, at, f"warning:{fraction:g}", fraction=fraction)

    def breach(self, clock: _Clock, at: int) -> None:
        clock.state = "breached"
        clock.breached_at = at
        clock.warn_times = []
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
        self.alert(clock, "trigger", route, at, f"trigger:{step}", step=step)

    def alert(
        self,
        clock: _Clock,
        kind: str,
        route: str,
        at: int,
        suffix: str,
        step: int = 0,
        fraction: float | None = None,
    ) -> None:
        self.effects.append(
            Alert(
                effect_id=f"{self.ticket_id}:{clock.metric}:{clock.cycle}:{suffix}",
                at=at,
                ticket_id=self.ticket_id,
                metric=clock.metric,
                cycle=clock.cycle,
                kind=kind,  # type: ignore[arg-type]
                route=route,
                dedup_key=clock.dedup_key(self.ticket_id),
                step=step,
                fraction=fraction,
                due_at=clock.due_at,
                support_level=clock.level_name,
            )
        )

    def notify(self, kind: NotificationKind, at: int, suffix: str, **data: str | int | None) -> None:
        plan = self.plan_at(at)
        self.effects.append(
            Notification(
                effect_id=f"{self.ticket_id}:notify:{kind}:{suffix}",
                at=at,
                ticket_id=self.ticket_id,
                customer_id=self.customer_id,
                kind=kind,
                locale=plan.locale,
                timezone=plan.timezone,
                contact_email=plan.contact_email,
                data={"support_level": plan.support_level, **data},
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
        if clock.state == "breached":
            for route in clock.paged:
                self.alert(clock, "resolve", route, at, f"resolve:{route}")
        else:
            clock.state = outcome
        clock.warn_times = []

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
        self.now = max(self.now, at)
        if isinstance(event, TicketOpened):
            self.open_ticket(event, at)
            return
        if self.opened is None:
            self.reject(event, "ticket_id: the ticket was not opened before this event")
            return
        owner = getattr(event, "customer_id", None)
        if owner is not None and owner != self.customer_id:
            self.reject(event, "customer_id: the ticket belongs to another customer")
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
        if self.opened is not None:
            self.reject(event, f"ticket_id: the ticket was already opened by event {self.opened.event_id}")
            return
        self.opened = event
        self.customer_id = event.customer_id
        self.severity = event.severity
        self.opened_at = self.status_since = at
        self.level_name = self.plan_at(at).support_level
        first = self.start_clock("first_response", at)
        self.start_clock("resolution", at)
        self.notify("acknowledged", at, "1", due_at=first.due_at if first else None, severity=self.severity)

    def message(self, event: TicketMessagePosted, at: int) -> None:
        if event.visibility != "public":
            return
        if event.author == "agent":
            for clock in self.clocks:
                if clock.metric in ("first_response", "next_response") and clock.open:
                    self.stop(clock, at, "met")
            return
        responded = any(c.metric == "first_response" and not c.open for c in self.clocks)
        owed = any(c.metric in ("first_response", "next_response") and c.open for c in self.clocks)
        if responded and not owed:
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
            elif status == "pending_customer":
                self.pause(clock, at)
            elif clock.metric == "resolution" and status == "resolved":
                self.stop(clock, at, "met")
            elif clock.metric == "resolution" and previous == "resolved" and clock.state == "met":
                self.reopen(clock, at)
            else:
                self.resume(clock, at)
        if status == "resolved" and not self.surveyed:
            self.surveyed = True
            self.notify("survey", at, "1")

    def reopen(self, clock: _Clock, at: int) -> None:
        """A reopened ticket resumes its resolution clock with the time it had: resolved time is a pause."""
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
            if clock.elapsed(at) > target or (clock.due_at is not None and clock.due_at < at):
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
        times = [at for clock in self.clocks for at, _, _ in self.timers(clock)]
        return min(times, default=None)


def fold(
    ticket_id: str,
    events: Iterable[AnyTicketEvent],
    plan_changes: Iterable[SupportPlanChanged],
    catalog: Catalog,
    now: int,
) -> Folded:
    """Fold a ticket's events (any order, any repetition) and its customer's plan changes up to `now`.

    Events of other tickets, and events after `now`, are not applied: the result is what the engine knows
    at `now`. `now` is epoch seconds; the fold never reads the system clock.
    """
    unique = {e.event_id: e for e in events if e.ticket_id == ticket_id}
    ordered = sorted(unique.values(), key=lambda e: e.order_key())
    plans = {p.event_id: p for p in plan_changes if p.support_level in catalog.levels}
    timed_plans = sorted(
        ((to_epoch(p.occurred_at), p) for p in plans.values()), key=lambda x: x[1].order_key()
    )
    ticket = _Ticket(catalog, timed_plans)
    ticket.ticket_id = ticket_id
    for event in ordered:
        at = to_epoch(event.occurred_at)
        if at > now:
            break
        ticket.advance(at, inclusive=False)
        ticket.apply(event, at)
    ticket.advance(now, inclusive=True)
    effects = sorted(ticket.effects, key=lambda e: e.at)
    return Folded(ticket.freeze(now), tuple(effects), ticket.next_due(), tuple(ticket.rejected))
