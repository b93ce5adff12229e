"""`sla-engine demo` keeps the promises of its scenario, checked on the real engine's output.

The demo is run once per format through the CLI, as `make demo` runs it, and each test reads one promise of
`cli/demo_scenario.py` off the replay document: the scenario's comments say what should happen, these tests
say that it did. Expected figures come from the catalog and the scenario's own events, not from a recording
of the output, so a change of the engine that breaks a promise fails here with the promise named.
"""

from __future__ import annotations

import json
import re
from collections import Counter
from datetime import datetime, timedelta
from typing import Any

import pytest
from typer.testing import CliRunner

from cli.demo import BREACH_MARK, TITLE
from cli.demo_lines import NIGHT_TICKET
from cli.demo_outage import OUTAGE_TICKETS
from cli.demo_scenario import (
    ACKNOWLEDGED_TICKET,
    ANSWERED_TICKET,
    CUSTOMERS,
    ESCALATED_TICKET,
    FULL_LADDER_TICKET,
    HARDWARE_TICKET,
    INVALID_EVENT_ID,
    INVALID_FIELD,
    QUESTION_TICKET,
    scenario_events,
)
from cli.main import app
from infra.catalog_source import load_catalog
from sla.vocabulary import SEVERITIES

runner = CliRunner(env={"SLA_CATALOG_PATH": None})
CATALOG = load_catalog(None)
SWEEP = timedelta(seconds=60)  # the sweeper's period: an alert may act up to one minute after its instant


@pytest.fixture(scope="module")
def document() -> dict[str, Any]:
    result = runner.invoke(app, ["demo", "--format", "json"])
    assert result.exit_code == 0, result.output
    loaded: dict[str, Any] = json.loads(result.stdout)
    return loaded


@pytest.fixture(scope="module")
def table_output() -> str:
    result = runner.invoke(app, ["demo"])
    assert result.exit_code == 0, result.output
    return result.stdout


def at(text: str) -> datetime:
    return datetime.fromisoformat(text)


def ticket(document: dict[str, Any], ticket_id: str) -> dict[str, Any]:
    found: list[dict[str, Any]] = [t for t in document["tickets"] if t["ticket_id"] == ticket_id]
    assert len(found) == 1, f"{ticket_id} not in the document"
    return found[0]


def clock(document: dict[str, Any], ticket_id: str, metric: str, cycle: int = 1) -> dict[str, Any]:
    found: list[dict[str, Any]] = [
        c for c in ticket(document, ticket_id)["clocks"] if (c["metric"], c["cycle"]) == (metric, cycle)
    ]
    assert len(found) == 1, f"{ticket_id} has no {metric} #{cycle}"
    return found[0]


def alerts(document: dict[str, Any], ticket_id: str, kind: str) -> list[dict[str, Any]]:
    return [a for a in document["alerts"] if a["ticket_id"] == ticket_id and a["kind"] == kind]


def notification_kinds(document: dict[str, Any], ticket_id: str) -> list[str]:
    return [n["kind"] for n in document["notifications"] if n["ticket_id"] == ticket_id]


def scenario_instant(ticket_id: str, detail_type: str, **fields: str) -> datetime:
    """When the scenario made something happen, so that expectations follow the scenario if it is edited."""
    found = [
        e["detail"]["occurred_at"]
        for e in scenario_events()
        if e["detail-type"] == detail_type
        and e["detail"].get("ticket_id") == ticket_id
        and all(e["detail"].get(k) == v for k, v in fields.items())
    ]
    assert len(found) == 1, f"the scenario has {len(found)} {detail_type} {fields} on {ticket_id}"
    return at(found[0])


# -- the scenario itself ------------------------------------------------------------------------------------


def test_scenario_is_deterministic_and_well_formed() -> None:
    events = scenario_events()
    assert events == scenario_events()
    assert len({e["detail"]["event_id"] for e in events}) == len(events)
    assert len({e["id"] for e in events}) == len(events)
    for event in events:
        assert event["source"] == "controlpanel.support"
        assert at(event["detail"]["occurred_at"]).utcoffset() is not None


# -- coverage: levels, severities, customers ----------------------------------------------------------------


def test_every_level_and_every_severity_appears(document: dict[str, Any]) -> None:
    assert {t["support_level"] for t in document["tickets"]} == set(CATALOG.levels)
    assert {t["severity"] for t in document["tickets"]} == set(SEVERITIES)


