"""The DynamoDB single-table store: the event log, folded state, due timers, the outbox and rejections.

The event log is the truth; the state item is a projection guarded by a version, so concurrent writers
(ingest and sweeper, or two deliveries of one event) serialise on it: each transaction says which prior
state it allows, and a loser re-reads and re-folds. Item shapes and their bounds are documented in
template.yaml. Every item stays bounded whatever the history: the log is kept in chunks, the state keeps
the effect ids of open clocks only (a settled clock is remembered by a short digest of its key), a
customer's tickets are items of their own, and the plan history keeps its latest changes.

Items that hold personal data expire (README, "Personal data"): rejections and outbox items carry
`expiration` (epoch seconds, `retention_days` after they are written), which the table's TTL acts on. A
rejection keeps its input redacted (infra.store.codec.redact_payload): no e-mail address, no free text.
"""

from __future__ import annotations

import base64
import hashlib
import itertools
import json
from dataclasses import dataclass, field
from typing import Any

from botocore.exceptions import ClientError

from infra.errors import AlreadyRecorded, VersionConflict, cancellation_reasons, translate
from infra.store.codec import decode_event, encode_event, redact_payload, redact_text
from infra.store.keys import marshal, plan_key, ticket_key, unmarshal
from infra.store.keys import rejection_key as _rejection_key
from infra.store.outbox import DEFAULT_RETENTION_DAYS, expiration, outbox_items
from infra.store.timers import DueTimer, TimerIndex, timer_item
from infra.views import ticket_view
from sla.effects import Alert, Effect
from sla.events import AnyTicketEvent, EventDetail, SupportPlanChanged
from sla.fold import Folded, Rejection, clock_key

MAX_TRANSACTION_ITEMS = 100
MAX_RAW_CHARS = 32_000
LOG_CHUNK_EVENTS = 100
"""Events per log chunk: a ticket of 2,000 events is 20 chunk items, one Query page."""
LOG_CHUNK_BYTES = 200_000
"""A chunk takes no more event text than this, far below DynamoDB's 400 KB an item."""
PLAN_HISTORY_MAX = 100
"""Plan changes kept per customer: a change older than the latest hundred no longer re-targets a re-fold."""

_LOG_FIRST, _LOG_LAST = "LOG#", "LOG#~"


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


def clock_digest(key: str) -> str:
    """A settled clock's key in 12 characters: what the state keeps of a clock that can say no more."""
    return base64.urlsafe_b64encode(hashlib.blake2b(key.encode(), digest_size=9).digest()).decode()


