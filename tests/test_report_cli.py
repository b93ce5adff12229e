"""`sla-engine report` and `sla-engine sample` as a user meets them: outputs, formats, and one-line errors.

Bad arguments give one line naming the argument and exit status 2, never a traceback; bad lines in the file
are skipped, reported by line number on standard error, and the good ones still count (exit 0).
"""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import pytest
from typer.testing import CliRunner, Result

from cli.main import app
from tests.kpi_month import FROM, TO, month_events

runner = CliRunner(env={"SLA_CATALOG_PATH": None})


@pytest.fixture(scope="module")
def month(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("report") / "april.jsonl"
    path.write_text("".join(json.dumps(event) + "\n" for event in month_events()), encoding="utf-8")
    return path


def run(*args: str) -> Result:
    return runner.invoke(app, list(args))


def report(month: Path, *extra: str) -> Result:
    return run("report", str(month), "--from", FROM, "--to", TO, *extra)


def one_line_error(result: Result, names: str) -> str:
    assert result.exit_code == 2, result.output
    assert "Traceback" not in result.output
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith(f"Error: {names}:"), lines[0]
    assert result.stdout == ""
    return lines[0]


def test_json_is_the_document_of_spec_section_9(month: Path) -> None:
    result = report(month, "--format", "json", "--by", "level,agent")
    assert result.exit_code == 0, result.output
    document = json.loads(result.stdout)
    assert set(document) == {"period", "by", "groups", "lines", "credits"}
    assert document["by"] == ["level", "agent"]
    assert all(set(g["key"]) == {"level", "agent"} for g in document["groups"])
    assert document["credits"][0] == {
        "customer_id": "C-B",
        "support_level": "business",
        "breaches": 1,
        "hours_late": 3,
        "percent": 15.0,
    }
    assert result.stderr == ""


def test_by_may_be_repeated_and_names_each_dimension_once(month: Path) -> None:
    repeated = json.loads(report(month, "--format", "json", "--by", "level", "--by", "agent,level").stdout)
    assert repeated["by"] == ["level", "agent"]


def test_table_shows_every_section(month: Path) -> None:
    result = report(month)
    assert result.exit_code == 0, result.output
    for title in ("SLA compliance", "Response times", "Customer satisfaction", "Hardware", "Service credits"):
        assert title in result.stdout
    assert "57.1 % (4/7)" in result.stdout  # first_response: met over decided
    assert "75.0 %" in result.stdout  # CSAT


def test_csv_has_one_figure_per_row(month: Path) -> None:
    result = report(month, "--format", "csv", "--by", "level")
    assert result.exit_code == 0, result.output
    rows = list(csv.DictReader(io.StringIO(result.stdout)))
    assert list(rows[0]) == [
        "period_from",
        "period_to",
        "section",
        "level",
        "severity",
        "line",
        "agent",
        "customer",
        "item",
        "measure",
        "value",
    ]
    assert {row["period_from"] for row in rows} == {"2026-04-01T00:00:00Z"}

    def value(section: str, measure: str, **about: str) -> str:
        found = [
            r
            for r in rows
            if r["section"] == section
            and r["measure"] == measure
            and all(r[k] == v for k, v in about.items())
        ]
        assert len(found) == 1, (section, measure, about)
        return found[0]["value"]

    assert value("compliance", "percent", level="business", item="first_response") == "66.7"
    assert value("compliance", "percent", level="business", item="resolution") == ""  # null
    assert value("reaction", "median_working_seconds", level="premium") == "6000"
    assert value("credits", "percent", customer="C-E", level="enterprise") == "100.0"
    assert value("lines", "escalations", line="l1") == "0"


def test_output_writes_a_file_and_nothing_on_stdout(month: Path, tmp_path: Path) -> None:
    target = tmp_path / "april.json"
    result = report(month, "--format", "json", "--output", str(target))
    assert result.exit_code == 0, result.output
    assert result.stdout == ""
    assert json.loads(target.read_text(encoding="utf-8"))["period"]["to"] == "2026-05-01T00:00:00Z"
    table = tmp_path / "april.txt"
    assert report(month, "--output", str(table)).exit_code == 0
    assert "Service credits" in table.read_text(encoding="utf-8")


def test_a_period_may_be_given_as_instants_with_offsets(month: Path) -> None:
    dates = json.loads(report(month, "--format", "json").stdout)
    instants = run(
        "report",
        str(month),
        "--from",
        "2026-04-01T02:00:00+02:00",
        "--to",
        "2026-05-01T00:00:00Z",
        "--format",
        "json",
    )
    assert json.loads(instants.stdout) == dates


def test_bad_lines_are_skipped_by_line_number_and_the_rest_still_counts(month: Path, tmp_path: Path) -> None:
    lines = month.read_text(encoding="utf-8").splitlines()
    broken = tmp_path / "broken.jsonl"
    bad = [
        "{not json",
        json.dumps({"source": "controlpanel.support", "detail-type": "Ticket Exploded", "detail": {}}),
        json.dumps([1, 2]),
        json.dumps({**json.loads(lines[5]), "source": "someone.else"}),
    ]
    broken.write_text("\ufeff" + "\n".join([lines[0], *bad, "", *lines[1:]]) + "\n", encoding="utf-8")
    result = run("report", str(broken), "--from", FROM, "--to", TO, "--format", "json")
    assert result.exit_code == 0, result.output
    skipped = result.stderr.strip().splitlines()
    assert [line.split(": skipped")[0] for line in skipped] == [f"{broken} line {n}" for n in (2, 3, 4, 5)]
    assert "not JSON" in skipped[0] and "unknown type" in skipped[1] and "source" in skipped[3]
    # The skipped copy of line 5 of the original duplicates an event still in the file: same figures.
    assert json.loads(result.stdout) == json.loads(report(month, "--format", "json").stdout)


def test_sample_is_deterministic_for_a_seed(month: Path) -> None:
    args = ("sample", str(month), "--from", FROM, "--to", TO, "--per-agent", "2", "--format", "json")
    first = run(*args, "--seed", "s1")
    assert first.exit_code == 0, first.output
    document = json.loads(first.stdout)
    assert document["per_agent"] == 2 and document["seed"] == "s1"
    assert [(a["agent_id"], a["closed_tickets"], len(a["sample"])) for a in document["agents"]] == [
        ("A1", 3, 2),
        ("A2", 3, 2),
    ]
    assert {t["ticket_id"] for t in document["agents"][0]["sample"]} <= {"T1", "T3", "T8"}
    assert json.loads(run(*args, "--seed", "s1").stdout) == document
    seeds = {json.dumps(json.loads(run(*args, "--seed", f"s{n}").stdout)["agents"]) for n in range(12)}
    assert len(seeds) > 1  # the seed does choose
    default = json.loads(run(*args).stdout)
    assert default["seed"] == FROM


def test_sample_table_and_csv(month: Path) -> None:
    base = ("sample", str(month), "--from", FROM, "--to", TO, "--seed", "x")
    table = run(*base)
    assert table.exit_code == 0 and "Quality sample" in table.stdout and "A2" in table.stdout
    rows = list(csv.DictReader(io.StringIO(run(*base, "--format", "csv").stdout)))
    assert {r["agent_id"] for r in rows} == {"A1", "A2"} and len(rows) == 6  # 3 closed each, up to 5 drawn


@pytest.mark.parametrize(
    ("args", "names"),
    [
        (("--format", "pdf"), "--format"),
        (("--by", "level,weather"), "--by"),
        (("--from", "yesterday"), "--from"),
        (("--from", "2026-04-01T00:00:00"), "--from"),  # no offset
        (("--to", "2026-03-01"), "--to"),  # before --from
        (("--to", "2026-04-01"), "--to"),  # empty period
        (("--from", "1969-12-01"), "--from"),
        (("--to", "9999-12-31T23:00:00Z"), "--to"),
        (("--output", "/nonexistent/dir/report.html"), "--output"),
        (("--catalog", "/nonexistent/catalog.toml"), "--catalog"),
    ],
)
def test_bad_report_arguments_are_one_line_naming_the_argument(
    month: Path, args: tuple[str, ...], names: str
) -> None:
    base = {"--from": FROM, "--to": TO}
    given = dict(zip(args[::2], args[1::2], strict=True))
    merged = [item for key, value in {**base, **given}.items() for item in (key, value)]
    one_line_error(run("report", str(month), *merged), names)


def test_a_missing_period_bound_is_one_line(month: Path) -> None:
    one_line_error(run("report", str(month), "--to", TO), "--from")
    one_line_error(run("report", str(month), "--from", FROM), "--to")


@pytest.mark.parametrize(
    ("content", "problem"),
    [
        (b"\x89PNG\r\n\x1a\n\x00\xff\xfe", "not UTF-8"),
        (b'[{"a": 1}, {"b": 2}]', "JSON array"),
    ],
)
def test_files_that_are_not_json_lines_are_one_line(tmp_path: Path, content: bytes, problem: str) -> None:
    path = tmp_path / "events.jsonl"
    path.write_bytes(content)
    for command in ("report", "sample"):
        line = one_line_error(run(command, str(path), "--from", FROM, "--to", TO), "EVENTS")
        assert problem in line


def test_a_missing_file_or_a_directory_is_one_line(tmp_path: Path) -> None:
    assert "cannot read" in one_line_error(
        run("report", str(tmp_path / "none.jsonl"), "--from", FROM, "--to", TO), "EVENTS"
    )
    assert "cannot read" in one_line_error(run("sample", str(tmp_path), "--from", FROM, "--to", TO), "EVENTS")


@pytest.mark.parametrize("count", ["0", "-3", "many", "1e3"])
def test_a_bad_sample_size_is_one_line(month: Path, count: str) -> None:
    one_line_error(run("sample", str(month), "--from", FROM, "--to", TO, "--per-agent", count), "--per-agent")


def test_an_empty_file_reports_nothing_happened(tmp_path: Path) -> None:
    path = tmp_path / "empty.jsonl"
    path.write_text("", encoding="utf-8")
    result = run("report", str(path), "--from", FROM, "--to", TO, "--format", "json")
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["groups"] == []


def test_a_jsonl_file_whose_first_line_is_an_array_skips_that_line(month: Path, tmp_path: Path) -> None:
    path = tmp_path / "events.jsonl"
    path.write_text("[1, 2]\n" + month.read_text(encoding="utf-8"), encoding="utf-8")
    result = run("report", str(path), "--from", FROM, "--to", TO, "--format", "json")
    assert result.exit_code == 0, result.output
    assert result.stderr.strip() == f"{path} line 1: skipped: not a JSON object"


def test_a_pretty_printed_json_array_is_one_line(month: Path, tmp_path: Path) -> None:
    path = tmp_path / "events.json"
    path.write_text(json.dumps(month_events()[:3], indent=2), encoding="utf-8")
    assert "JSON array" in one_line_error(run("report", str(path), "--from", FROM, "--to", TO), "EVENTS")
