"""The store in memory: the contract of `infra.store.port` for histories too long for moto.

moto is the DynamoDB adapter's proof, not an engine for a month of tickets: it deep-copies the whole table
for every item of every transaction and keeps every stream record, so a replay on it grows with the square
of the history. This store keeps the same things as the table, in the shapes the services see:

- a ticket's events decoded once, when committed (through the persistence codec, so they read back exactly
  as from the table), and handed out again without re-parsing: a load costs what the ticket holds, not the
  table; its record read, by the same `ticket_record` as the DynamoDB adapter, from the STATE item the
  commit plan writes (`infra.store.commit`), once, at the commit;
- the customer's plan records, open-ticket registrations and rejections, with the conditions of the table;
- the due-index (`MemoryTimers`): a sorted list of sort keys per shard, read through the same `DueReader`;
- each ticket's outbox in sort key order, and a stream of the items inserted since the engine last looked,
  so the local notifier hands over what changed instead of scanning for it.

Conditions fail as the table's do (AlreadyRecorded, ConflictingEvent, VersionConflict), and a commit applies
all its writes or none. What it does not model are DynamoDB's own limits (item and transaction sizes): the table refuses
those writes, this store takes them; the engine's own bounds (events per ticket) are the service's and hold
on both.
"""

from __future__ import annotations

import bisect
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import Any, Literal, cast

from infra.errors import AlreadyRecorded, VersionConflict
from infra.store.codec import decode_event, encode_event
from infra.store.commit import collision, plan_commit, plan_history
from infra.store.outbox import DEFAULT_RETENTION_DAYS, OUTBOX_KIND, OUTBOX_PREFIX, Backlog, expiration
from infra.store.queue import history_expiration
from infra.store.records import PlanRecord, TicketRecord, ticket_record
from infra.store.rejections import next_edge_record
from infra.store.timers import (
    Claim,
    DueTimer,
    ShardedDueIndex,
    backed_off_until,
    due_bound,
    due_shard,
    due_shards,
    ticket_of,
    timer_sort_key,
)
from local.memory.incidents import MemoryIncidents
from local.memory.queue import MemoryQueue
from local.memory.report_index import MemoryReportIndex
from sla.effects import Effect
from sla.events import AnyTicketEvent, EventDetail, SupportPlanChanged
from sla.folded import Folded

CUSTOMER_PAGE = 1_000
"""Open tickets a `customer_tickets` page holds: a plan change marks a large customer page by page."""


@dataclass
class _Timer:
    sort_key: str | None  # its place in the due-index; None: out of the index, nothing to fire
    due_at: int | None  # the ticket's own due instant, which a lease does not move
    claimed_until: int | None = None
    attempts: int = 0


