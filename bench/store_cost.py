"""What an accepted event costs the store as a ticket's history grows, and how large its items get.

For a conversation of 10, 100 and 1,000 events, the next accepted event's DynamoDB calls are counted: items
read, Query pages, transactions and items written. Goal (issue 7): flat, at most one Query page and one
transaction whatever the history. Then the largest item of a ticket after 2,000 events and of a customer
after many tickets, against DynamoDB's 400 KB. Measured on moto (the table built from template.yaml); moto
is slow to write, so the histories are built by the service itself but measured by counting calls, not time.
"""

from __future__ import annotations

import copy
import json
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from types import SimpleNamespace
from typing import Any

from infra.catalog_source import load_catalog
from infra.local_engine import LocalEngine
from infra.store import Store
from infra.ticket_service import TicketService

SIZES = (10, 100, 1000)
START = datetime(2026, 3, 2, 8, 0, tzinfo=UTC)
ITEM_LIMIT = 400 * 1024
CUSTOMER_TICKETS = 10_000  # 50,000 takes minutes on moto; the items measured do not grow with the count


class CountingClient:
    """A DynamoDB client that counts what each call reads and writes, then passes it on."""

    def __init__(self, client: Any) -> None:
        self._client = client
        self.calls: Counter[str] = Counter()

    def __getattr__(self, name: str) -> Any:
        method = getattr(self._client, name)

        def counted(**kwargs: Any) -> Any:
            answer = method(**kwargs)
            self.calls[name] += 1
            if name == "query":
                self.calls["items read"] += len(answer.get("Items", []))
            elif name == "get_item":
                self.calls["items read"] += 1 if "Item" in answer else 0
            elif name == "transact_write_items":
                self.calls["items written"] += len(kwargs["TransactItems"])
            return answer

        return counted


def envelope(ticket_id: str, index: int) -> dict[str, Any]:
    at = START + timedelta(minutes=35 * index)
    common = {"event_id": f"{ticket_id}-e{index}", "occurred_at": at.isoformat(), "ticket_id": ticket_id}
    if index == 0:
        detail = {**common, "customer_id": "C-bench", "severity": "high", "subject": "A long conversation"}
        return {"source": "controlpanel.support", "detail-type": "Ticket Opened", "detail": detail}
    author = "agent" if index % 2 else "customer"
    detail = {
        **common,
        "customer_id": "C-bench",
        "author": author,
        "visibility": "public",
        "message_id": f"msg-{index}",
    }
    return {"source": "controlpanel.support", "detail-type": "Ticket Message Posted", "detail": detail}


def item_size(item: dict[str, Any]) -> int:
    """DynamoDB's item size, near enough: attribute names plus their values' bytes (as JSON)."""
    return sum(
        len(name.encode()) + len(json.dumps(value, default=str).encode()) for name, value in item.items()
    )


@contextmanager
def lean_moto(table_name: str) -> Iterator[None]:
    """moto without its two costs that grow with the table: it copies the whole table, stream records
    included, for every item of a transaction (to roll it back). Nothing here reads the stream, and one copy
    a transaction is all a rollback needs. What is counted (calls, items) does not depend on this."""
    from moto.dynamodb import models as dynamodb_models
    from moto.dynamodb.models import DynamoDBBackend, dynamodb_backends
    from moto.dynamodb.models.table import Table

    backend = dynamodb_backends["123456789012"]["eu-west-1"]
    backend.tables[table_name].stream_shard = None
    original = DynamoDBBackend.transact_write_items

    def transact(self: Any, transact_items: list[dict[str, Any]]) -> None:
        copies: dict[int, Any] = {}

        def deepcopy(value: Any, memo: Any = None) -> Any:
            if not isinstance(value, Table):
                return copy.deepcopy(value, memo)
            if id(value) not in copies:
                copies[id(value)] = copy.deepcopy(value, memo)
            return copies[id(value)]

        dynamodb_models.copy = SimpleNamespace(deepcopy=deepcopy)  # type: ignore[attr-defined,assignment]
        try:
            original(self, transact_items)
        finally:
            dynamodb_models.copy = copy  # type: ignore[attr-defined]

    DynamoDBBackend.transact_write_items = transact  # type: ignore[method-assign]
    try:
        yield
    finally:
        DynamoDBBackend.transact_write_items = original  # type: ignore[method-assign]


