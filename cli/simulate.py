"""`sla-engine simulate`: the plan designer (SPEC section 11), a history folded under two catalogs.

The computation is the pure core's (`sla.whatif`, `sla.staffing`, `sla.erlang`); this module reads the
arguments and the file as `report` does (`cli.report_input`), then renders: rich tables for people with the
differences coloured and marked (▲ better, ▼ worse, so they read without colour too), JSON (the document of
`sla.whatif.document`, its shape in the README), or one self-contained HTML page (`cli.simulate_html`).
"""

from __future__ import annotations

import io
import json
from collections.abc import Sequence
from pathlib import Path
from typing import Annotated, Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import typer
from rich import box
from rich.console import Console
from rich.table import Table

from cli.app import app, choose, fail, human, open_catalog, stdout_console
from cli.report import tally_text
from cli.report_input import check_output, parse_bound, read_history, report_skipped, write_output
from infra.catalog_source import CatalogError, load_catalog
from sla.calendar import from_epoch
from sla.catalog import Catalog
from sla.durations import parse_duration
from sla.events import EventDetail
from sla.kpis import Period
from sla.staffing import DAYS, ROSTERS
from sla.whatif import WhatIf, document, simulate

FORMATS = ("table", "json", "html")
DAY = 86_400
MOST_CREDIT_ROWS = 15  # the table lists the customers whose credit moved most; JSON and HTML list them all


def load_current(path: Path | None) -> Catalog:
    """The catalog in force (SLA_CATALOG_PATH or `--current`, else the packaged one), errors naming it."""
    try:
        return load_catalog(path)
    except CatalogError as error:
        fail("--current", str(error))


def catalog_name(path: Path | None) -> str:
    return str(path) if path is not None else "sla/catalog.toml (packaged default)"


def default_period(start: str | None, end: str | None, events: Sequence[EventDetail]) -> Period:
    """`--from`/`--to` as given; a bound left out is the history's: midnight UTC of its first event's day,
    midnight UTC after its last event's day, so the whole file is simulated."""
    instants = [int(event.occurred_at.timestamp()) for event in events]
    if (start is None or end is None) and not instants:
        fail("--from" if start is None else "--to", "missing, and EVENTS holds no event to take it from")
    first = parse_bound("--from", start) if start is not None else min(instants) // DAY * DAY
    last = parse_bound("--to", end) if end is not None else max(instants) // DAY * DAY + DAY
    if last <= first:
        fail("--to", f"{from_epoch(last):%Y-%m-%dT%H:%M:%SZ} is not after --from: the period is [from, to)")
    return Period(first, last)


def parse_probability(text: str) -> float:
    try:
        value = float(text.strip().removesuffix("%"))
    except ValueError:
        fail("--probability", f"{text!r} is not a percentage like 80 or 95.5")
    if not 0 < value < 100:
        fail("--probability", f"{text!r} must be above 0 and below 100 (percent of tickets)")
    return value / 100


def parse_zone(text: str) -> str:
    try:
        ZoneInfo(text)
    except (ZoneInfoNotFoundError, ValueError):
        fail("--timezone", f"unknown time zone {text!r}; give an IANA name like Europe/Moscow or UTC")
    return text


def parse_handling(text: str | None) -> float | None:
    if text is None:
        return None
    try:
        return float(parse_duration(text))
    except ValueError as error:
        fail("--handling-time", str(error))


