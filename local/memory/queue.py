"""The agents' queue and the answer history in memory: the reading of `infra.store.queue` for the local harness.

The same items as the table, kept the way the indexes hold them: per queue partition (`QUEUE`, `QUEUE#<level>`)
the sort keys in order, so a page is a bisection and a slice (`limit + 1` entries, whatever the queue holds)
and the count ahead of a ticket a bisection; per history item its counters. `MemoryStore.commit` applies a
commit's QUEUE item and history additions here, as the transaction does on the table.
"""

from __future__ import annotations

import bisect
from typing import Any

from infra.store.queue import (
    COUNT_PAGE_LIMIT,
    QUEUE_SORT,
    entry_of,
    filter_partition,
    histogram_of,
    history_partition,
)
from sla.queue import QueueEntry


class MemoryQueue:
    def __init__(self) -> None:
        self._partitions: dict[str, list[str]] = {}  # partition -> sort keys in order
        self._entries: dict[str, QueueEntry] = {}  # sort key -> entry
        self._placed: dict[str, tuple[str, ...]] = {}  # ticket -> its sort key and partitions, while queued
        self._history: dict[str, dict[str, dict[str, Any]]] = {}  # pk -> sk -> the item

    # -- what a commit writes ---------------------------------------------------------------------------

    def put(self, item: dict[str, Any]) -> None:
        """A QUEUE item, Put: in the indexes with its keys, out of them without."""
        ticket_id = item["pk"].removeprefix("TICKET#")
        placed = self._placed.pop(ticket_id, None)
        if placed is not None:
            sort_key, *partitions = placed
            for partition in partitions:
                keys = self._partitions[partition]
                del keys[bisect.bisect_left(keys, sort_key)]
            del self._entries[sort_key]
        if "queue_pk" not in item:
            return
        sort_key = item[QUEUE_SORT]
        partitions = [item["queue_pk"], item["queue_level_pk"]]
        partitions += [item[key] for key in ("queue_line_pk", "queue_line_level_pk") if key in item]
        for partition in partitions:
            bisect.insort(self._partitions.setdefault(partition, []), sort_key)
        self._entries[sort_key] = entry_of(item)
        self._placed[ticket_id] = (sort_key, *partitions)

    def add_history(self, key: dict[str, str], counts: dict[str, int], expires: int) -> None:
        days = self._history.setdefault(key["pk"], {})
        item = days.setdefault(key["sk"], {**key, "kind": "history"})
        for attribute, count in counts.items():
            item[attribute] = item.get(attribute, 0) + count
        item["expiration"] = expires

    # -- infra.store.queue.QueueReader ---------------------------------------------------------------------

    def page(
        self, level: str | None, after: str | None, limit: int, line: str | None = None
    ) -> tuple[list[QueueEntry], int]:
        keys = self._partitions.get(filter_partition(line, level)[2], [])
        start = bisect.bisect_right(keys, after) if after is not None else 0
        page = keys[start : start + limit + 1]
        return [self._entries[key] for key in page], len(page)

    def count_before(
        self, sort_key: str, max_pages: int = COUNT_PAGE_LIMIT, line: str | None = None
    ) -> tuple[int, bool]:
        return bisect.bisect_left(self._partitions.get(filter_partition(line, None)[2], []), sort_key), True

    def history(
        self, metric: str, level: str, severity: str, first_day: str, last_day: str
    ) -> list[dict[int, int]]:
        days = self._history.get(history_partition(metric, level, severity), {})
        first, last = f"DAY#{first_day}", f"DAY#{last_day}"
        return [histogram_of(item) for sk, item in sorted(days.items()) if first <= sk <= last]

    def size(self) -> int:
        """Tickets in the queue (for the local tools; the API never counts the whole queue)."""
        return len(self._placed)
