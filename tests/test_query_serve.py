"""`sla-engine serve`: the QueryFunction handler on a local HTTP server, with the development headers.

One test runs the command itself, as a person would (`--demo --port 0`), reads what it says at start and asks
it over HTTP; the others use `local.serve.serving` in process, over both backends.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from cli.main import app
from local.serve import NOTICE, Served, api_event, serving
from tests.query_story import NOW, QUEUE, epoch, story_lines

ROOT = Path(__file__).resolve().parents[1]
runner = CliRunner(env={"SLA_CATALOG_PATH": None})


def get(url: str, headers: dict[str, str] | None = None) -> tuple[int, Any]:
    request = urllib.request.Request(url, headers=headers or {})
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read())


@pytest.fixture(scope="module", params=["memory", "moto"])
def served(request: pytest.FixtureRequest) -> Iterator[Served]:
    with serving(story_lines(), epoch(NOW), port=0, backend=request.param) as server:
        yield server


def test_the_development_headers_are_the_callers_claims(served: Served) -> None:
    status, page = get(served.url + "/v1/queue", {"X-Sla-Scope": "sla/agent"})
    assert status == 200
    assert [item["ticket_id"] for item in page["items"]] == QUEUE
    assert page["at"] == NOW  # the clock stands at --at

    assert get(served.url + "/v1/tickets/T-A1/sla", {"X-Sla-Customer-Id": "C-A"})[0] == 200
    assert get(served.url + "/v1/tickets/T-A1/sla", {"X-Sla-Customer-Id": "C-B"}) == (
        404,
        {"error": {"status": 404, "message": "no such ticket", "field": "ticket_id"}},
    )
    assert get(served.url + "/v1/queue", {"X-Sla-Customer-Id": "C-A"})[0] == 403
    assert get(served.url + "/v1/queue?x-sla-scope=sla/agent")[0] == 200  # a browser's way: the query string


def test_the_dev_headers_land_where_the_jwt_authorizer_puts_claims_and_nowhere_else() -> None:
    event = api_event(
        "GET",
        "/v1/queue?limit=5&x-sla-scope=ignored",
        {"X-Sla-Scope": "sla/agent openid", "X-Sla-Customer-Id": "C-9", "Accept": "application/json"},
    )
    assert event["requestContext"]["authorizer"]["jwt"] == {
        "claims": {"scope": "sla/agent openid", "customer_id": "C-9"},
        "scopes": ["sla/agent", "openid"],
    }
    assert event["queryStringParameters"] == {"limit": "5"}
    assert event["rawQueryString"] == "limit=5"
    assert set(event["headers"]) == {"accept"}


@pytest.mark.parametrize(
    ("arguments", "option"),
    [
        (["--port", "70000"], "--port"),
        (["--at", "2026-04-08T12:00:00"], "--at"),
        (["--demo", "--events", "events/scenario.jsonl"], "--demo"),
        (["--events", "no/such/file.jsonl"], "--events"),
        (["--backend", "redis"], "--backend"),
    ],
)
def test_a_bad_argument_is_one_line_naming_it(arguments: list[str], option: str) -> None:
    result = runner.invoke(app, ["serve", *arguments])
    assert result.exit_code == 2
    (line,) = result.output.strip().splitlines()
    assert line.startswith(f"Error: {option}: ")


def test_serve_says_it_is_for_development_and_answers_the_demos_week() -> None:
    env = {name: value for name, value in os.environ.items() if name != "SLA_CATALOG_PATH"}
    command = Path(sys.executable).parent / "sla-engine"  # the console script `make` installs
    process = subprocess.Popen(
        [str(command), "serve", "--demo", "--at", "2026-04-08T03:30:00Z", "--port", "0"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        said = []
        assert process.stdout is not None
        for line in process.stdout:
            said.append(line)
            if line.startswith("Stop with Ctrl-C"):
                break
        text = "".join(said)
        assert NOTICE in text
        (url,) = re.findall(r"Serving the read API on (http://127\.0\.0\.1:\d+) ", text)
        assert "the clock stands at 2026-04-08T03:30:00Z" in text
        status, page = get(url + "/v1/queue", {"X-Sla-Scope": "sla/agent"})
        assert status == 200
        assert page["at"] == "2026-04-08T03:30:00Z"
        assert [item["breached"] for item in page["items"]] == [True, False]
    finally:
        process.terminate()
        process.wait(timeout=30)