class MemoryTimers(ShardedDueIndex):
    """The due-index: per shard, the sort keys of its timers in order; per ticket, its timer."""

    def __init__(self) -> None:
        self._timers: dict[str, _Timer] = {}
        self._shards: dict[str, list[str]] = {shard: [] for shard in due_shards()}

    def put(self, ticket_id: str, due: int | None) -> None:
        """A committed timer (or one marked due): a new item, so no lease and no attempts."""
        key = timer_sort_key(due, ticket_id) if due is not None else None
        self._move(ticket_id, key)
        self._timers[ticket_id] = _Timer(key, due)

    def sort_key(self, ticket_id: str) -> str | None:
        timer = self._timers.get(ticket_id)
        return timer.sort_key if timer is not None else None

    def due_page(
        self, shard: str, now: int, limit: int, after: str | None
    ) -> tuple[list[DueTimer], str | None]:
        keys = self._shards[shard]
        start = bisect.bisect_right(keys, after) if after is not None else 0
        end = bisect.bisect_right(keys, due_bound(now))
        page = keys[start : min(end, start + limit)]
        more = start + limit < end
        return [self._due_timer(key) for key in page], (page[-1] if more else None)

    def count_due(self, shard: str, now: int, after: str | None) -> tuple[int, str | None]:
        keys = self._shards[shard]
        start = bisect.bisect_right(keys, after) if after is not None else 0
        return max(0, bisect.bisect_right(keys, due_bound(now)) - start), None

    def next_timer(self) -> int | None:
        # Sort keys order as their instants do (zero-padded): the least head is the earliest timer.
        head = min((keys[0] for keys in self._shards.values() if keys), default=None)
        return int(head.split("#", 1)[0]) if head is not None else None

    def claim(self, timer: DueTimer, now: int, lease_seconds: int) -> Claim | None:
        found = self._timers.get(timer.ticket_id)
        # The condition of TimerIndex.claim: still the timer read, and no lease in force on it.
        if found is None or found.sort_key != timer.sort_key:
            return None
        if found.claimed_until is not None and found.claimed_until > now:
            return None
        until = now + lease_seconds
        self._move(timer.ticket_id, leased := timer_sort_key(until, timer.ticket_id))
        found.sort_key, found.claimed_until = leased, until
        found.attempts += 1
        return Claim(timer, now, until, found.attempts)

    def back_off(self, claim: Claim, max_delay: int) -> int:
        later = backed_off_until(claim, max_delay)
        ticket_id = claim.timer.ticket_id
        found = self._timers.get(ticket_id)
        # The condition of TimerIndex.back_off: our lease, untouched by a commit or another claim.
        leased = timer_sort_key(claim.until, ticket_id)
        if (
            later == claim.until
            or found is None
            or found.sort_key != leased
            or found.claimed_until != claim.until
        ):
            return claim.until
        self._move(ticket_id, moved := timer_sort_key(later, ticket_id))
        found.sort_key, found.claimed_until = moved, later
        return later

    def _due_timer(self, key: str) -> DueTimer:
        ticket_id = ticket_of(key)
        return DueTimer(ticket_id, key, int(key.split("#", 1)[0]), self._timers[ticket_id].due_at)

    def _move(self, ticket_id: str, key: str | None) -> None:
        keys = self._shards[due_shard(ticket_id)]
        old = self.sort_key(ticket_id)
        if old is not None:
            del keys[bisect.bisect_left(keys, old)]
        if key is not None:
            bisect.insort(keys, key)


@dataclass
class _Ticket:
    # The ticket as its last commit left it, read from its STATE item once then: a load hands it out as
    # it is (with the timer as it stands), and the item itself need not be kept. Its events are decoded
    # once, in log order; their ids are the idempotency markers (a ticket holds at most 2,000 events:
    # looking one up costs less than a set per ticket).
    record: TicketRecord
    outbox_keys: list[str] = field(default_factory=list)  # sort keys, in order
    outbox: list[dict[str, Any]] = field(default_factory=list)  # the items, in that order


