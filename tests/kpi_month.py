"""A hand-worked month of support (April 2026) for the KPI tests: the tickets, as EventBridge events.

Every figure that tests/test_kpi_month.py expects is worked out by hand from the table below, so the tests
check the KPIs against arithmetic a person can redo, not against a recording of the code's output.

Customers and their levels (default catalog): C-B business (24/7), C-E enterprise (24/7), C-P premium
(Mon-Fri 08:00-18:00 Europe/Paris, French holidays off), C-S standard (the same hours). Agents A1 (line l1)
and A2 (line l2). The period is [2026-04-01T00:00Z, 2026-05-01T00:00Z). Times are UTC unless marked.

| ticket | customer | severity | story |
|--------|----------|----------|-------|
| T1  | C-B | high (1h)     | opened 04-06 10:00; A1 answers 10:20 (first_response met); customer writes 11:00, A1 answers 11:30 (next_response met); resolved 12:00; rated 5 at 13:00; closed 14:00 |
| T2  | C-B | critical (30m)| opened 04-07 09:00; A2 holding reply 09:10 (first_response met); A2 answers 10:00; resolved 10:30; rated 2 at 11:00; closed 11:30; rated 4 at 12:00 (after closing: the latest rating counts) |
| T3  | C-B | high (1h)     | opened 04-08 08:00; breached 09:00; A1 answers 11:30 (2.5 h late: 3 hours); resolved 12:00; closed 04-09 00:00 |
| T4  | C-E | high (30m)    | opened 04-10 00:00; A2 answers 00:10 (met); disk replacement (hot_swap 2h) asked 00:10, due 02:10, breached, done 03:40 (1.5 h late: 2 hours); ram (cold_swap 4h) asked 00:11, done 01:00 (met); closed 05:00 |
| T5  | C-E | critical (15m)| opened 04-20 10:00; nobody answers: breached 10:15, still open at `to` (253 h 45 min late: 254 hours) |
| T6  | C-B | medium        | opened 04-25 10:00; the customer closes it at 10:30 before any reply (first_response cancelled) |
| T7  | C-P | high (2h)     | opened Good Friday 04-03 17:30+02:00 (a French working day: 30 min count), Easter Monday off, due Tuesday 04-07 09:30+02:00; A1 answers 09:10+02:00 = 07:10Z (met; 87 h 40 min wall clock, 1 h 40 min working); resolved 07:30; rated 3 at 08:00 |
| T8  | C-B | low (24h)     | opened 03-30 10:00, A1 answers 10:05 (March); customer writes 03-31 23:30, next_response due 04-01 23:30, breached (in April); A2 answers 04-02 01:00; resolved 01:30; closed 02:00 |
| T9  | C-S | high (8h)     | opened Tuesday 04-14 08:00+02:00 = 06:00Z, due 16:00+02:00 = 14:00Z, breached, never answered (394 hours late, standard owes no credit) |
| T11 | C-B | high          | opened 04-30 23:30; A1 answers 05-01 00:10, after the period: still waiting at `to` |
| T12 | C-B | low           | opened 03-20 10:00, A2 answers 10:30, resolved 11:00, closed 03-21 09:00 (all March); rated 5 on 04-02 09:00 |
"""

from __future__ import annotations

import itertools
import uuid
from typing import Any

from sla.events import SOURCE

FROM = "2026-04-01"
TO = "2026-05-01"
_ids = itertools.count(1)


def envelope(detail_type: str, at: str, **fields: Any) -> dict[str, Any]:
    event_id = f"m{next(_ids):04d}"
    detail = {
        "event_id": event_id,
        "occurred_at": at if at[-1] == "Z" or "+" in at[10:] else at + "Z",
        **fields,
    }
    return {
        "version": "0",
        "id": str(uuid.uuid5(uuid.NAMESPACE_URL, f"kpi-month/{event_id}")),
        "detail-type": detail_type,
        "source": SOURCE,
        "account": "123456789012",
        "time": detail["occurred_at"],
        "region": "eu-west-1",
        "resources": [],
        "detail": detail,
    }


def plan(customer: str, level: str) -> dict[str, Any]:
    return envelope(
        "Support Plan Changed",
        "2026-03-01T00:00:00",
        customer_id=customer,
        support_level=level,
        timezone="Europe/Paris",
        country="FR",
    )


