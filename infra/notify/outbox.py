"""Reading the outbox (pk=OUTBOX#<ticket_id>, sk=<version>#<chunk>) back into the domain's effects.

Each item carries a list of effect JSON views (infra.views.effect_view: instants as ISO 8601 UTC); they are
validated here, strictly and one by one, because the notifier is a separate reader of that contract: an
effect it cannot read is parked in the DLQ with the reason instead of being half-delivered, and the
effects beside it still go out.

The stream record only says which item is new. What to deliver is read from the table: the ticket's items
not yet delivered, up to and including the record's own, in sort key order. So a record that reaches the
notifier before an earlier one of its ticket (items of one transaction come in any order; so do items of
one partition read by parallel batches) delivers the earlier effects first, and the earlier record, when
it comes, finds nothing left to do.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

from aws_lambda_powertools import Logger
from boto3.dynamodb.types import TypeSerializer
from botocore.exceptions import BotoCoreError, ClientError
from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, ValidationError

from infra.notify.errors import from_aws
from infra.store.keys import unmarshal
from infra.store.outbox import DEFAULT_RETENTION_DAYS, OUTBOX_PREFIX, Backlog, expiration
from sla.effects import Alert, AlertKind, Effect, Notification, NotificationKind
from sla.vocabulary import Locale, Metric

logger = Logger(child=True)
_serializer = TypeSerializer()

# A Query is charged for every item it reads up to its Limit, so the first page reads what a steady stream
# needs (the record's own item and the delivered one before it), and only a backlog reads on in larger pages.
FIRST_BACKLOG_PAGE = 2
BACKLOG_PAGE = 25


class InvalidOutboxItem(Exception):
    """The item or one of its effects is unreadable; `reason` names the field and the problem."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class _View(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True)

    effect_id: str = Field(min_length=1)
    at: AwareDatetime
    ticket_id: str = Field(min_length=1)


class _AlertView(_View):
    type: Literal["alert"]
    metric: Metric
    cycle: int
    kind: AlertKind
    route: str = Field(min_length=1)
    dedup_key: str = Field(min_length=1)
    step: int = Field(default=0, ge=0)
    fraction: float | None = None
    due_at: AwareDatetime | None = None
    support_level: str = ""
    paged_route: str = ""

    def effect(self) -> Alert:
        return Alert(
            effect_id=self.effect_id,
            at=int(self.at.timestamp()),
            ticket_id=self.ticket_id,
            metric=self.metric,
            cycle=self.cycle,
            kind=self.kind,
            route=self.route,
            dedup_key=self.dedup_key,
            step=self.step,
            fraction=self.fraction,
            due_at=int(self.due_at.timestamp()) if self.due_at else None,
            support_level=self.support_level,
            paged_route=self.paged_route,
        )


class _NotificationView(_View):
    type: Literal["notification"]
    customer_id: str = Field(min_length=1)
    kind: NotificationKind
    locale: Locale = "en"
    timezone: str = "UTC"
    contact_email: str | None = None
    data: dict[str, str | int | None] = Field(default_factory=dict)

    def effect(self, where: str) -> Notification:
        data = dict(self.data)
        due = data.get("due_at")
        if isinstance(due, str):
            data["due_at"] = _epoch(due, f"{where}.data.due_at")
        return Notification(
            effect_id=self.effect_id,
            at=int(self.at.timestamp()),
            ticket_id=self.ticket_id,
            customer_id=self.customer_id,
            kind=self.kind,
            locale=self.locale,
            timezone=self.timezone,
            contact_email=self.contact_email or None,
            data=data,
        )


class _Document(BaseModel):
    view: _AlertView | _NotificationView = Field(discriminator="type")


def _epoch(text: str, where: str) -> int:
    try:
        parsed = datetime.fromisoformat(text)
    except ValueError:
        raise InvalidOutboxItem(f"{where}: {text!r} is not an ISO 8601 instant") from None
    if parsed.tzinfo is None:
        raise InvalidOutboxItem(f"{where}: {text!r} has no offset")
    return int(parsed.timestamp())


