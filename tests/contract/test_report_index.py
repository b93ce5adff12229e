"""The store contract for the decided-cycle index (infra.store.report_index), on both adapters.

Events go in as the ticket service takes them, and a month read back from the index gives the figures the
pure core computes from the same events (`sla-engine report`'s fold): the hand-worked month of
tests/kpi_month.py and the month before it. A late event that re-decides a cycle moves it between months.
On the table each commit writes the months it changed, and one that changes nothing of a month writes
nothing; the memory store makes a ticket's items from its last fold (local.memory.report_index).
"""

from __future__ import annotations

from typing import Any

import pytest

from cli.report_input import parse_envelopes
from infra.catalog_source import load_catalog
from infra.store.commit import plan_commit
from infra.store.report_index import report_key
from infra.ticket_service import TicketService
from sla.kpi_history import fold_history
from sla.kpis import Period, report
from tests.contract.conftest import Adapter
from tests.contract.test_queue import _fold, commit, with_plans
from tests.fold_helpers import MINUTE, epoch, message, opened
from tests.kpi_month import month_events

CATALOG = load_catalog(None)
MONTHS = {
    "2026-03": ("2026-03-01T00:00:00Z", "2026-04-01T00:00:00Z"),
    "2026-04": ("2026-04-01T00:00:00Z", "2026-05-01T00:00:00Z"),
}


def _received(envelope: dict[str, Any]) -> int:
    return max(epoch(envelope["detail"]["occurred_at"]), epoch(envelope["time"]))


def ingest_month(adapter: Adapter) -> int:
    """The hand-worked month through the ticket service, each event at its receipt, then every ticket
    re-folded (as the sweeper would) a day after the last event; returns that instant."""
    service = TicketService(adapter.store, CATALOG)
    envelopes = sorted(month_events(), key=_received)
    for envelope in envelopes:
        outcome = service.accept(envelope, _received(envelope), envelope["id"])
        assert outcome.status == "accepted", outcome.reason
    end = _received(envelopes[-1]) + 86_400
    for ticket in sorted({e["detail"]["ticket_id"] for e in envelopes if "ticket_id" in e["detail"]}):
        service.refold(ticket, end)
    return end


@pytest.mark.parametrize("month", MONTHS)
@pytest.mark.parametrize("by", [(), ("level", "severity", "agent", "customer", "line")])
def test_a_month_read_from_the_index_gives_the_figures_of_the_fold(
    adapter: Adapter, month: str, by: tuple[Any, ...]
) -> None:
    end = ingest_month(adapter)
    period = Period(*(epoch(text) for text in MONTHS[month]))
    events = parse_envelopes(enumerate(month_events(), start=1)).events
    folded = fold_history(events, CATALOG, end)

    indexed = adapter.store.report.month(month)  # type: ignore[attr-defined]

    expected = report(folded.tickets, folded.cycles, CATALOG, period, by)
    assert report(indexed.tickets, indexed.cycles, CATALOG, period, by) == expected
    # Only what counts in the month is in its partitions: its decided cycles, its tickets.
    assert {c.decided_at for c in indexed.cycles} <= set(range(period.start, period.end))
    assert indexed.cycles and indexed.tickets


def test_a_late_reply_moves_a_breach_out_of_the_month_it_was_decided_in(adapter: Adapter) -> None:
    with_plans(adapter)
    opened_at = epoch("2026-04-30T23:50:00Z")  # enterprise critical: 15 minutes, 24/7; due 05-01 00:05
    commit(adapter, "T-1", "C-E", opened(opened_at, "critical", ticket="T-1", customer="C-E"), opened_at)
    commit(adapter, "T-1", "C-E", None, epoch("2026-05-01T00:30:00Z"))  # the sweep decides the breach
    (breach,) = adapter.store.report.month("2026-05").cycles  # type: ignore[attr-defined]
    assert (breach.outcome, breach.decided_at) == ("breached", epoch("2026-05-01T00:05:00Z"))

    # The agent's reply of 23:55 arrives late: the cycle was met, in April; May holds nothing of the ticket.
    late = message(opened_at + 5 * MINUTE, "agent", ticket="T-1", customer="C-E")
    commit(adapter, "T-1", "C-E", late, epoch("2026-05-01T00:40:00Z"))

    may, april = (adapter.store.report.month(m) for m in ("2026-05", "2026-04"))  # type: ignore[attr-defined]
    assert (may.tickets, may.cycles) == ((), ())
    ((met,), (ticket,)) = april.cycles, april.tickets
    assert (met.outcome, met.decided_at, met.metric) == ("met", opened_at + 5 * MINUTE, "first_response")
    assert ticket.reaction is not None and ticket.reaction.seconds == 5 * MINUTE
    if adapter.name == "moto":  # the STATE item's digests of what the table holds (memory: see below)
        assert adapter.store.load_ticket("T-1").reported.keys() == {"2026-04#0"}


# The table's way to keep commits cheap: the memory store makes a ticket's items from its last fold instead
# (local.memory.report_index), checked against these writes in tests/test_memory_backend.py.
@pytest.mark.parametrize("adapter", ["moto"], indirect=True)
def test_a_commit_writes_only_the_months_that_changed(adapter: Adapter) -> None:
    at = epoch("2026-04-07T09:00:00Z")
    first = opened(at, ticket="T-1", customer="C-1")
    record = adapter.store.load_ticket("T-1")
    writes = plan_commit(
        record, (first.detail_type, first), _fold(adapter, record, first, "C-1", at), at, None, 30
    )
    assert [item["sk"] for item in writes.report.puts] == ["TICKET#T-1#0"] and writes.report.deletes == []
    assert writes.report.puts[0]["pk"] == report_key("2026-04", "T-1")["pk"]
    commit(adapter, "T-1", "C-1", first, at)

    # An internal note decides nothing and changes none of the ticket's figures: no index write.
    note = message(at + MINUTE, "agent", "internal", ticket="T-1")
    record = adapter.store.load_ticket("T-1")
    folded = _fold(adapter, record, note, "C-1", at + MINUTE)
    writes = plan_commit(record, (note.detail_type, note), folded, at + MINUTE, None, 30)
    assert (writes.report.puts, writes.report.deletes) == ([], [])
    assert writes.report.digests == record.reported
