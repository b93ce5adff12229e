"""What the read API costs: the queue's items read per page among 100,000 open tickets, and the latency of a
ticket's SLA through the QueryFunction handler beside a raw GetItem.

1. The queue is an index: a page must read at most its size plus one item whatever the number of open
   tickets (issue 11, item 3). 100,000 tickets are opened through the ticket service (the commit that writes
   their queue entries) on the in-memory store, whose index keeps the table's partitions and order (moto
   copies its whole table per transaction: not a store for volume); then pages are read through the query
   service: the first, one 50,000 tickets deep (by its cursor), and a level-filtered one, with the items
   each read and its time. The same first page on moto, from the template's queue-index, with a smaller
   queue, shows the DynamoDB adapter's Query reads the same.
2. A ticket's SLA (`GET /v1/tickets/{id}/sla`) through the handler (the resolver, the service's Query of the
   ticket and GetItem of the plan, the fold at the request's now, the answer's validation and JSON) on moto,
   p50 and p99 over REQUESTS requests, beside the same two reads alone and a raw GetItem of the ticket's
   STATE item on the same client: what reading the state costs at the least, against what a view of it costs. moto's latencies are not
   DynamoDB's: the figures compare the two paths on one machine, they are not production latencies.
"""

from __future__ import annotations

import contextlib
import io
import json
import statistics
import time
import uuid
from collections.abc import Callable
from typing import Any

from infra.catalog_source import load_catalog
from infra.query.service import Caller, QueryService
from infra.store.queue import encode_cursor
from infra.ticket_service import TicketService
from local.engine import FakeLambdaContext, LocalEngine
from local.memory.store import MemoryStore
from local.serve import api_event
from sla.events import SOURCE

OPEN_TICKETS = 100_000
MOTO_TICKETS = 60  # moto copies its whole table per transaction: a queue, not a volume
REQUESTS = 300
START = 1_775_552_400  # 2026-04-07T09:00:00Z, a Tuesday
LEVELS = ("standard", "premium", "business", "enterprise")
SEVERITIES = ("critical", "high", "medium", "low")
AGENT = Caller(agent=True, customer_id=None)


def _envelope(detail_type: str, at: int, **detail: Any) -> dict[str, Any]:
    when = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(at))
    event_id = str(uuid.uuid4())
    return {
        "version": "0",
        "id": event_id,
        "detail-type": detail_type,
        "source": SOURCE,
        "account": "123456789012",
        "time": when,
        "region": "eu-west-1",
        "resources": [],
        "detail": {"event_id": event_id, "occurred_at": when, **detail},
    }


def _populate(service: TicketService, tickets: int, now: int) -> None:
    """One customer per level; tickets opened over the day before `now`, every severity."""
    for number, level in enumerate(LEVELS):
        change = _envelope(
            "Support Plan Changed", now - 2 * 86_400, customer_id=f"C-{number}", support_level=level
        )
        assert service.accept(change, now - 2 * 86_400, "bench").status == "accepted"
    for number in range(tickets):
        opened_at = now - 86_400 + number * 86_400 // tickets
        event = _envelope(
            "Ticket Opened",
            opened_at,
            ticket_id=f"T-{number:06d}",
            customer_id=f"C-{number % len(LEVELS)}",
            severity=SEVERITIES[number // len(LEVELS) % len(SEVERITIES)],
            subject="down",
        )
        assert service.accept(event, now, "bench").status == "accepted"


def _timed(read: Callable[[], Any]) -> tuple[Any, float]:
    started = time.perf_counter()
    answer = read()
    return answer, (time.perf_counter() - started) * 1000


def queue_pages() -> None:
    catalog = load_catalog(None)
    store = MemoryStore()
    now = START
    started = time.perf_counter()
    _populate(TicketService(store, catalog), OPEN_TICKETS, now)
    print(
        f"{OPEN_TICKETS:,} tickets opened through the commit in {time.perf_counter() - started:.0f} s (memory store)"
    )
    reader = QueryService(store, catalog)
    keys = store.queue._partitions["QUEUE"]  # the index's order, to start a page deep inside it
    deep = encode_cursor(keys[OPEN_TICKETS // 2 - 1], OPEN_TICKETS // 2)
    print(f"{'page':<44} {'limit':>5} {'items read':>10} {'ms':>7}")
    for title, limit, level, cursor in (
        ("first page", 25, None, None),
        ("first page", 100, None, None),
        (f"page after {OPEN_TICKETS // 2:,} tickets (its cursor)", 100, None, deep),
        ("level=enterprise, first page", 25, "enterprise", None),
    ):
        read, ms = _timed(lambda: reader.queue(AGENT, now, None, level, limit, cursor))  # noqa: B023
        first = read.page.items[0].position if read.page.items else "-"
        print(f"{title:<50} {limit:>5} {read.items_read:>10} {ms:>7.2f}  (from position {first})")
    print(f"open tickets in the queue: {store.queue.size():,}")


def moto_paths() -> None:
    with LocalEngine(start=START) as engine:
        from functions import query  # after the engine set the functions' environment, as Lambda does

        service = engine.service
        _populate(service, MOTO_TICKETS, START)
        ticket = "T-000007"
        for minute in range(1, 20):  # a conversation: 20 events in all
            author = "customer" if minute % 2 else "agent"
            message = _envelope(
                "Ticket Message Posted",
                START + minute * 60,
                ticket_id=ticket,
                customer_id="C-3",
                author=author,
                visibility="public",
                message_id=f"m-{minute}",
            )
            engine.now = START + minute * 60
            assert service.accept(message, engine.now, "bench").status == "accepted"
        engine.now = START + 3600
        first = QueryService(engine.store, service.catalog).queue(AGENT, engine.now, limit=25)
        print(
            f"moto, {MOTO_TICKETS} open tickets: first page of 25 read {first.items_read} items from queue-index"
        )
        event = api_event("GET", f"/v1/tickets/{ticket}/sla", {"x-sla-scope": "sla/agent"})
        context = FakeLambdaContext("QueryFunction")
        client, table = engine.dynamodb, engine.resources.table_name
        key = {"pk": {"S": f"TICKET#{ticket}"}, "sk": {"S": "STATE"}}

        def handler() -> None:
            with contextlib.redirect_stdout(io.StringIO()):
                response = query.handler(event, context)
            assert response["statusCode"] == 200, response
            assert json.loads(response["body"])["ticket_id"] == ticket

        def get_item() -> None:
            assert "Item" in client.get_item(TableName=table, Key=key, ConsistentRead=True)

        def reads() -> None:  # what the service reads, raw: the ticket's items and the customer's plan
            engine.store.load_ticket(ticket)
            engine.store.load_plans("C-3")

        handler()  # the cold start: the resolver and its models, built once
        print(f"{'moto, ' + str(REQUESTS) + ' requests':<50} {'p50 ms':>7} {'p99 ms':>7}")
        for title, call in (
            ("GET /v1/tickets/{id}/sla through the handler", handler),
            ("its two reads alone (Query ticket, GetItem plan)", reads),
            ("raw GetItem of STATE", get_item),
        ):
            times = sorted(_timed(call)[1] for _ in range(REQUESTS))
            p99 = times[min(len(times) - 1, round(0.99 * len(times)) - 1)]
            print(f"{title:<50} {statistics.median(times):>7.2f} {p99:>7.2f}")


def run() -> None:
    queue_pages()
    moto_paths()


if __name__ == "__main__":
    run()