def test_each_customer_is_served_at_its_plan_and_told_in_its_locale(document: dict[str, Any]) -> None:
    by_id = {c.customer_id: c for c in CUSTOMERS}
    assert {t["customer_id"] for t in document["tickets"]} == set(by_id)
    for t in document["tickets"]:
        assert t["support_level"] == by_id[t["customer_id"]].support_level, t["ticket_id"]
    for note in document["notifications"]:
        assert note["locale"] == by_id[note["customer_id"]].locale, note
    # A customer without a contact address is still notified: the notification is produced and recorded.
    no_address = [c.customer_id for c in CUSTOMERS if c.contact_email is None]
    assert no_address
    assert {n["customer_id"] for n in document["notifications"]} >= set(no_address)


# -- the promises of each ticket ----------------------------------------------------------------------------


def test_hardware_replacement_paused_for_the_customer_and_met_in_time(document: dict[str, Any]) -> None:
    replacement = clock(document, HARDWARE_TICKET, "hardware_replacement")
    paused = scenario_instant(HARDWARE_TICKET, "Ticket Status Changed", status="pending_customer")
    resumed = scenario_instant(HARDWARE_TICKET, "Ticket Status Changed", status="open")
    pause = (resumed - paused).total_seconds()
    assert pause > 0
    started, due, stopped = (
        at(replacement["started_at"]),
        at(replacement["due_at"]),
        at(replacement["stopped_at"]),
    )
    assert replacement["state"] == "met"
    assert replacement["target_seconds"] == CATALOG.level("business").target(
        "hardware_replacement", "medium", "disk"
    )
    # Counted 24/7: the due time is the target plus the pause, and the pause is not worked time.
    assert (due - started).total_seconds() == replacement["target_seconds"] + pause
    assert replacement["elapsed_seconds"] == (stopped - started).total_seconds() - pause
    assert replacement["elapsed_seconds"] < replacement["target_seconds"]
    assert stopped < due
    assert stopped == scenario_instant(HARDWARE_TICKET, "Hardware Replacement Completed")
    kinds = notification_kinds(document, HARDWARE_TICKET)
    assert {"hardware_scheduled", "hardware_completed"} <= set(kinds)
    assert "breach_apology" not in kinds
    assert not alerts(document, HARDWARE_TICKET, "trigger")


def test_severity_escalation_retargets_the_running_clock(document: dict[str, Any]) -> None:
    escalated = ticket(document, ESCALATED_TICKET)
    first = clock(document, ESCALATED_TICKET, "first_response")
    critical = CATALOG.level(escalated["support_level"]).target("first_response", "critical")
    opened = scenario_instant(ESCALATED_TICKET, "Ticket Opened")
    changed = scenario_instant(ESCALATED_TICKET, "Ticket Severity Changed")
    assert escalated["severity"] == "critical"
    assert first["target_seconds"] == critical
    # Counted from the clock's original start, not from the change (the enterprise calendar is 24/7).
    assert at(first["started_at"]) == opened < changed
    assert critical is not None and at(first["due_at"]) == opened + timedelta(seconds=critical)
    assert first["state"] == "met"
    assert at(first["stopped_at"]) <= at(first["due_at"])


def test_unacknowledged_breach_pages_the_whole_ladder_then_resolves_every_page(
    document: dict[str, Any],
) -> None:
    breached = clock(document, FULL_LADDER_TICKET, "first_response")
    level = CATALOG.level(ticket(document, FULL_LADDER_TICKET)["support_level"])
    assert breached["state"] == "breached"
    due = at(breached["due_at"])
    triggers = alerts(document, FULL_LADDER_TICKET, "trigger")
    assert [a["route"] for a in triggers] == level.ladder
    assert len(level.ladder) == 3
    for step, alert in enumerate(triggers):
        expected = due + timedelta(seconds=step * level.ack_timeout)
        assert expected <= at(alert["at"]) <= expected + SWEEP, (step, alert)
    assert len({a["dedup_key"] for a in triggers}) == 1
    assert not alerts(document, FULL_LADDER_TICKET, "acknowledge")
    answered = scenario_instant(FULL_LADDER_TICKET, "Ticket Message Posted", author="agent")
    resolves = alerts(document, FULL_LADDER_TICKET, "resolve")
    assert sorted(a["route"] for a in resolves) == sorted(level.ladder)
    assert {at(a["at"]) for a in resolves} == {answered}
    assert at(breached["stopped_at"]) == answered
    assert notification_kinds(document, FULL_LADDER_TICKET).count("breach_apology") == 1


