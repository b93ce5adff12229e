"""What a ticket owes next, and where that puts it in the agents' queue (SPEC section 8).

The queue is read from an index ordered by one sort key, so the whole order of the SPEC (breached first,
most overdue first, then by due time, then the higher level, then the ticket id) has to be a property of
the key alone: a breached clock's due time is in the past, so ordering by due time already puts breached
tickets first, the most overdue first. The level's rank comes from the SPEC's own order (enterprise,
business, premium, standard), not from the catalog: the key is written by every commit, which has no
catalog at hand, and must not change meaning when an operator reorders the catalog's levels. A level the
SPEC does not name (an operator's own) ranks after the four.

An entry carries what a reader needs to say how much working time is left at the moment it reads, without
folding the ticket: the owed clock's due instant and the identity of its calendar (`sla.fold.counting_calendar`).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from sla.calendar import Calendar
from sla.clocks import Clock
from sla.folded import TicketState
from sla.vocabulary import Metric, Severity

LEVEL_ORDER: tuple[str, ...] = ("enterprise", "business", "premium", "standard")
"""SPEC section 8: enterprise before business before premium before standard."""

_DUE_DIGITS = 12  # epoch seconds up to year 33658: the contract's instants all fit
SORT_KEY = re.compile(r"^(?P<due>\d{12})#(?P<rank>\d{2})#(?P<ticket>.+)$")


def owed(state: TicketState) -> Clock | None:
    """The clock a ticket owes soonest: running (or breached and still counting), not paused, not stopped.

    None when nothing is counting: a closed ticket, one that was answered, or one whose clocks are paused
    while it waits on the customer. Ties on the due instant go to the metric, then the cycle, so the choice
    never depends on the order the clocks were started in. A line's pickup (SPEC section 10) is an
    agreement between lines, not a promise to the customer: it is not what the ticket owes."""
    counting = [
        clock
        for clock in state.clocks
        if clock.stopped_at is None
        and clock.state in ("running", "breached")
        and clock.due_at is not None
        and clock.metric != "line_pickup"
    ]
    return min(counting, key=lambda c: (c.due_at, c.metric, c.cycle), default=None)


def level_rank(level: str) -> int:
    """0 for enterprise, 3 for standard, 4 for a level the SPEC does not name."""
    return LEVEL_ORDER.index(level) if level in LEVEL_ORDER else len(LEVEL_ORDER)


def queue_sort_key(due_at: int, rank: int, ticket_id: str) -> str:
    """One string whose order is the queue's order; fixed width, so string order is number order."""
    return f"{max(due_at, 0):0{_DUE_DIGITS}d}#{rank:02d}#{ticket_id}"


def is_sort_key(text: str) -> bool:
    return SORT_KEY.fullmatch(text) is not None


@dataclass(frozen=True, slots=True)
class QueueEntry:
    """A ticket in the agents' queue: the ticket's attributes, the clock it owes and where it is counted.

    `breached` is the clock's state at the last commit; a reader also calls an entry breached once its due
    instant is past (the sweeper fires the breach within the minute). `clock_level`, `started_at`,
    `timezone` and `country` name the owed clock's calendar, which may differ from the ticket's current
    level (a running clock keeps the level it started with).
    """

    ticket_id: str
    customer_id: str
    support_level: str
    severity: Severity
    line: str | None
    metric: Metric
    cycle: int
    due_at: int
    breached: bool
    clock_level: str
    started_at: int
    timezone: str
    country: str

    @property
    def sort_key(self) -> str:
        return queue_sort_key(self.due_at, level_rank(self.support_level), self.ticket_id)

    def breached_at(self, now: int) -> bool:
        """Breached as of `now`: a breach fires once `now` is past the due instant (sla.fold)."""
        return self.breached or now > self.due_at


def queue_entry(state: TicketState) -> QueueEntry | None:
    """The ticket's entry in the queue (in its line's), or None when it owes nothing (it is then out)."""
    clock = owed(state)
    if clock is None or clock.due_at is None:
        return None
    return QueueEntry(
        ticket_id=state.ticket_id,
        customer_id=state.customer_id,
        support_level=state.support_level,
        severity=state.severity,
        line=state.line,
        metric=clock.metric,
        cycle=clock.cycle,
        due_at=clock.due_at,
        breached=clock.state == "breached",
        clock_level=clock.support_level,
        started_at=clock.started_at,
        timezone=clock.timezone,
        country=clock.country,
    )


def remaining_seconds(calendar: Calendar, due_at: int, now: int) -> int:
    """Working time left until `due_at` at `now`; negative once past it, counting the working time since.

    For a clock that runs unpaused until its due instant (what the queue holds) this is its target less
    its elapsed working time, as JSM shows it, computed from the calendar alone."""
    if now <= due_at:
        return calendar.within(now, due_at)
    return -calendar.within(due_at, now)