class Store:
    """One table, passed in by the caller (a moto table in tests and replay, the real one in Lambda)."""

    def __init__(self, client: Any, table_name: str, retention_days: int = DEFAULT_RETENTION_DAYS) -> None:
        self.client = client
        self.table_name = table_name
        self.retention_days = retention_days  # of rejections and outbox items: their `expiration`
        self.timers = TimerIndex(client, table_name)
        self._attempts = itertools.count()

    # -- due timers (infra.store.timers) ----------------------------------------------------------------

    def due_timers(
        self, now: int, limit: int, start_after: str | None = None
    ) -> tuple[list[DueTimer], str | None]:
        return self.timers.due_timers(now, limit, start_after)

    def next_timer(self) -> int | None:
        return self.timers.next_timer()

    def claim_timer(self, timer: DueTimer, now: int, lease_seconds: int) -> bool:
        return self.timers.claim_timer(timer, now, lease_seconds)

    # -- reads ------------------------------------------------------------------------------------------

    def load_ticket(self, ticket_id: str) -> TicketRecord:
        """The log chunks, state and timer of a ticket in one Query (the idempotency markers are skipped)."""
        items = self._query("pk = :pk AND sk >= :first", {":pk": f"TICKET#{ticket_id}", ":first": _LOG_FIRST})
        events: list[AnyTicketEvent] = []
        found: dict[str, Any] = {"version": 0}
        timer = None
        for item in items:
            sort = item["sk"]
            if sort.startswith(_LOG_FIRST):
                events.extend(
                    decode_event(detail_type, text)  # type: ignore[misc]
                    for detail_type, text in item["events"]
                )
            elif sort == "STATE":
                found = item
            elif sort == "TIMER":
                timer = item.get("gsi1sk")
        pages = json.loads(found.get("pages") or "{}")
        return TicketRecord(
            ticket_id,
            tuple(events),
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
            {key: int(count) for key, count in json.loads(found.get("withdrawn") or "{}").items()},
        )

    def _query(self, condition: str, values: dict[str, Any], **extra: Any) -> list[dict[str, Any]]:
        items: list[dict[str, Any]] = []
        kwargs: dict[str, Any] = {
            "TableName": self.table_name,
            "KeyConditionExpression": condition,
            "ExpressionAttributeValues": marshal(values),
            "ConsistentRead": True,
            **extra,
        }
        while True:
            try:
                page = self.client.query(**kwargs)
            except ClientError as error:
                raise translate(error) from error
            items.extend(unmarshal(item) for item in page.get("Items", []))
            if "LastEvaluatedKey" not in page:
                return items
            kwargs["ExclusiveStartKey"] = page["LastEvaluatedKey"]

    def load_plans(self, customer_id: str) -> PlanRecord:
        try:
            found = self.client.get_item(
                TableName=self.table_name, Key=marshal(plan_key(customer_id)), ConsistentRead=True
            )
        except ClientError as error:
            raise translate(error) from error
        if "Item" not in found:
            return PlanRecord(customer_id, (), 0)
        item = unmarshal(found["Item"])
        decoded = (decode_event(SupportPlanChanged.detail_type, raw) for raw in item.get("history", []))
        changes = tuple(c for c in decoded if isinstance(c, SupportPlanChanged))
        return PlanRecord(
            customer_id,
            changes,
            int(item.get("version", 0)),
            int(item.get("marked_version") or 0),
            int(item.get("marked_cursor_version") or 0),
            item.get("marked_cursor"),
        )

    def customer_tickets(
        self, customer_id: str, start_after: str | None = None
    ) -> tuple[list[str], str | None]:
        """One page of the customer's open tickets (their registration items), and where the next starts."""
        kwargs: dict[str, Any] = {
            "TableName": self.table_name,
            "KeyConditionExpression": "pk = :pk AND begins_with(sk, :prefix)",
            "ExpressionAttributeValues": marshal({":pk": f"CUSTOMER#{customer_id}", ":prefix": "TICKET#"}),
            "ProjectionExpression": "sk",
        }
        if start_after is not None:
            kwargs["ExclusiveStartKey"] = json.loads(start_after)
        try:
            page = self.client.query(**kwargs)
        except ClientError as error:
            raise translate(error) from error
        tickets = [unmarshal(item)["sk"].removeprefix("TICKET#") for item in page.get("Items", [])]
        last = page.get("LastEvaluatedKey")
        return tickets, (json.dumps(last) if last else None)

    # -- writes -----------------------------------------------------------------------------------------

    def mark_due(self, ticket_ids: list[str], now: int) -> None:
        """Make tickets' timers due now, so the sweeper re-folds them (after a plan change).

        Plain puts, no condition: a commit racing with this either folded with the new plan (one re-fold
        too many) or fails its plan check and re-folds; either way no ticket keeps the old plan's timers.
        """
        self._batch_write([{"PutRequest": {"Item": marshal(timer_item(t, now))}} for t in ticket_ids])

    def save_marking(self, customer_id: str, version: int, cursor: str | None) -> None:
        """Remember how far the marking of a plan version got (done when `cursor` is None)."""
        values: dict[str, Any] = {":v": version}
        if cursor is None:
            expression = "SET marked_version = :v REMOVE marked_cursor"
        else:
            expression = "SET marked_cursor_version = :v, marked_cursor = :c"
            values[":c"] = cursor
        try:
            self.client.update_item(
                TableName=self.table_name,
                Key=marshal(plan_key(customer_id)),
                UpdateExpression=expression,
                # Allowed prior state: the plan item exists (a marking follows a recorded change).
                ConditionExpression="attribute_exists(pk)",
                ExpressionAttributeValues=marshal(values),
            )
        except ClientError as error:
            raise translate(error) from error

    def commit(
        self,
        record: TicketRecord,
        new_event: tuple[str, EventDetail] | None,
        folded: Folded,
        now: int,
        plans: PlanRecord | None = None,
    ) -> tuple[Effect, ...]:
        """Write the new event, the state, the timer and the new effects in one transaction.

        `plans` is the plan record the fold used: the transaction checks that it has not changed since,
        so a plan change either reached this fold or finds the ticket registered and marks it due. The
        commit that first gives the ticket an owner registers it among its customer's open tickets; the one
        that closes it removes it. A rejection by an earlier fold that the events no longer support (an
        event that came before its Ticket Opened) is withdrawn; an accepted event's edge rejection, from
        an earlier delivery that was invalid, is removed.

        Returns the effects this commit put into the outbox. Raises VersionConflict when another writer
        got there first (the caller re-reads and re-folds), AlreadyRecorded when the new event did, and
        PermanentStoreError when DynamoDB refuses the write itself (no retry can help).
        """
        fresh = self._fresh_effects(record, folded)
        text = encode_event(new_event[1]) if new_event is not None else None
        log = _log_after(record, text)
        state, side_writes = self._state_and_rejections(record, log, folded, fresh, now, plans)
        items: list[tuple[str, dict[str, Any]]] = []
        if new_event is not None:
            detail_type, event = new_event
            items.append(("event", self._put_new(self._marker_item(record.ticket_id, event, now))))
            assert text is not None
            items.append(("log", self._log_append(record.ticket_id, log[0], detail_type, text)))
            key = {**_rejection_key(event.event_id), "sk": "EDGE"}  # an earlier, invalid delivery's refusal
            items.append(("edge", {"Delete": {"TableName": self.table_name, "Key": marshal(key)}}))
        items.append(("state", self._state_put(record, state)))
        items.append(
            (
                "timer",
                {
                    "Put": {
                        "TableName": self.table_name,
                        "Item": marshal(timer_item(record.ticket_id, folded.next_due)),
                    }
                },
            )
        )
        items.extend(
            ("outbox", self._put_new(item))
            for item in outbox_items(
                record.ticket_id, record.version + 1, fresh, now, expiration(now, self.retention_days)
            )
        )
        if plans is not None:
            items.append(("plan", self._plan_check(plans)))
        items.extend(self._registration(record, folded, state))
        room = MAX_TRANSACTION_ITEMS - len(items)
        if len(side_writes) > room:
            # Rejection records are idempotent puts and deletes: what does not fit in the transaction is
            # written first, and the transaction that records them in the state follows. A retry redoes both.
            self._batch_write(side_writes[room:])
            side_writes = side_writes[:room]
        items.extend(("rejection", self._as_transaction_item(write)) for write in side_writes)
        self._transact(record, new_event, items)
        return fresh

    def _fresh_effects(self, record: TicketRecord, folded: Folded) -> tuple[Effect, ...]:
        """The fold's effects not yet in the outbox: neither among the ids emitted nor of a settled clock."""
        closed, emitted = record.closed, record.emitted
        return tuple(
            e
            for e in folded.effects
            if e.effect_id not in emitted and not (e.clock_key and clock_digest(e.clock_key) in closed)
        )

    def _state_and_rejections(
        self,
        record: TicketRecord,
        log: tuple[int, int, int],
        folded: Folded,
        fresh: tuple[Effect, ...],
        now: int,
        plans: PlanRecord | None,
    ) -> tuple[dict[str, Any], list[dict[str, Any]]]:
        settled = folded.settled
        rejected = {f"rejected:{r.event_id}" for r in folded.rejected}
        fresh_rejections = [r for r in folded.rejected if f"rejected:{r.event_id}" not in record.emitted]
        withdrawn = sorted(e for e in record.emitted if e.startswith("rejected:") and e not in rejected)
        settled_ids = {e.effect_id for e in folded.effects if e.clock_key and e.clock_key in settled}
        emitted = (
            (set(record.emitted) - set(withdrawn)) | {e.effect_id for e in fresh} | rejected
        ) - settled_ids
        pages = {key: list(routes) for key, routes in record.pages.items()}
        for effect in fresh:
            if isinstance(effect, Alert) and effect.kind in ("trigger", "resolve"):
                routes = pages.setdefault(effect.clock_key, [])
                if effect.kind == "trigger" and effect.route not in routes:
                    routes.append(effect.route)
                elif effect.kind == "resolve" and effect.route in routes:
                    routes.remove(effect.route)
        pages = {key: routes for key, routes in pages.items() if routes and key not in settled}
        # A resolve for a clock the fold does not hold breached withdraws a page whose breach was undone: if
        # a later event brings the breach back, its pages go out again as new effects (fold(withdrawn=...)).
        breached = _breached_keys(folded)
        generations = dict(record.withdrawn)
        for key in {
            e.clock_key
            for e in fresh
            if isinstance(e, Alert) and e.kind == "resolve" and e.clock_key not in breached
        }:
            generations[key] = generations.get(key, 0) + 1
        generations = {key: count for key, count in generations.items() if key not in settled}
        log_chunk, log_count, log_bytes = log
        ticket = folded.state
        state = {
            **ticket_key(record.ticket_id, "STATE"),
            "kind": "state",
            "version": record.version + 1,
            "owner": ticket.customer_id if ticket else None,
            "status": ticket.status if ticket else None,
            # The open clocks only: a view for an operator, bounded however many cycles the ticket had.
            "state": json.dumps(_open_view(ticket)) if ticket else None,
            "emitted": sorted(emitted) or None,
            "closed": sorted(record.closed | {clock_digest(key) for key in settled}) or None,
            "pages": json.dumps(pages, sort_keys=True) if pages else None,
            "withdrawn": json.dumps(generations, sort_keys=True) if generations else None,
            "plan_version": plans.version if plans is not None else None,
            "log_chunk": log_chunk,
            "log_count": log_count,
            "log_bytes": log_bytes,
            "registered": _registered(ticket) or None,
            "folded_at": now,
        }
        side_writes = [
            {"PutRequest": {"Item": marshal(self._rejection_item(r, None, now, "FOLD"))}}
            for r in fresh_rejections
        ]
        side_writes.extend(
            {"DeleteRequest": {"Key": marshal({**_rejection_key(w.removeprefix("rejected:")), "sk": "FOLD"})}}
            for w in withdrawn
        )
        return state, side_writes

    def _transact(
        self,
        record: TicketRecord,
        new_event: tuple[str, EventDetail] | None,
        items: list[tuple[str, dict[str, Any]]],
    ) -> None:
        writes = [write for _, write in items]
        # One token per commit attempt: botocore's own retries of this call resend it, so a transaction whose
        # answer was lost is applied once (DynamoDB keeps a token ten minutes); our retry after a cancellation
        # is a new attempt with a new token, never the replay of a cancelled one.
        attempt = next(self._attempts)
        text = json.dumps(writes, sort_keys=True) + f"#{attempt}"
        token = hashlib.sha256(text.encode()).hexdigest()[:36]
        try:
            self.client.transact_write_items(TransactItems=writes, ClientRequestToken=token)
        except ClientError as error:
            reasons = cancellation_reasons(error)
            roles = [role for role, _ in items]
            for role, reason in zip(roles, reasons, strict=False):
                if reason == "ConditionalCheckFailed" and role == "event" and new_event is not None:
                    raise AlreadyRecorded(new_event[1].event_id) from error
            for role, reason in zip(roles, reasons, strict=False):
                if reason == "ConditionalCheckFailed":
                    raise VersionConflict(
                        f"ticket {record.ticket_id}: {role} changed since it was read"
                    ) from error
            raise translate(error, reasons) from error

    def _batch_write(self, requests: list[dict[str, Any]]) -> None:
        for start in range(0, len(requests), 25):
            pending: dict[str, Any] = {self.table_name: requests[start : start + 25]}
            for _ in range(8):
                try:
                    answer = self.client.batch_write_item(RequestItems=pending)
                except ClientError as error:
                    raise translate(error) from error
                pending = answer.get("UnprocessedItems") or {}
                if not pending:
                    break
            else:
                raise translate(ClientError({"Error": {"Code": "ThrottlingException"}}, "BatchWriteItem"))

    def append_plan(self, record: PlanRecord, change: SupportPlanChanged, now: int) -> None:
        """Add a change to the customer's plan history, on condition that the history is the one read."""
        earlier = record.changes
        if "contact_email" in change.model_fields_set and change.contact_email is None:
            # The customer's right to be forgotten: a cleared address is erased from the whole history, not
            # only from this change on (a late notice for an earlier period then goes without an address).
            earlier = tuple(
                c.model_copy(update={"contact_email": None}) if c.contact_email is not None else c
                for c in earlier
            )
        kept = sorted((*earlier, change), key=EventDetail.order_key)[-PLAN_HISTORY_MAX:]
        history = [encode_event(c) for c in kept]
        # Allowed prior state: the plan history we read (none yet: no version attribute).
        condition = "attribute_not_exists(#version)" if record.version == 0 else "#version = :version"
        values: dict[str, Any] = {
            ":next": record.version + 1,
            ":history": history,
            ":kind": "plan",
            ":now": now,
        }
        if record.version:
            values[":version"] = record.version
        try:
            self.client.update_item(
                TableName=self.table_name,
                Key=marshal(plan_key(record.customer_id)),
                UpdateExpression="SET #version = :next, #history = :history, #kind = :kind, #updated = :now",
                ConditionExpression=condition,
                ExpressionAttributeNames={
                    "#version": "version",
                    "#history": "history",
                    "#kind": "kind",
                    "#updated": "updated_at",
                },
                ExpressionAttributeValues=marshal(values),
            )
        except ClientError as error:
            raise translate(error) from error

    def record_rejection(self, event_id: str, reason: str, raw: str | None, now: int) -> bool:
        """Keep an event refused at the edge for inspection, redacted; False when it was refused before.

        Under `REJECTED#<event_id>` / `EDGE`, apart from the fold's verdicts (`FOLD`), so the two never
        collide; an accepted delivery of the same event id removes it.
        """
        item = self._rejection_item(Rejection(event_id, reason), raw, now, "EDGE")
        try:
            self.client.put_item(
                TableName=self.table_name,
                Item=marshal(item),
                ConditionExpression="attribute_not_exists(pk)",  # the first refusal of this event is kept
            )
        except ClientError as error:
            if isinstance(translate(error), AlreadyRecorded):
                return False
            raise translate(error) from error
        return True

    # -- item shapes ------------------------------------------------------------------------------------

    def _plan_check(self, plans: PlanRecord) -> dict[str, Any]:
        # Allowed prior state: the plan history the fold used (none: no version attribute yet).
        if plans.version == 0:
            check: dict[str, Any] = {"ConditionExpression": "attribute_not_exists(#version)"}
        else:
            check = {
                "ConditionExpression": "#version = :version",
                "ExpressionAttributeValues": marshal({":version": plans.version}),
            }
        return {
            "ConditionCheck": {
                "TableName": self.table_name,
                "Key": marshal(plan_key(plans.customer_id)),
                "ExpressionAttributeNames": {"#version": "version"},
                **check,
            }
        }

    def _registration(
        self, record: TicketRecord, folded: Folded, state: dict[str, Any]
    ) -> list[tuple[str, dict[str, Any]]]:
        """The ticket's entry among its customer's open tickets: put when first owned, deleted on close."""
        ticket = folded.state
        if ticket is None:
            return []
        key = marshal({"pk": f"CUSTOMER#{ticket.customer_id}", "sk": f"TICKET#{record.ticket_id}"})
        if state["registered"] and not record.registered:
            item = {**unmarshal(key), "kind": "registration", "registered_at": state["folded_at"]}
            return [("registration", {"Put": {"TableName": self.table_name, "Item": marshal(item)}})]
        if record.registered and not state["registered"]:
            return [("registration", {"Delete": {"TableName": self.table_name, "Key": key}})]
        return []

    def _put_new(self, item: dict[str, Any]) -> dict[str, Any]:
        # Allowed prior state: none. A marker, an outbox item or a rejection is written once, never replaced.
        return {
            "Put": {
                "TableName": self.table_name,
                "Item": marshal(item),
                "ConditionExpression": "attribute_not_exists(pk)",
            }
        }

    def _log_append(self, ticket_id: str, chunk: int, detail_type: str, text: str) -> dict[str, Any]:
        """The new event (encoded) appended to its log chunk."""
        return {
            "Update": {
                "TableName": self.table_name,
                "Key": marshal(ticket_key(ticket_id, f"{_LOG_FIRST}{chunk:06d}")),
                # No condition of its own: the state's version condition in the same transaction orders it.
                "UpdateExpression": "SET #kind = :kind, #events = list_append(if_not_exists(#events, :none), :new)",
                "ExpressionAttributeNames": {"#kind": "kind", "#events": "events"},
                "ExpressionAttributeValues": marshal(
                    {":kind": "log", ":none": [], ":new": [[detail_type, text]]}
                ),
            }
        }

    def _as_transaction_item(self, request: dict[str, Any]) -> dict[str, Any]:
        """A BatchWriteItem request as the same write inside a transaction."""
        if "PutRequest" in request:
            return {"Put": {"TableName": self.table_name, "Item": request["PutRequest"]["Item"]}}
        return {"Delete": {"TableName": self.table_name, "Key": request["DeleteRequest"]["Key"]}}

    def _state_put(self, record: TicketRecord, state: dict[str, Any]) -> dict[str, Any]:
        # Allowed prior states: no item yet for the first write, else exactly the version we read.
        put: dict[str, Any] = {"TableName": self.table_name, "Item": marshal(state)}
        if record.version == 0:
            put["ConditionExpression"] = "attribute_not_exists(pk)"
        else:
            put["ConditionExpression"] = "version = :version"
            put["ExpressionAttributeValues"] = marshal({":version": record.version})
        return {"Put": put}

    @staticmethod
    def _marker_item(ticket_id: str, event: EventDetail, now: int) -> dict[str, Any]:
        # The event's idempotency key: its put fails when the event id was recorded before.
        return {**ticket_key(ticket_id, f"EVENT#{event.event_id}"), "kind": "event", "received_at": now}

    def _rejection_item(self, rejection: Rejection, raw: str | None, now: int, source: str) -> dict[str, Any]:
        """The reason, the input redacted (no e-mail address, no free text) and cut, and when it expires."""
        return {
            **_rejection_key(rejection.event_id),
            "sk": source,
            "kind": "rejected",
            "event_id": rejection.event_id,
            "reason": redact_text(rejection.reason),
            "raw": redact_payload(raw)[:MAX_RAW_CHARS] if raw else None,
            "rejected_at": now,
            "expiration": expiration(now, self.retention_days),
        }


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


def _registered(ticket: Any) -> bool:
    """A ticket is among its customer's open tickets from its first fold until it is closed."""
    return ticket is not None and ticket.status != "closed"


def _open_view(ticket: Any) -> dict[str, Any]:
    view = ticket_view(ticket)
    view["clocks"] = [c for c in view["clocks"] if c["stopped_at"] is None]
    return view
