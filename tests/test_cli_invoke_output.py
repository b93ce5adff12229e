"""`sla-engine invoke` shows what the handler did to each record, not only what it answers SQS (issue 10):
accepted, duplicate, rejected with its reason, or retried, with the effects decided; `--format json` for
machines; `--verbose` the handler's logs on stderr. Before, a rejected event printed
`{"batchItemFailures": []}` like an accepted one.
"""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner, Result

from cli.invoke_checks import receipt_time
from cli.main import app
from local.engine import open_engine

runner = CliRunner(env={"SLA_CATALOG_PATH": None})
EVENTS = Path(__file__).resolve().parents[1] / "events"


def sample() -> dict[str, Any]:
    payload: dict[str, Any] = json.loads((EVENTS / "sqs-ticket-opened.json").read_text(encoding="utf-8"))
    return payload


def batch(*changes: dict[str, Any]) -> dict[str, Any]:
    """The sample's record, once per change of its event's detail (a key set to None is removed)."""
    payload = sample()
    (record,) = payload["Records"]
    records = []
    for number, change in enumerate(changes):
        copied = copy.deepcopy(record)
        body = json.loads(copied["body"])
        body["detail"].update(change)
        body["detail"] = {key: value for key, value in body["detail"].items() if value is not None}
        copied["body"] = json.dumps(body)
        copied["messageId"] = f"message-{number + 1}"
        records.append(copied)
    payload["Records"] = records
    return payload


def invoke(tmp_path: Path, payload: dict[str, Any], *extra: str) -> Result:
    path = tmp_path / "event.json"
    path.write_text(json.dumps(payload), encoding="utf-8")
    result = runner.invoke(app, ["invoke", "IngestFunction", "--event", str(path), *extra])
    assert result.exit_code == 0, result.output
    assert "Traceback" not in result.output
    return result


def test_json_gives_each_records_outcome_with_its_effects_and_the_response(tmp_path: Path) -> None:
    payload = batch({}, {}, {"event_id": "evt-bad", "occurred_at": 12345})

    document = json.loads(invoke(tmp_path, payload, "--format", "json").stdout)

    accepted, duplicate, rejected = document["records"]
    assert (accepted["message_id"], accepted["outcome"], accepted["ticket_id"]) == (
        "message-1",
        "accepted",
        "T-1001",
    )
    assert [(e["type"], e["kind"]) for e in accepted["effects"]] == [("notification", "acknowledged")]
    assert (duplicate["outcome"], duplicate["effects"]) == ("duplicate", [])
    assert (rejected["outcome"], rejected["event_id"]) == ("rejected", "evt-bad")
    assert "expected an ISO 8601 instant as a JSON string" in rejected["reason"]
    assert document["response"] == {"batchItemFailures": []}  # all three are a success for SQS


def test_text_names_each_outcome_and_the_rejections_reason(tmp_path: Path) -> None:
    payload = batch({}, {}, {"event_id": "evt-bad", "sequence": True})

    lines = invoke(tmp_path, payload).stdout.splitlines()

    assert lines[0] == "record 1 (message-1): accepted, event cp-evt-0002 ticket T-1001"
    assert lines[1].startswith("  effect: notification acknowledged (ticket_id T-1001, customer_id C-42")
    assert lines[2] == "record 2 (message-2): duplicate, event cp-evt-0002 ticket T-1001"
    assert lines[3].startswith("record 3 (message-3): rejected, event evt-bad: sequence: ")
    assert lines[4:] == ['response: {"batchItemFailures": []}']


def test_verbose_shows_the_handlers_logs_on_stderr_and_keeps_stdout_the_document(tmp_path: Path) -> None:
    result = invoke(tmp_path, batch({}), "--format", "json", "--verbose")

    assert json.loads(result.stdout)["records"][0]["outcome"] == "accepted"
    logs = [json.loads(line) for line in result.stderr.splitlines() if line.startswith("{")]
    assert any(log.get("message") == "event handled" and log.get("status") == "accepted" for log in logs)


def test_without_verbose_no_log_reaches_the_terminal(tmp_path: Path) -> None:
    assert invoke(tmp_path, batch({})).stderr == ""


def test_a_record_whose_service_raises_is_retried_and_reported_for_redelivery(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    payload = batch({})
    with open_engine("memory", start=receipt_time(payload) or 0) as engine:

        def unavailable(*args: Any, **kwargs: Any) -> Any:
            raise ConnectionError("the table is throttled")

        monkeypatch.setattr(engine.service, "accept_raw", unavailable)
        response, outcomes = engine.invoke_recorded("IngestFunction", payload)

    (outcome,) = outcomes
    assert (outcome.message_id, outcome.status) == ("message-1", "retried")
    assert outcome.reason == "ConnectionError: the table is throttled"
    assert response == {"batchItemFailures": [{"itemIdentifier": "message-1"}]}


def test_other_functions_have_no_records_only_their_response(tmp_path: Path) -> None:
    path = EVENTS / "sweeper-scheduled-event.json"
    result = runner.invoke(app, ["invoke", "SweeperFunction", "--event", str(path), "--format", "json"])
    assert result.exit_code == 0, result.output
    document = json.loads(result.stdout)
    assert document["records"] == [] and "items_read" in document["response"]


def test_an_unknown_format_is_one_line() -> None:
    path = EVENTS / "sqs-ticket-opened.json"
    result = runner.invoke(app, ["invoke", "IngestFunction", "--event", str(path), "--format", "yaml"])
    assert result.exit_code == 2
    assert result.stderr.strip() == "Error: --format: unknown format 'yaml'; known: text, json"
