"""The sweep at scale, on moto: sharded index, leases that move timers out of the head, a time budget.

Real: the table and its due-index (built from template.yaml), `TimerIndex` (reads, claims, back-off) and
`infra.sweep.sweep`. Stubbed: the ticket service. Each ticket's truth is a list of due instants here; a
re-fold at `now` records the instants it fires and commits the ticket's next timer with the same `timer_item`
Put the store's commit makes (which ends a lease and resets its attempts, as a real commit does). The fold
itself is tested elsewhere; what is under test is which timers a sweep takes, when, and how often.
"""

from __future__ import annotations

import itertools
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any, cast

import boto3
import pytest
from moto import mock_aws

from infra.settings import SweeperSettings
from infra.store.keys import marshal, unmarshal
from infra.store.timers import DUE_SHARDS, DueReader, TimerIndex, due_shard, due_shards, timer_item
from infra.sweep import SweepReport, sweep
from infra.ticket_service import TicketService
from local.stack import create_resources
from sla.effects import Effect

REGION = "eu-west-1"
NOW = 1_775_520_000  # 2026-04-07T00:00:00Z
MINUTE = 60
LEASE = 120


@dataclass
class Store:
    timers: TimerIndex


@dataclass
class TimerTickets:
    """Stands in for TicketService: tickets whose folds are lists of due instants."""

    store: Store
    client: Any
    table: str
    pending: dict[str, list[int]] = field(default_factory=dict)
    fired: list[tuple[str, int]] = field(default_factory=list)  # (ticket, due instant), in firing order
    failing: set[str] = field(default_factory=set)
    during_refold: Callable[[str], None] | None = None

    def open(self, ticket_id: str, *dues: int) -> None:
        self.pending[ticket_id] = sorted(dues)
        self._commit(ticket_id)

    def refold(self, ticket_id: str, now: int) -> tuple[Effect, ...]:
        if self.during_refold is not None:
            self.during_refold(ticket_id)
        if ticket_id in self.failing:
            raise RuntimeError("this ticket cannot be folded")
        dues = self.pending[ticket_id]
        while dues and dues[0] <= now:
            self.fired.append((ticket_id, dues.pop(0)))
        self._commit(ticket_id)
        return ()

    def _commit(self, ticket_id: str) -> None:
        dues = self.pending[ticket_id]
        item = timer_item(ticket_id, dues[0] if dues else None)
        self.client.put_item(TableName=self.table, Item=marshal(item))


@pytest.fixture(scope="module")
def table() -> Iterator[tuple[Any, str]]:
    """One moto table for the module (building the template's resources costs more than a second)."""
    with pytest.MonkeyPatch.context() as patch:
        for name, value in {
            "AWS_DEFAULT_REGION": REGION,
            "AWS_ACCESS_KEY_ID": "testing",
            "AWS_SECRET_ACCESS_KEY": "testing",
            "AWS_SESSION_TOKEN": "testing",
        }.items():
            patch.setenv(name, value)
        for name in ("AWS_PROFILE", "AWS_DEFAULT_PROFILE", "AWS_ENDPOINT_URL"):
            patch.delenv(name, raising=False)
        with mock_aws():
            session = boto3.Session(region_name=REGION)
            yield session.client("dynamodb"), create_resources(session).table_name


@pytest.fixture
def tickets(table: tuple[Any, str]) -> TimerTickets:
    """The module's table, emptied: no earlier test's timer is due in this one."""
    client, name = table
    keys = client.scan(TableName=name, ProjectionExpression="pk, sk")["Items"]
    for key in keys:  # a few hundred at most, on one Scan page
        client.delete_item(TableName=name, Key=key)
    return TimerTickets(Store(TimerIndex(client, name)), client, name)


def run(
    tickets: TimerTickets, now: int, page_size: int = 50, max_pages: int = 20, **kwargs: Any
) -> SweepReport:
    return sweep(cast(TicketService, tickets), now, page_size, max_pages, LEASE, **kwargs)


def timer(tickets: TimerTickets, ticket_id: str) -> dict[str, Any]:
    found = tickets.client.get_item(
        TableName=tickets.table,
        Key=marshal({"pk": f"TICKET#{ticket_id}", "sk": "TIMER"}),
        ConsistentRead=True,
    )
    return unmarshal(found["Item"])


def ids_in_shard(shard: str, count: int, prefix: str) -> list[str]:
    """Ticket ids that hash to `shard`, so a test can crowd one shard's head."""
    found = (f"{prefix}-{n}" for n in itertools.count())
    return list(itertools.islice((t for t in found if due_shard(t) == shard), count))


