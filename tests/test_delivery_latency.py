"""The pages actually sent always close, whatever the delivery latency (issue 7, item 12).

The six-event ticket of `tests.order_ticket` (a premium customer's `high` ticket: the public reply meets the
first response, the customer's follow-up starts a next response, the severity goes to `critical`, so it is
breached at 10:30 and pages oncall-l2, then duty-manager at 11:00) runs through the whole deployed pipeline
(`LocalEngine`: the ingest, sweeper and notifier handlers on moto, with a simulated clock) with each event
delivered a random delay after it happened: 0 to 2 minutes (the queue's ordinary latency) and up to 2 hours
(an outage: deliveries after the timers they should have stopped). Ten runs each, from a fixed seed, each run
its own ticket and customer, the ten on one engine and timeline; every other run has a seventh event, the
agent's answer at 11:10, after which every clock of the ticket has stopped.

What is checked, per run, on what the engine sent: per dedup key and route, the PagerDuty requests the
notifier made (`engine.http.requests`: trigger, acknowledge, resolve) and the alerts of the outbox. Every
trigger is followed by a resolve by the end, unless the final state (the fold of all the events, at the end)
has that clock breached and still open; no resolve ever comes before its trigger; no effect is written twice.

Same-instant events: an internal note and the public agent reply stamped at exactly a clock's due instant (the
first response's, 11:05, and the next response's, 10:30), delivered one after the other at that instant in
both orders, or the second 30 s later: no page is sent at all, and no apology. A timer fires only once the
engine's clock is past its instant (README, "Order"). The story on time, with and without the answer, checks
the checks: it pages both routes of its ladder, and the answer resolves them.
"""

from __future__ import annotations

import json
import random
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest

from infra.settings import PAGERDUTY_EVENTS_URL
from infra.views import iso
from local.engine import LocalEngine
from sla.events import AnyTicketEvent, SupportPlanChanged, parse_detail
from sla.fold import fold
from sla.folded import Folded, clock_key
from tests.conftest import CATALOG, TableSnapshots, epoch, eventbridge
from tests.delivery_harness import (
    DAY,
    MINUTE,
    PageHistory,
    drop_stream_records,
    outbox_pages,
    pagerduty_pages,
)
from tests.order_ticket import SIX, at

SEED = 20260414
RUNS = 10
START = epoch(at("08:00"))
ANSWER = ("Ticket Message Posted", {"event_id": "order-answer", "occurred_at": at("11:10"), "author": "agent",
                                    "visibility": "public", "message_id": "m-4"})  # fmt: skip


@dataclass(frozen=True)
class Delivery:
    arrival: int
    body: str
    event_id: str
    occurred_at: int


@dataclass
class Run:
    """One ticket's story: its events, when each arrived, and (once run) what the engine sent for it."""

    name: str
    ticket_id: str
    customer_id: str
    events: list[dict[str, Any]]
    deliveries: list[Delivery] = field(default_factory=list)
    batches: list[list[Delivery]] = field(default_factory=list)  # deliveries made together, one SQS batch
    pagerduty: PageHistory = field(default_factory=PageHistory)
    outbox: list[dict[str, Any]] = field(default_factory=list)

    def final_fold(self, now: int) -> Folded:
        parsed = [parse_detail(e["detail-type"], e["detail"]) for e in self.events]
        events = [p for p in parsed if isinstance(p, AnyTicketEvent)]
        plans = [p for p in parsed if isinstance(p, SupportPlanChanged)]
        return fold(self.ticket_id, events, plans, CATALOG, now, delivered={})

    def timeline(self) -> str:
        return "\n".join(
            f"  {d.event_id}: stamped {iso(d.occurred_at)}, delivered {iso(d.arrival)}"
            f" ({d.arrival - d.occurred_at} s late)"
            for d in sorted(self.deliveries, key=lambda d: d.arrival)
        )


def story(name: str, details: list[tuple[str, dict[str, Any]]]) -> Run:
    """The events of `details` (order_ticket's shapes) as one ticket of its own customer, ids suffixed."""
    ticket, customer = f"T-{name}", f"C-{name}"
    events = []
    for detail_type, detail in details:
        ids: dict[str, str] = {"customer_id": customer, "event_id": f"{detail['event_id']}-{name}"}
        if detail_type != "Support Plan Changed":
            ids["ticket_id"] = ticket
        events.append(eventbridge(detail_type, {**detail, **ids}))
    return Run(name, ticket, customer, events)


