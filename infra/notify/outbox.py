"""Reading an outbox item (pk=EFFECT#<effect_id>, sk=EFFECT) back into the domain's effect.

The item carries the effect's JSON view (infra.views.effect_view: instants as ISO 8601 UTC); it is validated
here, strictly, because the notifier is a separate reader of that contract: a payload it cannot read is
parked in the DLQ with the reason instead of being half-delivered.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, ValidationError

from sla.effects import Alert, AlertKind, Effect, Notification, NotificationKind
from sla.vocabulary import Locale, Metric

EFFECT_PREFIX = "EFFECT#"


class InvalidOutboxItem(Exception):
    """The item is not a readable effect; `reason` names the field and the problem."""

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
        )


class _NotificationView(_View):
    type: Literal["notification"]
    customer_id: str = Field(min_length=1)
    kind: NotificationKind
    locale: Locale = "en"
    timezone: str = "UTC"
    contact_email: str | None = None
    data: dict[str, str | int | None] = Field(default_factory=dict)

    def effect(self) -> Notification:
        data = dict(self.data)
        due = data.get("due_at")
        if isinstance(due, str):
            data["due_at"] = _epoch(due)
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


def _epoch(text: str) -> int:
    try:
        parsed = datetime.fromisoformat(text)
    except ValueError:
        raise InvalidOutboxItem(f"payload.data.due_at: {text!r} is not an ISO 8601 instant") from None
    if parsed.tzinfo is None:
        raise InvalidOutboxItem(f"payload.data.due_at: {text!r} has no offset")
    return int(parsed.timestamp())


@dataclass(frozen=True)
class OutboxItem:
    """An effect to deliver, with its stored JSON (what SNS and the DLQ carry, unchanged)."""

    effect_id: str
    ticket_id: str
    emitted_at: int | None
    document: dict[str, Any]
    effect: Effect


def read_item(image: Mapping[str, Any]) -> OutboxItem:
    """The outbox item of a stream NewImage (attribute values already deserialized)."""
    pk = str(image.get("pk", ""))
    if not pk.startswith(EFFECT_PREFIX) or image.get("sk") != "EFFECT":
        raise InvalidOutboxItem("pk/sk: not an outbox item")
    effect_id = pk.removeprefix(EFFECT_PREFIX)
    raw = image.get("payload")
    if not isinstance(raw, str):
        raise InvalidOutboxItem("payload: missing or not a string")
    try:
        document = json.loads(raw)
    except json.JSONDecodeError as error:
        raise InvalidOutboxItem(f"payload: not JSON ({error.msg})") from None
    if not isinstance(document, dict):
        raise InvalidOutboxItem("payload: not a JSON object")
    try:
        view = _Document.model_validate({"view": document}).view
    except ValidationError as error:
        first = error.errors()[0]
        where = ".".join(str(p) for p in first["loc"][1:]) or "payload"
        raise InvalidOutboxItem(f"payload.{where}: {first['msg']}") from None
    except ValueError as error:
        raise InvalidOutboxItem(f"payload: {error}") from None
    if view.effect_id != effect_id:
        raise InvalidOutboxItem("payload.effect_id: differs from the item's key")
    emitted = image.get("emitted_at")
    return OutboxItem(
        effect_id=effect_id,
        ticket_id=str(image.get("ticket_id") or view.ticket_id),
        emitted_at=int(emitted) if emitted is not None else None,
        document=document,
        effect=view.effect(),
    )
