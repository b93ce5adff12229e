"""An event id names one event in the whole table (issue 10), through the ticket service, on both adapters.

A repeat (the same id, the same content) is a duplicate; another event under a recorded id, on the same
ticket or another one, is rejected with its reason and recorded, and the first version is kept, whichever
arrives first.
"""

from __future__ import annotations

from typing import Any

import pytest

from infra.store.codec import encode_event
from infra.store.commit import CONFLICTING_VERSION
from infra.ticket_service import Outcome, TicketService
from sla.events import EventDetail
from tests.conftest import eventbridge
from tests.contract.conftest import Adapter
from tests.fold_helpers import CUSTOMER, MINUTE, TICKET, default_catalog, epoch, message, opened

T0 = epoch("2026-04-07T09:00:00Z")


def service(adapter: Adapter) -> TicketService:
    return TicketService(adapter.store, default_catalog(), sleep=lambda _: None)


def deliver(service: TicketService, event: EventDetail, now: int) -> Outcome:
    detail: dict[str, Any] = event.model_dump(mode="json", exclude_unset=True)
    return service.accept(eventbridge(event.detail_type, detail), now, f"m-{event.event_id}")


def stored(adapter: Adapter, event_id: str, ticket: str = TICKET) -> list[str]:
    return [encode_event(e) for e in adapter.store.load_ticket(ticket).events if e.event_id == event_id]


def test_the_same_event_again_is_a_duplicate(adapter: Adapter) -> None:
    ingest = service(adapter)
    event = opened(T0, event_id="evt-1")

    assert deliver(ingest, event, T0).status == "accepted"
    assert deliver(ingest, event, T0 + MINUTE).status == "duplicate"

    assert stored(adapter, "evt-1") == [encode_event(event)]
    assert adapter.rejections() == {}


@pytest.mark.parametrize("order", ["agent first", "customer first"])
def test_another_event_under_the_same_id_is_rejected_and_the_first_kept_whatever_the_order(
    adapter: Adapter, order: str
) -> None:
    ingest = service(adapter)
    assert deliver(ingest, opened(T0, customer=CUSTOMER), T0).status == "accepted"
    by_agent = message(T0 + MINUTE, "agent", event_id="evt-2")
    by_customer = message(T0 + 2 * MINUTE, "customer", event_id="evt-2")
    first, second = (by_agent, by_customer) if order == "agent first" else (by_customer, by_agent)

    assert deliver(ingest, first, T0 + 3 * MINUTE).status == "accepted"
    outcome = deliver(ingest, second, T0 + 4 * MINUTE)

    assert (outcome.status, outcome.reason) == ("rejected", CONFLICTING_VERSION)
    assert stored(adapter, "evt-2") == [encode_event(first)]
    assert adapter.rejections() == {("evt-2", "EDGE"): CONFLICTING_VERSION}
    assert deliver(ingest, first, T0 + 5 * MINUTE).status == "duplicate"  # the first is still a repeat


def test_the_same_id_on_another_ticket_is_rejected_naming_the_ticket_that_holds_it(adapter: Adapter) -> None:
    ingest = service(adapter)
    first = opened(T0, event_id="evt-3")
    assert deliver(ingest, first, T0).status == "accepted"

    outcome = deliver(ingest, opened(T0 + MINUTE, ticket="T-other", event_id="evt-3"), T0 + MINUTE)

    assert outcome.status == "rejected"
    assert outcome.reason is not None and TICKET in outcome.reason
    assert adapter.rejections() == {("evt-3", "EDGE"): outcome.reason}
    assert adapter.store.load_ticket("T-other").events == ()
    assert stored(adapter, "evt-3") == [encode_event(first)]
