"""The SweeperFunction on moto: due timers fire once, on time or late, whoever else is working the ticket.

What is checked is what on-call would see (SPEC sections 4 to 6): the warning, breach and ladder pages of a
clock at their instants, stopped by an acknowledgement and closed by a resolve when the commitment is met,
each page once per (ticket, metric, cycle, step) however often events are redelivered and however many
sweeps run at once; and what the operator pays for: a sweep reads the due timers, never the whole table.

Most tests drive the deployed handlers through `LocalEngine` (ingest and sweeper as SQS and the schedule
would call them, at a simulated now). The races run `infra.sweep.sweep` and `TicketService` in two threads,
each with its own boto3 client, on the one moto backend. moto is not thread-safe: a transaction that fails
restores a deep copy of the whole table taken when it began, which would undo the other thread's writes,
and that deep copy fails outright ("dictionary changed size during iteration") when the other thread writes
while it is taken. DynamoDB applies each request atomically, so the race tests serialise moto's request dispatch with a lock
(`atomic_moto`); the requests of the two threads still interleave freely, which is the race under test.
"""

from __future__ import annotations

import itertools
import json
import threading
from collections import Counter
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
from moto.core.botocore_stubber import BotocoreStubber
from moto.dynamodb.models import dynamodb_backends

from functions import sweeper
from infra.store import Store, TicketRecord
from infra.store.records import clock_digest
from infra.store.timers import DUE_SHARDS, DueReader, TimerIndex, due_shard
from infra.sweep import SweepReport, sweep
from infra.ticket_service import Outcome, TicketService
from local.engine import ACCOUNT, REGION, FakeLambdaContext, LocalEngine
from sla.effects import Alert, Effect
from sla.fold import APOLOGY_GRACE
from tests.conftest import epoch, eventbridge, unmarshal
from tests.fold_helpers import iso

MINUTE = 60
HOUR = 3600
T0 = epoch("2026-04-07T09:00:00Z")  # a Tuesday; business and enterprise count 24/7, so any instant would do
ENTERPRISE, BUSINESS = "C-ENT", "C-BIZ"
# Enterprise critical (SPEC section 2): 15 min to first response, warnings at 0.5, 0.75 and 0.9 of it, and
# after the breach a ladder of three routes, one more every 10 min without acknowledgement.
DUE = T0 + 15 * MINUTE
ENTERPRISE_LADDER = ("oncall-l2", "duty-manager", "account-manager")
ACK_TIMEOUT = 10 * MINUTE
WARNINGS = (T0 + 7 * MINUTE + 30, T0 + 11 * MINUTE + 15, T0 + 13 * MINUTE + 30)
LEASE = 120
PAGE_SIZE, MAX_PAGES = 100, 20
BARRIER_TIMEOUT = 10.0  # seconds: a thread that never arrives fails the test instead of hanging it

_ids = itertools.count(1)


# -- events, as the control panel publishes them --------------------------------------------------------------


def _body(detail_type: str, at: int, **fields: Any) -> str:
    detail = {"event_id": f"sweep-e{next(_ids):05d}", "occurred_at": iso(at), **fields}
    return json.dumps(eventbridge(detail_type, detail))


def plan_body(customer: str, level: str, at: int) -> str:
    return _body("Support Plan Changed", at, customer_id=customer, support_level=level)


def opened_body(ticket: str, customer: str, severity: str, at: int) -> str:
    return _body(
        "Ticket Opened", at, ticket_id=ticket, customer_id=customer, severity=severity, subject="Server down"
    )


def reply_body(ticket: str, customer: str, at: int, author: str = "agent") -> str:
    return _body(
        "Ticket Message Posted",
        at,
        ticket_id=ticket,
        customer_id=customer,
        author=author,
        visibility="public",
        message_id=f"m-{next(_ids)}",
    )


def ack_body(ticket: str, metric: str, at: int) -> str:
    """On-call tools do not know the customer: the acknowledgement names the ticket and the metric only."""
    return _body("Alert Acknowledged", at, ticket_id=ticket, metric=metric, acknowledged_by="alice")


def event_id(body: str) -> str:
    """The event id a body carries: a clock is named by the event that started it (SPEC section 4)."""
    found: str = json.loads(body)["detail"]["event_id"]
    return found


def first_response_key(ticket: str, opened: str) -> str:
    """The dedup key of the first-response clock that the Ticket Opened event `opened` started."""
    return f"{ticket}/first_response/{opened}"


# -- the engine and what it wrote -----------------------------------------------------------------------------


@pytest.fixture(scope="module")
def local_engine() -> Iterator[LocalEngine]:
    """One engine for the module: starting one (moto, the template's resources, botocore's models) costs
    more than a second, and every test here needs one."""
    with LocalEngine(start=T0 - HOUR) as local:
        # The outbox is the sweeper's output; delivering it is the notifier's job (tests/test_notifier.py),
        # and running it after every delivery and sweep would double the cost of this module.
        local.notify = lambda: None  # type: ignore[method-assign]
        yield local


@pytest.fixture
def engine(local_engine: LocalEngine) -> LocalEngine:
    """The module's engine with an empty table, its clock an hour before T0, and the two customers' plans."""
    wipe(local_engine)
    deliver(local_engine, T0 - HOUR, plan_body(ENTERPRISE, "enterprise", T0 - HOUR))
    deliver(local_engine, T0 - HOUR, plan_body(BUSINESS, "business", T0 - HOUR))
    return local_engine


