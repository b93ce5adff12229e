"""The outbox: the effects a commit decided, as items the table stream hands to the NotifierFunction.

A ticket's outbox is one partition, `OUTBOX#<ticket_id>`, with one item per commit (more when a commit
decides many effects) under the sort key `<version:012d>#<chunk:03d>`. The sort key, then the position in
the item's list, is the order the effects were decided in, and the order the notifier delivers them in:
DynamoDB Streams promise order per item only (the items of one transaction reach the stream in any order,
and Lambda keeps order per item, not per partition, once a shard is read by more than one batch at a
time), so the notifier reads the ticket's outbox in sort key order instead of trusting the stream's.

Each item starts with an empty `deliveries` map: the notifier writes each effect's outcome into it, and
`delivered_at` once every effect of the item is handled.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from typing import Any

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


def outbox_partition(ticket_id: str) -> str:
    return f"{OUTBOX_PREFIX}{ticket_id}"


def outbox_sort_key(version: int, chunk: int) -> str:
    return f"{version:012d}#{chunk:03d}"


def outbox_items(ticket_id: str, version: int, effects: Iterable[Effect], now: int) -> list[dict[str, Any]]:
    """The items that carry `effects` (in the order they were decided) to the notifier.

    `version` is the ticket state's version this commit writes: it grows with every commit of the ticket,
    so the items of a later commit sort after those of an earlier one. A commit without effects writes none.
    """
    if version < 1:
        raise ValueError(f"outbox version must be positive, not {version}")
    chunks = _chunks([json.dumps(effect_view(effect), ensure_ascii=False) for effect in effects])
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
        }
        for index, texts in enumerate(chunks)
    ]


def item_effects(item: Mapping[str, Any]) -> list[dict[str, Any]]:
    """The effect views an outbox item carries, in decided order (for readers that trust the item)."""
    views: list[dict[str, Any]] = json.loads(item["effects"])
    return views


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
