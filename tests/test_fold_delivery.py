"""What was delivered stays consistent with what the events say (issue 7, items 1, 2 and 11).

- A timer fires only once `now` is past its instant, so every event stamped at an instant is known before a
  breach at that instant is declared; `next_due` is the timer's instant + 1, the effect's `at` its instant.
- A clock is named by the event that started it: `clock_key` is its alerts' dedup key and the middle of
  its effect ids, so an event arriving late never renames a later cycle (`cycle` is only the display).
- A breach apology waits `APOLOGY_GRACE` after the breach and is never produced when the breach is gone.
- The fold is told the pages delivered and not resolved, and closes those the events no longer support.
- `settled` names the clocks stopped with nothing pending; plan fields are cleared by an explicit null.

Tables of hand-checked cases first, then properties that simulate deliveries arriving late, and a check
that the fold stays linear in the number of events.
"""

from __future__ import annotations

import gc
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from types import FrameType
from typing import Any

import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

import sla
from sla.catalog import Catalog
from sla.effects import Alert, Effect, Notification
from sla.events import AnyTicketEvent, EventDetail, SupportPlanChanged, TicketOpened
from sla.fold import APOLOGY_GRACE, fold
from sla.folded import Folded, clock_key
from tests.fold_helpers import (
    LEVELS,
    MINUTE,
    TICKET,
    ack,
    alerts,
    clock,
    clocks,
    default_catalog,
    epoch,
    hw_completed,
    hw_requested,
    iso,
    message,
    notifications,
    opened,
    plan,
    resolution_catalog,
    run,
    severity,
    status,
)
from tests.test_fold_properties import (
    PROPERTIES,
    START,
    Ticket,
    is_timer_effect,
    ticket_events,
    tickets,
)

T0 = epoch("2026-03-10T09:00:00Z")  # a Tuesday
PLAN_AT = "2026-01-05T09:00:00Z"
BUSINESS = plan(PLAN_AT, "business")  # critical: 30 min; warnings at 1/2 and 3/4; pages every 15 min
ENTERPRISE = plan(PLAN_AT, "enterprise")  # critical: 15 min; three warnings; pages every 10 min
DUE = T0 + 30 * MINUTE  # a business critical ticket opened at T0 is due then
OPEN_ID = "open-1"
FIRST = clock_key(TICKET, "first_response", OPEN_ID)


def t(minutes: float) -> int:
    return T0 + round(minutes * MINUTE)


def business_critical() -> list[EventDetail]:
    """A business critical ticket opened at T0 with no answer: due at DUE, paged at DUE and 15 min later."""
    return [opened(T0, "critical", event_id=OPEN_ID)]


def pages(folded: Folded, key: str | None = None) -> list[tuple[str, str, str]]:
    """The pager's view: (kind, route, instant) of every trigger, acknowledge and resolve, optionally of one key."""
    return [
        (a.kind, a.route, iso(a.at))
        for a in alerts(folded)
        if a.kind != "warning" and (key is None or a.dedup_key == key)
    ]


def test_the_grace_period_is_five_minutes() -> None:
    assert APOLOGY_GRACE == 300


def test_clock_key_names_the_ticket_the_metric_and_the_starting_event() -> None:
    assert clock_key("T-9", "next_response", "e-42") == "T-9/next_response/e-42"


# -- rule 1: every event stamped at an instant is known before a breach at that instant ----------------


@pytest.mark.parametrize("now", [DUE, DUE + 1], ids=["now=due", "now=due+1s"])
@pytest.mark.parametrize(
    ("note_sequence", "reply_sequence"),
    [(1, 2), (2, 1), (None, None)],
    ids=["note-then-reply", "reply-then-note", "no-sequence"],
)
@pytest.mark.parametrize("listed_first", ["note", "reply"])
def test_a_reply_at_the_due_instant_meets_the_clock_whatever_else_is_stamped_then(
    now: int, note_sequence: int | None, reply_sequence: int | None, listed_first: str
) -> None:
    note = message(DUE, "agent", "internal", sequence=note_sequence)
    reply = message(DUE, "agent", "public", sequence=reply_sequence)
    pair = [note, reply] if listed_first == "note" else [reply, note]
    folded = run([*business_critical(), *pair], [BUSINESS], now=now)
    first = clock(folded, "first_response")
    assert (first.state, first.stopped_at, first.breached_at) == ("met", DUE, None)
    assert [(a.kind, a.at) for a in alerts(folded)] == [("warning", t(15)), ("warning", t(22.5))]
    assert notifications(folded, "breach_apology") == []
    assert folded.next_due is None
    assert FIRST in folded.settled


@pytest.mark.parametrize(
    ("now", "state", "expected_pages", "next_due"),
    [
        (DUE, "running", [], DUE + 1),  # the reply stamped at the due instant may still come
        (DUE + 1, "breached", [("trigger", "oncall-l2", iso(DUE))], DUE + APOLOGY_GRACE + 1),
    ],
    ids=["at-the-due-instant", "a-second-later"],
)
def test_an_internal_note_alone_at_the_due_instant_breaches_only_once_the_instant_is_past(
    now: int, state: str, expected_pages: list[tuple[str, str, str]], next_due: int
) -> None:
    folded = run([*business_critical(), message(DUE, "agent", "internal")], [BUSINESS], now=now)
    assert clock(folded, "first_response").state == state
    assert pages(folded) == expected_pages
    assert folded.next_due == next_due


def test_the_commit_of_a_note_at_the_due_instant_sends_nothing_the_reply_must_undo() -> None:
    """The issue's orphan page: the note's commit at the due instant used to page before the reply was known."""
    note = message(DUE, "agent", "internal")
    reply = message(DUE, "agent", "public")
    note_commit = run([*business_critical(), note], [BUSINESS], now=DUE)
    both = [*business_critical(), note, reply]
    reply_commit = run(both, [BUSINESS], now=DUE)
    sweep = run(both, [BUSINESS], now=note_commit.next_due or 0)
    assert pages(note_commit) == pages(reply_commit) == pages(sweep) == []
    assert [e.effect_id for e in note_commit.effects] == [e.effect_id for e in sweep.effects]


