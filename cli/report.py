"""`sla-engine report`: a period's KPIs and service credits (SPEC section 9) from a file of events.

It runs on the pure core only (the events read by the contract, each ticket folded once, the figures of
`sla.kpis`): no moto and no store, so a year of history takes seconds, and the figures are those the
deployed engine's clocks had. Tables are for people, JSON is SPEC section 9's document, CSV is the same
figures one per row (to pivot in a spreadsheet), HTML is one self-contained page with charts.
"""

from __future__ import annotations

import io
import json
from pathlib import Path
from typing import Annotated, Any

import typer
from rich import box
from rich.console import Console
from rich.table import Table

from cli.app import CatalogOption, app, choose, fail, human, stdout_console
from cli.report_input import fold_file, parse_period, report_skipped, write_output
from infra.report.csv_text import RESPONSE_MEASURES, csv_text
from sla.catalog import Catalog
from sla.kpi_records import DIMENSIONS, Dimension, Records
from sla.kpis import Period
from sla.kpis import report as kpi_report

FORMATS = ("table", "json", "csv", "html")


def parse_by(values: list[str] | None) -> tuple[Dimension, ...]:
    """`--by level,severity` or `--by level --by severity`; each dimension once, in the order given."""
    chosen: list[Dimension] = []
    for value in values or ():
        for part in value.split(","):
            name = part.strip()
            if not name:
                continue
            dimension = choose("--by", name, DIMENSIONS, "grouping")
            if dimension not in chosen:
                chosen.append(dimension)
    return tuple(chosen)


@app.command()
def report(
    events: Annotated[Path, typer.Argument(help="A JSON Lines file: one EventBridge event per line.")],
    start: Annotated[
        str | None, typer.Option("--from", help="First day (UTC) or instant of the period, included.")
    ] = None,
    end: Annotated[
        str | None, typer.Option("--to", help="Day (UTC) or instant that ends the period, excluded.")
    ] = None,
    by: Annotated[
        list[str] | None,
        typer.Option(
            "--by", help="Group by any of level, severity, line, agent, customer (comma-separated)."
        ),
    ] = None,
    output_format: Annotated[str, typer.Option("--format", help="table, json, csv or html.")] = "table",
    output: Annotated[Path | None, typer.Option("--output", help="Write to this file, not stdout.")] = None,
    catalog: CatalogOption = None,
) -> None:
    """The period's SLA compliance, reaction and useful response times, CSAT, hardware, lines and service
    credits (SPEC section 9), computed from the events in EVENTS by the engine's own fold.

    The period is [--from, --to) in UTC. Each ticket is folded as the engine folds it, up to --to; lines that
    are not events of the contract are skipped and reported on standard error by line number.

    Examples:

    ```
    sla-engine report events.jsonl --from 2026-04-01 --to 2026-05-01
    sla-engine report events.jsonl --from 2026-04-01 --to 2026-05-01 --by level,severity --format json
    sla-engine report events.jsonl --from 2026-04-01 --to 2026-05-01 --format html --output april.html
    ```
    """
    chosen = choose("--format", output_format, FORMATS, "format")
    period = parse_period(start, end)
    dimensions = parse_by(by)
    loaded, history, records = fold_file(events, catalog, output, period)
    document = kpi_report(records.tickets, records.cycles, loaded, period, dimensions)
    if chosen == "json":
        write_output(json.dumps(document, ensure_ascii=False, indent=2) + "\n", output)
    elif chosen == "csv":
        write_output(csv_text(document), output)
    elif chosen == "html":
        write_output(html_text(document, records, loaded, period), output)
    else:
        print_tables(document, output)
    report_skipped(events, history.skipped)


def html_text(document: dict[str, Any], records: Records, catalog: Catalog, period: Period) -> str:
    try:
        from infra.report.html import report_html  # matplotlib loads only for HTML
    except ImportError as error:
        fail("--format", f"html needs matplotlib ({error.name} is missing): pip install 'sla-engine[report]'")
    return report_html(document, records, catalog, period)


# -- tables -----------------------------------------------------------------------------------------------


def percent_text(value: float | None) -> str:
    return "—" if value is None else f"{value:.1f} %"


def seconds_text(value: int | None) -> str:
    return "—" if value is None else human(value)


def tally_text(entry: dict[str, Any]) -> str:
    """'75.0 % (3/4)': the share met, then met over decided, so the denominator is never hidden."""
    decided = entry["met"] + entry["breached"]
    return "—" if not decided else f"{percent_text(entry['percent'])} ({entry['met']}/{decided})"


