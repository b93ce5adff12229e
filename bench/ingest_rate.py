"""Ingest throughput on moto, as a ratio to moto's own raw put_item rate measured in the same run.

Absolute rates on moto say little about DynamoDB; the ratio says what the engine adds on top of the
storage calls it cannot avoid (parse, one Query, one GetItem for the plan, the fold, one transaction).
"""

from __future__ import annotations

import json
import time

from infra.local_engine import LocalEngine

TICKETS = 40
BATCH = 10


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


def run() -> None:
    bodies = _events()
    with LocalEngine(start=int(time.mktime((2026, 4, 7, 0, 0, 0, 0, 0, 0)))) as engine:
        client = engine.dynamodb
        # The baseline writes to a table of its own: moto's cost per call grows with the table's size.
        client.create_table(
            TableName="bench-raw",
            KeySchema=[
                {"AttributeName": "pk", "KeyType": "HASH"},
                {"AttributeName": "sk", "KeyType": "RANGE"},
            ],
            AttributeDefinitions=[
                {"AttributeName": "pk", "AttributeType": "S"},
                {"AttributeName": "sk", "AttributeType": "S"},
            ],
            BillingMode="PAY_PER_REQUEST",
        )
        started = time.perf_counter()
        for n, body in enumerate(bodies):
            client.put_item(
                TableName="bench-raw", Item={"pk": {"S": f"RAW#{n}"}, "sk": {"S": "RAW"}, "body": {"S": body}}
            )
        raw_seconds = time.perf_counter() - started
        started = time.perf_counter()
        for i in range(0, len(bodies), BATCH):
            failures = engine.deliver(bodies[i : i + BATCH])["batchItemFailures"]
            assert not failures, failures
        ingest_seconds = time.perf_counter() - started
    raw_rate = len(bodies) / raw_seconds
    ingest_rate = len(bodies) / ingest_seconds
    print(f"ingest on moto: {len(bodies)} events ({TICKETS} tickets x 6) in batches of {BATCH}")
    print(f"  moto raw put_item:        {raw_rate:8.0f} items/s")
    print(f"  IngestFunction handler:   {ingest_rate:8.0f} events/s")
    print(f"  ratio ingest / raw put:   {ingest_rate / raw_rate:8.3f}")