def test_a_timer_effect_keeps_its_own_instant_whenever_the_fold_runs() -> None:
    late_sweep = run(business_critical(), [BUSINESS], now=DUE + 40 * MINUTE)
    assert pages(late_sweep) == [("trigger", "oncall-l2", iso(DUE)), ("trigger", "duty-manager", iso(t(45)))]


# -- rule 3: the apology waits a grace period --------------------------------------------------------------


APOLOGY = f"{TICKET}:notify:breach_apology:first_response:{OPEN_ID}"


@pytest.mark.parametrize(
    ("later_events", "now", "apologies", "expected_pages"),
    [
        pytest.param(
            [], DUE + APOLOGY_GRACE, [], [("trigger", "oncall-l2", iso(DUE))], id="within-the-grace"
        ),
        pytest.param(
            [],
            DUE + APOLOGY_GRACE + 1,
            [DUE + APOLOGY_GRACE],
            [("trigger", "oncall-l2", iso(DUE))],
            id="after-the-grace",
        ),
        pytest.param(
            [message(t(31))],
            DUE + APOLOGY_GRACE + 1,
            [DUE + APOLOGY_GRACE],  # answered late: the promise was still broken
            [("trigger", "oncall-l2", iso(DUE)), ("resolve", "oncall-l2", iso(t(31)))],
            id="met-within-the-grace",
        ),
        pytest.param(
            [status(t(31), "closed")],
            DUE + APOLOGY_GRACE + 1,
            [DUE + APOLOGY_GRACE],
            [("trigger", "oncall-l2", iso(DUE)), ("resolve", "oncall-l2", iso(t(31)))],
            id="closed-within-the-grace",
        ),
        pytest.param([message(t(29))], t(24 * 60), [], [], id="answered-before-the-due-time"),
        pytest.param([message(DUE)], t(24 * 60), [], [], id="answered-at-the-due-time"),
    ],
)
def test_the_apology_goes_out_a_grace_period_after_the_breach(
    later_events: list[EventDetail],
    now: int,
    apologies: list[int],
    expected_pages: list[tuple[str, str, str]],
) -> None:
    folded = run([*business_critical(), *later_events], [BUSINESS], now=now)
    sent = notifications(folded, "breach_apology")
    assert [n.at for n in sent] == apologies
    assert all((n.effect_id, n.clock_key, n.data["due_at"]) == (APOLOGY, FIRST, DUE) for n in sent)
    assert pages(folded) == expected_pages


def test_a_reply_stamped_before_the_due_time_that_arrives_within_the_grace_cancels_the_apology() -> None:
    """Paged at once (the page is closed again), but the customer is never told of a breach that was not."""
    paged = run(business_critical(), [BUSINESS], now=DUE + 1)
    assert pages(paged) == [("trigger", "oncall-l2", iso(DUE))]
    assert paged.next_due == DUE + APOLOGY_GRACE + 1  # the apology is pending
    assert FIRST not in paged.settled
    late_reply = message(t(29))
    refold = run(
        [*business_critical(), late_reply],
        [BUSINESS],
        now=DUE + APOLOGY_GRACE + 1,
        delivered={FIRST: ["oncall-l2"]},
    )
    assert notifications(refold, "breach_apology") == []
    # Resolved when the engine learns of the reply (the fold's now), never stamped before the page it closes.
    assert pages(refold) == [("resolve", "oncall-l2", iso(DUE + APOLOGY_GRACE + 1))]
    assert clock(refold, "first_response").state == "met"
    assert refold.next_due is None


def test_a_hardware_apology_names_the_request() -> None:
    request = hw_requested(t(1), "disk", event_id="hw-1")  # hot swap on business: 4 h, due t(241)
    folded = run([*business_critical(), message(t(1)), request], [BUSINESS], now=t(24 * 60))
    (apology,) = notifications(folded, "breach_apology")
    key = clock_key(TICKET, "hardware_replacement", "hw-1")
    assert (apology.effect_id, apology.at, apology.clock_key) == (
        f"{TICKET}:notify:breach_apology:hardware_replacement:hw-1",
        t(241) + APOLOGY_GRACE,
        key,
    )


# -- rule 2: cycle identity by cause -------------------------------------------------------------------------


def test_every_effect_is_named_by_the_clock_that_caused_it() -> None:
    events = [
        *business_critical(),
        hw_requested(t(1), "disk", event_id="hw-1"),
        hw_requested(t(2), "cpu", event_id="hw-2"),  # a board on business: 12 h, never completed
        message(t(40)),
        hw_completed(t(50), "disk"),
        status(t(60), "resolved"),
    ]
    folded = run(events, [BUSINESS], now=t(3 * 24 * 60))
    hw1 = clock_key(TICKET, "hardware_replacement", "hw-1")
    hw2 = clock_key(TICKET, "hardware_replacement", "hw-2")
    assert [(n.effect_id, n.clock_key) for n in notifications(folded)] == [
        ("T-1:notify:acknowledged:1", None),
        ("T-1:notify:hardware_scheduled:hw-1", hw1),
        ("T-1:notify:hardware_scheduled:hw-2", hw2),
        (f"T-1:notify:breach_apology:first_response:{OPEN_ID}", FIRST),
        ("T-1:notify:hardware_completed:hw-1", hw1),
        ("T-1:notify:survey:1", None),
        ("T-1:notify:breach_apology:hardware_replacement:hw-2", hw2),
    ]
    for alert in alerts(folded):
        assert alert.clock_key == alert.dedup_key
        metric, cause = alert.dedup_key.split("/")[1:]
        assert alert.effect_id.startswith(f"T-1:{metric}:{cause}:{alert.kind}:")
    assert {a.dedup_key for a in alerts(folded)} == {FIRST, hw2}
    assert folded.state is not None
    assert [(c.metric, c.cause) for c in folded.state.clocks] == [
        ("first_response", OPEN_ID),
        ("hardware_replacement", "hw-1"),
        ("hardware_replacement", "hw-2"),
    ]


