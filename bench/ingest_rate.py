"""Ingest throughput on moto, as ratios to moto's own raw rates measured in the same run.

Absolute rates on moto say little about DynamoDB. Two baselines: raw put_item, and a raw transaction of the
three items an accepted event writes (event, state, timer) into a table that grows the same way, because
moto snapshots the whole table for every transaction item, so its transactions slow as the table grows.
The second ratio is what the engine adds on top of the storage calls it cannot avoid.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from typing import Any

from local.engine import LocalEngine, sqs_event

TICKETS = 40
BATCH = 10
START = 1_775_520_000  # 2026-04-07T00:00:00Z, after every event of the run
KEYS = {
    "KeySchema": [{"AttributeName": "pk", "KeyType": "HASH"}, {"AttributeName": "sk", "KeyType": "RANGE"}],
    "AttributeDefinitions": [
        {"AttributeName": "pk", "AttributeType": "S"},
        {"AttributeName": "sk", "AttributeType": "S"},
    ],
    "BillingMode": "PAY_PER_REQUEST",
}


def _events() -> list[str]:
    bodies = []
    for t in range(TICKETS):
        base = f"2026-04-06T{8 + t % 8:02d}:{t % 60:02d}"
        details = [
            ("Ticket Opened", {"severity": "high", "subject": "Latency"}),
            ("Ticket Message Posted", {"author": "agent", "visibility": "internal", "message_id": f"m{t}a"}),
            ("Ticket Message Posted", {"author": "agent", "visibility": "public", "message_id": f"m{t}b"}),
            ("Ticket Message Posted", {"author": "customer", "visibility": "public", "message_id": f"m{t}c"}),
            ("Ticket Severity Changed", {"severity": "critical"}),
            ("Ticket Status Changed", {"status": "resolved"}),
        ]
        for n, (detail_type, extra) in enumerate(details):
            detail = {
                "event_id": f"bench-{t}-{n}",
                "occurred_at": f"{base}:{n:02d}Z",
                "ticket_id": f"T-{t}",
                "customer_id": f"C-{t % 7}",
                **extra,
            }
            bodies.append(
                json.dumps({"source": "controlpanel.support", "detail-type": detail_type, "detail": detail})
            )
    return bodies


def _rate(count: int, work: Callable[[], None]) -> float:
    started = time.perf_counter()
    work()
    return count / (time.perf_counter() - started)


def _time_in_calls(client: Any) -> list[float]:
    """Seconds spent inside the client's API calls from now on, accumulated in the returned cell."""
    total = [0.0]
    started: list[float] = []

    def before(**_: Any) -> None:
        started.append(time.perf_counter())

    def after(**_: Any) -> None:
        total[0] += time.perf_counter() - started.pop()

    client.meta.events.register("before-call.dynamodb.*", before)
    client.meta.events.register("after-call.dynamodb.*", after)
    return total


def run() -> None:
    bodies = _events()
    with LocalEngine(start=START) as engine:
        client = engine.dynamodb
        # Each baseline writes to a table of its own: moto's cost per call grows with the table's size.
        for table in ("bench-raw", "bench-txn"):
            client.create_table(TableName=table, **KEYS)

        def raw_puts() -> None:
            for n, body in enumerate(bodies):
                item = {"pk": {"S": f"RAW#{n}"}, "sk": {"S": "RAW"}, "body": {"S": body}}
                client.put_item(TableName="bench-raw", Item=item)

        def raw_transactions() -> None:
            for n, body in enumerate(bodies):
                ticket = {"S": f"TICKET#{n // 6}"}
                items = [
                    {"pk": ticket, "sk": {"S": f"EVENT#{n}"}, "detail": {"S": body}},
                    {"pk": ticket, "sk": {"S": "STATE"}, "state": {"S": body}},
                    {"pk": ticket, "sk": {"S": "TIMER"}, "due": {"N": str(n)}},
                ]
                client.transact_write_items(
                    TransactItems=[{"Put": {"TableName": "bench-txn", "Item": i}} for i in items]
                )

        def ingest() -> None:
            for i in range(0, len(bodies), BATCH):
                failures = engine.invoke("IngestFunction", sqs_event(bodies[i : i + BATCH]))[
                    "batchItemFailures"
                ]
                assert not failures, failures

        put_rate = _rate(len(bodies), raw_puts)
        transaction_rate = _rate(len(bodies), raw_transactions)
        in_storage = _time_in_calls(client)
        started = time.perf_counter()
        ingest_rate = _rate(len(bodies), ingest)
        ingest_seconds = time.perf_counter() - started
    print(f"ingest on moto: {len(bodies)} events ({TICKETS} tickets x 6) in SQS batches of {BATCH}")
    print(f"  moto raw put_item:                    {put_rate:8.1f} items/s")
    print(f"  moto raw 3-put transaction:           {transaction_rate:8.1f} transactions/s")
    print(f"  IngestFunction handler:               {ingest_rate:8.1f} events/s")
    print(f"  ratio ingest / raw put_item:          {ingest_rate / put_rate:8.3f}")
    print(f"  ratio ingest / raw transaction:       {ingest_rate / transaction_rate:8.3f}")
    print(f"  share of ingest time inside moto's DynamoDB calls: {in_storage[0] / ingest_seconds:.0%}")