def run() -> None:
    catalog = load_catalog(None)
    with LocalEngine() as engine, lean_moto(engine.resources.table_name):
        counting = CountingClient(engine.dynamodb)
        service = TicketService(Store(counting, engine.resources.table_name), catalog)
        print(
            f"{'history':>8} {'items read':>10} {'query pages':>11} {'get_item':>8} {'transactions':>12} {'items written':>13}"
        )
        for size in SIZES:
            ticket = f"T-{size}"
            last = size
            for index in range(size):
                event = envelope(ticket, index)
                service.accept(
                    event, int(datetime.fromisoformat(event["detail"]["occurred_at"]).timestamp()), "b"
                )
            counting.calls.clear()
            event = envelope(ticket, last)
            outcome = service.accept(
                event, int(datetime.fromisoformat(event["detail"]["occurred_at"]).timestamp()), "b"
            )
            calls = counting.calls
            print(
                f"{size:>8} {calls['items read']:>10} {calls['query']:>11} {calls['get_item']:>8}"
                f" {calls['transact_write_items']:>12} {calls['items written']:>13}  ({outcome.status})"
            )
        ticket = f"T-{SIZES[-1]}"
        for index in range(SIZES[-1] + 1, 2000):
            event = envelope(ticket, index)
            service.accept(
                event, int(datetime.fromisoformat(event["detail"]["occurred_at"]).timestamp()), "b"
            )
        items = [
            i
            for i in engine.items_of_kind("log") + engine.items_of_kind("state")
            if i["pk"] == f"TICKET#{ticket}"
        ]
        largest = max(items, key=item_size)
        state = next(i for i in items if i["sk"] == "STATE")
        print(
            f"largest item of a 2,000-event ticket: {item_size(largest) / 1024:.1f} KB ({largest['sk']}),"
            f" {item_size(largest) / ITEM_LIMIT:.1%} of DynamoDB's 400 KB; its state item: {item_size(state) / 1024:.1f} KB"
        )
        customer_items(engine, service)


def customer_items(engine: LocalEngine, service: TicketService) -> None:
    """A customer with many open tickets: registrations written directly (moto writes slowly), then a plan
    change through the service, which marks them all due; the customer's largest item is reported."""
    table = engine.resources.table_name
    requests = [
        {
            "PutRequest": {
                "Item": {
                    "pk": {"S": "CUSTOMER#C-big"},
                    "sk": {"S": f"TICKET#T-big-{n}"},
                    "kind": {"S": "registration"},
                }
            }
        }
        for n in range(CUSTOMER_TICKETS)
    ]
    for start in range(0, len(requests), 25):
        engine.dynamodb.batch_write_item(RequestItems={table: requests[start : start + 25]})
    change = {
        "source": "controlpanel.support",
        "detail-type": "Support Plan Changed",
        "detail": {
            "event_id": "plan-big",
            "occurred_at": START.isoformat(),
            "customer_id": "C-big",
            "support_level": "premium",
        },
    }
    outcome = service.accept(change, int(START.timestamp()), "b")
    found = engine.dynamodb.query(
        TableName=table,
        KeyConditionExpression="pk = :pk",
        ExpressionAttributeValues={":pk": {"S": "CUSTOMER#C-big"}},
    )
    from infra.store.keys import unmarshal

    items = [unmarshal(i) for i in found["Items"]]
    while "LastEvaluatedKey" in found:
        found = engine.dynamodb.query(
            TableName=table,
            KeyConditionExpression="pk = :pk",
            ExpressionAttributeValues={":pk": {"S": "CUSTOMER#C-big"}},
            ExclusiveStartKey=found["LastEvaluatedKey"],
        )
        items.extend(unmarshal(i) for i in found["Items"])
    largest = max(items, key=item_size)
    print(
        f"a customer with {CUSTOMER_TICKETS:,} open tickets ({outcome.status} plan change marked them due):"
        f" {len(items):,} items, the largest {item_size(largest)} bytes ({largest['sk']})"
    )