ASK_1, ANSWER_1, ASK_2 = "ask-1", "answer-1", "ask-2"
LATER = clock_key(TICKET, "next_response", ASK_2)
EARLIER = clock_key(TICKET, "next_response", ASK_1)


def enterprise_exchange() -> list[EventDetail]:
    """First response in time, then a customer question at t(60) left unanswered: due t(75), three pages."""
    return [
        opened(T0, "critical", event_id=OPEN_ID),
        message(t(5)),
        message(t(60), "customer", event_id=ASK_2),
    ]


@pytest.mark.parametrize(
    ("answered_at", "earlier_pages"),
    [
        (25, []),  # within its 15 minutes: nothing at all for the earlier cycle
        (40, [("trigger", "oncall-l2", iso(t(35))), ("resolve", "oncall-l2", iso(t(40)))]),
    ],
    ids=["answered-in-time", "answered-late"],
)
def test_a_late_earlier_exchange_never_renames_a_later_paged_cycle(
    answered_at: int, earlier_pages: list[tuple[str, str, str]]
) -> None:
    """The issue's enterprise example: cycle breached and paged three routes, then an earlier customer message
    and its reply arrive late. The paged cycle keeps its dedup key and its effect ids: no new trigger for it."""
    first = run(enterprise_exchange(), [ENTERPRISE], now=t(100))
    assert pages(first) == [
        ("trigger", "oncall-l2", iso(t(75))),
        ("trigger", "duty-manager", iso(t(85))),
        ("trigger", "account-manager", iso(t(95))),
    ]
    assert {a.dedup_key for a in alerts(first, metric="next_response")} == {LATER}
    assert clock(first, "next_response").cycle == 1
    delivered = {LATER: ["oncall-l2", "duty-manager", "account-manager"]}

    late = [message(t(20), "customer", event_id=ASK_1), message(t(answered_at), event_id=ANSWER_1)]
    refold = run([*enterprise_exchange(), *late], [ENTERPRISE], now=t(101), delivered=delivered)
    later_clock = clock(refold, "next_response", cycle=2)  # the display position moved...
    assert later_clock.cause == ASK_2  # ...its identity did not
    later_effects = [a for a in alerts(refold) if a.dedup_key == LATER]
    assert [a.effect_id for a in later_effects] == [
        a.effect_id for a in alerts(first, metric="next_response")
    ]
    assert {a.cycle for a in later_effects} == {2}
    assert pages(refold, LATER) == pages(first)
    assert pages(refold, EARLIER) == earlier_pages
    assert clock(refold, "next_response", cycle=1).cause == ASK_1
    new_ids = {e.effect_id for e in refold.effects} - {e.effect_id for e in first.effects}
    assert all(EARLIER.replace("/", ":") in i for i in new_ids), new_ids  # only the earlier cycle is new
    assert bool(new_ids) == bool(earlier_pages)  # and it is silent when answered in time

    answered = run(
        [*enterprise_exchange(), *late, message(t(110))], [ENTERPRISE], now=t(111), delivered=delivered
    )
    assert pages(answered, LATER)[3:] == [
        ("resolve", "oncall-l2", iso(t(110))),
        ("resolve", "duty-manager", iso(t(110))),
        ("resolve", "account-manager", iso(t(110))),
    ]


# -- rule 4: what was delivered is closed ----------------------------------------------------------------------


def resolve(key: str, route: str, at: int) -> tuple[str, str, str, str]:
    metric, cause = key.split("/")[1:]
    return (f"{TICKET}:{metric}:{cause}:resolve:{route}", key, route, iso(at))


def resolves(folded: Folded) -> list[tuple[str, str, str, str]]:
    return [(a.effect_id, a.dedup_key, a.route, iso(a.at)) for a in alerts(folded, "resolve")]


NEXT_ASKED = clock_key(TICKET, "next_response", ASK_2)
HW = clock_key(TICKET, "hardware_replacement", "hw-1")


@dataclass(frozen=True)
class Delivery:
    """A ticket folded at `paged_at` (its pages delivered), then again at `refold_at` with late events."""

    events: Sequence[EventDetail]
    paged_at: int
    key: str
    late: Sequence[EventDetail]
    refold_at: int
    resolved: Sequence[tuple[str, str, str, str]]
    state: str | None  # the delivered clock's state in the re-fold; None when it is gone


DELIVERIES = {
    "met-by-a-late-reply": Delivery(
        business_critical(),
        DUE + 1,
        FIRST,
        [message(t(29))],
        t(40),
        [resolve(FIRST, "oncall-l2", t(40))],  # at the refold's now, after the page it closes
        "met",
    ),
    "cancelled-by-a-late-close": Delivery(
        business_critical(),
        DUE + 1,
        FIRST,
        [status(t(20), "closed")],
        t(40),
        [resolve(FIRST, "oncall-l2", t(40))],  # at the refold's now, after the page it closes
        "cancelled",
    ),
    "gone-merged-into-an-earlier-cycle": Delivery(
        # business critical: the question at t(60) is due t(90); one asked at t(50) makes it wait for the
        # same reply, so its cycle is gone: its page is resolved at `now`, and the earlier one pages.
        [*business_critical(), message(t(5)), message(t(60), "customer", event_id=ASK_2)],
        t(91),
        NEXT_ASKED,
        [message(t(50), "customer", event_id=ASK_1)],
        t(93),
        [resolve(NEXT_ASKED, "oncall-l2", t(93))],
        None,
    ),
    "running-after-a-late-severity-change": Delivery(
        business_critical(), DUE + 1, FIRST, [severity(t(10), "low")], t(40), [], "running"
    ),
    "paused-by-a-late-wait-on-the-customer": Delivery(
        # disk on business: 4 h from t(1); the wait stamped at t(200) stops the count before the breach
        [*business_critical(), message(t(1)), hw_requested(t(1), "disk", event_id="hw-1")],
        t(242),
        HW,
        [status(t(200), "pending_customer")],
        t(250),
        [],
        "paused",
    ),
}


