"""Throttling and a transaction conflict injected with botocore's Stubber, on a client that never reaches AWS.

The Stubber fails the test on any call it was not told to expect, so these also prove what the service does
*not* do: no write after a throttled read (nothing partial), and exactly one re-read and re-fold after a
conflict (nothing lost).
"""

from __future__ import annotations

import json
from functools import cache

import boto3
import pytest
from botocore.stub import ANY, Stubber

from infra.catalog_source import load_catalog
from infra.errors import TransientStoreError
from infra.store import Store
from infra.store.keys import unmarshal
from infra.ticket_service import TicketService
from tests.conftest import epoch
from tests.samples import load_sample

TABLE = "sla"
NOW = epoch("2025-03-10T08:15:00Z")  # when the sample Ticket Opened occurred (the edge bounds occurred_at)


@cache
def _body() -> str:
    return json.dumps(load_sample("ticket-opened"))


def _service() -> tuple[TicketService, Stubber]:
    client = boto3.client(
        "dynamodb", region_name="eu-west-1", aws_access_key_id="x", aws_secret_access_key="x"
    )
    stubber = Stubber(client)
    service = TicketService(Store(client, TABLE), load_catalog(), max_attempts=3, sleep=lambda _: None)
    return service, stubber


def _empty_query() -> tuple[str, dict[str, object], dict[str, object]]:
    return (
        "query",
        {"Items": [], "Count": 0, "ScannedCount": 0},
        {
            "TableName": TABLE,
            "KeyConditionExpression": "pk = :pk AND sk >= :first",  # the log chunks, STATE, TIMER
            "ExpressionAttributeValues": ANY,
            "ConsistentRead": True,
        },
    )


def _no_plan() -> tuple[str, dict[str, object], dict[str, object]]:
    return "get_item", {}, {"TableName": TABLE, "Key": ANY, "ConsistentRead": True}


def test_a_throttled_read_writes_nothing_and_is_raised_for_redelivery() -> None:
    service, stubber = _service()
    stubber.add_client_error(
        "query", service_error_code="ProvisionedThroughputExceededException", http_status_code=400
    )
    with stubber, pytest.raises(TransientStoreError):
        service.accept_raw(_body(), NOW, "m-1")
    stubber.assert_no_pending_responses()


def _role(write: dict[str, object]) -> str:
    """What an item of the transaction is, by its key: EVENT#, LOG#, STATE, TIMER, OUTBOX#, PLAN..."""
    ((_, action),) = write.items()
    assert isinstance(action, dict)
    key = unmarshal(action.get("Key") or action["Item"])
    pk, sk = str(key["pk"]), str(key["sk"])
    if pk.startswith("TICKET#"):
        return sk
    if pk.startswith("REJECTED#"):
        return (
            "REJECTED#"  # the event's edge rejection, removed (its sort key: tests/test_store_conflicts.py)
        )
    return pk.split("#", 1)[0] + "#" + sk


def test_a_conflict_is_re_read_and_re_folded_then_committed_once() -> None:
    service, stubber = _service()
    transactions: list[list[dict[str, object]]] = []
    stubber.client.meta.events.register(
        "before-parameter-build.dynamodb.TransactWriteItems",
        lambda params, **_: transactions.append(params["TransactItems"]),
    )
    # A new ticket commits 9 items; reasons come by position, and the STATE item is the fourth.
    reasons = [{"Code": "None"}] * 9
    reasons[3] = {"Code": "ConditionalCheckFailed"}  # the STATE item: another writer's version
    for attempt in range(2):
        name, response, params = _empty_query()
        stubber.add_response(name, response, params)
        name, response, params = _no_plan()
        stubber.add_response(name, response, params)
        if attempt == 0:
            stubber.add_client_error(
                "transact_write_items",
                service_error_code="TransactionCanceledException",
                http_status_code=400,
                response_meta={},
                modeled_fields={"CancellationReasons": reasons},
            )
        else:
            stubber.add_response(
                "transact_write_items", {}, {"TransactItems": ANY, "ClientRequestToken": ANY}
            )
    with stubber:
        outcome = service.accept_raw(_body(), NOW, "m-1")
    assert outcome.status == "accepted"
    stubber.assert_no_pending_responses()
    first, second = transactions
    assert [_role(w) for w in first] == [
        "EVENT#cp-evt-0002",
        "EVENTID#EVENTID",  # the event id's table-wide claim (unique across tickets)
        "LOG#000000",
        "REJECTED#",
        "STATE",
        "TIMER",
        "INDEX#QUEUE",  # it owes a first response: its entry in the agents' queue
        "OUTBOX#000000000001#000",
        "CUSTOMER#PLAN",
        "CUSTOMER#TICKET#T-1001",
        "REPORT#TICKET#T-1001#0",  # its month in the decided-cycle index (infra.store.report_index)
    ]
    assert [_role(w) for w in first] == [_role(w) for w in second]  # the same writes, re-folded
