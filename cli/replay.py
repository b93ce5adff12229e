"""`sla-engine replay`: run a file of control-panel events through the engine locally (SPEC section 7)."""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.table import Table

from cli.app import CatalogOption, app, fail, stdout_console
from infra.catalog_source import CatalogError


def parse_until(text: str | None) -> datetime | None:
    if text is None:
        return None
    try:
        until = datetime.fromisoformat(text)
    except ValueError:
        fail("--until", f"{text!r} is not an ISO 8601 instant")
    if until.tzinfo is None:
        fail("--until", f"{text!r} has no offset; write e.g. 2026-04-07T12:00:00Z")
    return until


@app.command()
def replay(
    events: Annotated[Path, typer.Argument(help="A JSON Lines file: one EventBridge event per line.")],
    until: Annotated[
        str | None,
        typer.Option(
            help="Simulate up to this instant (ISO 8601 with offset); default: a day after the last event."
        ),
    ] = None,
    output_format: Annotated[str, typer.Option("--format", help="json or table.")] = "table",
    catalog: CatalogOption = None,
) -> None:
    """Replay EVENTS through the deployed code path on an in-process moto backend, with a simulated clock.

    Each event is processed at the later of its occurred_at and its envelope's time (a late delivery),
    and timers fire once the clock is past their due times, up to --until. The
    output lists the tickets and their clocks, the alerts, the customer notifications and the rejected
    events. The same file shuffled, or with lines repeated, gives the same output.

    Example:

      sla-engine replay events/scenario.jsonl --format json
    """
    from local.replay import replay as run_replay  # moto and the handlers load only when replaying

    if output_format not in ("json", "table"):
        fail("--format", f"{output_format!r} is not one of: json, table")
    horizon = parse_until(until)
    try:
        lines = events.read_text(encoding="utf-8").splitlines()
    except OSError as error:
        fail("EVENTS", f"cannot read {events}: {error.strerror}")
    try:
        document = run_replay(lines, horizon, catalog)
    except CatalogError as error:
        fail("--catalog", str(error))
    if output_format == "json":
        typer.echo(json.dumps(document, ensure_ascii=False, indent=2))
    else:
        print_tables(document)


def print_tables(document: dict[str, Any]) -> None:
    console = stdout_console()
    clocks = Table(title="Tickets and clocks")
    for column in (
        "ticket",
        "level",
        "severity",
        "status",
        "metric",
        "cycle",
        "state",
        "started",
        "due",
        "stopped",
        "elapsed s",
        "target s",
    ):
        clocks.add_column(column)
    for ticket in document["tickets"]:
        for clock in ticket["clocks"]:
            clocks.add_row(
                ticket["ticket_id"],
                ticket["support_level"],
                ticket["severity"],
                ticket["status"],
                clock["metric"],
                str(clock["cycle"]),
                clock["state"],
                clock["started_at"] or "",
                clock["due_at"] or "",
                clock["stopped_at"] or "",
                str(clock["elapsed_seconds"]),
                str(clock["target_seconds"]),
            )
    console.print(clocks)
    for title, rows in (
        ("Alerts", document["alerts"]),
        ("Notifications", document["notifications"]),
        ("Rejected", document["rejected"]),
    ):
        if not rows:
            continue
        table = Table(title=title)
        for column in rows[0]:
            table.add_column(column)
        for row in rows:
            table.add_row(*(str(value) for value in row.values()))
        console.print(table)
