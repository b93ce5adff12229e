"""Builders for fold tests: real parsed events, so a test exercises the same models the engine receives.

Event ids come from one counter, zero-padded, so that events built one after the other at the same instant
are also ordered one after the other by the (occurred_at, sequence, event_id) rule of SPEC section 5.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterable, Mapping, Sequence
from datetime import UTC, datetime
from functools import cache
from importlib import resources
from typing import Any, cast

from sla.calendar import from_epoch, to_epoch
from sla.catalog import Catalog, parse_catalog
from sla.clocks import Clock
from sla.effects import Alert, Effect, Notification
from sla.events import (
    AlertAcknowledged,
    AnyTicketEvent,
    EventDetail,
    HardwareReplacementCompleted,
    HardwareReplacementRequested,
    SupportPlanChanged,
    TicketMessagePosted,
    TicketOpened,
    TicketSeverityChanged,
    TicketStatusChanged,
    parse_detail,
)
from sla.fold import fold
from sla.folded import Folded
from sla.vocabulary import Metric

TICKET = "T-1"
CUSTOMER = "C-1"
HOUR = 3600
MINUTE = 60

_ids = itertools.count(1)

Instant = str | int


@cache
def default_catalog() -> Catalog:
    return parse_catalog(default_catalog_toml())


def epoch(text: str) -> int:
    """Epoch seconds of an ISO 8601 instant; 'Z' is accepted and a naive instant is an error."""
    return to_epoch(datetime.fromisoformat(text))


def iso(seconds: int) -> str:
    return from_epoch(seconds).isoformat().replace("+00:00", "Z")


def _at(instant: Instant) -> str:
    if isinstance(instant, int):
        return datetime.fromtimestamp(instant, UTC).isoformat()
    return instant


def next_event_id() -> str:
    return f"e{next(_ids):08d}"


def _detail(
    detail_type: str,
    at: Instant,
    fields: dict[str, Any],
    event_id: str | None,
    nulls: Iterable[str] = (),
) -> Any:
    """A parsed event; fields left None are absent from the detail, those named in `nulls` an explicit null."""
    detail = {"event_id": event_id or next_event_id(), "occurred_at": _at(at), **fields}
    given = {k: v for k, v in detail.items() if v is not None}
    return parse_detail(detail_type, given | dict.fromkeys(nulls))


def _ticket_fields(ticket: str, customer: str, sequence: int | None) -> dict[str, Any]:
    return {"ticket_id": ticket, "customer_id": customer, "sequence": sequence}


def opened(
    at: Instant,
    severity: str = "high",
    *,
    ticket: str = TICKET,
    customer: str = CUSTOMER,
    sequence: int | None = None,
    event_id: str | None = None,
) -> TicketOpened:
    fields = {**_ticket_fields(ticket, customer, sequence), "severity": severity, "subject": "Server down"}
    return cast(TicketOpened, _detail("Ticket Opened", at, fields, event_id))


def message(
    at: Instant,
    author: str = "agent",
    visibility: str = "public",
    *,
    ticket: str = TICKET,
    customer: str = CUSTOMER,
    sequence: int | None = None,
    event_id: str | None = None,
) -> TicketMessagePosted:
    fields = {
        **_ticket_fields(ticket, customer, sequence),
        "author": author,
        "visibility": visibility,
        "message_id": f"m-{next(_ids)}",
    }
    return cast(TicketMessagePosted, _detail("Ticket Message Posted", at, fields, event_id))


def status(
    at: Instant,
    value: str,
    *,
    ticket: str = TICKET,
    customer: str = CUSTOMER,
    sequence: int | None = None,
    event_id: str | None = None,
) -> TicketStatusChanged:
    fields = {**_ticket_fields(ticket, customer, sequence), "status": value}
    return cast(TicketStatusChanged, _detail("Ticket Status Changed", at, fields, event_id))


def severity(
    at: Instant,
    value: str,
    *,
    ticket: str = TICKET,
    customer: str = CUSTOMER,
    sequence: int | None = None,
    event_id: str | None = None,
) -> TicketSeverityChanged:
    fields = {**_ticket_fields(ticket, customer, sequence), "severity": value}
    return cast(TicketSeverityChanged, _detail("Ticket Severity Changed", at, fields, event_id))


def hw_requested(
    at: Instant,
    component: str = "disk",
    server_id: str = "srv-1",
    *,
    ticket: str = TICKET,
    customer: str = CUSTOMER,
    sequence: int | None = None,
    event_id: str | None = None,
) -> HardwareReplacementRequested:
    fields = {**_ticket_fields(ticket, customer, sequence), "component": component, "server_id": server_id}
    return cast(HardwareReplacementRequested, _detail("Hardware Replacement Requested", at, fields, event_id))


def hw_completed(
    at: Instant,
    component: str = "disk",
    server_id: str = "srv-1",
    *,
    ticket: str = TICKET,
    customer: str = CUSTOMER,
    sequence: int | None = None,
    event_id: str | None = None,
) -> HardwareReplacementCompleted:
    fields = {**_ticket_fields(ticket, customer, sequence), "component": component, "server_id": server_id}
    return cast(HardwareReplacementCompleted, _detail("Hardware Replacement Completed", at, fields, event_id))


def plan(
    at: Instant,
    level: str,
    *,
    customer: str = CUSTOMER,
    timezone: str | None = None,
    country: str | None = None,
    locale: str | None = None,
    contact_email: str | None = None,
    clear: Iterable[str] = (),
    event_id: str | None = None,
) -> SupportPlanChanged:
    """A plan change; a field left None is absent (kept from the plan before), one named in `clear` is sent
    as an explicit null (cleared: back to the default, or no address)."""
    fields = {
        "customer_id": customer,
        "support_level": level,
        "timezone": timezone,
        "country": country,
        "locale": locale,
        "contact_email": contact_email,
    }
    return cast(SupportPlanChanged, _detail("Support Plan Changed", at, fields, event_id, clear))


def ack(
    at: Instant,
    metric: str,
    *,
    by: str = "alice",
    ticket: str = TICKET,
    customer: str | None = None,
    event_id: str | None = None,
) -> AlertAcknowledged:
    fields = {"ticket_id": ticket, "customer_id": customer, "metric": metric, "acknowledged_by": by}
    return cast(AlertAcknowledged, _detail("Alert Acknowledged", at, fields, event_id))


# -- running the fold and reading its result ---------------------------------------------------------------


def run(
    events: Iterable[EventDetail],
    plans: Iterable[SupportPlanChanged] = (),
    now: Instant = "2030-01-01T00:00:00Z",
    catalog: Catalog | None = None,
    ticket: str = TICKET,
    delivered: Mapping[str, Sequence[str]] | None = None,
    withdrawn: Mapping[str, int] | None = None,
) -> Folded:
    """Fold with the default catalog; `now` defaults to long after any test ticket, so every timer has fired.

    `delivered` is what the outbox says was paged and not yet resolved, by clock key, and `withdrawn` how
    often a clock's pages were resolved because its breach was undone (see sla.fold.fold).
    """
    at = now if isinstance(now, int) else epoch(now)
    ticket_events = [cast(AnyTicketEvent, e) for e in events]
    return fold(ticket, ticket_events, list(plans), catalog or default_catalog(), at, delivered, withdrawn)


def clocks(folded: Folded, metric: Metric) -> list[Clock]:
    assert folded.state is not None
    return [c for c in folded.state.clocks if c.metric == metric]


def clock(folded: Folded, metric: Metric, cycle: int = 1) -> Clock:
    found = [c for c in clocks(folded, metric) if c.cycle == cycle]
    assert len(found) == 1, f"expected one {metric} clock of cycle {cycle}, got {found}"
    return found[0]


def alerts(folded: Folded, kind: str | None = None, metric: Metric | None = None) -> list[Alert]:
    return [
        e
        for e in folded.effects
        if isinstance(e, Alert)
        and (kind is None or e.kind == kind)
        and (metric is None or e.metric == metric)
    ]


def notifications(folded: Folded, kind: str | None = None) -> list[Notification]:
    return [e for e in folded.effects if isinstance(e, Notification) and (kind is None or e.kind == kind)]


def summary(effects: Iterable[Effect]) -> list[tuple[str, str, str, str]]:
    """Effects as (instant, kind, route or customer, metric or kind) rows, for readable expectations."""
    rows: list[tuple[str, str, str, str]] = []
    for e in effects:
        if isinstance(e, Alert):
            rows.append((iso(e.at), e.kind, e.route, e.metric))
        else:
            rows.append((iso(e.at), "notify", e.customer_id, e.kind))
    return rows


# -- a catalog whose levels promise a resolution time -------------------------------------------------------

LEVELS = ("standard", "premium", "business", "enterprise")
RESOLUTION_TARGETS = '{ critical = "4h", high = "8h", medium = "24h", low = "72h" }'


# SPEC section 10's limited-support example, appended to a catalog's text.
LIMITED = """
[[limited_support]]
from = "2026-09-13T00:00:00+03:00"
to = "2026-09-23T00:00:00+03:00"
levels = ["standard", "premium"]
first_response = { critical = "10m", high = "72h", medium = "72h", low = "72h" }
next_response = { critical = "10m", high = "72h", medium = "72h", low = "72h" }
"""


def default_catalog_toml() -> str:
    return resources.files("sla").joinpath("catalog.toml").read_text(encoding="utf-8")


def resolution_catalog_toml() -> str:
    """The default catalog with a resolution table on every level, as an operator would add one."""
    text = default_catalog_toml()
    for level in LEVELS:
        header = f"[levels.{level}]\n"
        assert header in text
        text = text.replace(header, f"{header}resolution = {RESOLUTION_TARGETS}\n")
    return text


@cache
def resolution_catalog() -> Catalog:
    return parse_catalog(resolution_catalog_toml())
