"""Every figure of SPEC section 9 on a hand-worked month (tests/kpi_month.py has the table of tickets).

The expected numbers are computed here by hand, in the test, from the table: seconds written as sums of the
story's minutes and hours, percentages as fractions rounded half up to one decimal. The events go through the
same path as `sla-engine report`: read by the contract, folded per ticket at `to`, then the KPIs.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import pytest

from cli.report_input import parse_envelopes
from infra.catalog_source import load_catalog
from sla.calendar import to_epoch
from sla.kpi_history import fold_history
from sla.kpi_records import Records
from sla.kpi_sample import closed_by_agent, quality_sample
from sla.kpi_series import series
from sla.kpis import Period, report
from tests.kpi_month import month_events

CATALOG = load_catalog(None)
MINUTE, HOUR, DAY = 60, 3600, 86_400
PERIOD = Period(
    to_epoch(datetime.fromisoformat("2026-04-01T00:00:00+00:00")),
    to_epoch(datetime.fromisoformat("2026-05-01T00:00:00+00:00")),
)


@pytest.fixture(scope="module")
def records() -> Records:
    history = parse_envelopes(enumerate(month_events(), start=1))
    assert history.skipped == []
    return fold_history(history.events, CATALOG, PERIOD.end)


def document(records: Records, *by: Any) -> dict[str, Any]:
    return report(records.tickets, records.cycles, CATALOG, PERIOD, by)


def figure(entries: list[dict[str, Any]], name: str, value: str) -> dict[str, Any]:
    found = [entry for entry in entries if entry[name] == value]
    assert len(found) == 1, (name, value)
    return found[0]


def only_group(doc: dict[str, Any]) -> dict[str, Any]:
    (group,) = doc["groups"]
    assert group["key"] == {}
    return group


def test_the_document_has_the_shape_of_spec_section_9(records: Records) -> None:
    doc = document(records)
    assert doc["period"] == {"from": "2026-04-01T00:00:00Z", "to": "2026-05-01T00:00:00Z"}
    assert doc["by"] == []
    assert set(doc) == {"period", "by", "groups", "lines", "credits"}
    group = only_group(doc)
    assert set(group) == {"key", "compliance", "reaction", "useful_response", "csat", "hardware"}
    assert [c["metric"] for c in group["compliance"]] == [
        "first_response",
        "next_response",
        "resolution",
        "hardware_replacement",
    ]
    assert [h["component_class"] for h in group["hardware"]] == ["hot_swap", "cold_swap", "board"]


def test_compliance_counts_cycles_decided_in_the_period(records: Records) -> None:
    compliance = only_group(document(records))["compliance"]
    # first_response decided in April: met T1 (04-06), T2 (holding reply, 04-07), T4 (04-10), T7 (04-07);
    # breached T3 (04-08 09:00), T5 (04-20 10:15), T9 (04-14 14:00). Not counted: T6 (cancelled by the
    # close), T8 and T12 (met in March), T11 (undecided at `to`).
    assert figure(compliance, "metric", "first_response") == {
        "metric": "first_response",
        "met": 4,
        "breached": 3,
        "percent": 57.1,  # 100 × 4/7 = 57.142…
    }
    # next_response: T1's met in April, T8's breached on 04-01 23:30 (the cycle started in March).
    assert figure(compliance, "metric", "next_response") == {
        "metric": "next_response",
        "met": 1,
        "breached": 1,
        "percent": 50.0,
    }
    # No level of the default catalog promises a resolution time: nothing decided, so null, not 0 or 100.
    assert figure(compliance, "metric", "resolution") == {
        "metric": "resolution",
        "met": 0,
        "breached": 0,
        "percent": None,
    }
    hardware = figure(compliance, "metric", "hardware_replacement")
    assert (hardware["met"], hardware["breached"], hardware["percent"]) == (1, 1, 50.0)


def test_hardware_compliance_per_component_class(records: Records) -> None:
    hardware = only_group(document(records))["hardware"]
    # T4: the disk (hot_swap) breached, the ram (cold_swap) met; no board replacement.
    assert hardware == [
        {"component_class": "hot_swap", "met": 0, "breached": 1, "percent": 0.0},
        {"component_class": "cold_swap", "met": 1, "breached": 0, "percent": 100.0},
        {"component_class": "board", "met": 0, "breached": 0, "percent": None},
    ]


T7_WALL = 3 * DAY + 15 * HOUR + 40 * MINUTE  # Fri 15:30Z to Tue 07:10Z
T7_WORKING = 30 * MINUTE + 70 * MINUTE  # Fri 17:30-18:00 local, Tue 08:00-09:10 local (Easter Monday off)


def test_reaction_time_counts_the_first_reply_of_tickets_opened_in_the_period(records: Records) -> None:
    reaction = only_group(document(records))["reaction"]
    # Opened in April and replied before `to`: T1 20 min, T2 10 min (a holding reply is a reaction),
    # T3 3 h 30, T4 10 min, T7 87 h 40 (1 h 40 working). Sorted: 600, 600, 1200, 12600, 315600.
    values = sorted([20 * MINUTE, 10 * MINUTE, 3 * HOUR + 30 * MINUTE, 10 * MINUTE, T7_WALL])
    assert values == [600, 600, 1200, 12600, 315600]
    assert reaction == {
        "count": 5,
        "mean_seconds": sum(values) // 5,  # 330600 / 5 = 66120 exactly
        "median_seconds": 1200,  # nearest rank: ceil(0.5 × 5) = 3rd
        "p90_seconds": 315600,  # ceil(0.9 × 5) = 5th
        "median_working_seconds": 1200,  # 600, 600, 1200, 6000 (T7), 12600: 3rd
        "waiting": 3,  # T5, T9 never answered; T11 answered after `to`
        "unanswered": 1,  # T6 closed before any reply
    }
    assert T7_WORKING == 6000


def test_useful_response_waits_for_an_answer_not_a_holding_reply(records: Records) -> None:
    useful = only_group(document(records))["useful_response"]
    # As reaction, but T2 counts until A2's answer at 10:00 (1 h), not its holding reply.
    values = sorted([20 * MINUTE, HOUR, 3 * HOUR + 30 * MINUTE, 10 * MINUTE, T7_WALL])
    assert values == [600, 1200, 3600, 12600, 315600]
    assert useful == {
        "count": 5,
        "mean_seconds": 66720,  # 333600 / 5
        "median_seconds": 3600,
        "p90_seconds": 315600,
        "median_working_seconds": 3600,  # 600, 1200, 3600, 6000, 12600
        "waiting": 3,
        "unanswered": 1,
    }


def test_csat_takes_each_tickets_latest_rating_in_the_period(records: Records) -> None:
    csat = only_group(document(records))["csat"]
    # Ratings in April, the latest per ticket: T1 5, T2 4 (its 2 was replaced, after closing), T7 3,
    # T12 5 (resolved in March, rated in April). T1's 1 on 05-02 is after the period.
    # Resolved in April: T1, T2, T3, T7, T8 (T12 was resolved in March).
    assert csat == {"ratings": 4, "good": 3, "percent": 75.0, "feedback_rate": 80.0}


def test_credits_per_customer_with_rates_and_caps_of_the_catalog(records: Records) -> None:
    credits = document(records)["credits"]
    # C-B business (5 %/h, cap 50): T3 answered 2 h 30 late, so 3 hours: 15 %.
    # C-E enterprise (10 %/h, cap 100): T4's disk 1 h 30 late (2 hours) and T5 still unanswered at `to`:
    #   04-20 10:15 to 05-01 00:00 is 13 h 45 + 10 days = 253 h 45, so 254 hours; 10 × 256 = 2560, capped at 100.
    # C-S standard: T9 due 04-14 14:00Z, unanswered: 10 h + 16 days = 394 hours; standard owes no credit.
    # T8's breach is of next_response, which earns no credit.
    assert credits == [
        {"customer_id": "C-B", "support_level": "business", "breaches": 1, "hours_late": 3, "percent": 15.0},
        {
            "customer_id": "C-E",
            "support_level": "enterprise",
            "breaches": 2,
            "hours_late": 256,
            "percent": 100.0,
        },
        {"customer_id": "C-S", "support_level": "standard", "breaches": 1, "hours_late": 394, "percent": 0.0},
    ]
    assert 10 * HOUR + 16 * 24 * HOUR == 394 * HOUR


def test_grouped_by_level(records: Records) -> None:
    doc = document(records, "level")
    assert doc["by"] == ["level"]
    assert [g["key"] for g in doc["groups"]] == [
        {"level": "standard"},
        {"level": "premium"},
        {"level": "business"},
        {"level": "enterprise"},
    ]
    standard, premium, business, enterprise = doc["groups"]
    first = [figure(g["compliance"], "metric", "first_response")["percent"] for g in doc["groups"]]
    assert first == [0.0, 100.0, 66.7, 50.0]  # T9; T7; T1, T2 of T1, T2, T3 (200/3 = 66.67); T4 of T4, T5
    assert business["reaction"] == {
        "count": 3,
        "mean_seconds": 4800,  # (1200 + 600 + 12600) / 3
        "median_seconds": 1200,  # ceil(1.5) = 2nd of 600, 1200, 12600
        "p90_seconds": 12600,
        "median_working_seconds": 1200,
        "waiting": 1,  # T11
        "unanswered": 1,  # T6
    }
    assert premium["reaction"]["median_seconds"] == T7_WALL
    assert premium["reaction"]["median_working_seconds"] == T7_WORKING  # the coverage calendar, not 24/7
    assert business["csat"] == {"ratings": 3, "good": 3, "percent": 100.0, "feedback_rate": 75.0}
    assert premium["csat"] == {"ratings": 1, "good": 0, "percent": 0.0, "feedback_rate": 100.0}
    assert enterprise["csat"] == {"ratings": 0, "good": 0, "percent": None, "feedback_rate": None}
    assert standard["reaction"]["waiting"] == 1 and standard["reaction"]["count"] == 0
    assert figure(enterprise["hardware"], "component_class", "hot_swap")["breached"] == 1


def test_grouped_by_agent_counts_each_cycle_for_the_agent_on_the_ticket_when_it_was_decided(
    records: Records,
) -> None:
    doc = document(records, "agent")
    groups = {g["key"]["agent"]: g for g in doc["groups"]}
    assert list(groups) == ["A1", "A2", None]  # by name, nobody last
    first = {agent: figure(g["compliance"], "metric", "first_response") for agent, g in groups.items()}
    assert (first["A1"]["met"], first["A1"]["breached"]) == (2, 0)  # T1, T7
    assert (first["A2"]["met"], first["A2"]["breached"]) == (2, 0)  # T2, T4
    assert (first[None]["met"], first[None]["breached"]) == (0, 3)  # T3, T5, T9 breached before any reply
    # T8's next_response breached on 04-01 while A1 (who answered in March) was on the ticket.
    assert figure(groups["A1"]["compliance"], "metric", "next_response")["breached"] == 1
    assert groups["A1"]["reaction"]["count"] == 3  # T1, T3, T7
    assert groups["A2"]["reaction"]["count"] == 2  # T2, T4
    assert groups[None]["reaction"]["waiting"] == 3


def test_grouped_by_severity_and_customer(records: Records) -> None:
    doc = document(records, "severity", "customer")
    keys = [tuple(g["key"].values()) for g in doc["groups"]]
    assert keys == sorted(keys, key=lambda k: (["critical", "high", "medium", "low"].index(k[0]), k[1]))
    assert ("critical", "C-E") in keys and ("low", "C-B") in keys
    assert doc["credits"] == document(records)["credits"]  # credits are per customer whatever the grouping


def test_lines_list_the_lines_that_answered(records: Records) -> None:
    # No Ticket Escalated and no line_pickup clock in this month: the lines appear, with nothing to count.
    assert document(records)["lines"] == [
        {
            "line": "l1",
            "escalations": 0,
            "pickup_met": 0,
            "pickup_breached": 0,
            "median_pickup_seconds": None,
        },
        {
            "line": "l2",
            "escalations": 0,
            "pickup_met": 0,
            "pickup_breached": 0,
            "median_pickup_seconds": None,
        },
    ]


def test_quality_sample_draws_from_each_agents_closed_tickets(records: Records) -> None:
    closed = {
        agent: [t.ticket_id for t in tickets]
        for agent, tickets in closed_by_agent(records.tickets, PERIOD).items()
    }
    # Closed in April: T1 (A1), T2 (A2), T3 (A1), T4 (A2), T6 (no agent), T8 (A1 and A2); T12 closed in March.
    assert closed == {"A1": ["T1", "T3", "T8"], "A2": ["T2", "T4", "T8"]}
    drawn = quality_sample(records.tickets, PERIOD, 2, "april")
    assert [s.agent_id for s in drawn] == ["A1", "A2"]
    for sample in drawn:
        assert sample.closed == 3
        assert len(sample.tickets) == 2
        assert {t.ticket_id for t in sample.tickets} <= set(closed[sample.agent_id])
    assert quality_sample(records.tickets, PERIOD, 2, "april") == drawn
    everything = quality_sample(records.tickets, PERIOD, 10, "april")
    assert [[t.ticket_id for t in s.tickets] for s in everything] == [["T8", "T1", "T3"], ["T8", "T2", "T4"]]


def test_series_behind_the_charts_agree_with_the_tables(records: Records) -> None:
    drawn = series(records.tickets, records.cycles, PERIOD, list(CATALOG.levels))
    assert drawn.weeks == ("2026-03-30", "2026-04-06", "2026-04-13", "2026-04-20", "2026-04-27")
    by_week = {(p.week, p.level): (p.met, p.breached) for p in drawn.compliance}
    # Week of 04-06: T1 first+next met, T2 met, T7 met (premium), T3 breached (business); T4's three cycles.
    assert by_week[("2026-04-06", "business")] == (3, 1)
    assert by_week[("2026-04-06", "premium")] == (1, 0)
    assert by_week[("2026-04-06", "enterprise")] == (2, 1)
    assert by_week[("2026-03-30", "business")] == (0, 1)  # T8's next_response on 04-01
    assert by_week[("2026-04-13", "standard")] == (0, 1)
    assert by_week[("2026-04-20", "enterprise")] == (0, 1)
    total = sum(m + b for m, b in by_week.values())
    group = only_group(document(records))
    assert total == sum(c["met"] + c["breached"] for c in group["compliance"])
    assert sum(drawn.reaction) == group["reaction"]["count"]
    assert drawn.ratings == (0, 0, 1, 1, 2)  # T7 3, T2 4, T1 and T12 5
    assert drawn.resolved == 5  # T1, T2, T3, T7, T8
    assert drawn.levels == ("standard", "premium", "business", "enterprise")  # the catalog's order