def delayed(run: Run, rng: random.Random, max_delay: int) -> Run:
    for event in run.events:
        occurred = epoch(event["detail"]["occurred_at"])
        arrival = occurred + rng.randint(0, max_delay)
        run.batches.append([Delivery(arrival, json.dumps(event), event["detail"]["event_id"], occurred)])
    run.deliveries = [d for batch in run.batches for d in batch]
    return run


def play(runs: list[Run]) -> int:
    """Every run's batches on one engine, in order of arrival; returns the final now (a day after the last)."""
    batches = sorted(
        ((batch[0].arrival, index, batch) for index, run in enumerate(runs) for batch in run.batches),
        key=lambda row: (row[0], row[1]),
    )
    final = max(arrival for arrival, _, _ in batches) + DAY
    with LocalEngine(start=START) as engine:
        table = TableSnapshots(engine.resources.table_name)
        for arrival, _, batch in batches:
            engine.advance_to(arrival)
            answer = engine.deliver([d.body for d in batch])
            assert not answer.get("batchItemFailures"), f"{[d.event_id for d in batch]}: {answer}"
            drop_stream_records(table)
        engine.advance_to(final)
        engine.sweep()
        rows = engine.outbox()
        for run in runs:
            run.pagerduty = pagerduty_pages(
                (
                    r
                    for r in engine.http.requests
                    if r.document.get("dedup_key", "").startswith(f"{run.ticket_id}/")
                ),
                lambda url: url == PAGERDUTY_EVENTS_URL,
            )
            run.outbox = [row for row in rows if row["ticket_id"] == run.ticket_id]
    return final


def problems(run: Run, final: int) -> list[str]:
    """What is wrong with the pages sent for a run: open pages whose clock is not still breached, resolves
    before their trigger, effects written twice."""
    folded = run.final_fold(final)
    assert folded.state is not None
    clocks = {clock_key(run.ticket_id, c.metric, c.cause): c for c in folded.state.clocks}
    found = []
    for source, history in (("PagerDuty", run.pagerduty), ("outbox", outbox_pages(run.outbox))):
        for (key, route), actions in sorted(history.resolved_before_triggered().items()):
            found.append(f"{source}: {key} at {route}: a resolve before its trigger {actions}")
        for (key, route), actions in sorted(history.open().items()):
            clock = clocks.get(key)
            if clock is not None and clock.state == "breached" and clock.stopped_at is None:
                continue
            where = "nowhere" if clock is None else f"{clock.state}, stopped at {iso(clock.stopped_at or 0)}"
            found.append(
                f"{source}: {key} at {route} never resolved {actions}; the final state has it {where}"
            )
    ids = [row["effect_id"] for row in run.outbox]
    found.extend(f"outbox: {i} written twice" for i in sorted({i for i in ids if ids.count(i) > 1}))
    return found


def report(run: Run, final: int, found: list[str]) -> str:
    sent = "\n".join(
        f"  {row['at']} {row['effect_id']} -> {row['channels']}"
        for row in run.outbox
        if row["type"] == "alert"
    )
    return "\n".join(
        [f"run {run.name}:", *found, "deliveries:", run.timeline(), "alerts in the outbox:", sent or "  none"]
    )


# -- random delivery latency ------------------------------------------------------------------------------------

REGIMES = {"0-2min": 2 * MINUTE, "0-2h": 2 * 60 * MINUTE}


@pytest.fixture(scope="module", params=list(REGIMES))
def latency_runs(request: pytest.FixtureRequest) -> Iterator[tuple[list[Run], int]]:
    """Ten runs of one regime on one engine: the six events alone, and (every other run) with the answer."""
    regime: str = request.param
    rng = random.Random(f"{SEED}/{regime}")
    runs = [
        delayed(story(f"{regime}-{n}", [*SIX, ANSWER] if n % 2 else list(SIX)), rng, REGIMES[regime])
        for n in range(RUNS)
    ]
    yield runs, play(runs)


def test_the_pages_sent_always_close_whatever_the_delivery_delay(latency_runs: tuple[list[Run], int]) -> None:
    runs, final = latency_runs
    failures = [report(run, final, found) for run in runs if (found := problems(run, final))]
    assert not failures, f"{len(failures)} of {len(runs)} runs left pages open:\n" + "\n\n".join(failures)


# -- events stamped at a clock's due instant ---------------------------------------------------------------------

FIRST_RESPONSE_DUE = at("11:05")  # premium high, opened 09:05: two business hours
NEXT_RESPONSE_DUE = at("10:30")  # the follow-up at 09:30, critical from 09:40: one hour