@dataclass(frozen=True)
class OutboxEffect:
    """An effect to deliver, with its stored JSON (what SNS and the DLQ carry, unchanged)."""

    effect_id: str
    ticket_id: str
    emitted_at: int | None
    document: dict[str, Any]
    effect: Effect


@dataclass(frozen=True)
class UnreadableEffect:
    """An entry of an item that is no effect: parked in the DLQ under `effect_id`, with `reason`."""

    effect_id: str
    ticket_id: str
    document: dict[str, Any]
    reason: str


@dataclass(frozen=True)
class OutboxItem:
    """One outbox item: its key, and its entries in the order they were decided."""

    pk: str
    sk: str
    ticket_id: str
    emitted_at: int | None
    entries: tuple[OutboxEffect | UnreadableEffect, ...]


def is_outbox_key(pk: object) -> bool:
    return isinstance(pk, str) and pk.startswith(OUTBOX_PREFIX) and len(pk) > len(OUTBOX_PREFIX)


def read_item(image: Mapping[str, Any]) -> OutboxItem:
    """The outbox item of a table item (attribute values already deserialized).

    Raises InvalidOutboxItem when the item as a whole cannot be read; an unreadable effect within a
    readable item becomes an UnreadableEffect entry instead.
    """
    pk, sk = image.get("pk"), image.get("sk")
    if not is_outbox_key(pk) or not isinstance(sk, str) or not sk:
        raise InvalidOutboxItem("pk/sk: not an outbox item")
    assert isinstance(pk, str)
    ticket_id = str(image.get("ticket_id") or pk.removeprefix(OUTBOX_PREFIX))
    raw = image.get("effects")
    if not isinstance(raw, str):
        raise InvalidOutboxItem("effects: missing or not a string")
    try:
        documents = json.loads(raw)
    except json.JSONDecodeError as error:
        raise InvalidOutboxItem(f"effects: not JSON ({error.msg})") from None
    if not isinstance(documents, list):
        raise InvalidOutboxItem("effects: not a JSON array")
    emitted = image.get("emitted_at")
    emitted_at = int(emitted) if emitted is not None else None
    entries = tuple(
        _entry(document, f"effects[{index}]", ticket_id, emitted_at, f"{ticket_id}:outbox:{sk}:{index}")
        for index, document in enumerate(documents)
    )
    return OutboxItem(pk, sk, ticket_id, emitted_at, entries)


def _entry(
    document: Any, where: str, ticket_id: str, emitted_at: int | None, fallback_id: str
) -> OutboxEffect | UnreadableEffect:
    if not isinstance(document, dict):
        return UnreadableEffect(fallback_id, ticket_id, {"effect": document}, f"{where}: not a JSON object")
    claimed = document.get("effect_id")
    effect_id = claimed if isinstance(claimed, str) and claimed else fallback_id
    try:
        view = _Document.model_validate({"view": document}).view
        effect = view.effect(where) if isinstance(view, _NotificationView) else view.effect()
    except ValidationError as error:
        first = error.errors()[0]
        path = ".".join(str(p) for p in first["loc"][1:])
        reason = f"{where}.{path}: {first['msg']}" if path else f"{where}: {first['msg']}"
        return UnreadableEffect(effect_id, ticket_id, document, reason)
    except InvalidOutboxItem as error:
        return UnreadableEffect(effect_id, ticket_id, document, error.reason)
    except ValueError as error:
        return UnreadableEffect(effect_id, ticket_id, document, f"{where}: {error}")
    if view.ticket_id != ticket_id:
        return UnreadableEffect(effect_id, ticket_id, document, f"{where}.ticket_id: differs from the item's")
    return OutboxEffect(effect_id, ticket_id, emitted_at, document, effect)


