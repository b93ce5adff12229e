"""What-if on history (SPEC section 11): the same events folded under the current and a proposed catalog.

Every promise is a pure fold of events, so "what would last quarter have looked like under this plan?" is
the fold run again with another catalog. Each ticket is grouped once and folded once per catalog up to the
period's end, exactly as `sla-engine report` folds it; the figures are SPEC section 9's (`sla.kpis`), so a
what-if's "current" column is the report's figure for the same period.

What is compared:
- compliance per level, severity and metric (cycles decided in the period, met over decided);
- pages per route per week: the `trigger` alerts the fold delivered in the period, counted by the route that
  was paged (`delivered_to`: off duty, a route's alerts go to its fallback, SPEC section 10), by the week
  (Monday 00:00 UTC) they fired in;
- credits per customer and level, and in total as monthly fees (the sum of the credit percentages / 100);
- staffing (`sla.staffing`): agents per hour of the week under each catalog's first-response targets.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any, Final

from sla.catalog import Catalog
from sla.effects import Alert
from sla.events import EventDetail
from sla.fold import fold
from sla.kpi_history import TicketHistory, ticket_histories
from sla.kpi_records import CycleRecord, TicketRecord, records_of
from sla.kpi_series import WEEK, week_start
from sla.kpis import Period, iso
from sla.kpis import report as kpi_report
from sla.staffing import DAYS, ROSTERS, Arrival, Staffing, handling_work, staffing
from sla.vocabulary import SEVERITIES

PAGE: Final = "trigger"
SIDES: Final = ("current", "proposed")
BY: Final = ("level", "severity")


@dataclass
class _Side:
    """One catalog's fold of the history."""

    catalog: Catalog
    tickets: list[TicketRecord] = field(default_factory=list)
    cycles: list[CycleRecord] = field(default_factory=list)
    pages: Counter[tuple[str, int]] = field(default_factory=Counter)  # (route, week start) -> triggers

    def fold(self, ticket: TicketHistory, period: Period) -> TicketRecord | None:
        folded = fold(ticket.ticket_id, ticket.events, ticket.plan_changes, self.catalog, period.end)
        for effect in folded.effects:
            if isinstance(effect, Alert) and effect.kind == PAGE and effect.at in period:
                self.pages[effect.delivered_to, week_start(effect.at)] += 1
        found = records_of(folded)
        if found is None:
            return None
        self.tickets.append(found[0])
        self.cycles.extend(found[1])
        return found[0]

    def target(self, record: TicketRecord) -> int | None:
        level = self.catalog.at(record.opened_at).levels.get(record.opened_key.level)
        return level.first_response.for_severity(record.opened_key.severity) if level else None

    def report(self, period: Period) -> dict[str, Any]:
        return kpi_report(self.tickets, self.cycles, self.catalog, period, BY)


@dataclass(frozen=True, slots=True)
class WhatIf:
    period: Period
    tickets: int  # folded (opened by the period's end), the same under both catalogs
    documents: tuple[dict[str, Any], dict[str, Any]]  # SPEC section 9's documents, by level and severity
    pages: tuple[Counter[tuple[str, int]], Counter[tuple[str, int]]]
    staffing: Staffing


def simulate(
    events: Iterable[EventDetail],
    current: Catalog,
    proposed: Catalog,
    period: Period,
    timezone: str = "UTC",
    probability: float = 0.8,
    handling: float | None = None,
) -> WhatIf:
    """Fold every ticket under both catalogs at the period's end and measure the staffing inputs once."""
    sides = (_Side(current), _Side(proposed))
    arrivals: list[Arrival] = []
    work = [0, 0]
    for ticket in ticket_histories(events):
        now, then = (side.fold(ticket, period) for side in sides)
        if now is None or then is None or now.opened_at not in period:
            continue
        arrivals.append(Arrival(now.opened_at, (sides[0].target(now), sides[1].target(then))))
        seconds, messages = handling_work(ticket.events, period.end)
        work[0] += seconds
        work[1] += messages
    documents = (sides[0].report(period), sides[1].report(period))
    plan = staffing(arrivals, (work[0], work[1]), period, timezone, probability, handling)
    return WhatIf(period, len(sides[0].tickets), documents, (sides[0].pages, sides[1].pages), plan)


# -- the comparison as a document -------------------------------------------------------------------------


def change(before: float | None, after: float | None) -> float | None:
    """after − before, one decimal; None when either is missing (nothing to compare)."""
    return None if before is None or after is None else round(after - before, 1)


