"""How a fold's time grows with a ticket's history: a long conversation of 20, 200 and 2,000 events.

Each customer message opens a next_response cycle that the agent's reply meets, half of them late, so the
ticket ends with a thousand cycles at 2,000 events. Goal (issue 7): linear, 2,000 events at most ten times 200.
The figures are medians of several runs in one process, and the goal is a ratio measured in the same run.
"""

from __future__ import annotations

import statistics
import time
from datetime import UTC, datetime, timedelta

from infra.catalog_source import load_catalog
from sla.catalog import Catalog
from sla.events import AnyTicketEvent, TicketMessagePosted, TicketOpened
from sla.fold import fold

SIZES = (20, 200, 2000)
GOAL_RATIO = 10.0
START = datetime(2026, 3, 2, 8, 0, tzinfo=UTC)


def conversation(size: int, ticket_id: str = "T-long") -> list[AnyTicketEvent]:
    """A ticket of `size` events: opened, then customer message / agent reply pairs every few hours."""
    events: list[AnyTicketEvent] = [
        TicketOpened(
            event_id=f"{ticket_id}-open",
            occurred_at=START,
            ticket_id=ticket_id,
            customer_id="C-long",
            severity="high",
            subject="A long conversation",
        )
    ]
    at = START
    for index in range(1, size):
        author = "agent" if index % 2 else "customer"
        at += timedelta(minutes=50 if index % 4 == 1 else 20)
        events.append(
            TicketMessagePosted(
                event_id=f"{ticket_id}-m{index}",
                occurred_at=at,
                ticket_id=ticket_id,
                customer_id="C-long",
                author=author,
                visibility="public",
                message_id=f"msg-{index}",
            )
        )
    return events


def time_fold(events: list[AnyTicketEvent], catalog: Catalog, runs: int) -> float:
    now = int(events[-1].occurred_at.timestamp()) + 86_400
    fold(events[0].ticket_id, events, (), catalog, now)  # warm the calendar cache
    samples = []
    for _ in range(runs):
        started = time.perf_counter()
        fold(events[0].ticket_id, events, (), catalog, now)
        samples.append(time.perf_counter() - started)
    return statistics.median(samples)


def run() -> None:
    catalog = load_catalog(None)
    medians = {size: time_fold(conversation(size), catalog, runs=max(5, 4000 // size)) for size in SIZES}
    for size, seconds in medians.items():
        print(
            f"fold of a {size:>5}-event conversation: {seconds * 1000:8.2f} ms ({seconds / size * 1e6:.1f} µs an event)"
        )
    ratio = medians[2000] / medians[200]
    verdict = "met" if ratio <= GOAL_RATIO else "MISSED"
    print(f"2,000 events / 200 events: {ratio:.1f}x (goal: at most {GOAL_RATIO:.0f}x, linear) - {verdict}")