def test_acknowledgement_stops_the_ladder(document: dict[str, Any]) -> None:
    breached = clock(document, ACKNOWLEDGED_TICKET, "first_response")
    level = CATALOG.level(ticket(document, ACKNOWLEDGED_TICKET)["support_level"])
    acknowledged = scenario_instant(ACKNOWLEDGED_TICKET, "Alert Acknowledged")
    assert breached["state"] == "breached"
    triggers = alerts(document, ACKNOWLEDGED_TICKET, "trigger")
    assert 1 <= len(triggers) < len(level.ladder), "the scenario must acknowledge before the ladder runs out"
    assert [a["route"] for a in triggers] == level.ladder[: len(triggers)]
    # 23:30 in Moscow: the second line (04:00-22:00 MSK) is off duty, so its fallback was paged (SPEC 10).
    paged = [a["paged_route"] for a in triggers]
    assert paged == ["oncall-l1"]
    assert all(at(a["at"]) < acknowledged for a in triggers)
    # Without the acknowledgement the next route would have been paged before the answer: it was not.
    next_step = at(breached["due_at"]) + timedelta(seconds=len(paged) * level.ack_timeout)
    assert next_step < at(breached["stopped_at"])
    assert sorted(a["route"] for a in alerts(document, ACKNOWLEDGED_TICKET, "acknowledge")) == sorted(paged)
    assert {at(a["at"]) for a in alerts(document, ACKNOWLEDGED_TICKET, "acknowledge")} == {acknowledged}
    assert sorted(a["route"] for a in alerts(document, ACKNOWLEDGED_TICKET, "resolve")) == sorted(paged)


def test_every_breach_alert_acts_within_a_minute_of_the_due_time(document: dict[str, Any]) -> None:
    breached = [
        (t["ticket_id"], c) for t in document["tickets"] for c in t["clocks"] if c["state"] == "breached"
    ]
    assert {ticket_id for ticket_id, _ in breached} == {
        FULL_LADDER_TICKET,
        ACKNOWLEDGED_TICKET,
        NIGHT_TICKET,
        *OUTAGE_TICKETS,
    }
    for ticket_id, c in breached:
        first = next(
            a
            for a in document["alerts"]
            if (a["ticket_id"], a["metric"], a["cycle"]) == (ticket_id, c["metric"], c["cycle"])
            and a["kind"] in ("trigger", "grouped")  # grouped: its incident's page was sent by another ticket
        )
        due = at(c["due_at"])
        assert due <= at(first["at"]) <= due + SWEEP, (ticket_id, first)
    # Nothing is paged for a clock that was not breached.
    breached_keys = {(ticket_id, c["metric"], c["cycle"]) for ticket_id, c in breached}
    for alert in document["alerts"]:
        if alert["kind"] == "trigger":
            assert (alert["ticket_id"], alert["metric"], alert["cycle"]) in breached_keys, alert


def test_next_response_cycle_then_resolution_and_survey(document: dict[str, Any]) -> None:
    answered = ticket(document, ANSWERED_TICKET)
    assert answered["status"] == "resolved"
    first = clock(document, ANSWERED_TICKET, "first_response")
    following = clock(document, ANSWERED_TICKET, "next_response")
    assert first["state"] == following["state"] == "met"
    assert at(following["started_at"]) == scenario_instant(
        ANSWERED_TICKET, "Ticket Message Posted", author="customer"
    )
    assert at(following["stopped_at"]) <= at(following["due_at"])
    # Friday 17:30 in Paris on premium high: Easter Monday is off, so the first answer was due on Tuesday.
    assert at(first["due_at"]).isoformat() == "2026-04-07T07:30:00+00:00"
    assert notification_kinds(document, ANSWERED_TICKET).count("survey") == 1
    assert [a["kind"] for a in document["alerts"] if a["ticket_id"] == ANSWERED_TICKET] == ["warning"]


