"""What the fold asks the shell to do: on-call alerts and customer notifications, as plain data.

Each effect has an `effect_id` that is a pure function of the ticket's events, so re-folding the same events
yields the same ids, and the outbox records each one once however often the ticket is folded.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

from sla.vocabulary import Locale, Metric

# `grouped`: a breach trigger under an incident page another ticket already sent (SPEC 6, sla.incidents).
AlertKind = Literal["warning", "trigger", "acknowledge", "resolve", "grouped"]
NotificationKind = Literal[
    "acknowledged",
    "hardware_scheduled",
    "breach_apology",
    "hardware_completed",
    "survey",
    "incident_linked",
    "incident_resolved",
]


@dataclass(frozen=True, slots=True)
class Alert:
    """A page or notice for on-call; `dedup_key` is stable per (ticket, metric, cycle) across every step."""

    effect_id: str
    at: int
    ticket_id: str
    metric: Metric
    cycle: int
    kind: AlertKind
    route: str
    dedup_key: str
    step: int = 0
    fraction: float | None = None
    due_at: int | None = None
    support_level: str = ""
    clock_key: str = ""  # the clock's identity, by the event that started it (see sla.fold)
    # Where it was delivered (SPEC sections 6 and 10): `route` off duty at `at` sends it to its fallback,
    # recursively. Empty in records written before routes had coverage: there it is `route`.
    paged_route: str = ""

    @property
    def delivered_to(self) -> str:
        """The route the alert goes to: `paged_route`, or `route` for an alert recorded without one."""
        return self.paged_route or self.route


@dataclass(frozen=True, slots=True)
class Notification:
    """A message to the customer, in their locale and time zone; sent even without an address on record."""

    effect_id: str
    at: int
    ticket_id: str
    customer_id: str
    kind: NotificationKind
    locale: Locale
    timezone: str
    contact_email: str | None
    data: dict[str, str | int | None] = field(default_factory=dict)
    clock_key: str | None = None  # the clock the notice is about, None for the ticket's own notices


Effect = Alert | Notification