def _compliance(documents: Sequence[dict[str, Any]], levels: Sequence[str]) -> list[dict[str, Any]]:
    empty = {"met": 0, "breached": 0, "percent": None}
    cells: dict[tuple[str, str, str], dict[str, dict[str, Any]]] = {}
    for side, document in zip(SIDES, documents, strict=True):
        for group in document["groups"]:
            key = group["key"]
            for entry in group["compliance"]:
                if entry["met"] + entry["breached"]:
                    tally = {k: entry[k] for k in ("met", "breached", "percent")}
                    cells.setdefault((key["level"], key["severity"], entry["metric"]), {})[side] = tally
    order = {name: index for index, name in enumerate(levels)}
    rows = []
    for level, severity, metric in sorted(
        cells, key=lambda k: (order.get(k[0], len(order)), k[0], SEVERITIES.index(k[1]), k[2])
    ):
        pair = cells[level, severity, metric]
        now, then = pair.get("current", empty), pair.get("proposed", empty)
        rows.append(
            {
                "level": level,
                "severity": severity,
                "metric": metric,
                "current": now,
                "proposed": then,
                "change_points": change(now["percent"], then["percent"]),
            }
        )
    return rows


def weeks_of(period: Period) -> list[int]:
    """The Mondays (00:00 UTC) of the weeks the period touches."""
    return list(range(week_start(period.start), period.end, WEEK))


def _pages(pages: Sequence[Counter[tuple[str, int]]], period: Period) -> dict[str, Any]:
    weeks = weeks_of(period)
    span = (period.end - period.start) / WEEK  # the period's length in weeks, a part of one counted as such
    routes = sorted({route for counter in pages for route, _ in counter})
    rows = []
    for route in routes:
        now = [pages[0][route, week] for week in weeks]
        then = [pages[1][route, week] for week in weeks]
        rows.append(
            {
                "route": route,
                "current": now,
                "proposed": then,
                "current_total": sum(now),
                "proposed_total": sum(then),
                "current_per_week": round(sum(now) / span, 1),
                "proposed_per_week": round(sum(then) / span, 1),
            }
        )
    return {"weeks": [iso(week)[:10] for week in weeks], "span_weeks": round(span, 1), "routes": rows}


def _credits(documents: Sequence[dict[str, Any]]) -> dict[str, Any]:
    found: dict[tuple[str, str], dict[str, Any]] = {}
    for side, document in zip(SIDES, documents, strict=True):
        for credit in document["credits"]:
            entry = {k: credit[k] for k in ("breaches", "hours_late", "percent")}
            found.setdefault((credit["customer_id"], credit["support_level"]), {})[side] = entry
    none = {"breaches": 0, "hours_late": 0, "percent": 0.0}
    rows = []
    for (customer, level), pair in sorted(found.items()):
        now, then = pair.get("current", none), pair.get("proposed", none)
        rows.append(
            {
                "customer_id": customer,
                "support_level": level,
                "current": now,
                "proposed": then,
                "change_percent": round(then["percent"] - now["percent"], 2),
            }
        )
    totals = [round(sum(row[side]["percent"] for row in rows) / 100, 2) for side in SIDES]
    return {"customers": rows, "current_monthly_fees": totals[0], "proposed_monthly_fees": totals[1]}


def _shifts(plan: Staffing, roster: str) -> list[dict[str, Any]]:
    now, then = plan.shifts(roster, 0), plan.shifts(roster, 1)
    return [
        {"day": day, "shift": name, "current_agents": before, "proposed_agents": after}
        for (day, name, before), (_, _, after) in zip(now, then, strict=True)
    ]


def _staffing(plan: Staffing) -> dict[str, Any]:
    return {
        "timezone": plan.timezone,
        "probability": plan.probability,
        "handling_seconds": round(plan.handling_seconds),
        "handling": "measured" if plan.handling_measured else "given",
        "tickets": plan.tickets,
        "agent_messages": plan.messages,
        "hours": [
            {
                "day": DAYS[hour.slot // 24],
                "hour": hour.slot % 24,
                "arrivals": hour.arrivals,
                "tickets_per_hour": round(hour.rate, 3),
                "load_erlangs": round(hour.load, 3),
                **{f"{side}_agents": hour.agents[i] for i, side in enumerate(SIDES)},
            }
            for hour in plan.hours
        ],
        "shifts": {roster: _shifts(plan, roster) for roster in ROSTERS},
        "agent_hours_per_week": {
            roster or "hourly": {side: plan.agent_hours(i, roster) for i, side in enumerate(SIDES)}
            for roster in (None, *ROSTERS)
        },
    }


def document(whatif: WhatIf, catalogs: Sequence[str], levels: Sequence[str]) -> dict[str, Any]:
    """The what-if as one JSON document (its shape is in the README's "Plan designer" section).

    `catalogs` names the two catalogs (their files) and `levels` orders the levels (the current catalog's,
    then the proposed one's own)."""
    return {
        "period": {"from": iso(whatif.period.start), "to": iso(whatif.period.end)},
        "catalogs": dict(zip(SIDES, catalogs, strict=True)),
        "compliance": _compliance(whatif.documents, levels),
        "pages": _pages(whatif.pages, whatif.period),
        "credits": _credits(whatif.documents),
        "staffing": _staffing(whatif.staffing),
    }
