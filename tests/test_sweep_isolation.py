"""What fails in a sweep stays with its ticket: the other due tickets still fire this minute.

The due-index is a botocore Stubber on a client that never reaches AWS, answering in the order the sweep
asks: one Query per shard, then a claim per timer. The Stubber fails the test on any call it was not told to
expect, so these also prove what the sweep does *not* do: no re-fold after a claim that failed, no write to
back off a first failure (the lease already brings the timer back), nothing read after the time ran out
but the count of what is left.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any, cast

import boto3
import pytest
from botocore.stub import ANY, Stubber

from infra.errors import TransientStoreError
from infra.store.keys import marshal
from infra.store.timers import TimerIndex, due_shard, due_shards, timer_sort_key
from infra.sweep import Failure, SweepReport, sweep
from infra.ticket_service import TicketService
from sla.effects import Effect

TABLE = "sla"
NOW = 1_775_520_000  # 2026-04-07T00:00:00Z
LEASE = 120
TICKETS = ("T-1", "T-2", "T-3")  # in three different shards (DUE#3, DUE#1, DUE#7)


@dataclass
class FakeStore:
    timers: TimerIndex


@dataclass
class FakeService:
    """The real TimerIndex on a stubbed client; re-folds are recorded, and those of `failing` raise."""

    store: FakeStore
    failing: frozenset[str] = frozenset()
    refolded: list[str] = field(default_factory=list)

    def refold(self, ticket_id: str, now: int) -> tuple[Effect, ...]:
        if ticket_id in self.failing:
            raise TransientStoreError("still conflicting")
        self.refolded.append(ticket_id)
        return ()


@pytest.fixture
def stubbed() -> Iterator[tuple[TimerIndex, Stubber]]:
    client = boto3.client(
        "dynamodb", region_name="eu-west-1", aws_access_key_id="x", aws_secret_access_key="x"
    )
    with Stubber(client) as stubber:
        yield TimerIndex(client, TABLE), stubber
        stubber.assert_no_pending_responses()


def run(service: FakeService, **kwargs: Any) -> SweepReport:
    return sweep(cast(TicketService, service), NOW, 50, 20, LEASE, **kwargs)


def due_item(ticket_id: str, due: int) -> dict[str, Any]:
    return marshal(
        {
            "pk": f"TICKET#{ticket_id}",
            "sk": "TIMER",
            "gsi1pk": due_shard(ticket_id),
            "gsi1sk": timer_sort_key(due, ticket_id),
            "due_at": due,
        }
    )


def expect_shard_pages(stubber: Stubber, due: dict[str, int], *, throttled: str | None = None) -> None:
    """The first page of every shard, in shard order, holding the timers of `due` that live there."""
    for shard in due_shards():
        params = {
            "TableName": TABLE,
            "IndexName": "due-index",
            "KeyConditionExpression": "gsi1pk = :shard AND gsi1sk <= :now",
            "ExpressionAttributeValues": {":shard": {"S": shard}, ":now": ANY},
            "ScanIndexForward": True,
            "Limit": 50,
        }
        if shard == throttled:
            stubber.add_client_error(
                "query",
                service_error_code="ThrottlingException",
                http_status_code=400,
                expected_params=params,
            )
            continue
        items = [
            due_item(t, at) for t, at in sorted(due.items(), key=lambda x: x[1]) if due_shard(t) == shard
        ]
        stubber.add_response(
            "query", {"Items": items, "Count": len(items), "ScannedCount": len(items)}, params
        )


def expect_claim(stubber: Stubber, ticket_id: str, due: int, attempts: int = 1) -> None:
    stubber.add_response(
        "update_item",
        {"Attributes": marshal({"attempts": attempts})},
        {
            "TableName": TABLE,
            "Key": marshal({"pk": f"TICKET#{ticket_id}", "sk": "TIMER"}),
            "UpdateExpression": ANY,
            "ConditionExpression": ANY,
            "ExpressionAttributeNames": ANY,
            "ExpressionAttributeValues": ANY,
            "ReturnValues": "UPDATED_NEW",
        },
    )


def test_a_throttled_claim_is_reported_and_the_other_due_tickets_still_fire(
    stubbed: tuple[TimerIndex, Stubber],
) -> None:
    index, stubber = stubbed
    expect_shard_pages(stubber, {"T-1": NOW - 30, "T-2": NOW - 20, "T-3": NOW - 10})
    expect_claim(stubber, "T-1", NOW - 30)
    stubber.add_client_error(
        "update_item", service_error_code="ProvisionedThroughputExceededException", http_status_code=400
    )
    expect_claim(stubber, "T-3", NOW - 10)
    service = FakeService(FakeStore(index))

    report = run(service)

    assert service.refolded == ["T-1", "T-3"]  # oldest first over the shards; T-2 never re-folded
    # Not claimed, so not moved: T-2 is still due at its instant, and the next run takes it first.
    assert report.failed == [Failure("T-2", "TransientStoreError", 0, None)]
    assert (report.claimed, report.skipped, report.items_read, report.more) == (2, 0, 3, False)
    assert report.oldest_due_lag == 30


def test_a_failing_refold_is_reported_and_the_others_are_still_refolded(
    stubbed: tuple[TimerIndex, Stubber],
) -> None:
    index, stubber = stubbed
    expect_shard_pages(stubber, {"T-1": NOW - 30, "T-2": NOW - 20, "T-3": NOW - 10})
    for ticket, due in (("T-1", NOW - 30), ("T-2", NOW - 20), ("T-3", NOW - 10)):
        expect_claim(stubber, ticket, due)
    service = FakeService(FakeStore(index), failing=frozenset({"T-2"}))

    report = run(service)

    assert service.refolded == ["T-1", "T-3"]
    # A first failure writes nothing more: the claim already moved the timer to the lease's end.
    assert report.failed == [Failure("T-2", "TransientStoreError", 1, NOW + LEASE)]
    assert report.claimed == 3


@pytest.mark.parametrize(
    ("attempts", "retry_after"),
    [(2, 2 * LEASE), (3, 4 * LEASE), (5, 16 * LEASE), (6, 3600), (40, 3600)],
    ids=["second", "third", "fifth", "capped", "far-past-the-cap"],
)
def test_a_ticket_that_keeps_failing_comes_back_later_each_time(
    stubbed: tuple[TimerIndex, Stubber], attempts: int, retry_after: int
) -> None:
    index, stubber = stubbed
    expect_shard_pages(stubber, {"T-2": NOW - 20})
    expect_claim(stubber, "T-2", NOW - 20, attempts=attempts)
    later = NOW + retry_after
    stubber.add_response(
        "update_item",
        {},
        {
            "TableName": TABLE,
            "Key": marshal({"pk": "TICKET#T-2", "sk": "TIMER"}),
            "UpdateExpression": "SET gsi1sk = :later, #until = :later_at",
            "ConditionExpression": "gsi1sk = :leased AND #until = :until",
            "ExpressionAttributeNames": {"#until": "claimed_until"},
            "ExpressionAttributeValues": marshal(
                {
                    ":later": timer_sort_key(later, "T-2"),
                    ":later_at": later,
                    ":leased": timer_sort_key(NOW + LEASE, "T-2"),
                    ":until": NOW + LEASE,
                }
            ),
        },
    )
    service = FakeService(FakeStore(index), failing=frozenset({"T-2"}))

    report = run(service, max_backoff_seconds=3600)

    assert report.failed == [Failure("T-2", "TransientStoreError", attempts, later)]


def test_a_throttled_shard_read_leaves_that_shard_for_the_next_run_and_the_others_fire(
    stubbed: tuple[TimerIndex, Stubber],
) -> None:
    index, stubber = stubbed
    expect_shard_pages(stubber, {"T-1": NOW - 30, "T-2": NOW - 20, "T-3": NOW - 10}, throttled="DUE#1")
    expect_claim(stubber, "T-1", NOW - 30)
    expect_claim(stubber, "T-3", NOW - 10)
    service = FakeService(FakeStore(index))

    report = run(service)

    assert service.refolded == ["T-1", "T-3"]
    assert report.read_errors == [("DUE#1", "TransientStoreError")]
    # What the unread shard holds is not known: the run says so rather than report an empty backlog.
    assert (report.more, report.backlog, report.backlog_exact) == (True, 0, False)


def test_out_of_time_the_sweep_stops_taking_timers_and_counts_what_it_left(
    stubbed: tuple[TimerIndex, Stubber],
) -> None:
    index, stubber = stubbed
    expect_shard_pages(stubber, {"T-1": NOW - 30, "T-2": NOW - 20, "T-3": NOW - 10})
    expect_claim(stubber, "T-1", NOW - 30)
    service = FakeService(FakeStore(index))
    # Two seconds per re-fold, from 7 s left, with a 5 s margin: one re-fold fits, the second would not.
    left = iter([7.0, 5.0])

    report = run(service, seconds_left=lambda: next(left), margin_seconds=5.0)

    assert service.refolded == ["T-1"]
    # Every shard's page was read whole (no LastEvaluatedKey): the two left are counted from the pages in hand,
    # with no further read. Neither was claimed, so both are still due where they were.
    assert (report.out_of_time, report.more, report.backlog, report.backlog_exact) == (True, True, 2, True)
    assert (report.claimed, report.failed) == (1, [])
