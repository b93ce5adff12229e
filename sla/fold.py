"""The fold of a ticket's events into its SLA state and effects: a discrete-event simulation of the ticket.

Events are applied in the total order of SPEC section 5, and between two events the clocks' own timers
(warnings, breaches, ladder steps) fire in time order, so the result depends only on the set of events and
on `now`, never on the order or number of deliveries. At one instant events come before timers: an answer
at exactly the due time meets the clock, an acknowledgement at exactly a ladder step stops it. A timer fires
only once `now` is past its instant, so every event stamped at that instant is known before it fires.

A clock is named by the event that started it (SPEC section 4), so an event that arrives late and inserts an
earlier cycle never renames a later one: effect ids and alert dedup keys stay what they were when delivered.
What was delivered and is no longer supported by the events (a page for a breach that a late reply undid)
is closed by the fold itself: it is told the pages still open and resolves those without a breach.
"""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import replace
from heapq import heappop, heappush
from operator import attrgetter

from sla.calendar import (
    Calendar,
)
from sla.catalog import DEFAULT_LEVEL, Catalog
from sla.clocks import (
    ALWAYS,
    BREACH,
    DEFAULT_PLAN,
    WARN,
    Plan,
    RunningClock,
    calendar_for,
    plans_in_force,
)
from sla.duty import paged_route
from sla.effects import Alert, AlertKind, Effect, Notification, NotificationKind
from sla.event_order import in_order
from sla.events import (
    AlertAcknowledged,
    AnyTicketEvent,
    HardwareReplacementCompleted,
    HardwareReplacementRequested,
    SatisfactionRated,
    SupportPlanChanged,
    TicketEscalated,
    TicketEvent,
    TicketLinkedToIncident,
    TicketMessagePosted,
    TicketOpened,
    TicketSeverityChanged,
    TicketStatusChanged,
)
from sla.folded import Folded, Rejection, TicketState, clock_key
from sla.kpi_facts import FactsRecorder
from sla.limited import limited_level, limited_period
from sla.lines import pickup_calendar, pickup_level, unknown_line
from sla.vocabulary import ClockState, Component, Metric, Severity, Status

WARNING_ROUTE = "oncall-l2"
APOLOGY_GRACE = 300
"""Seconds a breach waits before the customer's apology goes out: a reply stamped before the due time that
reaches the engine a little late undoes the breach, and an apology already sent cannot be taken back."""
APOLOGY_METRICS: frozenset[Metric] = frozenset({"first_response", "hardware_replacement"})
RETARGETED_METRICS: frozenset[Metric] = frozenset({"first_response", "next_response", "resolution"})
PAUSABLE_METRICS: frozenset[Metric] = frozenset({"resolution", "hardware_replacement"})
RESPONSE_METRICS: frozenset[Metric] = frozenset({"first_response", "next_response"})


