"""Properties of the fold over random but realistic tickets (SPEC sections 4 to 6).

A generated ticket is a customer on a random level (with, sometimes, a plan change during the ticket), an
opening, and a random mix of messages, status changes, severity changes, hardware requests and
completions and acknowledgements over a few days, some of them at the same instant and some before the
opening. Instants are drawn on a coarse grid on purpose: ties are where an order-dependent fold breaks.
"""

from __future__ import annotations

from dataclasses import dataclass

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sla.catalog import Catalog
from sla.effects import Alert, Effect
from sla.events import AnyTicketEvent, SupportPlanChanged
from sla.folded import Folded
from tests.fold_helpers import (
    LEVELS,
    MINUTE,
    ack,
    default_catalog,
    epoch,
    hw_completed,
    hw_requested,
    message,
    opened,
    plan,
    resolution_catalog,
    run,
    severity,
    status,
)

START = epoch("2026-03-09T06:00:00Z")  # a Monday morning; a week of openings reaches a weekend
SEVERITIES = ("critical", "high", "medium", "low")
STATUSES = ("open", "pending_customer", "resolved", "closed")
COMPONENTS = ("disk", "ram", "cpu")
SERVERS = ("srv-1", "srv-2")
METRICS = ("first_response", "next_response", "resolution", "hardware_replacement")
KINDS = ("message", "message", "message", "status", "severity", "hw_requested", "hw_completed", "ack")

PROPERTIES = settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@dataclass(frozen=True)
class Ticket:
    events: list[AnyTicketEvent]
    plans: list[SupportPlanChanged]
    now: int
    catalog: Catalog

    def fold(self) -> Folded:
        return run(self.events, self.plans, now=self.now, catalog=self.catalog)


# Minutes after the opening: often on the hour, so that several events share an instant.
offsets = st.one_of(st.integers(0, 72).map(lambda h: h * 60), st.integers(-30, 3 * 24 * 60))
sequences = st.one_of(st.none(), st.integers(0, 3))


@st.composite
def ticket_events(
    draw: st.DrawFn,
    opened_at: int,
    kinds: tuple[str, ...] = KINDS,
    at_offsets: st.SearchStrategy[int] = offsets,
) -> list[AnyTicketEvent]:
    """An opening and up to 14 events `at_offsets` minutes after it."""
    events: list[AnyTicketEvent] = [
        opened(opened_at, draw(st.sampled_from(SEVERITIES)), sequence=draw(sequences))
    ]
    for _ in range(draw(st.integers(0, 14))):
        at = opened_at + draw(at_offsets) * MINUTE
        kind = draw(st.sampled_from(kinds))
        seq = draw(sequences)
        if kind == "message":
            author = draw(st.sampled_from(("agent", "customer")))
            visibility = draw(st.sampled_from(("public", "public", "public", "internal")))
            events.append(message(at, author, visibility, sequence=seq))
        elif kind == "status":
            events.append(status(at, draw(st.sampled_from(STATUSES)), sequence=seq))
        elif kind == "severity":
            events.append(severity(at, draw(st.sampled_from(SEVERITIES)), sequence=seq))
        elif kind == "hw_requested":
            part = (draw(st.sampled_from(COMPONENTS)), draw(st.sampled_from(SERVERS)))
            events.append(hw_requested(at, *part, sequence=seq))
        elif kind == "hw_completed":
            part = (draw(st.sampled_from(COMPONENTS)), draw(st.sampled_from(SERVERS)))
            events.append(hw_completed(at, *part, sequence=seq))
        else:
            events.append(ack(at, draw(st.sampled_from(METRICS))))
    return events


@st.composite
def tickets(draw: st.DrawFn, kinds: tuple[str, ...] = KINDS) -> Ticket:
    opened_at = START + draw(st.integers(0, 7 * 24 * 60)) * MINUTE
    plans = [
        plan(
            opened_at - draw(st.integers(1, 30 * 24 * 60)) * MINUTE,
            draw(st.sampled_from(LEVELS)),
            locale=draw(st.sampled_from(("en", "fr", "ru"))),
        )
    ]
    if draw(st.booleans()):
        at = opened_at + draw(offsets) * MINUTE
        cleared = draw(
            st.lists(st.sampled_from(("contact_email", "locale", "timezone", "country")), unique=True)
        )
        plans.append(plan(at, draw(st.sampled_from(LEVELS)), contact_email="ops@example.com", clear=cleared))
    events = draw(ticket_events(opened_at, kinds))
    now = opened_at + draw(st.integers(0, 5 * 24 * 60)) * MINUTE
    catalog = draw(st.sampled_from((default_catalog(), resolution_catalog())))
    return Ticket(events, plans, now, catalog)