@app.command("simulate")
def simulate_command(
    events: Annotated[Path, typer.Argument(help="A JSON Lines file: one EventBridge event per line.")],
    proposed: Annotated[
        Path | None,
        typer.Option(
            "--catalog", help="The proposed catalog (TOML), validated as any catalog.", metavar="FILE"
        ),
    ] = None,
    current: Annotated[
        Path | None,
        typer.Option(
            "--current",
            envvar="SLA_CATALOG_PATH",
            show_envvar=True,
            help="The catalog in force, instead of the packaged default.",
            metavar="FILE",
        ),
    ] = None,
    start: Annotated[
        str | None, typer.Option("--from", help="First day (UTC) or instant, included; default: the file's.")
    ] = None,
    end: Annotated[
        str | None, typer.Option("--to", help="Day (UTC) or instant that ends the period, excluded.")
    ] = None,
    output_format: Annotated[str, typer.Option("--format", help="table, json or html.")] = "table",
    output: Annotated[Path | None, typer.Option("--output", help="Write to this file, not stdout.")] = None,
    probability: Annotated[
        str, typer.Option("--probability", help="Share of tickets to answer within their target, percent.")
    ] = "80",
    timezone: Annotated[
        str, typer.Option("--timezone", help="The zone of the staffing's hours of the week.")
    ] = "UTC",
    handling: Annotated[
        str | None,
        typer.Option(
            "--handling-time", help="Mean agent time per ticket, like 25m, instead of the measured."
        ),
    ] = None,
) -> None:
    """What the history would have been under a proposed catalog, beside the current one (SPEC section
    11): compliance per level, severity and metric, pages per route per week, service credits, and the
    agents needed per hour of the week (Erlang C) to answer within each catalog's first-response targets.

    Examples:

    ```
    sla-engine simulate events.jsonl --catalog examples/premium-plus.toml
    sla-engine simulate events.jsonl --catalog proposed.toml --from 2026-01-01 --to 2026-04-01 --format json
    sla-engine simulate events.jsonl --catalog proposed.toml --format html --output what-if.html
    ```
    """
    chosen = choose("--format", output_format, FORMATS, "format")
    if proposed is None:
        fail("--catalog", "missing; give the proposed catalog, a TOML file shaped like sla/catalog.toml")
    share, zone, mean = parse_probability(probability), parse_zone(timezone), parse_handling(handling)
    for bound, text in (("--from", start), ("--to", end)):
        if text is not None:
            parse_bound(bound, text)  # a bad date is refused before the file is read
    before, after = load_current(current), open_catalog(proposed)
    check_output(output)
    history = read_history(events)
    period = default_period(start, end, history.events)
    whatif = simulate(history.events, before, after, period, zone, share, mean)
    levels = [*before.levels, *(name for name in after.levels if name not in before.levels)]
    doc = document(whatif, (catalog_name(current), catalog_name(proposed)), levels)
    if chosen == "json":
        write_output(json.dumps(doc, ensure_ascii=False, indent=2) + "\n", output)
    elif chosen == "html":
        write_output(html_text(doc, whatif, levels), output)
    else:
        print_tables(doc, output)
    report_skipped(events, history.skipped)


def html_text(doc: dict[str, Any], whatif: WhatIf, levels: list[str]) -> str:
    try:
        from cli.simulate_html import render_html  # matplotlib loads only for HTML
    except ImportError as error:
        fail("--format", f"html needs matplotlib ({error.name} is missing): pip install 'sla-engine[report]'")
    return render_html(doc, whatif, levels)


# -- tables -----------------------------------------------------------------------------------------------


def marked(change: float | None, text: str, higher_is_better: bool = True) -> str:
    """A changed figure in rich markup: green with ▲ when better, red with ▼ when worse."""
    if change is None or change == 0:
        return text
    better = (change > 0) == higher_is_better
    return f"[green]▲ {text}[/]" if better else f"[red]▼ {text}[/]"


def signed(value: float, unit: str = "") -> str:
    return f"{value:+g}{unit}" if value else "0"


def agents_cell(hour: dict[str, Any]) -> str:
    """An hour's agents under the proposed catalog, marked + (red) or - (green) where the current differs."""
    after, before = hour["proposed_agents"], hour["current_agents"]
    if after == before:
        return str(after)
    return f"[red]{after}+[/]" if after > before else f"[green]{after}-[/]"


def compliance_table(doc: dict[str, Any]) -> Table:
    table = Table(title="SLA compliance (met / decided in the period)", box=box.SIMPLE_HEAD)
    for column in ("level", "severity", "metric", "current", "proposed", "change"):
        table.add_column(column, justify="left" if column in ("level", "severity", "metric") else "right")
    for row in doc["compliance"]:
        delta = row["change_points"]
        table.add_row(
            row["level"],
            row["severity"],
            row["metric"].replace("_", " "),
            tally_text(row["current"]),
            tally_text(row["proposed"]),
            marked(delta, signed(delta or 0, " pts")) if delta is not None else "—",
        )
    return table


def pages_table(doc: dict[str, Any]) -> Table:
    weeks = doc["pages"]["span_weeks"]
    table = Table(title=f"Pages (trigger alerts) per route, over {weeks:g} weeks", box=box.SIMPLE_HEAD)
    for column in ("route", "current / week", "proposed / week", "current", "proposed", "change"):
        table.add_column(column, justify="left" if column == "route" else "right")
    for row in doc["pages"]["routes"]:
        delta = row["proposed_total"] - row["current_total"]
        table.add_row(
            row["route"],
            f"{row['current_per_week']:g}",
            f"{row['proposed_per_week']:g}",
            str(row["current_total"]),
            str(row["proposed_total"]),
            marked(delta, signed(delta), higher_is_better=False),
        )
    if not doc["pages"]["routes"]:
        table.caption = "No page fired in the period under either catalog."
    return table


