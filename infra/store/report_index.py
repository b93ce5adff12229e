"""The decided-cycle index: what a monthly report reads, written by the commit that decides it.

`sla.kpis` computes SPEC section 9's figures from records (`sla.kpi_records`): the cycles decided in the
period and the tickets' own figures. A deployed report cannot fold a month of tickets again (it would read
every ticket's log), so each commit writes the records its fold holds into a month-partitioned index, and the
ReportFunction reads a month with Query only, never Scan.

One item per ticket and UTC month in which the ticket counts (`REPORT#<yyyy-mm>#<shard>` /
`TICKET#<id>#<chunk>`; chunk 0 unless its cycles pass CHUNK_BYTES):

- `cycles`: JSON, the ticket's cycles *decided* in the month (met at stopped_at, breached at the breach
  instant), each with the attributes it is grouped by at that instant;
- `ticket` (chunk 0): JSON, the ticket's own record (first reply and answer, closing, agents, the latest
  rating and resolution in the month, escalations in it) in each month where it counts: opened, rated,
  resolved or escalated in it; absent from a month that only decides cycles.

Why a ticket-month item rather than an item per cycle: a late event (an agent reply delivered after the
breach it prevents) re-decides a ticket's cycles, and re-writing one item per month touched keeps a commit's
index writes to the months that changed (one, two at a month's turn) whatever the number of cycles, and the
month's read to an item per ticket active in it. The STATE item keeps a digest per item written
(`reported`), as it keeps the QUEUE item's: a commit that changes nothing of a month writes nothing, and an
item the fold no longer fills (a month the ticket no longer counts in) is deleted.
The memory store of the local harness makes the same items from a ticket's last fold instead
(local.memory.report_index).

Sharded (`<shard>` = crc32(ticket) mod REPORT_SHARDS) so a month's writes spread over partitions, as the
due-index's do; a month's read is one paged Query per shard. Bounded: a ticket holds at most 2,000 events;
its month items stay below 400 KB with every id at its 128 characters (tests/test_report_index.py).
"""

from __future__ import annotations

import base64
import hashlib
import json
import zlib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from functools import lru_cache
from typing import Any, Protocol

from infra.store.keys import marshal
from infra.store.reads import query_all
from sla.calendar import from_epoch
from sla.folded import Folded
from sla.kpi_records import (
    CycleRecord,
    Key,
    Mark,
    Rating,
    Records,
    Response,
    TicketRecord,
    record_inputs,
    records_from,
)

REPORT_PREFIX = "REPORT#"
REPORT_SHARDS = 8
REPORT_KIND = "report"
CHUNK_BYTES = 100_000
"""JSON a month item of a ticket holds at most (its own record aside): a quarter of DynamoDB's item limit."""