class TableOutbox:
    """A table's outbox as the notifier uses it (infra.store.port.OutboxStore): reads a ticket's undelivered
    items newest first, back to the last one delivered, and writes outcomes on the items.

    Delivery marks items in sort key order, so the first delivered item met going back ends the backlog:
    a steady stream reads two items a record (its own and the one before). Outcomes go into the item's
    `deliveries` map, one entry per effect (the stream filter ignores these updates); `delivered_at` is set
    once every effect of the item is handled. The same update replaces `effects` by the text kept once
    delivered (no contact address), and gives an item written without an `expiration` (before items had
    one) its expiry, `retention_days` from delivery.
    """

    def __init__(self, client: Any, table_name: str, retention_days: int = DEFAULT_RETENTION_DAYS) -> None:
        self.client = client
        self.table_name = table_name
        self.retention_days = retention_days

    def backlog(self, pk: str, sk: str) -> Backlog:
        pending: list[dict[str, Any]] = []
        own: Literal["pending", "delivered", "missing"] = "missing"
        kwargs: dict[str, Any] = {
            "TableName": self.table_name,
            "KeyConditionExpression": "pk = :pk AND sk <= :sk",
            "ExpressionAttributeValues": {":pk": {"S": pk}, ":sk": {"S": sk}},
            "ScanIndexForward": False,
            "ConsistentRead": True,  # the record's transaction is committed: a consistent read sees all of it
            "Limit": FIRST_BACKLOG_PAGE,
        }
        first = True
        while True:
            try:
                page = self.client.query(**kwargs)
            except (ClientError, BotoCoreError) as error:
                raise from_aws(error, "dynamodb") from error
            for raw in page.get("Items", []):
                item = unmarshal(raw)
                delivered = "delivered_at" in item
                if first:
                    first = False
                    if item.get("sk") == sk:
                        own = "delivered" if delivered else "pending"
                if delivered:
                    return Backlog(tuple(reversed(pending)), own)
                pending.append(item)
            if "LastEvaluatedKey" not in page:
                return Backlog(tuple(reversed(pending)), own)
            kwargs["ExclusiveStartKey"] = page["LastEvaluatedKey"]
            kwargs["Limit"] = BACKLOG_PAGE

    def record(
        self,
        pk: str,
        sk: str,
        outcomes: Mapping[str, Mapping[str, Any]],
        now: int,
        *,
        complete: bool,
        item_error: str | None = None,
        effects: str | None = None,
    ) -> None:
        names: dict[str, str] = {}
        values: dict[str, Any] = {}
        sets: list[str] = []
        # One entry an effect id (the mapping's keys): two paths to one map entry would make DynamoDB refuse
        # the whole update.
        for index, (effect_id, outcome) in enumerate(outcomes.items()):
            names[f"#e{index}"] = effect_id
            values[f":e{index}"] = _serializer.serialize(dict(outcome))
            # The first outcome recorded stays: a retry finds the same one in the idempotency records.
            sets.append(f"deliveries.#e{index} = if_not_exists(deliveries.#e{index}, :e{index})")
        if complete:
            values[":now"] = {"N": str(now)}
            sets.append("delivered_at = if_not_exists(delivered_at, :now)")
            names["#expiration"] = "expiration"
            values[":expires"] = {"N": str(expiration(now, self.retention_days))}
            sets.append("#expiration = if_not_exists(#expiration, :expires)")
            if effects is not None:
                # The same text whichever delivery writes it: a retry's rewrite changes nothing.
                names["#effects"] = "effects"
                values[":effects"] = {"S": effects}
                sets.append("#effects = :effects")
        if item_error:
            values[":error"] = {"S": item_error}
            sets.append("delivery_error = :error")
        if not sets:
            return
        request: dict[str, Any] = {
            "TableName": self.table_name,
            "Key": {"pk": {"S": pk}, "sk": {"S": sk}},
            "UpdateExpression": "SET " + ", ".join(sets),
            # Allowed prior state: the outbox item exists; never create a stray item from a stale record.
            "ConditionExpression": "attribute_exists(pk)",
            "ExpressionAttributeValues": values,
        }
        if names:
            request["ExpressionAttributeNames"] = names
        try:
            self.client.update_item(**request)
        except ClientError as error:
            if error.response.get("Error", {}).get("Code") == "ConditionalCheckFailedException":
                logger.warning("outbox item not found for the outcome", pk=pk, sk=sk)
                return
            raise from_aws(error, "dynamodb") from error
        except BotoCoreError as error:
            raise from_aws(error, "dynamodb") from error