@PROPERTIES
@given(tickets(), st.data())
def test_fold_is_invariant_under_permutation_and_duplication(ticket: Ticket, data: st.DataObject) -> None:
    again = data.draw(st.lists(st.sampled_from(ticket.events), max_size=len(ticket.events)))
    delivered = data.draw(st.permutations([*ticket.events, *(e.model_copy() for e in again)]))
    plans = data.draw(st.permutations([*ticket.plans, *ticket.plans]))
    reference = ticket.fold()
    assert run(delivered, plans, now=ticket.now, catalog=ticket.catalog) == reference


@PROPERTIES
@given(tickets())
def test_effect_ids_are_unique_within_a_fold(ticket: Ticket) -> None:
    ids = [e.effect_id for e in ticket.fold().effects]
    assert len(ids) == len(set(ids))


def is_timer_effect(effect: Effect) -> bool:
    """Warnings, pages of the ladder and apologies: what a timer fires, as opposed to what an event does."""
    if isinstance(effect, Alert):
        return effect.kind in ("warning", "trigger")
    return effect.kind == "breach_apology"


@PROPERTIES
@given(tickets(), st.integers(0, 5 * 24 * 60))
def test_what_was_sent_stays_sent(ticket: Ticket, later: int) -> None:
    """A later fold repeats every effect of an earlier one, identically, and never back-dates a new one.

    The one thing a later fold adds at the earlier `now` itself is what a timer due at that instant fires:
    a timer fires only once `now` is past it, after every event stamped at its instant.
    """
    earlier = ticket.fold()
    then = run(ticket.events, ticket.plans, now=ticket.now + later * MINUTE, catalog=ticket.catalog)
    before = [e for e in earlier.effects if e.at < ticket.now]
    assert [e for e in then.effects if e.at < ticket.now] == before
    assert all(e.at <= ticket.now for e in earlier.effects)
    at_now = [e for e in then.effects if e.at == ticket.now]
    assert [e for e in at_now if e in earlier.effects] == [e for e in earlier.effects if e.at == ticket.now]
    assert all(is_timer_effect(e) for e in at_now if e not in earlier.effects)
    assert earlier.next_due is None or earlier.next_due > ticket.now
    assert all(e.at <= ticket.now + later * MINUTE for e in then.effects)
    if later == 0:
        assert then == earlier


@PROPERTIES
@given(tickets())
def test_nothing_fires_before_next_due(ticket: Ticket) -> None:
    """A sweeper that comes back at `next_due` misses nothing: a fold one second before it sends what the
    fold at `now` sent, and the fold at it sends something new unless what is due is an event's own time."""
    folded = ticket.fold()
    if folded.next_due is None:
        return
    just_before = run(ticket.events, ticket.plans, now=folded.next_due - 1, catalog=ticket.catalog)
    assert just_before.effects == folded.effects
    assert just_before.next_due == folded.next_due
    at_due = run(ticket.events, ticket.plans, now=folded.next_due, catalog=ticket.catalog)
    stamped_then = any(epoch(e.occurred_at.isoformat()) == folded.next_due for e in ticket.events)
    assert stamped_then or len(at_due.effects) > len(folded.effects)


@PROPERTIES
@given(tickets(kinds=("message", "message", "hw_requested", "hw_completed", "ack")), st.data())
def test_a_pause_never_makes_a_clock_due_earlier(ticket: Ticket, data: st.DataObject) -> None:
    """The same ticket with and without a wait on the customer: every clock is due no earlier with it.

    Severity changes are left out: they re-target from the original start, so a clock that the wait kept
    from breaching may then take a shorter target, which is the rule rather than a pause effect.
    """
    opened_at = ticket.events[0].occurred_at
    pause_at = epoch(opened_at.isoformat()) + data.draw(offsets) * MINUTE
    resume_at = pause_at + data.draw(st.integers(0, 2 * 24 * 60)) * MINUTE
    pair = [status(pause_at, "pending_customer"), status(resume_at, "open")]
    later = max(ticket.now, resume_at)
    without = run(ticket.events, ticket.plans, now=later, catalog=ticket.catalog)
    with_pause = run([*ticket.events, *pair], ticket.plans, now=later, catalog=ticket.catalog)
    assert without.state is not None and with_pause.state is not None
    due_without = {(c.metric, c.cycle): c.due_at for c in without.state.clocks}
    compared = 0
    for c in with_pause.state.clocks:
        before = due_without[(c.metric, c.cycle)]
        if c.due_at is not None and before is not None:
            assert c.due_at >= before, (c.metric, c.cycle)
            compared += 1
    assert compared >= 1  # first_response at least, which never pauses
