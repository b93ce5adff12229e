"""The `sla-engine` command line as a user meets it: outputs, exit statuses and one-line errors."""

from __future__ import annotations

import json
import subprocess
import sys
from importlib import resources
from pathlib import Path

import pytest
from typer.testing import CliRunner, Result

from cli.main import app

# An operator's SLA_CATALOG_PATH in the environment must not change what these tests see.
runner = CliRunner(env={"SLA_CATALOG_PATH": None})

FRIDAY_EVENING = "2026-04-03T17:30:00+02:00"
DEFAULT_CATALOG = resources.files("sla").joinpath("catalog.toml").read_text(encoding="utf-8")
PREMIUM_FIRST_RESPONSE = 'first_response = { critical = "1h", high = "2h"'


def run(*args: str, env: dict[str, str | None] | None = None) -> Result:
    return runner.invoke(app, list(args), env=env)


def due(*extra: str) -> Result:
    return run("due", "--level", "premium", "--severity", "high", "--opened", FRIDAY_EVENING, *extra)


def one_line_error(result: Result) -> str:
    assert result.exit_code == 2, result.output
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert result.stdout == ""
    assert "Traceback" not in result.output
    return lines[0]


def operator_catalog(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "catalog.toml"
    path.write_text(text, encoding="utf-8")
    return path


# -- plans --------------------------------------------------------------------------------------------------


def test_plans_table_shows_every_promise_of_the_catalog() -> None:
    result = run("plans")
    assert result.exit_code == 0, result.output
    out = result.stdout
    premium = next(line for line in out.splitlines() if line.strip().startswith("premium"))
    assert "Mon–Fri 08:00–18:00, public holidays off" in premium
    assert premium.split()[-4:] == ["1h", "2h", "8h", "24h"]
    standard_next = next(line for line in out.splitlines() if "next response" in line)
    assert standard_next.split()[-4:] == ["4h", "8h", "24h", "48h"]
    assert "No level promises a resolution time." in out
    hot_swap = next(line for line in out.splitlines() if line.strip().startswith("hot_swap"))
    assert "disk, ssd, nvme, psu, fan" in hot_swap
    assert hot_swap.split()[-4:] == ["24h", "12h", "4h", "2h"]
    assert "ram, nic, raid_controller, gpu" in out
    assert "motherboard, cpu, chassis" in out
    enterprise = [line for line in out.splitlines() if line.strip().startswith("enterprise")][-1]
    assert "0.5, 0.75, 0.9" in enterprise
    assert "oncall-l2 → duty-manager → account-manager" in enterprise
    assert enterprise.split()[-1] == "10m"
    assert "served at standard" in out


def test_plans_json_gives_seconds_and_human_durations() -> None:
    result = run("plans", "--format", "json")
    assert result.exit_code == 0, result.output
    document = json.loads(result.stdout)
    premium = document["levels"]["premium"]
    assert premium["first_response"]["high"] == {"seconds": 7200, "human": "2h"}
    assert premium["next_response"]["low"] == {"seconds": 86_400, "human": "24h"}
    assert premium["resolution"] is None
    assert premium["coverage"] == {
        "calendar": "business_hours",
        "description": "Mon–Fri 08:00–18:00, public holidays off",
    }
    assert premium["warn_at"] == [0.75]
    assert premium["ladder"] == ["oncall-l2", "duty-manager"]
    assert premium["ack_timeout"] == {"seconds": 1800, "human": "30m"}
    hot_swap = document["levels"]["enterprise"]["hardware_replacement"]["hot_swap"]
    assert hot_swap == {"seconds": 7200, "human": "2h", "components": ["disk", "ssd", "nvme", "psu", "fan"]}
    assert document["levels"]["business"]["hardware_calendar"]["description"] == "24/7"
    assert document["levels"]["business"]["warn_at"] == [0.5, 0.75]
    assert document["calendars"]["business_hours"]["public_holidays"] is True
    assert document["default_level"] == "standard"
    assert list(document["levels"]) == ["standard", "premium", "business", "enterprise"]


# -- due ----------------------------------------------------------------------------------------------------


def test_due_friday_evening_premium_high_is_tuesday_morning() -> None:
    result = due()
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert lines[0] == "due (UTC):    2026-04-07T07:30:00Z"
    assert lines[1] == "due (local):  2026-04-07T09:30:00+02:00 Europe/Paris"
    assert "2h of first response at premium, severity high" in result.stdout
    assert "business_hours: Mon–Fri 08:00–18:00 Europe/Paris, public holidays of FR off" in result.stdout


def test_due_component_implies_hardware_replacement_counted_round_the_clock() -> None:
    result = run(
        "due", "--level", "enterprise", "--severity", "low", "--component", "disk",
        "--opened", "2026-04-04T23:00:00+02:00",
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    assert "due (UTC):    2026-04-04T23:00:00Z" in result.stdout
    assert "due (local):  2026-04-05T01:00:00+02:00 Europe/Paris" in result.stdout
    assert "2h of hardware replacement of a disk (hot_swap) at enterprise" in result.stdout
    assert "calendar:     always: 24/7" in result.stdout


def test_due_with_explicit_hardware_metric_and_component() -> None:
    result = due("--metric", "hardware_replacement", "--component", "motherboard")
    assert result.exit_code == 0, result.output
    assert "due (UTC):    2026-04-05T15:30:00Z" in result.stdout  # premium board: 48h, 24/7


def test_due_in_the_customers_zone_and_country() -> None:
    result = run(
        "due", "--level", "standard", "--severity", "low", "--opened", "2026-05-08T09:00:00+03:00",
        "--timezone", "Europe/Moscow", "--country", "ru",
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    assert "due (UTC):    2026-05-15T14:00:00Z" in result.stdout
    assert "due (local):  2026-05-15T17:00:00+03:00 Europe/Moscow" in result.stdout
    assert "public holidays of RU off" in result.stdout


def test_due_accepts_utc_with_z_and_next_response_metric() -> None:
    result = run(
        "due", "--level", "business", "--severity", "medium", "--metric", "next_response",
        "--opened", "2026-04-04T10:00:00Z",
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    assert result.stdout.splitlines()[0] == "due (UTC):    2026-04-04T14:00:00Z"


@pytest.mark.parametrize(
    ("args", "option", "problem"),
    [
        (["--level", "gold"], "--level", "unknown support level 'gold'"),
        (["--severity", "urgent"], "--severity", "unknown severity 'urgent'"),
        (["--metric", "speed"], "--metric", "unknown metric 'speed'"),
        (["--component", "toaster"], "--component", "unknown component 'toaster'"),
        (
            ["--metric", "first_response", "--component", "disk"],
            "--component",
            "only to hardware_replacement",
        ),
        (["--metric", "hardware_replacement"], "--component", "required with --metric hardware_replacement"),
        (["--metric", "resolution"], "--metric", "promises no resolution target"),
        (["--opened", "2026-04-03T17:30:00"], "--opened", "no UTC offset"),
        (["--opened", "friday evening"], "--opened", "not an ISO 8601 instant"),
        (["--timezone", "Europe/Pariss"], "--timezone", "unknown time zone 'Europe/Pariss'"),
        (["--country", "XX"], "--country", "unknown country 'XX'"),
        (["--subdivision", "ZZ"], "--subdivision", "unknown subdivision 'ZZ' of FR"),
        (["--catalog", "/nonexistent/catalog.toml"], "--catalog", "/nonexistent/catalog.toml: no such file"),
    ],
)
def test_due_bad_argument_is_one_line_naming_the_option(args: list[str], option: str, problem: str) -> None:
    base = {"--level": "premium", "--severity": "high", "--opened": FRIDAY_EVENING}
    overridden = dict(base)
    extra: list[str] = []
    for name, value in zip(args[::2], args[1::2], strict=True):
        if name in base:
            overridden[name] = value
        else:
            extra += [name, value]
    flat = [part for pair in overridden.items() for part in pair]
    line = one_line_error(run("due", *flat, *extra))
    assert line.startswith(f"Error: {option}: ")
    assert problem in line


def test_bad_country_is_refused_even_where_holidays_do_not_matter() -> None:
    result = run(
        "due", "--level", "business", "--severity", "high", "--opened", FRIDAY_EVENING, "--country", "XX"
    )
    assert "--country" in one_line_error(result)


def test_plans_bad_format_is_one_line() -> None:
    assert (
        one_line_error(run("plans", "--format", "xml"))
        == "Error: --format: 'xml' is not one of 'table', 'json'"
    )


def test_missing_required_option_is_a_usage_error() -> None:
    result = run("due", "--level", "premium", "--severity", "high")
    assert result.exit_code == 2
    assert "--opened" in result.stderr
    assert "Traceback" not in result.output


# -- operator's catalog -------------------------------------------------------------------------------------


def test_operator_catalog_changes_the_due_time(tmp_path: Path) -> None:
    assert DEFAULT_CATALOG.count(PREMIUM_FIRST_RESPONSE) == 1
    changed = DEFAULT_CATALOG.replace(
        PREMIUM_FIRST_RESPONSE, 'first_response = { critical = "1h", high = "3h"'
    )
    path = operator_catalog(tmp_path, changed)

    result = due("--catalog", str(path))
    assert result.exit_code == 0, result.output
    assert result.stdout.splitlines()[0] == "due (UTC):    2026-04-07T08:30:00Z"
    assert "3h of first response" in result.stdout

    via_env = runner.invoke(
        app,
        ["due", "--level", "premium", "--severity", "high", "--opened", FRIDAY_EVENING],
        env={"SLA_CATALOG_PATH": str(path)},
    )
    assert via_env.stdout.splitlines()[0] == "due (UTC):    2026-04-07T08:30:00Z"

    plans = json.loads(run("plans", "--format", "json", "--catalog", str(path)).stdout)
    assert plans["levels"]["premium"]["first_response"]["high"]["seconds"] == 3 * 3600


def test_invalid_operator_catalog_names_the_file_and_the_field(tmp_path: Path) -> None:
    broken = DEFAULT_CATALOG.replace(
        PREMIUM_FIRST_RESPONSE, 'first_response = { critical = "1h", high = "2x"'
    )
    path = operator_catalog(tmp_path, broken.replace('ack_timeout = "10m"', 'ack_timout = "10m"'))
    for command in (
        ["plans"],
        ["due", "--level", "premium", "--severity", "high", "--opened", FRIDAY_EVENING],
    ):
        line = one_line_error(run(*command, "--catalog", str(path)))
        assert line.startswith(f"Error: --catalog: catalog {path}: ")
        assert "levels.premium.first_response.high: '2x' is not a duration" in line
        assert "levels.enterprise.ack_timout: unknown key" in line
        assert "levels.enterprise.ack_timeout: missing" in line


def test_catalog_that_is_not_toml_names_the_file(tmp_path: Path) -> None:
    path = operator_catalog(tmp_path, "levels = [")
    line = one_line_error(run("plans", "--catalog", str(path)))
    assert f"catalog {path}: is not valid TOML" in line


# -- help, demo and the shape of the app --------------------------------------------------------------------


def test_help_explains_each_command_with_examples() -> None:
    top = run("--help")
    assert top.exit_code == 0
    for command in ("plans", "due", "demo"):
        assert command in top.stdout
        page = run(command, "--help")
        assert page.exit_code == 0, page.output
        assert "Examples" in page.stdout
        assert f"sla-engine {command}" in page.stdout
    assert "SLA_CATALOG_PATH" in run("due", "--help").stdout


def test_importing_the_cli_stays_light() -> None:
    code = "import sys, cli.main; sys.exit(sorted({'boto3', 'holidays', 'moto'} & set(sys.modules)) != [])"
    assert subprocess.run([sys.executable, "-c", code], check=False).returncode == 0