@pytest.mark.parametrize("case", DELIVERIES.values(), ids=DELIVERIES.keys())
def test_a_delivered_page_is_resolved_when_its_clock_no_longer_breaches_and_kept_while_it_runs(
    case: Delivery,
) -> None:
    paged = run(case.events, [BUSINESS], now=case.paged_at)
    assert [(a.route, a.dedup_key) for a in alerts(paged, "trigger")][-1] == ("oncall-l2", case.key)
    delivered = {case.key: ["oncall-l2"]}
    refold = run([*case.events, *case.late], [BUSINESS], now=case.refold_at, delivered=delivered)
    assert resolves(refold) == list(case.resolved)
    assert not [a for a in alerts(refold, "trigger") if a.dedup_key == case.key]
    for a in alerts(refold, "resolve"):
        assert (a.clock_key, a.kind) == (a.dedup_key, "resolve")
    assert refold.state is not None
    states = [c.state for c in refold.state.clocks if clock_key(TICKET, c.metric, c.cause) == case.key]
    assert states == ([case.state] if case.state else [])
    assert (case.key in refold.settled) == (case.state in ("met", "cancelled"))
    # Nothing delivered, nothing to close: the same events without the outbox's word resolve nothing.
    assert resolves(run([*case.events, *case.late], [BUSINESS], now=case.refold_at)) == []


def test_a_page_kept_open_while_its_clock_runs_is_resolved_when_the_clock_is_met() -> None:
    events = [*business_critical(), severity(t(10), "low"), message(t(50))]
    folded = run(events, [BUSINESS], now=t(51), delivered={FIRST: ["oncall-l2"]})
    assert resolves(folded) == [resolve(FIRST, "oncall-l2", t(51))]  # decided by this fold, at its now
    assert clock(folded, "first_response").state == "met"


def test_an_orphan_resolve_has_the_id_of_a_normal_resolve() -> None:
    """The outbox keeps one resolve per page whichever way the fold came to it."""
    normal = run([*business_critical(), message(t(31))], [BUSINESS], now=t(40))
    orphan = run(
        [*business_critical(), message(t(29))], [BUSINESS], now=t(40), delivered={FIRST: ["oncall-l2"]}
    )
    assert [a.effect_id for a in alerts(normal, "resolve")] == [
        a.effect_id for a in alerts(orphan, "resolve")
    ]
    (closing,) = alerts(orphan, "resolve")
    assert (closing.metric, closing.cycle, closing.step, closing.due_at, closing.support_level) == (
        "first_response",
        1,
        0,
        DUE,
        "business",
    )


def test_a_late_acknowledgement_goes_to_every_route_delivered_and_so_does_the_resolve() -> None:
    """Paged at t(30) and t(45); the acknowledgement stamped t(40) arrives after the second page went out."""
    paged = run(business_critical(), [BUSINESS], now=t(46))
    assert pages(paged) == [("trigger", "oncall-l2", iso(t(30))), ("trigger", "duty-manager", iso(t(45)))]
    delivered = {FIRST: ["oncall-l2", "duty-manager"]}
    events = [*business_critical(), ack(t(40), "first_response")]
    acked = run(events, [BUSINESS], now=t(47), delivered=delivered)
    assert pages(acked) == [
        ("trigger", "oncall-l2", iso(t(30))),
        ("acknowledge", "oncall-l2", iso(t(40))),
        ("acknowledge", "duty-manager", iso(t(40))),
    ]
    assert {a.effect_id for a in alerts(acked, "acknowledge")} == {
        f"T-1:first_response:{OPEN_ID}:acknowledge:oncall-l2",
        f"T-1:first_response:{OPEN_ID}:acknowledge:duty-manager",
    }
    answered = run([*events, message(t(50))], [BUSINESS], now=t(51), delivered=delivered)
    assert resolves(answered) == [resolve(FIRST, "oncall-l2", t(50)), resolve(FIRST, "duty-manager", t(50))]


def test_a_breach_moved_later_by_a_late_event_resolves_every_route_delivered() -> None:
    """Enterprise critical paged three routes from t(15); a severity change stamped t(10) arrives late and
    moves the breach to t(30); answered at t(36), the re-fold resolves all three, not only its own page."""
    paged = run([opened(T0, "critical", event_id=OPEN_ID)], [ENTERPRISE], now=t(36))
    assert [a.route for a in alerts(paged, "trigger")] == ["oncall-l2", "duty-manager", "account-manager"]
    delivered = {FIRST: ["oncall-l2", "duty-manager", "account-manager"]}
    events = [opened(T0, "critical", event_id=OPEN_ID), severity(t(10), "high"), message(t(36))]
    refold = run(events, [ENTERPRISE], now=t(37), delivered=delivered)
    assert clock(refold, "first_response").breached_at == t(30)
    assert pages(refold) == [
        ("trigger", "oncall-l2", iso(t(30))),
        ("resolve", "oncall-l2", iso(t(36))),
        ("resolve", "duty-manager", iso(t(36))),
        ("resolve", "account-manager", iso(t(36))),
    ]


# -- rule 5: settled ---------------------------------------------------------------------------------------------


SETTLED_CASES = [
    # (id, events, now, expected settled keys)
    ("running", [], t(10), set()),
    ("met-before-the-due-time", [message(t(10))], t(11), {FIRST}),
    ("cancelled", [status(t(10), "closed")], t(11), {FIRST}),
    ("breached-and-open", [], DUE + APOLOGY_GRACE + 1, set()),
    ("breached-acknowledged-open", [ack(t(31), "first_response")], t(24 * 60), set()),
    ("breached-met-apology-pending", [message(t(31))], DUE + APOLOGY_GRACE, set()),
    ("breached-met-apology-sent", [message(t(31))], DUE + APOLOGY_GRACE + 1, {FIRST}),
]


