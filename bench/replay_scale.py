"""Replay at scale: 2,000, 20,000 and 200,000 events, ten a ticket, through `local.replay.replay`.

The issue this answers: on moto, replay grows with the square of the history (moto deep-copies the table
for every item of every transaction), so a month of tickets never finishes. The memory backend keeps a
ticket's events decoded and the notifier reads only the outbox items a step added, so its time and memory
grow with the history. Goal: 200,000 events over 20,000 tickets in under two minutes and 1 GB.

Each run is a fresh process (`python -m bench.replay_scale <backend> <events>`), so its peak memory (the
process's maximum resident set, as the kernel counts it) is its own, not the largest of the runs before it.
Figures printed: wall time, CPU time (the process's own: on a shared machine, the one that does not grow
with the other jobs), events per second and peak RSS per run; moto beside memory on the smallest size.

The histories are generated (`history`): customers on the four levels in four zones, each with its plan
change first; tickets opened over four weeks, each a conversation of messages both ways, internal notes,
severity changes, waits on the customer, hardware replacements, acknowledgements, resolution and closure;
some events delivered late (their envelope's `time` after `occurred_at`) and some delivered twice.
tests/test_backends.py replays small ones on both backends and requires the same document.
"""

from __future__ import annotations

import json
import os
import random
import resource
import subprocess
import sys
import threading
import time
from datetime import UTC, datetime, timedelta
from typing import Any

from sla.events import SOURCE

SIZES = (2_000, 20_000, 200_000)
EVENTS_PER_TICKET = 10
TICKETS_PER_CUSTOMER = 10
MOTO_SIZES = (2_000,)
MOTO_BUDGET = (300.0, 4096.0)  # seconds, megabytes: moto stops there and reports how far it got
GOAL_SECONDS, GOAL_MEGABYTES = 120.0, 1024.0
START = datetime(2026, 3, 2, tzinfo=UTC)  # a Monday; tickets open over the four weeks after it
SPAN = timedelta(days=28)
PLANS = (
    ("standard", "Europe/Paris", "FR", "fr"),
    ("premium", "Europe/Berlin", "DE", "en"),
    ("business", "Europe/Moscow", "RU", "ru"),
    ("enterprise", "America/New_York", "US", "en"),
)


