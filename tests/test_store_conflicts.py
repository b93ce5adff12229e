"""How a commit's failures are read and what the service does with each (issue 7, items 3, 4, 9).

A cancelled transaction says why item by item, in the order of its items: the event's marker failing its
condition is a duplicate; any other failed condition (the STATE version, the plan's version) or a
TransactionConflict (another transaction on one of our items) is a conflict, re-read, re-folded and retried
after a jittered pause; a ValidationError (an item or the transaction over a DynamoDB limit) cannot succeed on
retry and is recorded as a rejection, never raised for redelivery. Each transaction carries a
ClientRequestToken derived from its writes.

The table is moto's (the template's), through `TicketService` as the ingest handler calls it. Cancellations
are injected by `Injecting`, a wrapper of the moto client that raises a real botocore ClientError shaped as
DynamoDB's, with the chosen code at the position of a chosen item and "None" at the others, then delegates:
botocore's Stubber cannot pass the other calls through to moto. Rejections (SPEC section 5) are under
`REJECTED#<event_id>`, `EDGE` for a refusal at the edge, `FOLD` for the fold's verdict.
"""

from __future__ import annotations

import copy
from collections import Counter
from collections.abc import Callable
from types import SimpleNamespace
from typing import Any

import pytest
from botocore.exceptions import ClientError
from moto.dynamodb import models as dynamodb_models
from moto.dynamodb.models import DynamoDBBackend
from moto.dynamodb.models.table import Table

from infra.store import MAX_TRANSACTION_ITEMS, Store
from infra.store.codec import decode_event
from infra.ticket_service import Outcome, TicketService
from infra.views import iso
from tests.conftest import CATALOG, Pipeline, TableSnapshots, epoch, eventbridge
from tests.delivery_harness import cancellation

Key = tuple[str, str]
T0 = epoch("2025-03-10T08:00:00Z")
TICKET = "T-77"
CUSTOMER = "C-7"  # no plan item: the default level


def opened(event_id: str = "open-1", at: int = T0, ticket: str = TICKET) -> dict[str, Any]:
    return eventbridge(
        "Ticket Opened",
        {
            "event_id": event_id,
            "occurred_at": _iso(at),
            "ticket_id": ticket,
            "customer_id": CUSTOMER,
            "severity": "high",
            "subject": "Disk failure",
        },
    )


def message(event_id: str, at: int, author: str = "customer", ticket: str = TICKET) -> dict[str, Any]:
    return eventbridge(
        "Ticket Message Posted",
        {
            "event_id": event_id,
            "occurred_at": _iso(at),
            "ticket_id": ticket,
            "customer_id": CUSTOMER,
            "author": author,
            "visibility": "public",
            "message_id": f"M-{event_id}",
        },
    )


def plan_changed(event_id: str, at: int, level: str) -> dict[str, Any]:
    return eventbridge(
        "Support Plan Changed",
        {"event_id": event_id, "occurred_at": _iso(at), "customer_id": CUSTOMER, "support_level": level},
    )


def _iso(at: int) -> str:
    return str(iso(at))


def item_key(write: dict[str, Any]) -> Key:
    """The (pk, sk) a transaction item or batch request acts on."""
    ((_, action),) = write.items()
    key = action.get("Key") or action["Item"]
    return (key["pk"]["S"], key["sk"]["S"])


Match = Callable[[Key], bool]


def at_key(pk: str, sk: str | None = None) -> Match:
    return lambda key: key[0] == pk and (sk is None or key[1] == sk)


def at_sort_prefix(pk: str, prefix: str) -> Match:
    return lambda key: key[0] == pk and key[1].startswith(prefix)


