"""The decided-cycle index in memory: the month items of `infra.store.report_index`, kept by month.

`MemoryStore.commit` applies a commit's index writes here as the transaction does on the table (a Put per
changed item, a Delete per item the ticket no longer fills); a month is read back through the same
decoding as the table's items, so both adapters hand the report the same records.
"""

from __future__ import annotations

from typing import Any

from infra.store.report_index import ReportWrites, records_of_items
from sla.kpi_records import Records


class MemoryReportIndex:
    def __init__(self) -> None:
        self._months: dict[str, dict[str, dict[str, Any]]] = {}  # month -> sort key -> item

    def apply(self, writes: ReportWrites) -> None:
        for key in writes.deletes:
            month = key["pk"].removeprefix("REPORT#").split("#", 1)[0]
            self._months.get(month, {}).pop(key["sk"], None)
        for item in writes.puts:
            self._months.setdefault(item["month"], {})[item["sk"]] = item

    def month(self, month: str) -> Records:
        return records_of_items(self._months.get(month, {}).values())