class Simulation:
    """The simulation of one ticket: events applied in order, timers fired between them.

    `open` holds the clocks not yet stopped, in start order: only they can fire, meet, pause or be
    acknowledged, so each event and each timer looks at them, not at every cycle the ticket ever had, and
    a long conversation folds in time linear in its events.

    `reached`: every timer due before it has fired. Only `play` and `result` move it, and only forward, so a
    simulation kept after one fold resumes for the next (sla.fold_cache) when what it is told next all
    comes at or after it: the state it reaches is the one a fold from scratch would reach.
    """

    def __init__(
        self,
        catalog: Catalog,
        plans: Sequence[tuple[int, SupportPlanChanged]],
        delivered: Mapping[str, Sequence[str]],
        withdrawn: Mapping[str, int],
    ) -> None:
        self.catalog = catalog
        self.plan_instants, self.plans = plans_in_force(plans)
        self.delivered = delivered
        self.withdrawn = withdrawn
        self.clocks: list[RunningClock] = []
        self.open: list[RunningClock] = []
        self.resolution: RunningClock | None = None
        self.apologies: list[tuple[int, int, RunningClock]] = []  # a heap of (instant, start order, clock)
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
        self.facts = FactsRecorder()
        self.line: str | None = None  # SPEC section 10: the catalog's entry_line, then each escalation's
        self.pickup: RunningClock | None = None  # the current line's pickup clock, if its line has a target
        self.reached = 0

    # -- plans and clocks ---------------------------------------------------------------------------------

    def plan_at(self, instant: int) -> Plan:
        """The plan in force at `instant`: a change at the same instant as an event already applies to it."""
        index = bisect_right(self.plan_instants, instant)
        return self.plans[index - 1] if index else DEFAULT_PLAN

    def start_clock(
        self,
        metric: Metric,
        at: int,
        cause: str,
        component: Component | None = None,
        server_id: str | None = None,
        line: str | None = None,
    ) -> RunningClock | None:
        plan = self.plan_at(at)
        catalog = self.catalog.at(at)  # the catalog version in force when the clock starts, kept for good
        if plan.support_level not in catalog.levels:
            plan = replace(plan, support_level=DEFAULT_LEVEL)  # a level sold before its version took effect
        level = catalog.level(plan.support_level)
        calendar: Calendar | None = None
        if line is not None:  # a line's pickup (sla.lines): its target, its hours, its route
            spec = catalog.lines[line]
            level, calendar = pickup_level(level, spec), pickup_calendar(catalog, spec)
            target: int | None = spec.pickup
        else:
            period = limited_period(catalog, plan.support_level, metric, at)
            if period is not None:  # limited support (sla.limited): the period's targets, 24/7
                level, calendar = limited_level(level, period), ALWAYS
            target = level.target(metric, self.severity, component)
        if target is None:
            return None
        cycle = self.cycles[metric] = self.cycles.get(metric, 0) + 1
        clock = RunningClock(
            metric,
            cycle,
            clock_key(self.ticket_id, metric, cause),
            cause,
            plan.support_level,
            level,
            calendar if calendar is not None else calendar_for(catalog, plan, metric),
            at,
            target,
        )
        clock.server_id, clock.component, clock.plan, clock.line = server_id, component, plan, line
        if metric in PAUSABLE_METRICS and self.status == "pending_customer":
            self.pause(clock, at)
        self.clocks.append(clock)
        self.open.append(clock)
        return clock

    # -- timers -------------------------------------------------------------------------------------------

    def advance(self, limit: int, inclusive: bool) -> None:
        """Fire, in time order, every timer due before `limit` (or at it, when `inclusive`)."""
        clocks = self.open
        apologies = self.apologies
        while True:
            # The next clock timer, inlined: this runs before every event, and most often finds nothing due.
            clock: RunningClock | None = None
            at = 0
            for candidate in clocks:
                timers = candidate.timers
                if timers and (clock is None or timers[0][0] < at):
                    clock, at = candidate, timers[0][0]
            if apologies and (clock is None or apologies[0][0] < at):
                at = apologies[0][0]
                if at > limit or (at == limit and not inclusive):
                    return
                self.apologise(heappop(apologies)[2], at)
                continue
            if clock is None or at > limit or (at == limit and not inclusive):
                return
            _, rank, arg = clock.timers[0]
            if rank == WARN:
                self.warn(clock, arg, at)
            elif rank == BREACH:
                self.breach(clock, at)
            else:
                self.page(clock, int(arg), at)

    def warn(self, clock: RunningClock, fraction: float, at: int) -> None:
        clock.warned.add(fraction)
        del clock.timers[0]
        self.alert(clock, "warning", WARNING_ROUTE, at, f"warning:{fraction:g}", fraction=fraction)

    def breach(self, clock: RunningClock, at: int) -> None:
        clock.state = "breached"
        clock.breached_at = at
        clock.schedule_ladder()
        if clock.metric in APOLOGY_METRICS:
            heappush(self.apologies, (at + APOLOGY_GRACE, len(self.apologies), clock))

    def apologise(self, clock: RunningClock, at: int) -> None:
        self.notify(
            "breach_apology",
            at,
            f"{clock.metric}:{clock.cause}",
            clock.key,
            metric=clock.metric,
            due_at=clock.due_at,
            server_id=clock.server_id,
            component=clock.component,
        )

    def page(self, clock: RunningClock, step: int, at: int) -> None:
        route = clock.level.ladder[step]
        paged = paged_route(self.catalog, route, at)  # SPEC section 6: off duty, the route's fallback
        clock.paged.append(paged)
        clock.schedule_ladder()
        # A late event that moves the breach may move the step to an instant of another duty: a page to
        # another route is another page (its own effect), so that every route resolved was paged.
        suffix = f"trigger:{step}" if paged == route else f"trigger:{step}:{paged}"
        self.alert(clock, "trigger", route, at, suffix, step=step, paged=paged)

    def alert(
        self,
        clock: RunningClock,
        kind: AlertKind,
        route: str,
        at: int,
        suffix: str,
        step: int = 0,
        fraction: float | None = None,
        paged: str | None = None,
    ) -> None:
        """An alert for `route`, delivered to `paged` (where coverage sends it at `at`). A warning's is
        decided here; a trigger's by `page`, which records it; an acknowledge or resolve goes to a route
        that was actually paged, so `route` is already where it goes."""
        # Positional, in the field order of Alert and Notification (the tests check every field's value):
        # effects are most of what a fold allocates, and keywords cost a third more.
        if paged is None:
            paged = paged_route(self.catalog, route, at) if kind == "warning" else route
        key = clock.key
        if kind != "warning" and self.withdrawn:
            suffix = _generation(suffix, self.withdrawn.get(key, 0))
        self.effects.append(
            Alert(
                f"{self.ticket_id}:{clock.metric}:{clock.cause}:{suffix}",  # effect_id
                at,
                self.ticket_id,
                clock.metric,
                clock.cycle,
                kind,
                route,
                key,  # dedup_key: stable per clock, across every step and every late event
                step,
                fraction,
                clock.due_at,
                clock.level_name,  # support_level
                key,
                paged,  # paged_route
            )
        )

    def notify(
        self, kind: NotificationKind, at: int, suffix: str, key: str | None, **data: str | int | None
    ) -> None:
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
                key,
            )
        )

    def paged_routes(self, clock: RunningClock) -> list[str]:
        """The routes this clock's breach paged: by this fold, and by earlier deliveries it no longer makes."""
        # Two steps may have fallen back to the same route: it is acknowledged and resolved once.
        return list(dict.fromkeys([*clock.paged, *self.delivered.get(clock.key, ())]))

    # -- clock transitions --------------------------------------------------------------------------------

    def stop(self, clock: RunningClock, at: int, outcome: ClockState) -> None:
        """Meet or cancel a clock; a breached one stays breached and its pages are resolved."""
        if not clock.open:
            return
        if clock.paused_since is not None:
            clock.pauses.append((clock.paused_since, at))
            clock.paused_since = None
        clock.stopped_at = at
        clock.timers = []
        self.open.remove(clock)
        if clock.state == "breached":
            for route in self.paged_routes(clock):
                self.alert(clock, "resolve", route, at, f"resolve:{route}")
        else:
            clock.state = outcome

    def pause(self, clock: RunningClock, at: int) -> None:
        if clock.state == "running":
            clock.state = "paused"
            clock.paused_since = at
            clock.retime(at)

    def resume(self, clock: RunningClock, at: int) -> None:
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
            self.reject(event, "customer_id: not the ticket's owner (the customer of its Ticket Opened)")
            return
        if isinstance(event, TicketOpened):
            self.reject(event, f"ticket_id: the ticket was already opened by event {self.opened.event_id}")
            return
        if self.status == "closed" and not isinstance(event, AlertAcknowledged | SatisfactionRated):
            self.reject(event, "ticket_id: the ticket is closed")  # a survey is often answered after closing
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
        elif isinstance(event, SatisfactionRated):
            self.facts.rate(at, event.rating)  # feeds CSAT only: a rating starts and stops no clock
        elif isinstance(event, TicketEscalated):
            self.escalate(event, at)
        elif isinstance(event, TicketLinkedToIncident):
            pass  # checked above (opened, owner, not closed); its pages and notices are sla.incidents'
        else:
            self.acknowledge(event, at)

    def escalate(self, event: TicketEscalated, at: int) -> None:
        """SPEC section 10: the ticket moves to another line; the previous line's pickup, if still running,
        is cancelled, and a line with a pickup target starts one, named by this escalation."""
        catalog = self.catalog.at(at)
        problem = unknown_line(catalog, event.to_line, self.line)
        if problem is not None:
            self.reject(event, problem)
            return
        if self.pickup is not None:
            self.stop(self.pickup, at, "cancelled")  # a no-op once met, or stopped by the close
        self.line = event.to_line
        self.facts.escalate(at, event.to_line)
        self.pickup = None
        if catalog.lines[event.to_line].pickup is not None:
            self.pickup = self.start_clock("line_pickup", at, event.event_id, line=event.to_line)

    def reject(self, event: TicketEvent | AlertAcknowledged, reason: str) -> None:
        self.rejected.append(Rejection(event.event_id, reason))

    def open_ticket(self, event: TicketOpened, at: int) -> None:
        self.opened = event
        self.customer_id = event.customer_id
        self.severity = event.severity
        self.opened_at = at
        self.level_name = self.plan_at(at).support_level
        self.line = self.catalog.at(at).entry_line
        first = self.start_clock("first_response", at, event.event_id)
        self.facts.open(at, event.severity, first.calendar if first else None)
        self.resolution = self.start_clock("resolution", at, event.event_id)
        period = limited_period(self.catalog.at(at), self.level_name, "first_response", at)
        limited = {"limited_until": int(period.ends.timestamp())} if period is not None else {}
        self.notify(
            "acknowledged",
            at,
            "1",
            None,
            due_at=first.due_at if first else None,
            severity=self.severity,
            **limited,
        )

    def message(self, event: TicketMessagePosted, at: int) -> None:
        # A holding reply ("we are on it") is a public agent message: it meets the response clocks as SPEC
        # section 4 says; only the useful-response figure (section 9) waits for an answer.
        if event.author == "agent":
            self.facts.reply(event, at)
            pickup = self.pickup
            if pickup is not None and event.line is not None and event.line == pickup.line:
                self.stop(pickup, at, "met")  # any message of that line, internal notes included
        if event.visibility != "public":
            return
        if event.author == "agent":
            for clock in [c for c in self.open if c.metric in RESPONSE_METRICS]:
                self.stop(clock, at, "met")
            return
        if any(c.metric in RESPONSE_METRICS for c in self.open):
            return  # a reply is still owed: this message waits for the same one
        if self.cycles.get("first_response") or self.cycles.get("next_response"):
            self.start_clock("next_response", at, event.event_id)

    def change_status(self, status: Status, at: int) -> None:
        previous, self.status = self.status, status
        if status == previous:
            return
        self.facts.status(at, status)
        resolution = self.resolution
        if (
            resolution is not None
            and previous == "resolved"
            and resolution.state == "met"
            and status != "closed"
        ):
            self.reopen(resolution, at)
        for clock in list(self.open):
            if status == "closed":
                self.stop(clock, at, "cancelled")
            elif clock.metric not in PAUSABLE_METRICS:
                continue
            elif clock.metric == "resolution" and status == "resolved":
                self.stop(clock, at, "met")
            elif status == "pending_customer":
                self.pause(clock, at)
            else:
                self.resume(clock, at)
        if status == "resolved" and not self.surveyed:
            self.surveyed = True
            self.notify("survey", at, "1", None)

    def reopen(self, clock: RunningClock, at: int) -> None:
        """A reopened ticket resumes its resolution clock with the time it had: resolved time is a pause.

        Reopening to `pending_customer` reopens it too, paused at once: the ticket is no longer resolved.
        """
        clock.reopen(at)
        self.open.append(clock)

    def change_severity(self, severity: Severity, at: int) -> None:
        self.severity = severity
        self.facts.severity(at, severity)
        for clock in self.open:
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
        if any(self.same_part(c, event) for c in self.open):
            self.reject(event, "component: a replacement of this component is already under way")
            return
        clock = self.start_clock("hardware_replacement", at, event.event_id, event.component, event.server_id)
        assert clock is not None
        self.notify(
            "hardware_scheduled",
            at,
            clock.cause,
            clock.key,
            due_at=clock.due_at,
            server_id=event.server_id,
            component=event.component,
        )

    def complete_hardware(self, event: HardwareReplacementCompleted, at: int) -> None:
        clock = next((c for c in self.open if self.same_part(c, event)), None)
        if clock is None:
            self.reject(event, "component: no replacement of this component is under way")
            return
        self.stop(clock, at, "met")
        self.notify(
            "hardware_completed",
            at,
            clock.cause,
            clock.key,
            server_id=event.server_id,
            component=event.component,
        )

    @staticmethod
    def same_part(
        clock: RunningClock, event: HardwareReplacementRequested | HardwareReplacementCompleted
    ) -> bool:
        return (
            clock.metric == "hardware_replacement"
            and clock.server_id == event.server_id
            and clock.component == event.component
        )

    def acknowledge(self, event: AlertAcknowledged, at: int) -> None:
        breached = [
            c
            for c in self.open
            if c.metric == event.metric and c.state == "breached" and c.acknowledged_at is None
        ]
        if not breached:
            self.reject(event, f"metric: no unacknowledged breach of {event.metric} on this ticket")
            return
        clock = breached[-1]
        clock.acknowledged_at = at
        clock.schedule_ladder()
        for route in self.paged_routes(clock):
            self.alert(clock, "acknowledge", route, at, f"acknowledge:{route}")

    # -- what was delivered and is no longer supported ----------------------------------------------------

    def close_orphans(self, now: int) -> list[Alert]:
        """Resolve the delivered pages of clocks that, as the events now stand, never breached.

        A clock still undecided keeps its page open (it may yet breach, under the same dedup key); one that
        breached resolves its pages itself when it stops. One met or cancelled without a breach, or gone
        (a late event merged its cycle into an earlier one), has its pages resolved here, at `now`: the
        resolve is decided by this fold, after the page it closes went out.
        """
        if not self.delivered:
            return []
        closing: list[Alert] = []
        by_key = {clock.key: clock for clock in self.clocks}
        for key, routes in self.delivered.items():
            clock = by_key.get(key)
            if clock is not None and (clock.state == "breached" or clock.stopped_at is None):
                continue
            at = now  # decided now, after the page it closes, whenever the clock stopped
            metric, cause = _parse_key(self.ticket_id, key)
            for route in routes:
                closing.append(
                    Alert(
                        f"{self.ticket_id}:{metric}:{cause}:{_generation(f'resolve:{route}', self.withdrawn.get(key, 0))}",
                        at,
                        self.ticket_id,
                        metric,
                        clock.cycle if clock is not None else 0,
                        "resolve",
                        route,
                        key,
                        0,
                        None,
                        clock.due_at if clock is not None else None,
                        clock.level_name if clock is not None else "",
                        key,
                        route,  # paged_route: the delivered route it closes
                    )
                )
        return closing

    def settled(self) -> frozenset[str]:
        """Clocks that cannot produce another effect from these events: stopped, no apology pending."""
        pending = {clock.key for _, _, clock in self.apologies}
        closed = self.status == "closed"  # until then a met resolution clock resumes if the ticket reopens
        return frozenset(
            c.key
            for c in self.clocks
            if c.stopped_at is not None and c.key not in pending and (closed or c.metric != "resolution")
        )

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
            line=self.line,
        )

    def next_due(self) -> int | None:
        """The first instant at which a fold would fire something: one second after the earliest timer."""
        instants = [c.timers[0][0] for c in self.open if c.timers]
        if self.apologies:
            instants.append(self.apologies[0][0])
        return min(instants) + 1 if instants else None

    # -- running it -----------------------------------------------------------------------------------------

    def play(self, ordered: Iterable[tuple[int, AnyTicketEvent]], now: int) -> int | None:
        """Apply `ordered` (in event order, none before `reached`) up to `now`; the instant of the first one
        after `now`, which waits: an event stamped after `now` (a skewed clock) is applied when its time comes."""
        for at, event in ordered:
            if at > now:
                return at
            self.advance(at, inclusive=False)
            self.reached = at
            self.apply(event, at)
        return None

    def retell(self, delivered: Mapping[str, Sequence[str]], withdrawn: Mapping[str, int]) -> bool:
        """Take the pages delivered and withdrawn since, unless what was simulated so far read what changed
        (then False, and nothing is taken). A clock reads its delivered routes when it is stopped after its
        breach or acknowledged, and never pages again after that; it reads its withdrawals only for the
        alerts of a breach, which it keeps once it has one."""
        if delivered == self.delivered and withdrawn == self.withdrawn:
            return True  # most often: nothing was paged or withdrawn since
        clocks = {clock.key: clock for clock in self.clocks}
        for key in _changed(self.delivered, delivered):
            clock = clocks.get(key)
            if clock is None or {*self.delivered.get(key, ()), *delivered.get(key, ())} <= {*clock.paged}:
                continue  # not read, or read with the same answer: the routes it paged itself
            if clock.acknowledged_at is not None or (
                clock.state == "breached" and clock.stopped_at is not None
            ):
                return False
        for key in _changed(self.withdrawn, withdrawn):
            clock = clocks.get(key)
            if clock is not None and clock.breached_at is not None:
                return False
        self.delivered, self.withdrawn = delivered, withdrawn
        return True

    def result(self, now: int, future: int | None) -> Folded:
        """The fold at `now`. Reading it changes nothing but the timers fired before `now`."""
        self.advance(now, inclusive=False)  # what is due at `now` waits for every event stamped at `now`
        self.reached = max(self.reached, now)
        effects = sorted([*self.effects, *self.close_orphans(now)], key=_AT)
        due = min((t for t in (self.next_due(), future) if t is not None), default=None)
        facts = self.facts.freeze() if self.opened is not None else None
        return Folded(self.freeze(now), tuple(effects), due, tuple(self.rejected), self.settled(), facts)