def wipe(engine: LocalEngine) -> None:
    """Delete every item, so no earlier test's timer is due in this one.

    moto's record of the table stream is emptied too: nothing reads it (the engine rebuilds stream events
    from the table) and moto deep-copies it for every item of every transaction, so it would slow each
    test down by the writes of all the tests before it.
    """
    client, table = engine.dynamodb, engine.resources.table_name
    kwargs: dict[str, Any] = {"TableName": table, "ProjectionExpression": "pk, sk"}
    keys: list[dict[str, Any]] = []
    while True:
        page = client.scan(**kwargs)
        keys.extend(page["Items"])
        if "LastEvaluatedKey" not in page:
            break
        kwargs["ExclusiveStartKey"] = page["LastEvaluatedKey"]
    for start in range(0, len(keys), 25):
        batch = [{"DeleteRequest": {"Key": key}} for key in keys[start : start + 25]]
        client.batch_write_item(RequestItems={table: batch})
    forget_stream(engine)
    engine.now = T0 - HOUR


def forget_stream(engine: LocalEngine) -> None:
    stream = dynamodb_backends[ACCOUNT][REGION].get_table(engine.resources.table_name).stream_shard
    if stream is not None:
        stream.items.clear()


def deliver(engine: LocalEngine, at: int, *bodies: str) -> None:
    """One SQS batch through the IngestFunction handler at `at`: events reach the engine only as the queue
    would hand them over, and a record the handler gives back for retry fails the test where it happened."""
    engine.now = at
    assert engine.deliver(list(bodies)) == {"batchItemFailures": []}


def sweep_at(engine: LocalEngine, at: int) -> dict[str, Any]:
    """One run of the SweeperFunction handler at `at`; the tests pick the minutes the schedule would hit."""
    engine.now = at
    return engine.sweep()


def open_ticket(engine: LocalEngine, ticket: str, at: int = T0, severity: str = "critical") -> str:
    """Open a ticket; returns the Ticket Opened's event id, which names the clocks it starts."""
    body = opened_body(ticket, ENTERPRISE, severity, at)
    deliver(engine, at, body)
    return event_id(body)


def alerts(engine: LocalEngine, ticket: str | None = None, kind: str | None = None) -> list[dict[str, Any]]:
    return [
        e
        for e in engine.outbox()
        if e["type"] == "alert"
        and (ticket is None or e["ticket_id"] == ticket)
        and (kind is None or e["kind"] == kind)
    ]


def rows(effects: list[dict[str, Any]]) -> list[tuple[str, str, str]]:
    """Alerts as (logical instant, kind, route), for expectations a reader can check against SPEC."""
    return [(e["at"], e["kind"], e["route"]) for e in effects]


def ticket_item(engine: LocalEngine, ticket: str, sort: str) -> dict[str, Any]:
    found = engine.dynamodb.get_item(
        TableName=engine.resources.table_name,
        Key={"pk": {"S": f"TICKET#{ticket}"}, "sk": {"S": sort}},
        ConsistentRead=True,
    )
    return unmarshal(found["Item"])


def timer_item(engine: LocalEngine, ticket: str) -> dict[str, Any]:
    return ticket_item(engine, ticket, "TIMER")


def state_version(engine: LocalEngine, ticket: str) -> int:
    return int(ticket_item(engine, ticket, "STATE")["version"])


def own_service(engine: LocalEngine, meet_after_loading: threading.Barrier | None = None) -> TicketService:
    """A TicketService with its own boto3 client, as a second Lambda instance would have (one session, whose
    loaded service models the clients share, because loading them costs a third of a second)."""
    client = engine.session.client("dynamodb")
    table = engine.resources.table_name
    store = (
        Store(client, table)
        if meet_after_loading is None
        else _MeetAfterLoading(client, table, meet_after_loading)
    )
    return TicketService(store, engine.service.catalog)


def run_sweep(
    service: TicketService, now: int, page_size: int = PAGE_SIZE, max_pages: int = MAX_PAGES
) -> SweepReport:
    return sweep(service, now, page_size, max_pages, LEASE)


# -- a sweep fires what is due, on time ------------------------------------------------------------------------


def test_a_due_timer_fires_at_the_first_sweep_after_it_and_the_timer_moves_to_the_next_step(
    engine: LocalEngine,
) -> None:
    opened = open_ticket(engine, "T-1")

    # Every minute before the due time: the warnings, each at the first sweep after its fraction, no page.
    for minute in range(1, 15):
        sweep_at(engine, T0 + minute * MINUTE)
    warnings = alerts(engine, "T-1")
    assert rows(warnings) == [(iso(at), "warning", "oncall-l2") for at in WARNINGS]
    assert [w["emitted_at"] for w in warnings] == [T0 + 8 * MINUTE, T0 + 12 * MINUTE, T0 + 14 * MINUTE]
    assert [w["fraction"] for w in warnings] == [0.5, 0.75, 0.9]
    # A timer fires once now is past its instant: the breach at DUE is due in the index one second later.
    assert timer_item(engine, "T-1")["due_at"] == DUE + 1
    due = int(timer_item(engine, "T-1")["due_at"])

    # The sweep at the very due instant fires nothing: a reply stamped at DUE may still be on its way.
    before = engine.outbox()
    assert sweep_at(engine, DUE)["items_read"] == 0
    assert engine.outbox() == before

    assert sweep_at(engine, DUE + MINUTE) == {
        "items_read": 1,
        "claimed": 1,
        "skipped": 0,
        "failed": 0,
        "effects": 1,  # the first page; the customer's apology waits for its grace period
        "more": False,
        "backlog": 0,
        "oldest_due_lag": DUE + MINUTE - due,  # how long the timer had waited for this sweep
    }

    (trigger,) = alerts(engine, "T-1", "trigger")
    assert (trigger["at"], trigger["route"], trigger["step"]) == (iso(DUE), "oncall-l2", 0)
    assert trigger["dedup_key"] == first_response_key("T-1", opened)
    assert trigger["emitted_at"] == DUE + MINUTE
    assert {w["dedup_key"] for w in warnings} == {trigger["dedup_key"]}

    def apologies() -> list[dict[str, Any]]:
        return [e for e in engine.outbox() if e["type"] == "notification" and e["kind"] == "breach_apology"]

    assert apologies() == []
    assert timer_item(engine, "T-1")["due_at"] == DUE + APOLOGY_GRACE + 1
    sweep_at(engine, DUE + APOLOGY_GRACE)  # at the apology's own instant: not yet
    assert apologies() == []
    sweep_at(engine, DUE + APOLOGY_GRACE + MINUTE)
    assert [(e["ticket_id"], e["at"], e["emitted_at"]) for e in apologies()] == [
        ("T-1", iso(DUE + APOLOGY_GRACE), DUE + APOLOGY_GRACE + MINUTE)
    ]
    (apology,) = apologies()
    assert apology["effect_id"] == f"T-1:notify:breach_apology:first_response:{opened}"
    assert apology["data"]["due_at"] == iso(DUE)  # it apologises for the breach at the due time
    assert alerts(engine, "T-1", "trigger") == [trigger]  # no page in between
    # The timer now waits for the second step of the ladder, in the due-index under its new instant.
    timer = timer_item(engine, "T-1")
    assert timer["due_at"] == DUE + ACK_TIMEOUT + 1
    assert (timer["gsi1pk"], timer["gsi1sk"]) == (due_shard("T-1"), f"{DUE + ACK_TIMEOUT + 1:012d}#T-1")
    # The commit that moved the timer released the sweep's claim and reset its attempts.
    assert "claimed_until" not in timer and "attempts" not in timer