class MemoryStore:
    """Tickets, plans, rejections, the due-index and the outbox of one local run (infra.store.port)."""

    def __init__(self, retention_days: int = DEFAULT_RETENTION_DAYS) -> None:
        self.retention_days = retention_days
        self.timers = MemoryTimers()
        self.queue = MemoryQueue()  # the agents' queue and the answer history (infra.store.queue)
        self.report = MemoryReportIndex()  # the decided-cycle index (infra.store.report_index)
        self._tickets: dict[str, _Ticket] = {}
        self._plans: dict[str, PlanRecord] = {}
        self._registrations: dict[str, set[str]] = {}  # customer -> open tickets
        self._rejections: dict[tuple[str, str], dict[str, Any]] = {}  # (event id, EDGE or FOLD) -> item
        self._event_ids: dict[str, tuple[str, str | None]] = {}  # event id -> (ticket, digest): EVENTID#
        # The incident partitions (infra.store.incidents); an incident event claims its id among the tickets'.
        self.incidents = MemoryIncidents(self._event_ids)
        self._stream: list[dict[str, Any]] = []  # outbox items inserted since `take_stream`, as inserted

    # -- tickets -----------------------------------------------------------------------------------------

    def load_ticket(self, ticket_id: str) -> TicketRecord:
        ticket = self._tickets.get(ticket_id)
        timer = self.timers.sort_key(ticket_id)
        if ticket is None:
            return ticket_record(ticket_id, (), None, timer)
        record = ticket.record
        return record if record.timer == timer else replace(record, timer=timer)  # claimed, or marked due

    def commit(
        self,
        record: TicketRecord,
        new_event: tuple[str, EventDetail] | None,
        folded: Folded,
        now: int,
        plans: PlanRecord | None = None,
    ) -> tuple[Effect, ...]:
        # No operator view on the STATE item: it is read into the ticket's record and let go, and the view
        # cost a fifth of the commit. The decided-cycle index is made from the folds (local.memory.report_index).
        writes = plan_commit(
            record,
            new_event,
            folded,
            now,
            plans,
            self.retention_days,
            operator_view=False,
            report_index=False,
        )
        ticket_id = record.ticket_id
        ticket = self._tickets.get(ticket_id)
        events = ticket.record.events if ticket is not None else ()
        if writes.event is not None and writes.event.event.event_id in self._event_ids:
            # The table's marker and table-wide claim of the event id: a repeat, or a conflict.
            event_id = writes.event.event.event_id
            raise collision(ticket_id, event_id, writes.event.digest, self._event_ids[event_id])
        if (ticket.record.version if ticket is not None else 0) != record.version:
            raise VersionConflict(f"ticket {ticket_id}: state changed since it was read")
        if plans is not None and self.load_plans(plans.customer_id).version != plans.version:
            raise VersionConflict(f"ticket {ticket_id}: plan changed since it was read")
        if writes.event is not None:
            # Read back from its stored text, as the table's log is: the codec drops what is not kept.
            stored = decode_event(writes.event.detail_type, writes.event.text)
            events = (*events, cast(AnyTicketEvent, stored))
            self._event_ids[writes.event.event.event_id] = (ticket_id, writes.event.digest)
            self._rejections.pop((writes.event.event.event_id, "EDGE"), None)  # an earlier, invalid refusal
        self.timers.put(ticket_id, writes.timer["due_at"])
        if writes.queue is not None:
            self.queue.put(writes.queue)
        for key, counts in writes.history:
            self.queue.add_history(key, counts, history_expiration(key["sk"].removeprefix("DAY#")))
        self.report.note(ticket_id, folded)
        after = ticket_record(ticket_id, events, writes.state, self.timers.sort_key(ticket_id))
        if ticket is None:
            ticket = self._tickets[ticket_id] = _Ticket(after)
        else:
            ticket.record = after
        for item in writes.outbox:
            position = bisect.bisect_left(ticket.outbox_keys, item["sk"])
            ticket.outbox_keys.insert(position, item["sk"])
            ticket.outbox.insert(position, item)
            self._stream.append({**item, "deliveries": {}})
        if writes.registration is not None:
            customer, ticket_key = writes.registration["pk"], writes.registration["sk"]
            tickets = self._registrations.setdefault(customer.removeprefix("CUSTOMER#"), set())
            if writes.registration_action == "put":
                tickets.add(ticket_key.removeprefix("TICKET#"))
            else:
                tickets.discard(ticket_key.removeprefix("TICKET#"))
        for item in writes.rejections:
            self._rejections[(item["event_id"], "FOLD")] = item
        for event_id in writes.withdrawn:
            self._rejections.pop((event_id, "FOLD"), None)
        return writes.fresh

    def record_rejection(self, event_id: str, reason: str, raw: str | None, now: int) -> bool:
        item = next_edge_record(
            self._rejections.get((event_id, "EDGE")), event_id, reason, raw, now, self.retention_days
        )
        if item is None:
            return False  # this very input was refused before
        self._rejections[(event_id, "EDGE")] = item
        return True

    # -- plans -------------------------------------------------------------------------------------------

    def load_plans(self, customer_id: str) -> PlanRecord:
        return self._plans.get(customer_id) or PlanRecord(customer_id, (), 0)

    def append_plan(self, record: PlanRecord, change: SupportPlanChanged, now: int) -> None:
        found = self.load_plans(record.customer_id)
        if found.version != record.version:
            raise AlreadyRecorded(f"plan of customer {record.customer_id}: changed since it was read")
        # Each change read back from its stored text, as the table's history is.
        changes = tuple(
            cast(SupportPlanChanged, decode_event(c.detail_type, encode_event(c)))
            for c in plan_history(record, change)
        )
        self._plans[record.customer_id] = replace(found, changes=changes, version=found.version + 1)

    def customer_tickets(
        self, customer_id: str, start_after: str | None = None
    ) -> tuple[list[str], str | None]:
        tickets = sorted(self._registrations.get(customer_id, ()))
        start = bisect.bisect_right(tickets, start_after) if start_after is not None else 0
        page = tickets[start : start + CUSTOMER_PAGE]
        return page, (page[-1] if start + CUSTOMER_PAGE < len(tickets) else None)

    def mark_due(self, ticket_ids: list[str], now: int) -> None:
        for ticket_id in ticket_ids:
            self.timers.put(ticket_id, now)

    def save_marking(self, customer_id: str, version: int, cursor: str | None) -> None:
        found = self._plans.get(customer_id)
        if found is None:  # the table's condition: a marking follows a recorded change
            raise AlreadyRecorded(f"plan of customer {customer_id}: no plan record")
        if cursor is None:
            self._plans[customer_id] = replace(found, marked_version=version, marked_cursor=None)
        else:
            self._plans[customer_id] = replace(found, marked_cursor_version=version, marked_cursor=cursor)

    # -- the outbox (infra.store.port.OutboxStore) -------------------------------------------------------

    def backlog(self, pk: str, sk: str) -> Backlog:
        ticket = self._tickets.get(pk.removeprefix(OUTBOX_PREFIX)) if pk.startswith(OUTBOX_PREFIX) else None
        if ticket is None:
            return Backlog((), "missing")
        end = bisect.bisect_right(ticket.outbox_keys, sk)
        own: Literal["pending", "delivered", "missing"] = "missing"
        if end and ticket.outbox_keys[end - 1] == sk:
            own = "delivered" if "delivered_at" in ticket.outbox[end - 1] else "pending"
        pending: list[dict[str, Any]] = []
        for item in reversed(ticket.outbox[:end]):
            if "delivered_at" in item:
                break
            pending.append(dict(item))
        return Backlog(tuple(reversed(pending)), own)

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
        item = self._outbox_item(pk, sk)
        if item is None:
            return  # never create a stray item from a stale record
        deliveries = item["deliveries"]
        for effect_id, outcome in outcomes.items():
            deliveries.setdefault(effect_id, outcome)  # the first outcome recorded stays, as given
        if complete:
            item.setdefault("delivered_at", now)
            item.setdefault("expiration", expiration(now, self.retention_days))
            if effects is not None:
                item["effects"] = effects
        if item_error:
            item["delivery_error"] = item_error

    def take_stream(self) -> list[dict[str, Any]]:
        """The outbox items inserted since the last call, in commit order, as inserted: what the table
        stream would hand the notifier (its INSERT records' new images)."""
        taken, self._stream = self._stream, []
        return taken

    def _outbox_item(self, pk: str, sk: str) -> dict[str, Any] | None:
        ticket = self._tickets.get(pk.removeprefix(OUTBOX_PREFIX))
        if ticket is None:
            return None
        position = bisect.bisect_left(ticket.outbox_keys, sk)
        if position < len(ticket.outbox_keys) and ticket.outbox_keys[position] == sk:
            return ticket.outbox[position]
        return None

    # -- inspection (the local engine's reports; the services never list) ---------------------------------

    def items_of_kind(self, kind: str) -> list[dict[str, Any]]:
        """Every outbox ("outbox") or rejection ("rejected") item, as the table holds it."""
        if kind == OUTBOX_KIND:
            return [item for t in self._tickets.values() for item in t.outbox]
        if kind == "rejected":
            return list(self._rejections.values())
        raise ValueError(f"the memory store lists {OUTBOX_KIND} and rejected items, not {kind!r}")

    def ticket_ids(self) -> list[str]:
        """Every ticket committed at least once, in order."""
        return sorted(self._tickets)