def test_timers_spread_over_every_shard_and_one_sweep_fires_them_all_oldest_first(
    tickets: TimerTickets,
) -> None:
    ids = [f"T-{n:03d}" for n in range(120)]
    for number, ticket in enumerate(ids):
        tickets.open(ticket, NOW - 120 + number, NOW + 3600)
    items = tickets.client.scan(TableName=tickets.table)["Items"]
    per_shard = Counter(unmarshal(item)["gsi1pk"] for item in items)
    assert set(per_shard) == set(due_shards())
    assert all(5 <= count <= 25 for count in per_shard.values()), per_shard  # 15 each on average
    assert tickets.store.timers.next_timer() == NOW - 120  # the oldest over every shard

    report = run(tickets, NOW, page_size=5)

    assert tickets.fired == [(t, NOW - 120 + n) for n, t in enumerate(ids)]  # oldest first overall
    assert (report.claimed, report.items_read, report.more, report.backlog) == (120, 120, False, 0)
    assert report.pages >= 120 // 5
    assert report.oldest_due_lag == 120
    assert tickets.store.timers.next_timer() == NOW + 3600
    assert run(tickets, NOW).items_read == 0


def test_out_of_time_the_sweep_stops_with_more_and_the_next_runs_fire_the_rest_once(
    tickets: TimerTickets,
) -> None:
    ids = [f"T-{n:02d}" for n in range(30)]
    for number, ticket in enumerate(ids):
        tickets.open(ticket, NOW - 600 + number)
    calls = itertools.count()

    def ten_refolds_per_run() -> float:
        """Seconds left as a 30 s Lambda sees them, if each timer took 2 s: the 5 s margin allows ten."""
        return 25.0 - 2 * (next(calls) % 11)

    reports = []
    for minute in range(3):
        now = NOW + minute * MINUTE
        reports.append(run(tickets, now, page_size=4, seconds_left=ten_refolds_per_run, margin_seconds=5))
        if minute == 0:
            # What the run did not take was never touched: due at its own instant, no lease, no attempt.
            untouched = timer(tickets, ids[-1])
            assert untouched["gsi1sk"] == f"{NOW - 600 + 29:012d}#{ids[-1]}"
            assert "claimed_until" not in untouched and "attempts" not in untouched

    assert [(r.claimed, r.more, r.backlog, r.backlog_exact) for r in reports] == [
        (10, True, 20, True),  # counted past what it read, with Select=COUNT
        (10, True, 10, True),
        (10, False, 0, True),
    ]
    assert [r.out_of_time for r in reports] == [True, True, True]
    assert tickets.fired == [(t, NOW - 600 + n) for n, t in enumerate(ids)]  # each once, oldest first
    assert [r.oldest_due_lag for r in reports] == [600, 600 - 10 + MINUTE, 600 - 20 + 2 * MINUTE]
    assert reports[0].items_read <= 10 + DUE_SHARDS * 4


def test_out_of_time_before_anything_was_taken_nothing_is_claimed(tickets: TimerTickets) -> None:
    tickets.open("T-1", NOW - 10)
    report = run(tickets, NOW, seconds_left=lambda: 3.0, margin_seconds=5)
    assert (report.claimed, report.more, report.backlog) == (0, True, 1)
    assert "claimed_until" not in timer(tickets, "T-1")
    assert tickets.fired == []


def test_failing_tickets_at_the_head_of_a_shard_move_behind_and_the_others_fire(
    tickets: TimerTickets,
) -> None:
    """One timer per shard and run: before claims moved timers, the shard's head (its failing ticket) was
    read and failed every minute, and the healthy tickets behind it never fired."""
    failing = ids_in_shard("DUE#0", 3, "F")
    healthy = ids_in_shard("DUE#0", 3, "H")
    for number, ticket in enumerate(failing):
        tickets.open(ticket, NOW - 100 + number)  # the oldest: the shard's head
    for number, ticket in enumerate(healthy):
        tickets.open(ticket, NOW - 50 + number)
    tickets.failing.update(failing)

    reports = [run(tickets, NOW + minute * MINUTE, page_size=1, max_pages=1) for minute in range(6)]

    assert tickets.fired == [(t, NOW - 50 + n) for n, t in enumerate(healthy)]  # each once, none starved
    assert [[f.ticket_id for f in r.failed] for r in reports] == [
        [failing[0]],
        [failing[1]],
        [failing[2]],
        [],  # failing[0] is due again at NOW + LEASE, after the healthy ones still waiting since before NOW
        [],
        [],
    ]
    assert all(r.items_read <= DUE_SHARDS for r in reports)
    # The first failure waits out the lease, then each failure doubles the wait.
    assert [(f.attempts, f.retry_at) for f in reports[0].failed] == [(1, NOW + LEASE)]
    again = run(tickets, NOW + 6 * MINUTE, page_size=1, max_pages=1)
    assert [(f.ticket_id, f.attempts, f.retry_at) for f in again.failed] == [
        (failing[0], 2, NOW + 6 * MINUTE + 2 * LEASE)
    ]
    item = timer(tickets, failing[0])
    assert (item["attempts"], item["due_at"]) == (2, NOW - 100)  # the ticket's own instant is kept
    assert item["gsi1sk"].startswith(f"{NOW + 6 * MINUTE + 2 * LEASE:012d}#")

    tickets.failing.clear()  # fixed: the next time it is due it fires, and its commit resets the count
    later = NOW + 6 * MINUTE + 2 * LEASE
    run(tickets, later)
    assert (failing[0], NOW - 100) in tickets.fired
    assert "attempts" not in timer(tickets, failing[0])