def test_a_sweep_before_anything_is_due_reads_nothing_and_writes_nothing(engine: LocalEngine) -> None:
    open_ticket(engine, "T-1")
    before = engine.outbox()

    assert sweep_at(engine, WARNINGS[0] - 1) == {
        "items_read": 0,
        "claimed": 0,
        "skipped": 0,
        "failed": 0,
        "effects": 0,
        "more": False,
        "backlog": 0,
        "oldest_due_lag": 0,
    }
    assert engine.outbox() == before
    assert state_version(engine, "T-1") == 1


# -- the escalation ladder ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("customer", "due", "ladder", "ack_timeout"),
    [
        # SPEC section 2: enterprise critical is due in 15 min, three routes 10 min apart...
        (ENTERPRISE, T0 + 15 * MINUTE, ENTERPRISE_LADDER, 10 * MINUTE),
        # ...business critical in 30 min, two routes 15 min apart.
        (BUSINESS, T0 + 30 * MINUTE, ("oncall-l2", "duty-manager"), 15 * MINUTE),
    ],
    ids=["enterprise", "business"],
)
def test_without_acknowledgement_the_ladder_pages_each_route_one_ack_timeout_apart_then_stops(
    engine: LocalEngine, customer: str, due: int, ladder: tuple[str, ...], ack_timeout: int
) -> None:
    opened = opened_body("T-1", customer, "critical", T0)
    deliver(engine, T0, opened)

    engine.advance_to(T0 + 6 * HOUR)  # the every-minute sweeper, through the whole ladder and well beyond

    triggers = alerts(engine, "T-1", "trigger")
    assert rows(triggers) == [
        (iso(due + step * ack_timeout), "trigger", route) for step, route in enumerate(ladder)
    ]
    assert [t["step"] for t in triggers] == list(range(len(ladder)))
    # Each step at its instant, sent by the first sweep after it: the minute's sweep at the step's own
    # instant leaves it for the next one (an acknowledgement stamped at that instant may still arrive).
    assert [t["emitted_at"] for t in triggers] == [
        due + step * ack_timeout + MINUTE for step in range(len(ladder))
    ]
    assert {t["dedup_key"] for t in triggers} == {first_response_key("T-1", event_id(opened))}
    # Out of routes: nothing left to fire, so the ticket is out of the due-index and no sweep reads it.
    timer = timer_item(engine, "T-1")
    assert "gsi1pk" not in timer and "gsi1sk" not in timer
    assert engine.store.next_timer() is None
    assert sweep_at(engine, T0 + 2 * 24 * HOUR) == {
        "items_read": 0,
        "claimed": 0,
        "skipped": 0,
        "failed": 0,
        "effects": 0,
        "more": False,
        "backlog": 0,
        "oldest_due_lag": 0,
    }


def test_an_acknowledgement_through_ingest_stops_the_ladder(engine: LocalEngine) -> None:
    opened = open_ticket(engine, "T-1")
    engine.advance_to(DUE + 3 * MINUTE)
    assert rows(alerts(engine, "T-1", "trigger")) == [(iso(DUE), "trigger", "oncall-l2")]

    deliver(engine, DUE + 3 * MINUTE, ack_body("T-1", "first_response", DUE + 3 * MINUTE))
    engine.advance_to(DUE + 6 * HOUR)

    assert engine.rejections() == []
    assert rows(alerts(engine, "T-1", "trigger")) == [(iso(DUE), "trigger", "oncall-l2")]
    (acknowledged,) = alerts(engine, "T-1", "acknowledge")
    assert (acknowledged["at"], acknowledged["route"]) == (iso(DUE + 3 * MINUTE), "oncall-l2")
    assert acknowledged["dedup_key"] == first_response_key("T-1", opened)
    assert "gsi1sk" not in timer_item(engine, "T-1")


def test_an_acknowledgement_at_a_step_instant_stops_that_step(engine: LocalEngine) -> None:
    """At one instant events come before timers: an ack stamped at the second step's instant prevents it."""
    open_ticket(engine, "T-1")
    engine.advance_to(DUE + 5 * MINUTE)

    deliver(engine, DUE + ACK_TIMEOUT, ack_body("T-1", "first_response", DUE + ACK_TIMEOUT))
    sweep_at(engine, DUE + ACK_TIMEOUT + MINUTE)

    assert [t["route"] for t in alerts(engine, "T-1", "trigger")] == ["oncall-l2"]