def test_closing_cancels_the_clock_that_was_running(document: dict[str, Any]) -> None:
    owed = clock(document, ACKNOWLEDGED_TICKET, "next_response")
    assert ticket(document, ACKNOWLEDGED_TICKET)["status"] == "closed"
    assert owed["state"] == "cancelled"
    assert at(owed["stopped_at"]) == scenario_instant(
        ACKNOWLEDGED_TICKET, "Ticket Status Changed", status="closed"
    )


def test_business_hours_clock_skips_the_holidays_and_is_still_running(document: dict[str, Any]) -> None:
    question = clock(document, QUESTION_TICKET, "first_response")
    assert question["state"] == "running"
    # Opened Thursday 2 April 10:00 in Berlin; Good Friday and Easter Monday are German holidays, so 48 working
    # hours (10 a day) end on Friday 10 April at 18:00, closing time.
    assert question["due_at"] == "2026-04-10T16:00:00Z"
    assert [a["kind"] for a in document["alerts"] if a["ticket_id"] == QUESTION_TICKET] == ["warning"]


# -- each effect once, the rejection recorded ---------------------------------------------------------------


def test_every_alert_and_notification_appears_once(document: dict[str, Any]) -> None:
    pages = Counter(
        (a["ticket_id"], a["metric"], a["cycle"], a["kind"], a["route"])
        for a in document["alerts"]
        if a["kind"] != "warning"
    )
    assert [key for key, count in pages.items() if count > 1] == []
    # Warnings share their route and dedup key; they differ by fraction, one per fraction at most.
    warnings = Counter(
        (a["ticket_id"], a["metric"], a["cycle"], a["at"])
        for a in document["alerts"]
        if a["kind"] == "warning"
    )
    assert [key for key, count in warnings.items() if count > 1] == []
    levels = {t["ticket_id"]: t["support_level"] for t in document["tickets"]}
    per_clock = Counter((ticket_id, metric, cycle) for ticket_id, metric, cycle, _ in warnings)
    for (ticket_id, metric, cycle), count in per_clock.items():
        assert count <= len(CATALOG.level(levels[ticket_id]).warn_at), (ticket_id, metric, cycle)
    notifications = Counter((n["ticket_id"], n["kind"]) for n in document["notifications"])
    assert [key for key, count in notifications.items() if count > 1] == []
    # Every ticket was acknowledged to its customer.
    assert {n["ticket_id"] for n in document["notifications"] if n["kind"] == "acknowledged"} == {
        t["ticket_id"] for t in document["tickets"]
    }


def test_the_invalid_event_is_rejected_with_its_field(document: dict[str, Any]) -> None:
    assert [r["event_id"] for r in document["rejected"]] == [INVALID_EVENT_ID]
    reason = document["rejected"][0]["reason"]
    assert reason.startswith(f"{INVALID_FIELD}:"), reason
    invalid = next(e for e in scenario_events() if e["detail"]["event_id"] == INVALID_EVENT_ID)
    assert invalid["detail"]["ticket_id"] not in {t["ticket_id"] for t in document["tickets"]}


# -- what people read ---------------------------------------------------------------------------------------


def test_table_output_tells_the_story_and_marks_the_breaches(table_output: str) -> None:
    assert TITLE in table_output
    assert "moto" in table_output
    assert "every simulated" in table_output
    summary = table_output[table_output.index("Tickets and their SLA clocks") :]
    for ticket_id in (FULL_LADDER_TICKET, ACKNOWLEDGED_TICKET, NIGHT_TICKET):
        line = next(line for line in summary.splitlines() if line.lstrip().startswith(ticket_id))
        assert BREACH_MARK in line, line
    # the night ticket's first response and its line pickup; the outage's three tickets
    assert summary.count(BREACH_MARK) == 4 + len(OUTAGE_TICKETS)
    assert "met in time" in summary
    assert "cancelled" in summary
    assert "running" in summary
    # The timeline gives the customer's wall-clock time next to UTC: New York's Tuesday 23:00 is Wednesday UTC.
    assert re.search(r"Wed 08 03:00 +Tue 07 23:00 EDT +T-402 +event +opened: critical", table_output)
    assert INVALID_EVENT_ID in table_output
    assert all(len(line) <= 120 for line in table_output.splitlines())


def test_unknown_format_is_a_one_line_error() -> None:
    result = runner.invoke(app, ["demo", "--format", "xml"])
    assert result.exit_code == 2
    assert result.stderr.strip() == "Error: --format: 'xml' is not one of 'table', 'json'"
