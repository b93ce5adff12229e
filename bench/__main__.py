"""`python -m bench`: every benchmark section in order, each printing its own figures under a heading.

A section is a function with no arguments; add one by appending it to SECTIONS. Sections run in one
process, one after the other, so a later one never competes with an earlier one for the CPU.
"""

from __future__ import annotations

import time
from collections.abc import Callable

from bench import calendar_peers, ingest_rate, sweep_cost

SECTIONS: list[tuple[str, Callable[[], None]]] = [
    ("working-time calendar vs businesstimedelta and pandas", calendar_peers.run),
    ("ingest throughput on moto", ingest_rate.run),
    ("sweep cost: items read with 100,000 open tickets", sweep_cost.run),
    ("fold cost: a 20-event ticket", lambda: __import__("bench.fold_cost", fromlist=["run"]).run()),
]


def main() -> None:
    for title, section in SECTIONS:
        print(f"== {title} ==")
        started = time.perf_counter()
        section()
        print(f"-- {title}: {time.perf_counter() - started:.1f} s\n")


if __name__ == "__main__":
    main()