def month_of(epoch: int) -> str:
    """The UTC month of an instant, `yyyy-mm`: the index's partition."""
    return _month_of_day(epoch // 86_400)


@lru_cache(maxsize=1 << 14)
def _month_of_day(day: int) -> str:
    # Every commit names the months of all its ticket's instants: by day, a lookup instead of a strftime.
    return from_epoch(day * 86_400).strftime("%Y-%m")


def report_partition(month: str, ticket_id: str) -> str:
    """crc32, not hash(): every process must find the same shard."""
    return f"{REPORT_PREFIX}{month}#{zlib.crc32(ticket_id.encode('utf-8')) % REPORT_SHARDS}"


def report_partitions(month: str) -> tuple[str, ...]:
    return tuple(f"{REPORT_PREFIX}{month}#{n}" for n in range(REPORT_SHARDS))


def report_key(month: str, ticket_id: str, chunk: int = 0) -> dict[str, str]:
    return {"pk": report_partition(month, ticket_id), "sk": f"TICKET#{ticket_id}#{chunk}"}


# -- records as JSON: plain objects with the dataclasses' field names, so Athena can read them too ----------


def _key(key: Key) -> dict[str, Any]:
    # The customer is the item's own attribute: a ticket never changes customer.
    return {"level": key.level, "severity": key.severity, "line": key.line, "agent": key.agent}


def _key_of(data: Mapping[str, Any], customer: str) -> Key:
    return Key(data["level"], data["severity"], data["line"], data["agent"], customer)


def _cycle(cycle: CycleRecord) -> dict[str, Any]:
    return {
        "clock_key": cycle.clock_key,
        "metric": cycle.metric,
        "outcome": cycle.outcome,
        "decided_at": cycle.decided_at,
        "started_at": cycle.started_at,
        "due_at": cycle.due_at,
        "stopped_at": cycle.stopped_at,
        "component_class": cycle.component_class,
        **_key(cycle.key),
    }


def _cycle_of(data: Mapping[str, Any], ticket_id: str, customer: str) -> CycleRecord:
    return CycleRecord(
        data["clock_key"],
        ticket_id,
        data["metric"],
        data["outcome"],
        data["decided_at"],
        data["started_at"],
        data["due_at"],
        data["stopped_at"],
        data["component_class"],
        _key_of(data, customer),
    )


def _response(response: Response | None) -> dict[str, Any] | None:
    if response is None:
        return None
    return {
        "at": response.at,
        "seconds": response.seconds,
        "working_seconds": response.working_seconds,
        **_key(response.key),
    }


def _ticket(ticket: TicketRecord) -> dict[str, Any]:
    return {
        "support_level": ticket.support_level,
        "opened_at": ticket.opened_at,
        "opened_key": _key(ticket.opened_key),
        "closed_at": ticket.closed_at,
        "reaction": _response(ticket.reaction),
        "useful_response": _response(ticket.useful_response),
        "ratings": [{"at": r.at, "rating": r.rating, **_key(r.key)} for r in ticket.ratings],
        "resolutions": [{"at": m.at, **_key(m.key)} for m in ticket.resolutions],
        "agents": list(ticket.agents),
        "escalations": [{"at": m.at, "to_line": m.line, **_key(m.key)} for m in ticket.escalations],
    }


def _ticket_of(data: Mapping[str, Any], ticket_id: str, customer: str) -> TicketRecord:
    def response(found: Mapping[str, Any] | None) -> Response | None:
        if found is None:
            return None
        key = _key_of(found, customer)
        return Response(found["at"], found["seconds"], found["working_seconds"], key)

    return TicketRecord(
        ticket_id=ticket_id,
        customer_id=customer,
        support_level=data["support_level"],
        opened_at=data["opened_at"],
        opened_key=_key_of(data["opened_key"], customer),
        closed_at=data["closed_at"],
        reaction=response(data["reaction"]),
        useful_response=response(data["useful_response"]),
        ratings=tuple(Rating(r["at"], r["rating"], _key_of(r, customer)) for r in data["ratings"]),
        resolutions=tuple(Mark(m["at"], _key_of(m, customer)) for m in data["resolutions"]),
        agents=tuple(data["agents"]),
        escalations=tuple(Mark(m["at"], _key_of(m, customer), m["to_line"]) for m in data["escalations"]),
    )


# -- what a commit writes -------------------------------------------------------------------------------------


def _in_month(instants: Iterable[int], month: str) -> bool:
    return any(month_of(at) == month for at in instants)


def _ticket_in(ticket: TicketRecord, month: str) -> TicketRecord | None:
    """The ticket's own record as a report of `month` reads it, or None when nothing of it counts then.

    It counts where it was opened (reaction, useful response), rated, resolved (the feedback rate's
    denominator) or escalated. Of its ratings and resolutions a month counts only the latest in it (SPEC
    section 9): the item keeps that one, so a ticket rated every day still has a small item."""
    ratings = tuple([r for r in ticket.ratings if month_of(r.at) == month][-1:])
    resolutions = tuple([m for m in ticket.resolutions if month_of(m.at) == month][-1:])
    escalations = tuple(m for m in ticket.escalations if month_of(m.at) == month)
    if not (ratings or resolutions or escalations or _in_month([ticket.opened_at], month)):
        return None
    if (ratings, resolutions, escalations) == (ticket.ratings, ticket.resolutions, ticket.escalations):
        return ticket  # most often: nothing to leave out, and `replace` is the slowest way to copy it
    return replace(ticket, ratings=ratings, resolutions=resolutions, escalations=escalations)


def month_items(ticket: TicketRecord, cycles: Iterable[CycleRecord]) -> dict[str, dict[str, Any]]:
    """The ticket's index items by `<month>#<chunk>`: in each month, its own record (chunk 0) and its cycles
    decided then, packed into chunks of at most CHUNK_BYTES of JSON so that every item stays far below
    DynamoDB's 400 KB however long the conversation (2,000 events, 128-character ids)."""
    by_month: dict[str, list[str]] = {}
    for cycle in sorted(cycles, key=lambda c: (c.decided_at, c.clock_key)):
        by_month.setdefault(month_of(cycle.decided_at), []).append(_cycle_text(cycle))
    months = {month_of(at) for at in (ticket.opened_at, *(r.at for r in ticket.ratings))}
    months |= {month_of(m.at) for m in (*ticket.resolutions, *ticket.escalations)}
    items = {}
    for month in sorted(months | set(by_month)):
        own = _ticket_in(ticket, month)
        own_text = _ticket_text(own) if own is not None else None
        chunks: list[list[str]] = [[]]
        size = len(own_text or "")
        for text in by_month.get(month, []):
            if chunks[-1] and size + len(text) > CHUNK_BYTES:
                chunks.append([])
                size = 0
            chunks[-1].append(text)
            size += len(text) + 1
        for number, chunk in enumerate(chunks):
            items[f"{month}#{number}"] = {
                **report_key(month, ticket.ticket_id, number),
                "kind": REPORT_KIND,
                "month": month,
                "chunk": number,
                "ticket_id": ticket.ticket_id,
                "customer_id": ticket.customer_id,
                "ticket": own_text if number == 0 else None,
                "cycles": "[" + ",".join(chunk) + "]",
            }
    return items


_COMPACT = json.JSONEncoder(separators=(",", ":"))  # one encoder: json.dumps with options builds one a call


def _compact(data: Any) -> str:
    return _COMPACT.encode(data)


# Records are frozen, so their JSON is encoded once: a decided cycle rarely changes and a ticket's own record
# does not change with most events (a customer's message, a note, a sweep), yet every commit of the ticket
# writes them again. Bounded by what the tickets active at once hold (a few cycles each), not by the history:
# about a kilobyte an entry; replaying 20,000 events (a tenth as many active tickets) with a tenth of these sizes
# kept 98 % of the hits that unbounded caches get.


@lru_cache(maxsize=1 << 13)
def _cycle_text(cycle: CycleRecord) -> str:
    return _compact(_cycle(cycle))


@lru_cache(maxsize=1 << 11)
def _ticket_text(ticket: TicketRecord) -> str:
    return _compact(_ticket(ticket))


def _digest(item: Mapping[str, Any]) -> str:
    text = f"{item['ticket']}\n{item['cycles']}"
    return base64.urlsafe_b64encode(hashlib.blake2b(text.encode(), digest_size=9).digest()).decode()


@dataclass(frozen=True)
class ReportWrites:
    """A commit's index writes: the month items to Put, the keys of those to Delete, and the digests the
    STATE item keeps (`<month>#<chunk>` -> digest of its item) for the next commit to compare with."""

    puts: list[dict[str, Any]] = field(default_factory=list)
    deletes: list[dict[str, str]] = field(default_factory=list)
    digests: dict[str, str] = field(default_factory=dict)


def report_writes(ticket_id: str, reported: Mapping[str, str], folded: Folded) -> ReportWrites:
    """What the index needs after this fold, given what the ticket's STATE says was written (`reported`):
    only the months whose item changed, and the deletion of months the ticket no longer counts in."""
    inputs = record_inputs(folded)
    items = month_items(*records_from(inputs)) if inputs is not None else {}
    digests = {name: _digest(item) for name, item in items.items()}
    puts = [items[name] for name, digest in digests.items() if reported.get(name) != digest]
    gone = sorted(set(reported) - set(items))
    deletes = [report_key(month, ticket_id, int(chunk)) for month, chunk in (n.split("#") for n in gone)]
    return ReportWrites(puts, deletes, digests)


# -- reading ----------------------------------------------------------------------------------------------------


def records_of_items(items: Iterable[Mapping[str, Any]]) -> Records:
    """A month's index items as the KPIs' records, tickets and cycles in ticket order."""
    tickets: list[TicketRecord] = []
    cycles: list[CycleRecord] = []
    for item in sorted(items, key=lambda found: (str(found["ticket_id"]), int(found["chunk"]))):
        ticket_id, customer = item["ticket_id"], item["customer_id"]
        if item.get("ticket"):
            tickets.append(_ticket_of(json.loads(item["ticket"]), ticket_id, customer))
        cycles.extend(_cycle_of(c, ticket_id, customer) for c in json.loads(item["cycles"]))
    return Records(tuple(tickets), tuple(cycles))


class ReportIndex(Protocol):
    """A month of the index as the report reads it; both adapters answer it (infra.store.port)."""

    def month(self, month: str) -> Records:
        """Every record of the month's items (`yyyy-mm`): the cycles decided in it, the tickets counting in it."""
        ...


class TableReportIndex:
    """The index on the single table: one paged Query per shard (eventually consistent: the report runs
    hours after the month ended, and such a read costs half)."""

    def __init__(self, client: Any, table_name: str) -> None:
        self.client = client
        self.table_name = table_name

    def month(self, month: str) -> Records:
        items: list[dict[str, Any]] = []
        for partition in report_partitions(month):
            items.extend(
                query_all(
                    self.client,
                    TableName=self.table_name,
                    KeyConditionExpression="pk = :pk",
                    ExpressionAttributeValues=marshal({":pk": partition}),
                )
            )
        return records_of_items(items)
