"""A history of events (an events file, a year of the control panel's traffic) folded into KPI records.

This is the pure core of `sla-engine report` and `sla-engine sample`: no store, no moto, no clock. Each
ticket is folded once, as the engine folds it (same order, same rejections, same catalog versions), up to
`now`, the end of the period: what happened after it is not known to the period's figures.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable

from sla.catalog import Catalog
from sla.events import AnyTicketEvent, EventDetail, SupportPlanChanged, TicketOpened
from sla.fold import fold
from sla.kpi_records import CycleRecord, Records, TicketRecord, records_of


def fold_history(events: Iterable[EventDetail], catalog: Catalog, now: int) -> Records:
    """Every ticket of `events` folded at `now` (epoch seconds), as records; events of other kinds (an
    incident) are left out. Tickets come in ticket_id order, so the output does not depend on the input's."""
    tickets: defaultdict[str, list[AnyTicketEvent]] = defaultdict(list)
    plans: defaultdict[str, list[SupportPlanChanged]] = defaultdict(list)
    for event in events:
        if isinstance(event, SupportPlanChanged):
            plans[event.customer_id].append(event)
        elif isinstance(event, AnyTicketEvent):
            tickets[event.ticket_id].append(event)
    ticket_records: list[TicketRecord] = []
    cycles: list[CycleRecord] = []
    for ticket_id in sorted(tickets):
        history = tickets[ticket_id]
        owners = {e.customer_id for e in history if isinstance(e, TicketOpened)}
        changes = [change for owner in sorted(owners) for change in plans.get(owner, ())]
        found = records_of(fold(ticket_id, history, changes, catalog, now))
        if found is not None:
            ticket_records.append(found[0])
            cycles.extend(found[1])
    return Records(tuple(ticket_records), tuple(cycles))
