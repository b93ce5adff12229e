"""`sla-engine due`: when a promise falls due, on which calendar, in the customer's zone."""

from __future__ import annotations

import json
from typing import Annotated, Any

import typer

from cli.app import (
    CatalogOption,
    app,
    choose,
    fail,
    human,
    iso_local,
    iso_utc,
    open_catalog,
    parse_instant,
)
from sla.catalog import check_country, check_timezone
from sla.catalog_views import describe_schedule, due_document, line_document
from sla.plans import DEFAULT_COUNTRY, DEFAULT_TIMEZONE, Due, explain_due
from sla.vocabulary import COMPONENT_CLASS, COMPONENTS, LEVEL_METRICS, SEVERITIES, Component, Metric


def resolve_metric(metric: str | None, component: str | None) -> tuple[Metric, Component | None]:
    """`--component` implies a hardware replacement; any other metric with it is a contradiction to refuse."""
    chosen = None if metric is None else choose("--metric", metric, LEVEL_METRICS, "metric")
    if component is not None:
        part = choose("--component", component, COMPONENTS, "component")
        if chosen not in (None, "hardware_replacement"):
            fail("--component", f"applies only to hardware_replacement, not to --metric {chosen}")
        return "hardware_replacement", part
    if chosen == "hardware_replacement":
        fail("--component", "required with --metric hardware_replacement (e.g. --component disk)")
    return chosen or "first_response", None


def describe_target(due: Due) -> str:
    what = due.metric.replace("_", " ")
    if due.component is not None:
        component_class = COMPONENT_CLASS[due.component]
        return (
            f"{human(due.target_seconds)} of {what} of a {due.component} ({component_class}) at {due.level}"
        )
    return f"{human(due.target_seconds)} of {what} at {due.level}, severity {due.severity}"


