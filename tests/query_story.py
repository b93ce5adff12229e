"""A support desk at one instant, for the read API's tests: Wednesday 2026-04-08 12:00 UTC (14:00 in Paris).

Customers (default catalog, Europe/Paris, FR): C-A premium (Mon-Fri 08:00-18:00 Paris), C-B enterprise (24/7),
C-C standard (the same hours as premium), C-D business (24/7). What each ticket owes at NOW:

| ticket | customer | severity | story                                   | owes                  | due (UTC)  |
|--------|----------|----------|-----------------------------------------|-----------------------|------------|
| T-A1   | C-A      | high 2h  | opened 09:00                            | first_response, breached 11:00, 1 h late  | 11:00 |
| T-B1   | C-B      | critical 15m | opened 11:50                        | first_response        | 12:05      |
| T-D2   | C-D      | critical 30m | opened 11:35                        | first_response (same due: after enterprise) | 12:05 |
| T-A3   | C-A      | high 2h  | opened 11:50                            | first_response        | 13:50      |
| T-D1   | C-D      | medium 4h | opened 10:00, escalated to l2 10:30     | first_response        | 14:00      |
| T-C1   | C-C      | high 8h  | opened 07:00 (09:00 Paris)              | first_response        | 15:00      |
| T-B2   | C-B      | high     | answered 10:10; disk replacement asked 10:20; pending the customer since 10:30 | nothing (paused) | - |
| T-C2   | C-C      | low      | opened 08:00, closed 09:00              | nothing (closed)      | -          |
| H-1..6 | C-A      | high     | earlier days, answered after 30, 40, 50, 60, 70 and 90 working minutes | nothing | - |

So the queue is T-A1, T-B1, T-D2, T-A3, T-D1, T-C1; the premium queue T-A1, T-A3; every ticket is at the
entry line l1 but T-D1, at l2 (so l2's queue is T-D1 alone, l1's the five others). The six answered premium
high tickets are the last 30 days' history of (first_response, premium, high).
"""

from __future__ import annotations

import itertools
import json
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

from sla.events import SOURCE

NOW = "2026-04-08T12:00:00Z"
QUEUE = ["T-A1", "T-B1", "T-D2", "T-A3", "T-D1", "T-C1"]
LEVELS = {"C-A": "premium", "C-B": "enterprise", "C-C": "standard", "C-D": "business"}
HISTORY_MINUTES = (30, 40, 50, 60, 70, 90)

_ids = itertools.count(1)


def envelope(detail_type: str, at: str, **fields: Any) -> dict[str, Any]:
    event_id = f"q{next(_ids):04d}"
    detail = {"event_id": event_id, "occurred_at": at, **fields}
    return {
        "version": "0",
        "id": str(uuid.uuid5(uuid.NAMESPACE_URL, f"query-story/{event_id}")),
        "detail-type": detail_type,
        "source": SOURCE,
        "account": "123456789012",
        "time": at,
        "region": "eu-west-1",
        "resources": [],
        "detail": detail,
    }


def _opened(ticket: str, customer: str, severity: str, at: str) -> dict[str, Any]:
    return envelope(
        "Ticket Opened", at, ticket_id=ticket, customer_id=customer, severity=severity, subject="It is down"
    )


def _message(ticket: str, customer: str, author: str, at: str) -> dict[str, Any]:
    return envelope(
        "Ticket Message Posted",
        at,
        ticket_id=ticket,
        customer_id=customer,
        author=author,
        visibility="public",
        message_id=f"m-{ticket}-{at}",
        **({"agent_id": "agent-7"} if author == "agent" else {}),
    )


def _status(ticket: str, customer: str, status: str, at: str) -> dict[str, Any]:
    return envelope("Ticket Status Changed", at, ticket_id=ticket, customer_id=customer, status=status)


def _later(at: str, minutes: int) -> str:
    instant = datetime.fromisoformat(at.replace("Z", "+00:00")) + timedelta(minutes=minutes)
    return instant.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def story() -> list[dict[str, Any]]:
    events = [
        envelope(
            "Support Plan Changed",
            "2026-03-01T00:00:00Z",
            customer_id=customer,
            support_level=level,
            timezone="Europe/Paris",
            country="FR",
        )
        for customer, level in LEVELS.items()
    ]
    # The history: six premium high tickets, answered within working hours on weekdays of the window.
    days = ("2026-03-30", "2026-03-31", "2026-04-01", "2026-04-02", "2026-04-03", "2026-04-07")
    for number, (day, minutes) in enumerate(zip(days, HISTORY_MINUTES, strict=True), start=1):
        opened = f"{day}T08:00:00Z"  # 10:00 in Paris
        events += [
            _opened(f"H-{number}", "C-A", "high", opened),
            _message(f"H-{number}", "C-A", "agent", _later(opened, minutes)),
        ]
    events += [
        _opened("T-A1", "C-A", "high", "2026-04-08T09:00:00Z"),
        _opened("T-B1", "C-B", "critical", "2026-04-08T11:50:00Z"),
        _opened("T-D2", "C-D", "critical", "2026-04-08T11:35:00Z"),
        _opened("T-A3", "C-A", "high", "2026-04-08T11:50:00Z"),
        _opened("T-D1", "C-D", "medium", "2026-04-08T10:00:00Z"),
        envelope(
            "Ticket Escalated", "2026-04-08T10:30:00Z", ticket_id="T-D1", customer_id="C-D", to_line="l2"
        ),
        _opened("T-C1", "C-C", "high", "2026-04-08T07:00:00Z"),
        _opened("T-B2", "C-B", "high", "2026-04-08T10:00:00Z"),
        _message("T-B2", "C-B", "agent", "2026-04-08T10:10:00Z"),
        envelope(
            "Hardware Replacement Requested",
            "2026-04-08T10:20:00Z",
            ticket_id="T-B2",
            customer_id="C-B",
            server_id="srv-9",
            component="disk",
        ),
        _status("T-B2", "C-B", "pending_customer", "2026-04-08T10:30:00Z"),
        _opened("T-C2", "C-C", "low", "2026-04-08T08:00:00Z"),
        _status("T-C2", "C-C", "closed", "2026-04-08T09:00:00Z"),
    ]
    return events


def story_lines() -> list[str]:
    return [json.dumps(event) for event in story()]


def epoch(text: str) -> int:
    return int(datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp())
