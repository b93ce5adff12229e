"""What a store hands the ticket service, whatever keeps it: a ticket as last committed, a customer's plans.

Both adapters (the DynamoDB table, the in-memory store of the local harness) build these from the same
STATE item shape (`ticket_record`), so a record reads the same from either, field for field.
"""

from __future__ import annotations

import base64
import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

from sla.events import AnyTicketEvent, SupportPlanChanged


@dataclass(frozen=True)
class TicketRecord:
    """A ticket as read in one Query: its accepted events and what its state item remembers."""

    ticket_id: str
    events: tuple[AnyTicketEvent, ...]
    version: int
    owner: str | None
    emitted: frozenset[str]
    timer: str | None
    plan_version: int = 0  # the version of the customer's plan record the state was folded with
    closed: frozenset[str] = frozenset()  # digests of settled clocks' keys
    pages: dict[str, tuple[str, ...]] = field(default_factory=dict)  # clock key -> routes paged, unresolved
    log_chunk: int = 0  # the chunk the next event goes to
    log_count: int = 0  # events in that chunk
    log_bytes: int = 0  # event text in that chunk
    status: str | None = None  # the ticket's status as last folded
    registered: bool = False  # the ticket is listed among its customer's open tickets
    withdrawn: dict[str, int] = field(default_factory=dict)  # clock key -> times its pages were withdrawn
    queued: str | None = None  # digest of the ticket's QUEUE item as last written (infra.store.queue)
    reported: dict[str, str] = field(default_factory=dict)  # month -> digest of its report index item

    def has_event(self, event_id: str) -> bool:
        return any(event.event_id == event_id for event in self.events)


@dataclass(frozen=True)
class PlanRecord:
    customer_id: str
    changes: tuple[SupportPlanChanged, ...]
    version: int
    marked_version: int = 0  # the latest version whose open tickets were all marked due
    marked_cursor_version: int = 0  # the version a marking in progress is for
    marked_cursor: str | None = None  # where that marking resumes


@lru_cache(maxsize=1 << 16)
def clock_digest(key: str) -> str:
    """A settled clock's key in 12 characters: what the state keeps of a clock that can say no more.

    Cached: every commit checks each of the ticket's effects against the settled clocks' digests."""
    return base64.urlsafe_b64encode(hashlib.blake2b(key.encode(), digest_size=9).digest()).decode()


def ticket_record(
    ticket_id: str,
    events: tuple[AnyTicketEvent, ...],
    state: Mapping[str, Any] | None,
    timer: str | None,
) -> TicketRecord:
    """The record of a ticket from its events, its STATE item (None: never committed) and its timer's key."""
    found: Mapping[str, Any] = state if state is not None else {"version": 0}
    pages = json.loads(found["pages"]) if found.get("pages") else {}
    withdrawn = json.loads(found["withdrawn"]) if found.get("withdrawn") else {}
    return TicketRecord(
        ticket_id,
        events,
        int(found["version"]),
        found.get("owner"),
        frozenset(found.get("emitted") or ()),
        timer,
        int(found.get("plan_version") or 0),
        frozenset(found.get("closed") or ()),
        {key: tuple(routes) for key, routes in pages.items()},
        int(found.get("log_chunk") or 0),
        int(found.get("log_count") or 0),
        int(found.get("log_bytes") or 0),
        found.get("status"),
        bool(found.get("registered")),
        {key: int(count) for key, count in withdrawn.items()},
        found.get("queued"),
        json.loads(found["reported"]) if found.get("reported") else {},
    )