class Ticket:
    """Events of one ticket, in the order written (which is also their time order here)."""

    def __init__(self, ticket_id: str, customer: str, severity: str, at: str) -> None:
        self.ticket_id, self.customer = ticket_id, customer
        self.events = [self.event("Ticket Opened", at, severity=severity, subject="Something is wrong")]

    def event(self, detail_type: str, at: str, **fields: Any) -> dict[str, Any]:
        return envelope(detail_type, at, ticket_id=self.ticket_id, customer_id=self.customer, **fields)

    def agent(self, at: str, agent: str, kind: str = "answer") -> Ticket:
        line = {"A1": "l1", "A2": "l2"}[agent]
        self.events.append(
            self.event(
                "Ticket Message Posted",
                at,
                author="agent",
                visibility="public",
                message_id=f"msg-{next(_ids)}",
                agent_id=agent,
                line=line,
                kind=kind,
            )
        )
        return self

    def customer_writes(self, at: str) -> Ticket:
        self.events.append(
            self.event(
                "Ticket Message Posted",
                at,
                author="customer",
                visibility="public",
                message_id=f"msg-{next(_ids)}",
            )
        )
        return self

    def status(self, at: str, status: str) -> Ticket:
        self.events.append(self.event("Ticket Status Changed", at, status=status))
        return self

    def rate(self, at: str, rating: int) -> Ticket:
        self.events.append(self.event("Satisfaction Rated", at, rating=rating, comment="private words"))
        return self

    def hardware(self, at: str, what: str, component: str) -> Ticket:
        detail_type = {"asked": "Hardware Replacement Requested", "done": "Hardware Replacement Completed"}[
            what
        ]
        self.events.append(self.event(detail_type, at, server_id="srv-1", component=component))
        return self


def month_events() -> list[dict[str, Any]]:
    tickets = [
        Ticket("T1", "C-B", "high", "2026-04-06T10:00:00")
        .agent("2026-04-06T10:20:00", "A1")
        .customer_writes("2026-04-06T11:00:00")
        .agent("2026-04-06T11:30:00", "A1")
        .status("2026-04-06T12:00:00", "resolved")
        .rate("2026-04-06T13:00:00", 5)
        .status("2026-04-06T14:00:00", "closed")
        .rate("2026-05-02T09:00:00", 1),  # after the period: not known at `to`
        Ticket("T2", "C-B", "critical", "2026-04-07T09:00:00")
        .agent("2026-04-07T09:10:00", "A2", kind="holding")
        .agent("2026-04-07T10:00:00", "A2")
        .status("2026-04-07T10:30:00", "resolved")
        .rate("2026-04-07T11:00:00", 2)
        .status("2026-04-07T11:30:00", "closed")
        .rate("2026-04-07T12:00:00", 4),
        Ticket("T3", "C-B", "high", "2026-04-08T08:00:00")
        .agent("2026-04-08T11:30:00", "A1")
        .status("2026-04-08T12:00:00", "resolved")
        .status("2026-04-09T00:00:00", "closed"),
        Ticket("T4", "C-E", "high", "2026-04-10T00:00:00")
        .agent("2026-04-10T00:10:00", "A2")
        .hardware("2026-04-10T00:10:01", "asked", "disk")
        .hardware("2026-04-10T00:11:00", "asked", "ram")
        .hardware("2026-04-10T01:00:00", "done", "ram")
        .hardware("2026-04-10T03:40:01", "done", "disk")
        .status("2026-04-10T05:00:00", "closed"),
        Ticket("T5", "C-E", "critical", "2026-04-20T10:00:00"),
        Ticket("T6", "C-B", "medium", "2026-04-25T10:00:00").status("2026-04-25T10:30:00", "closed"),
        Ticket("T7", "C-P", "high", "2026-04-03T17:30:00+02:00")
        .agent("2026-04-07T09:10:00+02:00", "A1")
        .status("2026-04-07T07:30:00", "resolved")
        .rate("2026-04-07T08:00:00", 3),
        Ticket("T8", "C-B", "low", "2026-03-30T10:00:00")
        .agent("2026-03-30T10:05:00", "A1")
        .customer_writes("2026-03-31T23:30:00")
        .agent("2026-04-02T01:00:00", "A2")
        .status("2026-04-02T01:30:00", "resolved")
        .status("2026-04-02T02:00:00", "closed"),
        Ticket("T9", "C-S", "high", "2026-04-14T08:00:00+02:00"),
        Ticket("T11", "C-B", "high", "2026-04-30T23:30:00").agent("2026-05-01T00:10:00", "A1"),
        Ticket("T12", "C-B", "low", "2026-03-20T10:00:00")
        .agent("2026-03-20T10:30:00", "A2")
        .status("2026-03-20T11:00:00", "resolved")
        .status("2026-03-21T09:00:00", "closed")
        .rate("2026-04-02T09:00:00", 5),
    ]
    plans = [
        plan("C-B", "business"),
        plan("C-E", "enterprise"),
        plan("C-P", "premium"),
        plan("C-S", "standard"),
    ]
    return plans + [event for ticket in tickets for event in ticket.events]
