"""`sla-engine invoke`: run one function's handler on a sample event, like `sam local invoke`, locally."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from cli.app import BackendOption, CatalogOption, app, backend_choice, choose, fail

if TYPE_CHECKING:
    from local.outcomes import RecordOutcome

FORMATS = ("text", "json")


@app.command()
def invoke(
    function: Annotated[str, typer.Argument(help="Logical id in template.yaml, e.g. IngestFunction.")],
    event: Annotated[
        Path, typer.Option("--event", "-e", help="The event JSON file, e.g. events/sqs-ticket-opened.json.")
    ],
    output_format: Annotated[
        str, typer.Option("--format", help="text (for people) or json (the outcomes and the response).")
    ] = "text",
    verbose: Annotated[
        bool, typer.Option("--verbose", help="Show the handler's logs (Powertools' JSON lines) on stderr.")
    ] = False,
    catalog: CatalogOption = None,
    backend: BackendOption = "memory",
) -> None:
    """Run FUNCTION's handler from template.yaml on the event in FILE, in process (--backend: memory, or moto).

    No Docker and no AWS account: the handler runs on the in-memory store, or with --backend moto on the
    table, queues and topics created from template.yaml in moto. The engine's clock is when the queue
    received the records (their SentTimestamp), else the wall clock.

    For IngestFunction, each record's outcome is shown (accepted, duplicate, rejected with its reason, or
    retried: SQS would redeliver it) with the effects it decided (alerts, notifications), then the
    handler's response; with --format json, one document {"records": [...], "response": ...}.

    Example:

      sla-engine invoke IngestFunction --event events/sqs-ticket-opened.json

      sla-engine invoke IngestFunction --event events/sqs-ticket-opened.json --format json --verbose
    """
    from cli.invoke_checks import BadEvent, check_event, function_triggers, read_event_file, receipt_time
    from local.engine import open_engine  # the engine and the handlers load only when invoking
    from local.stack import load_template

    output_format = choose("--format", output_format, FORMATS, "format")
    try:  # the event the function's trigger would send, or one line saying what is wrong with it
        payload = read_event_file(event)
        check_event(function, function_triggers(load_template()), payload, event)
    except BadEvent as bad:
        fail(bad.option, bad.problem)
    # At the records' receipt: run at the wall clock, a sample sent in 2025 is refused as 30 days late.
    with open_engine(
        backend_choice(backend), catalog, start=receipt_time(payload) or int(time.time())
    ) as engine:
        if verbose:
            engine.show_all_logs()
        try:
            response, outcomes = engine.invoke_recorded(function, payload)
        except ValueError as error:
            fail("FUNCTION", str(error))
        finally:
            if verbose:
                typer.echo(engine.logs.getvalue().rstrip("\n"), err=True)
    if output_format == "json":
        document = {"records": [outcome.view() for outcome in outcomes], "response": response}
        typer.echo(json.dumps(document, indent=2, default=str, ensure_ascii=False))
        return
    for line in outcome_lines(outcomes):
        typer.echo(line)
    typer.echo(f"response: {json.dumps(response, default=str, ensure_ascii=False)}")


def outcome_lines(outcomes: list[RecordOutcome]) -> list[str]:
    """One line per record (its outcome, the event and ticket, the reason), then one per effect."""
    lines = []
    for number, outcome in enumerate(outcomes, start=1):
        about = " ".join(
            f"{name} {value}"
            for name, value in (("event", outcome.event_id), ("ticket", outcome.ticket_id))
            if value
        )
        line = f"record {number} ({outcome.message_id}): {outcome.status}"
        line += f", {about}" if about else ""
        line += f": {' '.join(outcome.reason.split())}" if outcome.reason else ""
        lines.append(line)
        for effect in outcome.view()["effects"]:
            lines.append(f"  effect: {describe_effect(effect)}")
    return lines


def describe_effect(effect: dict[str, Any]) -> str:
    """An effect's view in one line: its type and kind, then what it is about."""
    keys = ("ticket_id", "metric", "cycle", "route", "customer_id", "locale", "at", "dedup_key")
    details = ", ".join(f"{key} {effect[key]}" for key in keys if effect.get(key) not in (None, ""))
    return f"{effect['type']} {effect.get('kind')}" + (f" ({details})" if details else "")
