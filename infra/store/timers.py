"""Due timers: one item per ticket in the sparse due-index, read by the sweeper oldest first, never scanned.

The index is sharded: a ticket's timer lives under `gsi1pk = DUE#<n>`, n a stable hash of the ticket id, so
the writes of every commit and every claim spread over DUE_SHARDS index partitions instead of one hot key.
Reading "oldest first" then means a merge: `DueReader` keeps one page per shard and hands out the oldest
head, fetching a shard's next page only when its page runs out, so what a sweep reads follows what it
works, plus at most one page per shard.

Both store adapters read the index the same way: `DueReader` merges the pages of `ShardedDueIndex.due_page`,
which the DynamoDB `TimerIndex` answers with a Query of the GSI and the local harness's in-memory index with
a sorted list per shard; positions are the index's sort keys, so a cursor means the same to either.

A claim is a lease in the visibility-timeout sense: it moves the timer's index key to the lease's end, so a
timer that is being worked, or whose re-fold failed and was never re-committed, leaves the head of the index
and comes back behind what is due by then. The ticket's own due instant stays in `due_at`. A timer that keeps
failing is pushed further on each failure (`back_off`), counted in `attempts`; the ticket's next commit
Puts a fresh item, which ends the lease and resets the count.
"""

from __future__ import annotations

import heapq
import json
import zlib
from abc import ABC, abstractmethod
from collections import deque
from dataclasses import dataclass, field
from typing import Any

from botocore.exceptions import ClientError

from infra.errors import AlreadyRecorded, StoreError, translate
from infra.store.keys import marshal, ticket_key, unmarshal

INDEX = "due-index"
TIMER_PARTITION = "DUE"  # the prefix of the shard keys, DUE#0 .. DUE#<DUE_SHARDS - 1>
# Changing it moves every timer to another key: the timers already written would not be read until their
# ticket commits again, so a change needs a one-off re-put of every TIMER item (or reading both layouts).
DUE_SHARDS = 8
_AFTER_EVERY_TICKET = "#\uffff"  # sorts after "<epoch>#<any ticket id>": the key condition's upper bound


def due_shard(ticket_id: str) -> str:
    """crc32, not hash(): Python salts str hashes per process, and every process must find the same shard."""
    return f"{TIMER_PARTITION}#{zlib.crc32(ticket_id.encode('utf-8')) % DUE_SHARDS}"


def due_shards() -> tuple[str, ...]:
    return tuple(f"{TIMER_PARTITION}#{n}" for n in range(DUE_SHARDS))


def timer_sort_key(due: int, ticket_id: str) -> str:
    """Zero-padded epoch first, so the due-index sorts timers by due time (ties by ticket id)."""
    return f"{due:012d}#{ticket_id}"


def timer_item(ticket_id: str, due: int | None) -> dict[str, Any]:
    # Without gsi1 keys the item drops out of the sparse due-index: nothing left to fire. A Put of this item
    # also drops a sweep's lease and attempt count: the ticket was committed, the timer is new.
    return {
        **ticket_key(ticket_id, "TIMER"),
        "kind": "timer",
        "gsi1pk": due_shard(ticket_id) if due is not None else None,
        "gsi1sk": timer_sort_key(due, ticket_id) if due is not None else None,
        "due_at": due,
    }


@dataclass(frozen=True)
class DueTimer:
    """A timer as the index showed it; `due` is its place in the index (a lease's end once claimed)."""

    ticket_id: str
    sort_key: str
    due: int
    due_at: int | None = None  # the ticket's own due instant, which a lease does not move

    @property
    def shard(self) -> str:
        return due_shard(self.ticket_id)


@dataclass(frozen=True)
class Claim:
    """A timer held by one sweep until `until`; `attempts` counts this claim and the failed ones before it."""

    timer: DueTimer
    claimed_at: int
    until: int
    attempts: int


def due_bound(now: int) -> str:
    """The greatest sort key of a timer due at `now`: the upper bound of what a sweep at `now` reads."""
    return f"{now:012d}{_AFTER_EVERY_TICKET}"


def ticket_of(sort_key: str) -> str:
    """The ticket of an index sort key (`<epoch>#<ticket id>`; the ticket id may hold `#` itself)."""
    return sort_key.split("#", 1)[1]


