"""The report's throughput: a generated year of history (100,000 tickets) through the pure core, against
replay on the memory backend on a slice of the same history, in the same run.

`sla-engine report` reads an events file, folds each ticket once up to `--to` and counts SPEC section 9's
figures from the records (`cli.report_input.read_history`, `sla.kpi_history.fold_history`, `sla.kpis.report`).
Replay runs the deployed functions' code on every event (ingest, a commit per event, the sweeper, the
notifier). The figures are events per second of each on this machine and their ratio: how many times faster
a year's report is than replaying the same history, not an absolute claim about another machine. Rates are
per second of the process's CPU time (`time.process_time`, both single-threaded), so that other jobs on a
shared machine change the wall time, printed beside it, and not the ratio.

The history is `bench.replay_scale.history` (seed 1) with the tickets opened over a year: customers on the
four levels in four zones, conversations both ways, late and repeated deliveries, about ten events a
ticket. The slice is its first SLICE_TICKETS tickets with their customers' plan changes, run through both.
"""

from __future__ import annotations

import json
import tempfile
import time
from datetime import timedelta
from pathlib import Path
from typing import Any

from bench.replay_scale import EVENTS_PER_TICKET, START, history

YEAR_TICKETS = 100_000
SLICE_TICKETS = 2_000
YEAR = timedelta(days=364)


def pure_core(lines: list[str]) -> dict[str, Any]:
    """The `sla-engine report` path on `lines` written to a file: read and parse, fold and record, count the
    figures for the history's whole span. Seconds per stage, and what was counted."""
    from cli.report_input import read_history
    from infra.catalog_source import load_catalog
    from sla.calendar import to_epoch
    from sla.kpi_history import fold_history
    from sla.kpis import Period, report

    catalog = load_catalog(None)
    period = Period(to_epoch(START - timedelta(days=1)), to_epoch(START + YEAR + timedelta(days=30)))
    with tempfile.TemporaryDirectory() as directory:
        path = Path(directory) / "history.jsonl"
        path.write_text("\n".join(lines) + "\n", encoding="utf-8")
        wall, started = time.perf_counter(), time.process_time()
        parsed = read_history(path)
        read = time.process_time()
    records = fold_history(parsed.events, catalog, period.end)
    folded = time.process_time()
    document = report(records.tickets, records.cycles, catalog, period, ("level",))
    counted = time.process_time()
    decided = sum(e["met"] + e["breached"] for g in document["groups"] for e in g["compliance"])
    return {
        "events": len(lines),
        "tickets": len(records.tickets),
        "cycles": decided,
        "parse": read - started,
        "fold": folded - read,
        "kpis": counted - folded,
        "seconds": counted - started,
        "wall": time.perf_counter() - wall,
    }


def replay_memory(lines: list[str]) -> dict[str, Any]:
    """`sla-engine replay --backend memory` on `lines`: every event through the deployed functions' code."""
    from local.engine import open_engine
    from local.replay import document, play, schedule

    deliveries, start, horizon = schedule(lines)
    count = len(deliveries)
    wall, started = time.perf_counter(), time.process_time()
    with open_engine("memory", start=start, keep_sent=False) as engine:
        play(engine, deliveries, horizon)
        replayed = document(engine, horizon)
    return {
        "events": count,
        "tickets": len(replayed["tickets"]),
        "seconds": time.process_time() - started,
        "wall": time.perf_counter() - wall,
    }


def the_slice(lines: list[str], tickets: int) -> list[str]:
    """The first `tickets` tickets' events and their customers' plan changes."""
    kept = []
    customers = set()
    for line in lines:
        detail = json.loads(line)["detail"]
        ticket = detail.get("ticket_id")
        if ticket is not None and int(ticket.removeprefix("T-")) < tickets:
            kept.append(line)
            customers.add(detail["customer_id"])
    plans = [line for line in lines if '"Support Plan Changed"' in line]
    return [line for line in plans if json.loads(line)["detail"]["customer_id"] in customers] + kept


def _rate(figures: dict[str, Any]) -> float:
    return float(figures["events"] / figures["seconds"])


def _row(name: str, figures: dict[str, Any]) -> str:
    return (
        f"{name:44} {figures['events']:>10,} {figures['tickets']:>8,} {figures['seconds']:>8.1f} "
        f"{figures['wall']:>8.1f} {_rate(figures):>13,.0f}"
    )


def run(year_tickets: int = YEAR_TICKETS, slice_tickets: int = SLICE_TICKETS) -> None:
    started = time.perf_counter()
    lines = history(year_tickets * EVENTS_PER_TICKET, year_tickets, seed=1, span=YEAR)
    print(
        f"history: bench.replay_scale.history over {YEAR.days} days (seed 1): {len(lines):,} events, "
        f"{year_tickets:,} tickets, generated in {time.perf_counter() - started:.1f} s"
    )
    sliced = the_slice(lines, slice_tickets)
    year = pure_core(lines)
    del lines
    print(f"{'run':44} {'events':>10} {'tickets':>8} {'CPU s':>8} {'wall s':>8} {'events/CPU s':>13}")
    print(_row("pure core, the year (report path)", year))
    print(
        f"  CPU: parse {year['parse']:.1f} s, fold + records {year['fold']:.1f} s, KPIs {year['kpis']:.1f} s; "
        f"{year['cycles']:,} cycles decided"
    )
    core = pure_core(sliced)
    replay = replay_memory(sliced)
    print(_row(f"pure core, slice of {slice_tickets:,} tickets", core))
    print(_row("replay, memory backend, the same slice", replay))
    print(
        f"ratio: the pure core reads {_rate(core) / _rate(replay):.1f}x the events per second of replay on the "
        f"slice, {_rate(year) / _rate(replay):.1f}x over the whole year; replaying the year at the slice's rate "
        f"would take {year['events'] / _rate(replay) / 60:.0f} CPU min, its report {year['seconds'] / 60:.1f}"
    )


if __name__ == "__main__":
    import sys

    run(*(int(argument) for argument in sys.argv[1:3]))
