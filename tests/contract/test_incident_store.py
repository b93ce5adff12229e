"""The incident partition's contract (infra.store.incidents.IncidentStore), on the DynamoDB adapter in moto and
on the memory one: the first incident event of a phase in SPEC order is kept, links page in ticket order,
the first trigger to claim a route's page keeps it (its own retry included), a page changes owner or closes
only as it was read, and an incident event's id is claimed table-wide like a ticket event's."""

from __future__ import annotations

from typing import Any

from infra.store.commit import CONFLICTING_VERSION, other_ticket_reason
from infra.store.incidents import PageTrigger
from infra.ticket_service import Outcome, TicketService
from sla.events import IncidentDeclared, IncidentResolved
from tests.conftest import eventbridge
from tests.contract.conftest import Adapter
from tests.contract.test_event_ids import deliver
from tests.fold_helpers import TICKET, default_catalog, epoch, opened

NOW = 1_775_548_800


def declared(event_id: str, occurred_at: str, summary: str = "Power loss in PAR-2") -> IncidentDeclared:
    return IncidentDeclared(event_id=event_id, occurred_at=occurred_at, incident_id="INC-1", summary=summary)


def incidents(adapter: Adapter) -> Any:
    return adapter.store.incidents  # type: ignore[attr-defined]


def test_the_first_declaration_in_event_order_is_kept_whatever_arrives_first(adapter: Adapter) -> None:
    store = incidents(adapter)
    later = declared("d-2", "2026-04-07T08:05:00Z", "second word")
    earlier = declared("d-1", "2026-04-07T08:03:00Z")
    assert store.record_phase(later, NOW) == (later, True)
    assert store.record_phase(earlier, NOW) == (earlier, True)  # replaces the later one
    assert store.record_phase(later, NOW) == (earlier, False)  # a late copy of the later one changes nothing
    assert store.record_phase(earlier, NOW) == (earlier, False)  # a duplicate
    resolved = IncidentResolved(event_id="r-1", occurred_at="2026-04-07T20:00:00Z", incident_id="INC-1")
    assert store.record_phase(resolved, NOW) == (resolved, True)
    assert store.phases("INC-1") == [earlier, resolved]
    assert store.phases("INC-other") == []


def test_links_are_read_a_page_at_a_time_in_ticket_order_each_once(adapter: Adapter) -> None:
    store = incidents(adapter)
    tickets = [f"T-{n:03d}" for n in range(150)]
    for ticket in reversed(tickets):
        store.link("INC-1", ticket, NOW)
    store.link("INC-1", "T-007", NOW)  # a repeat
    store.link("INC-2", "T-999", NOW)
    read: list[str] = []
    cursor = None
    pages = 0
    while True:
        page, cursor = store.linked("INC-1", cursor)
        read.extend(page)
        pages += 1
        assert len(page) <= 100
        if cursor is None:
            break
    assert read == tickets
    assert pages == 2
    assert store.linked("INC-none", None) == ([], None)


def trigger(ticket: str, route: str = "oncall-l2", step: int = 0) -> PageTrigger:
    clock = f"{ticket}/first_response/o-{ticket}"
    effect = f"{ticket}:first_response:o-{ticket}:trigger:{step}"
    return PageTrigger(effect, ticket, clock, "first_response", 1, route, route, "enterprise", NOW + 900)


def test_the_first_trigger_claims_a_routes_page_and_keeps_it_on_its_retry(adapter: Adapter) -> None:
    store = incidents(adapter)
    first, second = trigger("T-1"), trigger("T-2")
    assert store.pages("INC-1") == []
    page = store.claim_page("INC-1", first, NOW)
    assert (page.open, page.owner, page.sent_by, page.sent_effect, page.generation) == (
        True,
        first,
        "T-1",
        first.effect_id,
        0,
    )
    assert store.claim_page("INC-1", second, NOW) == page  # grouped under the first
    assert store.claim_page("INC-1", first, NOW + 5) == page  # a retry keeps its page
    other = store.claim_page("INC-1", trigger("T-2", "duty-manager", 1), NOW)
    assert other.owner.ticket_id == "T-2"
    assert store.pages("INC-1") == [other, page]  # in route order
    assert store.pages("INC-2") == []


