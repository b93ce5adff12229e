"""`sla-engine replay`: run a file of control-panel events through the engine locally (SPEC section 7)."""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.table import Table

from cli.app import (
    BackendOption,
    CatalogOption,
    app,
    backend_choice,
    fail,
    parse_instant,
    stdout_console,
)
from infra.catalog_source import CatalogError


def parse_until(text: str | None) -> datetime | None:
    """`--until` within the instants the engine takes: year 9999 is refused in one line, not overflowed."""
    return None if text is None else parse_instant("--until", text)


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
    backend: BackendOption = "memory",
) -> None:
    """Replay EVENTS through the engine's code path in process, with a simulated clock.

    A line that is not UTF-8 text, not JSON or not an event is listed among the rejected events as
    line-N, with its reason, and the other lines still run.

    Each event is processed at the later of its occurred_at and its envelope's time (a late delivery),
    and timers fire once the clock is past their due times, up to --until. The
    output lists the tickets and their clocks, the alerts, the customer notifications and the rejected
    events. The same file shuffled, or with lines repeated, gives the same output, on either --backend.

    Example:

      sla-engine replay events/scenario.jsonl --format json

      sla-engine replay events/scenario.jsonl --backend moto
    """
    from local.replay import replay as run_replay  # the engine loads only when replaying

    if output_format not in ("json", "table"):
        fail("--format", f"{output_format!r} is not one of: json, table")
    horizon = parse_until(until)
    chosen = backend_choice(backend)
    try:
        # The lines are the replay's alone: it lets each go once delivered (a long file's peak memory).
        document = run_replay(read_lines(events), horizon, catalog, chosen, note=print_note)
    except CatalogError as error:
        fail("--catalog", str(error))
    if output_format == "json":
        typer.echo(json.dumps(document, ensure_ascii=False, indent=2))
    else:
        print_tables(document)


def read_lines(events: Path, option: str = "EVENTS") -> list[str | bytes]:
    """The file's lines (local.jsonl.decode_lines: a line that is not UTF-8 text is kept as bytes, to be
    rejected by its number), or one line naming `option` when the file cannot be read or is not JSON Lines
    at all (binary, a JSON array)."""
    from local.jsonl import NotJsonLines, decode_lines

    try:
        data = events.read_bytes()
    except OSError as error:
        fail(option, f"cannot read {events}: {error.strerror or error}")
    try:
        return decode_lines(data)
    except NotJsonLines as error:
        fail(option, f"{events}: {error}")


def print_note(text: str) -> None:
    """A word on stderr, so that stdout stays the document (valid JSON with --format json)."""
    typer.echo(f"Note: {text}", err=True)


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
        clocks.add_column(column, overflow="fold")
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
            table.add_column(column, overflow="fold")  # a dedup key or a reason is read whole, never cut
        for row in rows:
            table.add_row(*(str(value) for value in row.values()))
        console.print(table)
