"""The decided-cycle index's items (infra.store.report_index): bounded, and read back as the records written.

The worst case a ticket can make under the store's bounds: 2,000 events (MAX_EVENTS_PER_TICKET) in one month,
a conversation of 1,000 customer messages each answered by another agent from another line, every id at
its 128 characters (ticket, customer, event, agent, line): 1,000 decided cycles in one month. Every item
stays far below DynamoDB's 400 KB, and the month read back gives the figures of the records themselves.
"""

from __future__ import annotations

from typing import Any

from infra.store.keys import marshal
from infra.store.report_index import CHUNK_BYTES, month_items, records_of_items, report_writes
from infra.ticket_service import MAX_EVENTS_PER_TICKET
from local.memory.report_index import MemoryReportIndex
from sla.events import parse_detail
from sla.fold import fold
from sla.kpi_records import records_of
from sla.kpis import Period, report
from tests.fold_helpers import MINUTE, default_catalog, epoch, iso
from tests.test_store_limits import ITEM_LIMIT, item_size

LONG = 128  # IDENTIFIER_MAX_CHARS of the event contract
T0 = epoch("2026-04-01T08:00:00Z")
TICKET = "T".ljust(LONG, "t")
CUSTOMER = "C".ljust(LONG, "c")


def _event(detail_type: str, number: int, at: int, **fields: Any) -> Any:
    detail = {
        "event_id": f"e{number}".ljust(LONG, "x"),
        "occurred_at": iso(at),
        "ticket_id": TICKET,
        "customer_id": CUSTOMER,
        **fields,
    }
    return parse_detail(detail_type, detail)