def test_a_page_changes_owner_and_closes_only_as_it_was_read(adapter: Adapter) -> None:
    store = incidents(adapter)
    first, second, third = trigger("T-1"), trigger("T-2"), trigger("T-3")
    page = store.claim_page("INC-1", first, NOW)
    assert store.hand_over("INC-1", page, second, None)
    assert not store.hand_over("INC-1", page, third, None)  # read before the first handover: refused
    assert not store.close_page("INC-1", page, "T-1:release")
    [moved] = store.pages("INC-1")
    assert (moved.owner, moved.sent_by, moved.handovers) == (second, "T-1", 1)  # still T-1's page out there
    assert store.hand_over("INC-1", moved, third, "T-3:page@0.2")  # a page never sent: T-3 sends it
    [unsent] = store.pages("INC-1")
    assert (unsent.owner, unsent.sent_by, unsent.sent_effect) == (third, "T-3", "T-3:page@0.2")
    assert store.close_page("INC-1", unsent, "T-3:resolve")
    assert store.close_page("INC-1", unsent, "T-3:resolve")  # a retry of the same resolve
    assert not store.close_page("INC-1", unsent, "T-2:resolve")
    [closed] = store.pages("INC-1")
    assert (closed.open, closed.generation, closed.closed_by) == (False, 1, "T-3:resolve")
    again = store.claim_page("INC-1", second, NOW + 60)  # the next trigger after a closed page pages again
    assert (again.open, again.generation, again.sent_effect, again.closed_by) == (
        True,
        1,
        second.effect_id,
        None,
    )


def test_grouped_triggers_are_read_back_a_page_at_a_time_per_route(adapter: Adapter) -> None:
    store = incidents(adapter)
    tickets = [f"T-{n:03d}" for n in range(120)]
    for ticket in reversed(tickets):
        store.cover("INC-1", trigger(ticket), NOW)
    store.cover("INC-1", trigger("T-007"), NOW)  # a repeat
    store.cover("INC-1", trigger("T-500", "duty-manager"), NOW)
    page, cursor = store.covered("INC-1", "oncall-l2", None)
    rest, last = store.covered("INC-1", "oncall-l2", cursor)
    assert (page + rest, last) == (tickets, None)
    assert store.covered("INC-1", "duty-manager", None) == (["T-500"], None)


# -- event ids: one event per id in the whole table, incident events included --------------------------------


def deliver_incident(ingest: TicketService, event: IncidentDeclared, now: int) -> Outcome:
    detail: dict[str, Any] = event.model_dump(mode="json", exclude_unset=True)
    return ingest.accept(eventbridge(event.detail_type, detail), now, f"m-{event.event_id}")


def test_an_incident_event_and_a_ticket_event_under_one_id_the_second_is_refused(adapter: Adapter) -> None:
    ingest = TicketService(adapter.store, default_catalog(), sleep=lambda _: None)
    t0 = epoch("2026-04-07T09:00:00Z")
    assert deliver_incident(ingest, declared("evt-1", "2026-04-07T08:55:00Z"), t0).status == "accepted"
    outcome = deliver(ingest, opened(t0, event_id="evt-1"), t0)
    assert (outcome.status, outcome.reason) == ("rejected", other_ticket_reason("INCIDENT#INC-1"))
    assert adapter.store.load_ticket(TICKET).events == ()

    assert deliver(ingest, opened(t0, event_id="evt-2"), t0).status == "accepted"
    late = declared(
        "evt-2", "2026-04-07T08:50:00Z"
    )  # would have been the phase's first: refused all the same
    outcome = deliver_incident(ingest, late, t0)
    assert (outcome.status, outcome.reason) == ("rejected", other_ticket_reason(TICKET))
    assert [e.event_id for e in incidents(adapter).phases("INC-1")] == ["evt-1"]
    assert adapter.rejections() == {
        ("evt-1", "EDGE"): other_ticket_reason("INCIDENT#INC-1"),
        ("evt-2", "EDGE"): other_ticket_reason(TICKET),
    }


def test_an_incident_event_again_is_a_duplicate_and_another_under_its_id_is_refused(adapter: Adapter) -> None:
    ingest = TicketService(adapter.store, default_catalog(), sleep=lambda _: None)
    t0 = epoch("2026-04-07T09:00:00Z")
    first = declared("evt-1", "2026-04-07T08:55:00Z")
    assert deliver_incident(ingest, first, t0).status == "accepted"
    assert deliver_incident(ingest, first, t0 + 60).status == "duplicate"
    second = declared("evt-1", "2026-04-07T08:55:00Z", "another summary")
    outcome = deliver_incident(ingest, second, t0 + 120)
    assert (outcome.status, outcome.reason) == ("rejected", CONFLICTING_VERSION)
    assert incidents(adapter).phases("INC-1") == [first]
    assert deliver_incident(ingest, first, t0 + 180).status == "duplicate"  # the first is still a repeat


def test_a_fan_outs_progress_is_kept_for_the_held_event_only(adapter: Adapter) -> None:
    store = incidents(adapter)
    later = declared("d-2", "2026-04-07T08:05:00Z")
    earlier = declared("d-1", "2026-04-07T08:03:00Z")
    store.record_phase(later, NOW)
    assert store.progress(later) == (False, None)
    store.save_progress(later, "T-100")
    assert store.progress(later) == (False, "T-100")
    store.record_phase(earlier, NOW)  # replaces it: the later event's progress is no longer the phase's
    assert store.progress(earlier) == (False, None)
    store.save_progress(later, None)
    assert store.progress(earlier) == (False, None)
    store.save_progress(earlier, None)
    assert store.progress(earlier) == (True, None)