@pytest.mark.parametrize(
    ("events", "now", "settled"), [c[1:] for c in SETTLED_CASES], ids=[c[0] for c in SETTLED_CASES]
)
def test_settled_names_the_clocks_stopped_with_nothing_pending(
    events: list[EventDetail], now: int, settled: set[str]
) -> None:
    folded = run([*business_critical(), *events], [BUSINESS], now=now)
    assert folded.settled == settled


def test_a_breached_next_response_is_settled_when_met_as_it_has_no_apology() -> None:
    events = [*business_critical(), message(t(5)), message(t(10), "customer", event_id=ASK_2), message(t(41))]
    folded = run(events, [BUSINESS], now=t(41))
    assert clock(folded, "next_response").state == "breached"
    assert folded.settled == {FIRST, NEXT_ASKED}


def test_a_clock_of_a_closed_ticket_is_settled() -> None:
    catalog = resolution_catalog()
    resolution = clock_key(TICKET, "resolution", OPEN_ID)
    events = [*business_critical(), message(t(5)), status(t(60), "resolved"), status(t(65), "closed")]
    assert run(events, [BUSINESS], now=t(66), catalog=catalog).settled == {FIRST, resolution}


def test_a_settled_clock_says_nothing_more_when_the_ticket_is_reopened() -> None:
    """The store keeps only the key of a settled clock and drops every later effect under it, so a clock
    that events coming in order can bring back must not be settled: the resolution clock of a resolved
    ticket, which a reopening resumes with its elapsed time (SPEC section 4), then warns and breaches.

    FAILS with the fold as it stands: the met resolution clock is settled at t(61) and the reopened one
    keeps its key, so its warnings and its page at t(250) would never leave the store.
    """
    catalog = resolution_catalog()  # business critical: resolution in 4 h
    events = [*business_critical(), message(t(5)), status(t(60), "resolved")]
    resolved = run(events, [BUSINESS], now=t(61), catalog=catalog)
    assert FIRST in resolved.settled
    reopened = run([*events, status(t(70), "open")], [BUSINESS], now=t(300), catalog=catalog)
    resumed = clock(reopened, "resolution")
    assert (resumed.state, resumed.breached_at) == ("breached", t(250))  # 1 h used, 3 h more from t(70)
    later = [e for e in reopened.effects if e not in resolved.effects]
    assert [(a.kind, a.at) for a in alerts(reopened, metric="resolution")] == [
        ("warning", t(130)),
        ("warning", t(190)),
        ("trigger", t(250)),
        ("trigger", t(265)),
    ]
    assert {e.clock_key for e in later} & resolved.settled == set()


STATUS_HEAVY = ("message", "message", "status", "status", "status", "hw_requested", "hw_completed", "ack")


@PROPERTIES
@given(st.one_of(tickets(), tickets(kinds=STATUS_HEAVY)), st.data())
def test_a_settled_clock_says_nothing_more_when_events_come_in_order(
    ticket: Ticket, data: st.DataObject
) -> None:
    """What the store relies on: once settled, a clock has no effect left to send, whatever events stamped
    after the fold come next (late events aside: they rewrite history the store has already sent).

    The fold is cut just after one of the ticket's events, where a clock has just stopped.
    """
    cut = data.draw(st.sampled_from(sorted({stamp(e) for e in ticket.events}))) + data.draw(
        st.sampled_from((0, 1))
    )
    known = [e for e in ticket.events if stamp(e) <= cut]
    earlier = run(known, ticket.plans, now=cut, catalog=ticket.catalog)
    then = run(
        ticket.events, ticket.plans, now=max(cut, ticket.now) + 3 * 24 * 60 * MINUTE, catalog=ticket.catalog
    )
    new = [e for e in then.effects if e not in earlier.effects]
    assert [e for e in new if e.clock_key in earlier.settled] == []


# -- rule 6: an explicit null clears a plan field ------------------------------------------------------------


FULL_PLAN = plan(
    PLAN_AT,
    "business",
    timezone="America/New_York",
    country="US",
    locale="fr",
    contact_email="ops@client.fr",
)


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        (plan(t(-60), "business"), ("fr", "America/New_York", "ops@client.fr")),
        (plan(t(-60), "business", clear=["contact_email"]), ("fr", "America/New_York", None)),
        (plan(t(-60), "business", clear=["timezone"]), ("fr", "Europe/Paris", "ops@client.fr")),
        (plan(t(-60), "business", clear=["locale"]), ("en", "America/New_York", "ops@client.fr")),
        (
            plan(t(-60), "business", clear=["timezone", "country", "locale", "contact_email"]),
            ("en", "Europe/Paris", None),
        ),
        (
            plan(t(-60), "business", timezone="Europe/Moscow", locale="ru", contact_email="noc@client.ru"),
            ("ru", "Europe/Moscow", "noc@client.ru"),
        ),
    ],
    ids=["absent-keeps", "null-email", "null-timezone", "null-locale", "null-all", "new-values"],
)
def test_an_explicit_null_clears_a_plan_field_and_an_absent_one_keeps_it(
    change: SupportPlanChanged, expected: tuple[str, str, str | None]
) -> None:
    folded = run(business_critical(), [FULL_PLAN, change], now=t(0))
    (sent,) = notifications(folded, "acknowledged")
    assert (sent.locale, sent.timezone, sent.contact_email) == expected


def test_a_cleared_email_stays_cleared_until_a_new_one_is_given() -> None:
    plans = [FULL_PLAN, plan(t(-60), "business", clear=["contact_email"]), plan(t(10), "business")]
    plans.append(plan(t(20), "business", contact_email="new@client.fr"))
    events = [*business_critical(), hw_requested(t(15), "disk"), hw_completed(t(25), "disk")]
    folded = run(events, plans, now=t(30))
    assert [(n.kind, n.contact_email) for n in notifications(folded)] == [
        ("acknowledged", None),
        ("hardware_scheduled", None),
        ("hardware_completed", "new@client.fr"),
    ]


