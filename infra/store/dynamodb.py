"""The DynamoDB single-table store: the event log, folded state, due timers, the outbox and rejections.

The event log is the truth; the state item is a projection guarded by a version, so concurrent writers
(ingest and sweeper, or two deliveries of one event) serialise on it: each transaction says which prior
state it allows, and a loser re-reads and re-folds. Item shapes and their bounds are documented in
template.yaml. Every item stays bounded whatever the history: the log is kept in chunks, the state keeps
the effect ids of open clocks only (a settled clock is remembered by a short digest of its key), a
customer's tickets are items of their own, and the plan history keeps its latest changes. What a commit
writes is decided by `infra.store.commit`, the same for the in-memory store of the local harness; this
module writes it as one transaction, under the conditions of `infra.store.port.TicketStore.commit`.

Items that hold personal data expire (README, "Personal data"): rejections and outbox items carry
`expiration` (epoch seconds, `retention_days` after they are written), which the table's TTL acts on. A
rejection keeps its input redacted (infra.store.codec.redact_payload): no e-mail address, no free text.
"""

from __future__ import annotations

import hashlib
import itertools
import json
from typing import Any

from botocore.exceptions import ClientError

from infra.errors import AlreadyRecorded, VersionConflict, cancellation_reasons, translate
from infra.store.codec import decode_event, encode_event
from infra.store.commit import (
    CommitWrites,
    NewEvent,
    claim_item,
    collision,
    marker_item,
    plan_commit,
    plan_history,
)
from infra.store.incidents import TableIncidents
from infra.store.keys import event_id_key, marshal, plan_key, ticket_key, unmarshal
from infra.store.keys import rejection_key as _rejection_key
from infra.store.outbox import DEFAULT_RETENTION_DAYS
from infra.store.queue import TableQueue, history_expiration
from infra.store.reads import get_item, query_all
from infra.store.records import PlanRecord, TicketRecord, ticket_record
from infra.store.rejections import next_edge_record
from infra.store.report_index import TableReportIndex
from infra.store.timers import DueTimer, TimerIndex, timer_item
from sla.effects import Effect
from sla.events import AnyTicketEvent, EventDetail, SupportPlanChanged
from sla.folded import Folded

MAX_TRANSACTION_ITEMS = 100
EDGE_WRITE_ATTEMPTS = 3
"""Reads and writes of one edge rejection before a concurrent refusal of the same id is left to a retry."""

_LOG_FIRST = "LOG#"


