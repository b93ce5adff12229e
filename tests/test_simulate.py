"""`sla-engine simulate`: a what-if on a small history, every figure worked out by hand, and its errors.

The proposed catalog is the shipped example, `examples/premium-plus.toml`: premium's first response to a
critical ticket in 30 minutes instead of 1 hour, to a high one in 1 hour instead of 2, and credits of 5 % an
hour up to 30 % instead of 2.5 % up to 25 %. The premium ladder is oncall-l2, then duty-manager 30 minutes
later (ack_timeout); oncall-l2 is on duty 01:00-19:00 UTC in March (04:00-22:00 Moscow), so every page
below goes to it. Customers: C-P premium, C-E enterprise, both in Europe/London (UTC in March; no British
holiday that week; premium counts Mon-Fri 08:00-18:00). The period is the week [2026-03-09, 2026-03-16).

| ticket | opened (UTC) | level, severity | agent answers | current catalog | proposed catalog |
|--------|--------------|-----------------|---------------|-----------------|------------------|
| T1 | Mon 10:00 | premium critical | 10:45 | met (1 h) | breached 10:30, 15 min late: 1 hour; page oncall-l2 10:30 |
| T2 | Tue 09:00 | premium high | 10:20 | met (2 h) | breached 10:00, 20 min late: 1 hour; page oncall-l2 10:00 |
| T3 | Wed 14:00 | premium critical | 16:10 | breached 15:00, 70 min late: 2 hours; pages oncall-l2 15:00, duty-manager 15:30 | breached 14:30, 100 min late: 2 hours; pages oncall-l2 14:30, duty-manager 15:00 |
| T4 | Thu 09:00 | enterprise critical | 09:10 | met (15 min) | met (15 min) |

So: premium critical first response 1/2 met (50.0 %) → 0/2 (0.0 %), −50 points; premium high 1/1 → 0/1;
enterprise critical 1/1 both. Pages in the week: oncall-l2 1 → 3, duty-manager 1 → 1. Credits of C-P: 2 hours
× 2.5 % = 5 % → 4 hours × 5 % = 20 % (under both caps); 0.05 → 0.2 monthly fees.

Staffing: handling time is, per agent message, the time since the ticket's previous event, at most 30 min:
T1 45 min → 30, T2 80 → 30, T3 130 → 30, T4 10: 100 min over 4 tickets = 25 min (1,500 s). Each ticket's
hour of the week occurs once in the week, so it has one ticket an hour: A = 1500 / 3600 = 5/12 Erlang. At 80 %
(tests/test_erlang.py works it): a 1-hour or 2-hour target needs 1 agent, 30 minutes needs 2 (one agent
reaches only 79.3 %), 15 minutes needs 2. So Mon 10:00 and Wed 14:00 go from 1 to 2 agents, Tue 09:00 stays
at 1, Thu 09:00 at 2; agent-hours a week hour by hour: 5 → 7; the 12-hour day shift on Monday 1 → 2.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner, Result

from cli.main import app
from tests.kpi_month import Ticket, envelope

runner = CliRunner(env={"SLA_CATALOG_PATH": None})
ROOT = Path(__file__).resolve().parents[1]
PROPOSED = ROOT / "examples" / "premium-plus.toml"
FROM, TO = "2026-03-09", "2026-03-16"


def week_events() -> list[dict[str, Any]]:
    plans = [
        envelope(
            "Support Plan Changed",
            "2026-03-01T00:00:00",
            customer_id=customer,
            support_level=level,
            timezone="Europe/London",
            country="GB",
        )
        for customer, level in (("C-P", "premium"), ("C-E", "enterprise"))
    ]
    tickets = [
        Ticket("T1", "C-P", "critical", "2026-03-09T10:00:00").agent("2026-03-09T10:45:00", "A1"),
        Ticket("T2", "C-P", "high", "2026-03-10T09:00:00").agent("2026-03-10T10:20:00", "A1"),
        Ticket("T3", "C-P", "critical", "2026-03-11T14:00:00").agent("2026-03-11T16:10:00", "A2"),
        Ticket("T4", "C-E", "critical", "2026-03-12T09:00:00").agent("2026-03-12T09:10:00", "A2"),
    ]
    return plans + [event for ticket in tickets for event in ticket.events]


@pytest.fixture(scope="module")
def week(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("simulate") / "week.jsonl"
    path.write_text("".join(json.dumps(event) + "\n" for event in week_events()), encoding="utf-8")
    return path


def simulate(*args: str) -> Result:
    return runner.invoke(app, ["simulate", *args])


@pytest.fixture(scope="module")
def document(week: Path) -> dict[str, Any]:
    result = simulate(str(week), "--catalog", str(PROPOSED), "--from", FROM, "--to", TO, "--format", "json")
    assert result.exit_code == 0, result.output
    parsed: dict[str, Any] = json.loads(result.stdout)
    return parsed


def row(document: dict[str, Any], level: str, severity: str, metric: str) -> dict[str, Any]:
    found = [
        r
        for r in document["compliance"]
        if (r["level"], r["severity"], r["metric"]) == (level, severity, metric)
    ]
    assert len(found) == 1, (level, severity, metric)
    return found[0]


def test_compliance_under_both_catalogs(document: dict[str, Any]) -> None:
    critical = row(document, "premium", "critical", "first_response")
    assert critical["current"] == {"met": 1, "breached": 1, "percent": 50.0}
    assert critical["proposed"] == {"met": 0, "breached": 2, "percent": 0.0}
    assert critical["change_points"] == -50.0
    high = row(document, "premium", "high", "first_response")
    assert (high["current"]["percent"], high["proposed"]["percent"], high["change_points"]) == (
        100.0,
        0.0,
        -100.0,
    )
    enterprise = row(document, "enterprise", "critical", "first_response")
    assert enterprise["current"] == enterprise["proposed"] == {"met": 1, "breached": 0, "percent": 100.0}
    assert {r["metric"] for r in document["compliance"]} == {"first_response"}  # nothing else was decided


def test_pages_per_route_per_week(document: dict[str, Any]) -> None:
    pages = document["pages"]
    assert pages["weeks"] == ["2026-03-09"]
    by_route = {r["route"]: (r["current"], r["proposed"]) for r in pages["routes"]}
    assert by_route == {"oncall-l2": ([1], [3]), "duty-manager": ([1], [1])}


def test_credits(document: dict[str, Any]) -> None:
    credits = document["credits"]
    assert credits["customers"] == [
        {
            "customer_id": "C-P",
            "support_level": "premium",
            "current": {"breaches": 1, "hours_late": 2, "percent": 5.0},
            "proposed": {"breaches": 3, "hours_late": 4, "percent": 20.0},
            "change_percent": 15.0,
        }
    ]
    assert (credits["current_monthly_fees"], credits["proposed_monthly_fees"]) == (0.05, 0.2)


def test_staffing(document: dict[str, Any]) -> None:
    plan = document["staffing"]
    assert (plan["handling_seconds"], plan["handling"], plan["tickets"], plan["agent_messages"]) == (
        1500,
        "measured",
        4,
        4,
    )
    hours = {(h["day"], h["hour"]): h for h in plan["hours"]}
    expected = {("mon", 10): (1, 2), ("tue", 9): (1, 1), ("wed", 14): (1, 2), ("thu", 9): (2, 2)}
    for slot, agents in expected.items():
        assert (hours[slot]["current_agents"], hours[slot]["proposed_agents"]) == agents, slot
        assert hours[slot]["arrivals"] == 1 and hours[slot]["load_erlangs"] == round(1500 / 3600, 3)
    assert all(
        h["current_agents"] == h["proposed_agents"] == 0 for k, h in hours.items() if k not in expected
    )
    assert plan["agent_hours_per_week"]["hourly"] == {"current": 5, "proposed": 7}
    monday_day = next(s for s in plan["shifts"]["12h"] if (s["day"], s["shift"]) == ("mon", "08-20"))
    assert (monday_day["current_agents"], monday_day["proposed_agents"]) == (1, 2)


def test_handling_time_given_replaces_the_measured_one(week: Path) -> None:
    """At 5 minutes a ticket (A = 1/12) one agent meets even 30 minutes: no hour needs two."""
    result = simulate(
        str(week), "--catalog", str(PROPOSED), "--from", FROM, "--to", TO, "--format", "json",
        "--handling-time", "5m", "--probability", "80",
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    plan = json.loads(result.stdout)["staffing"]
    assert (plan["handling_seconds"], plan["handling"]) == (300, "given")
    assert max(h["proposed_agents"] for h in plan["hours"]) == 1


def test_the_table_marks_what_got_worse(week: Path) -> None:
    result = simulate(str(week), "--catalog", str(PROPOSED), "--from", FROM, "--to", TO)
    assert result.exit_code == 0, result.output
    text = result.stdout
    assert "▼ -50 pts" in text and "▼ -100 pts" in text  # compliance lost
    assert "▼ +2" in text  # two more pages for oncall-l2
    assert "▼ +15 %" in text  # C-P's credit
    assert "0.05 → 0.2 monthly fees" in text
    assert "5 → 7" in text  # agent-hours a week


def test_the_period_defaults_to_the_whole_file(week: Path) -> None:
    result = simulate(str(week), "--catalog", str(PROPOSED), "--format", "json")
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["period"] == {
        "from": "2026-03-01T00:00:00Z",
        "to": "2026-03-13T00:00:00Z",
    }


# -- errors: one line naming the argument, exit status 2 ----------------------------------------------------


def one_line_error(result: Result, name: str) -> str:
    assert result.exit_code == 2, result.output
    assert "Traceback" not in result.output
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith(f"Error: {name}:"), lines[0]
    assert result.stdout == ""
    return lines[0]


def test_a_bad_proposed_catalog_names_the_field(week: Path, tmp_path: Path) -> None:
    broken = tmp_path / "broken.toml"
    text = PROPOSED.read_text(encoding="utf-8").replace(
        'critical = "30m", high = "1h"', 'critical = "soon", high = "1h"', 1
    )
    broken.write_text(text, encoding="utf-8")
    line = one_line_error(simulate(str(week), "--catalog", str(broken)), "--catalog")
    assert "levels.premium.first_response.critical" in line and "soon" in line


def test_a_missing_or_unknown_catalog(week: Path, tmp_path: Path) -> None:
    assert "missing" in one_line_error(simulate(str(week)), "--catalog")
    assert "no such file" in one_line_error(
        simulate(str(week), "--catalog", str(tmp_path / "nope.toml")), "--catalog"
    )
    bad_current = runner.invoke(
        app,
        ["simulate", str(week), "--catalog", str(PROPOSED)],
        env={"SLA_CATALOG_PATH": str(tmp_path / "x.toml")},
    )
    assert "no such file" in one_line_error(bad_current, "--current")


def test_bad_dates(week: Path) -> None:
    base = (str(week), "--catalog", str(PROPOSED))
    assert "2026-13-01" in one_line_error(simulate(*base, "--from", "2026-13-01"), "--from")
    assert "no UTC offset" in one_line_error(simulate(*base, "--to", "2026-03-16T00:00:00"), "--to")
    assert "not after" in one_line_error(simulate(*base, "--from", TO, "--to", FROM), "--to")


def test_a_missing_events_file(tmp_path: Path) -> None:
    line = one_line_error(simulate(str(tmp_path / "none.jsonl"), "--catalog", str(PROPOSED)), "EVENTS")
    assert "none.jsonl" in line


def test_bad_staffing_options(week: Path) -> None:
    base = (str(week), "--catalog", str(PROPOSED))
    assert "below 100" in one_line_error(simulate(*base, "--probability", "100"), "--probability")
    assert "percentage" in one_line_error(simulate(*base, "--probability", "most"), "--probability")
    assert "Mars/Olympus" in one_line_error(simulate(*base, "--timezone", "Mars/Olympus"), "--timezone")
    assert "duration" in one_line_error(simulate(*base, "--handling-time", "a while"), "--handling-time")
    assert "html" in one_line_error(simulate(*base, "--format", "pdf"), "--format")


def test_the_current_catalog_comes_from_sla_catalog_path(week: Path) -> None:
    """With Premium+ in force (SLA_CATALOG_PATH) and proposed, the two columns agree everywhere, and they
    are the proposed column of the hand-worked table above."""
    result = runner.invoke(
        app,
        ["simulate", str(week), "--catalog", str(PROPOSED), "--from", FROM, "--to", TO, "--format", "json"],
        env={"SLA_CATALOG_PATH": str(PROPOSED)},
    )
    assert result.exit_code == 0, result.output
    same = json.loads(result.stdout)
    assert same["catalogs"] == {"current": str(PROPOSED), "proposed": str(PROPOSED)}
    assert all(r["current"] == r["proposed"] and r["change_points"] == 0 for r in same["compliance"])
    assert row(same, "premium", "critical", "first_response")["current"]["breached"] == 2
    assert {r["route"]: r["current"] for r in same["pages"]["routes"]} == {
        "oncall-l2": [3],
        "duty-manager": [1],
    }
    assert same["credits"]["current_monthly_fees"] == same["credits"]["proposed_monthly_fees"] == 0.2
    assert all(h["current_agents"] == h["proposed_agents"] for h in same["staffing"]["hours"])