# -- resolve when the commitment is met --------------------------------------------------------------------------


def test_an_agent_reply_after_the_breach_resolves_every_paged_route_and_empties_the_timer(
    engine: LocalEngine,
) -> None:
    opened = open_ticket(engine, "T-1")
    # The every-minute sweeper has paged oncall-l2 and duty-manager, not yet account-manager.
    engine.advance_to(DUE + ACK_TIMEOUT + 2 * MINUTE)
    assert [t["route"] for t in alerts(engine, "T-1", "trigger")] == ["oncall-l2", "duty-manager"]
    assert timer_item(engine, "T-1")["due_at"] == DUE + 2 * ACK_TIMEOUT + 1  # the third step, once past

    met = DUE + ACK_TIMEOUT + 2 * MINUTE
    deliver(engine, met, reply_body("T-1", ENTERPRISE, met))

    resolves = alerts(engine, "T-1", "resolve")
    assert sorted(rows(resolves)) == [
        (iso(met), "resolve", "duty-manager"),
        (iso(met), "resolve", "oncall-l2"),
    ]
    assert {r["dedup_key"] for r in resolves} == {first_response_key("T-1", opened)}
    timer = timer_item(engine, "T-1")
    assert "gsi1pk" not in timer and "gsi1sk" not in timer and timer.get("due_at") is None
    (clock,) = engine.service.view("T-1", met).state.clocks  # type: ignore[union-attr]
    assert (clock.state, clock.stopped_at) == ("breached", met)  # breached is final; the page is closed

    before = engine.outbox()
    engine.advance_to(DUE + 6 * HOUR)
    assert sweep_at(engine, DUE + 6 * HOUR) == {
        "items_read": 0,
        "claimed": 0,
        "skipped": 0,
        "failed": 0,
        "effects": 0,
        "more": False,
        "backlog": 0,
        "oldest_due_lag": 0,
    }
    assert engine.outbox() == before  # no page to account-manager, no second resolve


# -- exactly once ------------------------------------------------------------------------------------------------


def page_counts(engine: LocalEngine) -> Counter[tuple[Any, ...]]:
    """Alerts by what makes one page in SPEC's terms: (ticket, metric, cycle, kind, and the step of a
    trigger, the fraction of a warning or the route of an acknowledge or resolve)."""
    return Counter(
        (
            a["ticket_id"],
            a["metric"],
            a["cycle"],
            a["kind"],
            {"trigger": a["step"], "warning": a["fraction"]}.get(a["kind"], a["route"]),
        )
        for a in alerts(engine)
    )


def test_redelivered_events_after_the_sweeps_add_nothing_to_the_outbox(engine: LocalEngine) -> None:
    bodies = [opened_body("T-1", ENTERPRISE, "critical", T0)]
    deliver(engine, T0, *bodies)
    engine.advance_to(DUE + 3 * ACK_TIMEOUT)
    met = DUE + 3 * ACK_TIMEOUT
    bodies.append(reply_body("T-1", ENTERPRISE, met))
    deliver(engine, met, bodies[-1])
    before = engine.outbox()
    assert len(alerts(engine, "T-1", "trigger")) == 3 and len(alerts(engine, "T-1", "resolve")) == 3
    assert set(page_counts(engine).values()) == {1}

    # SQS redelivers the whole story, newest first, twice; the sweeper keeps running meanwhile.
    deliver(engine, met + HOUR, *reversed(bodies))
    sweep_at(engine, met + HOUR)
    deliver(engine, met + 2 * HOUR, *bodies)
    engine.advance_to(met + 24 * HOUR)
    sweep_at(engine, met + 24 * HOUR)

    assert engine.outbox() == before  # not one effect added, not one rewritten
    assert set(page_counts(engine).values()) == {1}
    assert engine.rejections() == []


@pytest.fixture
def atomic_moto(monkeypatch: pytest.MonkeyPatch) -> None:
    """One moto request at a time, as DynamoDB applies each request atomically (see the module's docstring)."""
    lock = threading.RLock()
    dispatch = BotocoreStubber.process_request

    def process_request(self: BotocoreStubber, request: Any) -> Any:
        with lock:
            return dispatch(self, request)

    monkeypatch.setattr(BotocoreStubber, "process_request", process_request)


def both(first: Callable[[], Any], second: Callable[[], Any]) -> tuple[Any, Any]:
    """Two calls in two threads, released together so neither finishes before the other has begun."""
    start = threading.Barrier(2, timeout=BARRIER_TIMEOUT)

    def at_start(call: Callable[[], Any]) -> Any:
        start.wait()
        return call()

    with ThreadPoolExecutor(max_workers=2) as pool:
        futures = [pool.submit(at_start, first), pool.submit(at_start, second)]
        return futures[0].result(), futures[1].result()


class _MeetAfterReading(TimerIndex):
    """A due-index whose sweep, once it has read the due timers, waits until the other sweep has read them too.

    That forces the worst interleaving: both sweeps hold the same timers and both try to claim each one.
    """

    def __init__(self, index: TimerIndex, barrier: threading.Barrier) -> None:
        super().__init__(index.client, index.table_name)
        self.barrier = barrier

    def due(self, now: int, page_size: int, max_pages: int) -> DueReader:
        reader = super().due(now, page_size, max_pages)
        reader.peek()  # the first page of every shard is read
        self.barrier.wait()
        return reader