@pytest.mark.parametrize(
    ("clear", "due"),
    [
        ([], "2026-07-14T11:00:00+02:00"),  # absent: still the US, where 14 July is a working day
        (["country"], "2026-07-15T09:00:00+02:00"),  # null: back to FR, where it is a holiday
    ],
    ids=["absent-keeps-US", "null-back-to-FR"],
)
def test_a_cleared_country_goes_back_to_the_default_holidays(clear: list[str], due: str) -> None:
    """Premium counts office hours with the country's public holidays: 1 h for a critical ticket."""
    plans = [
        plan(PLAN_AT, "premium", timezone="Europe/Paris", country="US"),
        plan("2026-07-01T00:00:00Z", "premium", clear=clear),
    ]
    folded = run(
        [opened("2026-07-14T10:00:00+02:00", "critical")], plans, now=epoch("2026-07-14T10:00:00+02:00")
    )
    assert iso(clock(folded, "first_response").due_at or 0) == iso(epoch(due))


# -- properties: deliveries that arrive late -----------------------------------------------------------------


@dataclass
class Outbox:
    """What a store would do with folds: send each effect id once, and remember the pages left open."""

    sent: dict[str, Effect] = field(default_factory=dict)
    paged: set[tuple[str, str]] = field(default_factory=set)  # (dedup key, route) ever triggered
    open_pages: dict[str, list[str]] = field(default_factory=dict)

    def delivered(self) -> dict[str, list[str]]:
        return {key: list(routes) for key, routes in self.open_pages.items() if routes}

    def send(self, folded: Folded) -> None:
        ids = [e.effect_id for e in folded.effects]
        assert len(ids) == len(set(ids)), "an effect id twice in one fold"
        for effect in folded.effects:
            if effect.effect_id in self.sent:
                continue
            self.sent[effect.effect_id] = effect
            if not isinstance(effect, Alert) or effect.kind == "warning":
                continue
            route = effect.delivered_to  # where the page went, on duty (SPEC section 6)
            page = (effect.dedup_key, route)
            routes = self.open_pages.setdefault(effect.dedup_key, [])
            if effect.kind == "trigger":
                self.paged.add(page)
                if route not in routes:
                    routes.append(route)
            else:
                assert page in self.paged, f"{effect.kind} of a page never triggered: {effect}"
                if effect.kind == "resolve" and route in routes:
                    routes.remove(route)


@dataclass(frozen=True)
class Arrival:
    at: int  # when the engine receives the event: its stamp plus a delivery delay
    event: AnyTicketEvent | SupportPlanChanged


def stamp(event: EventDetail) -> int:
    return epoch(event.occurred_at.isoformat())


def simulate(arrivals: list[Arrival], sweeps: list[int], catalog: Catalog) -> tuple[Outbox, Folded]:
    """Fold on each arrival (one commit per event, in arrival order), at each sweep and at each `next_due`,
    with what has arrived so far and what the outbox says is open; then once more long after everything."""
    outbox = Outbox()
    events: list[AnyTicketEvent] = []
    plans: list[SupportPlanChanged] = []
    pending = sorted(arrivals, key=lambda a: a.at)
    sweeps = sorted(sweeps)
    due: int | None = None

    def fold_at(now: int) -> Folded:
        folded = fold(TICKET, events, plans, catalog, now, outbox.delivered())
        assert folded.next_due is None or folded.next_due > now
        outbox.send(folded)
        return folded

    for _ in range(5_000):
        upcoming = (pending[0].at if pending else None, sweeps[0] if sweeps else None, due)
        candidates = [c for c in upcoming if c is not None]
        if not candidates:
            break
        now = min(candidates)
        if pending and pending[0].at == now:
            event = pending.pop(0).event
            (plans if isinstance(event, SupportPlanChanged) else events).append(event)  # type: ignore[arg-type]
        elif sweeps and sweeps[0] == now:
            sweeps.pop(0)
        due = fold_at(now).next_due
    else:
        raise AssertionError("the sweeper never caught up")
    end = max(a.at for a in arrivals) + 60 * 24 * 60 * MINUTE
    return outbox, fold_at(end)


@st.composite
def busy_tickets(draw: st.DrawFn) -> Ticket:
    """The first three hours of a ticket on a level with short targets, its events on a five-minute grid:
    they fall on due instants and ladder steps, where a late event undoes a breach already paged."""
    opened_at = START + draw(st.integers(0, 7 * 24)) * 60 * MINUTE
    level = draw(st.sampled_from(("premium", "business", "enterprise")))
    plans = [plan(opened_at - 24 * 60 * MINUTE, level)]
    if draw(st.booleans()):
        at = opened_at + draw(st.integers(0, 36)) * 5 * MINUTE
        plans.append(plan(at, draw(st.sampled_from(LEVELS)), contact_email="ops@example.com"))
    grid = st.one_of(st.integers(-1, 36).map(lambda n: n * 5), st.integers(-5, 180))
    events = draw(ticket_events(opened_at, at_offsets=grid))
    now = opened_at + draw(st.integers(0, 5 * 60)) * MINUTE
    catalog = draw(st.sampled_from((default_catalog(), resolution_catalog())))
    return Ticket(events, plans, now, catalog)


