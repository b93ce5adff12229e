"""`make demo` ends with the week's KPIs, computed by the report's pure core from the scenario's events."""

from __future__ import annotations

from typer.testing import CliRunner

from cli.demo_kpis import week_document
from cli.demo_lines import demo_catalog_text
from cli.demo_scenario import HORIZON, scenario_events
from cli.main import app
from sla.catalog import parse_catalog

runner = CliRunner(env={"SLA_CATALOG_PATH": None})


def test_the_week_figures_follow_the_timeline() -> None:
    result = runner.invoke(app, ["demo"])
    assert result.exit_code == 0, result.output
    out = result.stdout
    timeline = out.index("Timeline: what happened")
    figures = out.index("The week's figures")
    assert timeline < figures
    for title in ("SLA compliance", "Response times", "Customer satisfaction", "Service credits"):
        assert out.index(title) > figures
    assert "customer rates the support 5/5" in out[timeline:figures]


def test_the_week_figures_are_those_of_the_scenario() -> None:
    # The catalog the demo runs on: the packaged one and Thursday's limited support (cli/demo_lines.py).
    document = week_document(scenario_events(), parse_catalog(demo_catalog_text()), HORIZON)
    assert document["period"] == {"from": "2026-04-01T00:00:00Z", "to": "2026-04-09T16:00:00Z"}
    groups = {g["key"]["level"]: g for g in document["groups"]}
    assert list(groups) == ["standard", "premium", "business", "enterprise"]
    # The Paris ticket (premium) was resolved on Tuesday and rated 5 on Wednesday.
    assert groups["premium"]["csat"] == {"ratings": 1, "good": 1, "percent": 100.0, "feedback_rate": 100.0}
    # The breached first responses are owed credits: business T-302 (one hour) and T-303 (answered at 04:20
    # Moscow time, due 22:00: seven started hours), enterprise T-402 (one hour); Wednesday's outage
    # (cli/demo_outage.py) answers each of its tickets within a started hour of its breach: one hour each.
    # Paris: T-503 of the outage (one hour); T-202, opened on the limited-support day, has 72 h (24/7) and
    # is not yet due at the end (under the packaged catalog it would owe seven started hours).
    assert [(c["customer_id"], c["hours_late"], c["percent"]) for c in document["credits"]] == [
        ("C-MOSCOW", 1 + 7 + 1, 45.0),
        ("C-NYC", 1 + 1, 20.0),
        ("C-PARIS", 1, 2.5),
    ]
    assert groups["standard"]["reaction"]["waiting"] == 1  # the Berlin question, still running
    # SPEC section 9's lines: the night escalation to l2, its pickup breached at 22:00 Moscow time and
    # picked up at 04:05 (6 h 35 min after the escalation, wall-clock); l1 is named by no reply or escalation.
    assert document["lines"] == [
        {
            "line": "l2",
            "escalations": 1,
            "pickup_met": 0,
            "pickup_breached": 1,
            "median_pickup_seconds": 23_700,
        }
    ]