def effect_ids(effects: list[Effect] | tuple[Effect, ...]) -> Counter[str]:
    return Counter(effect.effect_id for effect in effects)


@pytest.mark.usefixtures("atomic_moto")
@pytest.mark.parametrize("forced", [True, False], ids=["both-read-before-claiming", "free-race"])
def test_two_sweeps_at_once_fire_each_alert_once(engine: LocalEngine, forced: bool) -> None:
    tickets = ("T-1", "T-2", "T-3")
    opened = {ticket: open_ticket(engine, ticket) for ticket in tickets}
    # Three warnings, the breach, the first page and the apology (after its grace) of each ticket are due,
    # none fired; the second step is not due yet.
    now = DUE + APOLOGY_GRACE + MINUTE
    first, second = own_service(engine), own_service(engine)
    if forced:
        meet = threading.Barrier(2, timeout=BARRIER_TIMEOUT)
        for service in (first, second):
            service.store.timers = _MeetAfterReading(service.store.timers, meet)

    reports: tuple[SweepReport, SweepReport] = both(
        lambda: run_sweep(first, now), lambda: run_sweep(second, now)
    )

    claimed = sum(r.claimed for r in reports)
    skipped = sum(r.skipped for r in reports)
    assert claimed == len(tickets)  # each timer claimed by exactly one sweep
    assert skipped == sum(r.items_read for r in reports) - claimed
    if forced:
        assert [r.items_read for r in reports] == [3, 3] and skipped == 3
    fired = effect_ids([e for r in reports for e in r.effects])
    expected = {
        f"{ticket}:{suffix}"
        for ticket in tickets
        for suffix in (
            f"first_response:{opened[ticket]}:warning:0.5",
            f"first_response:{opened[ticket]}:warning:0.75",
            f"first_response:{opened[ticket]}:warning:0.9",
            f"first_response:{opened[ticket]}:trigger:0",
            f"notify:breach_apology:first_response:{opened[ticket]}",
        )
    }
    assert fired == Counter(expected)  # no effect handed to the outbox by both sweeps
    outbox = Counter(e["effect_id"] for e in engine.outbox())
    assert set(outbox.values()) == {1}
    assert expected <= set(outbox)
    for ticket in tickets:
        assert timer_item(engine, ticket)["due_at"] == DUE + ACK_TIMEOUT + 1  # the second step, once past
        assert state_version(engine, ticket) == 2  # opened, then one sweep's commit: no second commit


class _MeetAfterLoading(Store):
    """A store that, after its first read of a ticket, waits until the other writer has read it too.

    Both writers then fold the same version; one commits, the other's transaction fails on the version and
    it re-reads and re-folds: the conflict path, taken every time instead of by luck.
    """

    def __init__(self, client: Any, table_name: str, barrier: threading.Barrier) -> None:
        super().__init__(client, table_name)
        self.barrier: threading.Barrier | None = barrier
        self.loads = 0

    def load_ticket(self, ticket_id: str) -> TicketRecord:
        record = super().load_ticket(ticket_id)
        self.loads += 1
        if self.barrier is not None:
            barrier, self.barrier = self.barrier, None  # the retry after the conflict reads freely
            barrier.wait()
        return record


@pytest.mark.usefixtures("atomic_moto")
@pytest.mark.parametrize("forced", [True, False], ids=["both-read-before-writing", "free-race"])
def test_a_sweep_racing_an_ingest_on_the_same_ticket_leaves_each_effect_once(
    engine: LocalEngine, forced: bool
) -> None:
    opened = open_ticket(engine, "T-1")
    # The warnings, the breach, the first page and the apology (after its grace) are due; none fired yet.
    now = DUE + APOLOGY_GRACE + MINUTE
    meet = threading.Barrier(2, timeout=BARRIER_TIMEOUT) if forced else None
    sweeping, ingesting = own_service(engine, meet), own_service(engine, meet)
    reply = json.loads(reply_body("T-1", ENTERPRISE, now))  # the agent answers at now, after the breach

    report, outcome = both(
        lambda: run_sweep(sweeping, now), lambda: ingesting.accept(reply, now, fallback_id="sqs-1")
    )

    assert isinstance(report, SweepReport) and isinstance(outcome, Outcome)
    assert outcome.status == "accepted"
    # Forced, the sweep claimed before either wrote; free, the ingest may also have moved the timer first.
    if forced:
        assert report.claimed == 1
        # Three reads of the ticket: one each, then the loser's after its transaction failed on the version.
        loads = [service.store.loads for service in (sweeping, ingesting)]  # type: ignore[attr-defined]
        assert sorted(loads) == [1, 2]
    else:
        assert report.claimed + report.skipped == report.items_read <= 1
    fired = effect_ids([*report.effects, *outcome.effects])
    # Whoever commits first, the two writers together emit the fold of both at now, each effect once.
    assert fired == Counter(
        f"T-1:{suffix}"
        for suffix in (
            f"first_response:{opened}:warning:0.5",
            f"first_response:{opened}:warning:0.75",
            f"first_response:{opened}:warning:0.9",
            f"first_response:{opened}:trigger:0",
            f"notify:breach_apology:first_response:{opened}",
            f"first_response:{opened}:resolve:oncall-l2",
        )
    )
    assert set(Counter(e["effect_id"] for e in engine.outbox()).values()) == {1}
    # The state on record is the fold of both at now, whichever committed last: the clock breached at the
    # due time and was stopped by the reply, so the STATE item keeps no open clock, only the settled one's
    # digest, and none of its effect ids (a commit of the sweep's fold alone would have kept it open).
    state = ticket_item(engine, "T-1", "STATE")
    assert json.loads(state["state"])["clocks"] == []
    assert clock_digest(first_response_key("T-1", opened)) in (state.get("closed") or ())
    assert not [e for e in state.get("emitted") or () if e.startswith("T-1:first_response:")]
    (clock,) = engine.service.view("T-1", now).state.clocks  # type: ignore[union-attr]
    assert (clock.state, clock.breached_at, clock.stopped_at) == ("breached", DUE, now)
    assert "gsi1sk" not in timer_item(engine, "T-1")  # met: nothing left to fire
    assert run_sweep(own_service(engine), now + HOUR).items_read == 0


