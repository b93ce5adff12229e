"""The demo week's outage (SPEC section 6, storm control): kept apart from cli/demo_scenario.py, which calls
`add_outage` once, so that the week's other stories and this one are edited independently.

Wednesday afternoon a storage array in Paris fails. Three customers open critical tickets within minutes;
the control panel links each to incident INC-PAR2 (one link arrives before the incident is declared, the
others after), nobody answers before the breach, and on-call is paged once per route for the incident, not
once per ticket: the other tickets' pages are recorded as `grouped`. Each customer hears that their ticket
is part of a known incident, then that it is resolved; the breach apologies still go out. The incident's
resolution closes the shared page at every route it reached; the tickets are answered minutes later, each
within its first started hour late (one hour of service credit each).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from cli.demo_scenario import MOSCOW, NEW_YORK, PARIS

if TYPE_CHECKING:
    from cli.demo_scenario import _Script

OUTAGE_INCIDENT = "INC-PAR2"
OUTAGE_TICKETS = ("T-501", "T-502", "T-503")  # New York (enterprise), Moscow (business), Paris (premium)


def add_outage(s: _Script) -> None:
    """The outage's events, with their own ids so that the rest of the week keeps its numbering."""
    opened = (
        (NEW_YORK, "2026-04-08T08:02:00", OUTAGE_TICKETS[0], "Block storage volumes read-only"),
        (MOSCOW, "2026-04-08T15:04:00", OUTAGE_TICKETS[1], "Тома хранилища недоступны"),
        (PARIS, "2026-04-08T14:06:00", OUTAGE_TICKETS[2], "Volumes de stockage inaccessibles"),
    )
    for n, (customer, local, ticket_id, subject) in enumerate(opened):
        s.ticket(
            "Ticket Opened",
            customer,
            local,
            ticket_id,
            event_id=f"demo-outage-open-{n}",
            severity="critical",
            subject=subject,
            category="incident",
        )
    # The first link comes before the declaration: it waits for it.
    s.ticket(
        "Ticket Linked To Incident",
        NEW_YORK,
        "2026-04-08T08:05:00",
        OUTAGE_TICKETS[0],
        event_id="demo-outage-link-0",
        incident_id=OUTAGE_INCIDENT,
    )
    s.add(
        "Incident Declared",
        PARIS,
        "2026-04-08T14:08:00",
        event_id="demo-outage-declared",
        incident_id=OUTAGE_INCIDENT,
        summary="Storage array failure in PAR-2: block volumes unavailable",
        server_ids=["srv-par2-01", "srv-par2-02"],
    )
    s.ticket(
        "Ticket Linked To Incident",
        MOSCOW,
        "2026-04-08T15:09:00",
        OUTAGE_TICKETS[1],
        event_id="demo-outage-link-1",
        incident_id=OUTAGE_INCIDENT,
    )
    s.ticket(
        "Ticket Linked To Incident",
        PARIS,
        "2026-04-08T14:10:00",
        OUTAGE_TICKETS[2],
        event_id="demo-outage-link-2",
        incident_id=OUTAGE_INCIDENT,
    )
    s.add(
        "Incident Resolved",
        PARIS,
        "2026-04-08T15:10:00",
        event_id="demo-outage-resolved",
        incident_id=OUTAGE_INCIDENT,
    )
    for n, (customer, local) in enumerate(
        ((NEW_YORK, "2026-04-08T09:12:00"), (MOSCOW, "2026-04-08T16:13:00"), (PARIS, "2026-04-08T15:14:00"))
    ):
        s.ticket(
            "Ticket Message Posted",
            customer,
            local,
            OUTAGE_TICKETS[n],
            event_id=f"demo-outage-answer-{n}",
            author="agent",
            visibility="public",
            message_id=f"msg-outage-{n}",
        )
