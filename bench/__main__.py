"""`python -m bench`: every benchmark section in order, each printing its own figures under a heading.

A section is a function with no arguments; add one by appending it to SECTIONS. Sections run in one
process, one after the other, so a later one never competes with an earlier one for the CPU.
"""

from __future__ import annotations

import time
from collections.abc import Callable

from bench import (
    calendar_peers,
    cold_start,
    fold_cost,
    fold_scaling,
    ingest_rate,
    query_cost,
    replay_latency,
    replay_scale,
    report_throughput,
    simulate_scale,
    store_cost,
    storm_pages,
    sweep_cost,
)

SECTIONS: list[tuple[str, Callable[[], None]]] = [
    ("working-time calendar vs businesstimedelta and pandas", calendar_peers.run),
    ("fold cost: a 20-event ticket", fold_cost.run),
    ("fold scaling: a conversation of 20, 200 and 2,000 events", fold_scaling.run),
    ("ingest throughput on moto", ingest_rate.run),
    ("replay: how late pages act after their scheduled instant", replay_latency.run),
    ("replay at scale: 2,000, 20,000 and 200,000 events, memory backend beside moto", replay_scale.run),
    ("store cost: calls and items per accepted event as a history grows; item sizes", store_cost.run),
    ("sweep at scale: 10,000 due of 100,000 open, run after run", sweep_cost.run),
    (
        "read API: queue items read per page among 100,000 open; a ticket's SLA on moto beside a GetItem",
        query_cost.run,
    ),
    ("cold start: each handler's import and init against the bare stack, in fresh processes", cold_start.run),
    (
        "report throughput: a year (100,000 tickets) through the pure core, against replay on the memory backend",
        report_throughput.run,
    ),
    ("storm control: pages sent for a 500-ticket outage, with and without incident links", storm_pages.run),
    ("what-if at scale: a quarter of history (300,000 events) under two catalogs", simulate_scale.run),
]


def main() -> None:
    for title, section in SECTIONS:
        print(f"== {title} ==")
        started = time.perf_counter()
        section()
        print(f"-- {title}: {time.perf_counter() - started:.1f} s\n")


if __name__ == "__main__":
    main()