@dataclass(frozen=True)
class SameInstant:
    clock: str  # which clock's due instant the two events are stamped at
    first: str  # "note" or "reply": delivered first
    how: str  # "apart": delivered one after the other at the due instant; "lag": the second 30 s later

    @property
    def name(self) -> str:
        return f"{self.clock}-{self.first}-first-{self.how}"


SAME_INSTANT = [
    SameInstant(clock, first, how)
    for clock in ("first_response", "next_response")
    for first in ("note", "reply")
    for how in ("apart", "lag")
]


def same_instant_run(case: SameInstant) -> Run:
    due = FIRST_RESPONSE_DUE if case.clock == "first_response" else NEXT_RESPONSE_DUE
    if case.clock == "first_response":  # the ticket without its reply, follow-up and severity change
        details = [d for d in SIX if d[1]["event_id"] in ("order-plan", "order-opened")]
    else:
        details = list(SIX)
    note = ("Ticket Message Posted", {"event_id": "order-due-note", "occurred_at": due, "author": "agent",
                                      "visibility": "internal", "message_id": "m-due-note"})  # fmt: skip
    reply = ("Ticket Message Posted", {"event_id": "order-due-reply", "occurred_at": due, "author": "agent",
                                       "visibility": "public", "message_id": "m-due-reply"})  # fmt: skip
    pair = [note, reply] if case.first == "note" else [reply, note]
    run = story(case.name, [*details, *pair])
    on_time = [
        Delivery(
            epoch(e["detail"]["occurred_at"]),
            json.dumps(e),
            e["detail"]["event_id"],
            epoch(e["detail"]["occurred_at"]),
        )
        for e in run.events
    ]
    *before, one, two = on_time
    if case.how == "lag":
        run.batches = [[d] for d in before] + [
            [one],
            [Delivery(two.arrival + 30, two.body, two.event_id, two.occurred_at)],
        ]
    else:
        run.batches = [[d] for d in on_time]
    run.deliveries = [d for batch in run.batches for d in batch]
    return run


def on_time(run: Run) -> Run:
    for event in run.events:
        occurred = epoch(event["detail"]["occurred_at"])
        run.batches.append([Delivery(occurred, json.dumps(event), event["detail"]["event_id"], occurred)])
    run.deliveries = [d for batch in run.batches for d in batch]
    return run


@pytest.fixture(scope="module")
def same_instant_runs() -> Iterator[tuple[dict[str, Run], int]]:
    """The same-instant cases, and the story on time with and without the answer, played on one engine."""
    runs = {case.name: same_instant_run(case) for case in SAME_INSTANT}
    runs["on-time"] = on_time(story("on-time", list(SIX)))
    runs["on-time-answered"] = on_time(story("on-time-answered", [*SIX, ANSWER]))
    final = play(list(runs.values()))
    yield runs, final


@pytest.mark.parametrize("answered", [False, True], ids=["six", "answered"])
def test_on_time_the_story_pages_its_ladder_and_the_answer_resolves_it(
    same_instant_runs: tuple[dict[str, Run], int], answered: bool
) -> None:
    """A check of the checks above: on time, the six-event ticket pages both PagerDuty routes of its ladder
    (10:30 and 11:00) and leaves them open, its clock still breached; the answer at 11:10 resolves both."""
    runs, final = same_instant_runs
    run = runs["on-time-answered" if answered else "on-time"]
    key = f"{run.ticket_id}/next_response/order-follow-up-{run.name}"
    expected = ["trigger", "resolve"] if answered else ["trigger"]
    assert {k for k, _ in run.pagerduty.actions} == {key}, report(run, final, [])
    assert sorted(run.pagerduty.actions.values()) == [expected, expected], report(run, final, [])
    assert problems(run, final) == []


@pytest.mark.parametrize("case", SAME_INSTANT, ids=lambda case: case.name)
def test_a_note_and_a_reply_at_the_due_instant_send_no_page_in_any_order(
    same_instant_runs: tuple[dict[str, Run], int], case: SameInstant
) -> None:
    runs, final = same_instant_runs
    run = runs[case.name]
    triggers = [row["effect_id"] for row in run.outbox if row["type"] == "alert" and row["kind"] == "trigger"]
    apologies = [row["effect_id"] for row in run.outbox if row.get("kind") == "breach_apology"]
    assert (run.pagerduty.actions, triggers, apologies) == ({}, [], []), report(run, final, [])
    folded = run.final_fold(final)
    assert folded.state is not None
    assert all(c.breached_at is None for c in folded.state.clocks)
