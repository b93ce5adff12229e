"""`make demo` ends with the week's KPIs, computed by the report's pure core from the scenario's events."""

from __future__ import annotations

from typer.testing import CliRunner

from cli.demo_kpis import week_document
from cli.demo_scenario import HORIZON, scenario_events
from cli.main import app
from infra.catalog_source import load_catalog

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
    document = week_document(scenario_events(), load_catalog(None), HORIZON)
    assert document["period"] == {"from": "2026-04-01T00:00:00Z", "to": "2026-04-09T16:00:00Z"}
    groups = {g["key"]["level"]: g for g in document["groups"]}
    assert list(groups) == ["standard", "premium", "business", "enterprise"]
    # The Paris ticket (premium) was resolved on Tuesday and rated 5 on Wednesday.
    assert groups["premium"]["csat"] == {"ratings": 1, "good": 1, "percent": 100.0, "feedback_rate": 100.0}
    # The two breached first responses (business T-302, enterprise T-402) are owed credits, one hour each.
    assert [(c["customer_id"], c["hours_late"], c["percent"]) for c in document["credits"]] == [
        ("C-MOSCOW", 1, 5.0),
        ("C-NYC", 1, 10.0),
    ]
    assert groups["standard"]["reaction"]["waiting"] == 1  # the Berlin question, still running
