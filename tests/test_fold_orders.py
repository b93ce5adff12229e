"""Every order of delivery, on the pure fold (SPEC sections 4 to 6): one set of events, one result.

The state of a ticket is a function of the set of its events (SPEC section 5), so the fold of any order of
them, with any of them repeated, must equal the fold in the order they happened: the same state, the same
effects (ids, kinds, instants, routes), the same `next_due`, the same rejections. Two families of tickets:

- the six-event ticket of `tests/order_ticket.py`, in all 720 orders, at instants before any timer, at
  each timer's instant and just before or after it, and after every timer fired (the warning, the breach,
  the ladder step); also the ingest path simulated on the fold: each delivery folds what has arrived so far;
- tickets whose events share one instant, the due instant of a clock or of a ladder step (with and without
  `sequence`), in every order: table-driven cases with hand-checked facts, and a hypothesis property.

Orders are compared with each other; hand-checked facts are the ones the SPEC fixes (an answer at exactly
the due instant meets the clock, an acknowledgement at exactly a ladder step stops it), not effect id strings
nor whether a timer due at `now` exactly has fired yet, which are the engine's choices.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sla.effects import Alert, Effect, Notification
from sla.events import AnyTicketEvent, EventDetail, SupportPlanChanged, TicketSeverityChanged
from sla.fold import fold
from sla.folded import Folded
from tests.fold_helpers import (
    MINUTE,
    TICKET,
    ack,
    clock,
    clocks,
    default_catalog,
    epoch,
    hw_completed,
    hw_requested,
    message,
    opened,
    plan,
    severity,
    status,
)
from tests.order_ticket import BREACH, LADDER_STEP, LATE, NOW, WARNING, at, six_details
from tests.order_ticket import TICKET as SIX_TICKET

Delivered = AnyTicketEvent | SupportPlanChanged


def fold_delivered(ticket_id: str, delivered: Iterable[Delivered], now: int) -> Folded:
    """Fold events in the order given: ticket events and plan changes each keep their relative order."""
    delivered = list(delivered)
    plans = [e for e in delivered if isinstance(e, SupportPlanChanged)]
    events = [e for e in delivered if not isinstance(e, SupportPlanChanged)]
    return fold(ticket_id, events, plans, default_catalog(), now)


def in_spec_order(events: Iterable[Delivered]) -> list[Delivered]:
    return sorted(events, key=EventDetail.order_key)


def with_duplicates(order: Sequence[Delivered], salt: int) -> list[Delivered]:
    """The order with redeliveries: some events again as equal copies, one as the very same object."""
    n = len(order)
    again = [order[(salt + 2 * i) % n].model_copy() for i in range(1 + salt % n)]
    mixed = [*order, *again]
    mixed.insert(salt % (len(mixed) + 1), order[(salt * 7) % n])
    return mixed


def rows(effects: Iterable[Effect]) -> list[tuple[int, str, str, str]]:
    """Effects as (instant, kind, route or 'customer', metric or notice kind), without their ids."""
    found: list[tuple[int, str, str, str]] = []
    for e in effects:
        if isinstance(e, Alert):
            found.append((e.at, e.kind, e.route, e.metric))
        else:
            found.append((e.at, "notify", "customer", e.kind))
    return found


def assert_every_order_alike(ticket_id: str, events: Sequence[Delivered], now: int) -> Folded:
    """Fold every order of `events` (and each with redeliveries) at `now`; all equal the SPEC-order fold."""
    reference = fold_delivered(ticket_id, in_spec_order(events), now)
    for salt, order in enumerate(itertools.permutations(events)):
        for delivered in (order, with_duplicates(order, salt)):
            folded = fold_delivered(ticket_id, delivered, now)
            if folded != reference:
                ids = [e.event_id for e in delivered]
                assert folded.state == reference.state, ids
                assert rows(folded.effects) == rows(reference.effects), ids
                assert folded == reference, ids
    return reference


def within_a_second_after(value: int | None, instant: str) -> bool:
    """`next_due` names the timer's instant, or the second after it (when a timer at t fires only in a fold
    whose `now` is past t): either way the sweeper folds again at the right moment."""
    return value is not None and epoch(instant) <= value <= epoch(instant) + 1


# ----- the six-event ticket in all 720 orders --------------------------------------------------------------

SIX_NOWS = {
    "before-any-timer": NOW,
    "at-the-warning": WARNING,
    "after-the-warning": at("10:16"),
    "a-second-before-the-breach": "2026-04-14T10:29:59+02:00",
    "at-the-breach": BREACH,
    "a-second-after-the-breach": "2026-04-14T10:30:01+02:00",
    "at-the-ladder-step": LADDER_STEP,
    "after-the-ladder-step": at("11:01"),
    "late": LATE,
    "next-day": "2026-04-15T09:00:00+02:00",
}


@pytest.mark.parametrize("now", SIX_NOWS.values(), ids=SIX_NOWS.keys())
def test_every_order_of_the_six_folds_alike(now: str) -> None:
    assert_every_order_alike(SIX_TICKET, six_details(), epoch(now))


def six_at(now: str) -> Folded:
    return fold_delivered(SIX_TICKET, six_details(), epoch(now))


def test_before_any_timer_the_six_make_a_met_first_response_and_a_running_next_response() -> None:
    folded = six_at(NOW)
    assert folded.state is not None
    assert (folded.state.support_level, folded.state.severity) == ("premium", "critical")
    states = [(c.metric, c.state, c.target_seconds) for c in folded.state.clocks]
    assert states == [("first_response", "met", 2 * 3600), ("next_response", "running", 3600)]
    assert [c.stopped_at for c in folded.state.clocks] == [epoch(at("09:20")), None]
    assert rows(folded.effects) == [(epoch(at("09:05")), "notify", "customer", "acknowledged")]
    assert within_a_second_after(folded.next_due, WARNING)
    assert folded.rejected == ()


# (now, the effects after the acknowledgement, the next response's state, the next timer)
SIX_AFTER_TIMERS = {
    "after-the-warning": (
        at("10:16"),
        [(WARNING, "warning", "oncall-l2")],
        "running",
        BREACH,
    ),
    "after-the-breach": (
        at("10:31"),
        [(WARNING, "warning", "oncall-l2"), (BREACH, "trigger", "oncall-l2")],
        "breached",
        LADDER_STEP,
    ),
    "after-the-ladder-step": (
        LATE,
        [
            (WARNING, "warning", "oncall-l2"),
            (BREACH, "trigger", "oncall-l2"),
            (LADDER_STEP, "trigger", "duty-manager"),
        ],
        "breached",
        None,
    ),
}


@pytest.mark.parametrize(
    ("now", "alerts", "next_response", "next_timer"), SIX_AFTER_TIMERS.values(), ids=SIX_AFTER_TIMERS.keys()
)
def test_after_timers_fired_the_six_have_warned_breached_and_climbed_the_ladder(
    now: str, alerts: list[tuple[str, str, str]], next_response: str, next_timer: str | None
) -> None:
    """Premium, critical: the next response (1 h from the 09:30 follow-up) warns at 0.75, breaches at 10:30,
    pages `oncall-l2` then `duty-manager` 30 min later; the met first response never alerts; no apology
    (a next response is not a commitment to the customer)."""
    folded = six_at(now)
    acknowledged = (epoch(at("09:05")), "notify", "customer", "acknowledged")
    expected = [(epoch(when), kind, route, "next_response") for when, kind, route in alerts]
    assert rows(folded.effects) == [acknowledged, *expected]
    assert clock(folded, "first_response").state == "met"
    replying = clock(folded, "next_response")
    assert (replying.state, replying.due_at) == (next_response, epoch(BREACH))
    if next_response == "breached":
        assert replying.breached_at == epoch(BREACH)
    if next_timer is None:
        assert folded.next_due is None
    else:
        assert within_a_second_after(folded.next_due, next_timer)
    alerts_of_the_clock = [e for e in folded.effects if isinstance(e, Alert)]
    assert len({e.dedup_key for e in alerts_of_the_clock}) == 1, "one clock, one dedup key"
    assert len({e.effect_id for e in folded.effects}) == len(folded.effects)


def test_no_partial_view_of_the_six_before_any_timer_sends_what_the_whole_set_does_not() -> None:
    """The ingest path on the fold: each delivery folds, at NOW, the events that have arrived so far, and
    the outbox gets every effect id a fold decided. In each of the 720 orders the outbox ends equal to the
    effects of the whole set: NOW is before any timer of any partial view (its premise)."""
    details = six_details()
    now = epoch(NOW)
    whole = {e.effect_id for e in fold_delivered(SIX_TICKET, details, now).effects}
    by_subset: dict[frozenset[int], set[str]] = {}
    for size in range(len(details) + 1):
        for subset in itertools.combinations(range(len(details)), size):
            folded = fold_delivered(SIX_TICKET, [details[i] for i in subset], now)
            by_subset[frozenset(subset)] = {e.effect_id for e in folded.effects}
            assert all(e.at <= now for e in folded.effects)
            assert folded.next_due is None or folded.next_due > now, subset
    for order in itertools.permutations(range(len(details))):
        outbox = set().union(*(by_subset[frozenset(order[:n])] for n in range(1, len(order) + 1)))
        assert outbox == whole, order


# ----- events at the same instant, in every order ----------------------------------------------------------

START = "2026-03-10T10:00:00Z"  # a Tuesday; the business level is 24/7, so instants are plain arithmetic


def t(minutes: float) -> int:
    """An instant `minutes` after START, in epoch seconds."""
    return epoch(START) + round(minutes * MINUTE)


def business() -> SupportPlanChanged:
    return plan(t(-24 * 60), "business", locale="fr", event_id="p-business")


@dataclass(frozen=True)
class SameInstant:
    """A ticket with several events at one instant, the moments to fold it at, and what must hold."""

    events: Callable[[], list[Delivered]]
    nows: tuple[int, ...]
    check: Callable[[Folded, int], None]


def _note_and_reply_at_the_due_instant(sequences: tuple[int | None, int | None]) -> SameInstant:
    """Business, critical: a first response due at +30 min; an internal note and the public reply at +30."""

    def events() -> list[Delivered]:
        return [
            business(),
            opened(t(0), "critical", event_id="e-opened"),
            message(t(30), "agent", "internal", sequence=sequences[0], event_id="e-note"),
            message(t(30), "agent", "public", sequence=sequences[1], event_id="e-reply"),
        ]

    def check(folded: Folded, now: int) -> None:
        first = clock(folded, "first_response")
        assert (first.due_at, first.state, first.stopped_at) == (t(30), "met", t(30))
        assert first.breached_at is None
        assert rows(folded.effects) == [
            (t(0), "notify", "customer", "acknowledged"),
            (t(15), "warning", "oncall-l2", "first_response"),  # business warns at 0.5 and 0.75
            (t(22.5), "warning", "oncall-l2", "first_response"),
        ]
        assert folded.next_due is None

    return SameInstant(events, (t(30), t(30) + 1, t(180)), check)


def _customer_and_agent_at_one_instant(customer_first: bool, sequenced: bool) -> SameInstant:
    """After the first response (+10), at +60: the customer's message, the agent's reply and a note.

    Customer first: the message starts a next response that the reply meets at once. Agent first: the reply
    meets nothing and the message starts a next response that is still owed (due +90, breached after)."""
    first, second = (1, 2) if customer_first else (2, 1)

    def events() -> list[Delivered]:
        # By sequence, the event ids say the opposite order: the sequence must win over them.
        customer_id, agent_id = (
            ("e-a-customer", "e-b-agent") if customer_first != sequenced else ("e-b-customer", "e-a-agent")
        )
        return [
            business(),
            opened(t(0), "critical", event_id="e-opened"),
            message(t(10), "agent", "public", event_id="e-first-reply"),
            message(t(60), "customer", "public", sequence=first if sequenced else None, event_id=customer_id),
            message(t(60), "agent", "public", sequence=second if sequenced else None, event_id=agent_id),
            message(t(60), "agent", "internal", sequence=3 if sequenced else None, event_id="e-c-note"),
        ]

    def check(folded: Folded, now: int) -> None:
        assert clock(folded, "first_response").state == "met"
        replying = clocks(folded, "next_response")
        assert len(replying) == 1
        assert (replying[0].started_at, replying[0].due_at) == (t(60), t(90))
        if customer_first:
            assert (replying[0].state, replying[0].stopped_at) == ("met", t(60))
            assert [r for r in rows(folded.effects) if r[3] == "next_response"] == []
            assert folded.next_due is None
        elif now > t(90):
            assert (replying[0].state, replying[0].breached_at) == ("breached", t(90))
            triggers = [(r[0], r[2]) for r in rows(folded.effects) if r[1] == "trigger"]
            assert triggers[0] == (t(90), "oncall-l2")
        elif now < t(90):
            assert replying[0].state == "running"

    return SameInstant(events, (t(60), t(60) + 1, t(90), t(180)), check)


def _severity_raised_with_the_reply(sequences: tuple[int | None, int | None]) -> SameInstant:
    """Business, high (due +60); at +30 the severity goes to critical (due +30, that very instant, so not
    already passed) and the public reply is posted: the reply meets the clock before any timer of +30."""

    def events() -> list[Delivered]:
        return [
            business(),
            opened(t(0), "high", event_id="e-opened"),
            severity(t(30), "critical", sequence=sequences[0], event_id="e-severity"),
            message(t(30), "agent", "public", sequence=sequences[1], event_id="e-reply"),
        ]

    def check(folded: Folded, now: int) -> None:
        first = clock(folded, "first_response")
        assert (first.state, first.stopped_at, first.breached_at) == ("met", t(30), None)
        assert rows(folded.effects) == [(t(0), "notify", "customer", "acknowledged")]

    return SameInstant(events, (t(30), t(30) + 1, t(120)), check)


def _acknowledged_at_the_ladder_step() -> SameInstant:
    """Business, critical, unanswered: breach at +30 pages `oncall-l2`, the next step is due at +45. An
    acknowledgement, a note and a customer message all at +45: the ladder stops before `duty-manager`."""

    def events() -> list[Delivered]:
        return [
            business(),
            opened(t(0), "critical", event_id="e-opened"),
            ack(t(45), "first_response", event_id="e-ack"),
            message(t(45), "agent", "internal", event_id="e-note"),
            message(t(45), "customer", "public", event_id="e-customer"),
            message(t(60), "agent", "public", event_id="e-late-reply"),
        ]

    def check(folded: Folded, now: int) -> None:
        first = clock(folded, "first_response")
        assert (first.state, first.breached_at, first.acknowledged_at) == ("breached", t(30), t(45))
        pages = [(r[0], r[1], r[2]) for r in rows(folded.effects) if r[3] == "first_response"]
        ladder = [p for p in pages if p[1] in ("trigger", "acknowledge")]
        assert ladder == [(t(30), "trigger", "oncall-l2"), (t(45), "acknowledge", "oncall-l2")]
        if now > t(60):
            assert first.stopped_at == t(60)
            assert (t(60), "resolve", "oncall-l2") in pages
        apologies = [e for e in folded.effects if isinstance(e, Notification) and e.kind == "breach_apology"]
        assert len(apologies) <= 1
        assert all(t(30) <= e.at <= now for e in apologies)

    return SameInstant(events, (t(45), t(45) + 1, t(61), t(240)), check)


def _reply_just_after_the_breach() -> SameInstant:
    """Business, critical, due at +30; a note at +30 and, at +32, the customer's message and the reply
    ('e-a-…' before 'e-b-…'). The breach at +30 pages on-call, the reply at +32 resolves that page and the
    ladder's next step (+45) never comes; the customer's message came while a reply was owed, so it starts
    no next response. Whether the customer gets an apology for two minutes is the engine's choice (a grace
    period): at most one, never before the breach."""

    def events() -> list[Delivered]:
        return [
            business(),
            opened(t(0), "critical", event_id="e-opened"),
            message(t(30), "agent", "internal", event_id="e-note"),
            message(t(32), "customer", "public", event_id="e-a-customer"),
            message(t(32), "agent", "public", event_id="e-b-reply"),
        ]

    def check(folded: Folded, now: int) -> None:
        first = clock(folded, "first_response")
        pages = [(r[0], r[1], r[2]) for r in rows(folded.effects) if r[1] in ("trigger", "resolve")]
        if now > t(30):
            assert (first.state, first.breached_at) == ("breached", t(30))
            assert pages[0] == (t(30), "trigger", "oncall-l2")
        if now >= t(32):
            assert first.stopped_at == t(32)
            assert pages == [(t(30), "trigger", "oncall-l2"), (t(32), "resolve", "oncall-l2")]
            assert clocks(folded, "next_response") == []
            assert folded.next_due is None or folded.next_due > now
        apologies = [e for e in folded.effects if isinstance(e, Notification) and e.kind == "breach_apology"]
        assert len(apologies) <= 1
        assert all(t(30) <= e.at <= now for e in apologies)

    return SameInstant(events, (t(30), t(30) + 1, t(32), t(32) + 1, t(40), t(120)), check)


def _reply_and_ack_at_the_due_instant() -> SameInstant:
    """The reply and an acknowledgement at the due instant: nothing breached, so the acknowledgement is
    rejected with its reason, in every order."""

    def events() -> list[Delivered]:
        return [
            business(),
            opened(t(0), "critical", event_id="e-opened"),
            ack(t(30), "first_response", event_id="e-ack"),
            message(t(30), "agent", "public", event_id="e-reply"),
        ]

    def check(folded: Folded, now: int) -> None:
        assert clock(folded, "first_response").state == "met"
        assert [r.event_id for r in folded.rejected] == ["e-ack"]
        assert not [r for r in rows(folded.effects) if r[1] in ("trigger", "resolve")]

    return SameInstant(events, (t(30), t(31)), check)


def _hardware_requested_and_completed_at_one_instant(request_first: bool | None) -> SameInstant:
    """A disk replacement requested and completed at one instant: in that order by `sequence` it is met at
    once; the other way round the completion has nothing to complete (rejected) and the request runs.
    Without sequences the event ids decide: 'e-a-…' before 'e-b-…'."""
    sequences = {True: (1, 2), False: (2, 1), None: (None, None)}[request_first]

    def events() -> list[Delivered]:
        return [
            business(),
            opened(t(0), "low", event_id="e-opened"),
            hw_requested(t(20), "disk", "srv-9", sequence=sequences[0], event_id="e-a-request"),
            hw_completed(t(20), "disk", "srv-9", sequence=sequences[1], event_id="e-b-complete"),
        ]

    def check(folded: Folded, now: int) -> None:
        replacement = clock(folded, "hardware_replacement")
        if request_first is False:
            assert replacement.state in ("running", "breached")
            assert [r.event_id for r in folded.rejected] == ["e-b-complete"]
        else:
            assert (replacement.state, replacement.stopped_at) == ("met", t(20))
            assert folded.rejected == ()

    return SameInstant(events, (t(20), t(21), t(20) + 5 * 3600), check)


def _plan_changed_at_the_opening_instant() -> SameInstant:
    """A plan change stamped at the instant of the Ticket Opened already applies to the ticket."""

    def events() -> list[Delivered]:
        return [
            plan(t(-60), "standard", event_id="p-standard"),
            plan(t(0), "enterprise", locale="ru", event_id="p-enterprise"),
            opened(t(0), "critical", event_id="e-opened"),
            message(t(0), "agent", "internal", event_id="e-note"),
        ]

    def check(folded: Folded, now: int) -> None:
        assert folded.state is not None and folded.state.support_level == "enterprise"
        first = clock(folded, "first_response")
        assert (first.support_level, first.due_at) == ("enterprise", t(15))
        acknowledged = [e for e in folded.effects if isinstance(e, Notification) and e.kind == "acknowledged"]
        assert [(e.at, e.locale) for e in acknowledged] == [(t(0), "ru")]

    return SameInstant(events, (t(0), t(1)), check)


SAME_INSTANT = {
    "note-and-reply-at-due-no-sequence": _note_and_reply_at_the_due_instant((None, None)),
    "note-and-reply-at-due-reply-first": _note_and_reply_at_the_due_instant((2, 1)),
    "note-and-reply-at-due-note-first": _note_and_reply_at_the_due_instant((1, 2)),
    "note-and-reply-at-due-one-sequenced": _note_and_reply_at_the_due_instant((None, 0)),
    "customer-then-agent-by-sequence": _customer_and_agent_at_one_instant(True, sequenced=True),
    "agent-then-customer-by-sequence": _customer_and_agent_at_one_instant(False, sequenced=True),
    "customer-then-agent-by-event-id": _customer_and_agent_at_one_instant(True, sequenced=False),
    "agent-then-customer-by-event-id": _customer_and_agent_at_one_instant(False, sequenced=False),
    "severity-raised-with-the-reply-no-sequence": _severity_raised_with_the_reply((None, None)),
    "severity-raised-then-reply": _severity_raised_with_the_reply((1, 2)),
    "reply-then-severity-raised": _severity_raised_with_the_reply((2, 1)),
    "acknowledged-at-the-ladder-step": _acknowledged_at_the_ladder_step(),
    "reply-just-after-the-breach": _reply_just_after_the_breach(),
    "reply-and-ack-at-the-due-instant": _reply_and_ack_at_the_due_instant(),
    "hardware-requested-then-completed": _hardware_requested_and_completed_at_one_instant(True),
    "hardware-completed-then-requested": _hardware_requested_and_completed_at_one_instant(False),
    "hardware-both-no-sequence": _hardware_requested_and_completed_at_one_instant(None),
    "plan-changed-at-the-opening-instant": _plan_changed_at_the_opening_instant(),
}


@pytest.mark.parametrize("case", SAME_INSTANT.values(), ids=SAME_INSTANT.keys())
def test_events_at_one_instant_fold_alike_in_every_order(case: SameInstant) -> None:
    events = case.events()
    for now in case.nows:
        folded = assert_every_order_alike(TICKET, events, now)
        case.check(folded, now)


# ----- a property: any cluster of events at a due instant, any sequences, any order --------------------------

CLUSTER_KINDS = ("note", "reply", "customer", "ack", "pending", "open", "severity")
SEVERITIES = ("critical", "high", "medium", "low")
LEVEL_TARGETS = {"business": 30, "enterprise": 15}  # first response of a critical ticket, in minutes


@st.composite
def clusters(draw: st.DrawFn) -> tuple[list[Delivered], int, str]:
    """A critical ticket on a 24/7 level and 1 to 6 events stamped at its first response's due instant."""
    level = draw(st.sampled_from(sorted(LEVEL_TARGETS)))
    due = t(LEVEL_TARGETS[level])
    events: list[Delivered] = [
        plan(t(-60), level, event_id="p-level"),
        opened(t(0), "critical", event_id="e-opened"),
    ]
    kinds = draw(st.lists(st.sampled_from(CLUSTER_KINDS), min_size=1, max_size=6))
    for index, kind in enumerate(kinds):
        sequence = draw(st.one_of(st.none(), st.integers(0, 3)))
        event_id = f"e-{draw(st.sampled_from('abc'))}-{index}"
        if kind == "note":
            events.append(message(due, "agent", "internal", sequence=sequence, event_id=event_id))
        elif kind == "reply":
            events.append(message(due, "agent", "public", sequence=sequence, event_id=event_id))
        elif kind == "customer":
            events.append(message(due, "customer", "public", sequence=sequence, event_id=event_id))
        elif kind == "ack":
            events.append(ack(due, "first_response", event_id=event_id))
        elif kind in ("pending", "open"):
            value = "pending_customer" if kind == "pending" else "open"
            events.append(status(due, value, sequence=sequence, event_id=event_id))
        else:
            value = draw(st.sampled_from(SEVERITIES))
            events.append(severity(due, value, sequence=sequence, event_id=event_id))
    return events, due, level


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(clusters(), st.data())
def test_any_cluster_at_a_due_instant_folds_alike_in_any_order(
    cluster: tuple[list[Delivered], int, str], data: st.DataObject
) -> None:
    events, due, _ = cluster
    again = data.draw(st.lists(st.sampled_from(events), max_size=4))
    delivered = data.draw(st.permutations([*events, *(e.model_copy() for e in again)]))
    replied = any(
        getattr(e, "author", None) == "agent" and getattr(e, "visibility", None) == "public" for e in events
    )
    retargeted = any(isinstance(e, TicketSeverityChanged) for e in events)
    for now in (due - 1, due, due + 1, due + 4 * 3600):
        reference = fold_delivered(TICKET, in_spec_order(events), now)
        assert fold_delivered(TICKET, delivered, now) == reference
        first = clock(reference, "first_response")
        if replied and now >= due:
            # A public reply at the due instant meets the first response whatever shares the instant (the
            # ticket is critical: a severity change there can only push the due time later).
            assert (first.state, first.stopped_at, first.breached_at) == ("met", due, None)
            assert {r[1] for r in rows(reference.effects) if r[3] == "first_response"} <= {"warning"}
        if not replied and not retargeted and now > due:
            assert (first.state, first.breached_at) == ("breached", due)
