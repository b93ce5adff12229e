"""What one commit of a ticket writes, decided once for every store adapter.

The ticket service hands a store the record it read, the fold and the new event; which effects are new,
what the STATE item becomes, the timer, the outbox items, the customer registration and the fold's
rejection records all follow from those alone. Computing them here, apart from how they are written, is
what keeps the DynamoDB adapter and the in-memory one of the local harness from drifting: each only applies
`CommitWrites` atomically under the same conditions (`infra.store.port.TicketStore.commit`).
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any, Literal

from infra.errors import AlreadyRecorded, ConflictingEvent, StoreError
from infra.store.codec import encode_event, redact_payload, redact_text
from infra.store.keys import event_id_key, rejection_key, ticket_key
from infra.store.outbox import expiration, outbox_items
from infra.store.queue import entry_digest, history_updates, queue_item
from infra.store.records import PlanRecord, TicketRecord, clock_digest
from infra.store.report_index import ReportWrites, report_writes
from infra.store.timers import timer_item
from infra.views import ticket_view
from sla.effects import Alert, Effect
from sla.events import EventDetail, SupportPlanChanged, excerpt
from sla.folded import Folded, Rejection, TicketState, clock_key
from sla.queue import queue_entry
from sla.response_history import answers

MAX_RAW_CHARS = 32_000
LOG_CHUNK_EVENTS = 100
"""Events per log chunk: a ticket of 2,000 events is 20 chunk items, one Query page."""
LOG_CHUNK_BYTES = 200_000
"""A chunk takes no more event text than this, far below DynamoDB's 400 KB an item."""
_sorted_json = json.JSONEncoder(sort_keys=True).encode
"""`json.dumps(data, sort_keys=True)` with one encoder: json.dumps builds one a call when given options."""
PLAN_HISTORY_MAX = 100
"""Plan changes kept per customer: a change older than the latest hundred no longer re-targets a re-fold."""


@dataclass(frozen=True)
class NewEvent:
    """The event a commit appends to the ticket's log, with its stored text (infra.store.codec)."""

    detail_type: str
    event: EventDetail
    text: str

    @cached_property  # an adapter reads it for the marker, the claim and a collision: hashed once
    def digest(self) -> str:
        return text_digest(self.text)


CONFLICTING_VERSION = "event_id: already names another event (first version kept)"


def text_digest(text: str) -> str:
    """The content digest of an event's stored text (infra.store.codec.encode_event): 16 hex characters."""
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def event_digest(event: EventDetail) -> str:
    """The content digest of an event: two deliveries of one event id agree on it iff their content does."""
    return text_digest(encode_event(event))


def other_ticket_reason(holder: str) -> str:
    return (
        f"event_id: already names an event of ticket {excerpt(holder)} (an event id is unique across tickets)"
    )


def collision(ticket_id: str, event_id: str, digest: str, held: tuple[str, str | None] | None) -> StoreError:
    """What a commit whose event id is taken raises, given who holds it (ticket, digest of its first version):
    AlreadyRecorded for a repeat of the same event on the same ticket (a holder without a digest, a marker
    written before digests were kept, counts as the same, and so does a holder that cannot be found: markers
    and claims never expire), ConflictingEvent for different content or another ticket."""
    holder, held_digest = held if held is not None else (ticket_id, None)
    if holder != ticket_id:
        return ConflictingEvent(event_id, other_ticket_reason(holder))
    if held_digest is not None and held_digest != digest:
        return ConflictingEvent(event_id, CONFLICTING_VERSION)
    return AlreadyRecorded(event_id)


def marker_item(ticket_id: str, event: NewEvent, now: int) -> dict[str, Any]:
    """The event's idempotency marker in its ticket's partition, with its content digest."""
    key = ticket_key(ticket_id, f"EVENT#{event.event.event_id}")
    return {**key, "kind": "event", "received_at": now, "digest": event.digest}


def claim_item(ticket_id: str, event: NewEvent, now: int) -> dict[str, Any]:
    """The table-wide claim of the event's id: written once, by the commit that accepts its first version."""
    key = event_id_key(event.event.event_id)
    return {**key, "kind": "eventid", "ticket_id": ticket_id, "digest": event.digest, "received_at": now}