def history(
    events: int, tickets: int, seed: int = 1, customers: int | None = None, span: timedelta = SPAN
) -> list[str]:
    """About `events` EventBridge events (JSON lines) over `tickets` tickets of `customers` customers (by
    default one per ten tickets), the customers' support levels taken in turn, opened over `span` from START.

    Deterministic for a seed. The count is approximate: each ticket's story is drawn to the average length,
    and the customers' plan changes come on top.
    """
    rng = random.Random(seed)
    customers = customers or max(1, tickets // TICKETS_PER_CUSTOMER)
    lines = [_plan_change(rng, n) for n in range(customers)]
    per_ticket = max(1, round((events - customers) / max(1, tickets)))
    for number in range(tickets):
        lines.extend(_ticket(rng, f"T-{number:06d}", f"C-{number % customers:05d}", per_ticket, span))
    return lines


def _line(
    detail_type: str, detail: dict[str, Any], occurred: datetime, delivered: datetime | None = None
) -> str:
    envelope: dict[str, Any] = {
        "version": "0",
        "id": f"bench-{detail['event_id']}",
        "detail-type": detail_type,
        "source": SOURCE,
        "account": "123456789012",
        "time": (delivered or occurred).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "region": "eu-west-1",
        "resources": [],
        "detail": {**detail, "occurred_at": occurred.isoformat()},
    }
    return json.dumps(envelope)


def _plan_change(rng: random.Random, number: int) -> str:
    level, zone, country, locale = PLANS[number % len(PLANS)]
    detail: dict[str, Any] = {
        "event_id": f"plan-{number}",
        "customer_id": f"C-{number:05d}",
        "support_level": level,
        "timezone": zone,
        "country": country,
        "locale": locale,
    }
    if rng.random() < 0.7:
        detail["contact_email"] = f"ops@customer-{number}.example"
    return _line("Support Plan Changed", detail, START - timedelta(days=1))


def _ticket(rng: random.Random, ticket: str, customer: str, length: int, span: timedelta) -> list[str]:
    """One ticket's conversation, `length` events: opened, answered (most often in time, sometimes hours
    late, then acknowledged by on-call), the customer's follow-ups, notes, a severity change or a wait on the
    customer now and then, a disk replacement on hardware tickets, then resolved and closed."""
    at = START + timedelta(seconds=rng.randrange(int(span.total_seconds())))
    severity = rng.choice(("critical", "high", "medium", "medium", "low", "low"))
    hardware = rng.random() < 0.15
    story: list[tuple[datetime, str, dict[str, Any]]] = [
        (at, "Ticket Opened", {"severity": severity, "subject": "Server unreachable",
                               "category": "hardware" if hardware else "incident"}),
    ]  # fmt: skip
    owed: str | None = "first_response"  # the response the customer waits for, if any
    while len(story) < length - 2:
        at += timedelta(minutes=rng.randrange(2, 20) if rng.random() < 0.85 else rng.randrange(60, 360))
        roll = rng.random()
        if owed is not None and roll < 0.7:
            slow = at - story[-1][0] >= timedelta(hours=1)
            if slow and severity in ("critical", "high"):  # paged: on-call acknowledges, then answers
                story.append((at, "Alert Acknowledged", {"metric": owed, "acknowledged_by": "on-call"}))
                at += timedelta(minutes=rng.randrange(5, 30))
            story.append((at, "Ticket Message Posted", _message("agent", "public", ticket, len(story))))
            owed = None
        elif roll < 0.75:
            story.append((at, "Ticket Message Posted", _message("customer", "public", ticket, len(story))))
            owed = owed or "next_response"
        elif roll < 0.85:
            story.append((at, "Ticket Message Posted", _message("agent", "internal", ticket, len(story))))
        elif roll < 0.9:
            severity = rng.choice(("critical", "high", "medium", "low"))
            story.append((at, "Ticket Severity Changed", {"severity": severity}))
        elif hardware:
            disk = {"server_id": f"srv-{ticket}", "component": "disk"}
            story.append((at, "Hardware Replacement Requested", disk))
            at += timedelta(minutes=rng.randrange(60, 600))
            story.append((at, "Hardware Replacement Completed", disk))
        else:
            story.append((at, "Ticket Status Changed", {"status": "pending_customer"}))
            at += timedelta(hours=rng.randrange(1, 24))
            story.append((at, "Ticket Message Posted", _message("customer", "public", ticket, len(story))))
            owed = owed or "next_response"
    at += timedelta(minutes=rng.randrange(10, 240))
    story.append((at, "Ticket Status Changed", {"status": "resolved"}))
    story.append((at + timedelta(hours=rng.randrange(1, 48)), "Ticket Status Changed", {"status": "closed"}))
    lines = []
    ids = {"ticket_id": ticket, "customer_id": customer}
    for step, (occurred, detail_type, fields) in enumerate(story):
        detail = {"event_id": f"{ticket}-{step}", **ids, **fields}
        delivered = occurred + timedelta(seconds=rng.randrange(60, 3600)) if rng.random() < 0.05 else None
        line = _line(detail_type, detail, occurred, delivered)
        lines.append(line)
        if rng.random() < 0.02:  # delivered twice
            lines.append(line)
    return lines


def _message(author: str, visibility: str, ticket: str, step: int) -> dict[str, Any]:
    return {"author": author, "visibility": visibility, "message_id": f"{ticket}-m{step}"}


# -- measuring ------------------------------------------------------------------------------------------


def measure(backend: str, events: int, budget: tuple[float, float] | None = None) -> dict[str, Any]:
    """Replay a generated history of `events` events in this process: its time, counts and peak memory.

    With a `budget` (seconds, megabytes), a watchdog stops the process once either runs out, printing how
    many events were replayed by then: moto's cost grows faster than the history, and a machine is shared.
    """
    from local.engine import open_engine
    from local.replay import document, play, schedule

    # As `sla-engine replay` does: the lines are handed over, and freed as they are delivered.
    deliveries, start, horizon = schedule(history(events, events // EVENTS_PER_TICKET))
    count = len(deliveries)
    started, cpu_started = time.perf_counter(), time.process_time()
    if budget is not None:
        _watch(backend, count, deliveries, started, budget)
    with open_engine(backend, start=start, keep_sent=False) as engine:  # type: ignore[arg-type]
        play(engine, deliveries, horizon)
        replayed = document(engine, horizon)
    return {
        "backend": backend,
        "events": count,
        "replayed": count,
        "tickets": len(replayed["tickets"]),
        "alerts": len(replayed["alerts"]),
        "notifications": len(replayed["notifications"]),
        "seconds": time.perf_counter() - started,
        "cpu_seconds": time.process_time() - cpu_started,
        "peak_mb": _peak_mb(),
    }


def _peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux


def _watch(
    backend: str, events: int, remaining: list[Any], started: float, budget: tuple[float, float]
) -> None:
    """Every second, check the budget; past it, print the figures so far and end the process. `remaining`
    is the list of deliveries `play` consumes."""
    seconds, megabytes = budget

    def check() -> None:
        while True:
            time.sleep(1)
            elapsed, peak = time.perf_counter() - started, _peak_mb()
            if elapsed > seconds or peak > megabytes:
                figures = {"backend": backend, "events": events, "replayed": events - len(remaining),
                           "seconds": elapsed, "peak_mb": peak}  # fmt: skip
                # To the process's own stdout: the engine redirects sys.stdout while a handler runs.
                os.write(1, f"{json.dumps(figures)}\n".encode())
                os._exit(0)

    threading.Thread(target=check, daemon=True).start()


def _in_fresh_process(backend: str, events: int, budget: tuple[float, float] | None) -> dict[str, Any]:
    command = [sys.executable, "-m", "bench.replay_scale", backend, str(events)]
    if budget is not None:
        command.extend(str(limit) for limit in budget)
    done = subprocess.run(command, capture_output=True, text=True, check=True)
    figures: dict[str, Any] = json.loads(done.stdout.splitlines()[-1])
    return figures


def run() -> None:
    print(
        "histories generated by bench.replay_scale.history (seed 1), ten events a ticket; each run in a fresh process"
    )
    print(f"{'backend':8} {'events':>8} {'tickets':>8} {'alerts':>8} {'notices':>8} {'time s':>8} "
          f"{'cpu s':>8} {'events/s':>9} {'peak MB':>8}")  # fmt: skip
    for events in SIZES:
        for backend in ("memory", "moto") if events in MOTO_SIZES else ("memory",):
            budget = MOTO_BUDGET if backend == "moto" else None
            figures = _in_fresh_process(backend, events, budget)
            rate = figures["replayed"] / figures["seconds"]
            if figures["replayed"] < figures["events"]:
                print(
                    f"{backend:8} {figures['events']:>8} stopped at its budget ({MOTO_BUDGET[0]:.0f} s, "
                    f"{MOTO_BUDGET[1]:.0f} MB) after {figures['replayed']} events in {figures['seconds']:.0f} s: "
                    f"{rate:.1f} events/s, peak {figures['peak_mb']:.0f} MB"
                )
                continue
            print(
                f"{backend:8} {figures['events']:>8} {figures['tickets']:>8} {figures['alerts']:>8} "
                f"{figures['notifications']:>8} {figures['seconds']:>8.1f} {figures['cpu_seconds']:>8.1f} "
                f"{rate:>9.0f} {figures['peak_mb']:>8.0f}"
            )
            if backend == "memory" and events == SIZES[-1]:
                met = figures["seconds"] < GOAL_SECONDS and figures["peak_mb"] < GOAL_MEGABYTES
                print(
                    f"  goal: {events:,} events over {figures['tickets']:,} tickets in under "
                    f"{GOAL_SECONDS:.0f} s and {GOAL_MEGABYTES:.0f} MB: {'met' if met else 'NOT met'} "
                    f"({figures['seconds']:.0f} s wall, {figures['cpu_seconds']:.0f} s of CPU)"
                )


if __name__ == "__main__":
    limits = (float(sys.argv[3]), float(sys.argv[4])) if len(sys.argv) > 4 else None
    print(json.dumps(measure(sys.argv[1], int(sys.argv[2]), limits)))