class _ReadThen(TimerIndex):
    """A TimerIndex whose reader, once it has read the first page of every shard, lets `then` run."""

    def __init__(self, index: TimerIndex, then: Callable[[], object]) -> None:
        super().__init__(index.client, index.table_name)
        self.then = then

    def due(self, now: int, page_size: int, max_pages: int) -> DueReader:
        reader = super().due(now, page_size, max_pages)
        reader.peek()
        self.then()
        return reader


def test_a_second_sweep_that_read_the_same_timers_fires_none_of_them_again(tickets: TimerTickets) -> None:
    ids = [f"T-{n}" for n in range(12)]
    for number, ticket in enumerate(ids):
        tickets.open(ticket, NOW - 100 + number)
    first: list[SweepReport] = []
    late = TimerTickets(
        Store(_ReadThen(tickets.store.timers, lambda: first.append(run(tickets, NOW)))),
        tickets.client,
        tickets.table,
        tickets.pending,
        tickets.fired,
    )

    second = run(late, NOW)  # reads every timer, then the first sweep claims and fires them all

    assert first[0].claimed == 12
    assert (second.items_read, second.claimed, second.skipped) == (12, 0, 12)
    assert Counter(tickets.fired) == Counter((t, NOW - 100 + n) for n, t in enumerate(ids))


def test_a_sweep_that_starts_while_another_holds_a_lease_leaves_that_timer_alone(
    tickets: TimerTickets,
) -> None:
    ids = [f"T-{n}" for n in range(12)]
    for number, ticket in enumerate(ids):
        tickets.open(ticket, NOW - 100 + number)
    second: list[SweepReport] = []

    def start_another(ticket_id: str) -> None:
        if not second:  # during the first sweep's first re-fold, with T-0 claimed and nothing else yet
            tickets.during_refold = None
            second.append(run(tickets, NOW))

    tickets.during_refold = start_another

    first = run(tickets, NOW)

    # T-0's lease moved it out of the due range: the second sweep never saw it, and took all the others.
    assert (second[0].items_read, second[0].claimed) == (11, 11)
    assert (first.claimed, first.skipped) == (1, 11)  # its claims of the others found them taken
    assert Counter(tickets.fired) == Counter((t, NOW - 100 + n) for n, t in enumerate(ids))


def test_a_lease_that_lapsed_without_a_commit_lets_a_later_sweep_take_the_timer_once(
    tickets: TimerTickets,
) -> None:
    tickets.open("T-1", NOW - 10)
    tickets.open("T-2", NOW - 5)
    index = tickets.store.timers
    (held, _), _ = index.due_timers(NOW, 10)
    assert held.ticket_id == "T-1"
    assert index.claim(held, NOW, LEASE) is not None  # a sweep took it, then its Lambda timed out
    assert index.next_timer() == NOW - 5
    assert index.claim(held, NOW, LEASE) is None  # the same read timer cannot be claimed twice

    during = run(tickets, NOW + MINUTE)
    assert tickets.fired == [("T-2", NOW - 5)]
    assert during.items_read == 1  # T-1 is out of the due range until its lease ends

    assert index.next_timer() == NOW + LEASE
    after = [run(tickets, NOW + LEASE), run(tickets, NOW + LEASE + MINUTE)]
    assert [r.claimed for r in after] == [1, 0]
    assert tickets.fired == [("T-2", NOW - 5), ("T-1", NOW - 10)]


def test_due_timers_pages_oldest_first_over_every_shard_without_repeats(tickets: TimerTickets) -> None:
    ids = [f"T-{n:02d}" for n in range(25)]
    for number, ticket in enumerate(ids):
        tickets.open(ticket, NOW - 100 + number)
    tickets.open("T-later", NOW + 100)
    index = tickets.store.timers
    seen: list[str] = []
    cursor: str | None = None
    while True:
        page, cursor = index.due_timers(NOW, 4, cursor)
        assert len(page) <= 4
        seen.extend(t.ticket_id for t in page)
        if cursor is None:
            break
    assert seen == ids


def test_the_bench_in_memory_table_answers_as_moto_does(tickets: TimerTickets) -> None:
    """bench/sweep_cost.py runs its full scale on an in-memory table (moto's Query reads the whole table):
    the same scenario, small, on both gives the same runs, figure for figure."""
    from bench.sweep_cost import MemoryTable, same_runs, scenario

    settings = SweeperSettings(table_name="bench", page_size=3)
    on_moto = scenario(tickets.client, tickets.table, 200, 40, settings, timeout=6.5)
    in_memory = scenario(MemoryTable(), "bench", 200, 40, settings, timeout=6.5, load=MemoryTable.load)

    assert len(on_moto.runs) >= 2 and any(r.items_counted for r in on_moto.runs)
    assert same_runs(on_moto, in_memory)
    assert (on_moto.fired_twice, on_moto.starved) == (0, 0)