class Injecting:
    """A moto client that records every transaction and can cancel the next ones.

    `cancel(match, code)` makes the next transaction fail with `code` at the position of the item `match`
    selects (the test fails if none does); `fail(error)` makes it raise `error` whole. Unarmed, it delegates.
    """

    def __init__(self, client: Any) -> None:
        self._client = client
        self.calls: Counter[str] = Counter()
        self.transactions: list[list[dict[str, Any]]] = []
        self.tokens: list[str] = []
        self.batches: list[list[dict[str, Any]]] = []
        self._armed: list[Callable[[list[dict[str, Any]]], ClientError]] = []
        self._before: Callable[[], None] | None = None
        self.cancelled: list[
            list[Key]
        ] = []  # the items a (real) cancellation named, per cancelled transaction

    def cancel(self, match: Match, code: str) -> None:
        def build(items: list[dict[str, Any]]) -> ClientError:
            codes = [code if match(item_key(item)) else "None" for item in items]
            assert code in codes, f"no item of the transaction matches: {[item_key(i) for i in items]}"
            return cancellation(codes)

        self._armed.append(build)

    def fail(self, error: ClientError) -> None:
        self._armed.append(lambda _: error)

    def before_next_transaction(self, rival: Callable[[], None]) -> None:
        """Run `rival` (another writer) once, just before the next transaction reaches the table."""
        self._before = rival

    def __getattr__(self, name: str) -> Any:
        method = getattr(self._client, name)

        def call(**kwargs: Any) -> Any:
            self.calls[name] += 1
            if name == "transact_write_items":
                self.transactions.append(kwargs["TransactItems"])
                self.tokens.append(kwargs["ClientRequestToken"])
                if self._armed:
                    raise self._armed.pop(0)(kwargs["TransactItems"])
                if self._before is not None:
                    rival, self._before = self._before, None
                    rival()
                try:
                    return method(**kwargs)
                except ClientError as error:
                    codes = [r["Code"] for r in error.response.get("CancellationReasons", [])]
                    items = kwargs["TransactItems"]
                    self.cancelled.append(
                        [item_key(i) for i, c in zip(items, codes, strict=True) if c != "None"]
                    )
                    raise
            if name == "batch_write_item":
                for requests in kwargs["RequestItems"].values():
                    self.batches.append(requests)
            return method(**kwargs)

        return call


class Harness:
    """The service on the pipeline's moto table, through an `Injecting` client, pauses recorded not slept."""

    def __init__(self, pipeline: Pipeline) -> None:
        self.pipeline = pipeline
        self.client = Injecting(pipeline.client)
        self.pauses: list[float] = []
        self.service = TicketService(
            Store(self.client, pipeline.table_name), CATALOG, sleep=self.pauses.append
        )

    def accept(self, event: dict[str, Any], now: int | None = None) -> Outcome:
        at = now if now is not None else epoch(event["detail"]["occurred_at"])
        return self.service.accept(event, at, f"sqs-{event['detail']['event_id']}")

    def scan(self) -> dict[Key, dict[str, Any]]:
        return self.pipeline.scan()

    def rejections(self) -> dict[Key, dict[str, Any]]:
        return {key: item for key, item in self.scan().items() if key[0].startswith("REJECTED#")}

    def logged(self, ticket: str = TICKET) -> list[str]:
        """The event ids in the ticket's log chunks, in log order."""
        items = self.scan()
        chunks = sorted(
            (sk, item)
            for (pk, sk), item in items.items()
            if pk == f"TICKET#{ticket}" and sk.startswith("LOG#")
        )
        return [decode_event(t, text).event_id for _, item in chunks for t, text in item["events"]]


@pytest.fixture
def lean_moto(pipeline: Pipeline, monkeypatch: pytest.MonkeyPatch) -> None:
    """Moto without its two costs that grow with the table, for tests that write a long history.

    Moto copies the whole table, stream records included, once for every item of a transaction (to roll it
    back), so a hundred commits of one ticket cost minutes. Nothing here reads the stream: it is stopped for
    the test (`pipeline` puts the table back, stream included, when the test ends); and a transaction copies
    each table once, which is all a rollback needs (its items are checked before any is applied).
    """
    TableSnapshots(pipeline.table_name).tables[pipeline.table_name].stream_shard = None
    original = DynamoDBBackend.transact_write_items

    def transact(self: DynamoDBBackend, transact_items: list[dict[str, Any]]) -> None:
        copies: dict[int, Any] = {}

        def deepcopy(value: Any, memo: Any = None) -> Any:
            if not isinstance(value, Table):
                return copy.deepcopy(value, memo)
            if id(value) not in copies:
                copies[id(value)] = copy.deepcopy(value, memo)
            return copies[id(value)]

        monkeypatch.setattr(dynamodb_models, "copy", SimpleNamespace(deepcopy=deepcopy))
        try:
            original(self, transact_items)
        finally:
            monkeypatch.setattr(dynamodb_models, "copy", copy)

    monkeypatch.setattr(DynamoDBBackend, "transact_write_items", transact)