class Store:
    """One table, passed in by the caller (a moto table in tests and replay, the real one in Lambda)."""

    def __init__(self, client: Any, table_name: str, retention_days: int = DEFAULT_RETENTION_DAYS) -> None:
        self.client = client
        self.table_name = table_name
        self.retention_days = retention_days  # of rejections and outbox items: their `expiration`
        self.timers = TimerIndex(client, table_name)
        self.queue = TableQueue(client, table_name)  # the agents' queue and the answer history (read API)
        self.incidents = TableIncidents(client, table_name)  # the incident partitions
        self.report = TableReportIndex(client, table_name)  # the decided-cycle index (monthly report)
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
        state = None
        timer = None
        for item in items:
            sort = item["sk"]
            if sort.startswith(_LOG_FIRST):
                events.extend(
                    decode_event(detail_type, text)  # type: ignore[misc]
                    for detail_type, text in item["events"]
                )
            elif sort == "STATE":
                state = item
            elif sort == "TIMER":
                timer = item.get("gsi1sk")
        return ticket_record(ticket_id, tuple(events), state, timer)

    def _query(self, condition: str, values: dict[str, Any], **extra: Any) -> list[dict[str, Any]]:
        return query_all(
            self.client,
            TableName=self.table_name,
            KeyConditionExpression=condition,
            ExpressionAttributeValues=marshal(values),
            ConsistentRead=True,
            **extra,
        )

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
        got there first (the caller re-reads and re-folds), AlreadyRecorded when the new event did,
        ConflictingEvent when its event id names another event (different content, or on another ticket), and
        PermanentStoreError when DynamoDB refuses the write itself (no retry can help).
        """
        writes = plan_commit(record, new_event, folded, now, plans, self.retention_days)
        items: list[tuple[str, dict[str, Any]]] = []
        if writes.event is not None:
            event = writes.event.event
            items.append(("event", self._put_new(marker_item(record.ticket_id, writes.event, now))))
            # The table-wide claim of the event id. Allowed prior state: none, whatever ticket: an event id
            # names one event in the whole table; a taken one is read back to tell a repeat from a conflict.
            items.append(("eventid", self._put_new(claim_item(record.ticket_id, writes.event, now))))
            items.append(("log", self._log_append(record.ticket_id, writes)))
            key = {**_rejection_key(event.event_id), "sk": "EDGE"}  # an earlier, invalid delivery's refusal
            items.append(("edge", {"Delete": {"TableName": self.table_name, "Key": marshal(key)}}))
        items.append(("state", self._state_put(record, writes.state)))
        items.append(("timer", {"Put": {"TableName": self.table_name, "Item": marshal(writes.timer)}}))
        if writes.queue is not None:  # a plain Put: the STATE's version condition orders it
            items.append(("queue", {"Put": {"TableName": self.table_name, "Item": marshal(writes.queue)}}))
        items.extend(("history", self._history_add(key, counts)) for key, counts in writes.history)
        items.extend(("outbox", self._put_new(item)) for item in writes.outbox)
        if plans is not None:
            items.append(("plan", self._plan_check(plans)))
        if writes.registration is not None:
            registration = marshal(writes.registration)
            if writes.registration_action == "put":
                items.append(("registration", {"Put": {"TableName": self.table_name, "Item": registration}}))
            else:
                items.append(
                    ("registration", {"Delete": {"TableName": self.table_name, "Key": registration}})
                )
        # The report index's changed months (infra.store.report_index), then the rejection records: plain,
        # idempotent Puts and Deletes, ordered by the STATE's version condition when in the transaction.
        side_writes: list[dict[str, Any]] = [
            *({"Put": {"TableName": self.table_name, "Item": marshal(item)}} for item in writes.report.puts),
            *(
                {"Delete": {"TableName": self.table_name, "Key": marshal(key)}}
                for key in writes.report.deletes
            ),
            *({"Put": {"TableName": self.table_name, "Item": marshal(item)}} for item in writes.rejections),
        ]
        side_writes.extend(
            {
                "Delete": {
                    "TableName": self.table_name,
                    "Key": marshal({**_rejection_key(event_id), "sk": "FOLD"}),
                }
            }
            for event_id in writes.withdrawn
        )
        room = MAX_TRANSACTION_ITEMS - len(items)
        if len(side_writes) > room:
            # Rejection records are idempotent puts and deletes: what does not fit in the transaction is
            # written first, and the transaction that records them in the state follows. A retry redoes both.
            self._batch_write([_as_batch_request(write) for write in side_writes[room:]])
            side_writes = side_writes[:room]
        items.extend(("rejection", write) for write in side_writes)
        self._transact(record, writes.event, items)
        return writes.fresh

    def _transact(
        self,
        record: TicketRecord,
        new_event: NewEvent | None,
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
                if (
                    reason == "ConditionalCheckFailed"
                    and role in ("event", "eventid")
                    and new_event is not None
                ):
                    held = self._event_holder(record.ticket_id, new_event.event.event_id)
                    raise collision(
                        record.ticket_id, new_event.event.event_id, new_event.digest, held
                    ) from error
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
        history = [encode_event(c) for c in plan_history(record, change)]
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
        """Keep an event refused at the edge for inspection, redacted; False when this input was refused before.

        Under `REJECTED#<event_id>` / `EDGE`, apart from the fold's verdicts (`FOLD`), so the two never
        collide; a different input under the same id is a further version of the same item
        (infra.store.rejections); an accepted delivery of the same event id removes it.
        """
        key = {**_rejection_key(event_id), "sk": "EDGE"}
        prior: dict[str, Any] | None = None  # the first refusal of an id is the usual case: write, then read
        for attempt in range(EDGE_WRITE_ATTEMPTS):
            if attempt:
                prior = self._get(key)
            item = next_edge_record(prior, event_id, reason, raw, now, self.retention_days)
            if item is None:
                return False
            # Allowed prior state: no item for the first refusal of this id; else exactly the revision just
            # read (an item written before revisions existed has none), so two refusals of one id at once
            # never overwrite each other's version: the loser reads again and adds its own.
            if prior is None:
                check: dict[str, Any] = {"ConditionExpression": "attribute_not_exists(pk)"}
            elif "revision" not in prior:
                check = {
                    "ConditionExpression": "attribute_not_exists(#revision)",
                    "ExpressionAttributeNames": {"#revision": "revision"},
                }
            else:
                check = {
                    "ConditionExpression": "#revision = :revision",
                    "ExpressionAttributeNames": {"#revision": "revision"},
                    "ExpressionAttributeValues": marshal({":revision": prior["revision"]}),
                }
            try:
                self.client.put_item(TableName=self.table_name, Item=marshal(item), **check)
            except ClientError as error:
                if not isinstance(translate(error), AlreadyRecorded):
                    raise translate(error) from error
                continue
            return True
        raise VersionConflict(f"rejection of {event_id}: refused concurrently {EDGE_WRITE_ATTEMPTS} times")

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

    def _put_new(self, item: dict[str, Any]) -> dict[str, Any]:
        # Allowed prior state: none. A marker, an outbox item or a rejection is written once, never replaced.
        return {
            "Put": {
                "TableName": self.table_name,
                "Item": marshal(item),
                "ConditionExpression": "attribute_not_exists(pk)",
            }
        }

    def _log_append(self, ticket_id: str, writes: CommitWrites) -> dict[str, Any]:
        """The new event (encoded) appended to its log chunk."""
        assert writes.event is not None
        return {
            "Update": {
                "TableName": self.table_name,
                "Key": marshal(ticket_key(ticket_id, f"{_LOG_FIRST}{writes.log_chunk:06d}")),
                # No condition of its own: the state's version condition in the same transaction orders it.
                "UpdateExpression": "SET #kind = :kind, #events = list_append(if_not_exists(#events, :none), :new)",
                "ExpressionAttributeNames": {"#kind": "kind", "#events": "events"},
                "ExpressionAttributeValues": marshal(
                    {":kind": "log", ":none": [], ":new": [[writes.event.detail_type, writes.event.text]]}
                ),
            }
        }

    def _state_put(self, record: TicketRecord, state: dict[str, Any]) -> dict[str, Any]:
        # Allowed prior states: no item yet for the first write, else exactly the version we read.
        put: dict[str, Any] = {"TableName": self.table_name, "Item": marshal(state)}
        if record.version == 0:
            put["ConditionExpression"] = "attribute_not_exists(pk)"
        else:
            put["ConditionExpression"] = "version = :version"
            put["ExpressionAttributeValues"] = marshal({":version": record.version})
        return {"Put": put}

    def _history_add(self, key: dict[str, str], counts: dict[str, int]) -> dict[str, Any]:
        """An answer-history item's counters, added to (ADD creates them at zero), and its expiration."""
        names = {f"#a{n}": attribute for n, attribute in enumerate(sorted(counts))}
        values: dict[str, Any] = {f":a{n}": counts[attribute] for n, attribute in enumerate(sorted(counts))}
        values[":kind"], values[":expires"] = "history", history_expiration(key["sk"].removeprefix("DAY#"))
        return {
            "Update": {
                "TableName": self.table_name,
                "Key": marshal(key),
                "UpdateExpression": "ADD "
                + ", ".join(f"{name} {name.replace('#', ':')}" for name in names)
                + " SET #kind = :kind, #expiration = :expires",
                "ExpressionAttributeNames": {**names, "#kind": "kind", "#expiration": "expiration"},
                "ExpressionAttributeValues": marshal(values),
            }
        }

    def _event_holder(self, ticket_id: str, event_id: str) -> tuple[str, str | None] | None:
        """Who holds a taken event id: (ticket, digest of its first version) from its table-wide claim, else
        (a marker written before claims were kept) from the ticket's own marker; None when neither is found."""
        claim = self._get(event_id_key(event_id))
        if claim is not None:
            return str(claim["ticket_id"]), claim.get("digest")
        marker = self._get(ticket_key(ticket_id, f"EVENT#{event_id}"))
        return (ticket_id, marker.get("digest")) if marker is not None else None

    def _get(self, key: dict[str, str]) -> dict[str, Any] | None:
        return get_item(self.client, self.table_name, key)


def _as_batch_request(write: dict[str, Any]) -> dict[str, Any]:
    """A transaction's Put or Delete as the same write in a BatchWriteItem request."""
    if "Put" in write:
        return {"PutRequest": {"Item": write["Put"]["Item"]}}
    return {"DeleteRequest": {"Key": write["Delete"]["Key"]}}
