"""Storm control (SPEC section 6): the pages on-call receives when an outage opens hundreds of tickets.

The same storm twice on the memory backend: 500 enterprise tickets opened in the same minute and never
answered, so every first-response clock breaches in the same minute and climbs the three-route ladder; once
as independent tickets, once linked to one declared incident (resolved the same evening). Without links,
every ticket pages every route of its ladder; with them, one page per (incident, route) is delivered and
the others are recorded as `grouped`. The storm is also what tests/test_incidents.py replays.
"""

from __future__ import annotations

import json
import time
from collections import Counter
from typing import Any

from local.replay import replay

INCIDENT = "INC-STORM"
OPENED = "2026-04-07T08:00:00Z"  # a Tuesday: enterprise critical first response is due 15 min later
DECLARED = "2026-04-07T08:03:00Z"
RESOLVED = "2026-04-07T20:00:00Z"
CUSTOMERS = 10


def _line(detail_type: str, detail: dict[str, Any], sent: str | None = None) -> str:
    envelope: dict[str, Any] = {
        "source": "controlpanel.support",
        "detail-type": detail_type,
        "detail": detail,
    }
    if sent is not None:
        envelope["time"] = sent
    return json.dumps(envelope, separators=(",", ":"))


def storm(
    tickets: int,
    *,
    linked: bool = True,
    link_at: str = "2026-04-07T08:01:00Z",
    declared_at: str = DECLARED,
    resolved_at: str | None = RESOLVED,
) -> list[str]:
    """The storm's events, one JSON line each: `tickets` critical enterprise tickets of ten customers opened
    at OPENED; when `linked`, each linked to INCIDENT at `link_at`, the incident declared at `declared_at`
    (before or after the links) and resolved at `resolved_at` (None: still open)."""
    lines = [
        _line(
            "Support Plan Changed",
            {
                "event_id": f"storm-plan-{c}",
                "occurred_at": "2026-04-06T00:00:00Z",
                "customer_id": f"C-storm-{c}",
                "support_level": "enterprise",
                "locale": ("en", "fr", "ru")[c % 3],
            },
        )
        for c in range(CUSTOMERS)
    ]
    for n in range(tickets):
        ticket, customer = f"T-storm-{n:04d}", f"C-storm-{n % CUSTOMERS}"
        lines.append(
            _line(
                "Ticket Opened",
                {
                    "event_id": f"storm-open-{n}",
                    "occurred_at": OPENED,
                    "ticket_id": ticket,
                    "customer_id": customer,
                    "severity": "critical",
                    "subject": "server unreachable",
                },
            )
        )
        if linked:
            lines.append(
                _line(
                    "Ticket Linked To Incident",
                    {
                        "event_id": f"storm-link-{n}",
                        "occurred_at": link_at,
                        "ticket_id": ticket,
                        "customer_id": customer,
                        "incident_id": INCIDENT,
                    },
                )
            )
    if linked:
        lines.append(
            _line(
                "Incident Declared",
                {
                    "event_id": "storm-declared",
                    "occurred_at": declared_at,
                    "incident_id": INCIDENT,
                    "summary": "Power loss in datacenter PAR-2",
                    "server_ids": ["srv-1", "srv-2"],
                },
            )
        )
        if resolved_at is not None:
            lines.append(
                _line(
                    "Incident Resolved",
                    {"event_id": "storm-resolved", "occurred_at": resolved_at, "incident_id": INCIDENT},
                )
            )
    return lines


def pages(document: dict[str, Any]) -> Counter[str]:
    """Triggers delivered, by route: what woke someone."""
    return Counter(a["route"] for a in document["alerts"] if a["kind"] == "trigger")


def run(tickets: int = 500) -> None:
    for linked in (False, True):
        started = time.perf_counter()
        document = replay(storm(tickets, linked=linked), backend="memory")
        seconds = time.perf_counter() - started
        kinds = Counter(a["kind"] for a in document["alerts"])
        sent = pages(document)
        label = "linked to one incident" if linked else "no incident links"
        print(
            f"{tickets} tickets, {label}: {sum(sent.values())} pages sent "
            f"({', '.join(f'{route} {count}' for route, count in sorted(sent.items()))}); "
            f"grouped {kinds['grouped']}, resolves {kinds['resolve']}; replay {seconds:.1f} s"
        )


if __name__ == "__main__":
    run()
