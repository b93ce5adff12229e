"""The built-in scenario of `sla-engine demo`: Easter week 2026 at a hosting provider's support desk.

It is code rather than a JSON Lines file so that each moment can be written in the customer's own wall-clock
time (the offset then comes out right across zones and daylight saving) and so that the tests can name the
tickets that carry each promise instead of repeating event ids. Everything is fixed: two runs produce the
same events, byte for byte, and the engine the same document.

Easter week is chosen for its holidays: Good Friday (3 April) is a public holiday in Germany but a working
day in France, and Easter Monday (6 April) is off in both, so business-hours clocks visibly skip them.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

from sla.events import SOURCE
from sla.vocabulary import Locale

ACCOUNT = "123456789012"
REGION = "eu-west-1"


@dataclass(frozen=True)
class Customer:
    customer_id: str
    name: str
    support_level: str
    timezone: str
    country: str
    locale: Locale
    contact_email: str | None


PARIS = Customer(
    "C-PARIS", "Atelier Lumière", "premium", "Europe/Paris", "FR", "fr", "support@atelier-lumiere.example"
)
MOSCOW = Customer(
    "C-MOSCOW", "Volga Retail", "business", "Europe/Moscow", "RU", "ru", "noc@volga-retail.example"
)
NEW_YORK = Customer(
    "C-NYC", "Hudson Payments", "enterprise", "America/New_York", "US", "en", "sre@hudson-payments.example"
)
# No contact address on record: its notifications are still produced, and their delivery is skipped.
BERLIN = Customer("C-BERLIN", "Spree Studio", "standard", "Europe/Berlin", "DE", "en", None)
CUSTOMERS = (BERLIN, PARIS, MOSCOW, NEW_YORK)

# The tickets that carry the scenario's promises; tests/test_demo.py checks each against the engine's output.
QUESTION_TICKET = "T-101"  # standard, low: business hours across Good Friday and Easter Monday, still running
ANSWERED_TICKET = "T-201"  # premium, high: warned, met, a next_response cycle met, resolved (survey)
HARDWARE_TICKET = "T-301"  # business, medium: disk replacement paused for the customer, completed in time
ACKNOWLEDGED_TICKET = "T-302"  # business, critical: breached, on-call acknowledges before the next step
ESCALATED_TICKET = "T-401"  # enterprise, high → critical: the running clock re-targeted, met in time
FULL_LADDER_TICKET = "T-402"  # enterprise, critical: breached, nobody acknowledges, the whole ladder paged
INVALID_EVENT_ID = "demo-099"  # a Ticket Opened with an unknown severity, rejected with its reason
INVALID_FIELD = "severity"

# Where the simulation stops: Thursday 9 April, 18:00 in Berlin, the standard ticket's last working hour.
HORIZON = datetime(2026, 4, 9, 16, 0, tzinfo=UTC)


class _Script:
    """Numbers the events in writing order, so ids are stable and the story reads top to bottom."""

    def __init__(self) -> None:
        self.events: list[dict[str, Any]] = []

    def add(
        self, detail_type: str, customer: Customer, local: str, event_id: str | None = None, **fields: Any
    ) -> None:
        occurred = datetime.fromisoformat(local).replace(tzinfo=ZoneInfo(customer.timezone))
        event_id = event_id or f"demo-{len(self.events) + 1:03d}"
        detail = {"event_id": event_id, "occurred_at": occurred.isoformat(), **fields}
        self.events.append(
            {
                "version": "0",
                "id": str(uuid.uuid5(uuid.NAMESPACE_URL, f"sla-engine-demo/{event_id}")),
                "detail-type": detail_type,
                "source": SOURCE,
                "account": ACCOUNT,
                "time": occurred.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
                "region": REGION,
                "resources": [],
                "detail": detail,
            }
        )

    def ticket(self, detail_type: str, customer: Customer, local: str, ticket_id: str, **fields: Any) -> None:
        self.add(
            detail_type, customer, local, ticket_id=ticket_id, customer_id=customer.customer_id, **fields
        )

    def message(
        self, customer: Customer, local: str, ticket_id: str, author: str, visibility: str = "public"
    ) -> None:
        message_id = f"msg-{len(self.events) + 1:03d}"
        self.ticket(
            "Ticket Message Posted",
            customer,
            local,
            ticket_id,
            author=author,
            visibility=visibility,
            message_id=message_id,
        )


def scenario_events() -> list[dict[str, Any]]:
    """The week's EventBridge events, in the order they happened (the engine does not rely on it)."""
    s = _Script()
    for customer in CUSTOMERS:
        plan: dict[str, Any] = {
            "customer_id": customer.customer_id,
            "support_level": customer.support_level,
            "timezone": customer.timezone,
            "country": customer.country,
            "locale": customer.locale,
        }
        if customer.contact_email:
            plan["contact_email"] = customer.contact_email
        s.add("Support Plan Changed", customer, "2026-04-01T09:00:00", **plan)

    # Standard, Berlin: a low-severity question on Thursday morning. 48 working hours: Good Friday and Easter
    # Monday are German holidays, so the 0.75 warning comes a week later and the clock is still running.
    s.ticket(
        "Ticket Opened",
        BERLIN,
        "2026-04-02T10:00:00",
        QUESTION_TICKET,
        severity="low",
        subject="How do I move my domain to another account?",
        category="question",
    )

    # Premium, Paris: high severity at 17:30 on Good Friday, a French working day. 30 min count on Friday,
    # Easter Monday is off, the remaining 1h30 run on Tuesday from 08:00: due Tuesday 09:30.
    s.ticket(
        "Ticket Opened",
        PARIS,
        "2026-04-03T17:30:00",
        ANSWERED_TICKET,
        severity="high",
        subject="Latence de l'API de stockage objet",
        category="incident",
    )
    s.message(PARIS, "2026-04-03T17:45:00", ANSWERED_TICKET, "agent", visibility="internal")

    # Business, Moscow: a failed disk on Saturday night. The first answer comes quickly; the replacement
    # (hot_swap, 4h) waits an hour for the customer to confirm a maintenance window, then is done in time.
    s.ticket(
        "Ticket Opened",
        MOSCOW,
        "2026-04-04T06:00:00",
        HARDWARE_TICKET,
        severity="medium",
        subject="Диск сервера srv-77 вышел из строя",
        category="hardware",
    )
    s.message(MOSCOW, "2026-04-04T06:20:00", HARDWARE_TICKET, "agent")
    s.ticket(
        "Hardware Replacement Requested",
        MOSCOW,
        "2026-04-04T06:20:00",
        HARDWARE_TICKET,
        server_id="srv-77",
        component="disk",
        sequence=2,
    )
    s.ticket(
        "Ticket Status Changed", MOSCOW, "2026-04-04T07:00:00", HARDWARE_TICKET, status="pending_customer"
    )
    s.ticket("Ticket Status Changed", MOSCOW, "2026-04-04T08:00:00", HARDWARE_TICKET, status="open")
    s.ticket(
        "Hardware Replacement Completed",
        MOSCOW,
        "2026-04-04T11:00:00",
        HARDWARE_TICKET,
        server_id="srv-77",
        component="disk",
    )
    s.ticket("Ticket Status Changed", MOSCOW, "2026-04-04T11:30:00", HARDWARE_TICKET, status="closed")

    # Enterprise, New York: Easter Monday is not a US holiday, and enterprise is 24/7 anyway. Opened high
    # (30 min), raised to critical five minutes later: the same clock is now due 15 min after the opening.
    s.ticket(
        "Ticket Opened",
        NEW_YORK,
        "2026-04-06T09:00:00",
        ESCALATED_TICKET,
        severity="high",
        subject="Checkout error rate above 5%",
        category="incident",
    )
    s.ticket(
        "Ticket Severity Changed", NEW_YORK, "2026-04-06T09:05:00", ESCALATED_TICKET, severity="critical"
    )
    s.message(NEW_YORK, "2026-04-06T09:11:00", ESCALATED_TICKET, "agent")

    # Premium, Paris, Tuesday: the first answer lands after the 0.75 warning but before the due time; the
    # customer writes again (a next_response cycle), is answered in time, and the ticket is resolved.
    s.message(PARIS, "2026-04-07T09:10:00", ANSWERED_TICKET, "agent")
    s.message(PARIS, "2026-04-07T09:30:00", ANSWERED_TICKET, "customer")
    s.message(PARIS, "2026-04-07T10:45:00", ANSWERED_TICKET, "agent")
    s.ticket("Ticket Status Changed", PARIS, "2026-04-07T11:05:00", ANSWERED_TICKET, status="resolved")

    # Business, Moscow, Tuesday night: critical (30 min), breached; on-call acknowledges 8 minutes into the
    # 15-minute ack timeout, so the duty manager is never paged. The customer then closes the ticket while
    # a next_response is owed, which cancels that clock.
    s.ticket(
        "Ticket Opened",
        MOSCOW,
        "2026-04-07T23:00:00",
        ACKNOWLEDGED_TICKET,
        severity="critical",
        subject="Кластер базы данных недоступен",
        category="incident",
    )
    s.add(
        "Alert Acknowledged",
        MOSCOW,
        "2026-04-07T23:38:00",
        ticket_id=ACKNOWLEDGED_TICKET,
        metric="first_response",
        acknowledged_by="oncall-ivan",
    )
    s.message(MOSCOW, "2026-04-07T23:50:00", ACKNOWLEDGED_TICKET, "agent")
    s.message(MOSCOW, "2026-04-08T00:05:00", ACKNOWLEDGED_TICKET, "customer")
    s.ticket("Ticket Status Changed", MOSCOW, "2026-04-08T00:10:00", ACKNOWLEDGED_TICKET, status="closed")

    # Enterprise, New York, Tuesday 23:00: site down, nobody answers. Breach at 23:15, then every 10 minutes
    # the next route: on-call, duty manager, account manager. The answer at 23:50 resolves all three pages.
    s.ticket(
        "Ticket Opened",
        NEW_YORK,
        "2026-04-07T23:00:00",
        FULL_LADDER_TICKET,
        severity="critical",
        subject="Production site down (HTTP 503 on every region)",
        category="incident",
    )
    s.message(NEW_YORK, "2026-04-07T23:50:00", FULL_LADDER_TICKET, "agent")

    # A control panel bug sends a severity the contract does not know: rejected, recorded, nothing else changes.
    s.ticket(
        "Ticket Opened",
        BERLIN,
        "2026-04-08T16:05:00",
        "T-102",
        event_id=INVALID_EVENT_ID,
        severity="urgent",
        subject="Invoice total looks wrong",
    )

    # The Paris customer answers Tuesday's survey the next morning: the week's CSAT (written last, with its
    # own id, so that the ids of the events above stay what they were).
    s.ticket(
        "Satisfaction Rated",
        PARIS,
        "2026-04-08T09:15:00",
        ANSWERED_TICKET,
        event_id="demo-rating-201",
        rating=5,
    )
    add_outage(s)  # Wednesday's outage with linked tickets (storm control): cli/demo_outage.py
    add_lines(s)  # the night escalation to L2 and Thursday's limited support: cli/demo_lines.py
    return s.events


from cli.demo_lines import add_lines  # noqa: E402  (it uses the customers above)
from cli.demo_outage import add_outage  # noqa: E402  (it uses the customers above)


def customer_of(customer_id: str | None) -> Customer | None:
    return next((c for c in CUSTOMERS if c.customer_id == customer_id), None)
