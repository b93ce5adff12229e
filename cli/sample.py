"""`sla-engine sample`: the quality sample of SPEC section 9, tickets for a reviewer to grade per agent.

The same file, period, size and seed give the same sample, so a reviewer and an auditor can draw it again;
the seed defaults to the period's start, so each month has its own draw without anyone choosing it.
"""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path
from typing import Annotated, Any

import typer
from rich import box
from rich.console import Console
from rich.table import Table

from cli.app import CatalogOption, app, choose, fail, stdout_console
from cli.report_input import fold_file, parse_period, report_skipped, write_output
from sla.kpi_sample import AgentSample, quality_sample
from sla.kpis import Period, iso

FORMATS = ("table", "json", "csv")
MAX_PER_AGENT = 10_000


def parse_per_agent(text: str) -> int:
    try:
        count = int(text)
    except ValueError:
        fail("--per-agent", f"{text!r} is not a whole number of tickets")
    if not 1 <= count <= MAX_PER_AGENT:
        fail("--per-agent", f"{count} is not between 1 and {MAX_PER_AGENT}")
    return count


def sample_document(samples: list[AgentSample], period: Period, per_agent: int, seed: str) -> dict[str, Any]:
    return {
        "period": {"from": iso(period.start), "to": iso(period.end)},
        "per_agent": per_agent,
        "seed": seed,
        "agents": [
            {
                "agent_id": sample.agent_id,
                "closed_tickets": sample.closed,
                "sample": [
                    {
                        "ticket_id": t.ticket_id,
                        "customer_id": t.customer_id,
                        "support_level": t.support_level,
                        "severity": t.opened_key.severity,
                        "opened_at": iso(t.opened_at),
                        "closed_at": iso(t.closed_at) if t.closed_at is not None else None,
                    }
                    for t in sample.tickets
                ],
            }
            for sample in samples
        ],
    }


@app.command()
def sample(
    events: Annotated[Path, typer.Argument(help="A JSON Lines file: one EventBridge event per line.")],
    start: Annotated[
        str | None, typer.Option("--from", help="First day (UTC) or instant of the period, included.")
    ] = None,
    end: Annotated[
        str | None, typer.Option("--to", help="Day (UTC) or instant that ends the period, excluded.")
    ] = None,
    per_agent: Annotated[str, typer.Option("--per-agent", help="Tickets to draw per agent.")] = "5",
    seed: Annotated[
        str | None,
        typer.Option("--seed", help="Any text; the same seed draws the same sample. Default: --from."),
    ] = None,
    output_format: Annotated[str, typer.Option("--format", help="table, json or csv.")] = "table",
    output: Annotated[Path | None, typer.Option("--output", help="Write to this file, not stdout.")] = None,
    catalog: CatalogOption = None,
) -> None:
    """Draw up to --per-agent tickets closed in the period for each agent who posted a public message on them.

    The draw is deterministic: the same events, period, size and seed give the same tickets. Each agent's
    draw depends only on that agent's tickets.

    Examples:

    ```
    sla-engine sample events.jsonl --from 2026-04-01 --to 2026-05-01 --per-agent 5 --seed april
    sla-engine sample events.jsonl --from 2026-04-01 --to 2026-05-01 --format csv --output sample.csv
    ```
    """
    chosen = choose("--format", output_format, FORMATS, "format")
    period = parse_period(start, end)
    count = parse_per_agent(per_agent)
    _, history, records = fold_file(events, catalog, output, period)
    drawn_with = seed if seed is not None else start or ""
    document = sample_document(
        quality_sample(records.tickets, period, count, drawn_with), period, count, drawn_with
    )
    if chosen == "json":
        write_output(json.dumps(document, ensure_ascii=False, indent=2) + "\n", output)
    elif chosen == "csv":
        write_output(sample_csv(document), output)
    elif output is None:
        stdout_console().print(sample_table(document))
    else:
        buffer = io.StringIO()
        Console(file=buffer, width=140, color_system=None).print(sample_table(document))
        write_output(buffer.getvalue(), output)
    report_skipped(events, history.skipped)


SAMPLE_COLUMNS = (
    "agent_id",
    "ticket_id",
    "customer_id",
    "support_level",
    "severity",
    "opened_at",
    "closed_at",
)


def sample_rows(document: dict[str, Any]) -> list[dict[str, Any]]:
    return [
        {"agent_id": agent["agent_id"], **ticket}
        for agent in document["agents"]
        for ticket in agent["sample"]
    ]


def sample_csv(document: dict[str, Any]) -> str:
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=SAMPLE_COLUMNS, lineterminator="\n")
    writer.writeheader()
    writer.writerows(sample_rows(document))
    return buffer.getvalue()


def sample_table(document: dict[str, Any]) -> Table:
    period = document["period"]
    table = Table(
        title=f"Quality sample {period['from']} → {period['to']}: up to {document['per_agent']} closed "
        f"tickets per agent (seed {document['seed']!r})",
        box=box.SIMPLE_HEAD,
    )
    for column in ("agent", "closed", *SAMPLE_COLUMNS[1:]):
        table.add_column(column)
    for agent in document["agents"]:
        for index, ticket in enumerate(agent["sample"]):
            table.add_row(
                agent["agent_id"] if index == 0 else "",
                str(agent["closed_tickets"]) if index == 0 else "",
                *(str(ticket[c]) for c in SAMPLE_COLUMNS[1:]),
                end_section=index == len(agent["sample"]) - 1,
            )
    if not document["agents"]:
        table.caption = "No ticket closed in the period has a public message from an identified agent."
    return table
