"""Local replay (SPEC section 7): a file of EventBridge events through the deployed code path, on moto,
with a simulated clock that processes each event at its `occurred_at`.

The deliveries are put in the engine's own total order before they run, so a shuffled file, or one with
repeated lines, replays to the same output.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from infra.local_engine import LocalEngine
from infra.views import iso
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
    """One line of the file; `at` is its occurred_at when it has a valid one."""

    at: int | None
    order: tuple[int, str, str]
    body: str


def read_deliveries(lines: Iterable[str]) -> list[Delivery]:
    """Lines in the engine's order; unreadable lines go first, to be rejected with their reason."""
    deliveries = []
    for line in lines:
        body = line.strip()
        if not body:
            continue
        at, sequence, event_id = _order_fields(body)
        deliveries.append(Delivery(at, (sequence, event_id, body), body))
    return sorted(deliveries, key=lambda d: (d.at is not None, d.at or 0, d.order))


def _order_fields(body: str) -> tuple[int | None, int, str]:
    try:
        detail = json.loads(body).get("detail") or {}
        occurred = datetime.fromisoformat(detail["occurred_at"])
        sequence = detail.get("sequence")
        at = int(occurred.timestamp()) if occurred.tzinfo is not None else None
        return at, sequence if isinstance(sequence, int) else -1, str(detail.get("event_id", ""))
    except (ValueError, TypeError, KeyError, AttributeError):
        return None, -1, ""


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
