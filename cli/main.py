"""The `sla-engine` command line: the support catalog and due times, as an operator or an agent asks for them.

Command modules (`cli/demo.py`, later `cli/replay.py`) add their commands to `app` when imported, using the
helpers defined here; their import lines therefore come last in this module, and adding one is one line.
Imports stay light (no boto3, no holidays until a calendar needs them) so that `--help` answers at once.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, Any, NoReturn, TypeVar
from zoneinfo import ZoneInfo

import typer
from rich import box
from rich.console import Console
from rich.table import Table

from infra.catalog_source import CatalogError, load_catalog
from sla.catalog import DEFAULT_LEVEL, WEEKDAYS, CalendarSpec, Catalog
from sla.durations import format_duration
from sla.plans import DEFAULT_COUNTRY, DEFAULT_TIMEZONE, Due, check_country, check_timezone, explain_due
from sla.vocabulary import COMPONENT_CLASS, COMPONENTS, METRICS, SEVERITIES, Component, Metric

T = TypeVar("T", bound=str)

app = typer.Typer(
    name="sla-engine",
    help="""Support-tier and SLA engine for a hosting provider: SLA clocks, warnings and escalation.

Examples:

```
sla-engine plans
sla-engine due --level premium --severity high --opened 2026-04-03T17:30:00+02:00
sla-engine demo
```""",
    no_args_is_help=True,
    add_completion=False,
    rich_markup_mode="markdown",
)

CatalogOption = Annotated[
    Path | None,
    typer.Option(
        "--catalog",
        envvar="SLA_CATALOG_PATH",
        show_envvar=True,
        help="Operator's catalog TOML file, instead of the packaged default.",
    ),
]


def fail(option: str, problem: str) -> NoReturn:
    """Stop on a bad argument the way typer's own usage errors do (status 2), but on one line naming it.

    One line because these errors are read by scripts and in CI logs as often as by people.
    """
    typer.echo(f"Error: {option}: {' '.join(problem.split())}", err=True)
    raise typer.Exit(2)


def open_catalog(path: Path | None) -> Catalog:
    try:
        return load_catalog(path)
    except CatalogError as exc:
        fail("--catalog", str(exc))


def stdout_console() -> Console:
    # Created per command so that it writes to the sys.stdout of the moment (test runners swap it); wide
    # enough when piped that tables are not folded to 80 columns.
    console = Console()
    if not console.is_terminal:
        console = Console(width=max(console.width, 120))
    return console


def describe_calendar(spec: CalendarSpec) -> str:
    """A calendar in words, e.g. 'Mon–Fri 08:00–18:00, public holidays off', as the SPEC tables say it."""
    if spec.always:
        return "24/7"
    groups: list[tuple[str, str, tuple[tuple[int, int], ...]]] = []
    for day, spans in zip(WEEKDAYS, spec.weekly_seconds(), strict=True):
        if (
            groups
            and spans
            and groups[-1][2] == spans
            and WEEKDAYS.index(groups[-1][1]) + 1 == WEEKDAYS.index(day)
        ):
            groups[-1] = (groups[-1][0], day, spans)
        elif spans:
            groups.append((day, day, spans))
    parts = []
    for first, last, spans in groups:
        days = first.title() if first == last else f"{first.title()}–{last.title()}"
        parts.append(f"{days} {', '.join(f'{_clock(s)}–{_clock(e)}' for s, e in spans)}")
    text = "; ".join(parts)
    if spec.public_holidays:
        text += ", public holidays off"
    if spec.closed_dates:
        text += f", {len(spec.closed_dates)} closed date(s)"
    return text


def _clock(seconds: int) -> str:
    return f"{seconds // 3600:02d}:{seconds % 3600 // 60:02d}"


def human(seconds: int) -> str:
    """Hours and minutes, never days: 24h of business-hours working time is not a day (SPEC's notation)."""
    hours, rest = divmod(seconds, 3600)
    return (f"{hours}h" if hours else "") + (format_duration(rest) if rest or not hours else "")


def _duration(seconds: int) -> dict[str, Any]:
    return {"seconds": seconds, "human": human(seconds)}


def components_by_class() -> dict[str, list[Component]]:
    grouped: dict[str, list[Component]] = {}
    for component in COMPONENTS:
        grouped.setdefault(COMPONENT_CLASS[component], []).append(component)
    return grouped


def plans_document(catalog: Catalog) -> dict[str, Any]:
    """The catalog for machines: every duration both in seconds (to compute) and human (to read)."""
    classes = components_by_class()
    levels: dict[str, Any] = {}
    for name, level in catalog.levels.items():
        levels[name] = {
            "coverage": {
                "calendar": level.coverage,
                "description": describe_calendar(catalog.calendars[level.coverage]),
            },
            "first_response": {s: _duration(level.first_response.for_severity(s)) for s in SEVERITIES},
            "next_response": {s: _duration(level.next_response.for_severity(s)) for s in SEVERITIES},
            "resolution": None
            if level.resolution is None
            else {s: _duration(level.resolution.for_severity(s)) for s in SEVERITIES},
            "hardware_calendar": {
                "calendar": level.hardware_calendar,
                "description": describe_calendar(catalog.calendars[level.hardware_calendar]),
            },
            "hardware_replacement": {
                cls: {**_duration(getattr(level.hardware_replacement, cls)), "components": components}
                for cls, components in classes.items()
            },
            "warn_at": level.warn_at,
            "ladder": level.ladder,
            "ack_timeout": _duration(level.ack_timeout),
        }
    return {
        "default_level": DEFAULT_LEVEL,
        "severities": list(SEVERITIES),
        "calendars": {
            name: {**spec.model_dump(mode="json"), "description": describe_calendar(spec)}
            for name, spec in catalog.calendars.items()
        },
        "levels": levels,
    }


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
    return [responses, hardware, escalation]


@app.command()
def plans(
    output_format: Annotated[
        str, typer.Option("--format", help="table (for people) or json (for machines).")
    ] = "table",
    catalog: CatalogOption = None,
) -> None:
    """Show the support catalog: what each level promises, where it is counted, and who is paged.

    Per level: coverage calendar, first and next response per severity, resolution where defined, hardware
    replacement windows per component class, warning fractions, escalation ladder and ack timeout.
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


def parse_instant(option: str, text: str) -> datetime:
    """An aware instant from the command line; a naive one is refused, since its zone would be a guess."""
    try:
        instant = datetime.fromisoformat(text)
    except ValueError:
        fail(option, f"{text!r} is not an ISO 8601 instant like 2026-04-03T17:30:00+02:00")
    if instant.tzinfo is None or instant.utcoffset() is None:
        fail(option, f"{text!r} has no UTC offset; add one, like {text}+02:00 or {text}Z")
    return instant


def iso_utc(instant: datetime) -> str:
    return instant.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def iso_local(instant: datetime, timezone: str) -> str:
    return instant.astimezone(ZoneInfo(timezone)).isoformat()


def choose(option: str, value: str, known: tuple[T, ...], what: str) -> T:
    """`value` as one of `known`, or a one-line error listing them (typer's choices print a panel)."""
    for candidate in known:
        if candidate == value:
            return candidate
    fail(option, f"unknown {what} {value!r}; known: {', '.join(known)}")


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


# Command modules: each registers its commands on `app` when imported (keep these imports last).
from cli import demo, invoke, replay  # noqa: E402, F401