@st.composite
def with_events_at_timer_instants(draw: st.DrawFn, ticket: Ticket) -> Ticket:
    """The ticket with a few more events stamped at (or a second off) the instants its timers fire: where
    a fold that declared a breach before all of an instant's events were known would page for nothing."""
    folded = run(ticket.events, ticket.plans, now=ticket.now + 3 * 24 * 60 * MINUTE, catalog=ticket.catalog)
    assert folded.state is not None or not any(isinstance(e, TicketOpened) for e in ticket.events)
    instants = sorted(
        {c.due_at for c in (folded.state.clocks if folded.state else ()) if c.due_at is not None}
        | {a.at for a in alerts(folded)}
    )
    if not instants:
        return ticket
    extra: list[AnyTicketEvent] = []
    for _ in range(draw(st.integers(0, 3))):
        at = draw(st.sampled_from(instants)) + draw(st.sampled_from((-1, 0, 0, 0, 1)))
        kind = draw(st.sampled_from(("reply", "reply", "question", "ack", "status", "severity")))
        if kind == "reply":
            extra.append(message(at))
        elif kind == "question":
            extra.append(message(at, "customer"))
        elif kind == "ack":
            extra.append(
                ack(at, draw(st.sampled_from(("first_response", "next_response", "hardware_replacement"))))
            )
        elif kind == "status":
            extra.append(
                status(at, draw(st.sampled_from(("pending_customer", "open", "resolved", "closed"))))
            )
        else:
            extra.append(severity(at, draw(st.sampled_from(("critical", "high", "medium", "low")))))
    return Ticket([*ticket.events, *extra], ticket.plans, ticket.now, ticket.catalog)


@st.composite
def deliveries(draw: st.DrawFn, max_delay: int) -> tuple[Ticket, list[Arrival], list[int]]:
    """A ticket, each of its events and plan changes arriving `max_delay` seconds late at most, and sweeps."""
    ticket = draw(st.one_of(tickets(), busy_tickets()))
    ticket = draw(with_events_at_timer_instants(ticket))
    # An internal note stamped with some of the events: a commit of that instant that precedes or follows
    # the event's own, and changes nothing else (a timer at that instant must not fire in it).
    notes = [message(stamp(e), "agent", "internal") for e in ticket.events[1:] if draw(st.booleans())]
    ticket = Ticket([*ticket.events, *notes], ticket.plans, ticket.now, ticket.catalog)
    everything: list[AnyTicketEvent | SupportPlanChanged] = [*ticket.events, *ticket.plans]
    order = draw(st.permutations(range(len(everything))))  # who goes first among same-second arrivals
    spread = [d for d in (1, 60, 299, APOLOGY_GRACE, 600, 1_800, 3_600, 7_200) if d <= max_delay]
    delays = st.one_of(st.just(0), st.sampled_from(spread or [0]), st.integers(0, max_delay))
    arrivals: list[Arrival] = []
    for index in order:
        event = everything[index]
        delay = draw(delays) if max_delay else 0
        arrivals.append(Arrival(stamp(event) + delay, event))
    opened_at = stamp(ticket.events[0])
    sweeps = draw(st.lists(st.integers(0, 4 * 24 * 60).map(lambda m: opened_at + m * MINUTE), max_size=5))
    return ticket, arrivals, sweeps


def open_clock_keys(folded: Folded) -> set[str]:
    assert folded.state is not None
    return {clock_key(TICKET, c.metric, c.cause) for c in folded.state.clocks if c.stopped_at is None}


@PROPERTIES
@given(deliveries(max_delay=0))
def test_delivered_on_time_every_page_warning_and_apology_sent_is_in_the_final_fold(
    delivery: tuple[Ticket, list[Arrival], list[int]],
) -> None:
    """Events arriving when stamped, one commit each (so same-second events arrive in separate commits):
    whatever a timer fired along the way is exactly what the whole history fires."""
    ticket, arrivals, sweeps = delivery
    outbox, final = simulate(arrivals, sweeps, ticket.catalog)
    for effect in outbox.sent.values():
        if is_timer_effect(effect):
            assert effect in final.effects, effect
    assert {k for k, routes in outbox.open_pages.items() if routes} <= open_clock_keys(final)


@PROPERTIES
@given(deliveries(max_delay=APOLOGY_GRACE))
def test_delivered_within_the_grace_every_apology_sent_is_in_the_final_fold(
    delivery: tuple[Ticket, list[Arrival], list[int]],
) -> None:
    """An event may arrive up to the grace period after its stamp: a page may have to be taken back,
    an apology never."""
    ticket, arrivals, sweeps = delivery
    outbox, final = simulate(arrivals, sweeps, ticket.catalog)
    final_apologies = {n.effect_id for n in notifications(final, "breach_apology")}
    sent_apologies = {e.effect_id for e in outbox.sent.values() if isinstance(e, Notification)}
    assert {i for i in sent_apologies if ":breach_apology:" in i} <= final_apologies
    assert {k for k, routes in outbox.open_pages.items() if routes} <= open_clock_keys(final)


@PROPERTIES
@given(deliveries(max_delay=2 * 3600))
def test_delivered_up_to_two_hours_late_every_page_sent_is_closed_unless_its_clock_is_open(
    delivery: tuple[Ticket, list[Arrival], list[int]],
) -> None:
    """The pager's incidents end up matching the history: each (dedup key, route) triggered is resolved
    unless its clock, as all the events have it, is still open; nothing is resolved that was not paged."""
    ticket, arrivals, sweeps = delivery
    outbox, final = simulate(arrivals, sweeps, ticket.catalog)
    assert {k for k, routes in outbox.open_pages.items() if routes} <= open_clock_keys(final)
    final_without_outbox = run(ticket.events, ticket.plans, now=final_now(arrivals), catalog=ticket.catalog)
    assert final.state == final_without_outbox.state
    for effect in final_without_outbox.effects:
        if is_timer_effect(effect):
            assert effect.effect_id in outbox.sent  # every page the history calls for went out


def final_now(arrivals: list[Arrival]) -> int:
    return max(a.at for a in arrivals) + 60 * 24 * 60 * MINUTE