@pytest.fixture
def harness(pipeline: Pipeline, lean_moto: None) -> Harness:
    return Harness(pipeline)


STATE = at_key(f"TICKET#{TICKET}", "STATE")
TIMER = at_key(f"TICKET#{TICKET}", "TIMER")
MARKER = at_sort_prefix(f"TICKET#{TICKET}", "EVENT#")
PLAN = at_key(f"CUSTOMER#{CUSTOMER}", "PLAN")
LOG = at_sort_prefix(f"TICKET#{TICKET}", "LOG#")


# ----- cancellation reasons, by position ---------------------------------------------------------------------


@pytest.mark.parametrize("where", ["STATE", "TIMER"])
def test_a_transaction_conflict_is_re_read_and_retried_and_the_event_lands_once(
    harness: Harness, where: str
) -> None:
    """Ingest and the sweeper writing one ticket at the same moment: DynamoDB cancels one of the two with
    TransactionConflict on the item both touch (the STATE; the TIMER a sweep claims). Normal, so retried."""
    assert harness.accept(opened()).status == "accepted"
    harness.client.cancel(STATE if where == "STATE" else TIMER, "TransactionConflict")
    harness.client.calls.clear()

    outcome = harness.accept(message("msg-1", T0 + 600, author="agent"))

    assert outcome.status == "accepted"
    assert harness.client.calls == {"query": 2, "get_item": 2, "transact_write_items": 2}  # re-read, re-fold
    (pause,) = harness.pauses  # one jittered pause before the second attempt
    assert 0 <= pause <= 0.02
    assert harness.logged() == ["open-1", "msg-1"]  # the event once in the log
    items = harness.scan()
    assert (f"TICKET#{TICKET}", "EVENT#msg-1") in items
    assert items[(f"TICKET#{TICKET}", "STATE")]["version"] == 2


def test_a_failed_condition_on_the_event_marker_is_a_duplicate(harness: Harness) -> None:
    assert harness.accept(opened()).status == "accepted"
    before = harness.scan()
    harness.client.cancel(MARKER, "ConditionalCheckFailed")
    harness.client.calls.clear()

    outcome = harness.accept(message("msg-1", T0 + 600))

    assert (outcome.status, outcome.event_id) == ("duplicate", "msg-1")
    assert harness.client.calls["transact_write_items"] == 1  # not retried
    assert harness.pauses == []
    assert harness.scan() == before


def test_a_failed_condition_on_the_plan_check_re_folds(harness: Harness) -> None:
    assert harness.accept(opened()).status == "accepted"
    harness.client.cancel(PLAN, "ConditionalCheckFailed")
    harness.client.calls.clear()

    outcome = harness.accept(message("msg-1", T0 + 600, author="agent"))

    assert outcome.status == "accepted"
    assert harness.client.calls == {"query": 2, "get_item": 2, "transact_write_items": 2}
    assert len(harness.pauses) == 1
    assert harness.logged() == ["open-1", "msg-1"]


def test_a_plan_change_between_fold_and_commit_fails_the_plan_check_and_the_re_fold_uses_it(
    harness: Harness, pipeline: Pipeline
) -> None:
    """The same, with moto's own cancellation: a plan change lands after our fold read the plan."""
    assert harness.accept(opened()).status == "accepted"
    rival = TicketService(Store(pipeline.client, pipeline.table_name), CATALOG)
    change = plan_changed("plan-2", T0 + 300, "enterprise")
    harness.client.before_next_transaction(
        lambda: None if rival.accept(change, T0 + 600, "rival").status == "accepted" else pytest.fail("rival")
    )

    outcome = harness.accept(message("msg-1", T0 + 600, author="agent"))

    assert outcome.status == "accepted"
    assert harness.client.cancelled == [[(f"CUSTOMER#{CUSTOMER}", "PLAN")]]  # the plan check alone failed
    assert len(harness.pauses) == 1
    state = pipeline.state(TICKET)
    assert (state["version"], state["plan_version"]) == (2, 1)  # folded again, with the plan's version 1


