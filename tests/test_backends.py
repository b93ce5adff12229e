"""Both backends of the local engine give the same output for the same history (issue 9).

The moto backend runs the Lambda handlers on the template's resources in moto; the memory backend runs the
services they call on the in-memory store (local.memory). Everything else is shared, so the SPEC section 7
document must come out identical: on the shipped scenarios (events/scenario.jsonl and the demo's week, which
CI replays on both backends here) and on generated histories, small ones, as moto's cost grows with the
square of the history. The generated ones are also compared by what the notifier sent PagerDuty and Slack,
ticket by ticket (the backends hand over different tickets' records in different orders; a ticket's own go
in decided order on both).
"""

from __future__ import annotations

import json
import re
from collections import defaultdict
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from bench.replay_scale import history
from cli.demo_scenario import HORIZON, scenario_events
from cli.main import app
from local.engine import BACKENDS, Backend, Engine, open_engine
from local.replay import document, play, replay, schedule
from tests.conftest import eventbridge

ROOT = Path(__file__).resolve().parents[1]
SCENARIO = ROOT / "events" / "scenario.jsonl"


def on_both(lines: list[str], until: Any = None) -> dict[Backend, dict[str, Any]]:
    return {backend: replay(lines, until, backend=backend) for backend in BACKENDS}


def test_the_shipped_scenario_replays_to_the_same_document_on_both_backends() -> None:
    documents = on_both(SCENARIO.read_text(encoding="utf-8").splitlines())

    assert documents["memory"] == documents["moto"]
    assert documents["memory"]["alerts"] and documents["memory"]["rejected"]


def test_the_demo_week_replays_to_the_same_document_on_both_backends() -> None:
    documents = on_both([json.dumps(event) for event in scenario_events()], HORIZON)

    assert documents["memory"] == documents["moto"]
    assert {n["channel"] for n in documents["memory"]["notifications"]} == {"email", "none"}


def sent_by_ticket(engine: Engine) -> dict[str, list[tuple[str, Any]]]:
    """What PagerDuty and Slack were sent, per ticket, in order: (endpoint, document without its key)."""
    found: dict[str, list[tuple[str, Any]]] = defaultdict(list)
    for request in engine.http.requests:
        sent = {key: value for key, value in request.document.items() if key != "routing_key"}
        ticket = re.search(r"T-\d{6}", json.dumps(sent))  # history() numbers its tickets so
        assert ticket is not None, sent
        found[ticket.group()].append((request.url, sent))
    return dict(found)


@pytest.mark.parametrize("seed", [1, 2])
def test_a_generated_history_gives_the_same_document_and_sends_on_both_backends(seed: int) -> None:
    lines = history(36, 4, seed=seed, customers=4)  # a ticket on each support level
    outcomes: dict[str, tuple[dict[str, Any], dict[str, list[tuple[str, Any]]]]] = {}
    for backend in BACKENDS:
        deliveries, start, horizon = schedule(lines)
        with open_engine(backend, start=start) as engine:
            play(engine, deliveries, horizon)
            outcomes[backend] = (document(engine, horizon), sent_by_ticket(engine))

    memory, moto = outcomes["memory"], outcomes["moto"]
    assert memory[0] == moto[0]
    assert memory[1] == moto[1]
    assert len(memory[0]["tickets"]) == 4 and memory[0]["alerts"] and memory[1]


@pytest.mark.parametrize("backend", BACKENDS)
def test_replay_takes_the_backend_on_the_command_line(backend: str) -> None:
    result = CliRunner().invoke(app, ["replay", str(SCENARIO), "--format", "json", "--backend", backend])

    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout) == replay(SCENARIO.read_text(encoding="utf-8").splitlines())


def test_an_unknown_backend_is_a_one_line_error() -> None:
    result = CliRunner().invoke(app, ["replay", str(SCENARIO), "--backend", "dynamo"])

    assert result.exit_code == 2
    assert "--backend" in result.output and "memory, moto" in result.output


@pytest.mark.parametrize("backend", BACKENDS)
def test_invoke_runs_a_handler_on_either_backend(backend: str) -> None:
    event = ROOT / "events" / "sqs-ticket-opened.json"
    result = CliRunner().invoke(
        app, ["invoke", "IngestFunction", "--event", str(event), "--backend", backend, "--format", "json"]
    )

    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["response"] == {"batchItemFailures": []}


def delivered(engine: Engine) -> list[tuple[str, list[str]]]:
    """The alerts and apologies of the outbox, in decided order, with the channels they went out on."""
    rows = engine.outbox()
    return [(r["kind"], r["channels"]) for r in rows if r["type"] == "alert" or r["kind"] == "breach_apology"]


@pytest.mark.parametrize("backend", BACKENDS)
def test_a_failed_delivery_holds_its_tickets_later_effects_until_it_goes_through(backend: Backend) -> None:
    """PagerDuty answers 500: the breach page fails, and the customer's apology (by e-mail, which works)
    and the next step's page wait behind it, on either backend; once PagerDuty answers again, the next
    notifier run sends them all, in the order decided."""
    t0 = 1_775_552_400  # 2026-04-07T09:00:00Z
    plan = {"event_id": "p-1", "occurred_at": "2026-04-07T08:00:00Z", "customer_id": "C-1",
            "support_level": "enterprise", "contact_email": "ops@c1.example"}  # fmt: skip
    opened = {"event_id": "o-1", "occurred_at": "2026-04-07T09:00:00Z", "ticket_id": "T-1",
              "customer_id": "C-1", "severity": "critical", "subject": "Down"}  # fmt: skip
    with open_engine(backend, start=t0) as engine:
        engine.deliver([json.dumps(eventbridge("Support Plan Changed", plan))])
        engine.deliver([json.dumps(eventbridge("Ticket Opened", opened))])
        engine.http.status = 500
        engine.advance_to(t0 + 30 * 60)  # breached at 15 min, the next step paged 10 min later
        failed = len(engine.http.requests)
        waiting = delivered(engine)

        engine.http.status = 202
        engine.notify()
        pages = [
            (r.document["event_action"], r.document["payload"]["custom_details"]["route"])
            for r in engine.http.requests[failed:]
        ]
        sent = delivered(engine)

    warnings = [("warning", ["sns"])] * 3  # at 50, 75 and 90 % of the 15 minutes, before the breach
    assert failed and waiting == [*warnings, ("trigger", []), ("breach_apology", []), ("trigger", [])]
    assert pages == [("trigger", "oncall-l2"), ("trigger", "duty-manager")]
    assert sent == [*warnings, ("trigger", ["sns", "pagerduty"]), ("breach_apology", ["email"]),
                    ("trigger", ["sns", "pagerduty"])]  # fmt: skip