# -- catch-up after a sweeper outage -----------------------------------------------------------------------------


def test_one_sweep_after_an_hour_without_sweeps_fires_every_missed_timer_once_at_its_logical_time(
    engine: LocalEngine,
) -> None:
    deliver(engine, T0, opened_body("T-A", ENTERPRISE, "critical", T0))  # 15 min
    deliver(engine, T0 + 10 * MINUTE, opened_body("T-B", ENTERPRISE, "high", T0 + 10 * MINUTE))  # 30 min
    deliver(engine, T0 + 20 * MINUTE, opened_body("T-C", BUSINESS, "critical", T0 + 20 * MINUTE))  # 30 min
    deliver(engine, T0 + 30 * MINUTE, opened_body("T-D", BUSINESS, "high", T0 + 30 * MINUTE))  # 60 min
    assert alerts(engine) == []  # no sweep ran during the hour
    # What falls due at the hour's very instant (T-B's third step, T-D's first warning) is not yet due then:
    # a timer fires once now is past it. The first sweep after the outage, a minute later, takes all four.
    (at_the_hour, _) = engine.store.due_timers(T0 + HOUR, 10)
    assert {timer.ticket_id for timer in at_the_hour} == {"T-A", "T-B", "T-C"}
    end = T0 + HOUR + MINUTE

    report = run_sweep(engine.service, end)

    assert (report.items_read, report.claimed, report.skipped, report.more) == (4, 4, 0, False)

    def at(minutes: float) -> str:
        return iso(T0 + round(minutes * MINUTE))

    expected = {
        "T-A": [
            (at(7.5), "warning", "oncall-l2"),
            (at(11.25), "warning", "oncall-l2"),
            (at(13.5), "warning", "oncall-l2"),
            (at(15), "trigger", "oncall-l2"),
            (at(25), "trigger", "duty-manager"),
            (at(35), "trigger", "account-manager"),
        ],
        "T-B": [
            (at(25), "warning", "oncall-l2"),
            (at(32.5), "warning", "oncall-l2"),
            (at(37), "warning", "oncall-l2"),
            (at(40), "trigger", "oncall-l2"),
            (at(50), "trigger", "duty-manager"),
            (at(60), "trigger", "account-manager"),  # due at the hour: fired by the next minute's sweep
        ],
        "T-C": [
            (at(35), "warning", "oncall-l2"),
            (at(42.5), "warning", "oncall-l2"),
            (at(50), "trigger", "oncall-l2"),  # duty-manager is due at 65 min, after the sweep at 61
        ],
        "T-D": [(at(60), "warning", "oncall-l2")],  # the 0.75 warning is due at 75 min
    }
    for ticket, wanted in expected.items():
        # In the order the sweep wrote them: each ticket's effects in the order of their logical instants.
        written = [e for e in report.effects if e.ticket_id == ticket]
        assert [e.at for e in written] == sorted(e.at for e in written)
        assert [(iso(e.at), e.kind, e.route) for e in written if isinstance(e, Alert)] == wanted
        assert rows(alerts(engine, ticket)) == wanted
    assert set(effect_ids(report.effects).values()) == {1}
    assert {e["emitted_at"] for e in alerts(engine)} == {end}  # all written by the one late sweep
    # Each apology at its own logical instant, the grace period after its breach, for the breach's due time.
    apologies = [e for e in engine.outbox() if e["kind"] == "breach_apology"]
    grace = APOLOGY_GRACE / MINUTE
    assert sorted((e["ticket_id"], e["at"], e["data"]["due_at"]) for e in apologies) == [
        ("T-A", at(15 + grace), at(15)),
        ("T-B", at(40 + grace), at(40)),
        ("T-C", at(50 + grace), at(50)),
    ]
    assert {t: timer_item(engine, t).get("due_at") for t in expected} == {
        "T-A": None,
        "T-B": None,
        "T-C": T0 + 65 * MINUTE + 1,
        "T-D": T0 + 75 * MINUTE + 1,
    }

    again = run_sweep(engine.service, end)  # a second sweep at the same instant finds nothing due
    assert (again.items_read, again.effects) == (0, [])


# -- what a sweep reads ------------------------------------------------------------------------------------------


class ApiCalls:
    """The DynamoDB calls of one client, with each Query's request and answer: what a sweep costs is what it
    asks DynamoDB for, and botocore's event hooks see that without a stub that could hide a call."""

    def __init__(self, client: Any) -> None:
        self.operations: list[str] = []
        self.queries: list[tuple[dict[str, Any], dict[str, Any]]] = []
        client.meta.events.register("before-call.dynamodb.*", self._before)
        client.meta.events.register("after-call.dynamodb.Query", self._after_query)

    def _before(self, model: Any, params: dict[str, Any], context: dict[str, Any], **_: Any) -> None:
        self.operations.append(model.name)
        context["sweep_test_request"] = json.loads(params["body"])

    def _after_query(self, parsed: dict[str, Any], context: dict[str, Any], **_: Any) -> None:
        self.queries.append((context["sweep_test_request"], parsed))

    def index_queries(self) -> list[tuple[dict[str, Any], dict[str, Any]]]:
        return [(request, answer) for request, answer in self.queries if request.get("IndexName")]

    def partitions_read(self) -> set[str]:
        return {
            request["ExpressionAttributeValues"][":pk"]["S"]
            for request, _ in self.queries
            if not request.get("IndexName")
        }


