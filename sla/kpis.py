"""The figures of SPEC section 9 over a period, from KPI records (`sla.kpi_records`), as the report's JSON.

Each figure has an exact denominator, because each is a number someone will quote:
- compliance of a metric counts the cycles *decided* in [from, to): met at `stopped_at`, breached at the
  breach instant; cancelled and undecided cycles never count. percent = 100 × met / (met + breached).
- reaction (first public agent message, holding replies included) and useful response (first public agent
  message of kind `answer`) count the tickets *opened* in the period; a ticket still without one at `to`
  is `waiting`, one closed without one is `unanswered`, and neither is in the times.
- CSAT counts each ticket's latest rating given in the period; its feedback rate divides the rated
  tickets by the tickets resolved in the period (each ticket once, under its latest resolution).
- hardware is the compliance of hardware_replacement cycles per component class.
- lines: escalations received in the period, line_pickup cycles decided in it, and the median pickup time.
- credits: per customer and level, each first_response or hardware_replacement cycle breached in the period
  is `ceil((min(stopped_at, to) − due_at) / 3600)` hours late; the credit is min(cap, rate × hours) of the
  monthly fee, with the rate and cap of the catalog version the clock started under.

Grouping (`by`) splits every figure but lines and credits by any of level, severity, line, agent and
customer, each item under its own attributes at the instant it counts (see sla.kpi_records).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any, Final, get_args

from sla.calendar import from_epoch
from sla.catalog import Catalog, Credit
from sla.kpi_records import DIMENSIONS, CycleRecord, Dimension, Key, Response, TicketRecord
from sla.kpi_stats import durations, nearest_rank, percent
from sla.vocabulary import LEVEL_METRICS, SEVERITIES, ComponentClass, Metric

COMPONENT_CLASSES: Final[tuple[ComponentClass, ...]] = get_args(ComponentClass)
CREDITED_METRICS: Final[frozenset[Metric]] = frozenset({"first_response", "hardware_replacement"})
PICKUP_METRIC: Final = "line_pickup"  # SPEC section 10's OLA clock between lines; its key names its line
HOUR: Final = 3600


@dataclass(frozen=True, slots=True)
class Period:
    """[start, end) in epoch seconds (UTC)."""

    start: int
    end: int

    def __post_init__(self) -> None:
        if self.end <= self.start:
            raise ValueError("a period must end after it starts")

    def __contains__(self, at: object) -> bool:
        return isinstance(at, int) and self.start <= at < self.end


def iso(epoch: int) -> str:
    return from_epoch(epoch).strftime("%Y-%m-%dT%H:%M:%SZ")


@dataclass
class _Tally:
    met: int = 0
    breached: int = 0

    def add(self, cycle: CycleRecord) -> None:
        if cycle.outcome == "met":
            self.met += 1
        else:
            self.breached += 1

    def view(self) -> dict[str, Any]:
        return {
            "met": self.met,
            "breached": self.breached,
            "percent": percent(self.met, self.met + self.breached),
        }


@dataclass
class _Responses:
    samples: list[Response] = field(default_factory=list)
    waiting: int = 0
    unanswered: int = 0

    def view(self) -> dict[str, Any]:
        return {
            **durations([s.seconds for s in self.samples], [s.working_seconds for s in self.samples]),
            "waiting": self.waiting,
            "unanswered": self.unanswered,
        }


@dataclass
class _Group:
    compliance: dict[Metric, _Tally] = field(default_factory=lambda: {m: _Tally() for m in LEVEL_METRICS})
    hardware: dict[ComponentClass, _Tally] = field(
        default_factory=lambda: {c: _Tally() for c in COMPONENT_CLASSES}
    )
    reaction: _Responses = field(default_factory=_Responses)
    useful: _Responses = field(default_factory=_Responses)
    ratings: list[int] = field(default_factory=list)
    resolved: int = 0

    def view(self) -> dict[str, Any]:
        good = sum(1 for rating in self.ratings if rating >= 4)
        return {
            "compliance": [{"metric": metric, **tally.view()} for metric, tally in self.compliance.items()],
            "reaction": self.reaction.view(),
            "useful_response": self.useful.view(),
            "csat": {
                "ratings": len(self.ratings),
                "good": good,
                "percent": percent(good, len(self.ratings)),
                "feedback_rate": percent(len(self.ratings), self.resolved),
            },
            "hardware": [{"component_class": c, **tally.view()} for c, tally in self.hardware.items()],
        }


@dataclass
class _Line:
    escalations: int = 0
    pickup: _Tally = field(default_factory=_Tally)
    pickup_seconds: list[int] = field(default_factory=list)


@dataclass
class _Credit:
    breaches: int = 0
    hours_late: int = 0
    owed: Decimal = Decimal(0)
    cap: Decimal = Decimal(0)
    latest_start: int | None = None


class _Report:
    """One pass over the records, each counted item added to its group, its line and its customer's credit,
    so a year of records is read once whatever the grouping."""

    def __init__(self, catalog: Catalog, period: Period, by: Sequence[Dimension]) -> None:
        self.catalog = catalog
        self.period = period
        self.by = tuple(by)
        self.groups: dict[tuple[str | None, ...], _Group] = {}
        self.lines: dict[str, _Line] = {}
        self.credits: dict[tuple[str, str], _Credit] = {}

    def group(self, key: Key) -> _Group:
        if key.line is not None:
            self.lines.setdefault(key.line, _Line())
        projected = tuple(getattr(key, dimension) for dimension in self.by)
        found = self.groups.get(projected)
        if found is None:
            found = self.groups[projected] = _Group()
        return found

    # -- tickets ------------------------------------------------------------------------------------------

    def ticket(self, record: TicketRecord) -> None:
        period = self.period
        if record.opened_at in period:
            closed = record.closed_at is not None and record.closed_at < period.end
            for response, kind in ((record.reaction, "reaction"), (record.useful_response, "useful")):
                if response is not None and response.at < period.end:
                    getattr(self.group(response.key), kind).samples.append(response)
                elif closed:
                    getattr(self.group(record.opened_key), kind).unanswered += 1
                else:
                    getattr(self.group(record.opened_key), kind).waiting += 1
        # Ratings and resolutions are in the fold's order (SPEC section 5), so the last one is the latest.
        rated = [rating for rating in record.ratings if rating.at in period]
        if rated:
            self.group(rated[-1].key).ratings.append(rated[-1].rating)
        resolved = [mark for mark in record.resolutions if mark.at in period]
        if resolved:
            self.group(resolved[-1].key).resolved += 1
        for escalation in record.escalations:
            if escalation.at in period and escalation.line is not None:
                self.lines.setdefault(escalation.line, _Line()).escalations += 1

    # -- cycles -------------------------------------------------------------------------------------------

    def cycle(self, cycle: CycleRecord) -> None:
        if cycle.decided_at not in self.period:
            return
        group = self.group(cycle.key)
        tally = group.compliance.get(cycle.metric)
        if tally is not None:
            tally.add(cycle)
        if cycle.metric == "hardware_replacement" and cycle.component_class is not None:
            group.hardware[cycle.component_class].add(cycle)
        if str(cycle.metric) == PICKUP_METRIC and cycle.key.line is not None:
            line = self.lines.setdefault(cycle.key.line, _Line())
            line.pickup.add(cycle)
            if cycle.stopped_at is not None and cycle.stopped_at < self.period.end:
                line.pickup_seconds.append(cycle.stopped_at - cycle.started_at)
        if cycle.outcome == "breached" and cycle.metric in CREDITED_METRICS:
            self.credit(cycle)

    def credit(self, cycle: CycleRecord) -> None:
        end = self.period.end
        due = cycle.due_at if cycle.due_at is not None else cycle.decided_at
        stopped = min(cycle.stopped_at, end) if cycle.stopped_at is not None else end
        hours = max(0, -(-(stopped - due) // HOUR))
        entry = self.credits.setdefault((cycle.key.customer, cycle.key.level), _Credit())
        entry.breaches += 1
        entry.hours_late += hours
        terms = self.terms(cycle)
        if terms is None:
            return
        entry.owed += Decimal(str(terms.percent_per_hour)) * hours
        if entry.latest_start is None or cycle.started_at >= entry.latest_start:
            entry.latest_start = cycle.started_at
            entry.cap = Decimal(str(terms.cap_percent))

    def terms(self, cycle: CycleRecord) -> Credit | None:
        """The credit terms of the catalog version in force when the clock started (SPEC section 4)."""
        level = self.catalog.at(cycle.started_at).levels.get(cycle.key.level)
        return level.credit if level is not None else None

    # -- the document -------------------------------------------------------------------------------------

    def document(self) -> dict[str, Any]:
        return {
            "period": {"from": iso(self.period.start), "to": iso(self.period.end)},
            "by": list(self.by),
            "groups": [
                {"key": dict(zip(self.by, key, strict=True)), **self.groups[key].view()}
                for key in sorted(self.groups, key=self.rank)
            ],
            "lines": [
                {
                    "line": name,
                    "escalations": line.escalations,
                    "pickup_met": line.pickup.met,
                    "pickup_breached": line.pickup.breached,
                    "median_pickup_seconds": nearest_rank(sorted(line.pickup_seconds), 50),
                }
                for name, line in sorted(self.lines.items())
            ],
            "credits": [
                {
                    "customer_id": customer,
                    "support_level": level,
                    "breaches": entry.breaches,
                    "hours_late": entry.hours_late,
                    "percent": float(min(entry.cap, entry.owed)),
                }
                for (customer, level), entry in sorted(self.credits.items())
            ],
        }

    def rank(self, key: tuple[str | None, ...]) -> tuple[tuple[int, int, str], ...]:
        """Levels in catalog order, severities highest first, anything else by name; missing values last."""
        levels = list(self.catalog.levels)
        ranks = []
        for dimension, value in zip(self.by, key, strict=True):
            if value is None:
                ranks.append((1, 0, ""))
            elif dimension == "level":
                ranks.append((0, levels.index(value) if value in levels else len(levels), value))
            elif dimension == "severity":
                ranks.append((0, SEVERITIES.index(value) if value in SEVERITIES else len(SEVERITIES), value))
            else:
                ranks.append((0, 0, value))
        return tuple(ranks)


def report(
    tickets: Iterable[TicketRecord],
    cycles: Iterable[CycleRecord],
    catalog: Catalog,
    period: Period,
    by: Sequence[Dimension] = (),
) -> dict[str, Any]:
    """The period's figures as SPEC section 9's JSON document.

    `tickets` and `cycles` may hold records from outside the period (a fold of a whole file, an index read
    by month with a margin): only what counts in [from, to) is counted.
    """
    unknown = [dimension for dimension in by if dimension not in DIMENSIONS]
    if unknown:
        raise ValueError(f"unknown grouping {unknown[0]!r}; known: {', '.join(DIMENSIONS)}")
    state = _Report(catalog, period, by)
    for ticket in tickets:
        state.ticket(ticket)
    for cycle in cycles:
        state.cycle(cycle)
    return state.document()