@PROPERTIES
@given(tickets(), st.data())
def test_a_late_earlier_exchange_never_changes_a_later_next_response_cycle(
    ticket: Ticket, data: st.DataObject
) -> None:
    """Give a random ticket a next_response cycle (a reply, then a customer's question a minute later), then
    add a customer message and a reply stamped before that question: the cycle keeps its key and its alerts."""
    opened_at = stamp(ticket.events[0])
    reply_at = opened_at + data.draw(st.integers(3, 3 * 24 * 60)) * MINUTE
    question = message(reply_at + MINUTE, "customer")
    events = [*ticket.events, message(reply_at), question]
    key = clock_key(TICKET, "next_response", question.event_id)
    before = run(events, ticket.plans, now=ticket.now, catalog=ticket.catalog)
    assume(
        before.state is not None
        and key in {clock_key(TICKET, c.metric, c.cause) for c in before.state.clocks}
    )
    asked = data.draw(st.integers(opened_at // MINUTE + 1, reply_at // MINUTE - 1)) * MINUTE
    answered = data.draw(st.integers(asked // MINUTE + 1, reply_at // MINUTE)) * MINUTE
    late = [message(asked, "customer"), message(answered)]
    after = run([*events, *late], ticket.plans, now=ticket.now, catalog=ticket.catalog)

    def of_the_cycle(folded: Folded) -> list[tuple[str, int, str, str, str]]:
        return [
            (a.effect_id, a.at, a.kind, a.route, a.dedup_key) for a in alerts(folded) if a.clock_key == key
        ]

    assert of_the_cycle(after) == of_the_cycle(before)
    assert after.state is not None and before.state is not None
    (moved,) = [c for c in after.state.clocks if c.metric == "next_response" and c.cause == question.event_id]
    (kept,) = [c for c in before.state.clocks if c.metric == "next_response" and c.cause == question.event_id]
    assert (moved.started_at, moved.due_at, moved.state, moved.stopped_at) == (
        kept.started_at,
        kept.due_at,
        kept.state,
        kept.stopped_at,
    )


# -- rule 7: linear in the number of events ------------------------------------------------------------------


def conversation(exchanges: int) -> list[AnyTicketEvent]:
    """A ticket of `exchanges` questions each answered five minutes later, on the 24/7 business level."""
    events: list[AnyTicketEvent] = [opened(T0, "medium")]
    for n in range(exchanges):
        events.append(message(T0 + (10 * n + 1) * MINUTE, "customer"))
        events.append(message(T0 + (10 * n + 6) * MINUTE))
    return events


CONVERSATION_NOW = T0 + 10_001 * 10 * MINUTE


def fold_conversation(events: list[AnyTicketEvent]) -> Folded:
    return fold(TICKET, events, [BUSINESS], default_catalog(), CONVERSATION_NOW)


def lines_run(events: list[AnyTicketEvent]) -> int:
    """Lines of `sla` executed by one fold: an operation count that no machine load can disturb."""
    root = str(Path(sla.__file__).parent)
    count = 0

    def in_sla(frame: FrameType, event: str, arg: object) -> Any:
        nonlocal count
        count += event == "line"
        return in_sla

    def on_call(frame: FrameType, event: str, arg: object) -> Any:
        return in_sla if frame.f_code.co_filename.startswith(root) else None

    previous = sys.gettrace()
    sys.settrace(on_call)
    try:
        fold_conversation(events)
    finally:
        sys.settrace(previous)
    return count


def cpu_time(events: list[AnyTicketEvent]) -> float:
    """CPU time of one fold, not wall time, so that the load of other processes does not count."""
    started = time.process_time()
    fold_conversation(events)
    return time.process_time() - started


SMALL, LARGE = conversation(100), conversation(1_000)


def test_the_conversations_are_what_they_say() -> None:
    assert (len(SMALL), len(LARGE)) == (201, 2_001)
    folded = fold_conversation(LARGE)
    # The first question waits for the first response; each later one starts a next_response cycle.
    assert len(clocks(folded, "next_response")) == 999
    assert alerts(folded) == []


def test_folding_ten_times_the_events_runs_at_most_ten_times_the_lines() -> None:
    """The issue measured a quadratic fold (224 ms for 2,000 events against 0.96 ms for 100): each event
    visited every cycle the ticket ever had. Linear, 10 times the events is at most 10 times the work."""
    ratio = lines_run(LARGE) / lines_run(SMALL)
    assert ratio <= 10, f"2,000 events ran {ratio:.1f} times the lines of 200"


def test_folding_ten_times_the_events_takes_about_ten_times_as_long() -> None:
    """The same in CPU time, measured in one run: the least of several interleaved rounds of each, so that a
    disturbance hits both sizes alike. 20 leaves room for caches and noise; a quadratic fold takes 100 times."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        for _ in range(3):
            cpu_time(SMALL)  # warm the calendar caches
        small, large = float("inf"), float("inf")
        for _ in range(9):
            large = min(large, cpu_time(LARGE))
            small = min(small, *(cpu_time(SMALL) for _ in range(5)))
    finally:
        if enabled:
            gc.enable()
    ratio = large / small
    assert ratio < 20, f"2,000 events took {ratio:.1f} times as long as 200"


def test_a_breach_that_comes_back_after_its_pages_were_withdrawn_pages_again_as_new_effects() -> None:
    """A late reply undid the breach and its page was resolved; an even later event brings the breach back:
    the store counts the withdrawal, and the fold's pages then carry fresh ids (same dedup key), so they go
    out again instead of being taken for the ones already sent and closed."""
    first = run(business_critical(), [BUSINESS], now=DUE + 1)
    again = run(business_critical(), [BUSINESS], now=DUE + 1, withdrawn={FIRST: 1})
    before = [(a.effect_id, a.dedup_key) for a in alerts(first, "trigger")]
    after = [(a.effect_id, a.dedup_key) for a in alerts(again, "trigger")]
    assert [key for _, key in after] == [key for _, key in before] == [FIRST]
    assert [effect_id for effect_id, _ in after] == [f"{effect_id}@1" for effect_id, _ in before]
    warnings = [a.effect_id for a in alerts(again, "warning")]
    assert warnings == [a.effect_id for a in alerts(first, "warning")]  # warnings are not pages: not again
