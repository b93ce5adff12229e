"""Local replay (SPEC section 7): a file of EventBridge events through the deployed code path, on moto,
with a simulated clock.

Each event is delivered at the later of its `detail.occurred_at` and its envelope's `time` (the moment it
was put on the bus): a line whose `time` is after its `occurred_at` models a late delivery, e.g. a reply
stamped 07:10 that arrived at 07:40, after the timers due in between have fired. A `time` that is missing,
unreadable or without an offset means "delivered at `occurred_at`", as does a `time` before it (an event
cannot be received before it happened). Deliveries run in the order of that delivery time, and events
delivered at the same time in the engine's own total order (`occurred_at`, `sequence`, `event_id`), so a
shuffled file, or one with repeated lines, replays to the same output. A line without a readable
`occurred_at` is delivered at its `time` if it has one, else first, and is rejected with its reason.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from infra.views import iso
from local.engine import LocalEngine
from sla.fold import Folded

DAY = 86_400
REDELIVERIES = 5
TICKET_KEYS = ("ticket_id", "customer_id", "support_level", "severity", "status")
CLOCK_KEYS = (
    "metric",
    "cycle",
    "state",
    "started_at",
    "due_at",
    "stopped_at",
    "elapsed_seconds",
    "target_seconds",
)


@dataclass(frozen=True)
class Delivery:
    """One line of the file; `at` is when it is delivered (None: not known, delivered first)."""

    at: int | None
    order: tuple[int, int, str, str]
    body: str


def read_deliveries(lines: Iterable[str]) -> list[Delivery]:
    """Lines in the order they are delivered; unreadable lines go first, to be rejected with their reason."""
    deliveries = []
    for line in lines:
        body = line.strip()
        if not body:
            continue
        envelope = _object(body)
        detail = envelope.get("detail")
        detail = detail if isinstance(detail, dict) else {}
        occurred = _instant(detail.get("occurred_at"))
        sent = _instant(envelope.get("time"))
        known = [t for t in (occurred, sent) if t is not None]
        at = max(known) if known else None
        sequence = detail.get("sequence")
        order = (
            occurred if occurred is not None else 0,
            sequence if isinstance(sequence, int) else -1,
            str(detail.get("event_id", "")),
            body,
        )
        deliveries.append(Delivery(at, order, body))
    return sorted(deliveries, key=lambda d: (d.at is not None, d.at or 0, d.order))


def _object(body: str) -> dict[str, Any]:
    try:
        parsed = json.loads(body)
    except ValueError:
        return {}
    return parsed if isinstance(parsed, dict) else {}


def _instant(value: Any) -> int | None:
    """Epoch seconds of an ISO 8601 instant with an offset; None for anything else."""
    if not isinstance(value, str):
        return None
    try:
        parsed = datetime.fromisoformat(value)
        return int(parsed.timestamp()) if parsed.tzinfo is not None else None
    except (ValueError, OverflowError):
        return None


def replay(
    lines: Iterable[str], until: datetime | None = None, catalog_path: Path | None = None
) -> dict[str, Any]:
    """Run the deliveries and return the document of SPEC section 7."""
    deliveries = read_deliveries(lines)
    times = [d.at for d in deliveries if d.at is not None]
    start = min(times, default=0)
    horizon = int(until.timestamp()) if until else max(times, default=0) + DAY
    with LocalEngine(catalog_path, start=start) as engine:
        for delivery in deliveries:
            at = delivery.at if delivery.at is not None else start
            if at > horizon:
                break
            engine.advance_to(at)
            _deliver(engine, delivery.body)
        engine.advance_to(horizon)
        return document(engine, horizon)


def _deliver(engine: LocalEngine, body: str) -> None:
    """Redeliver a transient failure as SQS would; a record that keeps failing is left to the DLQ."""
    for _ in range(REDELIVERIES):
        if not engine.deliver([body]).get("batchItemFailures"):
            return


def document(engine: LocalEngine, now: int) -> dict[str, Any]:
    outbox = engine.outbox()
    return {
        "tickets": [ticket_document(folded) for folded in engine.tickets(now) if folded.state is not None],
        "alerts": [
            {
                "at": iso(e["emitted_at"]),
                **{k: e[k] for k in ("ticket_id", "metric", "cycle", "kind", "route", "dedup_key")},
            }
            for e in outbox
            if e["type"] == "alert"
        ],
        "notifications": [
            {
                "at": iso(e["emitted_at"]),
                **{k: e[k] for k in ("ticket_id", "customer_id", "kind")},
                "channel": "+".join(e["channels"]) or "undelivered",
                "locale": e["locale"],
            }
            for e in outbox
            if e["type"] == "notification"
        ],
        "rejected": engine.rejections(),
    }


def ticket_document(folded: Folded) -> dict[str, Any]:
    state = folded.state
    assert state is not None
    ticket: dict[str, Any] = {key: getattr(state, key) for key in TICKET_KEYS}
    ticket["clocks"] = [
        {
            key: iso(value) if key.endswith("_at") else value
            for key, value in ((k, getattr(c, k)) for k in CLOCK_KEYS)
        }
        for c in state.clocks
    ]
    return ticket
