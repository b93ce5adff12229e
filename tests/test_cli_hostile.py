"""The command line's contract with hostile input (issue 10): every command that reads a file is fed binary
data, a byte order mark, an empty file, a directory, a JSON array, huge lines, wrong JSON types and instants
far in the past and the future.

Whatever it is fed, a command never shows a traceback: either the file is not JSON Lines at all (or an
argument is bad), one line `Error: <argument>: <problem>` on stderr with exit status 2; or the bad lines are
reported by their line number (exit 0) and every good event is still processed, with the same outcome as
in a file without the bad lines. On the memory backend: no moto, so that it runs in seconds.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner, Result

from cli.main import app

runner = CliRunner(env={"SLA_CATALOG_PATH": None})
EVENTS = Path(__file__).resolve().parents[1] / "events"
GOOD = (EVENTS / "scenario.jsonl").read_text(encoding="utf-8").splitlines()
PERIOD = ("--from", "2026-01-01", "--to", "2027-01-01")
OPENED = next(line for line in GOOD if '"Ticket Opened"' in line)


def run(*args: str) -> Result:
    return runner.invoke(app, list(args))


def no_traceback(result: Result) -> None:
    assert "Traceback" not in result.output, result.output
    assert "╭" not in result.stderr, result.stderr  # no rich box, the traceback's or typer's
    assert result.exception is None or isinstance(result.exception, SystemExit), result.exception


def one_line_error(result: Result, names: str) -> str:
    no_traceback(result)
    assert result.exit_code == 2, (result.exit_code, result.output)
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith(f"Error: {names}: "), lines[0]
    assert result.stdout == ""
    return lines[0]


def envelope(detail_type: str, **detail: Any) -> str:
    """A Ticket Opened of its own ticket, changed by `detail` (None removes a key)."""
    base: dict[str, Any] = {
        "ticket_id": "T-HOSTILE",
        "customer_id": "C-100",
        "severity": "high",
        "subject": "hostile",
        "event_id": "evt-hostile",
        "occurred_at": "2026-04-06T09:00:00Z",
    }
    base.update(detail)
    return json.dumps(
        {
            "version": "0",
            "id": "hostile",
            "detail-type": detail_type,
            "source": "controlpanel.support",
            "detail": {key: value for key, value in base.items() if value is not None},
        }
    )


# Lines that are not events, each with what its rejection must say; GOOD's events run around them.
BAD_LINES: dict[str, tuple[bytes, str]] = {
    "binary": (b"\xff\xfe\x00\x89PNG garbage", "line {n}: not UTF-8 text"),
    "not-json": (b"{not json", "line {n}: not JSON (Expecting property name"),
    "json-array": (b"[1, 2]", "line {n}: a JSON array, not an event"),
    "number": (b"12", "line {n}: an EventBridge event must be a JSON object"),
    "null": (b"null", "line {n}: an EventBridge event must be a JSON object"),
    "huge": (b"x" * 2_000_000, "line {n}: not JSON"),
}
# Events whose content is wrong: rejected by the engine with their reason, under their own event_id.
BAD_EVENTS: dict[str, tuple[str, str, str]] = {
    "far-future": (
        envelope("Ticket Opened", event_id="evt-far", occurred_at="9999-12-31T23:00:00Z"),
        "evt-far",
        "occurred_at: 9999-12-31T23:00:00+00:00 is ",
    ),
    "far-past": (
        envelope("Ticket Opened", event_id="evt-past", occurred_at="0001-01-01T00:00:00Z"),
        "evt-past",
        "occurred_at: 0001-01-01T00:00:00+00:00 is ",
    ),
    "epoch-number": (
        envelope("Ticket Opened", event_id="evt-epoch", occurred_at=12345),
        "evt-epoch",
        "expected an ISO 8601 instant as a JSON string",
    ),
    "sequence-bool": (envelope("Ticket Opened", event_id="evt-bool", sequence=True), "evt-bool", "sequence"),
    "huge-event-id": (envelope("Ticket Opened", event_id="e" * 300_000), "hostile", "event_id"),
}


def write(tmp_path: Path, name: str, lines: list[bytes], prefix: bytes = b"") -> Path:
    path = tmp_path / name
    path.write_bytes(prefix + b"\n".join(lines) + b"\n")
    return path


def good_bytes() -> list[bytes]:
    return [line.encode("utf-8") for line in GOOD]


@pytest.fixture(scope="module")
def baseline(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    path = write(tmp_path_factory.mktemp("good"), "good.jsonl", good_bytes())
    result = run("replay", str(path), "--format", "json")
    assert result.exit_code == 0, result.output
    document: dict[str, Any] = json.loads(result.stdout)
    assert document["tickets"] and document["alerts"] and document["notifications"]
    return document


def replay_json(path: Path, *extra: str) -> tuple[dict[str, Any], Result]:
    result = run("replay", str(path), "--format", "json", *extra)
    no_traceback(result)
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout), result


def reasons(document: dict[str, Any]) -> dict[str, str]:
    return {row["event_id"]: row["reason"] for row in document["rejected"]}


# -- replay: bad lines rejected by their number, the good ones still run -----------------------------------


def test_every_bad_line_is_rejected_by_its_number_and_every_good_event_still_runs(
    tmp_path: Path, baseline: dict[str, Any]
) -> None:
    lines = good_bytes()
    expected: dict[str, str] = {}
    for offset, (content, _) in enumerate(BAD_LINES.values()):
        at = 2 + 3 * offset  # among the good events, not before nor after them all
        lines.insert(at, content)
    for number, line in enumerate(lines, start=1):
        for content, reason in BAD_LINES.values():
            if line == content:
                expected[f"line-{number}"] = reason.format(n=number)
    document, _ = replay_json(write(tmp_path, "mixed.jsonl", lines))

    found = reasons(document)
    for event_id, reason in expected.items():
        assert found[event_id].startswith(reason), (event_id, found[event_id])
    assert len(found) == len(baseline["rejected"]) + len(BAD_LINES)
    assert {k: v for k, v in document.items() if k != "rejected"} == {
        k: v for k, v in baseline.items() if k != "rejected"
    }


@pytest.mark.parametrize("name", sorted(BAD_EVENTS))
def test_an_event_with_bad_content_is_rejected_with_its_reason_the_others_run(
    tmp_path: Path, baseline: dict[str, Any], name: str
) -> None:
    line, event_id, reason = BAD_EVENTS[name]
    lines = good_bytes()
    lines.insert(5, line.encode("utf-8"))

    document, _ = replay_json(write(tmp_path, "events.jsonl", lines))

    assert reason in reasons(document)[event_id]
    assert document["tickets"] == baseline["tickets"]
    assert document["alerts"] == baseline["alerts"]


def test_a_far_future_event_stamped_in_year_9999_leaves_the_clock_and_horizon_alone(
    tmp_path: Path, baseline: dict[str, Any]
) -> None:
    far = json.loads(OPENED)
    far["time"] = "9999-12-31T23:00:00Z"  # and the envelope's time too
    far["detail"].update(event_id="evt-far", occurred_at="9999-12-31T23:00:00Z", ticket_id="T-FAR")
    lines = good_bytes()
    lines.insert(3, json.dumps(far).encode("utf-8"))

    document, _ = replay_json(write(tmp_path, "far.jsonl", lines))

    assert "9999-12-31T23:00:00" in reasons(document)["evt-far"]
    assert document["tickets"] == baseline["tickets"]


def test_a_byte_order_mark_is_not_part_of_the_first_event(tmp_path: Path, baseline: dict[str, Any]) -> None:
    document, _ = replay_json(write(tmp_path, "bom.jsonl", good_bytes(), prefix=b"\xef\xbb\xbf"))

    assert document == baseline  # the plan change on the first line is taken: premium stays premium


def test_a_line_separator_inside_a_json_string_does_not_split_the_line(
    tmp_path: Path, baseline: dict[str, Any]
) -> None:
    opened = json.loads(OPENED)
    opened["detail"].update(event_id="evt-sep", ticket_id="T-SEP", subject="one\u2028two\x1cthree")
    lines = [*good_bytes(), json.dumps(opened, ensure_ascii=False).encode("utf-8")]

    document, _ = replay_json(write(tmp_path, "sep.jsonl", lines))

    assert "T-SEP" in {ticket["ticket_id"] for ticket in document["tickets"]}
    assert reasons(document) == reasons(baseline)


@pytest.mark.parametrize(
    ("name", "content", "problem"),
    [
        ("binary.jsonl", bytes(range(256)) * 40, "not UTF-8 text (a binary file?)"),
        ("nul.jsonl", b"\x00\x01\x02\n\x00\x00\n", "not UTF-8 text (a binary file?)"),
        ("array.json", json.dumps([json.loads(line) for line in GOOD[:3]]).encode(), "this looks like a JSON array"),
        ("pretty.json", json.dumps([json.loads(GOOD[0])], indent=2).encode(), "this looks like a JSON array"),
    ],
    ids=["binary", "nul-bytes", "array", "pretty-array"],
)  # fmt: skip
def test_a_file_that_is_not_json_lines_is_one_line_naming_events(
    tmp_path: Path, name: str, content: bytes, problem: str
) -> None:
    path = tmp_path / name
    path.write_bytes(content)

    line = one_line_error(run("replay", str(path)), "EVENTS")

    assert problem in line
    if "array" in problem:
        assert line.endswith("expected one JSON object per line (JSONL); this looks like a JSON array")


def test_a_directory_or_a_missing_file_is_one_line_naming_events(tmp_path: Path) -> None:
    assert "Is a directory" in one_line_error(run("replay", str(tmp_path)), "EVENTS")
    assert "No such file" in one_line_error(run("replay", str(tmp_path / "none.jsonl")), "EVENTS")


def test_an_empty_file_is_an_empty_document_and_a_note(tmp_path: Path) -> None:
    path = tmp_path / "empty.jsonl"
    path.write_bytes(b"\n  \n")

    document, result = replay_json(path)

    assert document == {"tickets": [], "alerts": [], "notifications": [], "rejected": []}
    assert result.stderr.startswith("Note: EVENTS holds no event")


def test_until_in_year_9999_is_one_line_naming_until(tmp_path: Path) -> None:
    path = write(tmp_path, "good.jsonl", good_bytes())
    line = one_line_error(run("replay", str(path), "--until", "9999-12-31T23:59:00Z"), "--until")
    assert "is not before 2100-01-01T00:00:00Z" in line


def test_until_before_every_event_is_a_note_on_stderr_and_valid_json(tmp_path: Path) -> None:
    path = write(tmp_path, "good.jsonl", good_bytes())

    document, result = replay_json(path, "--until", "2020-01-01T00:00:00Z")

    assert document == {"tickets": [], "alerts": [], "notifications": [], "rejected": []}
    (note,) = result.stderr.strip().splitlines()
    assert note.startswith("Note: --until 2020-01-01T00:00:00+00:00 is before every event")


def test_the_replay_table_never_cuts_a_dedup_key_or_a_reason(tmp_path: Path) -> None:
    path = write(tmp_path, "t.jsonl", [*good_bytes(), b"x" * 500])

    result = run("replay", str(path))

    no_traceback(result)
    assert result.exit_code == 0
    assert "…" not in result.stdout  # rich's mark of a cut cell: a long one is folded onto more lines
    wide = CliRunner(env={"SLA_CATALOG_PATH": None, "COLUMNS": "400"}).invoke(app, ["replay", str(path)])
    document, _ = replay_json(path)
    for alert in document["alerts"]:
        assert alert["dedup_key"] in wide.stdout
    assert document["rejected"][-1]["reason"] in " ".join(wide.stdout.split())


# -- report and sample: the same file, the same good events counted ----------------------------------------


@pytest.mark.parametrize("command", ["report", "sample"])
def test_report_and_sample_skip_bad_lines_by_number_and_count_the_good_ones(
    tmp_path: Path, command: str
) -> None:
    good = run(command, str(write(tmp_path, "good.jsonl", good_bytes())), *PERIOD, "--format", "json")
    assert good.exit_code == 0, good.output
    lines = good_bytes()
    for offset, (content, _) in enumerate(BAD_LINES.values()):
        lines.insert(2 + 3 * offset, content)
    lines.append(BAD_EVENTS["far-future"][0].encode("utf-8"))

    result = run(
        command,
        str(write(tmp_path, "mixed.jsonl", lines, prefix=b"\xef\xbb\xbf")),
        *PERIOD,
        "--format",
        "json",
    )

    no_traceback(result)
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout) == json.loads(good.stdout)
    skipped = result.stderr
    assert "line 3: skipped: not UTF-8 text" in skipped
    assert f"line {len(lines)}: skipped: occurred_at:" in skipped


@pytest.mark.parametrize("command", ["report", "sample"])
@pytest.mark.parametrize(
    ("content", "problem"),
    [(bytes(range(256)), "not UTF-8 text"), (b"[\n" + GOOD[0].encode() + b"\n]", "looks like a JSON array")],
    ids=["binary", "array"],
)
def test_report_and_sample_refuse_a_file_that_is_not_json_lines(
    tmp_path: Path, command: str, content: bytes, problem: str
) -> None:
    path = tmp_path / "events.jsonl"
    path.write_bytes(content)
    assert problem in one_line_error(run(command, str(path), *PERIOD), "EVENTS")


# -- invoke, plans, demo, dlq: a file that is no event, no catalog ------------------------------------------

HOSTILE_FILES: dict[str, Callable[[Path], Path]] = {
    "binary": lambda d: _bytes(d / "bin.json", bytes(range(256))),
    "empty": lambda d: _bytes(d / "empty.json", b""),
    "directory": lambda d: d,
    "array": lambda d: _bytes(d / "array.json", b"[1, 2]"),
    "huge": lambda d: _bytes(d / "huge.json", b"x" * 2_000_000),
    "jsonl": lambda d: _bytes(d / "events.jsonl", "\n".join(GOOD[:3]).encode()),
}


def _bytes(path: Path, content: bytes) -> Path:
    path.write_bytes(content)
    return path


@pytest.mark.parametrize("kind", sorted(HOSTILE_FILES))
def test_invoke_given_a_hostile_event_file_is_one_line_naming_event(tmp_path: Path, kind: str) -> None:
    path = HOSTILE_FILES[kind](tmp_path)
    one_line_error(run("invoke", "IngestFunction", "--event", str(path)), "--event")


@pytest.mark.parametrize("command", ["plans", "demo"])
@pytest.mark.parametrize("kind", ["binary", "empty", "array", "huge"])
def test_a_hostile_catalog_is_one_line_naming_catalog(tmp_path: Path, command: str, kind: str) -> None:
    path = HOSTILE_FILES[kind](tmp_path)
    one_line_error(run(command, "--catalog", str(path)), "--catalog")


@pytest.mark.parametrize("kind", ["binary", "directory", "array"])
def test_dlq_given_a_hostile_replay_file_is_one_line_naming_replay(tmp_path: Path, kind: str) -> None:
    path = HOSTILE_FILES[kind](tmp_path)
    if kind == "binary":
        path.write_bytes(bytes(range(256)) * 4)
    one_line_error(run("dlq", "list", "--queue", "ingest", "--replay", str(path)), "--replay")


@pytest.mark.parametrize(
    ("opened", "problem"),
    [("9999-12-31T23:00:00Z", "is not before 2100"), ("0001-01-01T00:00:00Z", "is before 1970")],
)
def test_due_far_in_the_future_or_the_past_is_one_line_naming_opened(opened: str, problem: str) -> None:
    args = ("due", "--level", "premium", "--severity", "high", "--opened", opened, "--format", "json")
    assert problem in one_line_error(run(*args), "--opened")


@pytest.mark.parametrize(
    "command", [[], ["dlq"], ["dlq", "list"], ["dlq", "show"], ["dlq", "redrive"], ["report"], ["sample"]]
)
def test_the_help_of_groups_and_subcommands_has_no_odd_placeholders(command: list[str]) -> None:
    result = run(*command, "--help")
    assert result.exit_code == 0, result.output
    assert "<bool>" not in result.stdout
    assert re.search(r"\{[a-z_]+\}", result.stdout) is None, result.stdout


@pytest.mark.parametrize("name", ["far-future", "far-past", "epoch-number", "sequence-bool", "huge-event-id"])
def test_invoke_reports_an_event_with_bad_content_as_rejected_with_its_reason(
    tmp_path: Path, name: str
) -> None:
    line, event_id, reason = BAD_EVENTS[name]
    batch = json.loads((EVENTS / "sqs-ticket-opened.json").read_text(encoding="utf-8"))
    good = batch["Records"][0]
    bad = {**good, "messageId": "bad-1", "body": line}
    batch["Records"] = [bad, good]
    path = tmp_path / "batch.json"
    path.write_text(json.dumps(batch), encoding="utf-8")

    result = run("invoke", "IngestFunction", "--event", str(path), "--format", "json")

    no_traceback(result)
    assert result.exit_code == 0, result.output
    rejected, accepted = json.loads(result.stdout)["records"]
    assert (rejected["outcome"], rejected["event_id"]) == ("rejected", event_id)
    assert reason in rejected["reason"]
    assert accepted["outcome"] == "accepted"  # the good record of the batch still runs
