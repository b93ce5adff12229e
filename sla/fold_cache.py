"""Folds that resume: a ticket's simulation kept after one fold, so the next applies only the new events.

The engine folds a ticket at every event and at every timer it sweeps, each time from its first event: a
ticket of n events costs n(n+1)/2 event applications over its life, and most of a replay's fold time is
spent applying again what was applied a moment before. A `Simulation` (sla.fold) that stopped at `reached`
reaches the very state a fold from scratch reaches, if what it is given next is what a fold from scratch
would apply after it: the same events applied so far, the same plan changes and catalog, pages delivered
or withdrawn since only where nothing simulated so far read them (`Simulation.retell`), and new events
that all sort after the last one applied and come at or after `reached`. `FoldCache.fold` checks exactly
that, and folds from scratch otherwise (a late event inserted before others, a page resolved after its
clock stopped, another plan change), so its result is always `fold`'s (tests/test_fold_cache.py).

Pure: a bounded memo in the caller's process, no clock and no I/O. A Lambda container keeps one across warm
invocations; it holds only what the checks prove still valid, so concurrent writers elsewhere cannot
make it wrong, only miss.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import timedelta

from sla.catalog import Catalog
from sla.event_order import in_order, keeps, order_row, same_event
from sla.events import AnyTicketEvent, SupportPlanChanged
from sla.fold import Simulation, owner_of, simulation
from sla.folded import Folded

CAPACITY = 2048
"""Tickets whose simulation is kept, the least recently folded dropped first, a closed one with nothing
left to fire at once: twice the tickets a generated month of 20,000 keeps open at a time (a ticket lives a
day or two), a few kilobytes each."""


@dataclass(slots=True)
class _Kept:
    simulation: Simulation
    owner: str | None
    plans: tuple[SupportPlanChanged, ...]  # the plan changes it was given, before the owner's were chosen
    catalog: Catalog
    applied: dict[str, AnyTicketEvent] = field(default_factory=dict)  # by event id
    last: tuple[timedelta, int, str] | None = None  # the order of the last event applied


class FoldCache:
    def __init__(self, capacity: int = CAPACITY) -> None:
        self.capacity = capacity
        self._kept: dict[str, _Kept] = {}  # in the order last folded: the first is the one to drop

    def fold(
        self,
        ticket_id: str,
        events: Iterable[AnyTicketEvent],
        plan_changes: Iterable[SupportPlanChanged],
        catalog: Catalog,
        now: int,
        delivered: Mapping[str, Sequence[str]] | None = None,
        withdrawn: Mapping[str, int] | None = None,
    ) -> Folded:
        """`sla.fold.fold`, resuming the ticket's previous simulation when that gives the same result."""
        events = [e for e in events if e.ticket_id == ticket_id]
        plans = tuple(plan_changes)
        pages = {key: tuple(routes) for key, routes in (delivered or {}).items()}
        generations = dict(withdrawn or {})
        # Taken out while it runs: a simulation that raised halfway is never resumed.
        kept = self._kept.pop(ticket_id, None)
        rows = None
        if kept is not None and self._resumable(kept, plans, catalog, now, pages, generations):
            rows = _new_rows(kept, events)
        if kept is None or rows is None:
            rows = in_order(events)
            owner = owner_of(rows)
            ticket = simulation(ticket_id, owner, plans, catalog, pages, generations)
            kept = _Kept(ticket, owner, plans, catalog)
        folded = _play(kept, rows, now)
        if folded.next_due is None and folded.state is not None and folded.state.status == "closed":
            return folded  # done: a rating or an acknowledgement still to come is folded from scratch
        self._kept[ticket_id] = kept
        if len(self._kept) > self.capacity:
            del self._kept[next(iter(self._kept))]
        return folded

    @staticmethod
    def _resumable(
        kept: _Kept,
        plans: tuple[SupportPlanChanged, ...],
        catalog: Catalog,
        now: int,
        delivered: dict[str, tuple[str, ...]],
        withdrawn: dict[str, int],
    ) -> bool:
        """Whether the kept simulation may go on at `now`; last, it takes the pages told since, when what it
        simulated did not read them (`Simulation.retell`). The events are `_new_rows`' to check."""
        return (
            catalog is kept.catalog
            and now >= kept.simulation.reached
            and plans == kept.plans  # element by element, identity first
            and kept.simulation.retell(delivered, withdrawn)
        )


def _new_rows(kept: _Kept, events: list[AnyTicketEvent]) -> list[tuple[int, AnyTicketEvent]] | None:
    """The events not yet applied, in order, if applying them after the kept ones is what a fold from scratch
    does; None if not: an applied event missing or superseded (in_order's choice between two versions
    of an id), a new one sorting before the last applied or coming before `reached`, a new owner."""
    applied = kept.applied
    present: set[str] = set()
    others: list[AnyTicketEvent] = []  # other versions of applied ids: `held` must be present and win
    new: list[AnyTicketEvent] = []
    for event in events:
        held = applied.get(event.event_id)
        if held is None:
            new.append(event)
        elif held is event:
            present.add(event.event_id)
        elif same_event(held, event):
            present.add(event.event_id)
            applied[event.event_id] = event  # the copy the store hands out: next time, `is` tells

        else:
            others.append(event)  # e.g. the stored form of an event applied as it came in (fewer fields)
    if len(present) != len(applied) or not all(keeps(applied[e.event_id], e) for e in others):
        return None
    rows = in_order(new)
    if not rows:
        return rows
    first_at, first = rows[0]
    if kept.last is not None and order_row(first) <= kept.last:
        return None
    if first_at < kept.simulation.reached:
        return None  # timers it passed would have fired after it
    if kept.simulation.opened is None and owner_of(rows) != kept.owner:
        return None  # a first Ticket Opened among them: the owner decides which plan changes count
    return rows


def _play(kept: _Kept, rows: list[tuple[int, AnyTicketEvent]], now: int) -> Folded:
    ticket = kept.simulation
    future = ticket.play(rows, now)
    played = rows if future is None else [row for row in rows if row[0] <= now]
    for _, event in played:
        kept.applied[event.event_id] = event
    if played:
        kept.last = order_row(played[-1][1])
    return ticket.result(now, future)
