"""The store contract for tickets, plans and rejections (infra.store.port.TicketStore), on both adapters.

Each test does what the ticket service does (load, fold with `sla`, commit), or races it, and checks what a
later load reads back: the events as the codec stores them, the state the fold decided, conditions that
refuse a stale or repeated write without writing anything, the customer's open tickets and plan history.
"""

from __future__ import annotations

import pytest

from infra.errors import AlreadyRecorded, ConflictingEvent, VersionConflict
from infra.store.codec import decode_event, encode_event
from infra.store.commit import CONFLICTING_VERSION
from infra.store.records import TicketRecord
from infra.store.timers import timer_sort_key
from sla.effects import Effect
from sla.events import EventDetail
from sla.fold import fold
from sla.folded import Folded
from tests.contract.conftest import Adapter
from tests.fold_helpers import (
    CUSTOMER,
    HOUR,
    MINUTE,
    TICKET,
    default_catalog,
    epoch,
    message,
    opened,
    plan,
    status,
)

T0 = epoch("2026-04-07T09:00:00Z")  # a Tuesday, in Paris's business hours


def fold_for(adapter: Adapter, record: TicketRecord, event: EventDetail | None, now: int) -> Folded:
    """The fold the ticket service makes: the stored events (and the new one), the customer's plans."""
    events = (*record.events, event) if event is not None else record.events
    changes = adapter.store.load_plans(CUSTOMER).changes
    return fold(record.ticket_id, events, changes, default_catalog(), now, record.pages, record.withdrawn)  # type: ignore[arg-type]


def commit(adapter: Adapter, event: EventDetail | None, now: int, ticket: str = TICKET) -> tuple[Effect, ...]:
    """Load, fold and commit one new event (None: a re-fold at `now`), on the plans just read."""
    record = adapter.store.load_ticket(ticket)
    plans = adapter.store.load_plans(CUSTOMER)
    new = (event.detail_type, event) if event is not None else None
    return adapter.store.commit(record, new, fold_for(adapter, record, event, now), now, plans)


def test_a_ticket_never_committed_reads_as_empty(adapter: Adapter) -> None:
    record = adapter.store.load_ticket("T-nobody")

    assert record == TicketRecord("T-nobody", (), 0, None, frozenset(), None)


def test_a_commit_keeps_the_event_as_the_codec_stores_it_and_the_state_the_fold_decided(
    adapter: Adapter,
) -> None:
    event = opened(T0, "critical")
    record = adapter.store.load_ticket(TICKET)
    folded = fold_for(adapter, record, event, T0)

    written = adapter.store.commit(record, ("Ticket Opened", event), folded, T0)
    after = adapter.store.load_ticket(TICKET)

    assert after.events == (decode_event("Ticket Opened", encode_event(event)),)
    assert after.events[0].subject is None  # personal data the engine never reads again is not kept
    assert (after.version, after.owner, after.status, after.registered) == (1, CUSTOMER, "open", True)
    assert written == folded.effects and written  # the acknowledgement notice, all new
    assert after.emitted == {e.effect_id for e in folded.effects}
    assert folded.next_due is not None
    assert after.timer == timer_sort_key(folded.next_due, TICKET)


def test_events_come_back_in_the_order_they_were_committed(adapter: Adapter) -> None:
    events = [opened(T0), message(T0 + 2 * MINUTE, "customer"), message(T0 + MINUTE, "agent")]
    for number, event in enumerate(events):
        commit(adapter, event, T0 + (number + 1) * MINUTE)

    assert [e.event_id for e in adapter.store.load_ticket(TICKET).events] == [e.event_id for e in events]


def test_a_commit_from_a_stale_read_is_refused_and_writes_nothing(adapter: Adapter) -> None:
    stale = adapter.store.load_ticket(TICKET)
    commit(adapter, opened(T0), T0)
    before = adapter.store.load_ticket(TICKET)
    late = message(T0 + MINUTE)

    with pytest.raises(VersionConflict):
        adapter.store.commit(
            stale, ("Ticket Message Posted", late), fold_for(adapter, stale, late, T0 + MINUTE), T0
        )

    assert adapter.store.load_ticket(TICKET) == before


def test_an_event_recorded_before_is_a_duplicate_even_from_a_stale_read(adapter: Adapter) -> None:
    stale = adapter.store.load_ticket(TICKET)
    event = opened(T0)
    commit(adapter, event, T0)

    with pytest.raises(AlreadyRecorded):
        adapter.store.commit(stale, ("Ticket Opened", event), fold_for(adapter, stale, event, T0), T0)


def test_another_event_under_a_recorded_event_id_is_a_conflict_and_the_first_is_kept(
    adapter: Adapter,
) -> None:
    commit(adapter, opened(T0), T0)
    stale = adapter.store.load_ticket(TICKET)
    first = message(T0 + MINUTE, event_id="evt-same")
    commit(adapter, first, T0 + MINUTE)
    before = adapter.store.load_ticket(TICKET)
    other = message(T0 + 2 * MINUTE, "customer", event_id="evt-same")  # the same id, other content

    with pytest.raises(ConflictingEvent) as raised:
        adapter.store.commit(
            stale, (other.detail_type, other), fold_for(adapter, stale, other, T0 + 2 * MINUTE), T0
        )
    assert raised.value.reason == CONFLICTING_VERSION
    with pytest.raises(AlreadyRecorded):  # the same content again is a repeat
        adapter.store.commit(stale, (first.detail_type, first), fold_for(adapter, stale, first, T0), T0)

    after = adapter.store.load_ticket(TICKET)
    assert after == before
    assert [encode_event(e) for e in after.events if e.event_id == "evt-same"] == [encode_event(first)]


