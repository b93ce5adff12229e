"""The demo's closing figures: the week's KPIs (SPEC section 9) by level, as `sla-engine report` computes them.

Computed from the scenario's events on the pure core (the same fold), not from the replay's document, so the
demo shows that the report needs no store: the clocks the timeline told about are the ones counted here.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from rich.console import Console

from cli.report import kpi_tables
from cli.report_input import parse_envelopes
from sla.calendar import to_epoch
from sla.catalog import Catalog
from sla.kpi_history import fold_history
from sla.kpis import Period, report

DAY = 86_400


def week_document(events: Sequence[dict[str, Any]], catalog: Catalog, horizon: datetime) -> dict[str, Any]:
    """The figures from the first event's day (midnight UTC) up to the demo's horizon, grouped by level."""
    history = parse_envelopes(enumerate(events, start=1))  # the scenario's invalid event is left out
    end = to_epoch(horizon)
    start = min((to_epoch(event.occurred_at) for event in history.events), default=end - 7 * DAY)
    period = Period(start - start % DAY, end)
    records = fold_history(history.events, catalog, period.end)
    return report(records.tickets, records.cycles, catalog, period, ("level",))


def print_week_kpis(
    console: Console, events: Sequence[dict[str, Any]], catalog: Catalog, horizon: datetime
) -> None:
    document = week_document(events, catalog, horizon)
    console.rule("[bold]The week's figures (SPEC section 9), as `sla-engine report --by level` computes them")
    for table in kpi_tables(document):
        console.print(table)