def longest_conversation() -> list[Any]:
    events = [_event("Ticket Opened", 0, T0, severity="high", subject="Disk failing")]
    for turn in range((MAX_EVENTS_PER_TICKET - 1) // 2):
        at = T0 + (turn + 1) * 20 * MINUTE
        agent, line = f"A{turn}".ljust(LONG, "a"), f"L{turn}".ljust(LONG, "l")
        common = {"visibility": "public"}
        events.append(
            _event("Ticket Message Posted", 2 * turn + 1, at, author="agent", message_id=f"m{turn}a",
                   agent_id=agent, line=line, **common)
        )  # fmt: skip
        events.append(
            _event("Ticket Message Posted", 2 * turn + 2, at + MINUTE, author="customer",
                   message_id=f"m{turn}c", **common)
        )  # fmt: skip
    return events


def test_the_longest_month_of_a_ticket_stays_far_below_the_item_limit_and_reads_back_whole() -> None:
    events = longest_conversation()
    assert len(events) == MAX_EVENTS_PER_TICKET - 1
    now = T0 + 30 * 86_400
    folded = fold(TICKET, events, (), default_catalog(), now)
    found = records_of(folded)
    assert found is not None
    ticket, cycles = found
    assert len(cycles) >= 999  # every agent message decides a cycle in April

    items = month_items(ticket, cycles)

    sizes = [item_size(marshal(item)) for item in items.values()]
    assert len(items) > 1  # the month's cycles take several chunks...
    assert max(sizes) < ITEM_LIMIT // 2  # ...each at most half the limit
    assert all(len(item["cycles"]) <= CHUNK_BYTES + 1_000 for item in items.values())
    period = Period(epoch("2026-04-01T00:00:00Z"), epoch("2026-05-01T00:00:00Z"))
    read = records_of_items(items.values())
    assert read.cycles == tuple(sorted(cycles, key=lambda c: (c.decided_at, c.clock_key)))
    catalog = default_catalog()
    by = ("level", "severity", "line", "agent", "customer")
    assert report(read.tickets, read.cycles, catalog, period, by) == report(
        [ticket], cycles, catalog, period, by
    )


def test_rewriting_a_month_writes_every_chunk_it_changed_and_deletes_chunks_left_over() -> None:
    events = longest_conversation()
    now = T0 + 30 * 86_400
    catalog = default_catalog()
    full = report_writes(TICKET, {}, fold(TICKET, events, (), catalog, now))
    assert len(full.puts) == len(full.digests) > 1 and not full.deletes

    shorter = report_writes(TICKET, full.digests, fold(TICKET, events[:3], (), catalog, now))

    (kept,) = shorter.digests
    assert [item["chunk"] for item in shorter.puts] == [0]
    assert sorted(key["sk"] for key in shorter.deletes) == sorted(
        f"TICKET#{TICKET}#{name.split('#')[1]}" for name in full.digests if name != kept
    )


def _story() -> list[Any]:
    """A ticket's events as delivered: replies by two agents from two lines, a customer's messages, an
    internal note, a severity change, a late reply (delivered after the breach it prevents) and the end."""
    agent = {"author": "agent", "visibility": "public"}
    return [
        _event("Ticket Opened", 0, T0, severity="high", subject="Disk failing"),
        _event("Ticket Message Posted", 1, T0 + 10 * MINUTE, message_id="m1", author="customer",
               visibility="public"),
        _event("Ticket Message Posted", 2, T0 + 30 * MINUTE, message_id="m2", agent_id="A1", line="L1", **agent),
        _event("Ticket Severity Changed", 3, T0 + 40 * MINUTE, severity="critical"),
        _event("Ticket Message Posted", 4, T0 + 50 * MINUTE, message_id="m3", author="customer",
               visibility="public"),
        _event("Ticket Message Posted", 5, T0 + 55 * MINUTE, message_id="m4", author="agent",
               visibility="internal", agent_id="A2", line="L2"),
        _event("Ticket Message Posted", 6, T0 + 70 * MINUTE, message_id="m5", author="customer",
               visibility="public"),
        _event("Ticket Message Posted", 7, T0 + 75 * MINUTE, message_id="m6", agent_id="A2", line="L2",
               kind="answer", **agent),
        _event("Ticket Status Changed", 8, T0 + 9 * 3_600, status="resolved"),
        _event("Ticket Status Changed", 9, T0 + 30 * 86_400, status="closed"),
    ]  # fmt: skip


def test_the_memory_index_holds_what_the_table_holds_after_every_commit() -> None:
    """The table applies each commit's writes; the memory store notes each commit's fold and makes the
    items when read (local.memory.report_index). After every commit of a ticket's story (each event,
    sweeps between and after them, a late reply re-deciding a breached cycle) both hold the same items."""
    catalog = default_catalog()
    story = _story()
    late = story.pop(7)  # the answer, delivered after the follow-up it meets was breached
    sweeps = [T0 + hour * 3_600 for hour in range(24)] + [T0 + day * 86_400 for day in (2, 40, 40)]
    nows = sorted([_at(e) for e in story] + [_at(e) + 1 for e in story] + sweeps)
    commits = [([e for e in story if _at(e) <= now], now) for now in nows]
    commits.append(([*story, late], T0 + 41 * 86_400))
    table: dict[tuple[str, str], dict[str, Any]] = {}
    reported: dict[str, str] = {}
    memory = MemoryReportIndex()
    for events, now in commits:
        folded = fold(TICKET, events, (), catalog, now)
        writes = report_writes(TICKET, reported, folded)
        for key in writes.deletes:
            del table[key["pk"], key["sk"]]
        table.update({(item["pk"], item["sk"]): item for item in writes.puts})
        reported = writes.digests
        memory.note(TICKET, folded)
        months = {item["month"] for item in table.values()} | {"2026-03", "2026-04", "2026-05"}
        for month in sorted(months):
            in_table = records_of_items(i for i in table.values() if i["month"] == month)
            assert memory.month(month) == in_table, (now, month)
    assert reported


def _at(event: Any) -> int:
    return int(event.occurred_at.timestamp())


def _other(ticket: str) -> Any:
    detail = {"event_id": f"o-{ticket}", "occurred_at": iso(T0), "ticket_id": ticket, "customer_id": "C-1"}
    return parse_detail("Ticket Opened", {**detail, "severity": "low", "subject": "Slow"})
