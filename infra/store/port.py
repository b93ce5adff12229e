"""The store as the application services use it: one contract, two adapters.

The ticket service, the sweep and the delivery service depend on these protocols only. The DynamoDB
adapter (`infra.store.dynamodb.Store`, `infra.store.timers.TimerIndex`, `infra.notify.outbox.TableOutbox`)
is what Lambda runs; the in-memory one (`local.memory`) is what the local harness runs when a history is
too long for moto. `tests/contract/` runs one suite against both, so what a service may rely on is written
down there as much as here.

What every adapter promises:
- a commit is all or nothing; it refuses with AlreadyRecorded when the new event's marker exists, and with
  VersionConflict when the STATE item or the customer's plan record changed since they were read;
- a ticket's events come back as they were stored (`infra.store.codec`), whatever was folded at the edge;
- the due index hands out timers oldest first over its shards, in pages, and a claim or a back-off is a
  conditional move of the timer that fails (None, or no move) when the timer is not the one read;
- a ticket's outbox items are read back in sort key order (the order the effects were decided), and an
  item marked delivered stays delivered, with the first outcome recorded for each effect.
- a commit keeps the ticket's entry in the agents' queue and the answer history (`infra.store.queue`), which
  each adapter reads through its `queue` (`QueueReader`): a page in queue order reading at most its size plus
  one, the count ahead of an entry, the day histograms of answers;
- a commit keeps the decided-cycle index (`infra.store.report_index`) of the ticket's months, which each
  adapter reads through its `report` (`ReportIndex`): a month's records, by Query of its partitions.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Protocol

from infra.store.outbox import Backlog
from infra.store.records import PlanRecord, TicketRecord
from infra.store.report_index import ReportIndex
from infra.store.timers import Claim, DueReader, DueTimer
from sla.effects import Effect
from sla.events import EventDetail, SupportPlanChanged
from sla.folded import Folded


class DueIndex(Protocol):
    """The sparse due-index: one timer per ticket with something still to fire (infra.store.timers)."""

    def due(self, now: int, page_size: int, max_pages: int) -> DueReader: ...

    def due_timers(
        self, now: int, limit: int, start_after: str | None = None
    ) -> tuple[list[DueTimer], str | None]: ...

    def next_timer(self) -> int | None: ...

    def claim(self, timer: DueTimer, now: int, lease_seconds: int) -> Claim | None: ...

    def claim_timer(self, timer: DueTimer, now: int, lease_seconds: int) -> bool: ...

    def back_off(self, claim: Claim, max_delay: int) -> int: ...


class TicketStore(Protocol):
    """Tickets, plans, rejections and the due-index: what the ticket service and the sweep use."""

    @property
    def timers(self) -> DueIndex: ...

    def load_ticket(self, ticket_id: str) -> TicketRecord: ...

    def load_plans(self, customer_id: str) -> PlanRecord: ...

    def customer_tickets(
        self, customer_id: str, start_after: str | None = None
    ) -> tuple[list[str], str | None]: ...

    def mark_due(self, ticket_ids: list[str], now: int) -> None: ...

    def save_marking(self, customer_id: str, version: int, cursor: str | None) -> None: ...

    def commit(
        self,
        record: TicketRecord,
        new_event: tuple[str, EventDetail] | None,
        folded: Folded,
        now: int,
        plans: PlanRecord | None = None,
    ) -> tuple[Effect, ...]: ...

    def append_plan(self, record: PlanRecord, change: SupportPlanChanged, now: int) -> None: ...

    def record_rejection(self, event_id: str, reason: str, raw: str | None, now: int) -> bool: ...


class OutboxStore(Protocol):
    """The outbox as the notifier reads and marks it (infra.store.outbox, infra.notify.outbox)."""

    def backlog(self, pk: str, sk: str) -> Backlog:
        """The ticket's undelivered items up to the record's own (`sk`), oldest first."""
        ...

    def record(
        self,
        pk: str,
        sk: str,
        outcomes: Mapping[str, Mapping[str, Any]],
        now: int,
        *,
        complete: bool,
        item_error: str | None = None,
        effects: str | None = None,
    ) -> None:
        """Write each effect's outcome (effect id -> outcome) on the item, keeping any recorded before; when
        `complete`, mark the item delivered and replace its `effects` by `effects` when given. An item no
        longer there is left alone (never created from a stale record)."""
        ...


class ReportStore(Protocol):
    """The decided-cycle index as the monthly report reads it (infra.report)."""

    @property
    def report(self) -> ReportIndex: ...
