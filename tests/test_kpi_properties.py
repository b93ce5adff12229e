"""Properties of the KPIs over generated histories: what must hold for any tickets, not just the worked month.

- compliance never counts a cancelled (or undecided) cycle, and counts every cycle decided in the period once;
- a service credit never exceeds its level's cap (nor 100 % of the fee), and is min(cap, rate × hours late);
- the quality sample is a subset of each agent's tickets closed in the period, as large as it can be up to N,
  the same for the same seed, and independent of the other agents' tickets;
- the figures depend on the set of events, not on their order in the file.
"""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from cli.report_input import parse_envelopes
from infra.catalog_source import load_catalog
from sla.catalog import Catalog, Credit
from sla.events import AnyTicketEvent, SupportPlanChanged
from sla.fold import fold
from sla.kpi_history import fold_history
from sla.kpi_records import CycleRecord, Key, TicketRecord, decided
from sla.kpi_sample import quality_sample
from sla.kpis import CREDITED_METRICS, Period, report
from sla.vocabulary import METRICS, SEVERITIES
from tests.kpi_month import Ticket, plan

CATALOG = load_catalog(None)
LEVELS = list(CATALOG.levels)
START = datetime(2026, 4, 1, tzinfo=UTC)
EPOCH_START = int(START.timestamp())
SPAN_MINUTES = 14 * 24 * 60

ACTIONS = st.sampled_from(
    [
        "answer",
        "holding",
        "internal",
        "customer",
        "pending",
        "open",
        "resolved",
        "closed",
        "severity",
        "disk",
        "disk_done",
        "ram",
        "ram_done",
        "rate",
    ]
)


def _at(minute: int) -> str:
    return (START + timedelta(minutes=minute)).strftime("%Y-%m-%dT%H:%M:%SZ")


def _history(tickets: list[tuple[str, str, int, list[tuple[int, str, int]]]]) -> list[dict[str, Any]]:
    """EventBridge events of generated tickets: (customer, severity, opening minute, actions)."""
    events = [plan(f"C-{level}", level) for level in LEVELS]
    for index, (level, severity, opened, actions) in enumerate(tickets):
        ticket = Ticket(f"T{index}", f"C-{level}", severity, _at(opened))
        for minute, action, choice in actions:
            at = _at(opened + minute)
            agent = ("A1", "A2")[choice % 2]
            if action in ("answer", "holding"):
                ticket.agent(at, agent, kind=action)
            elif action == "internal":
                ticket.events.append(
                    ticket.event(
                        "Ticket Message Posted",
                        at,
                        author="agent",
                        visibility="internal",
                        message_id=f"i{minute}",
                        agent_id=agent,
                    )
                )
            elif action == "customer":
                ticket.customer_writes(at)
            elif action in ("pending", "open", "resolved", "closed"):
                ticket.status(at, "pending_customer" if action == "pending" else action)
            elif action == "severity":
                ticket.events.append(
                    ticket.event("Ticket Severity Changed", at, severity=SEVERITIES[choice % 4])
                )
            elif action in ("disk", "ram"):
                ticket.hardware(at, "asked", action)
            elif action in ("disk_done", "ram_done"):
                ticket.hardware(at, "done", action.removesuffix("_done"))
            else:
                ticket.rate(at, choice % 5 + 1)
        events += ticket.events
    return events


TICKETS = st.lists(
    st.tuples(
        st.sampled_from(LEVELS),
        st.sampled_from(SEVERITIES),
        st.integers(0, SPAN_MINUTES),
        st.lists(st.tuples(st.integers(1, 4 * 24 * 60), ACTIONS, st.integers(0, 9)), max_size=12),
    ),
    min_size=1,
    max_size=6,
)
PERIODS = st.tuples(st.integers(-2 * 24 * 60, SPAN_MINUTES), st.integers(60, 20 * 24 * 60)).map(
    lambda p: Period(EPOCH_START + p[0] * 60, EPOCH_START + (p[0] + p[1]) * 60)
)
BY = st.lists(st.sampled_from(["level", "severity", "line", "agent", "customer"]), unique=True, max_size=3)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(TICKETS, PERIODS, BY)
def test_compliance_counts_each_decided_cycle_once_and_never_a_cancelled_one(
    tickets: list[Any], period: Period, by: list[Any]
) -> None:
    history = parse_envelopes(enumerate(_history(tickets), start=1))
    assert history.skipped == []
    records = fold_history(history.events, CATALOG, period.end)
    # The clocks themselves, folded the same way, to count what compliance must count.
    ticket_events: dict[str, list[AnyTicketEvent]] = {}
    for event in history.events:
        if isinstance(event, AnyTicketEvent):
            ticket_events.setdefault(event.ticket_id, []).append(event)
    plans = [e for e in history.events if isinstance(e, SupportPlanChanged)]
    expected = {metric: [0, 0] for metric in METRICS}
    cancelled_keys = set()
    for ticket_id, events in ticket_events.items():
        state = fold(ticket_id, events, plans, CATALOG, period.end).state
        if state is None:
            continue
        for clock in state.clocks:
            verdict = decided(clock)
            if clock.state == "cancelled":
                assert verdict is None
                cancelled_keys.add(f"{ticket_id}/{clock.metric}/{clock.cause}")
            if verdict is not None and verdict[1] in period:
                expected[clock.metric][0 if verdict[0] == "met" else 1] += 1
    assert not cancelled_keys & {cycle.clock_key for cycle in records.cycles}
    doc = report(records.tickets, records.cycles, CATALOG, period, by)
    counted = {metric: [0, 0] for metric in METRICS}
    for group in doc["groups"]:
        for entry in group["compliance"]:
            counted[entry["metric"]][0] += entry["met"]
            counted[entry["metric"]][1] += entry["breached"]
            decided_count = entry["met"] + entry["breached"]
            assert (entry["percent"] is None) == (decided_count == 0)
            if decided_count:
                assert 0.0 <= entry["percent"] <= 100.0
    assert counted == expected


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(TICKETS, PERIODS, st.randoms(use_true_random=False))
def test_figures_depend_on_the_set_of_events_not_their_order(
    tickets: list[Any], period: Period, shuffler: random.Random
) -> None:
    events = _history(tickets)
    shuffled = list(events)
    shuffler.shuffle(shuffled)
    documents = []
    for lines in (events, shuffled + shuffled[:3]):
        history = parse_envelopes(enumerate(lines, start=1))
        records = fold_history(history.events, CATALOG, period.end)
        documents.append(report(records.tickets, records.cycles, CATALOG, period, ("level", "agent")))
    assert documents[0] == documents[1]


