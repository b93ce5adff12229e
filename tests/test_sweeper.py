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
from infra.local_engine import ACCOUNT, REGION, FakeLambdaContext, LocalEngine
from infra.store import DueTimer, Store, TicketRecord
from infra.sweep import SweepReport, sweep
from infra.ticket_service import Outcome, TicketService
from sla.effects import Alert, Effect
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


def open_ticket(engine: LocalEngine, ticket: str, at: int = T0, severity: str = "critical") -> None:
    deliver(engine, at, opened_body(ticket, ENTERPRISE, severity, at))


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
    open_ticket(engine, "T-1")

    # Every minute before the due time: the warnings, each at the first sweep after its fraction, no page.
    for minute in range(1, 15):
        sweep_at(engine, T0 + minute * MINUTE)
    warnings = alerts(engine, "T-1")
    assert rows(warnings) == [(iso(at), "warning", "oncall-l2") for at in WARNINGS]
    assert [w["emitted_at"] for w in warnings] == [T0 + 8 * MINUTE, T0 + 12 * MINUTE, T0 + 14 * MINUTE]
    assert [w["fraction"] for w in warnings] == [0.5, 0.75, 0.9]
    assert timer_item(engine, "T-1")["due_at"] == DUE

    assert sweep_at(engine, DUE + MINUTE) == {
        "items_read": 1,
        "claimed": 1,
        "skipped": 0,
        "failed": 0,
        "effects": 2,
        "more": False,
    }

    (trigger,) = alerts(engine, "T-1", "trigger")
    assert (trigger["at"], trigger["route"], trigger["step"]) == (iso(DUE), "oncall-l2", 0)
    assert trigger["dedup_key"] == "T-1/first_response/1"
    assert trigger["emitted_at"] == DUE + MINUTE
    assert {w["dedup_key"] for w in warnings} == {trigger["dedup_key"]}
    apology = [e for e in engine.outbox() if e["type"] == "notification" and e["kind"] == "breach_apology"]
    assert [(e["ticket_id"], e["at"]) for e in apology] == [("T-1", iso(DUE))]
    # The timer now waits for the second step of the ladder, in the due-index under its new instant.
    timer = timer_item(engine, "T-1")
    assert timer["due_at"] == DUE + ACK_TIMEOUT
    assert (timer["gsi1pk"], timer["gsi1sk"]) == ("DUE", f"{DUE + ACK_TIMEOUT:012d}#T-1")
    assert "claimed_until" not in timer  # the commit that moved the timer released the sweep's claim


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
    deliver(engine, T0, opened_body("T-1", customer, "critical", T0))

    engine.advance_to(T0 + 6 * HOUR)  # the every-minute sweeper, through the whole ladder and well beyond

    triggers = alerts(engine, "T-1", "trigger")
    assert rows(triggers) == [
        (iso(due + step * ack_timeout), "trigger", route) for step, route in enumerate(ladder)
    ]
    assert [t["step"] for t in triggers] == list(range(len(ladder)))
    assert [t["emitted_at"] for t in triggers] == [due + step * ack_timeout for step in range(len(ladder))]
    assert {t["dedup_key"] for t in triggers} == {"T-1/first_response/1"}
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
    }


def test_an_acknowledgement_through_ingest_stops_the_ladder(engine: LocalEngine) -> None:
    open_ticket(engine, "T-1")
    engine.advance_to(DUE + 3 * MINUTE)
    assert rows(alerts(engine, "T-1", "trigger")) == [(iso(DUE), "trigger", "oncall-l2")]

    deliver(engine, DUE + 3 * MINUTE, ack_body("T-1", "first_response", DUE + 3 * MINUTE))
    engine.advance_to(DUE + 6 * HOUR)

    assert engine.rejections() == []
    assert rows(alerts(engine, "T-1", "trigger")) == [(iso(DUE), "trigger", "oncall-l2")]
    (acknowledged,) = alerts(engine, "T-1", "acknowledge")
    assert (acknowledged["at"], acknowledged["route"]) == (iso(DUE + 3 * MINUTE), "oncall-l2")
    assert acknowledged["dedup_key"] == "T-1/first_response/1"
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
    open_ticket(engine, "T-1")
    # The every-minute sweeper has paged oncall-l2 and duty-manager, not yet account-manager.
    engine.advance_to(DUE + ACK_TIMEOUT + 2 * MINUTE)
    assert [t["route"] for t in alerts(engine, "T-1", "trigger")] == ["oncall-l2", "duty-manager"]
    assert timer_item(engine, "T-1")["due_at"] == DUE + 2 * ACK_TIMEOUT

    met = DUE + ACK_TIMEOUT + 2 * MINUTE
    deliver(engine, met, reply_body("T-1", ENTERPRISE, met))

    resolves = alerts(engine, "T-1", "resolve")
    assert sorted(rows(resolves)) == [
        (iso(met), "resolve", "duty-manager"),
        (iso(met), "resolve", "oncall-l2"),
    ]
    assert {r["dedup_key"] for r in resolves} == {"T-1/first_response/1"}
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