def backed_off_until(claim: Claim, max_delay: int) -> int:
    """When a timer whose re-fold failed is due again: lease × 2^(attempts - 1) after its claim, capped at
    `max_delay`, and never before the lease ends."""
    lease = claim.until - claim.claimed_at
    delay = min(max_delay, lease << max(0, min(claim.attempts - 1, 32)))  # the shift: no float, no overflow
    return claim.claimed_at + delay if delay > lease else claim.until


@dataclass
class _Shard:
    name: str
    start: str | None  # the sort key this read began after (None: the shard's oldest timer)
    buffer: deque[DueTimer] = field(default_factory=deque)
    next_key: str | None = None
    pages: int = 0
    done: bool = False  # the index said there is nothing after the last page
    last_taken: DueTimer | None = None
    error: StoreError | None = None

    def resume_key(self) -> str | None:
        if self.last_taken is not None:
            return self.last_taken.sort_key
        return self.start

    def exhausted(self) -> bool:
        return self.done and not self.buffer


class DueReader:
    """The timers due at `now` in every shard, merged oldest first, read a page per shard at a time.

    At most `max_pages` pages per shard: a run's reads stay bounded even when every claim fails fast. Once
    a shard's pages are spent the merge goes on without it: what it has left is backlog, the next run's head.
    A shard whose read fails is left out of this read (`errors`) and the others go on, as a failing ticket
    does not stop the sweep.
    """

    def __init__(
        self,
        index: ShardedDueIndex,
        now: int,
        page_size: int,
        max_pages: int,
        resume: dict[str, str | None] | None = None,
    ) -> None:
        self.index = index
        self.now = now
        self.page_size = page_size
        self.max_pages = max_pages
        self.items_read = 0
        self.pages = 0
        starts: dict[str, str | None] = resume if resume is not None else dict.fromkeys(due_shards())
        self._shards = {name: _Shard(name, start, next_key=start) for name, start in starts.items()}
        self._heads: list[tuple[str, str]] = []  # (sort key, shard) of each shard's oldest unread timer
        self._started = False

    @property
    def errors(self) -> list[tuple[str, StoreError]]:
        """The shards whose read failed in this read, with the error."""
        return [(s.name, s.error) for s in self._shards.values() if s.error is not None]

    def peek(self) -> DueTimer | None:
        """The head of the merge, without taking it: how late the sweep is shows here before it claims."""
        self._start()
        if not self._heads:
            return None
        return self._shards[self._heads[0][1]].buffer[0]

    def pop(self) -> DueTimer | None:
        self._start()
        if not self._heads:
            return None
        _, name = heapq.heappop(self._heads)
        shard = self._shards[name]
        timer = shard.buffer.popleft()
        shard.last_taken = timer
        if not shard.buffer:
            self._fetch(shard)
        if shard.buffer:
            heapq.heappush(self._heads, (shard.buffer[0].sort_key, name))
        return timer

    def has_more(self) -> bool:
        """True may be a false alarm (DynamoDB says "maybe more" when a page is exactly full): count to know."""
        return any(not s.exhausted() for s in self._shards.values())

    def count_rest(self, max_pages: int) -> tuple[int, bool]:
        """How many due timers this read did not hand out, and whether that count is exact.

        Read timers are counted from the pages in hand; the rest by counting pages (`count_due`: on
        DynamoDB a Select=COUNT Query, billed like a read, but nothing transferred), at most `max_pages` in
        all: past that, or for a shard that failed, the count is a lower bound.
        """
        count, exact, budget = 0, True, max_pages
        for shard in self._shards.values():
            count += len(shard.buffer)
            if shard.done:
                continue
            if shard.error is not None:
                exact = False
                continue
            key = shard.next_key
            while True:
                if budget == 0:
                    exact = False
                    break
                budget -= 1
                try:
                    counted, key = self.index.count_due(shard.name, self.now, key)
                except StoreError:
                    exact = False
                    break
                count += counted
                if key is None:
                    break
        return count, exact

    def cursor(self) -> str | None:
        """Per shard, not one key: each shard resumes after the last timer taken from it, whatever the others."""
        left = {s.name: s.resume_key() for s in self._shards.values() if not s.exhausted()}
        return json.dumps(left) if left else None

    def _start(self) -> None:
        if self._started:
            return
        self._started = True
        for shard in self._shards.values():
            self._fetch(shard)
            if shard.buffer:
                heapq.heappush(self._heads, (shard.buffer[0].sort_key, shard.name))

    def _fetch(self, shard: _Shard) -> None:
        if shard.done or shard.error is not None or shard.pages >= self.max_pages:
            return
        try:
            timers, shard.next_key = self.index.due_page(shard.name, self.now, self.page_size, shard.next_key)
        except StoreError as error:
            shard.error = error
            return
        shard.pages += 1
        self.pages += 1
        self.items_read += len(timers)
        shard.buffer.extend(timers)
        shard.done = shard.next_key is None