@pytest.mark.parametrize("how", ["cancellation reason", "whole request"])
def test_a_validation_error_is_recorded_as_a_rejection_and_not_raised(harness: Harness, how: str) -> None:
    """DynamoDB refuses the write itself (an item over 400 KB, a transaction over its limits): a retry
    cannot succeed, so the event is rejected with its reason, not raised into a redelivery and the DLQ."""
    assert harness.accept(opened()).status == "accepted"
    before = harness.scan()
    huge = "Item size has exceeded the maximum allowed size " + "x" * 5_000
    if how == "cancellation reason":
        harness.client.cancel(LOG, "ValidationError")
    else:
        error: Any = {
            "Error": {"Code": "ValidationException", "Message": huge},
            "ResponseMetadata": {"HTTPStatusCode": 400},
        }
        harness.client.fail(ClientError(error, "TransactWriteItems"))
    harness.client.calls.clear()

    outcome = harness.accept(message("msg-1", T0 + 600))

    assert (outcome.status, outcome.limit) == ("rejected", True)
    assert outcome.reason is not None and outcome.reason.startswith("store:")
    assert harness.client.calls["transact_write_items"] == 1  # never retried
    assert harness.pauses == []
    after = harness.scan()
    rejection = ("REJECTED#msg-1", "EDGE")
    assert set(after) - set(before) == {rejection}
    assert {key: item for key, item in after.items() if key != rejection} == before
    assert after[rejection]["reason"] == outcome.reason
    assert len(outcome.reason) < 300  # DynamoDB's message quoted in a short excerpt, not echoed whole


def test_a_validation_error_is_not_reported_to_sqs_for_redelivery(
    harness: Harness, pipeline: Pipeline
) -> None:
    """The same through the ingest handler: the batch answers no failure, so SQS does not redeliver."""
    from functions import ingest

    assert harness.accept(opened()).status == "accepted"
    harness.client.cancel(STATE, "ValidationError")
    ingest.configure(ingest.Dependencies(harness.service, pipeline.clock))
    late = message("msg-1", T0 + 600)

    assert pipeline.deliver(late) == {"batchItemFailures": []}

    assert harness.client.calls["transact_write_items"] == 2  # the opening's, and this one's: not retried
    rejection = pipeline.item("REJECTED#msg-1", "EDGE")
    assert rejection is not None and rejection["reason"].startswith("store:")
    assert pipeline.item(f"TICKET#{TICKET}", "EVENT#msg-1") is None


# ----- the ClientRequestToken ----------------------------------------------------------------------------------


def test_each_commit_attempt_has_its_own_client_request_token(
    harness: Harness,
) -> None:
    assert harness.accept(opened()).status == "accepted"
    harness.client.cancel(TIMER, "TransactionConflict")  # nothing changed: the retry writes the same
    assert harness.accept(message("msg-1", T0 + 600)).status == "accepted"
    assert harness.accept(message("msg-2", T0 + 900, author="agent")).status == "accepted"

    opening, conflicted, retried, other = harness.client.tokens
    assert harness.client.transactions[1] == harness.client.transactions[2]
    # Each commit attempt has its own token (botocore's retries of one call resend it with the same
    # parameters): the retry after a cancellation is never taken for a replay of the cancelled attempt.
    assert conflicted != retried
    assert len({opening, conflicted, retried, other}) == 4
    assert all(1 <= len(token) <= 36 for token in harness.client.tokens)  # the API's bounds


# ----- rejections: edge and fold apart, none left behind ----------------------------------------------------------


