"""What a fold returns: the ticket's state at `now`, its effects and what is settled (sla.fold makes it).

Apart from the simulation that makes it, as the store, the KPIs, the queue and the views read it and need
nothing of how it was made.
"""

from __future__ import annotations

from dataclasses import dataclass

from sla.clocks import Clock
from sla.effects import Effect
from sla.kpi_facts import TicketFacts
from sla.vocabulary import Metric, Severity, Status


@dataclass(frozen=True, slots=True)
class TicketState:
    ticket_id: str
    customer_id: str
    support_level: str
    severity: Severity
    status: Status
    opened_at: int
    clocks: tuple[Clock, ...]
    line: str | None = None  # the support line the ticket is at: the catalog's entry_line, then escalations


@dataclass(frozen=True, slots=True)
class Rejection:
    event_id: str
    reason: str


@dataclass(frozen=True, slots=True)
class Folded:
    """The ticket at `now`: its state, every effect due so far, the next instant something may fire.

    `settled` names the clocks (by `clock_key`) that will never produce another effect from the events
    folded here: stopped, with nothing pending. A store may forget their effect ids and keep only their keys.
    `facts` is what the KPIs read beside the clocks (replies, ratings, statuses; sla.kpi_facts).
    """

    state: TicketState | None
    effects: tuple[Effect, ...]
    next_due: int | None
    rejected: tuple[Rejection, ...]
    settled: frozenset[str] = frozenset()
    facts: TicketFacts | None = None


def clock_key(ticket_id: str, metric: Metric, cause: str) -> str:
    """A clock's identity, by the event that started it; also its alerts' dedup key."""
    return f"{ticket_id}/{metric}/{cause}"
