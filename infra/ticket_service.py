"""The application service behind ingest, sweeper and replay: load, fold with `sla`, commit, retry.

It is the only place that knows the order of those steps, so every entry point (Lambda, CLI, tests)
behaves the same way. Conflicts are retried here by re-reading and re-folding; what still fails is
raised as transient for the caller's retry machinery (SQS redelivery, the next sweep).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

from infra.edge import EdgeEvent, EdgeRejection, read_envelope, read_text
from infra.errors import AlreadyRecorded, TransientStoreError, VersionConflict
from infra.store import DueTimer, PlanRecord, Store
from sla.catalog import Catalog
from sla.effects import Effect
from sla.events import (
    AlertAcknowledged,
    AnyTicketEvent,
    EventDetail,
    SupportPlanChanged,
    TicketEvent,
    TicketOpened,
)
from sla.fold import Folded, fold

Status = Literal["accepted", "duplicate", "rejected"]


@dataclass(frozen=True)
class Outcome:
    status: Status
    event_id: str
    ticket_id: str | None = None
    reason: str | None = None
    effects: tuple[Effect, ...] = ()


class TicketService:
    def __init__(self, store: Store, catalog: Catalog, max_attempts: int = 5) -> None:
        self.store = store
        self.catalog = catalog
        self.max_attempts = max_attempts

    # -- events in ---------------------------------------------------------------------------------------

    def accept_raw(self, body: str, now: int, fallback_id: str) -> Outcome:
        """Take one EventBridge event as JSON text; anything invalid is rejected and kept, never raised."""
        return self._take(read_text(body, now, fallback_id), now)

    def accept(self, envelope: dict[str, Any], now: int, fallback_id: str, raw: str | None = None) -> Outcome:
        return self._take(read_envelope(envelope, now, fallback_id, raw), now)

    def _take(self, read: EdgeEvent | EdgeRejection, now: int) -> Outcome:
        if isinstance(read, EdgeRejection):
            return self.reject(read.event_id, read.reason, read.raw, now)
        event = read.event
        if isinstance(event, SupportPlanChanged):
            return self._change_plan(event, read.raw, now)
        assert isinstance(event, TicketEvent | AlertAcknowledged)
        return self._append(read.detail_type, event, read.raw, now)

    def reject(self, event_id: str, reason: str, raw: str | None, now: int) -> Outcome:
        self.store.record_rejection(event_id, reason, raw, now)
        return Outcome("rejected", event_id, reason=reason)

    def _change_plan(self, change: SupportPlanChanged, raw: str, now: int) -> Outcome:
        if change.support_level not in self.catalog.levels:
            known = ", ".join(self.catalog.levels)
            return self.reject(
                change.event_id,
                f"support_level: unknown level {change.support_level!r}; known: {known}",
                raw,
                now,
            )
        for _ in range(self.max_attempts):
            record = self.store.load_plans(change.customer_id)
            if any(c.event_id == change.event_id for c in record.changes):
                # A redelivery may follow a first delivery that failed half-way through the re-folds.
                self._refold_older(record.tickets, record.version, now)
                return Outcome("duplicate", change.event_id)
            try:
                tickets = self.store.append_plan(record, change, now)
            except AlreadyRecorded:
                continue  # another writer appended first: re-read and try again
            # A change that arrives after the customer's tickets were folded (late or out of order) may
            # apply to their clocks: fold them again now, as their next event or timer would.
            effects = self._refold_older(tickets, record.version + 1, now)
            return Outcome("accepted", change.event_id, effects=effects)
        raise TransientStoreError(f"plan of customer {change.customer_id}: too many concurrent changes")

    def _append(
        self, detail_type: str, event: TicketEvent | AlertAcknowledged, raw: str, now: int
    ) -> Outcome:
        ticket_id = event.ticket_id
        for _ in range(self.max_attempts):
            record = self.store.load_ticket(ticket_id)
            if record.has_event(event.event_id):
                return Outcome("duplicate", event.event_id, ticket_id)
            owner = _owner(record.events)
            if owner is not None and event.customer_id is not None and event.customer_id != owner:
                reason = "customer_id: the ticket belongs to another customer"
                self.store.record_rejection(event.event_id, reason, raw, now)
                return Outcome("rejected", event.event_id, ticket_id, reason)
            events: tuple[AnyTicketEvent, ...] = (*record.events, event)  # type: ignore[arg-type]
            folded, plans = self._fold(ticket_id, events, owner or event.customer_id, now)
            try:
                effects = self.store.commit(record, (detail_type, event), folded, now, plans)
            except AlreadyRecorded:
                return Outcome("duplicate", event.event_id, ticket_id)
            except VersionConflict:
                continue
            rejection = next((r for r in folded.rejected if r.event_id == event.event_id), None)
            if rejection is not None:
                return Outcome("rejected", event.event_id, ticket_id, rejection.reason, effects)
            return Outcome("accepted", event.event_id, ticket_id, effects=effects)
        raise TransientStoreError(f"ticket {ticket_id}: still conflicting after {self.max_attempts} attempts")

    # -- timers and views --------------------------------------------------------------------------------

    def refold(self, ticket_id: str, now: int, plan_version: int | None = None) -> tuple[Effect, ...]:
        """Fold a ticket at `now` and commit what became due: the sweeper's step for one timer.

        With `plan_version`: only a ticket last folded with an older version of its customer's plan.
        """
        for _ in range(self.max_attempts):
            record = self.store.load_ticket(ticket_id)
            if plan_version is not None and record.plan_version >= plan_version:
                return ()
            folded, plans = self._fold(ticket_id, record.events, _owner(record.events), now)
            try:
                return self.store.commit(record, None, folded, now, plans)
            except VersionConflict:
                continue
        raise TransientStoreError(f"ticket {ticket_id}: still conflicting after {self.max_attempts} attempts")

    def view(self, ticket_id: str, now: int) -> Folded:
        """The ticket as it stands at `now`, without writing anything."""
        record = self.store.load_ticket(ticket_id)
        return self._fold(ticket_id, record.events, _owner(record.events), now)[0]

    def _refold_older(self, ticket_ids: frozenset[str], plan_version: int, now: int) -> tuple[Effect, ...]:
        return tuple(e for ticket_id in sorted(ticket_ids) for e in self.refold(ticket_id, now, plan_version))

    def due_timers(
        self, now: int, limit: int, start_after: str | None = None
    ) -> tuple[list[DueTimer], str | None]:
        return self.store.due_timers(now, limit, start_after)

    def _fold(
        self, ticket_id: str, events: tuple[AnyTicketEvent, ...], customer_id: str | None, now: int
    ) -> tuple[Folded, PlanRecord | None]:
        """The fold at `now`, and the plan record it used (the commit registers the ticket in it)."""
        plans = self.store.load_plans(customer_id) if customer_id else None
        return fold(ticket_id, events, plans.changes if plans else (), self.catalog, now), plans


def _owner(events: tuple[AnyTicketEvent, ...]) -> str | None:
    """The customer of the ticket's first Ticket Opened, in event order."""
    opened = [e for e in events if isinstance(e, TicketOpened)]
    return min(opened, key=EventDetail.order_key).customer_id if opened else None
