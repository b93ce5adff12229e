"""The decided-cycle index in memory: the month items of `infra.store.report_index`, kept by month.

On the table, every commit that changes a ticket's records puts its changed month items (and deletes the
months it no longer fills), so a ticket of ten events writes its items up to ten times. The items the table
holds after a ticket's commits are those its last commit made (`month_items` of that fold's records), so
here a commit only notes its fold's record inputs (`sla.kpi_records.record_inputs`), and a ticket's items
are made from its last note when a month is read, or once PENDING_TICKETS other tickets were committed
since (a ticket goes quiet within a day or two): once a ticket, not once a commit. A month is read back
through the same decoding as the table's items, so both adapters hand the report the same records
(tests/contract/test_report_index.py; tests/test_memory_backend.py checks the items against the table's
writes, commit by commit).
"""

from __future__ import annotations

from collections import OrderedDict
from typing import Any

from infra.store.report_index import month_items, records_of_items
from sla.folded import Folded
from sla.kpi_records import RecordInputs, Records, record_inputs, records_from

PENDING_TICKETS = 2048
"""Tickets whose items wait for a read or for the ticket to go quiet: a few kilobytes of inputs each."""


class MemoryReportIndex:
    def __init__(self, pending_tickets: int = PENDING_TICKETS) -> None:
        self.pending_tickets = pending_tickets
        self._months: dict[str, dict[str, dict[str, Any]]] = {}  # month -> sort key -> item
        self._written: dict[str, list[tuple[str, str]]] = {}  # ticket -> (month, sort key) of its items
        self._pending: OrderedDict[str, RecordInputs | None] = OrderedDict()  # ticket -> its last inputs

    def note(self, ticket_id: str, folded: Folded) -> None:
        """A commit of `folded`: its items replace the ticket's, now or later (module docstring)."""
        self._pending[ticket_id] = record_inputs(folded)
        self._pending.move_to_end(ticket_id)
        if len(self._pending) > self.pending_tickets:
            self._settle(*self._pending.popitem(last=False))

    def month(self, month: str) -> Records:
        while self._pending:
            self._settle(*self._pending.popitem(last=False))
        return records_of_items(self._months.get(month, {}).values())

    def _settle(self, ticket_id: str, inputs: RecordInputs | None) -> None:
        items = month_items(*records_from(inputs)) if inputs is not None else {}
        for month, key in self._written.pop(ticket_id, ()):
            self._months[month].pop(key, None)
        for item in items.values():
            self._months.setdefault(item["month"], {})[item["sk"]] = item
        if items:
            self._written[ticket_id] = [(item["month"], item["sk"]) for item in items.values()]
