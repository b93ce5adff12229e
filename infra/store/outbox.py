"""The outbox: the effects a commit decided, as items the table stream hands to the NotifierFunction.

A ticket's outbox is one partition, `OUTBOX#<ticket_id>`, with one item per commit (more when a commit
decides many effects) under the sort key `<version:012d>#<chunk:03d>`. The sort key, then the position in
the item's list, is the order the effects were decided in, and the order the notifier delivers them in:
DynamoDB Streams promise order per item only (the items of one transaction reach the stream in any order,
and Lambda keeps order per item, not per partition, once a shard is read by more than one batch at a
time), so the notifier reads the ticket's outbox in sort key order instead of trusting the stream's.

Each item starts with an empty `deliveries` map: the notifier writes each effect's outcome into it, and
`delivered_at` once every effect of the item is handled.

Personal data (README, "Personal data"): a customer notification carries the contact address the fold
found in the customer's plan, which the notifier needs to send it. Once the item is delivered the
notifier rewrites its `effects` without the address (`delivered_effects`), and every item carries
`expiration`, so the table's TTL removes it `retention_days` after it was written.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any, Literal

from infra.views import effect_view
from sla.effects import Effect

OUTBOX_PREFIX = "OUTBOX#"
OUTBOX_KIND = "outbox"
MAX_EFFECTS_PER_ITEM = 25
"""A commit that decides more effects than this spreads them over several items of consecutive chunks."""
MAX_EFFECT_BYTES_PER_ITEM = 100_000
"""Effect JSON an item takes at most (one effect larger than this gets an item of its own), leaving room
under DynamoDB's 400 KB for the delivery outcomes the notifier adds to the item."""
_MAX_CHUNKS = 1000  # the sort key has three digits for the chunk
DEFAULT_RETENTION_DAYS = 30
"""Days outbox items and rejections are kept (infra.settings.EngineSettings.retention_days, SLA_RETENTION_DAYS)."""
CONTACT_FIELD = "contact_email"
"""The field of a notification's view that holds personal data, dropped from the item once delivered."""
_effect_json = json.JSONEncoder(ensure_ascii=False).encode
"""`json.dumps(view, ensure_ascii=False)`, without building an encoder for each of a replay's effects."""


@dataclass(frozen=True)
class Backlog:
    """What a stream record asks the notifier to do, in delivery order.

    `items` are the ticket's outbox items not yet delivered whose sort key is at most the record's;
    `own` says whether the record's own item is among them, was delivered already, or is not in the table.
    """

    items: tuple[dict[str, Any], ...]
    own: Literal["pending", "delivered", "missing"]


def expiration(now: int, retention_days: int) -> int:
    """The `expiration` of an item written at `now` (epoch seconds): the table's TTL removes it after that."""
    return now + retention_days * 86_400


def outbox_partition(ticket_id: str) -> str:
    return f"{OUTBOX_PREFIX}{ticket_id}"


def outbox_sort_key(version: int, chunk: int) -> str:
    return f"{version:012d}#{chunk:03d}"


def outbox_items(
    ticket_id: str, version: int, effects: Iterable[Effect], now: int, expires: int | None = None
) -> list[dict[str, Any]]:
    """The items that carry `effects` (in the order they were decided) to the notifier.

    `version` is the ticket state's version this commit writes: it grows with every commit of the ticket,
    so the items of a later commit sort after those of an earlier one. A commit without effects writes none.
    `expires` is the items' `expiration` (default: `DEFAULT_RETENTION_DAYS` after `now`).
    """
    expires = expires if expires is not None else expiration(now, DEFAULT_RETENTION_DAYS)
    if version < 1:
        raise ValueError(f"outbox version must be positive, not {version}")
    chunks = _chunks([_effect_json(effect_view(effect)) for effect in effects])
    if len(chunks) > _MAX_CHUNKS:
        raise ValueError(f"{len(chunks)} outbox items for one commit: more than the sort key can number")
    return [
        {
            "pk": outbox_partition(ticket_id),
            "sk": outbox_sort_key(version, index),
            "kind": OUTBOX_KIND,
            "ticket_id": ticket_id,
            "version": version,
            "chunk": index,
            "chunks": len(chunks),
            "emitted_at": now,
            "effects": "[" + ",".join(texts) + "]",
            "deliveries": {},
            "expiration": expires,
        }
        for index, texts in enumerate(chunks)
    ]


def item_effects(item: Mapping[str, Any]) -> list[dict[str, Any]]:
    """The effect views an outbox item carries, in decided order (for readers that trust the item)."""
    views: list[dict[str, Any]] = json.loads(item["effects"])
    return views


def delivered_effects(effects: object, *, readable: bool = False) -> str | None:
    """An item's `effects` text as kept once delivered: without contact addresses; None when unchanged.

    Text that is not a JSON array of objects (an unreadable item, parked in the DLQ) has its e-mail
    addresses replaced instead. `readable`: the text is known to be a JSON array (`read_item` read it).
    """
    if not isinstance(effects, str):
        return None
    if readable and CONTACT_FIELD not in effects and "\\u" not in effects:
        # No view can hold the field: JSON spells a key either as it is or with \u escapes. Most items
        # (alerts, notifications without an address) end here, without being parsed a second time.
        return None
    try:
        views = json.loads(effects)
    except json.JSONDecodeError:
        views = None
    if isinstance(views, list):
        kept = [
            {key: value for key, value in view.items() if key != CONTACT_FIELD}
            if isinstance(view, dict)
            else view
            for view in views
        ]
        redacted = json.dumps(kept, ensure_ascii=False) if kept != views else effects
    else:
        from infra.store.codec import redact_text  # the codec imports the event models: only when needed

        redacted = redact_text(effects)
    return redacted if redacted != effects else None


def _chunks(texts: list[str]) -> list[list[str]]:
    chunks: list[list[str]] = []
    size = 0
    for text in texts:
        length = len(text.encode())
        if not chunks or len(chunks[-1]) >= MAX_EFFECTS_PER_ITEM or size + length > MAX_EFFECT_BYTES_PER_ITEM:
            chunks.append([])
            size = 0
        chunks[-1].append(text)
        size += length
    return chunks