def test_an_edge_rejected_event_resent_fixed_is_accepted_and_leaves_no_rejection(harness: Harness) -> None:
    assert harness.accept(opened()).status == "accepted"
    broken = message("msg-1", T0 + 600, author="agent")
    broken["detail"]["author"] = "robot"

    first = harness.accept(broken)
    assert first.status == "rejected"
    assert set(harness.rejections()) == {("REJECTED#msg-1", "EDGE")}
    harness.client.calls.clear()

    fixed = harness.accept(message("msg-1", T0 + 600, author="agent"))

    assert fixed.status == "accepted"
    assert harness.client.calls["transact_write_items"] == 1  # no conflict, no retry
    assert harness.logged() == ["open-1", "msg-1"]
    assert harness.rejections() == {}  # the accepted event's commit removed its edge rejection


@pytest.mark.parametrize("edge_event", ["the same event", "another event"])
def test_a_fold_rejection_and_an_edge_rejection_never_collide(harness: Harness, edge_event: str) -> None:
    """A message that came before its Ticket Opened is refused by the fold (`FOLD`); an edge refusal
    (`EDGE`), of an earlier broken delivery of the same event or of another event, sits beside it. Before
    issue 7 both were `REJECTED#<event_id>`: the fold's conditional put read as a version conflict, 5 times."""
    refused_at_edge = "msg-1" if edge_event == "the same event" else "msg-9"
    broken = message(refused_at_edge, T0 + 600)
    broken["detail"]["visibility"] = "everyone"
    assert harness.accept(broken).status == "rejected"

    early = harness.accept(message("msg-1", T0 + 600))  # the ticket is not opened yet

    assert early.status == "rejected"
    assert early.reason == "ticket_id: the ticket was not opened before this event"
    assert harness.pauses == []  # no conflict, no retry
    assert harness.client.calls["transact_write_items"] == 1
    rejections = harness.rejections()
    assert rejections[("REJECTED#msg-1", "FOLD")]["reason"] == early.reason
    if edge_event == "another event":
        assert set(rejections) == {("REJECTED#msg-1", "FOLD"), ("REJECTED#msg-9", "EDGE")}
    # (the same event: whether its EDGE refusal is gone is the test above's subject)

    assert harness.accept(opened(at=T0), now=T0 + 900).status == "accepted"  # the Ticket Opened, late

    rejections = harness.rejections()
    assert ("REJECTED#msg-1", "FOLD") not in rejections  # the fold's verdict, withdrawn
    if edge_event == "another event":
        assert set(rejections) == {("REJECTED#msg-9", "EDGE")}  # another event's refusal stays


def test_96_messages_before_their_ticket_opened_then_the_ticket_opened_withdraws_every_rejection(
    harness: Harness,
) -> None:
    """The Ticket Opened's commit withdraws 96 fold rejections: with its own 9 items that is more than a
    transaction takes (100), so the deletes that do not fit are batch-written before it (moto, like
    DynamoDB, refuses a transaction of more than 100 items)."""
    count = 96
    for n in range(count):
        outcome = harness.accept(message(f"msg-{n:03d}", T0 + 60 * (n + 1)))  # after the opening instant
        assert (outcome.status, outcome.reason) == (
            "rejected",
            "ticket_id: the ticket was not opened before this event",
        )
    assert len([k for k in harness.rejections() if k[1] == "FOLD"]) == count
    harness.client.calls.clear()
    harness.client.transactions.clear()

    outcome = harness.accept(opened(at=T0), now=T0 + 60 * (count + 1))

    assert outcome.status == "accepted"
    assert harness.client.calls["transact_write_items"] == 1
    (transaction,) = harness.client.transactions
    assert len(transaction) == MAX_TRANSACTION_ITEMS
    deleted_first = [item_key(r) for batch in harness.client.batches for r in batch if "DeleteRequest" in r]
    # Its QUEUE item is the 9th, its event id's table-wide claim the 10th, and its month's report index item
    # (infra.store.report_index: a side write like the rejections, first in the transaction) the 11th.
    assert len(deleted_first) == count - (MAX_TRANSACTION_ITEMS - 11)
    assert harness.rejections() == {}
    state = harness.pipeline.state(TICKET)
    assert not [e for e in state["emitted"] if e.startswith("rejected:")]
    assert len(harness.logged()) == count + 1
    assert state["state"]["status"] == "open"
