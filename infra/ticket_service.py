"""The application service behind ingest, sweeper and replay: load, fold with `sla`, commit, retry.

It is the only place that knows the order of those steps, so every entry point (Lambda, CLI, tests)
behaves the same way. Conflicts are retried here by re-reading and re-folding; what still fails is
raised as transient for the caller's retry machinery (SQS redelivery, the next sweep).
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Any, Literal

from infra.edge import EdgeEvent, EdgeRejection, read_envelope, read_text
from infra.errors import (
    AlreadyRecorded,
    ConflictingEvent,
    PermanentStoreError,
    TransientStoreError,
    VersionConflict,
)
from infra.incident_service import IncidentService
from infra.store import PlanRecord, TicketRecord
from infra.store.commit import CONFLICTING_VERSION, event_digest
from infra.store.port import TicketStore
from sla.catalog import Catalog
from sla.effects import Effect
from sla.events import (
    AlertAcknowledged,
    AnyTicketEvent,
    EventDetail,
    IncidentDeclared,
    IncidentResolved,
    SupportPlanChanged,
    TicketEvent,
    TicketLinkedToIncident,
    TicketOpened,
    excerpt,
)
from sla.fold_cache import FoldCache
from sla.folded import Folded
from sla.incidents import IncidentNotice, fold_ticket

Status = Literal["accepted", "duplicate", "rejected"]


@dataclass(frozen=True)
class Outcome:
    status: Status
    event_id: str
    ticket_id: str | None = None
    reason: str | None = None
    effects: tuple[Effect, ...] = ()
    limit: bool = False  # refused by a bound of the store (events per ticket, item size), not by the contract
    # In the ticket's log, even when the fold refuses it for now (an event before its Ticket Opened arrived):
    # a later event may make the fold take it, so what follows from it (an incident link) must still happen.
    stored: bool = False


MAX_EVENTS_PER_TICKET = 2_000
"""Events a ticket may hold: the bound that keeps its log one Query page and its fold a few milliseconds."""


class TicketService:
    def __init__(
        self,
        store: TicketStore,
        catalog: Catalog,
        max_attempts: int = 5,
        *,
        max_events: int = MAX_EVENTS_PER_TICKET,
        sleep: Callable[[float], None] = time.sleep,
        monotonic: Callable[[], float] = time.monotonic,
        mark_budget_seconds: float = 20.0,
    ) -> None:
        self.store = store
        self.catalog = catalog
        self.max_attempts = max_attempts
        self.max_events = max_events
        self.sleep = sleep
        self.monotonic = monotonic
        self.mark_budget_seconds = mark_budget_seconds
        # Each fold of a ticket resumes its previous one where that gives the same result (sla.fold_cache).
        self.folds = FoldCache()
        # The incident partition (infra.incident_service), where the store keeps one: both adapters do.
        partition = getattr(store, "incidents", None)
        self.incidents = (
            IncidentService(partition, self.append_notice, self.view, store.mark_due, monotonic=monotonic)
            if partition is not None
            else None
        )

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
        if isinstance(event, IncidentDeclared | IncidentResolved):
            return self._incident(event, read.raw, now)
        assert isinstance(event, TicketEvent | AlertAcknowledged)
        outcome = self._append(read.detail_type, event, read.raw, now)
        # A link in the ticket's log joins its incident; a duplicate too: its first delivery may have stopped short.
        linked = outcome.stored or outcome.status == "duplicate"
        if isinstance(event, TicketLinkedToIncident) and linked and self.incidents is not None:
            self.incidents.linked(event, now)
        return outcome

    def _incident(self, event: IncidentDeclared | IncidentResolved, raw: str, now: int) -> Outcome:
        if self.incidents is None:
            return self.reject(event.event_id, "detail-type: this store keeps no incidents", raw, now)
        try:
            accepted = self.incidents.accept(event, now)
        except ConflictingEvent as conflict:  # its id names another event, of a ticket or an incident
            return self.reject(event.event_id, conflict.reason, raw, now)
        return Outcome("accepted" if accepted else "duplicate", event.event_id)

    def append_notice(self, notice: IncidentNotice, now: int) -> Outcome:
        """Copy an incident's phase into a linked ticket's log (sla.incidents): an event of the ticket like
        any other, committed with its fold; a repeat is a duplicate."""
        return self._append(notice.detail_type, notice, notice.model_dump_json(), now)

    def reject(self, event_id: str, reason: str, raw: str | None, now: int) -> Outcome:
        self.store.record_rejection(event_id, reason, raw, now)
        return Outcome("rejected", event_id, reason=reason)

    def _change_plan(self, change: SupportPlanChanged, raw: str, now: int) -> Outcome:
        if change.support_level not in self.catalog.levels:
            known = ", ".join(self.catalog.levels)
            return self.reject(
                change.event_id,
                f"support_level: unknown level {excerpt(change.support_level)}; known: {known}",
                raw,
                now,
            )
        for attempt in range(self.max_attempts):
            record = self.store.load_plans(change.customer_id)
            if any(c.event_id == change.event_id for c in record.changes):
                # A redelivery may follow a first delivery that ran out of time marking the tickets.
                self._mark_open_tickets(record, now)
                return Outcome("duplicate", change.event_id)
            try:
                self.store.append_plan(record, change, now)
            except AlreadyRecorded:
                self._backoff(attempt)  # another writer appended first: re-read and try again
                continue
            # A change that arrives after some of the customer's tickets were folded (late or out of order)
            # may apply to their clocks: the sweeper re-folds them, not this call, however many they are.
            self._mark_open_tickets(replace(record, version=record.version + 1), now)
            return Outcome("accepted", change.event_id)
        raise TransientStoreError(f"plan of customer {change.customer_id}: too many concurrent changes")

    def _mark_open_tickets(self, plans: PlanRecord, now: int) -> None:
        """Make the customer's open tickets due now, page by page, remembering how far it got.

        Out of time, it stops with a transient error: the queue redelivers the plan change, which resumes
        from the last page marked, so a customer with fifty thousand open tickets is marked in a few calls.
        """
        if plans.marked_version >= plans.version:
            return
        started = self.monotonic()
        cursor = plans.marked_cursor if plans.marked_cursor_version == plans.version else None
        while True:
            tickets, cursor = self.store.customer_tickets(plans.customer_id, cursor)
            self.store.mark_due(tickets, now)
            self.store.save_marking(plans.customer_id, plans.version, cursor)
            if cursor is None:
                return
            if self.monotonic() - started > self.mark_budget_seconds:
                raise TransientStoreError(f"plan of customer {plans.customer_id}: tickets still to mark")

    def _append(
        self, detail_type: str, event: TicketEvent | AlertAcknowledged | IncidentNotice, raw: str, now: int
    ) -> Outcome:
        ticket_id = event.ticket_id
        for attempt in range(self.max_attempts):
            record = self.store.load_ticket(ticket_id)
            held = next((e for e in record.events if e.event_id == event.event_id), None)
            if held is not None:
                # A repeat is a duplicate; another event under the same id is refused, the first one kept.
                if event_digest(held) == event_digest(event):
                    return Outcome("duplicate", event.event_id, ticket_id)
                self.store.record_rejection(event.event_id, CONFLICTING_VERSION, raw, now)
                return Outcome("rejected", event.event_id, ticket_id, CONFLICTING_VERSION)
            owner = _owner(record.events)
            if owner is not None and event.customer_id is not None and event.customer_id != owner:
                reason = "customer_id: the ticket belongs to another customer"
                self.store.record_rejection(event.event_id, reason, raw, now)
                return Outcome("rejected", event.event_id, ticket_id, reason)
            if len(record.events) >= self.max_events:
                reason = f"ticket_id: the ticket has reached its limit of {self.max_events} events"
                self.store.record_rejection(event.event_id, reason, raw, now)
                return Outcome("rejected", event.event_id, ticket_id, reason, limit=True)
            events: tuple[AnyTicketEvent, ...] = (*record.events, event)  # type: ignore[arg-type]
            folded, plans = self._fold(record, events, owner or event.customer_id, now)
            folded = self._decide(record, folded, now)
            try:
                effects = self.store.commit(record, (detail_type, event), folded, now, plans)
            except AlreadyRecorded:
                return Outcome("duplicate", event.event_id, ticket_id)
            except ConflictingEvent as conflict:  # another version, or an event of another ticket, came first
                self.store.record_rejection(event.event_id, conflict.reason, raw, now)
                return Outcome("rejected", event.event_id, ticket_id, conflict.reason)
            except VersionConflict:
                self._backoff(attempt)
                continue
            except PermanentStoreError as error:
                reason = f"store: the ticket's write was refused ({excerpt(str(error))})"
                self.store.record_rejection(event.event_id, reason, raw, now)
                return Outcome("rejected", event.event_id, ticket_id, reason, limit=True)
            rejection = next((r for r in folded.rejected if r.event_id == event.event_id), None)
            if rejection is not None:
                return Outcome("rejected", event.event_id, ticket_id, rejection.reason, effects, stored=True)
            return Outcome("accepted", event.event_id, ticket_id, effects=effects, stored=True)
        raise TransientStoreError(f"ticket {ticket_id}: still conflicting after {self.max_attempts} attempts")

    def _backoff(self, attempt: int) -> None:
        """Full jitter: concurrent writers of one ticket spread out instead of colliding again."""
        self.sleep(random.uniform(0, min(1.0, 0.02 * 2**attempt)))

    # -- timers and views --------------------------------------------------------------------------------

    def refold(self, ticket_id: str, now: int) -> tuple[Effect, ...]:
        """Fold a ticket at `now` and commit what became due: the sweeper's step for one timer."""
        for attempt in range(self.max_attempts):
            record = self.store.load_ticket(ticket_id)
            folded, plans = self._fold(record, record.events, _owner(record.events), now)
            folded = self._decide(record, folded, now)
            try:
                return self.store.commit(record, None, folded, now, plans)
            except VersionConflict:
                self._backoff(attempt)
                continue
        raise TransientStoreError(f"ticket {ticket_id}: still conflicting after {self.max_attempts} attempts")

    def view(self, ticket_id: str, now: int) -> Folded:
        """The ticket as it stands at `now`, without writing anything."""
        record = self.store.load_ticket(ticket_id)
        return self._fold(record, record.events, _owner(record.events), now)[0]

    def _fold(
        self, record: TicketRecord, events: tuple[AnyTicketEvent, ...], customer_id: str | None, now: int
    ) -> tuple[Folded, PlanRecord | None]:
        """The fold at `now`, told what was paged so far, and the plan record it used (the commit checks it)."""
        plans = self.store.load_plans(customer_id) if customer_id else None
        folded = fold_ticket(
            record.ticket_id,
            events,
            plans.changes if plans else (),
            self.catalog,
            now,
            delivered=record.pages,
            withdrawn=record.withdrawn,
            cache=self.folds,
        )
        return folded, plans

    def _decide(self, record: TicketRecord, folded: Folded, now: int) -> Folded:
        """Storm control's decision across tickets, before the commit (infra.incident_service)."""
        return self.incidents.decide(record, folded, now) if self.incidents is not None else folded


def _owner(events: tuple[AnyTicketEvent, ...]) -> str | None:
    """The customer of the ticket's first Ticket Opened, in event order."""
    opened = [e for e in events if isinstance(e, TicketOpened)]
    return min(opened, key=EventDetail.order_key).customer_id if opened else None
