"""`sla-engine due`: when a promise falls due, on which calendar, in the customer's zone."""

from __future__ import annotations

from typing import Annotated

import typer

from cli.app import (
    CatalogOption,
    app,
    choose,
    describe_calendar,
    fail,
    human,
    iso_local,
    iso_utc,
    open_catalog,
    parse_instant,
)
from sla.catalog import Catalog
from sla.plans import DEFAULT_COUNTRY, DEFAULT_TIMEZONE, Due, check_country, check_timezone, explain_due
from sla.vocabulary import COMPONENT_CLASS, COMPONENTS, METRICS, SEVERITIES, Component, Metric


def resolve_metric(metric: str | None, component: str | None) -> tuple[Metric, Component | None]:
    """`--component` implies a hardware replacement; any other metric with it is a contradiction to refuse."""
    chosen = None if metric is None else choose("--metric", metric, METRICS, "metric")
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


def describe_schedule(catalog: Catalog, due: Due, timezone: str) -> str:
    """The calendar as this customer gets it: the zone its hours are read in, whose holidays are off."""
    spec = catalog.calendars[due.calendar]
    if due.schedule.weekly is None:
        return f"{due.calendar}: {describe_calendar(spec)}"
    text = (
        f"{due.calendar}: {describe_calendar(spec.model_copy(update={'public_holidays': False}))} {timezone}"
    )
    if due.schedule.country:
        region = due.schedule.country + (f"-{due.schedule.subdivision}" if due.schedule.subdivision else "")
        text += f", public holidays of {region} off"
    return text


@app.command()
def due(
    level: Annotated[str, typer.Option("--level", help="Support level, e.g. premium.")],
    severity: Annotated[str, typer.Option("--severity", help="critical, high, medium or low.")],
    opened: Annotated[
        str,
        typer.Option(
            "--opened",
            help="When the clock started: ISO 8601 with an offset, e.g. 2026-04-03T17:30:00+02:00.",
        ),
    ],
    metric: Annotated[
        str | None,
        typer.Option(
            "--metric", help="first_response (default), next_response, resolution or hardware_replacement."
        ),
    ] = None,
    component: Annotated[
        str | None,
        typer.Option("--component", help="Failed component (e.g. disk); implies hardware_replacement."),
    ] = None,
    timezone: Annotated[
        str, typer.Option("--timezone", help="Customer's IANA time zone.")
    ] = DEFAULT_TIMEZONE,
    country: Annotated[
        str, typer.Option("--country", help="Customer's ISO 3166 country, for its public holidays.")
    ] = DEFAULT_COUNTRY,
    subdivision: Annotated[
        str | None,
        typer.Option("--subdivision", help="Region of the country with its own holidays, e.g. BY for DE."),
    ] = None,
    catalog: CatalogOption = None,
) -> None:
    """Compute when an SLA clock falls due, in the level's calendar for the customer's zone and country.

    Prints the due instant in UTC and in the customer's local time, with the target and the calendar used,
    so that a due time quoted to a customer can be checked by hand. The clock is assumed never paused.

    Examples:

    ```
    sla-engine due --level premium --severity high --opened 2026-04-03T17:30:00+02:00
    sla-engine due --level business --severity critical --opened 2026-04-04T23:45:00+02:00
    sla-engine due --level enterprise --severity high --component disk --opened 2026-04-05T03:00:00Z
    sla-engine due --level standard --severity low --opened 2026-05-08T09:00:00+03:00 \\
        --timezone Europe/Moscow --country RU
    ```
    """
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
    except ValueError as exc:  # e.g. a level that promises no resolution time
        fail("--metric", str(exc))
    typer.echo(f"due (UTC):    {iso_utc(result.at)}")
    typer.echo(f"due (local):  {iso_local(result.at, timezone)} {timezone}")
    typer.echo(f"opened:       {iso_utc(start)} = {iso_local(start, timezone)} {timezone}")
    typer.echo(f"target:       {describe_target(result)}")
    typer.echo(f"calendar:     {describe_schedule(loaded, result, timezone)}")
