"""The control panel's read API (SPEC section 8) as pydantic models, and the views of SLA state they carry.

The models are the API's contract: the HTTP resolver validates answers against them and the OpenAPI
document is generated from them, so their field descriptions are the API's documentation. They live beside
the event contract (`sla.events`) because, like it, they are what the engine promises to the outside.

Instants are UTC (`...Z`); a field ending in `_local` is the same instant in the customer's zone, with its
offset (the zone the clock counts in). Durations are integer seconds of working time on the clock's
calendar.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import BaseModel, ConfigDict, Field

from sla.clocks import Clock
from sla.folded import TicketState
from sla.plans import DEFAULT_TIMEZONE
from sla.queue import QueueEntry
from sla.vocabulary import METRICS, Component, Metric, Severity, Status

Seconds = Annotated[int, Field(description="Working seconds on the clock's calendar.")]


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Ongoing(_Model):
    """The cycle of a metric that is still counting (or paused, or breached and not yet answered)."""

    cycle: int = Field(description="Display position of the cycle among the metric's cycles, from 1.")
    started_at: datetime
    due_at: datetime | None = Field(description="When the target is used up; null while paused.")
    due_local: datetime | None = Field(description="`due_at` in the customer's zone.")
    breached: bool
    paused: bool = Field(description="Waiting on the customer (resolution, hardware replacement).")
    elapsed_seconds: Seconds
    remaining_seconds: int = Field(
        description="Working time left until `due_at`; negative once breached, counting the working time "
        "since (as JSM shows it)."
    )
    target_seconds: Seconds


class Completed(_Model):
    """A cycle that is over: met, breached (its breach stays on record) or cancelled by the ticket's close."""

    cycle: int
    state: Literal["met", "breached", "cancelled"]
    started_at: datetime
    stopped_at: datetime
    due_at: datetime | None
    breached: bool
    elapsed_seconds: Seconds
    target_seconds: Seconds


class MetricSla(_Model):
    metric: Metric
    component: Component | None = Field(
        default=None, description="hardware_replacement only: the part being replaced (one entry per part)."
    )
    server_id: str | None = Field(default=None, description="hardware_replacement only: the server.")
    ongoing: Ongoing | None
    completed: list[Completed]


class TicketSla(_Model):
    ticket_id: str
    customer_id: str
    support_level: str
    severity: Severity
    status: Status
    line: str | None = Field(
        description="The support line the ticket is at (SPEC section 10): the catalog's entry line, then the "
        "line of each `Ticket Escalated`; null under a catalog that defines no lines."
    )
    metrics: list[MetricSla]


class QueueItem(_Model):
    position: int = Field(description="1 for the ticket that breaches (or breached) first.")
    ticket_id: str
    customer_id: str
    support_level: str
    severity: Severity
    line: str | None
    metric: Metric = Field(description="The clock the ticket owes soonest.")
    due_at: datetime
    remaining_seconds: int = Field(
        description="Working time left until `due_at` at `at`; negative once breached."
    )
    breached: bool


class QueuePage(_Model):
    at: datetime = Field(description="The instant the page was read: `remaining_seconds` are as of it.")
    items: list[QueueItem]
    next_cursor: str | None = Field(description="Pass as `cursor` for the next page; null on the last.")


class Wait(_Model):
    """What the customer sees of its wait (FirstVDS's visible wait)."""

    ticket_id: str
    metric: Metric | None = Field(description="What is owed: null when nothing is (answered, or paused).")
    position: int | None = Field(description="Place in its line's queue, from 1; null when nothing is owed.")
    ahead: int | None = Field(description="Tickets before it in that queue.")
    ahead_exact: bool = Field(
        description="False when the queue ahead is longer than one read counts: `ahead` is then a lower bound."
    )
    promised_by: datetime | None = Field(description="The due time of what is owed.")
    promised_by_local: datetime | None
    expected_by: datetime | None = Field(
        description="From the median working time answers of its metric, level and severity took over the "
        "last 30 days, among those that took longer than this ticket has waited; may be later than "
        "`promised_by`. Null without enough history."
    )
    expected_by_local: datetime | None


class ErrorDetail(_Model):
    status: int
    message: str
    field: str | None = Field(description="The parameter at fault, when one is.")


class ErrorBody(_Model):
    error: ErrorDetail


class Target(_Model):
    seconds: int
    human: str


class CalendarName(_Model):
    name: str
    description: str


class Coverage(_Model):
    calendar: str | None = Field(description="The calendar's name; null: on duty 24/7.")
    description: str


