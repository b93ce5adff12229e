"""Events the fold refuses (SPEC section 5): recorded with a reason naming the field, and changing nothing."""

from __future__ import annotations

from sla.events import EventDetail
from tests.fold_helpers import (
    MINUTE,
    ack,
    clock,
    epoch,
    hw_completed,
    hw_requested,
    message,
    opened,
    plan,
    run,
    severity,
    status,
)

T0 = epoch("2026-03-10T09:00:00Z")
BUSINESS = plan("2026-01-05T09:00:00Z", "business")


def t(minutes: float) -> int:
    return T0 + round(minutes * MINUTE)


def base() -> list[EventDetail]:
    return [
        opened(t(0), "critical"),
        hw_requested(t(5), "disk"),
        message(t(40)),
        message(t(50), "customer"),
    ]


def assert_changes_nothing(events: list[EventDetail], intruder: EventDetail, reason_part: str) -> None:
    without = run(events, [BUSINESS], now=t(24 * 60))
    with_it = run([*events, intruder], [BUSINESS], now=t(24 * 60))
    assert with_it.state == without.state
    assert with_it.effects == without.effects
    assert with_it.next_due == without.next_due
    assert with_it.settled == without.settled
    (rejection,) = [r for r in with_it.rejected if r.event_id == intruder.event_id]
    assert reason_part in rejection.reason
    assert set(with_it.rejected) - set(without.rejected) == {rejection}


def test_another_customers_event_is_rejected_and_changes_nothing() -> None:
    for intruder in (
        status(t(10), "closed", customer="C-2"),
        message(t(20), customer="C-2"),
        severity(t(1), "low", customer="C-2"),
        hw_completed(t(30), "disk", customer="C-2"),
        message(t(55), "customer", customer="C-2"),
    ):
        assert_changes_nothing(base(), intruder, "customer_id")


def test_another_customers_acknowledgement_is_rejected() -> None:
    assert_changes_nothing(base(), ack(t(35), "first_response", customer="C-2"), "customer_id")


def test_acknowledgement_without_a_customer_id_is_accepted() -> None:
    folded = run([*base(), ack(t(35), "first_response")], [BUSINESS], now=t(60))
    assert folded.rejected == ()
    assert clock(folded, "first_response").acknowledged_at == t(35)


def test_a_second_ticket_opened_is_rejected() -> None:
    assert_changes_nothing(base(), opened(t(1), "low"), "already opened")


def test_a_second_ticket_opened_by_another_customer_names_the_customer() -> None:
    assert_changes_nothing(base(), opened(t(1), "low", customer="C-2"), "customer_id")


def test_the_earliest_ticket_opened_is_the_one_that_counts() -> None:
    late = opened(t(0), "low")
    early = opened(t(-10), "high")
    folded = run([late, early], [BUSINESS], now=t(0))
    assert folded.state is not None
    assert (folded.state.opened_at, folded.state.severity) == (t(-10), "high")
    assert [r.event_id for r in folded.rejected] == [late.event_id]


def test_events_before_the_ticket_is_opened_are_rejected() -> None:
    early = [message(t(-10), "customer"), status(t(-5), "closed"), hw_requested(t(-1), "ram")]
    assert_changes_nothing(base(), early[0], "not opened")
    folded = run([*base(), *early], [BUSINESS], now=t(60))
    assert {r.event_id for r in folded.rejected} == {e.event_id for e in early}
    assert all(r.reason.startswith("ticket_id:") for r in folded.rejected)


def test_no_ticket_without_its_opening() -> None:
    folded = run([message(t(0), "customer")], [BUSINESS], now=t(60))
    assert folded.state is None
    assert folded.effects == ()
    assert folded.next_due is None
    assert len(folded.rejected) == 1


def test_events_of_a_closed_ticket_are_rejected() -> None:
    events = [*base(), status(t(60), "closed")]
    assert_changes_nothing(events, message(t(70)), "closed")
    assert_changes_nothing(events, status(t(70), "open"), "closed")


def test_completion_without_a_replacement_under_way_is_rejected() -> None:
    assert_changes_nothing(base(), hw_completed(t(30), "ssd"), "component")


def test_a_second_request_for_the_same_part_is_rejected() -> None:
    assert_changes_nothing(base(), hw_requested(t(30), "disk"), "component")


def test_acknowledgement_without_a_breach_is_rejected() -> None:
    assert_changes_nothing(base(), ack(t(10), "first_response"), "metric")
    assert_changes_nothing(base(), ack(t(35), "hardware_replacement"), "metric")


def test_events_of_other_tickets_and_after_now_are_not_applied() -> None:
    other = message(t(10), ticket="T-2")
    future = message(t(24 * 60 + 1))
    events = base()  # one set of events: their ids name the clocks and the effects
    without = run(events, [BUSINESS], now=t(24 * 60))
    folded = run([*events, other, future], [BUSINESS], now=t(24 * 60))
    assert (folded.state, folded.effects, folded.rejected) == (
        without.state,
        without.effects,
        without.rejected,
    )
    assert without.next_due is None
    assert folded.next_due == t(24 * 60 + 1)  # the future event is what the ticket waits for next


def test_two_different_events_under_one_id_give_one_answer_whatever_their_order() -> None:
    """A producer's bug, but the fold stays a function of the set: the first in SPEC order is kept."""
    first = status(t(10), "pending_customer", event_id="dup-1")
    second = status(t(20), "closed", event_id="dup-1")
    events = base()  # one set of events: their ids name the clocks and the effects
    one_way = run([*events, first, second], [BUSINESS], now=t(60))
    other_way = run([second, *events, first], [BUSINESS], now=t(60))
    assert one_way == other_way
    assert one_way.state is not None and one_way.state.status == "pending_customer"


def test_two_plan_changes_under_one_id_differing_only_by_an_explicit_null_give_one_answer() -> None:
    """An explicit null now clears a plan field and an absent one keeps it, so the two are different contents:
    which one counts must not depend on which arrived first (SPEC section 5).

    FAILS with the fold as it stands: `in_order` (sla.event_order) takes the two for the same event (pydantic's `==` and
    `model_dump_json()` ignore `model_fields_set`) and keeps whichever came first.
    """
    address = plan("2026-01-01T09:00:00Z", "business", contact_email="ops@client.fr")
    keep = plan("2026-01-05T09:00:00Z", "business", event_id="dup-plan")
    clear = plan("2026-01-05T09:00:00Z", "business", clear=["contact_email"], event_id="dup-plan")
    events = base()
    one_way = run(events, [address, keep, clear], now=t(60))
    other_way = run(events, [address, clear, keep], now=t(60))
    assert one_way == other_way