@dataclass(frozen=True)
class CommitWrites:
    """The writes of one commit. Applied all or nothing, on condition that the new event's marker and its
    id's table-wide claim are absent (else `collision`: AlreadyRecorded or ConflictingEvent), the STATE item
    is still at `record.version` and the customer's plan record at `plans.version` (else VersionConflict)."""

    record: TicketRecord
    event: NewEvent | None
    log_chunk: int  # the log chunk the new event goes to
    state: dict[str, Any]  # the STATE item, version record.version + 1
    timer: dict[str, Any]  # the TIMER item: the ticket's next due instant, no lease
    outbox: list[dict[str, Any]]  # the new effects' outbox items, in decided order
    plans: PlanRecord | None  # the plan record the fold used, checked unchanged
    registration: dict[str, Any] | None  # the customer's open-ticket item to put or (for "delete") remove
    registration_action: Literal["put", "delete"] | None
    rejections: list[dict[str, Any]]  # the fold's new rejection items (`REJECTED#<event_id>` / `FOLD`)
    withdrawn: list[str]  # event ids whose `FOLD` rejection the events no longer support
    fresh: tuple[Effect, ...]  # the effects this commit puts into the outbox
    queue: dict[str, Any] | None = None  # the QUEUE item to Put (infra.store.queue); None: unchanged
    # Answer-history items to add to (key, attribute -> count): the answered cycles this commit settles.
    history: list[tuple[dict[str, str], dict[str, int]]] = field(default_factory=list)
    # The decided-cycle index's month items to Put or Delete (infra.store.report_index): the months changed.
    report: ReportWrites = field(default_factory=ReportWrites)

    @property
    def version(self) -> int:
        return int(self.state["version"])


def plan_commit(
    record: TicketRecord,
    new_event: tuple[str, EventDetail] | None,
    folded: Folded,
    now: int,
    plans: PlanRecord | None,
    retention_days: int,
    *,
    operator_view: bool = True,
    report_index: bool = True,
) -> CommitWrites:
    """The writes that commit `folded` over `record` at `now`, with `new_event` appended when given.

    `operator_view`: put the open clocks' JSON view on the STATE item (`state`), for an operator looking
    at the table; nothing in the engine reads it back. `report_index`: decide the decided-cycle index's
    writes (infra.store.report_index); the memory store makes its index from the folds itself."""
    fresh = fresh_effects(record, folded)
    event = NewEvent(new_event[0], new_event[1], encode_event(new_event[1])) if new_event else None
    log_chunk, log_count, log_bytes = _log_after(record, event.text if event else None)
    settled = folded.settled
    rejected = {f"rejected:{r.event_id}" for r in folded.rejected}
    fresh_rejections = [r for r in folded.rejected if f"rejected:{r.event_id}" not in record.emitted]
    withdrawn = sorted(e for e in record.emitted if e.startswith("rejected:") and e not in rejected)
    settled_ids = {e.effect_id for e in folded.effects if e.clock_key and e.clock_key in settled}
    emitted = ((set(record.emitted) - set(withdrawn)) | {e.effect_id for e in fresh} | rejected) - settled_ids
    ticket = folded.state
    entry = queue_entry(ticket) if ticket is not None else None
    queued = entry_digest(entry)
    report = report_writes(record.ticket_id, record.reported, folded) if report_index else ReportWrites()
    state = {
        **ticket_key(record.ticket_id, "STATE"),
        "kind": "state",
        "version": record.version + 1,
        "owner": ticket.customer_id if ticket else None,
        "status": ticket.status if ticket else None,
        # The open clocks only: a view for an operator, bounded however many cycles the ticket had.
        "state": json.dumps(_open_view(ticket)) if ticket and operator_view else None,
        "emitted": sorted(emitted) or None,
        "closed": sorted(record.closed | {clock_digest(key) for key in settled}) or None,
        "pages": _pages_after(record, fresh, settled),
        "withdrawn": _withdrawn_after(record, folded, fresh, settled),
        "plan_version": plans.version if plans is not None else None,
        "log_chunk": log_chunk,
        "log_count": log_count,
        "log_bytes": log_bytes,
        "registered": _registered(ticket) or None,
        "folded_at": now,
        "queued": queued,
        "reported": _sorted_json(report.digests) if report.digests else None,
    }
    expires = expiration(now, retention_days)
    registration, action = _registration(record, ticket, bool(state["registered"]), now)
    return CommitWrites(
        record=record,
        event=event,
        log_chunk=log_chunk,
        state=state,
        timer=timer_item(record.ticket_id, folded.next_due),
        outbox=outbox_items(record.ticket_id, record.version + 1, fresh, now, expires),
        plans=plans,
        registration=registration,
        registration_action=action,
        rejections=[rejection_item(r, None, now, "FOLD", retention_days) for r in fresh_rejections],
        withdrawn=[w.removeprefix("rejected:") for w in withdrawn],
        fresh=fresh,
        queue=queue_item(record.ticket_id, entry) if queued != record.queued else None,
        history=_history_after(record, folded),
        report=report,
    )


def _history_after(record: TicketRecord, folded: Folded) -> list[tuple[dict[str, str], dict[str, int]]]:
    """The answer history's additions: the answered cycles this commit settles for the first time (a
    settled clock's digest stays in `closed`, so no later commit counts it again)."""
    ticket = folded.state
    if ticket is None or not folded.settled:
        return []
    newly = {key for key in folded.settled if clock_digest(key) not in record.closed}
    return history_updates(answers(ticket, folded.facts, newly)) if newly else []


