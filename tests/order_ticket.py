"""The six-event ticket whose every order of delivery the order tests try (SPEC section 5).

A premium customer in Paris (the plan change, 09:00) opens a `high` ticket on a Tuesday morning (09:05); an
agent writes an internal note (09:10) and the public reply (09:20); the customer follows up (09:30), which
starts a next response; the severity goes to `critical` (09:40), which re-targets it to 1 h (due 10:30).

Instants, all on Tuesday 14 April 2026 in Paris (business hours, no holiday):
- NOW (09:41): a minute after the last event, before any timer of any partial view of the ticket is due;
  the moment the ingest tests deliver at.
- the next response's warning (0.75 of 1 h) at 10:15, its breach at 10:30 (the `oncall-l2` page), the
  next ladder step (`duty-manager`) 30 min later at 11:00;
- LATE (11:30): after all of those have fired.

`tests/test_fold_orders.py` folds every order on the pure fold, `tests/test_ingest_order.py` delivers a
sample of them through the ingest service on moto.
"""

from __future__ import annotations

from typing import Any, cast

from sla.events import AnyTicketEvent, SupportPlanChanged, parse_detail
from tests.conftest import eventbridge

TICKET, CUSTOMER = "T-ORDER", "C-ORDER"


def at(clock: str) -> str:
    """An instant of the ticket's Tuesday, 'HH:MM' in Paris."""
    return f"2026-04-14T{clock}:00+02:00"


NOW = at("09:41")
WARNING, BREACH, LADDER_STEP = at("10:15"), at("10:30"), at("11:00")
LATE = at("11:30")

PLAN_CHANGE = {"support_level": "premium", "timezone": "Europe/Paris", "country": "FR", "locale": "fr",
               "contact_email": "ops@order.example"}  # fmt: skip
SIX: tuple[tuple[str, dict[str, Any]], ...] = (
    ("Support Plan Changed", {"event_id": "order-plan", "occurred_at": at("09:00"), **PLAN_CHANGE}),
    ("Ticket Opened", {"event_id": "order-opened", "occurred_at": at("09:05"), "severity": "high",
                       "subject": "API latency", "category": "incident"}),
    ("Ticket Message Posted", {"event_id": "order-internal", "occurred_at": at("09:10"), "author": "agent",
                               "visibility": "internal", "message_id": "m-1"}),
    ("Ticket Message Posted", {"event_id": "order-reply", "occurred_at": at("09:20"), "author": "agent",
                               "visibility": "public", "message_id": "m-2"}),
    ("Ticket Message Posted", {"event_id": "order-follow-up", "occurred_at": at("09:30"), "author": "customer",
                               "visibility": "public", "message_id": "m-3"}),
    ("Ticket Severity Changed", {"event_id": "order-severity", "occurred_at": at("09:40"), "severity": "critical"}),
)  # fmt: skip
EVENT_IDS: tuple[str, ...] = tuple(detail["event_id"] for _, detail in SIX)


def six_events() -> list[dict[str, Any]]:
    """The six as EventBridge events of ticket T-ORDER of customer C-ORDER, in SIX's order."""
    events = []
    for detail_type, detail in SIX:
        ids = {"customer_id": CUSTOMER}
        if detail_type != "Support Plan Changed":
            ids["ticket_id"] = TICKET
        events.append(eventbridge(detail_type, {**detail, **ids}))
    return events


def six_details() -> list[AnyTicketEvent | SupportPlanChanged]:
    """The six parsed as the engine reads them, in SIX's order."""
    return [
        cast(AnyTicketEvent | SupportPlanChanged, parse_detail(e["detail-type"], e["detail"]))
        for e in six_events()
    ]
