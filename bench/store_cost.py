"""What an accepted event costs the store as a ticket's history grows, and how large its items get.

For a conversation of 10, 100 and 1,000 events, the next accepted event's DynamoDB calls are counted: items
read, Query pages, transactions and items written. Goal (issue 7): flat, at most one Query page and one
transaction whatever the history. Then the largest item of a ticket of 2,000 events and of a customer with
many open tickets, against DynamoDB's 400 KB.

On moto, from the table of template.yaml. moto copies the whole table for each transaction, so histories are
prepared in the store's own shapes (the helpers of tests/test_store_limits.py, which checks them against what
ingest writes) and only the events measured go through the service: counts and sizes, not times.
"""

from __future__ import annotations

from collections import Counter
from types import SimpleNamespace
from typing import Any

from infra.store import Store
from infra.store.keys import marshal
from infra.ticket_service import TicketService
from local.engine import LocalEngine
from tests.conftest import CATALOG
from tests.test_store_limits import (
    CUSTOMER,
    ITEM_LIMIT,
    conversation,
    occurred,
    plan_change,
    prepared_history,
    register_directly,
    sizes,
)

SIZES = (10, 100, 1000)
LONGEST = 2000
CUSTOMER_TICKETS = 10_000  # 50,000 takes minutes on moto; no customer item grows with the count


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


def _write(engine: LocalEngine, items: list[dict[str, Any]]) -> None:
    table = engine.resources.table_name
    for start in range(0, len(items), 25):
        requests = [{"PutRequest": {"Item": marshal(item)}} for item in items[start : start + 25]]
        engine.dynamodb.batch_write_item(RequestItems={table: requests})


def _history(engine: LocalEngine, service: TicketService, ticket: str, size: int) -> list[dict[str, Any]]:
    """A ticket of `size - 1` events stored, the last of them through the service (a real state item);
    returns the envelope of event number `size`, the one to measure."""
    events = conversation(ticket, size)
    _write(engine, prepared_history(ticket, events[:-2], occurred(events[-3])))
    assert service.accept(events[-2], occurred(events[-2]), "bench").status == "accepted"
    return events


def run() -> None:
    with LocalEngine() as engine:
        counting = CountingClient(engine.dynamodb)
        service = TicketService(Store(counting, engine.resources.table_name), CATALOG)
        start = occurred(conversation("T-x", 1)[0])
        assert service.accept(plan_change(start - 3600), start - 3600, "bench").status == "accepted"
        print(
            f"{'history':>8} {'items read':>10} {'queries':>8} {'get_item':>8} {'transactions':>12} {'items written':>13}"
        )
        for size in SIZES:
            events = _history(engine, service, f"T-{size}", size)
            counting.calls.clear()
            outcome = service.accept(events[-1], occurred(events[-1]), "bench")
            calls = counting.calls
            print(
                f"{size:>8} {calls['items read']:>10} {calls['query']:>8} {calls['get_item']:>8}"
                f" {calls['transact_write_items']:>12} {calls['items written']:>13}  ({outcome.status})"
            )
        ticket = f"T-{LONGEST}"
        events = _history(engine, service, ticket, LONGEST)
        assert service.accept(events[-1], occurred(events[-1]), "bench").status == "accepted"
        found = sizes(SimpleNamespace(table_name=engine.resources.table_name), f"TICKET#{ticket}")  # type: ignore[arg-type]
        (key, largest) = max(found.items(), key=lambda entry: entry[1])
        state = found[(f"TICKET#{ticket}", "STATE")]
        print(
            f"largest item of a {LONGEST:,}-event ticket: {largest / 1024:.1f} KB ({key[1]}),"
            f" {largest / ITEM_LIMIT:.1%} of 400 KB; its STATE item: {state / 1024:.1f} KB"
        )
        register_directly(
            SimpleNamespace(client=engine.dynamodb, table_name=engine.resources.table_name),
            CUSTOMER_TICKETS,
            0,
        )  # type: ignore[arg-type]
        change = plan_change(start + 60)
        change["detail"] = {**change["detail"], "event_id": "plan-2", "support_level": "enterprise"}
        outcome = service.accept(change, start + 60, "bench")
        found = sizes(SimpleNamespace(table_name=engine.resources.table_name), f"CUSTOMER#{CUSTOMER}")  # type: ignore[arg-type]
        (key, largest) = max(found.items(), key=lambda entry: entry[1])
        print(
            f"a customer with {CUSTOMER_TICKETS:,} open tickets (plan change {outcome.status}): {len(found):,} items,"
            f" the largest {largest} bytes ({key[1]})"
        )