def test_a_sweep_never_scans_and_reads_only_the_due_timers(engine: LocalEngine) -> None:
    due_now = {"T-00", "T-10", "T-20"}
    for number in range(30):
        ticket = f"T-{number:02d}"
        # Enterprise: a critical ticket warns at 7 min 30 s; a low one only after 12 h.
        severity = "critical" if ticket in due_now else "low"
        body = json.loads(opened_body(ticket, ENTERPRISE, severity, T0))
        assert engine.service.accept(body, T0, fallback_id=ticket).status == "accepted"
        forget_stream(engine)  # see wipe(): this setup would otherwise cost seconds
    service = own_service(engine)
    calls = ApiCalls(service.store.client)

    report = run_sweep(service, T0 + 10 * MINUTE)

    assert "Scan" not in calls.operations
    assert set(calls.operations) == {"Query", "GetItem", "UpdateItem", "TransactWriteItems"}
    # One page of each shard of the due-index held everything due: the three due timers, nothing else.
    index_queries = calls.index_queries()
    assert {request["IndexName"] for request, _ in index_queries} == {"due-index"}
    shards = [request["ExpressionAttributeValues"][":shard"]["S"] for request, _ in index_queries]
    assert sorted(shards) == sorted(f"DUE#{n}" for n in range(DUE_SHARDS))
    assert sum(answer["Count"] for _, answer in index_queries) == 3
    assert calls.partitions_read() == {f"TICKET#{ticket}" for ticket in due_now}
    assert Counter(calls.operations)["UpdateItem"] == 3  # one claim per due timer
    assert Counter(calls.operations)["TransactWriteItems"] == 3  # one commit per due ticket
    assert (report.items_read, report.claimed, report.pages) == (3, 3, DUE_SHARDS)
    assert {e.ticket_id for e in report.effects} == due_now


def test_a_sweep_reads_bounded_pages_and_says_when_timers_are_left_for_the_next_run(
    engine: LocalEngine,
) -> None:
    crowded = ("T-1", "T-15", "T-22")  # three tickets of one shard (DUE#3): its pages bound what is read
    assert {due_shard(ticket) for ticket in crowded} == {"DUE#3"}
    for ticket in crowded:
        open_ticket(engine, ticket)
    now = WARNINGS[0] + 30

    first = run_sweep(engine.service, now, page_size=2, max_pages=1)  # one page of 2 per shard
    assert (first.items_read, first.claimed, first.more, first.backlog) == (2, 2, True, 1)
    assert first.pages == DUE_SHARDS
    assert {e.ticket_id for e in first.effects} == {"T-1", "T-15"}  # oldest first; ties by ticket id

    second = run_sweep(engine.service, now, page_size=2, max_pages=1)
    assert (second.items_read, second.claimed, second.more, second.backlog) == (1, 1, False, 0)
    assert {e.ticket_id for e in second.effects} == {"T-22"}

    paged = run_sweep(engine.service, WARNINGS[1] + 30, page_size=1, max_pages=MAX_PAGES)
    assert (paged.claimed, paged.more) == (3, False)
    assert paged.pages >= DUE_SHARDS + 2  # the crowded shard took a page per timer


# -- claims ------------------------------------------------------------------------------------------------------


def test_a_claimed_timer_leaves_the_due_range_until_its_lease_expires(engine: LocalEngine) -> None:
    opened = open_ticket(engine, "T-1")
    now = WARNINGS[0] + 30
    (timer,), _ = engine.store.due_timers(now, 10)
    assert engine.store.claim_timer(timer, now, LEASE)  # a sweep took it, then died before its commit
    leased = timer_item(engine, "T-1")
    assert (leased["claimed_until"], leased["attempts"]) == (now + LEASE, 1)
    # The claim moved the timer in the index to the lease's end; the ticket's own due instant is kept.
    assert (leased["gsi1sk"], leased["due_at"]) == (f"{now + LEASE:012d}#T-1", timer.due)
    assert engine.store.next_timer() == now + LEASE
    before = engine.outbox()

    held = run_sweep(own_service(engine), now + MINUTE)  # not even read: it is not at the head any more
    assert (held.items_read, held.claimed, held.skipped, held.effects) == (0, 0, 0, [])
    assert engine.outbox() == before
    assert not engine.store.claim_timer(timer, now + LEASE - 1, LEASE)

    taken = run_sweep(own_service(engine), now + LEASE + 1)  # the lease ran out: the timer is fair game
    assert (taken.claimed, taken.skipped) == (1, 0)
    assert [e.effect_id for e in taken.effects] == [f"T-1:first_response:{opened}:warning:0.5"]
    assert timer_item(engine, "T-1")["due_at"] == WARNINGS[1] + 1  # the next warning, once past


def test_a_claim_on_a_timer_that_moved_fails(engine: LocalEngine) -> None:
    open_ticket(engine, "T-1")
    now = WARNINGS[0] + 30
    (stale,), _ = engine.store.due_timers(now, 10)

    engine.service.refold("T-1", now)  # another sweep worked the ticket: the timer moved to the next warning
    assert timer_item(engine, "T-1")["gsi1sk"] == f"{WARNINGS[1] + 1:012d}#T-1" != stale.sort_key
    assert not engine.store.claim_timer(stale, now, LEASE)
    assert "claimed_until" not in timer_item(engine, "T-1")  # the failed claim wrote nothing

    later = WARNINGS[1] + 30
    (current,), _ = engine.store.due_timers(later, 10)
    # The clock is met before the sweep that read the timer gets to claim it: out of the index.
    deliver(engine, later, reply_body("T-1", ENTERPRISE, later))
    assert "gsi1sk" not in timer_item(engine, "T-1")
    assert not engine.store.claim_timer(current, later, LEASE)
    assert run_sweep(engine.service, later).items_read == 0