class ShardedDueIndex(ABC):
    """The due-index as every store adapter reads it: pages of a shard's due timers, merged by `DueReader`.

    An adapter answers `due_page` and `count_due` for one shard and implements the writes (`claim`,
    `back_off`) under the conditions documented on them in `TimerIndex`; reading, paging and cursors are
    the same code for all.
    """

    @abstractmethod
    def due_page(
        self, shard: str, now: int, limit: int, after: str | None
    ) -> tuple[list[DueTimer], str | None]:
        """Up to `limit` timers of `shard` due at `now` whose sort key is after `after`, oldest first, and the
        key to read on after (None when the index says nothing follows)."""

    @abstractmethod
    def count_due(self, shard: str, now: int, after: str | None) -> tuple[int, str | None]:
        """How many timers of `shard` due at `now` follow `after`, as far as one page of counting goes, and
        where that page stopped (None: counted to the end)."""

    @abstractmethod
    def next_timer(self) -> int | None:
        """The earliest instant any timer is due (a lease's end for a claimed one)."""

    @abstractmethod
    def claim(self, timer: DueTimer, now: int, lease_seconds: int) -> Claim | None:
        """Take a due timer for one sweep, moving it in the index to the lease's end."""

    @abstractmethod
    def back_off(self, claim: Claim, max_delay: int) -> int:
        """After a failed re-fold, keep the timer away longer (`backed_off_until`); returns when it is due."""

    def due(self, now: int, page_size: int, max_pages: int) -> DueReader:
        """A page per shard at a time, so a sweep stopped by its budget has read little it did not work."""
        return DueReader(self, now, page_size, max_pages)

    def due_timers(
        self, now: int, limit: int, start_after: str | None = None
    ) -> tuple[list[DueTimer], str | None]:
        """Up to `limit` timers due at `now`, oldest first over all shards, and where the next page starts.

        Each call reads a page of every shard still unread: fine for a look at the index; a sweep uses
        `due`, which reads a shard's next page only when it needs it.
        """
        resume = json.loads(start_after) if start_after is not None else None
        reader = DueReader(self, now, limit, max_pages=1, resume=resume)
        timers: list[DueTimer] = []
        while len(timers) < limit and (timer := reader.pop()) is not None:
            timers.append(timer)
        for _, error in reader.errors:
            raise error
        return timers, reader.cursor()

    def claim_timer(self, timer: DueTimer, now: int, lease_seconds: int) -> bool:
        """`claim` for callers that only need to know whether they hold the timer."""
        return self.claim(timer, now, lease_seconds) is not None


def _timer(raw: dict[str, Any]) -> DueTimer:
    item = unmarshal(raw)
    sort_key = str(item["gsi1sk"])
    due_at = item.get("due_at")
    return DueTimer(
        str(item["pk"]).removeprefix("TICKET#"),
        sort_key,
        int(sort_key.split("#", 1)[0]),
        int(due_at) if due_at is not None else None,
    )


def _index_key(shard: str, sort_key: str) -> dict[str, Any]:
    """A timer's key in the index, as DynamoDB's ExclusiveStartKey wants it (table and index keys)."""
    return marshal({**ticket_key(ticket_of(sort_key), "TIMER"), "gsi1pk": shard, "gsi1sk": sort_key})


def _last_sort_key(page: dict[str, Any]) -> str | None:
    last = page.get("LastEvaluatedKey")
    return str(unmarshal(last)["gsi1sk"]) if last else None


