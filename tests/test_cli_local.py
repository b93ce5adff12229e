"""The local commands of SPEC section 7 and issue 3 as an operator types them: replay and invoke."""

from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

from cli.main import app

ROOT = Path(__file__).resolve().parents[1]
runner = CliRunner()


def test_invoke_runs_the_ingest_handler_on_an_sqs_sample() -> None:
    result = runner.invoke(
        app,
        [
            "invoke",
            "IngestFunction",
            "--event",
            str(ROOT / "events/sqs-ticket-opened.json"),
            "--format",
            "json",
        ],
    )
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["response"] == {"batchItemFailures": []}


def test_invoke_of_an_unknown_function_is_a_one_line_error() -> None:
    result = runner.invoke(app, ["invoke", "Nope", "--event", str(ROOT / "events/sqs-ticket-opened.json")])
    assert result.exit_code == 2
    assert "unknown function 'Nope'" in result.output
    assert "IngestFunction" in result.output


def test_replay_json_has_the_four_sections_of_the_spec() -> None:
    result = runner.invoke(app, ["replay", str(ROOT / "events/scenario.jsonl"), "--format", "json"])
    assert result.exit_code == 0, result.output
    document = json.loads(result.stdout)
    assert set(document) == {"tickets", "alerts", "notifications", "rejected"}
    t1 = next(t for t in document["tickets"] if t["ticket_id"] == "T-1")
    first = next(c for c in t1["clocks"] if c["metric"] == "first_response")
    assert (first["state"], first["due_at"]) == ("met", "2026-04-07T07:30:00Z")
    kinds = {(a["ticket_id"], a["kind"], a["route"]) for a in document["alerts"]}
    assert ("T-3", "trigger", "oncall-l2") in kinds
    assert ("T-3", "resolve", "oncall-l2") in kinds
    assert {n["channel"] for n in document["notifications"]} == {"email", "none"}


def test_replay_rejects_a_naive_until() -> None:
    result = runner.invoke(
        app, ["replay", str(ROOT / "events/scenario.jsonl"), "--until", "2026-04-07T00:00:00"]
    )
    assert result.exit_code == 2
    assert "--until" in result.output
