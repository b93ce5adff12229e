"""What-if at scale: a quarter of generated history (about 300,000 events) simulated under two catalogs.

The goal of issue 14: `sla-engine simulate` on a quarter's events, the packaged catalog beside the example
Premium+ (`examples/premium-plus.toml`), in under two minutes on this project's machine. Measured as a user
meets it: the command itself in a fresh process (`sla-engine simulate FILE --catalog ... --format json`),
reading the file, folding each of its 30,000 tickets under both catalogs, the KPIs, the pages, the credits
and the Erlang C staffing of 168 hours; wall time and the process's peak memory (its maximum resident set).

The history is `bench.replay_scale.history` (customers on the four levels in four zones, conversations with
late and repeated deliveries, hardware replacements), spread over 13 weeks instead of that module's four:
its span is a module constant, set here for the generation and put back after it.
"""

from __future__ import annotations

import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta
from pathlib import Path

from bench import replay_scale

EVENTS, TICKETS = 300_000, 30_000
QUARTER = timedelta(weeks=13)
GOAL_SECONDS = 120.0
ROOT = Path(__file__).resolve().parents[1]
PROPOSED = ROOT / "examples" / "premium-plus.toml"
FROM, TO = "2026-03-02", "2026-06-01"  # the 13 weeks from replay_scale.START, and the tickets' tails


@contextmanager
def _quarter() -> Iterator[None]:
    before = replay_scale.SPAN
    replay_scale.SPAN = QUARTER
    try:
        yield
    finally:
        replay_scale.SPAN = before


def quarter_history(path: Path) -> int:
    """Write the quarter's events to `path` as JSON Lines; the number of lines."""
    with _quarter():
        lines = replay_scale.history(EVENTS, TICKETS)
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return len(lines)


def run() -> None:
    with tempfile.TemporaryDirectory() as folder:
        events = Path(folder) / "quarter.jsonl"
        count = quarter_history(events)
        command = [
            sys.executable, "-c", "from cli.main import app; app()", "simulate", str(events), "--catalog", str(PROPOSED),
            "--from", FROM, "--to", TO, "--format", "json",
        ]  # fmt: skip
        env = {k: v for k, v in os.environ.items() if k != "SLA_CATALOG_PATH"}  # the packaged one is current
        started = time.perf_counter()
        done = subprocess.run(command, capture_output=True, text=True, check=True, cwd=ROOT, env=env)
        seconds = time.perf_counter() - started
    peak_mb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    document = json.loads(done.stdout)
    plan = document["staffing"]
    pages = {
        side: sum(r[f"{side}_total"] for r in document["pages"]["routes"]) for side in ("current", "proposed")
    }
    credits = document["credits"]
    print(
        f"history: bench.replay_scale.history over 13 weeks (seed 1): {count:,} events, {plan['tickets']:,} tickets"
    )
    print(f"catalogs: the packaged one beside {PROPOSED.relative_to(ROOT)}; period [{FROM}, {TO})")
    hours = plan["agent_hours_per_week"]
    rosters = ", ".join(f"{k} {v['current']:,} -> {v['proposed']:,}" for k, v in hours.items())
    print(
        f"pages {pages['current']:,} -> {pages['proposed']:,}; credits {credits['current_monthly_fees']:g} -> "
        f"{credits['proposed_monthly_fees']:g} monthly fees; agent-hours a week: {rosters}"
    )
    print(f"simulate: {seconds:.1f} s wall ({count / seconds:,.0f} events/s), peak {peak_mb:.0f} MB")
    met = "met" if seconds < GOAL_SECONDS else "NOT met"
    print(f"  goal: a quarter under two catalogs in under {GOAL_SECONDS:.0f} s: {met}")


if __name__ == "__main__":
    run()
