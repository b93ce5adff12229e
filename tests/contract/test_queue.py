"""The store contract for the agents' queue and the answer history (infra.store.queue), on both adapters.

Each test commits as the ticket service does and reads back as the read API does: what a commit writes to
the queue (an entry while the ticket owes something, none once it does not), in the queue's order, a page at
a time reading at most its size plus one, per level, the count ahead of a ticket, and the answer history
counted once per answered cycle.
"""

from __future__ import annotations

from infra.store.commit import plan_commit
from infra.store.queue import entry_digest
from infra.store.records import TicketRecord
from sla.effects import Effect
from sla.events import EventDetail
from sla.fold import fold
from sla.folded import Folded
from sla.queue import queue_entry
from sla.response_history import bucket_of
from tests.contract.conftest import Adapter
from tests.fold_helpers import HOUR, MINUTE, default_catalog, epoch, message, opened, plan, severity, status

T0 = epoch("2026-04-07T09:00:00Z")  # a Tuesday, in Paris's business hours
LEVELS = {"C-S": "standard", "C-P": "premium", "C-B": "business", "C-E": "enterprise"}


def _fold(
    adapter: Adapter, record: TicketRecord, event: EventDetail | None, customer: str, now: int
) -> Folded:
    events = (*record.events, event) if event is not None else record.events
    changes = adapter.store.load_plans(customer).changes
    return fold(record.ticket_id, events, changes, default_catalog(), now, record.pages, record.withdrawn)  # type: ignore[arg-type]


def commit(
    adapter: Adapter, ticket: str, customer: str, event: EventDetail | None, now: int
) -> tuple[Effect, ...]:
    record = adapter.store.load_ticket(ticket)
    plans = adapter.store.load_plans(customer)
    new = (event.detail_type, event) if event is not None else None
    return adapter.store.commit(record, new, _fold(adapter, record, event, customer, now), now, plans)


def with_plans(adapter: Adapter) -> None:
    for customer, level in LEVELS.items():
        record = adapter.store.load_plans(customer)
        adapter.store.append_plan(record, plan(T0 - 86_400, level, customer=customer), T0 - 86_400)


def open_ticket(adapter: Adapter, ticket: str, customer: str, at: int, grade: str = "high") -> None:
    commit(adapter, ticket, customer, opened(at, grade, ticket=ticket, customer=customer), at)


def queued(adapter: Adapter, level: str | None = None, limit: int = 100) -> list[str]:
    entries, _ = adapter.store.queue.page(level, None, limit)  # type: ignore[attr-defined]
    return [entry.ticket_id for entry in entries]


def test_an_open_ticket_is_queued_under_the_clock_it_owes(adapter: Adapter) -> None:
    with_plans(adapter)
    open_ticket(adapter, "T-1", "C-P", T0)

    (entry,), read = adapter.store.queue.page(None, None, 10)  # type: ignore[attr-defined]

    assert read == 1
    assert (entry.ticket_id, entry.customer_id, entry.support_level, entry.severity) == (
        "T-1",
        "C-P",
        "premium",
        "high",
    )
    assert (entry.metric, entry.cycle, entry.due_at, entry.breached) == (
        "first_response",
        1,
        T0 + 2 * HOUR,
        False,
    )
    assert (entry.clock_level, entry.started_at, entry.timezone, entry.country) == (
        "premium",
        T0,
        "Europe/Paris",
        "FR",
    )
    assert entry.line == "l1"  # the catalog's entry line: the entry is also in l1's queue


def test_the_queue_is_in_due_order_then_level_then_ticket(adapter: Adapter) -> None:
    with_plans(adapter)
    # Due at T0 + 30 min: business critical opened at T0, enterprise high opened at T0 (30 min each), and
    # T-E2 enterprise high opened at T0; then premium high at T0 + 2 h; standard critical at T0 + 4 h.
    open_ticket(adapter, "T-B", "C-B", T0, "critical")
    open_ticket(adapter, "T-E2", "C-E", T0, "high")
    open_ticket(adapter, "T-E1", "C-E", T0, "high")
    open_ticket(adapter, "T-S", "C-S", T0, "critical")
    open_ticket(adapter, "T-P", "C-P", T0, "high")

    assert queued(adapter) == ["T-E1", "T-E2", "T-B", "T-P", "T-S"]
    assert queued(adapter, "enterprise") == ["T-E1", "T-E2"]
    assert queued(adapter, "premium") == ["T-P"]
    assert queued(adapter, "gold") == []