def group_label(group: dict[str, Any]) -> str:
    key = group["key"]
    return ", ".join(f"{k}={'—' if v is None else v}" for k, v in key.items()) or "all"


def kpi_tables(document: dict[str, Any]) -> list[Table]:
    """The figures for people: one table per section of the document, the empty ones left out."""
    groups = document["groups"]
    tables = []
    metrics = [entry["metric"] for entry in groups[0]["compliance"]] if groups else []
    compliance = Table(title="SLA compliance (met / decided in the period)", box=box.SIMPLE_HEAD)
    compliance.add_column("group")
    for metric in metrics:
        compliance.add_column(metric.replace("_", " "), justify="right")
    for group in groups:
        compliance.add_row(group_label(group), *(tally_text(e) for e in group["compliance"]))
    tables.append(compliance)

    responses = Table(
        title="Response times of tickets opened in the period (wall clock)", box=box.SIMPLE_HEAD
    )
    for column in (
        "group",
        "figure",
        "count",
        "mean",
        "median",
        "p90",
        "median working",
        "waiting",
        "unanswered",
    ):
        responses.add_column(column, justify="left" if column in ("group", "figure") else "right")
    for group in groups:
        for index, (name, figure) in enumerate(
            (("reaction", group["reaction"]), ("useful response", group["useful_response"]))
        ):
            responses.add_row(
                group_label(group) if index == 0 else "",
                name,
                str(figure["count"]),
                *(seconds_text(figure[k]) for k in RESPONSE_MEASURES[1:5]),
                str(figure["waiting"]),
                str(figure["unanswered"]),
                end_section=index == 1,
            )
    responses.caption = "median and p90 by nearest rank; working time on the level's coverage calendar"
    tables.append(responses)

    csat = Table(title="Customer satisfaction (latest rating per ticket)", box=box.SIMPLE_HEAD)
    for column in ("group", "ratings", "good (4-5)", "CSAT", "feedback rate"):
        csat.add_column(column, justify="left" if column == "group" else "right")
    hardware = Table(title="Hardware replacement compliance by component class", box=box.SIMPLE_HEAD)
    hardware.add_column("group")
    for entry in groups[0]["hardware"] if groups else ():
        hardware.add_column(entry["component_class"], justify="right")
    for group in groups:
        figure = group["csat"]
        csat.add_row(
            group_label(group),
            str(figure["ratings"]),
            str(figure["good"]),
            percent_text(figure["percent"]),
            percent_text(figure["feedback_rate"]),
        )
        hardware.add_row(group_label(group), *(tally_text(e) for e in group["hardware"]))
    tables += [csat, hardware]

    if document["lines"]:
        lines = Table(title="Support lines", box=box.SIMPLE_HEAD)
        for column in ("line", "escalations in", "pickup met", "pickup breached", "median pickup"):
            lines.add_column(column, justify="left" if column == "line" else "right")
        for line in document["lines"]:
            lines.add_row(
                line["line"],
                str(line["escalations"]),
                str(line["pickup_met"]),
                str(line["pickup_breached"]),
                seconds_text(line["median_pickup_seconds"]),
            )
        tables.append(lines)
    credits = Table(title="Service credits (share of the monthly fee)", box=box.SIMPLE_HEAD)
    for column in ("customer", "level", "breaches", "hours late", "credit"):
        credits.add_column(column, justify="left" if column in ("customer", "level") else "right")
    for credit in document["credits"]:
        credits.add_row(
            credit["customer_id"],
            credit["support_level"],
            str(credit["breaches"]),
            str(credit["hours_late"]),
            f"{credit['percent']:g} %",
        )
    if not document["credits"]:
        credits.caption = "No first-response or hardware promise was broken in the period."
    tables.append(credits)
    return tables


def print_tables(document: dict[str, Any], output: Path | None) -> None:
    period = document["period"]
    heading = f"SLA report {period['from']} → {period['to']} (UTC)"
    if output is None:
        console = stdout_console()
        console.rule(heading)
        for table in kpi_tables(document):
            console.print(table)
        return
    buffer = io.StringIO()
    console = Console(file=buffer, width=140, color_system=None, force_terminal=False)
    console.rule(heading)
    for table in kpi_tables(document):
        console.print(table)
    write_output(buffer.getvalue(), output)