def test_an_event_id_is_unique_across_tickets(adapter: Adapter) -> None:
    commit(adapter, opened(T0, event_id="evt-shared"), T0)
    before = adapter.store.load_ticket("T-other")
    same_id = opened(T0, ticket="T-other", event_id="evt-shared")

    with pytest.raises(ConflictingEvent) as raised:
        commit(adapter, same_id, T0, ticket="T-other")

    assert TICKET in raised.value.reason
    assert raised.value.reason.startswith("event_id: already names an event of ticket")
    assert adapter.store.load_ticket("T-other") == before  # nothing written
    assert [e.event_id for e in adapter.store.load_ticket(TICKET).events] == ["evt-shared"]


def test_a_commit_is_refused_when_the_plan_record_it_folded_with_changed(adapter: Adapter) -> None:
    record = adapter.store.load_ticket(TICKET)
    plans = adapter.store.load_plans(CUSTOMER)
    event = opened(T0)
    folded = fold_for(adapter, record, event, T0)
    adapter.store.append_plan(plans, plan(T0 - HOUR, "enterprise"), T0)

    with pytest.raises(VersionConflict):
        adapter.store.commit(record, ("Ticket Opened", event), folded, T0, plans)
    commit(adapter, event, T0)  # re-read, re-folded with the new plan

    assert adapter.store.load_ticket(TICKET).plan_version == 1


def test_the_plan_history_is_kept_in_event_order_under_a_version(adapter: Adapter) -> None:
    later, earlier = (
        plan(T0, "business", contact_email="a@x.example"),
        plan(T0 - HOUR, "premium", locale="fr"),
    )
    adapter.store.append_plan(adapter.store.load_plans(CUSTOMER), later, T0)
    stale = adapter.store.load_plans(CUSTOMER)
    adapter.store.append_plan(stale, earlier, T0)

    with pytest.raises(AlreadyRecorded):  # another writer appended since this read
        adapter.store.append_plan(stale, plan(T0 + HOUR, "standard"), T0)
    plans = adapter.store.load_plans(CUSTOMER)

    assert plans.version == 2
    assert plans.changes == tuple(decode_event(c.detail_type, encode_event(c)) for c in (earlier, later))
    assert plans.changes[0].model_fields_set == earlier.model_fields_set  # absent stays absent


def test_clearing_the_address_erases_it_from_the_whole_plan_history(adapter: Adapter) -> None:
    adapter.store.append_plan(
        adapter.store.load_plans(CUSTOMER), plan(T0, "premium", contact_email="a@x.example"), T0
    )
    forget = plan(T0 + HOUR, "premium", clear=["contact_email"])
    adapter.store.append_plan(adapter.store.load_plans(CUSTOMER), forget, T0)

    assert [c.contact_email for c in adapter.store.load_plans(CUSTOMER).changes] == [None, None]


def test_a_ticket_is_among_its_customers_open_tickets_from_its_first_commit_until_it_closes(
    adapter: Adapter,
) -> None:
    for ticket in ("T-2", "T-1"):
        commit(adapter, opened(T0, ticket=ticket), T0, ticket)
    assert adapter.store.customer_tickets(CUSTOMER) == (["T-1", "T-2"], None)

    commit(adapter, status(T0 + HOUR, "closed", ticket="T-1"), T0 + HOUR, "T-1")

    assert adapter.store.customer_tickets(CUSTOMER) == (["T-2"], None)
    assert adapter.store.customer_tickets("C-other") == ([], None)


def test_marking_a_plan_change_remembers_how_far_it_got(adapter: Adapter) -> None:
    with pytest.raises(AlreadyRecorded):  # a marking follows a recorded change
        adapter.store.save_marking(CUSTOMER, 1, None)
    adapter.store.append_plan(adapter.store.load_plans(CUSTOMER), plan(T0, "premium"), T0)

    adapter.store.save_marking(CUSTOMER, 1, "where-it-stopped")
    halfway = adapter.store.load_plans(CUSTOMER)
    adapter.store.save_marking(CUSTOMER, 1, None)
    done = adapter.store.load_plans(CUSTOMER)

    assert (halfway.marked_version, halfway.marked_cursor_version, halfway.marked_cursor) == (
        0,
        1,
        "where-it-stopped",
    )
    assert (done.marked_version, done.marked_cursor) == (1, None)
    assert done.changes == halfway.changes and done.version == 1


def test_an_edge_rejection_is_kept_once_and_removed_when_the_event_is_accepted(adapter: Adapter) -> None:
    event = opened(T0)
    raw = '{"detail": {"subject": "my password is hunter2", "contact": "me@x.example"}}'

    assert adapter.store.record_rejection(event.event_id, "severity: unknown", raw, T0)
    assert not adapter.store.record_rejection(event.event_id, "severity: again", raw, T0)
    (item,) = adapter.items("rejected")
    assert (item["sk"], item["reason"]) == ("EDGE", "severity: unknown")
    assert "hunter2" not in item["raw"] and "me@x.example" not in item["raw"]

    commit(adapter, event, T0)  # the same event id, delivered again and valid

    assert adapter.rejections() == {}


def test_a_fold_rejection_is_recorded_and_withdrawn_once_the_events_support_the_event(
    adapter: Adapter,
) -> None:
    early = message(T0 + MINUTE, "customer")
    commit(adapter, early, T0 + MINUTE)  # before its Ticket Opened arrived
    assert list(adapter.rejections()) == [(early.event_id, "FOLD")]

    commit(adapter, opened(T0), T0 + 2 * MINUTE)

    assert adapter.rejections() == {}
    assert f"rejected:{early.event_id}" not in adapter.store.load_ticket(TICKET).emitted
