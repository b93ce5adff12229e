"""The DynamoDB single-table store: the event log, folded state, due timers, the outbox and rejections.

The event log is the truth; the state item is a projection guarded by a version, so concurrent writers
(ingest and sweeper, or two deliveries of one event) serialise on it: each transaction says which prior
state it allows, and a loser re-reads and re-folds. Item shapes are documented in template.yaml; the plan
item also holds `tickets`, the customer's tickets, so that a plan change that arrives late re-folds them.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from botocore.exceptions import ClientError

from infra.errors import AlreadyRecorded, StoreError, cancellation_reasons, translate
from infra.store.keys import marshal as _marshal
from infra.store.keys import plan_key as _plan_key
from infra.store.keys import rejection_key as _rejection_key
from infra.store.keys import ticket_key
from infra.store.keys import unmarshal as _unmarshal
from infra.store.outbox import outbox_items
from infra.store.timers import DueTimer, TimerIndex, timer_item
from infra.views import ticket_view
from sla.effects import Effect
from sla.events import AnyTicketEvent, EventDetail, SupportPlanChanged, parse_detail
from sla.fold import Folded, Rejection

MAX_TRANSACTION_ITEMS = 100
MAX_RAW_CHARS = 32_000


@dataclass(frozen=True)
class TicketRecord:
    """A ticket as read in one Query: its accepted events and the version of its state item."""

    ticket_id: str
    events: tuple[AnyTicketEvent, ...]
    version: int
    owner: str | None
    emitted: frozenset[str]
    timer: str | None
    plan_version: int = 0  # the version of the customer's plan record the state was folded with

    def has_event(self, event_id: str) -> bool:
        return any(event.event_id == event_id for event in self.events)


@dataclass(frozen=True)
class PlanRecord:
    customer_id: str
    changes: tuple[SupportPlanChanged, ...]
    version: int
    tickets: frozenset[str] = frozenset()  # the customer's tickets (registered by their first state)


class Store:
    """One table, passed in by the caller (a moto table in tests and replay, the real one in Lambda)."""

    def __init__(self, client: Any, table_name: str) -> None:
        self.client = client
        self.table_name = table_name
        self.timers = TimerIndex(client, table_name)

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
        items = self._query_partition(f"TICKET#{ticket_id}")
        events: list[AnyTicketEvent] = []
        version, owner, emitted, timer, plan_version = 0, None, frozenset[str](), None, 0
        for item in items:
            sort = item["sk"]
            if sort.startswith("EVENT#"):
                event = parse_detail(item["detail_type"], json.loads(item["detail"]))
                events.append(event)  # type: ignore[arg-type]
            elif sort == "STATE":
                version = int(item["version"])
                owner = item.get("owner")
                emitted = frozenset(item.get("emitted") or ())
                plan_version = int(item.get("plan_version") or 0)
            elif sort == "TIMER":
                timer = item.get("gsi1sk")
        return TicketRecord(ticket_id, tuple(events), version, owner, emitted, timer, plan_version)

    def _query_partition(self, partition: str) -> list[dict[str, Any]]:
        items: list[dict[str, Any]] = []
        kwargs: dict[str, Any] = {
            "TableName": self.table_name,
            "KeyConditionExpression": "pk = :pk",
            "ExpressionAttributeValues": {":pk": {"S": partition}},
            "ConsistentRead": True,
        }
        while True:
            try:
                page = self.client.query(**kwargs)
            except ClientError as error:
                raise translate(error) from error
            items.extend(_unmarshal(item) for item in page.get("Items", []))
            if "LastEvaluatedKey" not in page:
                return items
            kwargs["ExclusiveStartKey"] = page["LastEvaluatedKey"]

    def load_plans(self, customer_id: str) -> PlanRecord:
        try:
            found = self.client.get_item(
                TableName=self.table_name,
                Key=_marshal({"pk": f"CUSTOMER#{customer_id}", "sk": "PLAN"}),
                ConsistentRead=True,
            )
        except ClientError as error:
            raise translate(error) from error
        if "Item" not in found:
            return PlanRecord(customer_id, (), 0)
        return self._plan_record(customer_id, _unmarshal(found["Item"]))

    @staticmethod
    def _plan_record(customer_id: str, item: dict[str, Any]) -> PlanRecord:
        # A customer without any plan change has an item only once a ticket of theirs registered in it.
        changes = tuple(SupportPlanChanged.model_validate_json(raw) for raw in item.get("history", []))
        tickets = frozenset(item.get("tickets") or ())
        return PlanRecord(customer_id, changes, int(item.get("version", 0)), tickets)

    # -- writes -----------------------------------------------------------------------------------------

    def commit(
        self,
        record: TicketRecord,
        new_event: tuple[str, EventDetail] | None,
        folded: Folded,
        now: int,
        plans: PlanRecord | None = None,
    ) -> tuple[Effect, ...]:
        """Write the new event, the state, the timer and the new effects in one transaction.

        `plans` is the plan record the fold used: the commit that first gives the ticket an owner registers
        the ticket in it, on condition that the plan has not changed since (else: VersionConflict), so a
        plan change either reaches this fold or finds the ticket to re-fold. A rejection by an earlier fold
        that the events no longer support (an event that came before its ticket's Ticket Opened) is
        withdrawn.

        Returns the effects this commit put into the outbox. Raises VersionConflict when another writer
        got there first (the caller re-reads and re-folds) and AlreadyRecorded when the new event did.
        """
        fresh_effects = tuple(e for e in folded.effects if e.effect_id not in record.emitted)
        rejected = {f"rejected:{r.event_id}" for r in folded.rejected}
        fresh_rejections = tuple(r for r in folded.rejected if f"rejected:{r.event_id}" not in record.emitted)
        withdrawn = sorted(e for e in record.emitted if e.startswith("rejected:") and e not in rejected)
        emitted = (set(record.emitted) - set(withdrawn)) | {e.effect_id for e in fresh_effects} | rejected
        state = folded.state
        register = (
            plans is not None
            and record.owner is None
            and state is not None
            and state.customer_id == plans.customer_id
        )
        items: list[dict[str, Any]] = []
        if new_event is not None:
            detail_type, event = new_event
            items.append(self._put_new(self._event_item(record.ticket_id, detail_type, event, now)))
        items.append(self._state_put(record, folded, emitted, now, plans))
        items.append(
            {
                "Put": {
                    "TableName": self.table_name,
                    "Item": _marshal(timer_item(record.ticket_id, folded.next_due)),
                }
            }
        )
        items.extend(self._put_new(item) for item in outbox_items(record.ticket_id, fresh_effects, now))
        items.extend(self._put_new(self._rejection_item(r, None, now)) for r in fresh_rejections)
        for withdrawal in withdrawn:
            key = _rejection_key(withdrawal.removeprefix("rejected:"))
            items.append({"Delete": {"TableName": self.table_name, "Key": _marshal(key)}})
        if register:
            assert plans is not None
            items.append(self._registration(plans, record.ticket_id))
        if len(items) > MAX_TRANSACTION_ITEMS:
            raise StoreError(f"ticket {record.ticket_id}: {len(items)} items exceed one transaction")
        try:
            self.client.transact_write_items(TransactItems=items)
        except ClientError as error:
            reasons = cancellation_reasons(error)
            if new_event is not None and reasons[:1] == ["ConditionalCheckFailed"]:
                raise AlreadyRecorded(new_event[1].event_id) from error
            raise translate(error, reasons) from error
        return fresh_effects

    def append_plan(self, record: PlanRecord, change: SupportPlanChanged, now: int) -> frozenset[str]:
        """Add a change to the customer's plan history; returns the customer's tickets as of this write.

        An update, not a put: tickets register in the item without changing its version, and a put would
        drop a registration made since `record` was read.
        """
        history = [c.model_dump_json() for c in record.changes] + [change.model_dump_json()]
        # Allowed prior state: the plan history we read (none yet: no version attribute).
        condition = "attribute_not_exists(#version)" if record.version == 0 else "#version = :version"
        values = {":next": record.version + 1, ":history": history, ":kind": "plan", ":now": now}
        if record.version:
            values[":version"] = record.version
        try:
            updated = self.client.update_item(
                TableName=self.table_name,
                Key=_marshal(_plan_key(record.customer_id)),
                UpdateExpression="SET #version = :next, #history = :history, #kind = :kind, #updated = :now",
                ConditionExpression=condition,
                ExpressionAttributeNames={
                    "#version": "version",
                    "#history": "history",
                    "#kind": "kind",
                    "#updated": "updated_at",
                },
                ExpressionAttributeValues=_marshal(values),
                ReturnValues="ALL_NEW",
            )
        except ClientError as error:
            raise translate(error) from error
        return self._plan_record(record.customer_id, _unmarshal(updated["Attributes"])).tickets

    def record_rejection(self, event_id: str, reason: str, raw: str | None, now: int) -> bool:
        """Keep a rejected event for inspection; False when the same event was rejected before."""
        item = self._rejection_item(Rejection(event_id, reason), raw, now)
        try:
            self.client.put_item(
                TableName=self.table_name,
                Item=_marshal(item),
                ConditionExpression="attribute_not_exists(pk)",  # first rejection of this event only
            )
        except ClientError as error:
            if isinstance(translate(error), AlreadyRecorded):
                return False
            raise translate(error) from error
        return True

    # -- item shapes ------------------------------------------------------------------------------------

    def _registration(self, plans: PlanRecord, ticket_id: str) -> dict[str, Any]:
        # Allowed prior state: the plan history the fold used. Registering does not change the version, so
        # tickets of one customer opened at once do not conflict with each other, only with a plan change.
        condition = "attribute_not_exists(#version)" if plans.version == 0 else "#version = :version"
        values: dict[str, Any] = {":ticket": {ticket_id}}
        if plans.version:
            values[":version"] = plans.version
        return {
            "Update": {
                "TableName": self.table_name,
                "Key": _marshal(_plan_key(plans.customer_id)),
                "UpdateExpression": "ADD #tickets :ticket",
                "ConditionExpression": condition,
                "ExpressionAttributeNames": {"#tickets": "tickets", "#version": "version"},
                "ExpressionAttributeValues": _marshal(values),
            }
        }

    @staticmethod
    def _version_condition(version: int) -> tuple[str, dict[str, Any]]:
        # Allowed prior states: no item yet for the first write, else exactly the version we read.
        if version == 0:
            return "attribute_not_exists(pk)", {}
        return "version = :version", {":version": version}

    def _put_new(self, item: dict[str, Any]) -> dict[str, Any]:
        # Allowed prior state: none. An event, effect or rejection is written once, never overwritten.
        return {
            "Put": {
                "TableName": self.table_name,
                "Item": _marshal(item),
                "ConditionExpression": "attribute_not_exists(pk)",
            }
        }

    def _state_put(
        self, record: TicketRecord, folded: Folded, emitted: set[str], now: int, plans: PlanRecord | None
    ) -> dict[str, Any]:
        state = folded.state
        item = {
            **ticket_key(record.ticket_id, "STATE"),
            "kind": "state",
            "version": record.version + 1,
            "owner": state.customer_id if state else None,
            "state": json.dumps(ticket_view(state)) if state else None,
            "emitted": sorted(emitted) or None,
            "plan_version": plans.version if plans is not None else None,
            "folded_at": now,
        }
        condition, values = self._version_condition(record.version)
        put: dict[str, Any] = {
            "TableName": self.table_name,
            "Item": _marshal(item),
            "ConditionExpression": condition,
        }
        if values:
            put["ExpressionAttributeValues"] = _marshal(values)
        return {"Put": put}

    @staticmethod
    def _event_item(ticket_id: str, detail_type: str, event: EventDetail, now: int) -> dict[str, Any]:
        return {
            **ticket_key(ticket_id, f"EVENT#{event.event_id}"),
            "kind": "event",
            "detail_type": detail_type,
            "detail": event.model_dump_json(),
            "occurred_at": event.occurred_at.isoformat(),
            "received_at": now,
        }

    @staticmethod
    def _rejection_item(rejection: Rejection, raw: str | None, now: int) -> dict[str, Any]:
        return {
            **_rejection_key(rejection.event_id),
            "kind": "rejected",
            "event_id": rejection.event_id,
            "reason": rejection.reason,
            "raw": raw[:MAX_RAW_CHARS] if raw else None,
            "rejected_at": now,
        }