@app.command()
def due(
    level: Annotated[str, typer.Option("--level", metavar="LEVEL", help="Support level, e.g. premium.")],
    severity: Annotated[
        str, typer.Option("--severity", metavar="SEVERITY", help="critical, high, medium or low.")
    ],
    opened: Annotated[
        str,
        typer.Option(
            "--opened",
            metavar="ISO8601",
            help="When the clock started: ISO 8601 with an offset, e.g. 2026-04-03T17:30:00+02:00.",
        ),
    ],
    metric: Annotated[
        str | None,
        typer.Option(
            "--metric",
            metavar="METRIC",
            help="first_response (default), next_response, resolution or hardware_replacement.",
        ),
    ] = None,
    component: Annotated[
        str | None,
        typer.Option(
            "--component",
            metavar="COMPONENT",
            help="Failed component (e.g. disk); implies hardware_replacement.",
        ),
    ] = None,
    timezone: Annotated[
        str, typer.Option("--timezone", metavar="ZONE", help="Customer's IANA time zone.")
    ] = DEFAULT_TIMEZONE,
    country: Annotated[
        str,
        typer.Option(
            "--country", metavar="COUNTRY", help="Customer's ISO 3166 country, for its public holidays."
        ),
    ] = DEFAULT_COUNTRY,
    subdivision: Annotated[
        str | None,
        typer.Option(
            "--subdivision",
            metavar="REGION",
            help="Region of the country with its own holidays, e.g. BY for DE.",
        ),
    ] = None,
    at_line: Annotated[
        str | None,
        typer.Option(
            "--at-line",
            metavar="LINE",
            help="A support line (e.g. l2): which route its alerts page at --opened (its fallback when off "
            "duty), and when a pickup started then falls due.",
        ),
    ] = None,
    output_format: Annotated[
        str, typer.Option("--format", metavar="FORMAT", help="text (for people) or json (for machines).")
    ] = "text",
    catalog: CatalogOption = None,
) -> None:
    """Compute when an SLA clock falls due, in the level's calendar for the customer's zone and country.

    Prints the due instant in UTC and in the customer's local time, with the target and the calendar used,
    so that a due time quoted to a customer can be checked by hand. The clock is assumed never paused.
    Instants from 1970 up to 2100 are taken, as in the event contract.

    Examples:

    ```
    sla-engine due --level premium --severity high --opened 2026-04-03T17:30:00+02:00
    sla-engine due --level business --severity critical --opened 2026-04-04T23:45:00+02:00
    sla-engine due --level enterprise --severity high --component disk --opened 2026-04-05T03:00:00Z
    sla-engine due --level standard --severity low --opened 2026-05-08T09:00:00+03:00 \\
        --timezone Europe/Moscow --country RU
    sla-engine due --level premium --severity high --opened 2026-04-03T17:30:00+02:00 --format json
    sla-engine due --level business --severity high --opened 2026-04-06T23:30:00+03:00 --at-line l2
    ```
    """
    if output_format not in FORMATS:
        fail("--format", f"{output_format!r} is not one of {', '.join(map(repr, FORMATS))}")
    loaded = open_catalog(catalog)
    choose("--level", level, tuple(loaded.levels), "support level")
    chosen_severity = choose("--severity", severity, SEVERITIES, "severity")
    resolved_metric, resolved_component = resolve_metric(metric, component)
    start = parse_instant("--opened", opened)
    try:
        check_timezone(timezone)
    except ValueError as exc:
        fail("--timezone", str(exc))
    country = country.upper()  # ISO codes are upper case; 'fr' is not worth an error
    try:
        check_country(country, None)
    except ValueError as exc:
        fail("--country", str(exc))
    try:
        check_country(country, subdivision)
    except ValueError as exc:
        fail("--subdivision", str(exc))
    if at_line is not None and at_line not in loaded.lines:
        known = ", ".join(loaded.lines) or "none (the catalog defines no lines)"
        fail("--at-line", f"unknown line {at_line!r}; known: {known}")
    if loaded.level(level).target(resolved_metric, chosen_severity, resolved_component) is None:
        fail("--metric", f"level {level!r} promises no {resolved_metric} target")
    try:
        result = explain_due(
            loaded,
            level,
            resolved_metric,
            chosen_severity,
            start,
            timezone,
            country,
            resolved_component,
            subdivision,
        )
    except ValueError as exc:  # a calendar of the catalog with no working time for 20 years
        fail("--catalog", f"calendar {loaded.level(level).calendar_name(resolved_metric)}: {exc}")
    if output_format == "json":
        document = due_document(loaded, result, timezone, country, subdivision, at_line)
        typer.echo(json.dumps(document, ensure_ascii=False, indent=2))
        return
    typer.echo(f"due (UTC):    {iso_utc(result.at)}")
    typer.echo(f"due (local):  {iso_local(result.at, timezone)} {timezone}")
    typer.echo(f"opened:       {iso_utc(start)} = {iso_local(start, timezone)} {timezone}")
    typer.echo(f"target:       {describe_target(result)}")
    typer.echo(f"calendar:     {describe_schedule(loaded, result, timezone)}")
    if at_line is not None:
        for label, text in describe_line(line_document(loaded, at_line, start)):
            typer.echo(f"{label + ':':<14}{text}")


def describe_line(line: dict[str, Any]) -> list[tuple[str, str]]:
    """`due --at-line` for people: the line's route and who it pages at the opening instant."""
    route, paged = line["route"], line["paged_route"]
    coverage = line["coverage"]
    hours = (
        coverage["description"]
        if coverage["calendar"] is None
        else f"{coverage['calendar']}: {coverage['description']}"
    )
    rows = [
        ("line", f"{line['line']} ({hours})"),
        ("paged route", paged if line["on_duty"] else f"{paged} ({route} is off duty at --opened)"),
    ]
    if line["pickup"] is not None:
        rows.append(("pickup due", f"{line['pickup_due']} ({line['pickup']['human']} of the line's hours)"))
    return rows


FORMATS = ("text", "json")