class _MeetAfterReading(TicketService):
    """A sweeper that, once it has read the due timers, waits until the other sweeper has read them too.

    That forces the worst interleaving: both sweeps hold the same timers and both try to claim each one.
    """

    def __init__(self, service: TicketService, barrier: threading.Barrier) -> None:
        super().__init__(service.store, service.catalog)
        self.barrier = barrier

    def due_timers(
        self, now: int, limit: int, start_after: str | None = None
    ) -> tuple[list[DueTimer], str | None]:
        page = super().due_timers(now, limit, start_after)
        if start_after is None:
            self.barrier.wait()
        return page


def effect_ids(effects: list[Effect] | tuple[Effect, ...]) -> Counter[str]:
    return Counter(effect.effect_id for effect in effects)


@pytest.mark.usefixtures("atomic_moto")
@pytest.mark.parametrize("forced", [True, False], ids=["both-read-before-claiming", "free-race"])
def test_two_sweeps_at_once_fire_each_alert_once(engine: LocalEngine, forced: bool) -> None:
    tickets = ("T-1", "T-2", "T-3")
    for ticket in tickets:
        open_ticket(engine, ticket)
    now = DUE + MINUTE  # three warnings, the breach and the first page of each ticket are due, none fired
    first, second = own_service(engine), own_service(engine)
    if forced:
        meet = threading.Barrier(2, timeout=BARRIER_TIMEOUT)
        first, second = _MeetAfterReading(first, meet), _MeetAfterReading(second, meet)

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
            "first_response:1:warning:0.5",
            "first_response:1:warning:0.75",
            "first_response:1:warning:0.9",
            "first_response:1:trigger:0",
            "notify:breach_apology:first_response:1",
        )
    }
    assert fired == Counter(expected)  # no effect handed to the outbox by both sweeps
    outbox = Counter(e["effect_id"] for e in engine.outbox())
    assert set(outbox.values()) == {1}
    assert expected <= set(outbox)
    for ticket in tickets:
        assert timer_item(engine, ticket)["due_at"] == DUE + ACK_TIMEOUT
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
    open_ticket(engine, "T-1")
    now = DUE + 5 * MINUTE  # the warnings, the breach and the first page are due; none fired yet
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
            "first_response:1:warning:0.5",
            "first_response:1:warning:0.75",
            "first_response:1:warning:0.9",
            "first_response:1:trigger:0",
            "notify:breach_apology:first_response:1",
            "first_response:1:resolve:oncall-l2",
        )
    )
    assert set(Counter(e["effect_id"] for e in engine.outbox()).values()) == {1}
    # The state on record is the fold of both at now, whichever committed last.
    (clock,) = json.loads(ticket_item(engine, "T-1", "STATE")["state"])["clocks"]
    assert (clock["state"], clock["breached_at"], clock["stopped_at"]) == ("breached", iso(DUE), iso(now))
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
    end = T0 + HOUR
    assert alerts(engine) == []  # no sweep ran during the hour

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
            (at(60), "trigger", "account-manager"),  # due at the very instant of the sweep: fired
        ],
        "T-C": [
            (at(35), "warning", "oncall-l2"),
            (at(42.5), "warning", "oncall-l2"),
            (at(50), "trigger", "oncall-l2"),  # duty-manager is due at 65 min, after the sweep
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
    apologies = [e for e in engine.outbox() if e["kind"] == "breach_apology"]
    assert sorted((e["ticket_id"], e["at"]) for e in apologies) == [
        ("T-A", at(15)),
        ("T-B", at(40)),
        ("T-C", at(50)),
    ]
    assert {t: timer_item(engine, t).get("due_at") for t in expected} == {
        "T-A": None,
        "T-B": None,
        "T-C": T0 + 65 * MINUTE,
        "T-D": T0 + 75 * MINUTE,
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
    ((request, answer),) = calls.index_queries()  # one page of the due-index held everything due
    assert request["IndexName"] == "due-index"
    assert (answer["Count"], len(answer["Items"])) == (3, 3)
    assert calls.partitions_read() == {f"TICKET#{ticket}" for ticket in due_now}
    assert Counter(calls.operations)["UpdateItem"] == 3  # one claim per due timer
    assert Counter(calls.operations)["TransactWriteItems"] == 3  # one commit per due ticket
    assert (report.items_read, report.claimed, report.pages) == (3, 3, 1)
    assert {e.ticket_id for e in report.effects} == due_now


def test_a_sweep_reads_bounded_pages_and_says_when_timers_are_left_for_the_next_run(
    engine: LocalEngine,
) -> None:
    for ticket in ("T-1", "T-2", "T-3"):
        open_ticket(engine, ticket)
    now = WARNINGS[0] + 30

    first = run_sweep(engine.service, now, page_size=2, max_pages=1)
    assert (first.pages, first.items_read, first.claimed, first.more) == (1, 2, 2, True)
    assert {e.ticket_id for e in first.effects} == {"T-1", "T-2"}  # oldest first; ties by ticket id

    second = run_sweep(engine.service, now, page_size=2, max_pages=1)
    assert (second.items_read, second.claimed, second.more) == (1, 1, False)
    assert {e.ticket_id for e in second.effects} == {"T-3"}

    paged = run_sweep(engine.service, WARNINGS[1] + 30, page_size=1, max_pages=MAX_PAGES)
    assert (paged.claimed, paged.more) == (3, False)
    assert paged.pages >= 3


# -- claims ------------------------------------------------------------------------------------------------------


def test_a_claimed_timer_is_skipped_until_its_lease_expires(engine: LocalEngine) -> None:
    open_ticket(engine, "T-1")
    now = WARNINGS[0] + 30
    (timer,), _ = engine.store.due_timers(now, 10)
    assert engine.store.claim_timer(timer, now, LEASE)  # a sweep took it, then died before its commit
    assert timer_item(engine, "T-1")["claimed_until"] == now + LEASE
    before = engine.outbox()

    held = run_sweep(own_service(engine), now + MINUTE)
    assert (held.items_read, held.claimed, held.skipped, held.effects) == (1, 0, 1, [])
    assert engine.outbox() == before
    assert not engine.store.claim_timer(timer, now + LEASE - 1, LEASE)

    taken = run_sweep(own_service(engine), now + LEASE + 1)  # the lease ran out: the timer is fair game
    assert (taken.claimed, taken.skipped) == (1, 0)
    assert [e.effect_id for e in taken.effects] == ["T-1:first_response:1:warning:0.5"]
    assert timer_item(engine, "T-1")["due_at"] == WARNINGS[1]


def test_a_claim_on_a_timer_that_moved_fails(engine: LocalEngine) -> None:
    open_ticket(engine, "T-1")
    now = WARNINGS[0] + 30
    (stale,), _ = engine.store.due_timers(now, 10)

    engine.service.refold("T-1", now)  # another sweep worked the ticket: the timer moved to the next warning
    assert timer_item(engine, "T-1")["gsi1sk"] == f"{WARNINGS[1]:012d}#T-1" != stale.sort_key
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

    # Three warnings, the first page and the breach apology, then nothing, then the second page.
    assert run_at(DUE + MINUTE) == {
        "items_read": 1,
        "claimed": 1,
        "skipped": 0,
        "failed": 0,
        "effects": 5,
        "more": False,
    }
    assert run_at(DUE + MINUTE) == {
        "items_read": 0,
        "claimed": 0,
        "skipped": 0,
        "failed": 0,
        "effects": 0,
        "more": False,
    }
    assert run_at(DUE + ACK_TIMEOUT) == {
        "items_read": 1,
        "claimed": 1,
        "skipped": 0,
        "failed": 0,
        "effects": 1,
        "more": False,
    }

    metrics = [
        json.loads(line)
        for line in capsys.readouterr().out.splitlines()
        if line.startswith("{") and '"_aws"' in line
    ]
    assert [(one(m["TimersRead"]), one(m["EffectsEmitted"])) for m in metrics] == [(1, 5), (0, 0), (1, 1)]
    assert {m["_aws"]["CloudWatchMetrics"][0]["Namespace"] for m in metrics} == {"SlaEngine"}
    assert [t["route"] for t in alerts(engine, "T-1", "trigger")] == ["oncall-l2", "duty-manager"]
    assert timer_item(engine, "T-1")["gsi1sk"] == f"{DUE + 2 * ACK_TIMEOUT:012d}#T-1"