def fresh_effects(record: TicketRecord, folded: Folded) -> tuple[Effect, ...]:
    """The fold's effects not yet in the outbox: neither among the ids emitted nor of a settled clock."""
    closed, emitted = record.closed, record.emitted
    return tuple(
        e
        for e in folded.effects
        if e.effect_id not in emitted and not (e.clock_key and clock_digest(e.clock_key) in closed)
    )


def rejection_item(
    rejection: Rejection, raw: str | None, now: int, source: str, retention_days: int
) -> dict[str, Any]:
    """The reason, the input redacted (no e-mail address, no free text) and cut, and when it expires."""
    return {
        **rejection_key(rejection.event_id),
        "sk": source,
        "kind": "rejected",
        "event_id": rejection.event_id,
        "reason": redact_text(rejection.reason),
        "raw": redact_payload(raw)[:MAX_RAW_CHARS] if raw else None,
        "rejected_at": now,
        "expiration": expiration(now, retention_days),
    }


def plan_history(record: PlanRecord, change: SupportPlanChanged) -> tuple[SupportPlanChanged, ...]:
    """The customer's plan changes once `change` is added: in event order, the latest PLAN_HISTORY_MAX."""
    earlier = record.changes
    if "contact_email" in change.model_fields_set and change.contact_email is None:
        # The customer's right to be forgotten: a cleared address is erased from the whole history, not
        # only from this change on (a late notice for an earlier period then goes without an address).
        earlier = tuple(
            c.model_copy(update={"contact_email": None}) if c.contact_email is not None else c
            for c in earlier
        )
    return tuple(sorted((*earlier, change), key=EventDetail.order_key)[-PLAN_HISTORY_MAX:])


def _pages_after(record: TicketRecord, fresh: tuple[Effect, ...], settled: frozenset[str]) -> str | None:
    """The routes paged and not yet resolved, per clock, once the fresh alerts are delivered."""
    pages = {key: list(routes) for key, routes in record.pages.items()}
    for effect in fresh:
        if isinstance(effect, Alert) and effect.kind in ("trigger", "resolve"):
            routes = pages.setdefault(effect.clock_key, [])
            route = effect.delivered_to  # where the page went: the fold resolves it there
            if effect.kind == "trigger" and route not in routes:
                routes.append(route)
            elif effect.kind == "resolve" and route in routes:
                routes.remove(route)
    pages = {key: routes for key, routes in pages.items() if routes and key not in settled}
    return _sorted_json(pages) if pages else None


def _withdrawn_after(
    record: TicketRecord, folded: Folded, fresh: tuple[Effect, ...], settled: frozenset[str]
) -> str | None:
    """A resolve for a clock the fold does not hold breached withdraws a page whose breach was undone: if
    a later event brings the breach back, its pages go out again as new effects (fold(withdrawn=...))."""
    breached = _breached_keys(folded)
    generations = dict(record.withdrawn)
    for key in {
        e.clock_key
        for e in fresh
        if isinstance(e, Alert) and e.kind == "resolve" and e.clock_key not in breached
    }:
        generations[key] = generations.get(key, 0) + 1
    generations = {key: count for key, count in generations.items() if key not in settled}
    return _sorted_json(generations) if generations else None


def _registration(
    record: TicketRecord, ticket: TicketState | None, registered: bool, now: int
) -> tuple[dict[str, Any] | None, Literal["put", "delete"] | None]:
    """The ticket's entry among its customer's open tickets: put when first owned, deleted on close."""
    if ticket is None:
        return None, None
    key = {"pk": f"CUSTOMER#{ticket.customer_id}", "sk": f"TICKET#{record.ticket_id}"}
    if registered and not record.registered:
        return {**key, "kind": "registration", "registered_at": now}, "put"
    if record.registered and not registered:
        return key, "delete"
    return None, None


def _log_after(record: TicketRecord, text: str | None) -> tuple[int, int, int]:
    """The log cursor (chunk, events in it, their bytes) once `text` is appended: a new chunk when the
    current one is full. Without a new event, the cursor as it is."""
    chunk, count, size = record.log_chunk, record.log_count, record.log_bytes
    if text is None:
        return chunk, count, size
    if count >= LOG_CHUNK_EVENTS or (count and size + len(text) > LOG_CHUNK_BYTES):
        chunk, count, size = chunk + 1, 0, 0
    return chunk, count + 1, size + len(text)


def _breached_keys(folded: Folded) -> set[str]:
    ticket = folded.state
    if ticket is None:
        return set()
    return {clock_key(ticket.ticket_id, c.metric, c.cause) for c in ticket.clocks if c.state == "breached"}


def _registered(ticket: TicketState | None) -> bool:
    """A ticket is among its customer's open tickets from its first fold until it is closed."""
    return ticket is not None and ticket.status != "closed"


def _open_view(ticket: TicketState) -> dict[str, Any]:
    view = ticket_view(ticket)
    view["clocks"] = [c for c in view["clocks"] if c["stopped_at"] is None]
    return view