class LineAnswer(_Model):
    """A support line at the opening instant (SPEC section 10): `sla-engine due --at-line`."""

    line: str
    route: str = Field(description="The route the line's alerts are for.")
    on_duty: bool = Field(description="Whether that route is on duty at the opening instant.")
    paged_route: str = Field(
        description="Where an alert for the route goes then: its fallback when off duty."
    )
    pickup: Target | None = Field(description="The line's pickup target (working time of its coverage).")
    pickup_due: datetime | None = Field(description="When a pickup started by an escalation then falls due.")
    coverage: Coverage


class DueAnswer(_Model):
    """The answer of `sla-engine due --format json`."""

    due: datetime
    due_local: datetime
    opened: datetime
    opened_local: datetime
    timezone: str
    country: str
    subdivision: str | None
    level: str
    severity: Severity
    metric: Metric
    component: Component | None
    target: Target
    calendar: CalendarName
    line: LineAnswer | None = Field(
        default=None, description="With `line`: that line at the opening instant."
    )


# -- views ------------------------------------------------------------------------------------------------


def instant(epoch: int) -> datetime:
    return datetime.fromtimestamp(epoch, UTC)


def zone(name: str) -> ZoneInfo:
    """The customer's zone; a name today's tzdata no longer knows shows in the default zone, as the fold
    counts such a clock (sla.clocks.calendar_for)."""
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return ZoneInfo(DEFAULT_TIMEZONE)


def local(epoch: int | None, timezone: str) -> datetime | None:
    return None if epoch is None else datetime.fromtimestamp(epoch, zone(timezone))


def _ongoing(clock: Clock) -> Ongoing:
    return Ongoing(
        cycle=clock.cycle,
        started_at=instant(clock.started_at),
        due_at=None if clock.due_at is None else instant(clock.due_at),
        due_local=local(clock.due_at, clock.timezone),
        breached=clock.state == "breached",
        paused=clock.state == "paused",
        elapsed_seconds=clock.elapsed_seconds,
        remaining_seconds=clock.target_seconds - clock.elapsed_seconds,
        target_seconds=clock.target_seconds,
    )


def _completed(clock: Clock) -> Completed:
    assert clock.stopped_at is not None
    state: Literal["met", "breached", "cancelled"] = (
        "breached" if clock.state == "breached" else "met" if clock.state == "met" else "cancelled"
    )
    return Completed(
        cycle=clock.cycle,
        state=state,
        started_at=instant(clock.started_at),
        stopped_at=instant(clock.stopped_at),
        due_at=None if clock.due_at is None else instant(clock.due_at),
        breached=clock.state == "breached",
        elapsed_seconds=clock.elapsed_seconds,
        target_seconds=clock.target_seconds,
    )


def ticket_sla(state: TicketState) -> TicketSla:
    """The ticket's clocks grouped by metric (and, for replacements, by part), as folded at some `now`.

    A metric has at most one ongoing cycle (its cycles follow one another); a ticket may replace several
    parts at once, so each part of a hardware replacement is an entry of its own. Metrics come in the
    vocabulary's order, cycles in start order; a metric the ticket never started is left out.
    """
    groups: dict[tuple[Metric, str | None, Component | None], list[Clock]] = {}
    for clock in sorted(state.clocks, key=lambda c: (METRICS.index(c.metric), c.started_at, c.cycle)):
        groups.setdefault((clock.metric, clock.server_id, clock.component), []).append(clock)
    metrics = []
    for (metric, server_id, component), clocks in groups.items():
        running = [c for c in clocks if c.stopped_at is None]
        metrics.append(
            MetricSla(
                metric=metric,
                component=component,
                server_id=server_id,
                ongoing=_ongoing(running[-1]) if running else None,
                completed=[_completed(c) for c in clocks if c.stopped_at is not None],
            )
        )
    return TicketSla(
        ticket_id=state.ticket_id,
        customer_id=state.customer_id,
        support_level=state.support_level,
        severity=state.severity,
        status=state.status,
        line=state.line,
        metrics=metrics,
    )


def queue_item(entry: QueueEntry, position: int, remaining: int, now: int) -> QueueItem:
    return QueueItem(
        position=position,
        ticket_id=entry.ticket_id,
        customer_id=entry.customer_id,
        support_level=entry.support_level,
        severity=entry.severity,
        line=entry.line,
        metric=entry.metric,
        due_at=instant(entry.due_at),
        remaining_seconds=remaining,
        breached=entry.breached_at(now),
    )
