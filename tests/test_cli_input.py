"""The command line with a newcomer's mistakes: one line naming the option and the problem, exit status 2,
never a traceback nor typer's five-line error box (README, "The command line"; issue 10).

Covers `due` at the edges of time and `--format json`, the usage errors of every command, help texts
without placeholders such as `{events}` or `--help <bool>`, and `invoke` given an event its function's
trigger would never send (binary, the raw EventBridge sample, a batch of the wrong kind, a broken record).
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner, Result

from cli.invoke_checks import BadEvent, check_event, function_triggers, receipt_time
from cli.main import app
from local.stack import load_template

runner = CliRunner(env={"SLA_CATALOG_PATH": None})
EVENTS = Path(__file__).resolve().parents[1] / "events"
FRIDAY_EVENING = "2026-04-03T17:30:00+02:00"
COMMANDS = ("plans", "due", "replay", "invoke", "demo")


def run(*args: str) -> Result:
    return runner.invoke(app, list(args))


def one_line_error(result: Result) -> str:
    assert result.exit_code == 2, (result.exit_code, result.output)
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert result.stdout == ""
    assert "Traceback" not in result.output
    assert "╭" not in result.output  # no rich box
    return lines[0]


def due(*extra: str, opened: str = FRIDAY_EVENING) -> Result:
    return run("due", "--level", "premium", "--severity", "high", "--opened", opened, *extra)


# -- due ------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("opened", "problem"),
    [
        ("9999-12-31T23:00:00Z", "is not before 2100-01-01T00:00:00Z"),
        ("9999-12-31T23:59:59-12:00", "is not before 2100-01-01T00:00:00Z"),
        ("0001-01-01T00:00:00Z", "is before 1970-01-01T00:00:00Z"),
        ("0001-01-01T00:00:00+14:00", "is before 1970-01-01T00:00:00Z"),
    ],
)
def test_due_opened_far_in_the_future_or_the_past_is_one_line_naming_opened(
    opened: str, problem: str
) -> None:
    line = one_line_error(due(opened=opened))
    assert line.startswith("Error: --opened: "), line
    assert problem in line, line


@pytest.mark.parametrize("opened", ["2099-12-31T23:59:59Z", "1970-01-01T00:00:00Z"])
def test_due_at_the_last_and_first_instants_taken_answers(opened: str) -> None:
    result = due("--country", "DE", "--subdivision", "BY", opened=opened)
    assert result.exit_code == 0, result.output
    assert result.stdout.startswith("due (UTC):    ")


def test_due_format_json_gives_the_same_facts_as_the_text() -> None:
    result = due("--format", "json")
    assert result.exit_code == 0, result.output
    document = json.loads(result.stdout)
    assert document == {
        "due": "2026-04-07T07:30:00Z",
        "due_local": "2026-04-07T09:30:00+02:00",
        "opened": "2026-04-03T15:30:00Z",
        "opened_local": "2026-04-03T17:30:00+02:00",
        "timezone": "Europe/Paris",
        "country": "FR",
        "subdivision": None,
        "level": "premium",
        "severity": "high",
        "metric": "first_response",
        "component": None,
        "target": {"seconds": 7200, "human": "2h"},
        "calendar": {
            "name": "business_hours",
            "description": "Mon–Fri 08:00–18:00 Europe/Paris, public holidays of FR off",
        },
        "line": None,  # no --at-line
    }
    text = due().stdout
    assert "due (UTC):    2026-04-07T07:30:00Z" in text


def test_due_json_of_a_replacement_names_its_component() -> None:
    result = run(
        "due", "--level", "enterprise", "--severity", "high", "--component", "disk",
        "--opened", "2026-04-05T03:00:00Z", "--format", "json",
    )  # fmt: skip
    document = json.loads(result.stdout)
    assert (document["metric"], document["component"], document["due"]) == (
        "hardware_replacement",
        "disk",
        "2026-04-05T05:00:00Z",
    )


def test_due_unknown_format_is_one_line() -> None:
    assert one_line_error(due("--format", "xml")) == "Error: --format: 'xml' is not one of 'text', 'json'"


def test_due_a_level_without_the_metric_blames_metric() -> None:
    line = one_line_error(due("--metric", "resolution"))
    assert line == "Error: --metric: level 'premium' promises no resolution target"


# -- usage errors of every command ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (["due", "--level", "premium"], r"Error: --severity: missing; critical, high, medium or low\."),
        (["due", "--level"], r"Error: --level: requires an argument"),
        (
            ["due", "--level", "premium", "--severity", "high", "--opened", FRIDAY_EVENING, "--bogus"],
            r"Error: --bogus: no such option of sla-engine due; see 'sla-engine due --help'",
        ),
        (
            ["due", "--level", "premium", "--severity", "high", "--openned", FRIDAY_EVENING],
            r"Error: --openned: no such option of sla-engine due; did you mean .*--opened\?",
        ),
        (["replay"], r"Error: EVENTS: missing; A JSON Lines file.*"),
        (["replay", "x.jsonl", "--until"], r"Error: --until: requires an argument"),
        (["invoke"], r"Error: FUNCTION: missing; .*"),
        (["invoke", "IngestFunction"], r"Error: --event: missing; .*"),
        (["plans", "extra"], r"Error: extra: unexpected argument of sla-engine plans; see .*"),
        (["plans", "--format"], r"Error: --format: requires an argument"),
        (["demo", "--nope"], r"Error: --nope: no such option of sla-engine demo; .*"),
        (["du"], r"Error: du: no such command \(did you mean due\?\); the commands are .*"),
        (["--bogus"], r"Error: --bogus: no such option of sla-engine; .*"),
    ],
)
def test_every_usage_error_is_one_line_naming_the_option(args: list[str], expected: str) -> None:
    line = one_line_error(run(*args))
    assert re.fullmatch(expected, line), line


def test_no_arguments_shows_the_help_with_status_2() -> None:
    result = run()
    assert result.exit_code == 2
    assert "Usage: sla-engine [OPTIONS] COMMAND" in result.stdout


@pytest.mark.parametrize("command", COMMANDS)
def test_help_has_no_odd_placeholders(command: str) -> None:
    result = run(command, "--help")
    assert result.exit_code == 0, result.output
    text = result.stdout
    assert "<bool>" not in text
    assert "<str>" not in text
    assert not re.search(r"\{[a-z_]+\}", text), text
    usage = next(line for line in text.splitlines() if "Usage:" in line)
    assert "{" not in usage and "}" not in usage, usage


def test_the_usage_line_names_arguments_in_capitals() -> None:
    assert "Usage: sla-engine replay [OPTIONS] EVENTS" in run("replay", "--help").stdout
    assert "Usage: sla-engine invoke [OPTIONS] FUNCTION" in run("invoke", "--help").stdout


def test_the_help_option_itself_shows_no_type() -> None:
    help_line = next(line for line in run("due", "--help").stdout.splitlines() if "--help" in line)
    assert "Show this message and exit." in help_line
    assert "<" not in help_line


# -- invoke: the event its function's trigger sends ----------------------------------------------------------


def write(tmp_path: Path, name: str, content: Any) -> Path:
    path = tmp_path / name
    if isinstance(content, bytes):
        path.write_bytes(content)
    elif isinstance(content, str):
        path.write_text(content, encoding="utf-8")
    else:
        path.write_text(json.dumps(content), encoding="utf-8")
    return path


def sqs_sample() -> dict[str, Any]:
    sample: dict[str, Any] = json.loads((EVENTS / "sqs-ticket-opened.json").read_text(encoding="utf-8"))
    return sample


def without_message_id() -> dict[str, Any]:
    sample = sqs_sample()
    del sample["Records"][0]["messageId"]
    return sample


def body_as_object() -> dict[str, Any]:
    sample = sqs_sample()
    sample["Records"][0]["body"] = json.loads(sample["Records"][0]["body"])
    return sample


@pytest.mark.parametrize(
    ("function", "content", "expected"),
    [
        ("IngestFunction", bytes(range(256)), r"Error: --event: .*bin\.json is not UTF-8 text \(a binary file\?\).*"),
        ("IngestFunction", {"foo": 1}, r'Error: --event: .* has no "Records": IngestFunction is triggered by SQS.*'),
        ("IngestFunction", {"Records": "nope"}, r"Error: --event: Records: expected a list of records, got the string 'nope'.*"),
        ("IngestFunction", {"Records": []}, r"Error: --event: Records: empty .*"),
        ("IngestFunction", {"Records": [42]}, r"Error: --event: Records\[0\]: expected an SQS record \(an object\), got the number 42"),
        ("IngestFunction", without_message_id(), r"Error: --event: Records\[0\]\.messageId: missing; .*"),
        ("IngestFunction", body_as_object(), r"Error: --event: Records\[0\]\.body: got an object; the body is the EventBridge event as JSON text.*"),
        ("IngestFunction", [1, 2], r"Error: --event: .* holds an array; an event is a JSON object"),
        ("IngestFunction", "", r"Error: --event: .* is empty; .*"),
        ("IngestFunction", "{not json", r"Error: --event: .* is not JSON: .* at line 1, column 2"),
        ("NotifierFunction", {}, r'Error: --event: .* has no "Records": NotifierFunction is triggered by the table\'s stream.*'),
        ("NotifierFunction", sqs_sample(), r"Error: --event: Records\[0\]\.eventSource: the string 'aws:sqs' is not a stream record; .*"),
        ("SweeperFunction", sqs_sample(), r"Error: --event: .* is a batch of records, but SweeperFunction is triggered by a schedule.*"),
        ("NoSuchFunction", {}, r"Error: FUNCTION: unknown function 'NoSuchFunction'; the functions of template\.yaml: IngestFunction, .*"),
    ],
    ids=[
        "binary", "foo", "records-not-a-list", "no-records", "record-not-an-object", "no-message-id",
        "body-an-object", "array", "empty", "not-json", "notifier-empty", "notifier-given-sqs",
        "sweeper-given-sqs", "unknown-function",
    ],
)  # fmt: skip
def test_invoke_refuses_an_event_its_trigger_never_sends_in_one_line(
    tmp_path: Path, function: str, content: Any, expected: str
) -> None:
    path = write(tmp_path, "bin.json", content)
    line = one_line_error(run("invoke", function, "--event", str(path)))
    assert re.fullmatch(expected, line), line


def test_invoke_given_the_raw_sample_names_the_sqs_wrapped_one() -> None:
    raw = EVENTS / "ticket-opened.json"
    line = one_line_error(run("invoke", "IngestFunction", "--event", str(raw)))
    assert "is a raw EventBridge event, but IngestFunction is triggered by SQS" in line
    assert f"use {EVENTS / 'sqs-ticket-opened.json'}" in line


def test_invoke_given_a_directory_or_a_missing_file_is_one_line(tmp_path: Path) -> None:
    assert one_line_error(run("invoke", "IngestFunction", "-e", str(tmp_path))).endswith(
        "is a directory, not an event file"
    )
    missing = one_line_error(run("invoke", "IngestFunction", "-e", str(tmp_path / "none.json")))
    assert missing.startswith("Error: --event: cannot read ") and "No such file or directory" in missing


def test_invoke_reads_a_file_with_a_utf8_byte_order_mark(tmp_path: Path) -> None:
    path = write(
        tmp_path, "bom.json", "\ufeff" + (EVENTS / "sqs-ticket-opened.json").read_text(encoding="utf-8")
    )
    result = run("invoke", "IngestFunction", "--event", str(path), "--format", "json")
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["response"] == {"batchItemFailures": []}


# -- the checks themselves, on the real template ------------------------------------------------------------------

TRIGGERS = function_triggers(load_template())


def test_each_function_has_the_trigger_of_template_yaml() -> None:
    assert TRIGGERS["IngestFunction"] == "SQS"
    assert TRIGGERS["NotifierFunction"] == "DynamoDB"
    assert TRIGGERS["SweeperFunction"] == "Schedule"


def stream_record(**changes: Any) -> dict[str, Any]:
    record: dict[str, Any] = {
        "eventID": "1",
        "eventName": "INSERT",
        "eventSource": "aws:dynamodb",
        "dynamodb": {
            "SequenceNumber": "100",
            "Keys": {"pk": {"S": "OUTBOX#T-1"}},
            "NewImage": {"pk": {"S": "x"}},
        },
    }
    record.update(changes)
    return record


@pytest.mark.parametrize(
    ("record", "problem"),
    [
        (stream_record(eventName="UPSERT"), "Records[0].eventName: got the string 'UPSERT'; one of INSERT"),
        ({"eventName": "INSERT"}, "Records[0].dynamodb: missing"),
        (stream_record(dynamodb={"NewImage": {}}), "Records[0].dynamodb.SequenceNumber: missing"),
        (
            stream_record(dynamodb={"SequenceNumber": "1", "NewImage": {"pk": "OUTBOX#T-1"}}),
            "Records[0].dynamodb.NewImage.pk: expected a typed attribute value",
        ),
    ],
)
def test_a_broken_stream_record_is_named_by_its_path(record: dict[str, Any], problem: str) -> None:
    with pytest.raises(BadEvent) as bad:
        check_event("NotifierFunction", TRIGGERS, {"Records": [record]}, Path("stream.json"))
    assert bad.value.option == "--event"
    assert bad.value.problem.startswith(problem), bad.value.problem


def test_a_well_formed_batch_passes_for_its_own_function_only() -> None:
    check_event("NotifierFunction", TRIGGERS, {"Records": [stream_record()]}, Path("stream.json"))
    check_event("IngestFunction", TRIGGERS, sqs_sample(), Path("sqs.json"))
    check_event(
        "SweeperFunction", TRIGGERS, {"source": "aws.events", "detail-type": "Scheduled Event"}, Path("s")
    )
    with pytest.raises(BadEvent, match="is not an SQS record"):
        check_event("IngestFunction", TRIGGERS, {"Records": [stream_record()]}, Path("stream.json"))


@pytest.mark.parametrize("sample", sorted(path.name for path in EVENTS.glob("sqs-*.json")))
def test_the_clock_of_an_sqs_sample_is_when_the_queue_received_it(sample: str) -> None:
    payload = json.loads((EVENTS / sample).read_text(encoding="utf-8"))
    sent = max(int(record["attributes"]["SentTimestamp"]) // 1000 for record in payload["Records"])
    assert receipt_time(payload) == sent


def test_no_receipt_time_without_a_sent_timestamp_in_range() -> None:
    assert receipt_time({"Records": [{"messageId": "m", "body": "{}"}]}) is None
    assert receipt_time({"Records": [{"attributes": {"SentTimestamp": "253402297199000"}}]}) is None  # 9999
    assert receipt_time([1]) is None


def test_invoke_on_the_shipped_sample_accepts_it_rather_than_refusing_it_as_a_year_late() -> None:
    from local.engine import LocalEngine

    payload = sqs_sample()
    with LocalEngine(None, start=receipt_time(payload)) as engine:
        assert engine.invoke("IngestFunction", payload) == {"batchItemFailures": []}
        assert engine.rejections() == []
        assert engine.ticket_ids() == ["T-1001"]