def _changed(before: Mapping[str, object], after: Mapping[str, object]) -> list[str]:
    return [key for key in {*before, *after} if before.get(key) != after.get(key)]


def _generation(suffix: str, withdrawn: int) -> str:
    """A page's effect id after its clock's pages were withdrawn `withdrawn` times: a breach that a late event
    undid and a later one brought back pages again, under the same dedup key but as new effects."""
    return f"{suffix}@{withdrawn}" if withdrawn else suffix


def _parse_key(ticket_id: str, key: str) -> tuple[Metric, str]:
    metric, _, cause = key.removeprefix(f"{ticket_id}/").partition("/")
    return metric, cause  # type: ignore[return-value]  # keys are only ever made by clock_key


_AT = attrgetter("at")


def owner_of(ordered: Iterable[tuple[int, AnyTicketEvent]]) -> str | None:
    """The ticket's owner: the customer of its first Ticket Opened in event order."""
    return next((e.customer_id for _, e in ordered if isinstance(e, TicketOpened)), None)


def simulation(
    ticket_id: str,
    owner: str | None,
    plan_changes: Iterable[SupportPlanChanged],
    catalog: Catalog,
    delivered: Mapping[str, Sequence[str]],
    withdrawn: Mapping[str, int],
) -> Simulation:
    """A ticket's simulation before its first event: the owner's plan changes, of levels the catalog knows."""
    levels = {name for version in catalog.versions for name in version.levels}
    plans = in_order([p for p in plan_changes if p.customer_id == owner and p.support_level in levels])
    ticket = Simulation(catalog, plans, delivered, withdrawn)
    ticket.ticket_id = ticket_id
    return ticket


def fold(
    ticket_id: str,
    events: Iterable[AnyTicketEvent],
    plan_changes: Iterable[SupportPlanChanged],
    catalog: Catalog,
    now: int,
    delivered: Mapping[str, Sequence[str]] | None = None,
    withdrawn: Mapping[str, int] | None = None,
) -> Folded:
    """Fold a ticket's events (any order, any repetition) and its customer's plan changes up to `now`.

    Events of other tickets, and events after `now`, are not applied: the result is what the engine knows
    at `now`. `now` is epoch seconds; the fold never reads the system clock. Only the plan changes of the
    ticket's owner count, so a caller that hands over another customer's changes cannot re-target a clock.
    `delivered` maps a clock key to the routes its pages were delivered to and not yet resolved; `withdrawn`
    a clock key to the number of times its delivered pages were resolved because its breach was undone.
    """
    ordered = in_order([e for e in events if e.ticket_id == ticket_id])
    ticket = simulation(ticket_id, owner_of(ordered), plan_changes, catalog, delivered or {}, withdrawn or {})
    future = ticket.play(ordered, now)
    return ticket.result(now, future)