def credits_table(doc: dict[str, Any]) -> Table:
    credits = doc["credits"]
    moved = sorted(
        (row for row in credits["customers"] if row["change_percent"]),
        key=lambda row: (-abs(row["change_percent"]), row["customer_id"]),
    )
    table = Table(
        title=f"Service credits: {credits['current_monthly_fees']:g} → {credits['proposed_monthly_fees']:g} "
        "monthly fees in all",
        box=box.SIMPLE_HEAD,
    )
    for column in ("customer", "level", "current", "proposed", "change"):
        table.add_column(column, justify="left" if column in ("customer", "level") else "right")
    for row in moved[:MOST_CREDIT_ROWS]:
        table.add_row(
            row["customer_id"],
            row["support_level"],
            f"{row['current']['percent']:g} % ({row['current']['hours_late']} h late)",
            f"{row['proposed']['percent']:g} % ({row['proposed']['hours_late']} h late)",
            marked(row["change_percent"], signed(row["change_percent"], " %"), higher_is_better=False),
        )
    owed = len(credits["customers"])
    shown = f"; the {MOST_CREDIT_ROWS} largest shown" if len(moved) > MOST_CREDIT_ROWS else ""
    table.caption = (
        f"{len(moved)} of {owed} customers with a credit see it change{shown}; all in --format json"
    )
    return table


def staffing_tables(doc: dict[str, Any]) -> list[Table]:
    plan = doc["staffing"]
    grid = Table(
        title=f"Agents needed per hour of the week (proposed catalog, {plan['timezone']}): "
        f"{plan['probability'] * 100:g} % of tickets answered within their first-response target",
        box=box.SIMPLE_HEAD,
        padding=(0, 0),
        show_edge=False,
    )
    grid.add_column("day")
    for hour in range(24):
        grid.add_column(f"{hour:02d}", justify="right", min_width=3)
    for index, day in enumerate(DAYS):
        grid.add_row(day, *(agents_cell(c) for c in plan["hours"][index * 24 : index * 24 + 24]))
    grid.caption = (
        f"Erlang C; handling time {human(plan['handling_seconds'])} a ticket ({plan['handling']}: "
        f"{plan['tickets']} tickets, {plan['agent_messages']} agent messages); 12+ needs more agents than "
        "under the current catalog, 12- fewer"
    )
    shifts = Table(title="Shifts: each needs the most agents any hour it covers needs", box=box.SIMPLE_HEAD)
    shifts.add_column("roster")
    for day in DAYS:
        shifts.add_column(day, justify="right")
    shifts.add_column("agent-hours / week", justify="right")
    hours = plan["agent_hours_per_week"]
    for roster, (name, _, _) in ((r, s) for r in ROSTERS for s in ROSTERS[r]):
        cells = [c for c in plan["shifts"][roster] if c["shift"] == name]
        total = hours[roster] if name == ROSTERS[roster][0][0] else None
        shifts.add_row(
            f"{roster} {name}",
            *(f"{c['current_agents']} → {c['proposed_agents']}" for c in cells),
            f"{total['current']} → {total['proposed']}" if total else "",
        )
    shifts.add_row(
        "hour by hour", *([""] * 7), f"{hours['hourly']['current']} → {hours['hourly']['proposed']}"
    )
    shifts.caption = "current → proposed catalog; a night shift runs into the next day"
    return [grid, shifts]


def print_tables(doc: dict[str, Any], output: Path | None) -> None:
    period = doc["period"]
    heading = f"What-if {period['from']} → {period['to']} (UTC): {doc['catalogs']['proposed']}"
    tables = [compliance_table(doc), pages_table(doc), credits_table(doc), *staffing_tables(doc)]
    if output is None:
        console = stdout_console()
    else:
        buffer = io.StringIO()
        console = Console(file=buffer, width=140, color_system=None, force_terminal=False)
    console.rule(heading)
    console.print(f"current: {doc['catalogs']['current']}", highlight=False)
    for table in tables:
        console.print(table)
    if output is not None:
        write_output(buffer.getvalue(), output)
