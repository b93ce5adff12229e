"""A sweep reads what is due, not what is open: 100,000 open tickets with timers, 100 of them due.

The timers are written as the store writes them. Items read are counted from the Query responses on the
due-index (ScannedCount, what DynamoDB bills). Each claimed ticket's re-fold is counted, not run: moto
snapshots the whole table for every transaction, which at 100,000 items measures moto, not the engine;
the re-fold's own cost (one Query of the ticket, one transaction) is in the ingest figures.
"""

from __future__ import annotations

import time
from typing import Any

from infra.local_engine import LocalEngine
from infra.store import TIMER_PARTITION, timer_sort_key
from infra.sweep import sweep
from infra.ticket_service import TicketService
from sla.effects import Effect

OPEN = 100_000
DUE = 100
START = 1_775_476_800  # 2026-04-06T12:00:00Z, a Monday


class CountingService(TicketService):
    """The real service for the sweep's reads and claims; re-folds are counted instead of committed."""

    refolded: list[str]

    def refold(self, ticket_id: str, now: int) -> tuple[Effect, ...]:
        self.refolded.append(ticket_id)
        return ()


def _timer(ticket_id: str, due: int) -> dict[str, Any]:
    return {
        "PutRequest": {
            "Item": {
                "pk": {"S": f"TICKET#{ticket_id}"},
                "sk": {"S": "TIMER"},
                "kind": {"S": "timer"},
                "gsi1pk": {"S": TIMER_PARTITION},
                "gsi1sk": {"S": timer_sort_key(due, ticket_id)},
            }
        }
    }


def run() -> None:
    with LocalEngine(start=START) as engine:
        client, table = engine.dynamodb, engine.resources.table_name
        timers = [_timer(f"DUE-{n}", START + n) for n in range(DUE)]
        timers += [_timer(f"OPEN-{n}", START + 30 * 86_400 + n) for n in range(OPEN - DUE)]
        started = time.perf_counter()
        for first in range(0, len(timers), 25):
            client.batch_write_item(RequestItems={table: timers[first : first + 25]})
        load_seconds = time.perf_counter() - started
        service = CountingService(engine.store, engine.service.catalog)
        service.refolded = []
        read = {"items": 0, "queries": 0}

        def count(parsed: Any, model: Any, **_: Any) -> None:
            if model.name == "Query":
                read["queries"] += 1
                read["items"] += int(parsed.get("ScannedCount", parsed.get("Count", 0)))

        client.meta.events.register("after-call.dynamodb.Query", count)
        started = time.perf_counter()
        report = sweep(service, START + 3_600, page_size=100, max_pages=20, lease_seconds=120)
        sweep_seconds = time.perf_counter() - started
    print(f"sweep: {OPEN:,} open tickets with timers, {DUE} due ({load_seconds:.0f} s to load moto)")
    print(f"  due timers claimed:         {report.claimed} (tickets re-folded: {len(service.refolded)})")
    print(f"  items read by the sweep:    {read['items']} over {read['queries']} Query calls (ScannedCount)")
    print(f"  ratio items read / due:     {read['items'] / DUE:.2f}  (goal: <= 2)")
    print(f"  sweep wall time on moto:    {sweep_seconds:.2f} s")