def test_a_page_reads_its_size_plus_one_and_the_next_starts_after_it(adapter: Adapter) -> None:
    for number in range(10):
        open_ticket(adapter, f"T-{number:02d}", "C-1", T0 + number * MINUTE)
    index = adapter.store.queue  # type: ignore[attr-defined]

    first, read = index.page(None, None, 3)
    assert read == 4 and [e.ticket_id for e in first] == ["T-00", "T-01", "T-02", "T-03"]
    second, read = index.page(None, first[2].sort_key, 3)
    assert read == 4 and [e.ticket_id for e in second] == ["T-03", "T-04", "T-05", "T-06"]
    last, read = index.page(None, index.page(None, None, 8)[0][7].sort_key, 3)
    assert read == 2 and [e.ticket_id for e in last] == ["T-08", "T-09"]
    assert index.count_before(second[0].sort_key) == (3, True)
    assert index.count_before(first[0].sort_key) == (0, True)


def test_a_ticket_leaves_the_queue_when_answered_paused_or_closed_and_returns_when_owed_again(
    adapter: Adapter,
) -> None:
    for ticket in ("T-1", "T-2", "T-3"):
        open_ticket(adapter, ticket, "C-1", T0)
    assert queued(adapter) == ["T-1", "T-2", "T-3"]

    commit(adapter, "T-1", "C-1", message(T0 + MINUTE, "agent", ticket="T-1"), T0 + MINUTE)
    commit(adapter, "T-2", "C-1", status(T0 + MINUTE, "closed", ticket="T-2"), T0 + MINUTE)
    assert queued(adapter) == ["T-3"]

    # The customer writes again: a next response is owed, due 4 h of standard hours after it (high: 8 h).
    commit(adapter, "T-1", "C-1", message(T0 + HOUR, "customer", ticket="T-1"), T0 + HOUR)
    assert queued(adapter) == ["T-3", "T-1"]
    (entry,) = [e for e in adapter.store.queue.page(None, None, 10)[0] if e.ticket_id == "T-1"]  # type: ignore[attr-defined]
    assert (entry.metric, entry.started_at) == ("next_response", T0 + HOUR)


def test_a_severity_change_moves_the_ticket_in_the_queue(adapter: Adapter) -> None:
    open_ticket(adapter, "T-1", "C-1", T0, "low")
    open_ticket(adapter, "T-2", "C-1", T0, "medium")
    assert queued(adapter) == ["T-2", "T-1"]

    commit(adapter, "T-1", "C-1", severity(T0 + MINUTE, "critical", ticket="T-1"), T0 + MINUTE)

    assert queued(adapter) == ["T-1", "T-2"]
    assert adapter.store.queue.page(None, None, 1)[0][0].severity == "critical"  # type: ignore[attr-defined]


def test_a_commit_that_changes_nothing_owed_leaves_the_queue_item_alone(adapter: Adapter) -> None:
    open_ticket(adapter, "T-1", "C-1", T0)
    record = adapter.store.load_ticket("T-1")
    note = message(T0 + MINUTE, "agent", "internal", ticket="T-1")  # an internal note meets no clock

    folded = _fold(adapter, record, note, "C-1", T0 + MINUTE)
    writes = plan_commit(record, (note.detail_type, note), folded, T0 + MINUTE, None, 30)

    assert writes.queue is None
    assert record.queued == writes.state["queued"] == entry_digest(queue_entry(folded.state))  # type: ignore[arg-type]


def test_answers_are_counted_once_in_the_day_of_their_level_and_severity(adapter: Adapter) -> None:
    with_plans(adapter)
    for number, minutes in enumerate((10, 20, 20)):
        ticket = f"T-{number}"
        open_ticket(adapter, ticket, "C-P", T0)
        answered = T0 + minutes * MINUTE
        commit(adapter, ticket, "C-P", message(answered, "agent", ticket=ticket, customer="C-P"), answered)
    commit(adapter, "T-0", "C-P", None, T0 + 2 * HOUR)  # a later re-fold (the sweeper's) counts nothing again
    commit(
        adapter, "T-0", "C-P", status(T0 + 3 * HOUR, "closed", ticket="T-0", customer="C-P"), T0 + 3 * HOUR
    )

    days = adapter.store.queue.history("first_response", "premium", "high", "2026-04-01", "2026-04-30")  # type: ignore[attr-defined]

    assert days == [{bucket_of(600): 1, bucket_of(1200): 2}]
    assert adapter.store.queue.history("first_response", "premium", "low", "2026-04-01", "2026-04-30") == []  # type: ignore[attr-defined]
