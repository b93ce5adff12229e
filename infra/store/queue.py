"""The agents' queue and the answer history as the store keeps them: item shapes, and their reading on DynamoDB.

The queue (SPEC section 8) is a sparse index, never a scan. Each ticket has one QUEUE item
(`TICKET#<id>` / `INDEX#QUEUE`), Put by every commit that changes what the ticket owes, in the same transaction
as its STATE. While the ticket owes something it carries the index keys; once it owes nothing (answered,
paused, closed) the Put leaves them out and the item drops out of the indexes, as the TIMER item does from
the due-index (so no commit needs a Delete on a TICKET# item). Two indexes share the sort key:

- `queue-index`: partition `QUEUE`, every ticket that owes something;
- `queue-level-index`: partition `QUEUE#<level>`, the same per support level;
- `queue-line-index`: partition `QUEUE#LINE#<line>`, per support line (SPEC section 10);
- `queue-line-level-index`: partition `QUEUE#LINE#<line>#<level>`, per line and level.

A filter is a partition, never a FilterExpression: a page is one Query that reads at most `limit + 1`
items (the one more says whether there is a next page) whatever the number of open tickets, and a filtered
page reads no ticket of another level or line. One more index per filter is the price: a line-and-level
filter is its own index, not a FilterExpression over the line's partition (which would read every ticket of
the line's other levels to fill a page). A ticket without a line (a catalog without lines) carries neither
line key. The sort key (`sla.queue.queue_sort_key`) is the queue's order.

Each QUEUE partition is one index partition, so it takes the writes of every change of what a ticket owes
(about one per event that opens, answers, pauses or breaches a clock): DynamoDB serves about 1,000 writes a
second on one partition key, far above a support desk's rate; a shard per partition would make a page a
merge that reads `limit + 1` items per shard.

The answer history (`HISTORY#<metric>#<level>#<severity>` / `DAY#<YYYY-MM-DD>`): per UTC day, the count of
answered cycles per bucket of working time (`sla.response_history`), added to in the commit that settles
the cycles (an UpdateItem ADD in the transaction) and expiring with the table's TTL after 40 days. The
customer's visible wait reads 30 of them, one Query.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Iterable
from dataclasses import fields
from datetime import date, timedelta
from typing import Any, Protocol

from botocore.exceptions import ClientError

from infra.errors import translate
from infra.store.keys import marshal, ticket_key, unmarshal
from infra.store.records import clock_digest
from sla.queue import QueueEntry, is_sort_key
from sla.response_history import WINDOW_DAYS, Answer

QUEUE_ITEM = "INDEX#QUEUE"
"""The QUEUE item's sort key: before `LOG#`, so a ticket's load (sk >= LOG#) never reads it."""
QUEUE_INDEX = "queue-index"
QUEUE_LEVEL_INDEX = "queue-level-index"
QUEUE_LINE_INDEX = "queue-line-index"
QUEUE_LINE_LEVEL_INDEX = "queue-line-level-index"
QUEUE_PARTITION = "QUEUE"
QUEUE_SORT = "queue_sk"
HISTORY_PREFIX = "HISTORY#"
HISTORY_DAYS_KEPT = 40
"""Days an answer-history item is kept (its `expiration`): the wait reads the last WINDOW_DAYS."""
COUNT_PAGE_LIMIT = 2
"""Pages (up to 1 MB each, some 3,000 entries) one count of the queue ahead of a ticket reads at most."""


def level_partition(level: str) -> str:
    return f"{QUEUE_PARTITION}#{level}"


def line_partition(line: str, level: str | None = None) -> str:
    return f"{QUEUE_PARTITION}#LINE#{line}" + (f"#{level}" if level is not None else "")


def filter_partition(line: str | None, level: str | None) -> tuple[str, str, str]:
    """(index, partition attribute, partition value) of a queue filter: each combination its own index."""
    if line is not None:
        if level is not None:
            return QUEUE_LINE_LEVEL_INDEX, "queue_line_level_pk", line_partition(line, level)
        return QUEUE_LINE_INDEX, "queue_line_pk", line_partition(line)
    if level is not None:
        return QUEUE_LEVEL_INDEX, "queue_level_pk", level_partition(level)
    return QUEUE_INDEX, "queue_pk", QUEUE_PARTITION


def queue_item(ticket_id: str, entry: QueueEntry | None) -> dict[str, Any]:
    """The ticket's QUEUE item: with the index keys while it owes something, without them once it does not."""
    item: dict[str, Any] = {**ticket_key(ticket_id, QUEUE_ITEM), "kind": "queue"}
    if entry is None:
        return item
    lines = (
        {}
        if entry.line is None
        else {
            "queue_line_pk": line_partition(entry.line),
            "queue_line_level_pk": line_partition(entry.line, entry.support_level),
        }
    )
    return {
        **item,
        "queue_pk": QUEUE_PARTITION,
        "queue_level_pk": level_partition(entry.support_level),
        **lines,
        QUEUE_SORT: entry.sort_key,
        **_fields_of(entry),
    }


_ENTRY_FIELDS = tuple(f.name for f in fields(QueueEntry))


def _fields_of(entry: QueueEntry) -> dict[str, Any]:
    """`dataclasses.asdict`, for an entry of scalars: asdict copies each value deeply, at every commit."""
    return {name: getattr(entry, name) for name in _ENTRY_FIELDS}


def entry_digest(entry: QueueEntry | None) -> str:
    """What the STATE item remembers of the QUEUE item, so a commit that changes nothing of it skips the Put."""
    if entry is None:
        return "-"
    # Its fields' values in order (all scalars): the repr of their tuple is built in C, the dataclass's repr
    # goes through a recursion guard in Python.
    return clock_digest(repr(tuple(getattr(entry, name) for name in _ENTRY_FIELDS)))


def entry_of(item: dict[str, Any]) -> QueueEntry:
    """A QUEUE item (or its index projection), read back; DynamoDB numbers come back as Decimal."""
    return QueueEntry(
        ticket_id=item["ticket_id"],
        customer_id=item["customer_id"],
        support_level=item["support_level"],
        severity=item["severity"],
        line=item.get("line"),
        metric=item["metric"],
        cycle=int(item["cycle"]),
        due_at=int(item["due_at"]),
        breached=bool(item["breached"]),
        clock_level=item["clock_level"],
        started_at=int(item["started_at"]),
        timezone=item["timezone"],
        country=item["country"],
    )


# -- cursors: where the next page starts, and the position of its first item --------------------------------


def encode_cursor(sort_key: str, position: int) -> str:
    raw = json.dumps([sort_key, position], separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(text: str) -> tuple[str, int] | None:
    """(the sort key the next page starts after, the position of the last item read), or None if `text` is
    not a cursor this API handed out."""
    try:
        raw = base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
        sort_key, position = json.loads(raw)
    except (ValueError, TypeError):
        return None
    if not isinstance(sort_key, str) or not is_sort_key(sort_key):
        return None
    if not isinstance(position, int) or isinstance(position, bool) or position < 0:
        return None
    return sort_key, position


# -- the answer history --------------------------------------------------------------------------------------


def history_partition(metric: str, level: str, severity: str) -> str:
    return f"{HISTORY_PREFIX}{metric}#{level}#{severity}"


def bucket_attribute(bucket: int) -> str:
    return f"b{bucket:03d}"


def history_updates(answers: Iterable[Answer]) -> list[tuple[dict[str, str], dict[str, int]]]:
    """The answer-history items a commit adds to: (key, attribute -> count to ADD), one per item, so that
    a transaction never names one item twice."""
    grouped: dict[tuple[str, str], dict[str, int]] = {}
    for answer in answers:
        key = (history_partition(answer.metric, answer.level, answer.severity), f"DAY#{answer.day}")
        counts = grouped.setdefault(key, {"n": 0})
        counts["n"] += 1
        attribute = bucket_attribute(answer.bucket)
        counts[attribute] = counts.get(attribute, 0) + 1
    return [({"pk": pk, "sk": sk}, counts) for (pk, sk), counts in sorted(grouped.items())]


def history_expiration(day: str) -> int:
    """Epoch seconds HISTORY_DAYS_KEPT days after the start of `day` (UTC): the table's TTL removes it then."""
    start = date.fromisoformat(day)
    return int((start - date(1970, 1, 1)).days + HISTORY_DAYS_KEPT) * 86_400


def window_days(now_day: str) -> tuple[str, str]:
    """The first and last day of the window the wait reads: the last WINDOW_DAYS days, today included."""
    today = date.fromisoformat(now_day)
    return (today - timedelta(days=WINDOW_DAYS - 1)).isoformat(), today.isoformat()


def histogram_of(item: dict[str, Any]) -> dict[int, int]:
    return {
        int(name[1:]): int(value) for name, value in item.items() if name[:1] == "b" and name[1:].isdigit()
    }


# -- reading ---------------------------------------------------------------------------------------------


class QueueReader(Protocol):
    """The queue and the answer history as the read API reads them; both adapters answer it."""

    def page(
        self, level: str | None, after: str | None, limit: int, line: str | None = None
    ) -> tuple[list[QueueEntry], int]:
        """Up to `limit + 1` entries in queue order after the sort key `after` (the one more says there is a
        next page), of `level` and `line` when given, and the number of items read."""
        ...

    def count_before(
        self, sort_key: str, max_pages: int = COUNT_PAGE_LIMIT, line: str | None = None
    ) -> tuple[int, bool]:
        """Entries before `sort_key` of the whole queue (or of `line`'s), and whether the count is exact."""
        ...

    def history(
        self, metric: str, level: str, severity: str, first_day: str, last_day: str
    ) -> list[dict[int, int]]:
        """The day histograms of answers of (metric, level, severity) from `first_day` to `last_day`."""
        ...


class TableQueue:
    """The queue indexes and the answer history of the single table (eventually consistent reads: an index
    answers no other kind)."""

    def __init__(self, client: Any, table_name: str) -> None:
        self.client = client
        self.table_name = table_name

    def page(
        self, level: str | None, after: str | None, limit: int, line: str | None = None
    ) -> tuple[list[QueueEntry], int]:
        index, partition_key, partition = filter_partition(line, level)
        condition = f"{partition_key} = :p"
        values: dict[str, Any] = {":p": partition}
        if after is not None:
            condition += f" AND {QUEUE_SORT} > :after"
            values[":after"] = after
        try:
            answer = self.client.query(
                TableName=self.table_name,
                IndexName=index,
                KeyConditionExpression=condition,
                ExpressionAttributeValues=marshal(values),
                Limit=limit + 1,
            )
        except ClientError as error:
            raise translate(error) from error
        items = answer.get("Items", [])
        return [entry_of(unmarshal(item)) for item in items], len(items)

    def count_before(
        self, sort_key: str, max_pages: int = COUNT_PAGE_LIMIT, line: str | None = None
    ) -> tuple[int, bool]:
        index, partition_key, partition = filter_partition(line, None)
        kwargs: dict[str, Any] = {
            "TableName": self.table_name,
            "IndexName": index,
            "KeyConditionExpression": f"{partition_key} = :p AND {QUEUE_SORT} < :mine",
            "ExpressionAttributeValues": marshal({":p": partition, ":mine": sort_key}),
            "Select": "COUNT",
        }
        count = 0
        for _ in range(max_pages):
            try:
                answer = self.client.query(**kwargs)
            except ClientError as error:
                raise translate(error) from error
            count += int(answer.get("Count", 0))
            if "LastEvaluatedKey" not in answer:
                return count, True
            kwargs["ExclusiveStartKey"] = answer["LastEvaluatedKey"]
        return count, False

    def history(
        self, metric: str, level: str, severity: str, first_day: str, last_day: str
    ) -> list[dict[int, int]]:
        try:
            answer = self.client.query(
                TableName=self.table_name,
                KeyConditionExpression="pk = :pk AND sk BETWEEN :first AND :last",
                ExpressionAttributeValues=marshal(
                    {
                        ":pk": history_partition(metric, level, severity),
                        ":first": f"DAY#{first_day}",
                        ":last": f"DAY#{last_day}",
                    }
                ),
            )
        except ClientError as error:
            raise translate(error) from error
        return [histogram_of(unmarshal(item)) for item in answer.get("Items", [])]