# -- the SweeperFunction handler ----------------------------------------------------------------------------------


def scheduled_event(now: int) -> dict[str, Any]:
    """The event of the template's `rate(1 minute)` Schedule rule, so the handler sees what Lambda gives it."""
    return {
        "version": "0",
        "id": f"sweep-{now}",
        "detail-type": "Scheduled Event",
        "source": "aws.events",
        "account": "123456789012",
        "time": iso(now),
        "region": REGION,
        "resources": ["arn:aws:events:eu-west-1:123456789012:rule/sla-engine-dev-Sweeper"],
        "detail": {},
    }


def one(value: Any) -> float:
    """An EMF metric value: one number, or a list of the values recorded under the name."""
    return float(sum(value)) if isinstance(value, list) else float(value)


def test_the_sweeper_handler_fires_due_timers_and_returns_its_counts(
    engine: LocalEngine, capsys: pytest.CaptureFixture[str]
) -> None:
    """`functions.sweeper.handler` itself, as Lambda calls it: the engine only injected its service and clock."""
    open_ticket(engine, "T-1")
    context = FakeLambdaContext("SweeperFunction")

    def run_at(now: int) -> dict[str, Any]:
        engine.now = now
        response: dict[str, Any] = sweeper.handler(scheduled_event(now), context)
        return response

    first_due = int(timer_item(engine, "T-1")["due_at"])  # the first warning's
    # Three warnings and the first page, then nothing, then the breach apology (after its grace period)
    # and the second page.
    assert run_at(DUE + MINUTE) == {
        "items_read": 1,
        "claimed": 1,
        "skipped": 0,
        "failed": 0,
        "effects": 4,
        "more": False,
        "backlog": 0,
        "oldest_due_lag": DUE + MINUTE - first_due,  # the first warning's timer waited since then
    }
    apology_due = int(timer_item(engine, "T-1")["due_at"])
    assert apology_due == DUE + APOLOGY_GRACE + 1
    assert run_at(DUE + MINUTE) == {
        "items_read": 0,
        "claimed": 0,
        "skipped": 0,
        "failed": 0,
        "effects": 0,
        "more": False,
        "backlog": 0,
        "oldest_due_lag": 0,
    }
    assert run_at(DUE + ACK_TIMEOUT + MINUTE) == {
        "items_read": 1,
        "claimed": 1,
        "skipped": 0,
        "failed": 0,
        "effects": 2,
        "more": False,
        "backlog": 0,
        "oldest_due_lag": DUE + ACK_TIMEOUT + MINUTE - apology_due,  # the apology's timer was the oldest
    }

    metrics = [
        json.loads(line)
        for line in capsys.readouterr().out.splitlines()
        if line.startswith("{") and '"_aws"' in line
    ]
    assert [(one(m["TimersRead"]), one(m["EffectsEmitted"])) for m in metrics] == [(1, 4), (0, 0), (1, 2)]
    # The two that say whether the sweeper keeps up, every run, zero included, so an alarm never lacks data.
    assert [(one(m["SweepBacklog"]), one(m["OldestDueTimerLag"])) for m in metrics] == [
        (0, DUE + MINUTE - first_due),
        (0, 0),
        (0, DUE + ACK_TIMEOUT + MINUTE - apology_due),
    ]
    (units,) = {
        tuple(sorted((d["Name"], d["Unit"]) for d in m["_aws"]["CloudWatchMetrics"][0]["Metrics"]))
        for m in metrics
    }
    assert {("SweepBacklog", "Count"), ("OldestDueTimerLag", "Seconds")} <= set(units)
    assert {m["_aws"]["CloudWatchMetrics"][0]["Namespace"] for m in metrics} == {"SlaEngine"}
    assert [t["route"] for t in alerts(engine, "T-1", "trigger")] == ["oncall-l2", "duty-manager"]
    assert [e["kind"] for e in engine.outbox() if e["kind"] == "breach_apology"] == ["breach_apology"]
    assert timer_item(engine, "T-1")["gsi1sk"] == f"{DUE + 2 * ACK_TIMEOUT + 1:012d}#T-1"


def test_the_sweeper_handler_stops_at_its_time_budget_and_reports_the_backlog(engine: LocalEngine) -> None:
    """Lambda's remaining time is the budget: with less than the margin left, no timer is taken, the run says
    what it left, and the next run, with time to spare, fires it."""
    open_ticket(engine, "T-1")
    open_ticket(engine, "T-2")
    engine.now = WARNINGS[0] + MINUTE
    oldest = min(int(timer_item(engine, ticket)["due_at"]) for ticket in ("T-1", "T-2"))
    margin_ms = int(sweeper.dependencies().settings.margin_seconds * 1000)

    late = sweeper.handler(
        scheduled_event(engine.now), FakeLambdaContext("SweeperFunction", timeout_millis=margin_ms)
    )

    assert late == {
        "items_read": 2,  # the first page of each shard, read before the budget was looked at
        "claimed": 0,
        "skipped": 0,
        "failed": 0,
        "effects": 0,
        "more": True,
        "backlog": 2,
        "oldest_due_lag": engine.now - oldest,
    }
    assert alerts(engine) == []
    assert all("claimed_until" not in timer_item(engine, ticket) for ticket in ("T-1", "T-2"))

    on_time = sweeper.handler(scheduled_event(engine.now), FakeLambdaContext("SweeperFunction"))
    assert (on_time["claimed"], on_time["more"], on_time["backlog"]) == (2, False, 0)
    assert {a["ticket_id"] for a in alerts(engine, kind="warning")} == {"T-1", "T-2"}
