"""The application service behind the read API: who may see what, and the answer to each question.

Every answer is computed at the `now` the caller passes (the wall clock deployed, the simulated one
locally), so the clocks' elapsed and remaining working time are as of the request, not of the last commit:
a ticket is folded again from its stored events (one Query and one GetItem, the same as a write's load),
and a queue row's working time left is counted on its clock's calendar from the row alone.

Tenant isolation lives here, in one place: a customer sees its own tickets only, and another customer's
ticket is refused by the same code, with the same error, as a ticket that does not exist (`NotFound`),
after the same one read; the queue and the board are for agents (`Forbidden`).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

from infra.store.queue import QueueReader, decode_cursor, encode_cursor, window_days
from infra.store.records import PlanRecord, TicketRecord
from sla.calendar import Calendar
from sla.catalog import Catalog, check_country, check_timezone
from sla.catalog_views import due_document, plans_document
from sla.clocks import counting_calendar
from sla.events import out_of_range
from sla.folded import TicketState
from sla.incidents import fold_ticket
from sla.plans import explain_due
from sla.queue import QueueEntry, owed, queue_entry, remaining_seconds
from sla.read_views import DueAnswer, QueuePage, TicketSla, Wait, instant, local, queue_item, ticket_sla
from sla.response_history import day_of, median_beyond, merge
from sla.vocabulary import Component, Metric, Severity

AGENT_SCOPE = "sla/agent"
MAX_PAGE = 100
DEFAULT_PAGE = 25


@dataclass(frozen=True)
class Caller:
    """Who asks: from the token's claims (the JWT authorizer's, or the development headers locally)."""

    agent: bool
    customer_id: str | None

    def may_read(self, owner: str) -> bool:
        return self.agent or (self.customer_id is not None and self.customer_id == owner)


class QueryError(Exception):
    status = 500

    def __init__(self, message: str, field: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.field = field


class BadRequest(QueryError):
    status = 400


class Forbidden(QueryError):
    status = 403


class NotFound(QueryError):
    status = 404


class ReadStore(Protocol):
    """What the read side needs of a store: both adapters have it (infra.store.dynamodb, local.memory)."""

    @property
    def queue(self) -> QueueReader: ...

    def load_ticket(self, ticket_id: str) -> TicketRecord: ...

    def load_plans(self, customer_id: str) -> PlanRecord: ...


@dataclass(frozen=True)
class PageRead:
    page: QueuePage
    items_read: int  # what the index Query read: at most limit + 1, whatever the queue holds


class QueryService:
    def __init__(self, store: ReadStore, catalog: Catalog) -> None:
        self.store = store
        self.catalog = catalog
        self.levels = tuple(dict.fromkeys(name for version in catalog.versions for name in version.levels))
        self.lines = tuple(dict.fromkeys(name for version in catalog.versions for name in version.lines))

    # -- tickets ---------------------------------------------------------------------------------------

    def _visible(self, caller: Caller, ticket_id: str, now: int) -> TicketState:
        """The ticket folded at `now`, if `caller` may see it; else NotFound, the same as for no ticket."""
        record = self.store.load_ticket(ticket_id)
        if record.owner is None or not caller.may_read(record.owner):
            raise NotFound("no such ticket", "ticket_id")
        plans = self.store.load_plans(record.owner)
        folded = fold_ticket(
            ticket_id, record.events, plans.changes, self.catalog, now, record.pages, record.withdrawn
        )
        if folded.state is None:  # an owner on record but no opening folded: nothing to show
            raise NotFound("no such ticket", "ticket_id")
        return folded.state

    def ticket_sla(self, caller: Caller, ticket_id: str, now: int) -> TicketSla:
        return ticket_sla(self._visible(caller, ticket_id, now))

    def wait(self, caller: Caller, ticket_id: str, now: int) -> Wait:
        """The customer's visible wait: its place in its line's queue, the promise and the estimate."""
        state = self._visible(caller, ticket_id, now)
        clock, entry = owed(state), queue_entry(state)
        if clock is None or entry is None or clock.due_at is None:
            return Wait(
                ticket_id=ticket_id,
                metric=None,
                position=None,
                ahead=None,
                ahead_exact=True,
                promised_by=None,
                promised_by_local=None,
                expected_by=None,
                expected_by_local=None,
            )
        # Its line's queue (SPEC section 8); the whole queue under a catalog without lines.
        ahead, exact = self.store.queue.count_before(entry.sort_key, line=entry.line)
        days = self.store.queue.history(
            clock.metric, clock.support_level, state.severity, *window_days(day_of(now))
        )
        median = median_beyond(merge(days), clock.elapsed_seconds)
        expected: int | None = None
        if median is not None:
            calendar = _calendar(self.catalog, entry)
            expected = calendar.after(now, median - clock.elapsed_seconds)
        return Wait(
            ticket_id=ticket_id,
            metric=clock.metric,
            position=ahead + 1,
            ahead=ahead,
            ahead_exact=exact,
            promised_by=instant(clock.due_at),
            promised_by_local=local(clock.due_at, clock.timezone),
            expected_by=None if expected is None else instant(expected),
            expected_by_local=local(expected, clock.timezone),
        )

    # -- the agents' queue -----------------------------------------------------------------------------

    def queue(
        self,
        caller: Caller,
        now: int,
        line: str | None = None,
        level: str | None = None,
        limit: int = DEFAULT_PAGE,
        cursor: str | None = None,
    ) -> PageRead:
        self.require_agent(caller)
        if line and line not in self.lines:
            known = (
                ", ".join(self.lines) or "none: the catalog defines no support lines, only an empty filter"
            )
            raise BadRequest(f"line: unknown line {line[:40]!r}; known: {known}", "line")
        if level is not None and level not in self.levels:
            raise BadRequest(f"level: unknown level {level[:40]!r}; known: {', '.join(self.levels)}", "level")
        if not 1 <= limit <= MAX_PAGE:
            raise BadRequest(f"limit: must be from 1 to {MAX_PAGE}", "limit")
        after, offset = None, 0
        if cursor is not None:
            decoded = decode_cursor(cursor)
            if decoded is None:
                raise BadRequest(
                    "cursor: not a cursor of this API; pass a page's next_cursor as it is", "cursor"
                )
            after, offset = decoded
        entries, read = self.store.queue.page(level, after, limit, line or None)
        shown = entries[:limit]
        items = [
            queue_item(
                entry,
                offset + number,
                remaining_seconds(_calendar(self.catalog, entry), entry.due_at, now),
                now,
            )
            for number, entry in enumerate(shown, start=1)
        ]
        more = len(entries) > limit
        next_cursor = encode_cursor(shown[-1].sort_key, offset + len(shown)) if more and shown else None
        return PageRead(QueuePage(at=instant(now), items=items, next_cursor=next_cursor), read)

    def require_agent(self, caller: Caller) -> None:
        if not caller.agent:
            raise Forbidden(f"agents only: the token needs the {AGENT_SCOPE} scope")

    # -- the catalog -----------------------------------------------------------------------------------

    def plans(self) -> dict[str, Any]:
        return plans_document(self.catalog)

    def due(
        self,
        level: str,
        severity: Severity,
        opened: str,
        metric: Metric | None = None,
        component: Component | None = None,
        timezone: str = "Europe/Paris",
        country: str = "FR",
        subdivision: str | None = None,
        line: str | None = None,
    ) -> DueAnswer:
        """`sla-engine due --format json`, with the same checks, each naming its parameter."""
        if level not in self.catalog.levels:
            raise BadRequest(
                f"level: unknown level {level[:40]!r}; known: {', '.join(self.catalog.levels)}", "level"
            )
        start = _instant("opened", opened)
        if component is not None and metric not in (None, "hardware_replacement"):
            raise BadRequest(f"component: applies only to hardware_replacement, not to {metric}", "component")
        if metric == "hardware_replacement" and component is None:
            raise BadRequest("component: required with metric hardware_replacement (e.g. disk)", "component")
        chosen: Metric = "hardware_replacement" if component is not None else metric or "first_response"
        country = country.upper()
        checks: tuple[tuple[str, Callable[[], object]], ...] = (
            ("timezone", lambda: check_timezone(timezone)),
            ("country", lambda: check_country(country, None)),
            ("subdivision", lambda: check_country(country, subdivision)),
        )
        for field, check in checks:
            try:
                check()
            except ValueError as error:
                raise BadRequest(f"{field}: {error}", field) from None
        if line is not None and line not in self.catalog.lines:
            known = ", ".join(self.catalog.lines) or "none (the catalog defines no lines)"
            raise BadRequest(f"line: unknown line {line[:40]!r}; known: {known}", "line")
        if self.catalog.level(level).target(chosen, severity, component) is None:
            raise BadRequest(f"metric: level {level!r} promises no {chosen} target", "metric")
        try:
            due = explain_due(
                self.catalog, level, chosen, severity, start, timezone, country, component, subdivision
            )
        except ValueError as error:  # a calendar of the catalog with no working time for 20 years
            raise BadRequest(f"level: {error}", "level") from None
        return DueAnswer.model_validate(due_document(self.catalog, due, timezone, country, subdivision, line))


def _calendar(catalog: Catalog, entry: QueueEntry) -> Calendar:
    return counting_calendar(
        catalog, entry.clock_level, entry.metric, entry.started_at, entry.timezone, entry.country
    )


def _instant(field: str, text: str) -> datetime:
    try:
        value = datetime.fromisoformat(text)
    except ValueError:
        raise BadRequest(
            f"{field}: {text[:40]!r} is not an ISO 8601 instant like 2026-04-03T17:30:00+02:00", field
        ) from None
    if value.tzinfo is None or value.utcoffset() is None:
        raise BadRequest(f"{field}: {text[:40]!r} has no UTC offset; add one, like +02:00 or Z", field)
    problem = out_of_range(value)
    if problem is not None:
        raise BadRequest(f"{field}: {problem}", field)
    return value
