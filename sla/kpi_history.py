"""A history of events (an events file, a year of the control panel's traffic) folded into KPI records.

This is the pure core of `sla-engine report` and `sla-engine sample`: no store, no moto, no clock. Each
ticket is folded once, as the engine folds it (same order, same rejections, same catalog versions), up to
`now`, the end of the period: what happened after it is not known to the period's figures.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Iterator
from dataclasses import dataclass

from sla.catalog import Catalog
from sla.events import AnyTicketEvent, EventDetail, SupportPlanChanged, TicketOpened
from sla.fold import fold
from sla.kpi_records import CycleRecord, Records, TicketRecord, records_of


@dataclass(frozen=True, slots=True)
class TicketHistory:
    """One ticket's events with the plan changes of the customers who opened it: what its fold takes."""

    ticket_id: str
    events: tuple[AnyTicketEvent, ...]
    plan_changes: tuple[SupportPlanChanged, ...]


def ticket_histories(events: Iterable[EventDetail]) -> Iterator[TicketHistory]:
    """Each ticket of `events` in ticket_id order, so the output does not depend on the input's; events of
    other kinds (an incident) are left out."""
    tickets: defaultdict[str, list[AnyTicketEvent]] = defaultdict(list)
    plans: defaultdict[str, list[SupportPlanChanged]] = defaultdict(list)
    for event in events:
        if isinstance(event, SupportPlanChanged):
            plans[event.customer_id].append(event)
        elif isinstance(event, AnyTicketEvent):
            tickets[event.ticket_id].append(event)
    for ticket_id in sorted(tickets):
        history = tickets[ticket_id]
        owners = sorted({e.customer_id for e in history if isinstance(e, TicketOpened)})
        changes = tuple(change for owner in owners for change in plans.get(owner, ()))
        yield TicketHistory(ticket_id, tuple(history), changes)


def fold_history(events: Iterable[EventDetail], catalog: Catalog, now: int) -> Records:
    """Every ticket of `events` folded at `now` (epoch seconds), as records."""
    ticket_records: list[TicketRecord] = []
    cycles: list[CycleRecord] = []
    for ticket in ticket_histories(events):
        found = records_of(fold(ticket.ticket_id, ticket.events, ticket.plan_changes, catalog, now))
        if found is not None:
            ticket_records.append(found[0])
            cycles.extend(found[1])
    return Records(tuple(ticket_records), tuple(cycles))
