"""`sla-engine plans`: the support catalog, as tables or JSON."""

from __future__ import annotations

import json
from typing import Annotated

import typer
from rich import box
from rich.table import Table

from cli.app import CatalogOption, app, describe_calendar, fail, human, open_catalog, stdout_console
from sla.catalog import DEFAULT_LEVEL, Catalog
from sla.catalog_views import components_by_class, lines_document, plans_document
from sla.vocabulary import SEVERITIES


def plans_tables(catalog: Catalog) -> list[Table]:
    """The catalog for people, laid out like the SPEC's tables so the two can be compared line by line."""
    responses = Table(title="Response targets (working time of the coverage calendar)", box=box.SIMPLE_HEAD)
    responses.add_column("level", style="bold")
    responses.add_column("coverage")
    responses.add_column("metric")
    for severity in SEVERITIES:
        responses.add_column(severity, justify="right")
    for name, level in catalog.levels.items():
        coverage = describe_calendar(catalog.calendars[level.coverage])
        rows = [("first response", level.first_response), ("next response", level.next_response)]
        if level.resolution is not None:
            rows.append(("resolution", level.resolution))
        for index, (metric, targets) in enumerate(rows):
            responses.add_row(
                name if index == 0 else "",
                coverage if index == 0 else "",
                metric,
                *(human(targets.for_severity(s)) for s in SEVERITIES),
                end_section=index == len(rows) - 1,
            )
    if not any(level.resolution for level in catalog.levels.values()):
        responses.caption = "No level promises a resolution time."

    hardware = Table(title="Hardware replacement windows", box=box.SIMPLE_HEAD)
    hardware.add_column("class", style="bold")
    hardware.add_column("components")
    for name in catalog.levels:
        hardware.add_column(name, justify="right")
    for cls, components in components_by_class().items():
        hardware.add_row(
            cls,
            ", ".join(components),
            *(human(getattr(level.hardware_replacement, cls)) for level in catalog.levels.values()),
        )
    hardware.add_row(
        "calendar",
        "",
        *(describe_calendar(catalog.calendars[level.hardware_calendar]) for level in catalog.levels.values()),
        style="dim",
    )

    escalation = Table(title="Warnings and escalation", box=box.SIMPLE_HEAD)
    escalation.add_column("level", style="bold")
    escalation.add_column("warn at (fraction of target)")
    escalation.add_column("ladder after breach")
    escalation.add_column("ack timeout", justify="right")
    for name, level in catalog.levels.items():
        escalation.add_row(
            name,
            ", ".join(f"{fraction:g}" for fraction in level.warn_at),
            " → ".join(level.ladder),
            human(level.ack_timeout),
        )
    escalation.caption = f"A customer with no plan on record is served at {DEFAULT_LEVEL}."
    return [responses, hardware, escalation, *lines_tables(catalog)]


def lines_tables(catalog: Catalog) -> list[Table]:
    """Support lines, routes on duty and limited-support periods (SPEC section 10), from `lines_document`."""
    document = lines_document(catalog)
    tables: list[Table] = []
    if document["lines"]:
        lines = Table(
            title="Support lines (pickup: working time of the line's coverage)", box=box.SIMPLE_HEAD
        )
        for column in ("line", "route", "pickup", "coverage"):
            lines.add_column(column, style="bold" if column == "line" else None)
        for name, line in document["lines"].items():
            pickup = line["pickup"]["human"] if line["pickup"] else "—"
            lines.add_row(name, line["route"], pickup, line["coverage"]["description"])
        lines.caption = f"A ticket starts at {document['entry_line']}; Ticket Escalated moves it."
        tables.append(lines)
    if document["routes"]:
        routes = Table(title="Routes on duty (off duty, alerts go to the fallback)", box=box.SIMPLE_HEAD)
        for column in ("route", "on duty", "fallback"):
            routes.add_column(column, style="bold" if column == "route" else None)
        for name, route in document["routes"].items():
            routes.add_row(name, route["coverage"]["description"], route["fallback"])
        routes.caption = "A route not listed is on duty 24/7."
        tables.append(routes)
    if document["limited_support"]:
        limited = Table(title="Limited support (response targets, 24/7)", box=box.SIMPLE_HEAD)
        for column in ("from", "to", "levels", "metric", *SEVERITIES):
            limited.add_column(column, justify="right" if column in SEVERITIES else "left")
        for period in document["limited_support"]:
            levels = ", ".join(period["levels"]) if period["levels"] else "all"
            for index, metric in enumerate(("first_response", "next_response")):
                head = (period["from"], period["to"], levels) if index == 0 else ("", "", "")
                limited.add_row(
                    *head,
                    metric.replace("_", " "),
                    *(period[metric][s]["human"] for s in SEVERITIES),
                    end_section=index == 1,
                )
        tables.append(limited)
    return tables


@app.command()
def plans(
    output_format: Annotated[
        str, typer.Option("--format", help="table (for people) or json (for machines).")
    ] = "table",
    catalog: CatalogOption = None,
) -> None:
    """Show the support catalog: what each level promises, where it is counted, and who is paged.

    Per level: coverage calendar, first and next response per severity, resolution where defined, hardware
    replacement windows per component class, warning fractions, escalation ladder and ack timeout. Then the
    support lines (route, pickup, coverage), the routes' on-duty hours and fallbacks, and the periods of
    limited support.
    In JSON every duration is given in seconds and in human form.

    Examples:

    ```
    sla-engine plans
    sla-engine plans --format json | jq '.levels.premium.first_response.high.seconds'
    sla-engine plans --catalog /etc/sla/catalog.toml
    ```
    """
    if output_format not in ("table", "json"):
        fail("--format", f"{output_format!r} is not one of 'table', 'json'")
    loaded = open_catalog(catalog)
    if output_format == "json":
        typer.echo(json.dumps(plans_document(loaded), indent=2, ensure_ascii=False))
        return
    console = stdout_console()
    for table in plans_tables(loaded):
        console.print(table)