# -- credits ----------------------------------------------------------------------------------------------

TERMS = st.one_of(
    st.none(),
    st.builds(
        Credit,
        percent_per_hour=st.decimals(Decimal("0.01"), Decimal(100), places=2).map(float),
        cap_percent=st.decimals(Decimal("0.01"), Decimal(100), places=2).map(float),
    ),
)


@st.composite
def cycles(draw: st.DrawFn) -> CycleRecord:
    decided_at = draw(st.integers(EPOCH_START, EPOCH_START + 40 * 86_400))
    due = draw(st.one_of(st.none(), st.integers(decided_at - 86_400, decided_at)))
    stopped = draw(st.one_of(st.none(), st.integers(decided_at, decided_at + 30 * 86_400)))
    metric = draw(st.sampled_from(METRICS))
    return CycleRecord(
        clock_key=f"T/{metric}/{draw(st.integers(0, 10**6))}",
        ticket_id="T",
        metric=metric,
        outcome=draw(st.sampled_from(["met", "breached"])),
        decided_at=decided_at,
        started_at=decided_at - 3600,
        due_at=due,
        stopped_at=stopped,
        component_class=None,
        key=Key(
            draw(st.sampled_from(LEVELS)), "high", None, None, draw(st.sampled_from(["C-1", "C-2", "C-3"]))
        ),
    )


def _with_terms(terms: list[Credit | None]) -> Catalog:
    levels = {
        name: level.model_copy(update={"credit": term})
        for (name, level), term in zip(CATALOG.levels.items(), terms, strict=True)
    }
    return CATALOG.model_copy(update={"levels": levels})


@settings(max_examples=200, deadline=None)
@given(st.lists(cycles(), max_size=40), st.lists(TERMS, min_size=4, max_size=4), PERIODS)
def test_credits_never_exceed_the_cap(
    records: list[CycleRecord], terms: list[Credit | None], period: Period
) -> None:
    catalog = _with_terms(terms)
    credits = report([], records, catalog, period)["credits"]
    for row in credits:
        term = catalog.levels[row["support_level"]].credit
        assert 0.0 <= row["percent"] <= 100.0
        if term is None:
            assert row["percent"] == 0.0
            continue
        assert row["percent"] <= term.cap_percent
        rate = Decimal(str(term.percent_per_hour))
        assert row["percent"] == float(min(Decimal(str(term.cap_percent)), rate * row["hours_late"]))
    counted = [
        c
        for c in records
        if c.outcome == "breached" and c.metric in CREDITED_METRICS and c.decided_at in period
    ]
    assert sum(row["breaches"] for row in credits) == len(counted)


# -- the quality sample -----------------------------------------------------------------------------------


@st.composite
def ticket_records(draw: st.DrawFn) -> list[TicketRecord]:
    count = draw(st.integers(0, 30))
    records = []
    for index in range(count):
        opened = EPOCH_START + draw(st.integers(-10 * 86_400, 30 * 86_400))
        closed = draw(st.one_of(st.none(), st.integers(opened, opened + 20 * 86_400)))
        agents = tuple(sorted(draw(st.sets(st.sampled_from(["A1", "A2", "A3", "A4"]), max_size=3))))
        key = Key("standard", "low", None, None, "C-1")
        records.append(
            TicketRecord(f"T{index:03d}", "C-1", "standard", opened, key, closed, None, None, (), (), agents)
        )
    return records


@settings(max_examples=200, deadline=None)
@given(ticket_records(), PERIODS, st.integers(1, 8), st.text(max_size=8))
def test_the_sample_is_a_subset_of_each_agents_closed_tickets(
    tickets: list[TicketRecord], period: Period, per_agent: int, seed: str
) -> None:
    samples = quality_sample(tickets, period, per_agent, seed)
    for sample in samples:
        closed = {
            t.ticket_id
            for t in tickets
            if sample.agent_id in t.agents and t.closed_at is not None and t.closed_at in period
        }
        drawn = [t.ticket_id for t in sample.tickets]
        assert set(drawn) <= closed
        assert len(drawn) == len(set(drawn)) == min(per_agent, len(closed))
        assert sample.closed == len(closed)
        # The draw of one agent does not move when the other agents' tickets go.
        alone = [t for t in tickets if sample.agent_id in t.agents]
        (again,) = [
            s for s in quality_sample(alone, period, per_agent, seed) if s.agent_id == sample.agent_id
        ]
        assert again == sample
    assert quality_sample(list(reversed(tickets)), period, per_agent, seed) == samples
    agents_with_closed = {
        a for t in tickets if t.closed_at is not None and t.closed_at in period for a in t.agents
    }
    assert {s.agent_id for s in samples} == agents_with_closed
