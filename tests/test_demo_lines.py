"""The demo week's support-line stories (cli/demo_lines.py) against the engine's output, as `make demo` runs.

- T-303: escalated to the second line at 21:30 Moscow time; the pickup and the first response both run out at
  22:00 MSK sharp, when the second line goes off duty, so both pages go to its fallback, `oncall-l1`, and
  are resolved there once the second line picks the ticket up at 04:05 and answers at 04:20.
- T-202: opened on Thursday, the demo catalog's limited-support day: 72 h counted 24/7 instead of premium's
  2 h of business hours, and its acknowledgement says support is limited until Friday 00:00 Paris time.
"""

from __future__ import annotations

import json
import tempfile
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from cli.demo_lines import LIMITED_TICKET, NIGHT_TICKET, demo_catalog_text
from cli.demo_scenario import HORIZON, scenario_events
from cli.main import app
from local.replay import replay_with_messages
from sla.catalog import parse_catalog

runner = CliRunner(env={"SLA_CATALOG_PATH": None})


@pytest.fixture(scope="module")
def document() -> dict[str, Any]:
    result = runner.invoke(app, ["demo", "--format", "json"])
    assert result.exit_code == 0, result.output
    loaded: dict[str, Any] = json.loads(result.stdout)
    return loaded


def ticket(document: dict[str, Any], ticket_id: str) -> dict[str, Any]:
    (found,) = [t for t in document["tickets"] if t["ticket_id"] == ticket_id]
    return found


def rows(document: dict[str, Any], ticket_id: str) -> list[tuple[str, str, str, str, str]]:
    return [
        (a["at"], a["metric"], a["kind"], a["route"], a["paged_route"])
        for a in document["alerts"]
        if a["ticket_id"] == ticket_id and a["kind"] != "warning"
    ]


def test_the_night_escalation_is_paged_to_the_first_lines_route(document: dict[str, Any]) -> None:
    night = ticket(document, NIGHT_TICKET)
    assert night["line"] == "l2"
    clocks = {c["metric"]: c for c in night["clocks"]}
    assert (clocks["line_pickup"]["state"], clocks["line_pickup"]["due_at"]) == (
        "breached",
        "2026-04-08T19:00:00Z",
    )
    assert clocks["line_pickup"]["target_seconds"] == 1800
    assert rows(document, NIGHT_TICKET) == [
        ("2026-04-08T19:01:00Z", "first_response", "trigger", "oncall-l2", "oncall-l1"),
        ("2026-04-08T19:01:00Z", "line_pickup", "trigger", "oncall-l2", "oncall-l1"),
        ("2026-04-08T19:05:00Z", "first_response", "acknowledge", "oncall-l1", "oncall-l1"),
        ("2026-04-09T01:05:00Z", "line_pickup", "resolve", "oncall-l1", "oncall-l1"),
        ("2026-04-09T01:20:00Z", "first_response", "resolve", "oncall-l1", "oncall-l1"),
    ]
    # The warnings before 22:00 MSK went to the second line itself, on duty then.
    warnings = [a for a in document["alerts"] if a["ticket_id"] == NIGHT_TICKET and a["kind"] == "warning"]
    assert {a["paged_route"] for a in warnings} == {"oncall-l2"}
    # The pickup is an agreement between lines: the customer hears nothing of it.
    kinds = [n["kind"] for n in document["notifications"] if n["ticket_id"] == NIGHT_TICKET]
    assert kinds == ["acknowledged", "breach_apology"]


def test_the_limited_day_gives_the_periods_target_and_says_so() -> None:
    with_catalog = parse_catalog(demo_catalog_text())
    (period,) = with_catalog.limited_support
    assert (period.starts.isoformat(), period.ends.isoformat()) == (
        "2026-04-09T00:00:00+02:00",
        "2026-04-10T00:00:00+02:00",
    )
    lines = [json.dumps(event) for event in scenario_events()]
    with tempfile.TemporaryDirectory() as directory:
        path = Path(directory) / "catalog.toml"
        path.write_text(demo_catalog_text(), encoding="utf-8")
        document, messages = replay_with_messages(lines, HORIZON, path)
    (first,) = ticket(document, LIMITED_TICKET)["clocks"]
    assert (first["target_seconds"], first["due_at"]) == (72 * 3600, "2026-04-12T07:00:00Z")
    (mail,) = [m for m in messages if m.channel == "email" and f"[Ticket {LIMITED_TICKET}]" in m.subject]
    assert "Le support est limité jusqu'au vendredi 10 avril 2026 à 00:00 (Europe/Paris)" in mail.text
    # Tickets opened before the day keep their own targets (the premium Paris ticket of Good Friday).
    assert datetime.fromisoformat(first["started_at"]) >= period.starts


def test_the_table_tells_the_escalation() -> None:
    result = runner.invoke(app, ["demo"])
    assert result.exit_code == 0, result.output
    assert "escalated to line l2: network routing: second line" in result.stdout
    assert "agent of line l2 posts an internal note (meets its pickup only)" in result.stdout