class TimerIndex(ShardedDueIndex):
    """The due-index of one DynamoDB table."""

    def __init__(self, client: Any, table_name: str) -> None:
        self.client = client
        self.table_name = table_name

    def _query_due(
        self, shard: str, now: int, limit: int | None, after: str | None, select_count: bool = False
    ) -> dict[str, Any]:
        """A key condition on one shard, never a Scan: what is read is what is due, however many are open."""
        kwargs: dict[str, Any] = {
            "TableName": self.table_name,
            "IndexName": INDEX,
            "KeyConditionExpression": "gsi1pk = :shard AND gsi1sk <= :now",
            "ExpressionAttributeValues": marshal({":shard": shard, ":now": due_bound(now)}),
            "ScanIndexForward": True,
        }
        if limit is not None:
            kwargs["Limit"] = limit
        if after is not None:
            kwargs["ExclusiveStartKey"] = _index_key(shard, after)
        if select_count:
            kwargs["Select"] = "COUNT"
        try:
            page: dict[str, Any] = self.client.query(**kwargs)
        except ClientError as error:
            raise translate(error) from error
        return page

    def due_page(
        self, shard: str, now: int, limit: int, after: str | None
    ) -> tuple[list[DueTimer], str | None]:
        page = self._query_due(shard, now, limit, after)
        return [_timer(raw) for raw in page.get("Items", [])], _last_sort_key(page)

    def count_due(self, shard: str, now: int, after: str | None) -> tuple[int, str | None]:
        page = self._query_due(shard, now, None, after, select_count=True)
        return int(page.get("Count", 0)), _last_sort_key(page)

    def next_timer(self) -> int | None:
        """The oldest of each shard's oldest, one item read per shard (for a simulated clock that skips
        idle minutes)."""
        earliest: int | None = None
        for shard in due_shards():
            try:
                page = self.client.query(
                    TableName=self.table_name,
                    IndexName=INDEX,
                    KeyConditionExpression="gsi1pk = :shard",
                    ExpressionAttributeValues=marshal({":shard": shard}),
                    Limit=1,
                    ScanIndexForward=True,
                )
            except ClientError as error:
                raise translate(error) from error
            for raw in page.get("Items", []):
                due = _timer(raw).due
                earliest = due if earliest is None else min(earliest, due)
        return earliest

    def claim(self, timer: DueTimer, now: int, lease_seconds: int) -> Claim | None:
        """A conditional UpdateItem; None when another sweep took the timer first or the ticket moved on
        (its timer was committed again since it was read)."""
        until = now + lease_seconds
        try:
            updated = self.client.update_item(
                TableName=self.table_name,
                Key=marshal(ticket_key(timer.ticket_id, "TIMER")),
                UpdateExpression=(
                    "SET gsi1sk = :leased, #until = :until, #attempts = if_not_exists(#attempts, :zero) + :one"
                ),
                # Allowed prior state: the timer is still the one we read. No writer committed the ticket since
                # (a commit Puts another key, or none), and no other sweep claimed it (a claim moves the key to
                # its lease's end, after `now`); a lease on it, if any, has run out.
                ConditionExpression="gsi1sk = :seen AND (attribute_not_exists(#until) OR #until <= :now)",
                ExpressionAttributeNames={"#until": "claimed_until", "#attempts": "attempts"},
                ExpressionAttributeValues=marshal(
                    {
                        ":seen": timer.sort_key,
                        ":leased": timer_sort_key(until, timer.ticket_id),
                        ":now": now,
                        ":until": until,
                        ":zero": 0,
                        ":one": 1,
                    }
                ),
                ReturnValues="UPDATED_NEW",
            )
        except ClientError as error:
            translated = translate(error)
            if isinstance(translated, AlreadyRecorded):  # the condition failed: not ours to work
                return None
            raise translated from error
        attempts = int(unmarshal(updated.get("Attributes", {})).get("attempts", 1))
        return Claim(timer, now, until, attempts)

    def back_off(self, claim: Claim, max_delay: int) -> int:
        """The first failure needs no write (the lease already says when); a later one moves the key on, on
        condition that the lease is still ours, so a commit or a claim that came in between wins (and the
        timer is due again at the lease's end)."""
        later = backed_off_until(claim, max_delay)
        if later == claim.until:
            return claim.until
        ticket_id = claim.timer.ticket_id
        try:
            self.client.update_item(
                TableName=self.table_name,
                Key=marshal(ticket_key(ticket_id, "TIMER")),
                UpdateExpression="SET gsi1sk = :later, #until = :later_at",
                # Allowed prior state: our lease, untouched (a commit Puts an item without claimed_until).
                ConditionExpression="gsi1sk = :leased AND #until = :until",
                ExpressionAttributeNames={"#until": "claimed_until"},
                ExpressionAttributeValues=marshal(
                    {
                        ":later": timer_sort_key(later, ticket_id),
                        ":later_at": later,
                        ":leased": timer_sort_key(claim.until, ticket_id),
                        ":until": claim.until,
                    }
                ),
            )
        except ClientError as error:
            translated = translate(error)
            if isinstance(translated, AlreadyRecorded):  # committed or claimed since: nothing to push back
                return claim.until
            raise translated from error
        return later
